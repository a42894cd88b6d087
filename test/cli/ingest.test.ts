import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { IngestResult } from '../../src/jobs/ingest/ingest-queue.js';
import type { DeadLetter } from '../../src/memory/memory.js';
import { writeBertOnnxFixture } from '../support/bert-onnx-fixture.js';
import { killStrays, runHearth, spawnHearth, type CliResult } from '../support/hearth-cli.js';
import { writePdfFixture } from '../support/pdf-fixture.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { waitForOutput } from '../support/wait.js';

const TOPICS = ['cat', 'boat', 'harbour', 'rate', 'tree', 'owl', 'whale', 'lamp'];
const note = (i: number) => `Note ${i}: the ${TOPICS[i % 8]} number ${i} waits by the ${['sea', 'wall', 'door'][i % 3]} at dawn ${i * 7}.`;

/**
 * `hearth ingest` as a user runs it, from a fresh home with no Redis: a
 * folder of mixed formats in, a summary out; unreadable files kept as dead
 * letters and retried; a second run embeds nothing; a run killed with -9
 * and run again stores every document once; a model whose vectors cannot
 * find their own text stops at the gate with a report.
 */
describe('hearth ingest', () => {
  let box: Sandbox;
  let env: Record<string, string>;
  let model: string;
  let docs: string;
  const ok = (r: CliResult) => assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const counts = async (name: string) => {
    const listed = JSON.parse((await runHearth(['memory', 'ls', '--json'], env)).stdout) as Array<{ name: string; documents: number; chunks: number }>;
    return listed.find((c) => c.name === name);
  };

  before(async () => {
    box = await createSandbox();
    env = box.env({ HEARTH_THREADS: '1' });
    model = join(box.root, 'enc');
    await writeBertOnnxFixture(model, { seed: 4 });
    docs = join(box.root, 'docs');
    await mkdir(join(docs, 'sub'), { recursive: true });
    for (let i = 0; i < 24; i++) await writeFile(join(docs, `n${String(i).padStart(2, '0')}.txt`), note(i));
    await writeFile(join(docs, 'sub', 'a.md'), '# Lighthouses\n\nThey keep ships off the rocks.');
    await writeFile(join(docs, 'sub', 'b.html'), '<p>Tall <b>ships</b> sail at night.</p>');
    await writeFile(join(docs, 'sub', 'c.jsonl'), '{"id":"r1","text":"a record about owls"}\n{"text":"a record about bats"}\n');
    await writePdfFixture(join(docs, 'sub', 'd.pdf'), ['A page about whales and krill.']);
    await writeFile(join(docs, 'sub', 'bad.json'), '{"text": "cut');
    await writeFile(join(docs, 'sub', 'broken.pdf'), '%PDF-1.4 not really');
  });
  after(async () => {
    killStrays();
    await box.cleanup();
  });

  test('a folder of mixed formats: every readable file stored, the unreadable kept as dead letters with their reasons, progress on stderr', async () => {
    const r = await runHearth(['ingest', docs, '-c', 'notes', '--model', model, '--validate', '10', '--batch', '4'], env);
    ok(r);
    const result = JSON.parse(r.stdout) as IngestResult;
    assert.deepEqual({ ...result, gate: undefined }, { collection: 'notes', files: 30, documents: 29, added: 29, unchanged: 0, chunks: 29, deadLetters: 2, gate: undefined });
    assert.equal(result.gate?.documents, 12, 'the gate checked the first whole units covering 10 files');
    assert.deepEqual({ samples: result.gate?.selfTest.samples, found: result.gate?.selfTest.found }, { samples: 12, found: 12 });
    assert.match(r.stderr, /ingesting: 30\/30 files, 29 chunks, [\d.]+ files\/s [\d.]+ chunks\/s, done/);
    const stored = await counts('notes');
    assert.deepEqual([stored?.documents, stored?.chunks], [29, 29]);

    const dead = JSON.parse((await runHearth(['ingest', '-c', 'notes', '--dead-letters'], env)).stdout) as DeadLetter[];
    assert.deepEqual(dead.map((d) => [d.source, d.code, d.attempts]), [
      [join(docs, 'sub', 'bad.json'), 'SOURCE_UNREADABLE', 1],
      [join(docs, 'sub', 'broken.pdf'), 'SOURCE_UNREADABLE', 1],
    ]);
    assert.match(dead[0]!.reason, /^is not JSON/);
    assert.match(dead[1]!.reason, /^is not a readable PDF/);
  });

  test('run again, it embeds nothing; a dead letter fixed and retried is stored and leaves the list', async () => {
    const again = await runHearth(['ingest', docs, '-c', 'notes', '--validate', '10', '--batch', '4'], env);
    ok(again);
    const result = JSON.parse(again.stdout) as IngestResult;
    assert.deepEqual([result.added, result.unchanged, result.chunks, result.deadLetters], [0, 29, 0, 2]);

    await writeFile(join(docs, 'sub', 'bad.json'), '{"text": "fixed at last"}');
    const retried = await runHearth(['ingest', '-c', 'notes', '--retry-dead'], env);
    ok(retried);
    const repair = JSON.parse(retried.stdout) as IngestResult;
    assert.deepEqual([repair.files, repair.added, repair.deadLetters, repair.gate], [2, 1, 1, null]);
    const dead = JSON.parse((await runHearth(['ingest', '-c', 'notes', '--dead-letters'], env)).stdout) as DeadLetter[];
    assert.deepEqual(dead.map((d) => [d.source, d.attempts]), [[join(docs, 'sub', 'broken.pdf'), 3]], 'failed by all three runs');
    assert.equal((await counts('notes'))?.documents, 30);
  });

  test('killed with -9 mid-run, then run again: every document stored once, none lost', async () => {
    const many = join(box.root, 'many');
    await mkdir(many);
    for (let i = 0; i < 160; i++) await writeFile(join(many, `m${String(i).padStart(3, '0')}.txt`), note(i));
    const args = ['ingest', many, '-c', 'crash', '--model', model, '--validate', '0', '--batch', '2'];
    const first = spawnHearth(args, env);
    // The first tenth done is a unit written: the kill lands with most of the run still to go.
    await waitForOutput(first, /ingesting: (1[6-9]|[2-9]\d)\/160 files/);
    first.kill('SIGKILL');
    const killed = await first.result;
    assert.equal(killed.signal, 'SIGKILL', 'the run was still going when it was killed');
    const before = (await counts('crash'))!;
    assert.ok(before.documents > 0 && before.documents < 160, `part of the run was stored (${before.documents})`);

    const second = await runHearth(args, env);
    ok(second);
    const result = JSON.parse(second.stdout) as IngestResult;
    assert.equal(result.added + result.unchanged, 160);
    assert.ok(result.unchanged >= before.documents, 'what the killed run stored was not embedded again');
    assert.deepEqual(await counts('crash'), { ...before, documents: 160, chunks: 160 });
  });

  test('a model whose vectors cannot find their own text stops at the gate, with a report, before the rest', async () => {
    const flat = join(box.root, 'flat');
    // One dimension: every text maps to the same direction, as a broken model or a wrong tokenizer can.
    await writeBertOnnxFixture(flat, { seed: 4, hidden: 1, heads: 1, intermediate: 4 });
    const r = await runHearth(['ingest', docs, '-c', 'flat', '--model', flat, '--validate', '8', '--batch', '4'], env);
    assert.equal(r.code, 65, r.stderr);
    assert.match(r.stderr, /error\[INGEST_GATE_FAILED\].*sampled chunks did not find themselves first/);
    const report = JSON.parse(r.stdout) as { collection: string; documents: number; selfTest: { samples: number; found: number; misses: unknown[] } };
    assert.equal(report.collection, 'flat');
    assert.ok(report.selfTest.found < report.selfTest.samples);
    assert.equal(report.selfTest.misses.length, report.selfTest.samples - report.selfTest.found);
    assert.equal((await counts('flat'))?.documents, 8, 'only the first units were written');
  });

  test('bad input: typed errors, and nothing queued', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['ingest', docs, '-c', 'absent'], 66, /COLLECTION_NOT_FOUND/],
      [['ingest', join(box.root, 'nope'), '-c', 'notes'], 64, /no such file or folder/],
      [['ingest', `${docs}/**/*.csv`, '-c', 'notes'], 64, /matches no file/],
      [['ingest', '-c', 'notes'], 64, /nothing to ingest/],
      [['ingest', docs, '-c', 'notes', '--batch', 'x'], 64, /--batch: expected a whole number/],
    ];
    for (const [args, code, message] of cases) {
      const r = await runHearth(args, env);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
  });
});
