import { request, type Agent } from 'node:http';
import { availableParallelism } from 'node:os';
import { pcm16Wav } from '../../test/support/wav-writer.js';
import { speechClips, type SpeechClipOptions } from '../speech-clips.js';
import { busyCores, hostCpu } from '../proc/host-cpu.js';
import { closedLoop, type ClosedLoopResult } from './closed-loop.js';
import { get, keepAliveAgent, type HttpReply } from './http-client.js';

/**
 * Closed-loop speaker-embedding load: `concurrency` clients, one clip per multipart request to
 * POST /v1/audio/embeddings, for exactly `requests` requests after a warm-up. The server's own CPU time
 * (user + system, from its /metrics) and its batch sizes are read just before and after the measured
 * window, so warm-up and start-up are outside both.
 */
export interface AudioLoadSpec {
  url: string;
  model: string;
  clips: SpeechClipOptions;
  concurrency: number;
  warmupRequests: number;
  requests: number;
  /** A bound on the window, so a stalled server fails the run instead of hanging it. */
  timeLimitMs: number;
}

export interface AudioLoadResult extends ClosedLoopResult {
  dims: number | undefined;
  /** Server process CPU (user + system) over the window, per embedded clip. */
  cpuMsPerClip: number;
  /** Mean clips per inference batch the server ran in the window. */
  meanBatchRows: number;
  /** Cores the server kept busy over the window, and the whole host (server, this client, anything else). */
  serverCores: number;
  hostCores: number;
}

const BOUNDARY = 'hearth-bench-a1-boundary';

export async function audioLoad(spec: AudioLoadSpec): Promise<AudioLoadResult> {
  const bodies = speechClips(spec.clips).map((wave) => multipartBody(spec.model, pcm16Wav([wave], spec.clips.sampleRate)));
  const agent = keepAliveAgent(spec.concurrency);
  const endpoint = `${spec.url}/v1/audio/embeddings`;
  let next = 0;
  let dims: number | undefined;
  let before: ServerCounters | undefined;
  let after: ServerCounters | undefined;
  let hostBefore: ReturnType<typeof hostCpu> | undefined;
  let hostAfter: ReturnType<typeof hostCpu> | undefined;
  const one = () => postMultipart(agent, endpoint, bodies[next++ % bodies.length]!);
  const result = await closedLoop(
    { ...spec, maxRequests: spec.requests },
    one,
    (body) => {
      const problem = checkReply(body);
      if (typeof problem === 'string') return problem;
      dims = problem;
      return undefined;
    },
    {
      before: async () => {
        before = await serverCounters(agent, spec.url);
        hostBefore = hostCpu();
      },
      after: async () => {
        hostAfter = hostCpu();
        after = await serverCounters(agent, spec.url);
      },
    },
  );
  agent.destroy();
  const ok = result.requests - result.errors;
  const cpuSeconds = after!.cpuSeconds - before!.cpuSeconds;
  return {
    ...result,
    dims,
    cpuMsPerClip: (cpuSeconds * 1000) / ok,
    meanBatchRows: (after!.batchRows - before!.batchRows) / Math.max(1, after!.batches - before!.batches),
    serverCores: cpuSeconds / (result.elapsedMs / 1000),
    hostCores: busyCores(hostBefore!, hostAfter!, availableParallelism()),
  };
}

/** The embedding's length when the reply holds one finite vector, else what is wrong with it. */
function checkReply(body: string): number | string {
  const reply = JSON.parse(body) as { dims?: number; data?: Array<{ embedding?: number[] }> };
  const vector = reply.data?.[0]?.embedding;
  if (!Array.isArray(vector) || vector.length !== reply.dims || !vector.every(Number.isFinite)) return `malformed reply: ${body.slice(0, 200)}`;
  return vector.length;
}

function multipartBody(model: string, wav: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="model"\r\n\r\n${model}\r\n`),
    Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="file"; filename="clip.wav"\r\ncontent-type: audio/wav\r\n\r\n`),
    wav,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

function postMultipart(agent: Agent, url: string, body: Buffer): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': body.length };
    const req = request(url, { agent, method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`POST ${url}: no answer in 120 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The server process's CPU seconds (prom-client's default process metrics) and its batch histogram's totals. */
interface ServerCounters {
  cpuSeconds: number;
  batches: number;
  batchRows: number;
}

async function serverCounters(agent: Agent, url: string): Promise<ServerCounters> {
  const reply = await get(agent, `${url}/metrics`);
  if (reply.status !== 200) throw new Error(`GET /metrics answered ${reply.status}`);
  const value = (name: string): number => {
    const line = reply.body.split('\n').find((l) => l.startsWith(`${name} `));
    if (line === undefined) throw new Error(`/metrics has no ${name}`);
    return Number(line.slice(name.length + 1));
  };
  return {
    // prom-client's process_cpu_seconds_total (user + system) under hearth's `hearth_process_` prefix.
    cpuSeconds: value('hearth_process_process_cpu_seconds_total'),
    batches: value('hearth_embedding_batch_size_count'),
    batchRows: value('hearth_embedding_batch_size_sum'),
  };
}
