import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runHearth } from '../support/hearth-cli.js';
import { writeLlamaFixture } from '../support/gguf-fixtures.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

/** `hearth enrich` as a user runs it: from a fresh home, no Redis, with typed errors and exit codes for bad input. */
describe('hearth enrich', () => {
  let box: Sandbox;
  let env: Record<string, string>;
  let model: string;
  before(async () => {
    box = await createSandbox();
    env = box.env({ HEARTH_THREADS: '1' });
    model = join(box.root, 'tiny.gguf');
    await writeLlamaFixture(model, { seed: 6, context: 4096 });
    const srt = Array.from({ length: 8 }, (_, i) => `${i + 1}\n00:00:${String(i * 2).padStart(2, '0')},000 --> 00:00:${String(i * 2 + 1).padStart(2, '0')},500\nPart ${i} of the talk, about boats and the sea.\n`).join('\n');
    await writeFile(join(box.root, 'talk.srt'), srt);
    await writeFile(join(box.root, 'broken.srt'), '1\n00:00:01,000 --> 00:00:02,000\nfine\n\n2\nnot a timing line\ntext\n');
  });
  after(() => box.cleanup());

  test('a SubRip transcript to a JSON result, with progress on stderr', async () => {
    const out = join(box.root, 'out.json');
    const r = await runHearth(['enrich', join(box.root, 'talk.srt'), '--model', model, '--tasks', 'title,keywords', '--chunk-tokens', '40', '-o', out], env);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(await readFile(out, 'utf8')) as { segments: number; chunks: number; title: { text: string; parts: unknown[] }; keywords: unknown[] };
    assert.equal(result.segments, 8);
    assert.ok(result.chunks >= 2);
    assert.equal(result.title.parts.length, result.chunks);
    assert.match(r.stderr, new RegExp(`enriching: ${result.chunks}/${result.chunks} chunks`));
  });

  test('bad input: the exit code and a message that says what and where', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [[join(box.root, 'broken.srt'), '--model', model], 65, /TRANSCRIPT_INVALID.*line 6/],
      [[join(box.root, 'talk.srt'), '--model', model, '--tasks', 'summry'], 64, /"summry" is not a task/],
      [[join(box.root, 'talk.srt'), '--model', join(box.root, 'none.gguf')], 66, /MODEL_NOT_FOUND/],
      [[join(box.root, 'talk.srt'), '--model', model, '--prompt', 'x'], 64, /--prompt and --schema go together/],
      [[join(box.root, 'nothing.srt'), '--model', model], 64, /cannot read/],
    ];
    for (const [args, code, message] of cases) {
      const r = await runHearth(['enrich', ...args], env);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
  });
});
