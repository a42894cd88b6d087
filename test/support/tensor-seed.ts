/** FNV-1a 32-bit. */
function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A per-tensor PRNG seed from a fixture seed and the tensor's name, so each tensor's values do not depend on write order. */
export function tensorSeed(seed: number, name: string): number {
  return fnv1a(name, fnv1a(String(seed)));
}
