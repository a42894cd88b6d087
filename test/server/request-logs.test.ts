import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { captureLogger } from '../support/capture-logger.js';
import { startTestServer } from '../support/test-server.js';
import { waitFor } from '../support/wait.js';

/** A server at the default info level logs its life, not every request; HEARTH_LOG_REQUESTS=1 asks for one line per request. */
describe('request logs', () => {
  for (const [env, expected] of [
    [{}, 0],
    [{ HEARTH_LOG_REQUESTS: '1' }, 3],
  ] as const) {
    test(`${JSON.stringify(env)}: ${expected} request lines at info for 3 requests`, async () => {
      const capture = captureLogger('info');
      const s = await startTestServer({ env, logger: capture.logger });
      try {
        for (let i = 0; i < 3; i++) assert.equal((await fetch(`${s.url}/health`)).status, 200);
        const requestLines = () => capture.records.filter((r) => r.msg === 'request' || r.msg === 'incoming request' || r.msg === 'request completed');
        // A request's line is written once its response is sent, which can be just after the client has it.
        if (expected > 0) await waitFor(() => requestLines().length >= expected, { what: 'the request lines' });
        else await fetch(`${s.url}/health`).then(() => new Promise((resolve) => setImmediate(resolve)));
        const lines = requestLines();
        assert.equal(lines.length, expected, JSON.stringify(lines));
        if (expected > 0) assert.deepEqual(Object.keys(lines[0]!).filter((k) => ['method', 'url', 'status', 'ms'].includes(k)).sort(), ['method', 'ms', 'status', 'url']);
      } finally {
        await s.close();
      }
    });
  }
});
