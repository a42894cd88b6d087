import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { createIngestView, createProgressView, transferText } from '../../src/cli/progress.js';

/** A stream that keeps what is written to it. */
function capture(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

/** A stream that claims to be a terminal, with the cursor calls cli-progress makes, and keeps what is written. */
function fakeTerminal(): Writable & { text: () => string } {
  return Object.assign(capture(), {
    isTTY: true,
    columns: 120,
    rows: 40,
    cursorTo: () => true,
    moveCursor: () => true,
    clearLine: () => true,
    clearScreenDown: () => true,
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

describe('ingest progress lines', () => {
  test('a run shorter than one sample still ends on measured rates', async () => {
    const stream = Object.assign(capture(), { isTTY: false });
    const view = createIngestView(stream as unknown as NodeJS.WriteStream);
    view.update({ files: 0, totalFiles: 2, chunks: 0 });
    // Elapsed time must be above zero for a rate; the wait is a floor, not a timing assumption.
    await new Promise((resolve) => setTimeout(resolve, 5));
    view.update({ files: 2, totalFiles: 2, chunks: 3 });
    view.stop();
    const lines = stream.text().trim().split('\n');
    assert.match(lines[0]!, /ingesting: 0\/2 files, 0 chunks, … files\/s … chunks\/s, ETA …/);
    assert.match(lines.at(-1)!, /ingesting: 2\/2 files, 3 chunks, [\d.]+ files\/s [\d.]+ chunks\/s, done/);
  });
});
