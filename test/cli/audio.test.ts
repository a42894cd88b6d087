import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ECAPA_DIR, ECAPA_SKIP, ECAPA_TOLERANCE, ecapaClips, maxAbsDiff, referenceF32 } from '../support/ecapa-reference.js';
import { killStrays, runHearth, type CliResult } from '../support/hearth-cli.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { pcm16Wav } from '../support/wav-writer.js';

interface AudioEmbedOutput {
  dims: number;
  normalized: boolean;
  embeddings: Array<{ file: string; seconds: number; norm: number; vector?: number[] }>;
}

/** `hearth audio embed` as a user runs it on a SpeechBrain repo folder, from a fresh home, offline. */
describe('hearth audio embed', { skip: ECAPA_SKIP }, () => {
  let box: Sandbox;
  let env: Record<string, string>;
  const ok = (r: CliResult) => assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);

  before(async () => {
    box = await createSandbox();
    env = box.env({ HEARTH_OFFLINE: '1', HEARTH_THREADS: '1' });
  });
  after(async () => {
    killStrays();
    await box?.cleanup();
  });

  test('prints each file\'s embedding as SpeechBrain computes it, plain and normalized', async () => {
    const clips = ecapaClips().slice(0, 2);
    const plain = await runHearth(['audio', 'embed', '-m', ECAPA_DIR!, '--full', ...clips.map((c) => c.wavPath)], env);
    ok(plain);
    const out = JSON.parse(plain.stdout) as AudioEmbedOutput;
    assert.equal(out.dims, 192);
    assert.equal(out.normalized, false);
    for (const [i, clip] of clips.entries()) {
      assert.equal(out.embeddings[i]!.file, clip.wavPath);
      assert.ok(maxAbsDiff(out.embeddings[i]!.vector!, referenceF32(`${clip.name}.emb.f32`)) <= ECAPA_TOLERANCE.embedding);
    }
    const normalized = JSON.parse((await runHearth(['audio', 'embed', '-m', ECAPA_DIR!, '--normalize', '--full', clips[0]!.wavPath], env)).stdout) as AudioEmbedOutput;
    assert.ok(maxAbsDiff(normalized.embeddings[0]!.vector!, referenceF32(`${clips[0]!.name}.emb_norm.f32`)) <= ECAPA_TOLERANCE.embedding);
  });

  test('a file that is not audio, or silent, exits 65 naming it; a missing file is a usage error', async () => {
    const silent = join(box.root, 'silent.wav');
    await writeFile(silent, pcm16Wav([new Float32Array(8000)], 16000));
    const notAudio = join(box.root, 'notes.wav');
    await writeFile(notAudio, 'just some text');
    for (const [file, code] of [[silent, 'AUDIO_SILENT'], [notAudio, 'AUDIO_INVALID']] as const) {
      const result = await runHearth(['audio', 'embed', '-m', ECAPA_DIR!, file], env);
      assert.equal(result.code, 65, result.stderr);
      assert.match(result.stderr, new RegExp(`${code}.*${file.replace(/[/.]/g, '\\$&')}`));
    }
    const missing = await runHearth(['audio', 'embed', '-m', ECAPA_DIR!, join(box.root, 'nope.wav')], env);
    assert.equal(missing.code, 64, missing.stderr);
  });

  test('speaker enroll, identify, ls and rm keep voiceprints in the embedded memory', async () => {
    const [a1, a2, a3] = ecapaClips();
    const first = await runHearth(['speaker', 'enroll', 'alice', a1!.wavPath], env);
    assert.equal(first.code, 66, `the first enrollment names the model\n${first.stderr}`);
    ok(await runHearth(['speaker', 'enroll', 'alice', a1!.wavPath, '-m', ECAPA_DIR!], env));
    ok(await runHearth(['speaker', 'enroll', 'bob', a2!.wavPath, a3!.wavPath], env));
    const listed = JSON.parse((await runHearth(['speaker', 'ls', '--json'], env)).stdout) as Array<{ name: string; clips: number }>;
    assert.deepEqual(listed.map((s) => [s.name, s.clips]), [['alice', 1], ['bob', 2]]);
    const found = await runHearth(['speaker', 'identify', a1!.wavPath, '--json'], env);
    ok(found);
    const result = JSON.parse(found.stdout) as { speaker: string | null; matches: Array<{ name: string; score: number }> };
    assert.equal(result.speaker, 'alice');
    assert.ok(Math.abs(result.matches[0]!.score - 1) < 1e-5);
    ok(await runHearth(['speaker', 'rm', 'bob'], env));
    const gone = await runHearth(['speaker', 'rm', 'bob'], env);
    assert.equal(gone.code, 66, gone.stderr);
    assert.match(gone.stderr, /SPEAKER_NOT_FOUND/);
  });
});
