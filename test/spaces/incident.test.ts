/**
 * Issue 13's incident, reproduced on one machine: vectors stored by a worker
 * on one build of llama.cpp's CPU kernels, queried by a backend on another.
 * The same GGUF runs under the native ggml CPU variant and under `sse42`
 * (pinned with HEARTH_CPU_VARIANT, one process each, as two machines would):
 * the runtime fingerprints differ and the check measures what that does to
 * the numbers. Another precision or pooling of the model, and ONNX int8
 * against fp32, are caught by the model fingerprint.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readCpuFlags, runnableCpuVariants } from '../../src/runtime/llama/cpu-variants.js';
import { judge } from '../../src/spaces/contract.js';
import type { CheckReport } from '../../src/spaces/index.js';
import { writeBertOnnxFixture } from '../support/bert-onnx-fixture.js';
import { writeBertFixture } from '../support/gguf-fixtures.js';
import { runHearth, spawnHearth, killStrays } from '../support/hearth-cli.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { waitForOutput } from '../support/wait.js';

const PORTABLE = 'sse42';
const canPin = process.platform === 'linux' && process.arch === 'x64' && runnableCpuVariants(readCpuFlags()).includes(PORTABLE);

describe('the incident: a space made on one CPU variant, checked and served on another', { skip: !canPin && 'needs Linux x64 with the sse42 ggml variant' }, () => {
  let box: Sandbox;
  let dir: string;
  let gguf: string;
  const env = (extra: Record<string, string> = {}) => box.env({ HEARTH_THREADS: '1', ...extra });

  async function check(name: string, extra: Record<string, string> = {}, args: string[] = []): Promise<{ code: number | null; report: CheckReport; stderr: string }> {
    const r = await runHearth(['space', 'check', name, '--json', ...args], env(extra));
    assert.ok(r.stdout.trim().startsWith('{'), r.stderr);
    return { code: r.code, report: JSON.parse(r.stdout) as CheckReport, stderr: r.stderr };
  }

  before(async () => {
    box = await createSandbox();
    dir = await mkdtemp(join(tmpdir(), 'hearth-incident-'));
    // MiniLM's width, two layers: wide enough for the kernels' summation order to show.
    gguf = join(dir, 'minilm-ish.gguf');
    await writeBertFixture(gguf, { seed: 11, layers: 2, embd: 384, heads: 12, ff: 1536, context: 512 });
    const created = await runHearth(['space', 'create', 'notes', '--model', gguf], env());
    assert.equal(created.code, 0, created.stderr);
  });
  after(async () => {
    killStrays();
    await box?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test('the same runtime is identical', async () => {
    const { code, report } = await check('notes');
    assert.equal(code, 0);
    assert.equal(report.verdict, 'identical');
    assert.deepEqual(report.diff, []);
  });

  test(`under ${PORTABLE} the runtime fingerprint differs and the verdict is the one the measured cosines call for`, async () => {
    const space = JSON.parse((await runHearth(['space', 'show', 'notes', '--json'], env())).stdout) as { runtime: { cpuVariant: string } };
    assert.notEqual(space.runtime.cpuVariant, PORTABLE, 'the space was made on the native variant');
    const { code, report } = await check('notes', { HEARTH_CPU_VARIANT: PORTABLE });
    assert.equal(report.current.runtime.cpuVariant, PORTABLE, 'the identity reports the variant that loaded');
    assert.deepEqual(report.diff, [{ field: 'runtime.cpuVariant', space: space.runtime.cpuVariant, current: PORTABLE }]);
    assert.notEqual(report.fingerprints.current.runtime, report.fingerprints.space.runtime);
    assert.equal(report.fingerprints.current.model, report.fingerprints.space.model);
    assert.ok(report.probes, 'the probes were measured');
    assert.equal(report.probes.cosines.length, 48);
    // The verdict follows the written contract from the numbers measured, whatever they came out as.
    assert.equal(report.verdict, judge({ modelDiff: [], agreement: report.probes }).verdict);
    assert.notEqual(report.verdict, 'incompatible', `another instruction set only reorders sums: ${report.reasons.join('; ')}`);
    assert.equal(code, 0);
  });

  test(`a server pinned to ${PORTABLE} serves "space:notes" under the verdict it measured, and refuses a space whose model changed`, async () => {
    const server = spawnHearth(['serve', '--port', '0'], env({ HEARTH_CPU_VARIANT: PORTABLE }));
    const url = (await waitForOutput(server, /listening on (http:\/\/\S+)/))[1]!;
    const response = await fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'space:notes', input: ['hello'] }) });
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(response.headers.get('x-hearth-space'), 'notes');
    const expected = (await check('notes', { HEARTH_CPU_VARIANT: PORTABLE })).report.verdict;
    assert.equal(response.headers.get('x-hearth-space-verdict'), expected);
    const body = (await response.json()) as { data: Array<{ embedding: number[] }> };
    assert.equal(body.data[0]!.embedding.length, 384);

    // The worker re-exported the model in F16: the same name, other numbers.
    const f16 = join(dir, 'minilm-ish-f16.gguf');
    await writeBertFixture(f16, { seed: 11, layers: 2, embd: 384, heads: 12, ff: 1536, context: 512, type: 'F16' });
    const exported = join(dir, 'notes.json');
    assert.equal((await runHearth(['space', 'export', 'notes', '-o', exported], env())).code, 0);
    assert.equal((await runHearth(['space', 'import', exported, '--name', 'notes-f16', '--model', f16], env())).code, 0);
    const refused = await fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'space:notes-f16', input: ['hello'] }) });
    assert.equal(refused.status, 409);
    const error = ((await refused.json()) as { error: { code: string; details: { verdict: string; diff: Array<{ field: string }> } } }).error;
    assert.equal(error.code, 'space_mismatch');
    assert.equal(error.details.verdict, 'incompatible');
    const fields = error.details.diff.map((d) => d.field);
    assert.ok(fields.includes('model.quantization') && fields.includes('runtime.cpuVariant'), fields.join());
    server.kill('SIGTERM');
    assert.equal((await server.result).code, 0);
  });

  test(`a collection written on the native variant: under ${PORTABLE} stats give the check's verdict and text queries answer; a collection in a space whose model changed refuses both`, async () => {
    const memory = (args: string[], extra: Record<string, string> = {}) => runHearth(['memory', ...args], env(extra));
    assert.equal((await memory(['create', 'kb', '--space', 'notes'])).code, 0);
    assert.equal((await memory(['add', 'kb', '--id', 'tide', '--text', 'The tide turned at noon.'])).code, 0);
    assert.equal((await memory(['add', 'kb', '--id', 'bread', '--text', 'Bread rises in a warm kitchen.'])).code, 0);
    const expected = (await check('notes', { HEARTH_CPU_VARIANT: PORTABLE })).report.verdict;
    const stats = await memory(['stats', 'kb', '--json'], { HEARTH_CPU_VARIANT: PORTABLE });
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal((JSON.parse(stats.stdout) as { verdict: string }).verdict, expected);
    const query = await memory(['query', 'kb', 'The tide turned at noon.', '--json'], { HEARTH_CPU_VARIANT: PORTABLE });
    assert.equal(query.code, 0, query.stderr);
    assert.equal((JSON.parse(query.stdout) as Array<{ docId: string }>)[0]?.docId, 'tide');

    const f16 = join(dir, 'kb-f16.gguf');
    await writeBertFixture(f16, { seed: 11, layers: 2, embd: 384, heads: 12, ff: 1536, context: 512, type: 'F16' });
    const exported = join(dir, 'kb-space.json');
    assert.equal((await runHearth(['space', 'export', 'notes', '-o', exported], env())).code, 0);
    assert.equal((await runHearth(['space', 'import', exported, '--name', 'kb-f16', '--model', f16], env())).code, 0);
    assert.equal((await memory(['create', 'moved', '--space', 'kb-f16'])).code, 0);
    for (const args of [['add', 'moved', '--text', 'The tide turned at noon.'], ['query', 'moved', 'tide']]) {
      const refused = await memory(args);
      assert.equal(refused.code, 65, `${args[0]}: ${refused.stderr}`);
      assert.match(refused.stderr, /error\[SPACE_MISMATCH\]/);
    }
  });

  test('ONNX int8 against its fp32 original is incompatible through the model fingerprint, and the probes say how far it moved', async () => {
    const fp32 = join(dir, 'onnx-fp32');
    await writeBertOnnxFixture(fp32, { seed: 12, variants: ['int8'] });
    // What `hf:<repo>:int8` selects: the same export with its int8 graph as the model.
    const int8 = join(dir, 'onnx-int8');
    await cp(fp32, int8, { recursive: true });
    await rm(join(int8, 'onnx', 'model.onnx'));
    await rename(join(int8, 'onnx', 'model_int8.onnx'), join(int8, 'onnx', 'model.onnx'));
    assert.equal((await runHearth(['space', 'create', 'onnx', '--model', fp32], env())).code, 0);
    const { code, report } = await check('onnx', {}, ['--model', int8]);
    assert.equal(code, 65);
    assert.equal(report.verdict, 'incompatible');
    assert.ok(report.diff.some((d) => d.field === 'model.weights'));
    assert.equal(report.fingerprints.current.runtime, report.fingerprints.space.runtime);
    assert.ok(report.probes && report.probes.min < 1, 'the numbers moved too');
    assert.ok((await readFile(join(int8, 'onnx', 'model.onnx'))).length < (await readFile(join(fp32, 'onnx', 'model.onnx'))).length, 'the int8 graph is the smaller one');
  });
});
