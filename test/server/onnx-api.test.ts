/**
 * ONNX sentence-transformers models through the HTTP APIs, driven by the official `openai` and
 * `ollama` SDKs: a generated model directory under the alias `tiny-onnx`, and a whole-repo pull
 * from a fake hub that then serves offline.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { silentLogger } from '../../src/log/logger.js';
import { createPool } from '../../src/pool/create-pool.js';
import { cosine } from '../support/assertions.js';
import { createStore } from '../../src/store/index.js';
import { writeBertOnnxFixture } from '../support/bert-onnx-fixture.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { batchStats, startTestServer, type TestServer } from '../support/test-server.js';
import { GENEROUS_MS } from '../support/wait.js';

const REPO = 'acme/minilm-onnx';
const floats = (embedding: unknown) => Float32Array.from(embedding as number[]);

describe('ONNX embeddings over HTTP', { timeout: 4 * GENEROUS_MS }, () => {
  let hub: FakeHub;
  let server: TestServer;
  let openai: OpenAI;
  let ollama: Ollama;

  before(async () => {
    hub = await startFakeHub();
    const dir = await mkdtemp(join(tmpdir(), 'hearth-onnx-repo-'));
    try {
      const written = await writeBertOnnxFixture(dir, { seed: 21, variants: ['quantized'] });
      const files = await Promise.all(written.files.map(async (path) => ({ path, content: await readFile(join(dir, path)), lfs: path.endsWith('.onnx') })));
      // A real repo also carries weights hearth must not download for an ONNX pull.
      files.push({ path: 'model.safetensors', content: Buffer.alloc(4096, 1), lfs: true });
      hub.addRepo({ id: REPO, files });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    server = await startTestServer({ endpoint: hub.url });
    openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: GENEROUS_MS });
    ollama = new Ollama({ host: server.url });
  });
  after(async () => {
    await server?.close();
    await hub?.close();
  });

  test('openai: one vector per input, unit norm, in order, equal to embedding each alone', async () => {
    const texts = ['the cat sat on the mat', 'hello', 'a quick brown fox jumps over the lazy dog and runs far away'];
    const singles: Float32Array[] = [];
    for (const input of texts) singles.push(floats((await openai.embeddings.create({ model: 'tiny-onnx', input })).data[0]!.embedding));
    const res = await openai.embeddings.create({ model: 'tiny-onnx', input: texts });
    assert.equal(res.model, 'tiny-onnx');
    assert.deepEqual(res.data.map((d) => d.index), [0, 1, 2]);
    res.data.forEach((d, i) => {
      const vector = floats(d.embedding);
      assert.equal(vector.length, 32);
      assert.ok(cosine(vector, singles[i]!) >= 0.99999, `input ${i}`);
    });
    assert.ok(cosine(singles[0]!, singles[2]!) < 0.999, 'different texts differ');
    assert.ok(res.usage.prompt_tokens > texts.length * 2, 'usage counts the [CLS]/[SEP] tokens too');
  });

  test('openai: 48 concurrent requests of mixed lengths agree with sequential ones, and the batch metrics count them', async () => {
    const texts = Array.from({ length: 48 }, (_, i) => `text ${i} ${'about the warm hearth and the lazy dog '.repeat(1 + (i % 5))}`);
    const sequential: Float32Array[] = [];
    for (const input of texts) sequential.push(floats((await openai.embeddings.create({ model: 'tiny-onnx', input })).data[0]!.embedding));
    const before = await batchStats(server);
    const parallel = await Promise.all(texts.map((input) => openai.embeddings.create({ model: 'tiny-onnx', input })));
    const afterwards = await batchStats(server);
    parallel.forEach((res, i) => assert.ok(cosine(floats(res.data[0]!.embedding), sequential[i]!) >= 0.99999, `text ${i}`));
    assert.equal(afterwards.rows - before.rows, 48, 'every input is counted once');
    const tokens = afterwards.tokens - before.tokens;
    assert.equal(tokens, parallel.reduce((n, res) => n + res.usage.prompt_tokens, 0), 'real tokens match the usage reported');
  });

  test('openai: over-long input is a 400 naming the limit; dimensions shortens and re-normalizes', async () => {
    await assert.rejects(openai.embeddings.create({ model: 'tiny-onnx', input: 'word '.repeat(500) }), (e: unknown) => {
      const error = e as InstanceType<typeof OpenAI.BadRequestError>;
      return error.status === 400 && error.code === 'input_too_long' && /at most 128/.test(error.message);
    });
    const short = await openai.embeddings.create({ model: 'tiny-onnx', input: 'the cat', dimensions: 8 });
    const v = floats(short.data[0]!.embedding);
    assert.equal(v.length, 8);
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5);
  });

  test('openai: chat with an embedding-only ONNX model is a 400, not a crash', async () => {
    await assert.rejects(openai.chat.completions.create({ model: 'tiny-onnx', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => (e as { status?: number }).status === 400);
  });

  test('ollama: embed truncates by default and refuses with truncate false; legacy embeddings agrees', async () => {
    const long = 'word '.repeat(500);
    const cut = await ollama.embed({ model: 'tiny-onnx', input: [long, 'the cat'] });
    assert.equal(cut.embeddings.length, 2);
    await assert.rejects(ollama.embed({ model: 'tiny-onnx', input: long, truncate: false }), (e: unknown) => (e as { status_code?: number }).status_code === 400);
    const legacy = await ollama.embeddings({ model: 'tiny-onnx', prompt: 'the cat' });
    assert.ok(cosine(Float32Array.from(legacy.embedding), Float32Array.from(cut.embeddings[1]!)) >= 0.99999);
  });

  test('ollama: ps reports the ONNX runtime identity; show the format and family', async () => {
    await ollama.embed({ model: 'tiny-onnx', input: 'warm' });
    const entry = (await ollama.ps()).models.find((m) => m.name === 'tiny-onnx') as unknown as { details: { format: string }; runtime: Record<string, unknown> } | undefined;
    assert.ok(entry, 'tiny-onnx is running');
    assert.equal(entry.details.format, 'onnx');
    assert.equal(entry.runtime.engine, 'onnxruntime');
    assert.equal(entry.runtime.pooling, 'mean');
    assert.equal(entry.runtime.normalize, true);
    assert.match(String(entry.runtime.cpuVariant), /^mlas:/);
    const show = await ollama.show({ model: 'tiny-onnx' });
    assert.equal(show.details.family, 'bert');
    assert.equal(show.details.format, 'onnx');
  });

  test('a whole-repo pull serves embeddings, then loads offline with no hub traffic', async () => {
    const ref = `hf:${REPO}`;
    const pulled = await ollama.pull({ model: ref });
    assert.equal(pulled.status, 'success');
    const online = await ollama.embed({ model: ref, input: 'the warm hearth' });
    assert.equal(online.embeddings[0]!.length, 32);
    const quantized = await ollama.pull({ model: `${ref}:q8` });
    assert.equal(quantized.status, 'success');
    const q8 = await ollama.embed({ model: `${ref}:q8`, input: 'the warm hearth' });
    assert.ok(cosine(Float32Array.from(q8.embeddings[0]!), Float32Array.from(online.embeddings[0]!)) >= 0.99, 'int8 stays close to fp32');

    hub.resetStats();
    const config = server.box.config({ HEARTH_OFFLINE: '1', HEARTH_THREADS: '1' });
    const store = createStore({ config, logger: silentLogger });
    const pool = createPool({ config, store, logger: silentLogger });
    try {
      const offline = await pool.use(ref, {}, (model) => model.embed(['the warm hearth']));
      assert.ok(cosine(offline.vectors[0]!, Float32Array.from(online.embeddings[0]!)) >= 0.99999);
    } finally {
      await pool.dispose();
      await store.dispose();
    }
    assert.equal(hub.stats.requests, 0, 'offline loading makes no hub requests');
  });
});
