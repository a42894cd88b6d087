/**
 * Deterministic English-like sentences for embedding benchmarks. Words come
 * from a list of common words that the generated bert's vocabulary holds
 * whole, so a sentence of N words is N + 2 tokens ([CLS] ... [SEP]); a real
 * model's tokenizer may split some words. The PRNG is seeded, so every run
 * and every runtime embeds the same texts.
 */
const WORDS = (
  'the of and to a in is it you that he was for on are with as his they be at one have this from or had by ' +
  'not word but what some we can out other were all there when up use your how said an each she which do their ' +
  'time if will way about many then them write would like so these her long make thing see him two has look more ' +
  'day could go come did number sound no most people my over know water than call first who may down side been now ' +
  'find any new work part take get place made live where after back little only round man year came show every good ' +
  'me give our under name very through just form great think say help low line turn cause much mean before move ' +
  'right boy old too same tell does set three want air well also play small end put home read hand large even land ' +
  'here must big high such follow act why ask men change went light kind off need house picture try us again animal ' +
  'point mother world near build earth father head stand own page should country found answer school grow study ' +
  'still learn plant cover food sun four between state keep eye never last let thought city tree cross farm hard ' +
  'start might story saw far sea draw left late run while press close night real life few north open seem together'
).split(' ');

/** mulberry32: a small, fast, seeded PRNG. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TextOptions {
  count: number;
  /** Words per sentence; the generated bert adds [CLS] and [SEP], so 18 words are 20 tokens. */
  words?: number;
  seed?: number;
}

/** `count` sentences of `words` words, lowercase, with a full stop. */
export function benchTexts(options: TextOptions): string[] {
  const random = mulberry32(options.seed ?? 20240601);
  const words = options.words ?? 18;
  const out: string[] = [];
  for (let i = 0; i < options.count; i++) {
    const sentence: string[] = [];
    for (let w = 0; w < words; w++) sentence.push(WORDS[Math.floor(random() * WORDS.length)]!);
    out.push(`${sentence.join(' ')}.`);
  }
  return out;
}
