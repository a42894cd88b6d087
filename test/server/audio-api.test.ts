import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ECAPA_SKIP, ECAPA_TOLERANCE, ecapaClips, maxAbsDiff, referenceF32 } from '../support/ecapa-reference.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { pcm16Wav, tone } from '../support/wav-writer.js';

interface EmbeddingsBody {
  model: string;
  dims: number;
  normalized: boolean;
  data: Array<{ index: number; seconds: number; embedding: number[] | string }>;
  usage: { clips: number; seconds: number };
}

interface ErrorBody {
  error: { code: string; message: string };
}

describe('POST /v1/audio/embeddings and /v1/audio/verify on a SpeechBrain ECAPA repo', { skip: ECAPA_SKIP }, () => {
  let server: TestServer;
  const clips = ECAPA_SKIP ? [] : ecapaClips();
  const wav = (name: string) => readFileSync(clips.find((c) => c.name === name)!.wavPath);

  before(async () => {
    server = await startTestServer({ env: { HEARTH_AUDIO_MAX_SECONDS: '8' } });
  });
  after(async () => {
    await server?.close();
  });

  const postJson = (path: string, body: unknown) => fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const postForm = (path: string, fields: Record<string, string>, files: Array<[string, Uint8Array, string]>) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    for (const [field, bytes, name] of files) form.append(field, new Blob([bytes], { type: 'audio/wav' }), name);
    return fetch(`${server.url}${path}`, { method: 'POST', body: form });
  };
  const errorOf = async (response: Response, status: number, code: string) => {
    const body = (await response.json()) as ErrorBody;
    assert.equal(response.status, status, JSON.stringify(body));
    // /v1 errors take OpenAI's shape, with hearth's code in lower case.
    assert.equal(body.error.code, code.toLowerCase());
    return body.error;
  };

  test('a multipart upload gives SpeechBrain embedding, within the reference tolerance', async () => {
    const response = await postForm('/v1/audio/embeddings', { model: 'ecapa' }, [['file', wav('a1_enus_m'), 'a1.wav']]);
    const body = (await response.json()) as EmbeddingsBody;
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.dims, 192);
    assert.equal(body.normalized, false);
    assert.equal(body.data.length, 1);
    assert.ok(Math.abs(body.data[0]!.seconds - clips[0]!.samples / 16000) < 1e-9);
    assert.ok(maxAbsDiff(body.data[0]!.embedding as number[], referenceF32('a1_enus_m.emb.f32')) <= ECAPA_TOLERANCE.embedding);
  });

  test('JSON with base64 audio, several clips at once, normalize: each matches its own reference (no batch effects)', async () => {
    const response = await postJson('/v1/audio/embeddings', { model: 'ecapa', input: clips.map((c) => wav(c.name).toString('base64')), normalize: true });
    const body = (await response.json()) as EmbeddingsBody;
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.usage.clips, clips.length);
    for (const [i, clip] of clips.entries()) {
      const diff = maxAbsDiff(body.data[i]!.embedding as number[], referenceF32(`${clip.name}.emb_norm.f32`));
      assert.ok(diff <= ECAPA_TOLERANCE.embedding, `${clip.name}: max |diff| ${diff}`);
    }
  });

  test('base64 output decodes to the same float32 vector', async () => {
    const response = await postJson('/v1/audio/embeddings', { model: 'ecapa', input: wav('a3_fr_m').toString('base64'), encoding_format: 'base64' });
    const body = (await response.json()) as EmbeddingsBody;
    const bytes = Buffer.from(body.data[0]!.embedding as string, 'base64');
    const vector = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    assert.ok(maxAbsDiff(vector, referenceF32('a3_fr_m.emb.f32')) <= ECAPA_TOLERANCE.embedding);
  });

  test('verify: the cosine of the two embeddings, and a decision at the threshold', async () => {
    const same = (await (await postForm('/v1/audio/verify', { model: 'ecapa' }, [['a', wav('a2_engb_f'), 'a.wav'], ['b', wav('a2_engb_f'), 'b.wav']])).json()) as Record<string, unknown>;
    assert.ok(Math.abs((same.score as number) - 1) < 1e-6, JSON.stringify(same));
    assert.equal(same.same_speaker, true);
    assert.equal(same.threshold, 0.25);
    const a = referenceF32('a1_enus_m.emb.f32');
    const b = referenceF32('a3_fr_m.emb.f32');
    let dot = 0, na = 0, nb = 0;
    for (let i = 0; i < a.length; i++) (dot += a[i]! * b[i]!), (na += a[i]! ** 2), (nb += b[i]! ** 2);
    const response = await postJson('/v1/audio/verify', { model: 'ecapa', a: wav('a1_enus_m').toString('base64'), b: wav('a3_fr_m').toString('base64'), threshold: 0.9999 });
    const body = (await response.json()) as { score: number; threshold: number; same_speaker: boolean };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.ok(Math.abs(body.score - dot / Math.sqrt(na * nb)) < 1e-5, `${body.score}`);
    assert.equal(body.threshold, 0.9999);
    assert.equal(body.same_speaker, body.score > 0.9999);
  });

  test('bad audio gets a typed 4xx naming the clip', async () => {
    const model = { model: 'ecapa' };
    const notWav = await errorOf(await postForm('/v1/audio/embeddings', model, [['file', Buffer.from('this is not a wave file at all'), 'x.wav']]), 400, 'AUDIO_INVALID');
    assert.match(notWav.message, /file/);
    const truncated = wav('a5_sco_m').subarray(0, 30);
    await errorOf(await postForm('/v1/audio/embeddings', model, [['file', truncated, 'x.wav']]), 400, 'AUDIO_INVALID');
    await errorOf(await postForm('/v1/audio/embeddings', model, [['file', pcm16Wav([new Float32Array(16000)], 16000), 's.wav']]), 422, 'AUDIO_SILENT');
    await errorOf(await postForm('/v1/audio/embeddings', model, [['file', pcm16Wav([tone(0.02, 16000)], 16000), 's.wav']]), 400, 'AUDIO_TOO_SHORT');
    const long = await errorOf(await postForm('/v1/audio/embeddings', model, [['file', pcm16Wav([tone(9, 8000)], 8000), 'l.wav']]), 413, 'AUDIO_TOO_LONG');
    assert.match(long.message, /8 s/);
    await errorOf(await postJson('/v1/audio/embeddings', { model: 'ecapa', input: 'not base64 !!' }), 400, 'USAGE');
    await errorOf(await postJson('/v1/audio/embeddings', { model: 'ecapa' }), 400, 'USAGE');
    await errorOf(await postJson('/v1/audio/verify', { model: 'ecapa', a: wav('a1_enus_m').toString('base64') }), 400, 'USAGE');
  });

  test('other rates and stereo are resampled and downmixed', async () => {
    const at441 = pcm16Wav([tone(2, 44100), tone(2, 44100, 300, 600)], 44100);
    const response = await postForm('/v1/audio/embeddings', { model: 'ecapa' }, [['file', at441, 'stereo.wav']]);
    const body = (await response.json()) as EmbeddingsBody;
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.dims, 192);
    assert.ok((body.data[0]!.embedding as number[]).every(Number.isFinite));
  });

  test('a text model refuses audio, and the speaker model refuses text, both as MODEL_UNSUPPORTED', async () => {
    await errorOf(await postForm('/v1/audio/embeddings', { model: 'tiny-onnx' }, [['file', wav('a1_enus_m'), 'a.wav']]), 400, 'MODEL_UNSUPPORTED');
    await errorOf(await postJson('/v1/embeddings', { model: 'ecapa', input: 'hello' }), 400, 'MODEL_UNSUPPORTED');
  });

  test('/health lists the loaded speaker model as it lists text models', async () => {
    const health = (await (await fetch(`${server.url}/health`)).json()) as { models: Array<{ name: string; state: string; loaded: boolean }> };
    const ecapa = health.models.find((m) => m.name === 'ecapa');
    assert.ok(ecapa, JSON.stringify(health));
    assert.equal(ecapa.state, 'ready');
    assert.equal(ecapa.loaded, true);
  });
});
