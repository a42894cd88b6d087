import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { runHearth } from '../support/hearth-cli.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

/** The real tiny llama trained on TinyStories, provided by CI through HEARTH_TEST_MODEL. */
const MODEL = process.env.HEARTH_TEST_MODEL;
const SHA256 = '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d';
const skip = MODEL && existsSync(MODEL) ? false : 'HEARTH_TEST_MODEL is not set to stories260K.gguf';

describe('hearth run and embed on a real trained model (stories260K)', { skip }, () => {
  let box: Sandbox;
  before(async () => {
    box = await createSandbox();
  });
  after(() => box.cleanup());

  test('the file is the expected model', () => {
    assert.equal(createHash('sha256').update(readFileSync(MODEL!)).digest('hex'), SHA256);
  });

  test('hearth run streams a story, with no thread setting, and reports its runtime', async () => {
    const r = await runHearth(['run', MODEL!, 'Once upon a time', '--raw', '--temperature', '0', '--max-tokens', '40', '--verbose'], box.env());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Lily|little girl|there was/, r.stdout);
    assert.match(r.stderr, /completion tokens: 40/);
    const runtime = JSON.parse(/runtime: (.*)/.exec(r.stderr)![1]!) as Record<string, unknown>;
    assert.equal(runtime.digest, SHA256);
    assert.equal(runtime.engine, 'llama.cpp');
    assert.ok(Number(runtime.threads) >= 1);
  });

  test('hearth embed gives the same unit vector twice', async () => {
    const once = await runHearth(['embed', MODEL!, 'Once upon a time', '--full'], box.env());
    const twice = await runHearth(['embed', MODEL!, 'Once upon a time', '--full'], box.env());
    assert.equal(once.code, 0, once.stderr);
    const a = JSON.parse(once.stdout) as { dims: number; pooling: string; normalized: boolean; embeddings: Array<{ norm: number; vector: number[] }> };
    const b = JSON.parse(twice.stdout) as typeof a;
    assert.equal(a.dims, 64);
    assert.ok(Math.abs(a.embeddings[0]!.norm - 1) < 1e-6);
    assert.equal(a.embeddings[0]!.vector.length, 64);
    assert.deepEqual(a.embeddings[0]!.vector, b.embeddings[0]!.vector);
    assert.equal(a.normalized, true);
    assert.ok(a.pooling);
  });

  test('too long an input is a clear error with its own exit code', async () => {
    const long = 'Once upon a time there was a little girl. '.repeat(400);
    const r = await runHearth(['embed', MODEL!, long], box.env());
    assert.equal(r.code, 65);
    assert.match(r.stderr, /INPUT_TOO_LONG/);
    const cut = await runHearth(['embed', MODEL!, long, '--truncate'], box.env());
    assert.equal(cut.code, 0, cut.stderr);
  });
});
