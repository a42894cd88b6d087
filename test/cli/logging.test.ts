import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger, resolveLogFormat } from '../../src/log/logger.js';
import { killStrays, spawnHearth } from '../support/hearth-cli.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { waitForOutput } from '../support/wait.js';

/** Logs one line through a logger on an in-memory stream and returns what reached the stream. */
async function logOnce(format: 'auto' | 'pretty' | 'json', tty = false): Promise<string> {
  const sink = Object.assign(new PassThrough(), tty ? { isTTY: true } : {});
  const logger = createLogger('info', sink, { format });
  const written = once(sink, 'data');
  logger.info({ model: 'tiny' }, 'model ready');
  return String((await written)[0]);
}

const isJsonLine = (line: string) => {
  try {
    const value = JSON.parse(line) as { level?: unknown; msg?: unknown };
    return typeof value.level === 'number' && typeof value.msg === 'string';
  } catch {
    return false;
  }
};

describe('log format', () => {
  test('json writes one JSON object per line to the given stream', async () => {
    const line = await logOnce('json');
    const value = JSON.parse(line) as Record<string, unknown>;
    assert.equal(value.msg, 'model ready');
    assert.equal(value.model, 'tiny');
    assert.equal(value.level, 30);
  });

  test('pretty writes a human line, not JSON', async () => {
    const line = await logOnce('pretty');
    assert.equal(isJsonLine(line.trim()), false, line);
    assert.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: model ready/);
    assert.match(line, /tiny/);
    assert.doesNotMatch(line, /\x1b\[/, 'no color escapes into a stream that is not a terminal');
  });

  test('auto is pretty on a terminal and JSON otherwise', async () => {
    assert.equal(resolveLogFormat('auto', Object.assign(new PassThrough(), { isTTY: true })), 'pretty');
    assert.equal(resolveLogFormat('auto', new PassThrough()), 'json');
    assert.equal(resolveLogFormat('json', Object.assign(new PassThrough(), { isTTY: true })), 'json');
    assert.ok(isJsonLine((await logOnce('auto')).trim()));
    assert.match(await logOnce('auto', true), /INFO: model ready/);
  });
});

describe('hearth serve logs', () => {
  let box: Sandbox;
  before(async () => {
    box = await createSandbox();
  });
  after(async () => {
    killStrays();
    await box.cleanup();
  });

  /** Node's own process warnings ("(node:123) ..."): not the logger's lines, so the log format does not govern them. */
  const nodeWarning = (line: string) => /^\(node:\d+\) |^\(Use `node --trace-/.test(line);

  /** Starts `hearth serve`, stops it with SIGTERM once it listens, and returns its stderr log lines (the banner and Node's warnings left out). */
  async function serveLogLines(env: Record<string, string>): Promise<string[]> {
    const server = spawnHearth(['serve', '--port', '0'], box.env(env));
    await waitForOutput(server, /listening on http/);
    server.kill('SIGTERM');
    const result = await server.result;
    assert.equal(result.code, 0, result.stderr);
    return result.stderr.split('\n').filter((line) => line.trim() && !line.startsWith('hearth listening on') && !nodeWarning(line));
  }

  test('HEARTH_LOG_FORMAT=json writes JSON lines to stderr', async () => {
    const lines = await serveLogLines({ HEARTH_LOG_FORMAT: 'json' });
    assert.ok(lines.length > 0, 'serve logs its lifecycle at info');
    for (const line of lines) assert.ok(isJsonLine(line), `not a JSON log line: ${line}`);
  });

  test('HEARTH_LOG_FORMAT=pretty writes human lines to stderr', async () => {
    const lines = await serveLogLines({ HEARTH_LOG_FORMAT: 'pretty' });
    assert.ok(lines.some((line) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: /.test(line)), lines.join('\n'));
    for (const line of lines) assert.equal(isJsonLine(line), false, `a JSON line in pretty mode: ${line}`);
  });

  test('auto (the default) with stderr in a pipe writes JSON', async () => {
    const lines = await serveLogLines({});
    assert.ok(lines.length > 0);
    for (const line of lines) assert.ok(isJsonLine(line), `not a JSON log line: ${line}`);
  });
});
