import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { wordSpans } from '../../src/memory/chunk-segments.js';
import { chunkBudget, chunkText, type Chunk, type ChunkOptions } from '../../src/memory/chunker.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import { OnnxBackend } from '../../src/runtime/onnx/onnx-backend.js';
import type { LoadedModel } from '../../src/runtime/types.js';
import { createModelFixtures, type ModelFixtures } from '../support/model-fixtures.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

const SENTENCES = [
  'The quick brown fox jumps over the lazy dog.',
  'Once upon a time there was a little girl who loved to play in the park with her friends every day.',
  'Hearth keeps models warm, and serves them over HTTP!',
  'Did the children swim in the river near the mountain last summer?',
  'Embedding vectors are stored in memory; a query finds the nearest ones.',
  'Unusual words like photosynthesis, serendipity and onomatopoeia split into pieces.',
];

/** Deterministic prose: paragraphs of 2–6 sentences, blank lines between them. */
function prose(paragraphs: number, seed = 1): string {
  const out: string[] = [];
  for (let p = 0; p < paragraphs; p++) {
    const n = 2 + ((p * 7 + seed) % 5);
    out.push(Array.from({ length: n }, (_, i) => SENTENCES[(p * 5 + i * 3 + seed) % SENTENCES.length]).join(' '));
  }
  return out.join('\n\n');
}

const CHINESE = '我们今天去学校学习数学和语文。他说天气很好，我们可以在公园里散步。图书馆里有很多书，孩子们都喜欢看故事书。晚上我们一起吃饭，然后看电视。';
const THAI = 'ภาษาไทยเป็นภาษาที่ไม่มีการเว้นวรรคระหว่างคำการตัดคำจึงต้องใช้พจนานุกรมช่วยในการแบ่งคำ';

const isSpace = (c: string | undefined): boolean => c === undefined || c.trim() === '';

/** What every chunking must satisfy, whatever the text and tokenizer. */
function assertChunks(text: string, chunks: Chunk[], options: ChunkOptions): void {
  assert.ok(chunks.length > 0);
  const covered = new Uint8Array(text.length);
  chunks.forEach((chunk, i) => {
    const where = `chunk ${i} ${JSON.stringify(chunk.text.slice(0, 40))}`;
    assert.equal(chunk.index, i);
    assert.equal(chunk.text, text.slice(chunk.start, chunk.end), `${where}: text is the slice of its offsets`);
    assert.ok(chunk.text.length > 0 && chunk.text === chunk.text.trim(), `${where}: trimmed and not empty`);
    assert.equal(chunk.tokens, options.countTokens(chunk.text), `${where}: tokens is the chunk's own count`);
    assert.ok(chunk.tokens <= options.maxTokens, `${where}: ${chunk.tokens} tokens > ${options.maxTokens}`);
    assert.ok(!isLowSurrogate(text.charCodeAt(chunk.start)) && !isLowSurrogate(text.charCodeAt(chunk.end)), `${where}: never cuts a surrogate pair`);
    covered.fill(1, chunk.start, chunk.end);
    const previous = chunks[i - 1];
    if (!previous) return;
    assert.ok(chunk.start > previous.start && chunk.end > previous.end, `${where}: chunks move forward`);
    if (chunk.start < previous.end) {
      assert.ok(options.overlapTokens > 0, `${where}: overlaps though overlapTokens is 0`);
      const overlap = text.slice(chunk.start, previous.end);
      assert.ok(options.countTokens(overlap) <= options.overlapTokens, `${where}: overlap ${JSON.stringify(overlap)} is over ${options.overlapTokens} tokens`);
    }
  });
  for (let i = 0; i < text.length; i++) {
    if (!covered[i] && !isSpace(text[i])) assert.fail(`character ${i} (${JSON.stringify(text[i])}) is in no chunk`);
  }
}

const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;

