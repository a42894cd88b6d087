import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Pieces, readPieceRecord, recordPath, writePieceRecord } from '../../src/store/pieces.js';

describe('Pieces', () => {
  test('the contiguous prefix ends at the first piece with a gap', () => {
    const pieces = new Pieces(10, 4);
    assert.deepEqual([pieces.count, pieces.length(2)], [3, 2]);
    pieces.wrote(1, 4);
    assert.equal(pieces.contiguous, 0, 'piece 1 alone leaves a gap at 0');
    pieces.wrote(0, 3);
    assert.equal(pieces.contiguous, 3);
    pieces.wrote(0, 1);
    assert.equal(pieces.contiguous, 8, 'pieces 0 and 1 whole');
    pieces.wrote(2, 2);
    assert.deepEqual([pieces.contiguous, pieces.written, pieces.open()], [10, 10, []]);
  });

  test('a plain prefix becomes whole pieces and one partly written', () => {
    const pieces = Pieces.fromPrefix(10, 4, 6);
    assert.deepEqual(pieces.done, [4, 2, 0]);
    assert.deepEqual(pieces.open(), [1, 2]);
    assert.equal(pieces.contiguous, 6);
  });

  test('a record round-trips, and one for another size or a damaged one is ignored', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-pieces-'));
    try {
      const partial = join(dir, `${'a'.repeat(64)}.1-x.incomplete`);
      const pieces = new Pieces(10, 4, [4, 1, 0], '"etag"');
      await writePieceRecord(partial, pieces);
      assert.equal(recordPath(partial), join(dir, `${'a'.repeat(64)}.1-x.ranges`));
      const back = await readPieceRecord(partial, 10);
      assert.deepEqual([back?.done, back?.validator, back?.contiguous], [[4, 1, 0], '"etag"', 5]);
      assert.equal(await readPieceRecord(partial, 11), undefined, 'another size');
      await writeFile(recordPath(partial), '{"version":1,"size":10,"pieceBytes":4,"done":[4,-1]}');
      assert.equal(await readPieceRecord(partial, 10), undefined, 'a negative count');
      await writeFile(recordPath(partial), '{not json');
      assert.equal(await readPieceRecord(partial, 10), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
