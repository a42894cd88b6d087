import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ECAPA_SKIP, ecapaClips, referenceF32 } from '../support/ecapa-reference.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

interface Identification {
  collection: string;
  matches: Array<{ name: string; score: number }>;
  speaker: string | null;
  threshold: number;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) (dot += a[i]! * b[i]!), (na += a[i]! ** 2), (nb += b[i]! ** 2);
  return dot / Math.sqrt(na * nb);
}

/**
 * Enroll, identify, list and remove speakers over HTTP, in the embedded
 * memory, with SpeechBrain's reference embeddings as the expected numbers.
 */
describe('/v1/speakers on a SpeechBrain ECAPA repo', { skip: ECAPA_SKIP }, () => {
  let server: TestServer;
  const b64 = (name: string) => readFileSync(ecapaClips().find((c) => c.name === name)!.wavPath).toString('base64');

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & { error?: { code: string; message: string } } };
  };

  test('the first enrollment must name the model; it makes the collection in a space of audio probes', async () => {
    const refused = await call('POST', '/v1/speakers', { name: 'alice', input: b64('a1_enus_m') });
    assert.equal(refused.status, 404);
    assert.equal(refused.body.error!.code, 'collection_not_found');
    assert.match(refused.body.error!.message, /name the speaker model/);

    const alice = await call('POST', '/v1/speakers', { name: 'alice', model: 'ecapa', input: b64('a1_enus_m') });
    assert.equal(alice.status, 201, JSON.stringify(alice.body));
    assert.equal(alice.body.collection, 'speakers');
    assert.equal(alice.body.clips, 1);
    const space = await call('GET', '/v1/spaces/speakers');
    assert.equal(space.status, 200, JSON.stringify(space.body));
    assert.match(JSON.stringify(space.body), /hearth-audio-probes\/1/);
    assert.match(JSON.stringify(space.body), /"dimensions":192/);
  });

  test('more speakers; one enrolled from two clips gets their mean as its voiceprint', async () => {
    assert.equal((await call('POST', '/v1/speakers', { name: 'bob', input: b64('a3_fr_m') })).status, 201);
    const carol = await call('POST', '/v1/speakers', { name: 'carol', input: [b64('a4_es_f'), b64('a5_sco_m')] });
    assert.equal(carol.status, 201, JSON.stringify(carol.body));
    assert.equal(carol.body.clips, 2);
    const listed = await call('GET', '/v1/speakers');
    assert.deepEqual((listed.body.data as Array<{ name: string; clips: number }>).map((s) => [s.name, s.clips]), [['alice', 1], ['bob', 1], ['carol', 2]]);

    const a4 = referenceF32('a4_es_f.emb.f32');
    const a5 = referenceF32('a5_sco_m.emb.f32');
    const voiceprint = a4.map((v, i) => (v + a5[i]!) / 2);
    const found = await call('POST', '/v1/speakers/identify', { input: b64('a4_es_f'), top_k: 3 });
    const result = found.body as unknown as Identification;
    assert.equal(found.status, 200, JSON.stringify(found.body));
    assert.equal(result.matches.length, 3);
    const carolScore = result.matches.find((m) => m.name === 'carol')!.score;
    assert.ok(Math.abs(carolScore - cosine(a4, voiceprint)) < 1e-5, `${carolScore} against ${cosine(a4, voiceprint)}`);
  });

  test('identify: a clip finds the speaker enrolled from it; the threshold decides who, if anyone, it is', async () => {
    const self = (await call('POST', '/v1/speakers/identify', { input: b64('a1_enus_m') })).body as unknown as Identification;
    assert.equal(self.matches[0]!.name, 'alice');
    assert.ok(Math.abs(self.matches[0]!.score - 1) < 1e-5);
    assert.equal(self.speaker, 'alice');
    assert.equal(self.threshold, 0.25);
    // Random-weight embeddings of different clips still have a cosine near 0.99; a strict threshold tells them apart.
    const stranger = (await call('POST', '/v1/speakers/identify', { input: b64('a2_engb_f'), threshold: 0.99999 })).body as unknown as Identification;
    assert.equal(stranger.speaker, null);
    assert.ok(stranger.matches.every((m) => m.score < 0.99999));
  });

  test('remove: once, then SPEAKER_NOT_FOUND; bad requests are typed', async () => {
    assert.equal((await call('DELETE', '/v1/speakers/bob')).status, 200);
    const again = await call('DELETE', '/v1/speakers/bob');
    assert.equal(again.status, 404);
    assert.equal(again.body.error!.code, 'speaker_not_found');
    assert.deepEqual((((await call('GET', '/v1/speakers')).body.data as Array<{ name: string }>) ?? []).map((s) => s.name), ['alice', 'carol']);
    const two = await call('POST', '/v1/speakers/identify', { input: [b64('a1_enus_m'), b64('a3_fr_m')] });
    assert.equal(two.status, 400);
    const none = await call('POST', '/v1/speakers', { name: 'dave' });
    assert.equal(none.status, 400);
    assert.equal(none.body.error!.code, 'usage');
  });

  test('multipart: a name that looks like a number stays a name; top_k and threshold are read as numbers', async () => {
    const form = new FormData();
    form.append('name', '007');
    form.append('file', new Blob([Buffer.from(b64('a3_fr_m'), 'base64')]), 'a3.wav');
    const enrolled = await fetch(`${server.url}/v1/speakers`, { method: 'POST', body: form });
    assert.equal(enrolled.status, 201, await enrolled.clone().text());
    assert.equal(((await enrolled.json()) as { name: string }).name, '007');
    const query = new FormData();
    query.append('top_k', '1');
    query.append('threshold', '0.5');
    query.append('file', new Blob([Buffer.from(b64('a3_fr_m'), 'base64')]), 'a3.wav');
    const found = (await (await fetch(`${server.url}/v1/speakers/identify`, { method: 'POST', body: query })).json()) as Identification;
    assert.deepEqual(found.matches.map((m) => m.name), ['007']);
    assert.equal(found.threshold, 0.5);
    assert.equal(found.speaker, '007');
  });

  test('a collection in a text model\'s space refuses audio', async () => {
    assert.equal((await call('POST', '/v1/collections', { name: 'notes', model: 'tiny-onnx' })).status, 201);
    const refused = await call('POST', '/v1/speakers', { name: 'erin', collection: 'notes', input: b64('a1_enus_m') });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error!.code, 'model_unsupported');
  });
});