describe('chunkText with real tokenizers', () => {
  let fixtures: ModelFixtures;
  let box: Sandbox;
  const llama = new LlamaBackend({ device: 'cpu', logger: silentLogger });
  const onnx = new OnnxBackend({ logger: silentLogger, batch: { maxTokens: 512, maxRows: 32 } });
  /** The ONNX sentence-transformers fixture: HF tokenizers' WordPiece, which makes any word over 100 characters one [UNK]. */
  let wordpiece: LoadedModel;
  /** The GGUF bert through llama.cpp's WPM tokenizer, which spells long words out piece by piece. */
  let wpm: LoadedModel;
  /** The GGUF llama's SentencePiece with byte fallback: a blank line between two texts costs tokens of its own, so a join counts more than its parts. */
  let sentencepiece: LoadedModel;
  const models = () => [
    { name: 'ONNX', model: wordpiece },
    { name: 'GGUF', model: wpm },
    { name: 'SentencePiece', model: sentencepiece },
  ];

  before(async () => {
    fixtures = await createModelFixtures();
    box = await createSandbox();
    wordpiece = await onnx.load(await box.store().resolve(fixtures.onnxBert), { threads: 1, parallel: 1 });
    wpm = await llama.load(await box.store().resolve(fixtures.bert), { threads: 1, parallel: 1 });
    sentencepiece = await llama.load(await box.store().resolve(fixtures.llama), { threads: 1, parallel: 1 });
  });
  after(async () => {
    await wordpiece?.dispose();
    await wpm?.dispose();
    await sentencepiece?.dispose();
    await llama.dispose();
    await onnx.dispose();
    await box?.cleanup();
    await fixtures?.cleanup();
  });

  const optionsFor = (model: LoadedModel, maxTokens: number, overlapTokens: number): ChunkOptions => ({ maxTokens, overlapTokens, countTokens: (s) => model.countTokens(s) });

  test('every chunk fits, is the slice of its offsets, and together they cover every character of a mixed document', () => {
    const text = [
      `  ${prose(6)}`,
      'x'.repeat(700),
      CHINESE,
      `A list:\n- first item\n- second item with more words\n\n\n\t${THAI}`,
      `emoji 😀👩‍👩‍👧 in text ${'ab😀'.repeat(200)} end.  `,
    ].join('\n\n');
    for (const { name, model } of models()) {
      for (const [maxTokens, overlapTokens] of [
        [8, 0],
        [16, 5],
        [40, 12],
        [126, 32],
      ] as const) {
        const options = optionsFor(model, maxTokens, overlapTokens);
        const chunks = chunkText(text, options);
        assertChunks(text, chunks, options);
        assert.deepEqual(chunkText(text, options), chunks, `${name} ${maxTokens}/${overlapTokens}: deterministic`);
      }
    }
  });

  test('paragraphs that fit are kept whole: with no overlap, chunks start and end at paragraph bounds', () => {
    const text = prose(30);
    const paragraphs = text.split('\n\n');
    for (const { name, model } of models()) {
      const longest = Math.max(...paragraphs.map((p) => model.countTokens(p)));
      const options = optionsFor(model, longest + 10, 0);
      const chunks = chunkText(text, options);
      assertChunks(text, chunks, options);
      assert.ok(chunks.length > 1 && chunks.length < paragraphs.length, `${name}: several paragraphs a chunk (${chunks.length} chunks)`);
      for (const chunk of chunks) {
        assert.ok(chunk.start === 0 || text.slice(chunk.start - 2, chunk.start) === '\n\n', `${name}: chunk ${chunk.index} starts a paragraph`);
        assert.ok(chunk.end === text.length || text.slice(chunk.end, chunk.end + 2) === '\n\n', `${name}: chunk ${chunk.index} ends a paragraph`);
      }
    }
  });

  test('a paragraph over the budget is cut at sentence ends', () => {
    const text = prose(1, 3);
    for (const { name, model } of models()) {
      const sentences = SENTENCES.map((s) => model.countTokens(s));
      const options = optionsFor(model, Math.max(...sentences) + 2, 0);
      assert.ok(model.countTokens(text) > options.maxTokens);
      const chunks = chunkText(text, options);
      assertChunks(text, chunks, options);
      assert.ok(chunks.length > 1);
      for (const chunk of chunks) assert.match(chunk.text, /[.!?;]$/, `${name}: chunk ${chunk.index} ends a sentence`);
    }
  });

  test('a sentence over the budget is cut between words', () => {
    const text = `${Array.from({ length: 60 }, (_, i) => SENTENCES[i % SENTENCES.length]!.replace(/[.!?]$/, ',')).join(' ')} the end.`;
    for (const { name, model } of models()) {
      const options = optionsFor(model, 24, 0);
      const chunks = chunkText(text, options);
      assertChunks(text, chunks, options);
      assert.ok(chunks.length > 10, `${name}: ${chunks.length} chunks`);
      for (const chunk of chunks) {
        assert.ok(isSpace(text[chunk.start - 1]) && isSpace(text[chunk.end]), `${name}: chunk ${chunk.index} starts and ends at a word boundary`);
      }
      // Greedy: no chunk could have taken the next word too.
      for (const chunk of chunks.slice(0, -1)) {
        const nextWordEnd = text.indexOf(' ', chunk.end + 1);
        assert.ok(model.countTokens(text.slice(chunk.start, nextWordEnd === -1 ? text.length : nextWordEnd)) > options.maxTokens, `${name}: chunk ${chunk.index} is full`);
      }
    }
  });

  test('a single 5,000-character word is cut between characters, and the pieces join back into it', () => {
    const word = Array.from({ length: 625 }, (_, i) => `${(i * 2654435761) >>> 0}`.slice(-8).padStart(8, 'k')).join('');
    assert.equal(word.length, 5000);
    const text = `before the blob ${word} after the blob.`;
    const options = optionsFor(wpm, 50, 10);
    assert.ok(wpm.countTokens(word) > 1000, 'llama.cpp spells it out');
    const chunks = chunkText(text, options);
    assertChunks(text, chunks, options);
    const inside = chunks.filter((c) => c.start >= text.indexOf(word) && c.end <= text.indexOf(word) + word.length);
    assert.ok(inside.length > 20, `${inside.length} pieces of the word alone`);
    assert.ok(inside.every((c) => c.tokens > options.maxTokens - 5), 'each piece is as long as fits');
    assert.equal(inside.map((c) => c.text).join(''), word.slice(inside[0]!.start - text.indexOf(word), inside.at(-1)!.end - text.indexOf(word)));
    // HF's WordPiece makes the whole word one [UNK]: it fits, and stays whole.
    const unk = optionsFor(wordpiece, 50, 10);
    assert.equal(wordpiece.countTokens(word), 1);
    const whole = chunkText(text, unk);
    assertChunks(text, whole, unk);
    assert.ok(whole.some((c) => c.text.includes(word)));
  });

  test('each chunk after the first starts with whole trailing sentences of the one before, up to overlapTokens', () => {
    // One sentence a paragraph, each under the overlap: every overlap can be whole sentences.
    const short = SENTENCES.slice(0, 4);
    const text = Array.from({ length: 40 }, (_, i) => short[(i * 3) % short.length]).join('\n\n');
    for (const { name, model } of models()) {
      const options = optionsFor(model, 64, 30);
      assert.ok(Math.max(...short.map((s) => model.countTokens(s))) <= 30);
      const chunks = chunkText(text, options);
      assertChunks(text, chunks, options);
      for (const chunk of chunks.slice(1)) {
        const previous = chunks[chunk.index - 1]!;
        assert.ok(chunk.start < previous.end, `${name}: chunk ${chunk.index} overlaps the one before`);
        assert.equal(text.slice(chunk.start - 2, chunk.start), '\n\n', `${name}: chunk ${chunk.index} overlaps from a sentence start`);
      }
      assert.ok(chunkText(text, optionsFor(model, 64, 0)).length < chunks.length, `${name}: overlap makes more chunks of the same text`);
    }
  });

  test('inside a sentence longer than a chunk, the overlap is whole trailing words', () => {
    const text = `${'the cat sat on the mat and '.repeat(40)}that was all.`;
    for (const { name, model } of models()) {
      const options = optionsFor(model, 32, 8);
      const chunks = chunkText(text, options);
      assertChunks(text, chunks, options);
      for (const chunk of chunks.slice(1)) {
        const previous = chunks[chunk.index - 1]!;
        assert.ok(chunk.start < previous.end, `${name}: chunk ${chunk.index} overlaps the one before`);
        assert.ok(isSpace(text[chunk.start - 1]), `${name}: overlap of chunk ${chunk.index} starts at a whole word`);
      }
    }
  });

  test('overlap as large as allowed never stalls: every chunk takes new text', () => {
    const text = `${prose(4)} ${'word '.repeat(200)}`;
    for (const { model } of models()) {
      const options = optionsFor(model, 12, 11);
      assertChunks(text, chunkText(text, options), options);
    }
  });

  test('Chinese without spaces is chunked at sentence ends and dictionary word bounds', () => {
    const words = new Intl.Segmenter('en', { granularity: 'word' });
    const chinese = CHINESE.repeat(4);
    const bounds = new Set([...words.segment(chinese)].map((seg) => seg.index).concat(chinese.length));
    for (const { name, model } of models()) {
      const options = optionsFor(model, 20, 6);
      const chunks = chunkText(chinese, options);
      assertChunks(chinese, chunks, options);
      assert.ok(chunks.length > 4, `${name}: ${chunks.length} chunks`);
      for (const chunk of chunks) assert.ok(bounds.has(chunk.start) && bounds.has(chunk.end), `${name}: ${chunk.text} is whole words`);
      // Sentences that fit a chunk are never cut.
      const sentences = CHINESE.split(/(?<=。)/);
      if (sentences.every((s) => model.countTokens(s) <= options.maxTokens)) {
        for (const chunk of chunks) assert.match(chunk.text, /。$/, `${name}: ${chunk.text} ends a sentence`);
      }
    }
  });

  test('Thai, which has no spaces between words, is cut at dictionary words', () => {
    // Both fixture vocabularies make a run of Thai one [UNK], so this checks the word boundaries a chunk may take.
    const spans = wordSpans(THAI, { start: 0, end: THAI.length });
    const pieces = spans.map((span) => THAI.slice(span.start, span.end));
    assert.ok(pieces.length > 10, pieces.join('|'));
    assert.equal(pieces.join(''), THAI);
    assert.ok(pieces.includes('ภาษา') && pieces.includes('ไทย'), pieces.join('|'));
  });

  test('an empty or whitespace-only document is USAGE "empty document"; bad options are USAGE too', () => {
    const options = optionsFor(wordpiece, 16, 4);
    for (const text of ['', ' ', '\n\n\t  \r\n', '\u2029\u00a0']) {
      assert.throws(() => chunkText(text, options), (e: unknown) => isHearthError(e, 'USAGE') && e.message === 'empty document', JSON.stringify(text));
    }
    for (const [maxTokens, overlapTokens] of [
      [0, 0],
      [1.5, 0],
      [16, 16],
      [16, -1],
      [16, Number.NaN],
    ]) {
      assert.throws(() => chunkText('some text', { ...options, maxTokens: maxTokens!, overlapTokens: overlapTokens! }), (e: unknown) => isHearthError(e, 'USAGE'));
    }
  });

  test('chunks at the model budget embed whole, without truncation', async () => {
    const text = [prose(8), CHINESE, 'z'.repeat(400), THAI].join('\n\n');
    for (const { name, model } of models()) {
      const options = optionsFor(model, chunkBudget(model), 16);
      const chunks = chunkText(text, options);
      assertChunks(text, chunks, options);
      const { tokens } = await model.embed(chunks.map((c) => c.text));
      chunks.forEach((chunk, i) => assert.equal(tokens[i], chunk.tokens + model.specialTokens, `${name}: chunk ${i}`));
      assert.ok(Math.max(...tokens) <= model.maxInputTokens);
    }
  });

  test('work is linear in the document: each character is counted a few times, not once per chunk', () => {
    const text = prose(800);
    let counted = 0;
    const countTokens = (s: string): number => {
      counted += s.length;
      return wordpiece.countTokens(s);
    };
    const chunks = chunkText(text, { maxTokens: 40, overlapTokens: 12, countTokens });
    assert.ok(chunks.length > 500, `${chunks.length} chunks`);
    assert.ok(counted < 8 * text.length, `counted ${counted} characters of a ${text.length}-character document`);
  });
});
