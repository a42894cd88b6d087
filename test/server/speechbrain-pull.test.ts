import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFakeHub, type FakeFile, type FakeHub } from '../support/fake-hub.js';
import { fixtureBytes } from '../support/sandbox.js';
import { TINY_ECAPA, writeSpeechBrainRepo } from '../support/speechbrain-fixture.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { pcm16Wav, tone } from '../support/wav-writer.js';

/** A small ECAPA of the real layout: enough to pull, load and embed in a test. */
const REF = 'hf:speechbrain/spkrec-ecapa-voxceleb';
const SELECTED = ['hyperparams.yaml', 'classifier.ckpt', 'embedding_model.ckpt', 'mean_var_norm_emb.ckpt', 'label_encoder.txt'];

/**
 * The whole-repo ref a user types: the store pulls the files the model needs
 * (not the example audio or the docs) as one snapshot, and the server then
 * serves it with the hub gone.
 */
describe('a SpeechBrain repo pulled from the hub and served offline', () => {
  let hub: FakeHub;
  let server: TestServer;
  let repo: string;

  before(async () => {
    repo = await mkdtemp(join(tmpdir(), 'hearth-sb-'));
    await writeSpeechBrainRepo(repo, { shape: TINY_ECAPA, seed: 5 });
    const files: FakeFile[] = await Promise.all((await readdir(repo)).map(async (path) => ({ path, content: await readFile(join(repo, path)), lfs: path.endsWith('.ckpt') })));
    files.push({ path: 'README.md', content: Buffer.from('# spkrec-ecapa-voxceleb\n') }, { path: 'example1.wav', content: fixtureBytes(4000, 1), lfs: true });
    hub = await startFakeHub();
    hub.addRepo({ id: 'speechbrain/spkrec-ecapa-voxceleb', files });
    server = await startTestServer({ endpoint: hub.url });
  });
  after(async () => {
    await server?.close();
    await hub?.close();
    await rm(repo, { recursive: true, force: true });
  });

  test('the pull selects the recipe, the checkpoints and the label encoder, and nothing else', async () => {
    const pulled = await server.store.pull(REF);
    assert.deepEqual(pulled.files.map((f) => f.path), SELECTED);
    assert.equal(pulled.primary.path, 'hyperparams.yaml');
    assert.equal(hub.stats.byPath.get('example1.wav'), undefined, 'example audio is never fetched');
  });

  test('with the hub gone, the server embeds and verifies with it', async () => {
    await hub.close();
    const wav = pcm16Wav([tone(1.2, 16000)], 16000);
    const form = new FormData();
    form.append('model', REF);
    form.append('file', new Blob([wav]), 'a.wav');
    const response = await fetch(`${server.url}/v1/audio/embeddings`, { method: 'POST', body: form });
    const body = (await response.json()) as { dims: number; data: Array<{ embedding: number[] }> };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.dims, TINY_ECAPA.linNeurons);
    assert.ok(body.data[0]!.embedding.every(Number.isFinite));
    const verify = await fetch(`${server.url}/v1/audio/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: REF, a: Buffer.from(wav).toString('base64'), b: Buffer.from(wav).toString('base64') }),
    });
    const verdict = (await verify.json()) as { score: number; same_speaker: boolean };
    assert.ok(Math.abs(verdict.score - 1) < 1e-6);
    assert.equal(verdict.same_speaker, true);
  });
});
