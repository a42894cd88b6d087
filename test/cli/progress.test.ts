import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { createProgressView, transferText } from '../../src/cli/progress.js';

/** A stream that claims to be a terminal, with the cursor calls cli-progress makes, and keeps what is written. */
function fakeTerminal(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return Object.assign(stream, {
    isTTY: true,
    columns: 120,
    rows: 40,
    cursorTo: () => true,
    moveCursor: () => true,
    clearLine: () => true,
    clearScreenDown: () => true,
    text: () => chunks.join(''),
  });
}

describe('pull progress bar', () => {
  test('the first frame shows no placeholder speed or ETA', () => {
    const terminal = fakeTerminal();
    const view = createProgressView(terminal as unknown as NodeJS.WriteStream);
    view.onEvent({ status: 'downloading', file: 'model.gguf', digest: 'sha256:x', total: 10_000_000, completed: 0 } as never);
    view.stop();
    const out = terminal.text();
    assert.match(out, /model\.gguf/);
    assert.doesNotMatch(out, /LLs|NULL|INF|NaN|undefined/, out);
    assert.doesNotMatch(out, /\b0 B\/s/, out);
    assert.match(out, /…/, 'an unmeasured speed shows as …');
  });

  test('speed and ETA wait for a measurement, then show it', () => {
    assert.deepEqual(transferText({ elapsedMs: 0, moved: 0, completed: 0, total: 1000 }), { speed: '…', remaining: 'ETA …' });
    assert.deepEqual(transferText({ elapsedMs: 200, moved: 500, completed: 500, total: 1000 }), { speed: '…', remaining: 'ETA …' });
    assert.deepEqual(transferText({ elapsedMs: 2000, moved: 2_000_000, completed: 2_000_000, total: 10_000_000 }), { speed: '1.0 MB/s', remaining: 'ETA 8s' });
    // Resumed at 4 MB: the speed counts only the bytes moved in this run.
    assert.deepEqual(transferText({ elapsedMs: 4000, moved: 2_000_000, completed: 6_000_000, total: 606_000_000 }), { speed: '500.0 KB/s', remaining: 'ETA 20m00s' });
    assert.deepEqual(transferText({ elapsedMs: 3_000, moved: 0, completed: 0, total: 1000 }), { speed: '0 B/s', remaining: 'ETA …' }, 'a stalled transfer has a speed but no ETA');
    assert.deepEqual(transferText({ elapsedMs: 10_000, moved: 1000, completed: 1000, total: undefined }), { speed: '100 B/s', remaining: 'ETA …' }, 'no total, no ETA');
    assert.deepEqual(transferText({ elapsedMs: 100, moved: 1000, completed: 1000, total: 1000 }), { speed: '10.0 KB/s', remaining: 'done' });
    assert.deepEqual(transferText({ elapsedMs: 5, moved: 0, completed: 1000, total: 1000 }), { speed: '…', remaining: 'done' }, 'already there: nothing measured');
    assert.equal(transferText({ elapsedMs: 1000, moved: 1000, completed: 1000, total: 3_601_000 }).remaining, 'ETA 1h00m');
    assert.equal(transferText({ elapsedMs: 1000, moved: 1000, completed: 1000, total: 7_199_000 }).remaining, 'ETA 1h59m', 'never 1h60m');
  });
});
