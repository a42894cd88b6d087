import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '../../src/log/logger.js';
import { SpeakerBackend } from '../../src/runtime/audio/speaker-backend.js';
import { groupEqual } from '../../src/runtime/audio/speaker-model.js';
import { backendConformance } from '../support/backend-conformance.js';
import { ECAPA_DIR, ECAPA_SKIP } from '../support/ecapa-reference.js';
import { createSandbox } from '../support/sandbox.js';

backendConformance(
  'speechbrain (ECAPA-TDNN on ONNX Runtime)',
  async () => {
    const box = await createSandbox();
    const embedding = await box.store().resolve(ECAPA_DIR!);
    return {
      backend: new SpeakerBackend({ logger: silentLogger, maxRows: 16 }),
      embedding,
      input: 'audio',
      weightsDigest: embedding.files.find((f) => f.path === 'embedding_model.ckpt')!.digest,
      cleanup: () => box.cleanup(),
    };
  },
  { skip: ECAPA_SKIP },
);

describe('speaker batches', () => {
  test('only clips of equal length share a batch, oldest first, at most maxRows each', () => {
    assert.deepEqual(groupEqual([300, 200, 300, 300, 200, 100], 2), [[0, 2], [1, 4], [3], [5]]);
    assert.deepEqual(groupEqual([], 4), []);
  });
});
