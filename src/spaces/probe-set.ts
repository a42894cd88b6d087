import { createHash } from 'node:crypto';

/**
 * The texts every space is checked with. They are fixed for ever under their
 * id: a space stores one vector per probe, and a check re-embeds exactly these
 * texts, so a change of a single character would read as a changed runtime.
 * A new set gets a new id, and spaces made with the old one keep using it.
 *
 * Chosen to make runtimes disagree where they disagree in practice: many
 * scripts and tokenizations (byte fallback, CJK, right-to-left, emoji), short
 * inputs where pooling dominates, near-duplicates whose order a small error
 * can swap, and long inputs that fill the model's whole context (embedded
 * with truncation), which is where micro-batch splits and attention kernels
 * differ.
 */
export const PROBE_SET_ID = 'hearth-probes/1';

const SHORT = [
  'hello',
  'The cat sat on the mat.',
  'A cat is sitting on a mat.',
  'The dog chased the ball across the park.',
  'Stock markets fell sharply after the central bank raised interest rates.',
  'Interest rates went up and the stock market dropped.',
  'How do I reset my password?',
  'I forgot my password, how can I change it?',
  'Photosynthesis converts light energy into chemical energy stored in glucose.',
  'The mitochondria is the powerhouse of the cell.',
  'Der schnelle braune Fuchs springt über den faulen Hund.',
  'Le renard brun rapide saute par-dessus le chien paresseux.',
  'El zorro marrón rápido salta sobre el perro perezoso.',
  'O rato roeu a roupa do rei de Roma.',
  'Быстрая коричневая лиса прыгает через ленивую собаку.',
  '敏捷的棕色狐狸跳过了懒狗。',
  '東京は日本の首都であり、世界最大の都市圏の一つです。',
  '서울은 대한민국의 수도입니다.',
  'الثعلب البني السريع يقفز فوق الكلب الكسول.',
  'तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है।',
  'Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο.',
  'שועל חום מהיר קופץ מעל הכלב העצלן.',
  'function add(a, b) { return a + b; }',
  'SELECT id, name FROM users WHERE created_at > now() - interval \'7 days\';',
  '3.14159 2.71828 1.41421 1.61803',
  '2026-12-01T04:44:05Z ERROR connection reset by peer (errno 104)',
  'https://example.com/path?query=value&other=1#fragment',
  '🙂🚀🔥 great launch today!!! 🎉',
  'Q: What is the capital of France? A: Paris.',
  'Meeting notes: ship v2 on Friday; Anna owns the migration, Ben the rollback plan.',
  'I am not happy with this product at all.',
  'I am very happy with this product.',
  'a',
  'the',
  'To be, or not to be, that is the question.',
  'Water boils at 100 degrees Celsius at sea level.',
  'Remind me to call the dentist tomorrow at nine.',
  'The patient reported mild headaches and occasional dizziness.',
  'Ceci n’est pas une pipe.',
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit.',
];

/** Paragraphs repeated until they overflow any context hearth serves; the check truncates them to the model's maximum. */
const LONG_SEEDS = [
  'In the early morning the harbour was quiet, the fishing boats rocking gently against the pier while gulls circled overhead and the smell of salt and diesel hung in the cold air. ',
  'Distributed systems fail in partial and surprising ways: a network partition, a slow disk, a clock that drifts, or a retry storm can each turn a healthy cluster into one that serves stale or inconsistent data. ',
  'Die Geschichte der Stadt reicht bis in die Römerzeit zurück, als an der Furt ein kleines Lager errichtet wurde, aus dem über die Jahrhunderte ein bedeutender Handelsplatz wuchs. ',
  '人工智能的发展改变了许多行业，从医疗诊断到金融分析，再到日常生活中的语音助手和推荐系统，都在不断地影响着人们的工作与生活方式。',
];

/** Mid-length inputs: a few sentences, well inside any context. */
const MEDIUM = [
  'The committee reviewed the proposal in detail. It noted that the budget was realistic, the schedule ambitious, and the risks well understood. A final decision was deferred to the next meeting, pending an external audit.',
  'To install the package, run the installer, accept the licence, and restart the machine. If the installer fails, check the log file in the temporary folder and make sure no older version is still running.',
  'Elle a ouvert la fenêtre, regardé la pluie tomber sur les toits de la ville, puis elle est retournée à son bureau pour terminer la lettre qu’elle écrivait depuis le matin.',
  'def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\nprint([fibonacci(i) for i in range(10)])',
];

function long(seed: string): string {
  // About 6,000 words or 12,000 characters: past every context hearth serves an embedding model with.
  return seed.repeat(Math.ceil(12_000 / seed.length));
}

/** The probes, in their fixed order. */
export const PROBES: readonly string[] = Object.freeze([...SHORT, ...MEDIUM, ...LONG_SEEDS.map(long)]);

/** sha256 of the probe texts, so that a space file says exactly which texts its vectors are of. */
export const PROBE_SET_DIGEST = createHash('sha256').update(JSON.stringify(PROBES)).digest('hex');
