import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { captureLogger } from '../support/capture-logger.js';
import { startTestServer } from '../support/test-server.js';
import { waitFor } from '../support/wait.js';

/**
 * A server logs its life at info, and every request at debug; with
 * HEARTH_LOG_REQUESTS=1 the request lines are at info, so a server at the
 * default level shows them.
 */
describe('request logs', () => {
  for (const [env, level] of [
    [{}, 20],
    [{ HEARTH_LOG_REQUESTS: '1' }, 30],
  ] as const) {
    test(`${JSON.stringify(env)}: one line per request, at level ${level}`, async () => {
      const capture = captureLogger('debug');
      const s = await startTestServer({ env, logger: capture.logger });
      try {
        for (let i = 0; i < 3; i++) assert.equal((await fetch(`${s.url}/health`)).status, 200);
        const requestLines = () => capture.records.filter((r) => r.msg === 'request');
        // A request's line is written once its response is sent, which can be just after the client has it.
        await waitFor(() => requestLines().length >= 3, { what: 'the request lines' });
        const lines = requestLines();
        assert.equal(lines.length, 3, JSON.stringify(lines));
        assert.deepEqual([...new Set(lines.map((r) => r.level))], [level]);
        assert.deepEqual(Object.keys(lines[0]!).filter((k) => ['method', 'url', 'status', 'ms'].includes(k)).sort(), ['method', 'ms', 'status', 'url']);
        // Fastify's own two lines per request stay off.
        assert.deepEqual(capture.records.filter((r) => r.msg === 'incoming request' || r.msg === 'request completed'), []);
      } finally {
        await s.close();
      }
    });
  }
});
