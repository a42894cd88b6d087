/** `hearth memory migrate` and `gc` as a user runs them, including a migration killed with SIGKILL and resumed. */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { missingRuntimeEnv } from '../../src/runtime/runtime-env.js';
import { writeBertOnnxFixture } from '../support/bert-onnx-fixture.js';
import { writeBertFixture } from '../support/gguf-fixtures.js';
import { killStrays, runHearth, spawnHearth, type CliResult } from '../support/hearth-cli.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { GENEROUS_MS, waitForOutput } from '../support/wait.js';

const DOCUMENTS = 240;

describe('hearth memory migrate', { timeout: 4 * GENEROUS_MS }, () => {
  let box: Sandbox;
  let onnx: string;
  let gguf: string;
  // The runtime environment given up front: the CLI then runs in this very process, with no relaunched child, so SIGKILL lands on the one doing the work.
  const env = () => box.env({ HEARTH_THREADS: '1', ...missingRuntimeEnv({}) });
  const hearth = (...args: string[]) => runHearth(['memory', ...args], env());
  const ok = (r: CliResult) => {
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const stats = async (name: string) => JSON.parse(ok(await hearth('stats', name, '--json')).stdout) as { space: string; documents: number; reembedding: { to: string; documents: number; done: number } | null };

  before(async () => {
    box = await createSandbox();
    onnx = join(box.root, 'tiny-onnx');
    gguf = join(box.root, 'tiny-bert.gguf');
    await writeBertOnnxFixture(onnx, { seed: 4 });
    await writeBertFixture(gguf);
    ok(await hearth('create', 'kb', '--model', onnx));
    const folder = join(box.root, 'notes');
    await mkdir(folder);
    await Promise.all(Array.from({ length: DOCUMENTS }, (_, i) => writeFile(join(folder, `n${String(i).padStart(3, '0')}.txt`), `Note ${i}: the ${['tide', 'gulls', 'boats', 'bread'][i % 4]} at ${i % 24} o'clock.\n`)));
    ok(await hearth('add', 'kb', folder));
  });
  after(async () => {
    killStrays();
    await box.cleanup();
  });

  test('killed with SIGKILL mid-backfill: the old space still answers, and the same command resumes, embeds only the rest, and swaps', async () => {
    // --no-swap: wherever the kill lands, even after the last batch, the re-embed is left running, so the resumed run has something to take up.
    const child = spawnHearth(['memory', 'migrate', 'kb', '--to', gguf, '--no-swap'], env());
    await waitForOutput(child, /backfilled \d+\/240 documents/);
    child.kill('SIGKILL');
    const killed = await child.result;
    assert.equal(killed.signal, 'SIGKILL', `the child ended by itself first:\n${killed.stdout}\n${killed.stderr}`);

    const between = await stats('kb');
    assert.equal(between.space, 'kb', 'the collection answers from its old space');
    assert.equal(between.documents, DOCUMENTS);
    assert.equal(between.reembedding?.to, 'kb-2');
    const done = between.reembedding!.done;
    assert.ok(done >= 1 && done <= DOCUMENTS, `done ${done}`);
    const hits = JSON.parse(ok(await hearth('query', 'kb', "Note 7: the bread at 7 o'clock.", '--json')).stdout) as Array<{ docId: string }>;
    assert.match(hits[0]?.docId ?? '', /n007\.txt$/, 'queries are answered mid-migration, by the old space');

    const resumed = JSON.parse(ok(await hearth('migrate', 'kb', '--json')).stdout) as { resumed: boolean; backfilled: number; documents: number; swapped: boolean; to: string; evaluation: { samples: number } };
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.backfilled, DOCUMENTS - done, 'each document embedded once across both runs');
    assert.equal(resumed.swapped, true);
    assert.equal(resumed.to, 'kb-2');
    assert.equal(resumed.evaluation.samples, 20);

    const after = await stats('kb');
    assert.equal(after.space, 'kb-2');
    assert.equal(after.documents, DOCUMENTS);
    assert.equal(after.reembedding, null);
    const gc = ok(await hearth('gc'));
    assert.match(gc.stdout, /removed the old vectors of collection kb \(space kb\)/);
    assert.match(ok(await hearth('gc')).stdout, /nothing to remove/);
  });

  test('bad requests: an unknown collection, nothing to resume, --abort with --to', async () => {
    const unknown = await hearth('migrate', 'nowhere', '--to', onnx);
    assert.equal(unknown.code, 66, unknown.stderr);
    assert.match(unknown.stderr, /error\[COLLECTION_NOT_FOUND\]/);
    const nothing = await hearth('migrate', 'kb');
    assert.equal(nothing.code, 66, nothing.stderr);
    assert.match(nothing.stderr, /error\[REEMBED_NOT_FOUND\]/);
    const both = await hearth('migrate', 'kb', '--abort', '--to', onnx);
    assert.equal(both.code, 64, both.stderr);
  });
});
