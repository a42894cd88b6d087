const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration the way Ollama users write them: Go-style strings
 * ("5m", "1h30m", "250ms", "-1m") or a bare number of seconds.
 * Returns milliseconds; negative values are kept (they mean "for ever" to keep-alive).
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new Error(`invalid duration: ${input}`);
    return Math.round(input * 1000);
  }
  const text = input.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const match = /^(-)?((?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)$/.exec(text);
  if (!match) throw new Error(`invalid duration "${input}" (use e.g. 30s, 5m, 1h30m, or seconds)`);
  let total = 0;
  for (const part of match[2]!.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    total += Number(part[1]) * UNIT_MS[part[2]!]!;
  }
  return Math.round(match[1] ? -total : total);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}
