import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { chunkSegments } from '../../src/jobs/transcript/chunker.js';
import { parseTranscript, sniffFormat } from '../../src/jobs/transcript/parse-transcript.js';

const SRT = '1\n00:00:01,000 --> 00:00:02,500\n<i>Hello</i> there.\n\n2\n00:01:03,250 --> 00:01:04,000\nSecond\nline.\n';
const VTT = 'WEBVTT\n\nNOTE a comment\n\n00:00:01.000 --> 00:00:02.500\n<v Alice>Hello there.</v>\n\nid-2\n00:00:03.000 --> 00:00:04.000 align:start\n<v.loud Bob>Second cue.\n';

describe('transcripts', () => {
  test('every format reads into the same segments, sniffed from the content', () => {
    assert.deepEqual(parseTranscript('[{"start":0,"end":1.5,"speaker":"A","text":" Hi. "},{"start":1.5,"end":3,"text":"Yes."}]'), [
      { index: 0, start: 0, end: 1.5, speaker: 'A', text: 'Hi.' },
      { index: 1, start: 1.5, end: 3, speaker: undefined, text: 'Yes.' },
    ]);
    assert.deepEqual(
      parseTranscript('{"language":"en","segments":[{"start":0,"end":1,"text":"Whisper"}]}').map((s) => s.text),
      ['Whisper'],
      "Whisper's JSON",
    );
    assert.deepEqual(parseTranscript(SRT), [
      { index: 0, start: 1, end: 2.5, speaker: undefined, text: 'Hello there.' },
      { index: 1, start: 63.25, end: 64, speaker: undefined, text: 'Second line.' },
    ]);
    assert.deepEqual(parseTranscript(VTT), [
      { index: 0, start: 1, end: 2.5, speaker: 'Alice', text: 'Hello there.' },
      { index: 1, start: 3, end: 4, speaker: 'Bob', text: 'Second cue.' },
    ]);
    assert.deepEqual(parseTranscript('One paragraph\nacross lines.\n\nAnother.').map((s) => s.text), ['One paragraph across lines.', 'Another.']);
    assert.deepEqual(parseTranscript('line one\nline two').map((s) => s.text), ['line one', 'line two'], 'one paragraph: a segment per line');
    assert.deepEqual(['[]', SRT, VTT, 'plain'].map(sniffFormat), ['json', 'srt', 'vtt', 'text']);
    assert.equal(parseTranscript('[{"text":"  "},{"text":"kept"}]')[0]!.index, 0, 'empty segments are dropped and the rest numbered from 0');
  });

  test('a malformed transcript is TRANSCRIPT_INVALID, saying where', () => {
    const cases: Array<[string, RegExp, 'json' | 'srt' | undefined]> = [
      ['[{"start":0,"end":1,"text":"x"},]', /JSON transcript does not parse/, undefined],
      ['{"segments":[{"start":0,"end":1,"text":"x"},{"start":2,"end":1,"text":"y"}]}', /segments\.1\.end: end is before start/, undefined],
      ['[{"start":0,"text":5}]', /0\.text/, undefined],
      ['1\n00:00:01,000 --> 00:00:02,500\nHello\n\n2\n00:00:0x,000 --> 00:00:04,000\nWorld\n', /SubRip transcript does not parse at line 6/, undefined],
      ['1\n00:00:01,000 --> 00:00:02,500\nHello\n2\n00:00:03,000 --> 00:00:04,000\nWorld\n', /line 5: a timing line inside a cue/, undefined],
      ['1\n00:00:05,000 --> 00:00:02,500\nHello\n', /line 2: the cue ends before it starts/, undefined],
      ['WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nok\n\n00:00:03.000 --> 00:0x:04.000\nSecond\n', /WebVTT transcript does not parse at line 6, column 22/, undefined],
      ['   \n  ', /has no text/, undefined],
      ['hello', /SubRip transcript does not parse at line 1/, 'srt'],
    ];
    for (const [input, message, format] of cases) {
      assert.throws(() => parseTranscript(input, format), (e: unknown) => isHearthError(e, 'TRANSCRIPT_INVALID') && message.test(e.message), input);
    }
  });

  test('chunks own every segment once, in order, within the budget; a long segment is cut at sentences; the overlap is context only', () => {
    const countTokens = (text: string) => text.split(/\s+/).filter(Boolean).length;
    const long = 'First sentence of five words. Second sentence has five words. Third one is also five.';
    const segments = parseTranscript(JSON.stringify([...Array.from({ length: 12 }, (_, i) => ({ start: i, end: i + 1, text: `segment ${i} has five words` })), { start: 12, end: 13, text: long }]));
    const chunks = chunkSegments(segments, { maxTokens: 12, overlapTokens: 5, countTokens });
    const owned = chunks.flatMap((c) => c.lines.map((l) => l.segment));
    assert.deepEqual([...new Set(owned)], segments.map((s) => s.index), 'every segment, in order');
    for (const c of chunks) assert.ok(c.tokens <= 12, `chunk ${c.index}: ${c.tokens} tokens`);
    assert.deepEqual(chunks.at(-1)!.lines.map((l) => l.text), ['Second sentence has five words.', 'Third one is also five.'].slice(-chunks.at(-1)!.lines.length));
    assert.equal(owned.filter((s) => s === 12).length, 3, 'the long segment is three sentences');
    assert.deepEqual(chunks[1]!.context, chunks[0]!.lines.slice(-1), 'the overlap is the end of the chunk before');
    assert.deepEqual(chunks[0]!.context, []);
    assert.equal(chunks[1]!.start, 2);
    assert.deepEqual(chunks[1]!.segments, { from: 2, to: 3 });
    assert.throws(() => chunkSegments(segments, { maxTokens: 4, overlapTokens: 0, countTokens }), /chunk size/);
    assert.throws(() => chunkSegments(segments, { maxTokens: 12, overlapTokens: 12, countTokens }), /overlap/);
  });
});
