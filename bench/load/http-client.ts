import { Agent, request } from 'node:http';

/**
 * A minimal keep-alive HTTP/1.1 client on node:http, for loopback load: far
 * less per-request overhead than fetch, so the client is not what is measured.
 */
export interface HttpReply {
  status: number;
  body: string;
}

export function keepAliveAgent(sockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
}

export function postJson(agent: Agent, url: string, payload: unknown): Promise<HttpReply> {
  return send(agent, url, 'POST', JSON.stringify(payload));
}

export function get(agent: Agent, url: string): Promise<HttpReply> {
  return send(agent, url, 'GET', undefined);
}

/** Longest a bench request may take before it fails instead of stalling the run. */
const REQUEST_TIMEOUT_MS = 120_000;

function send(agent: Agent, url: string, method: string, body: string | undefined): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = request(url, { agent, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${url}: no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Posts JSON and calls `onEvent` with each SSE `data:` payload as it arrives (performance.now() timestamps). */
export function postSse(agent: Agent, url: string, payload: unknown, onEvent: (data: string, at: number) => void): Promise<number> {
  const body = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), accept: 'text/event-stream' } }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const at = performance.now();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const line of event.split('\n')) if (line.startsWith('data:')) onEvent(line.slice(5).trim(), at);
        }
      });
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`POST ${url}: stream idle for ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
