import type { Agent } from 'node:http';
import { median, percentile } from '../stats.js';
import { closedLoop, type ClosedLoopResult } from './closed-loop.js';
import { get, keepAliveAgent, postJson } from './http-client.js';

/** Closed-loop embedding load: `concurrency` clients, one text per request, bounded by count and time. */
export interface EmbedLoadSpec {
  url: string;
  model: string;
  texts: string[];
  concurrency: number;
  warmupRequests: number;
  maxRequests: number;
  timeLimitMs: number;
}

export interface EmbedLoadResult extends ClosedLoopResult {
  /** Mean prompt tokens per text, from the server's usage (when reported). */
  tokensPerText: number | undefined;
}

export async function embedLoad(spec: EmbedLoadSpec): Promise<EmbedLoadResult> {
  const agent = keepAliveAgent(spec.concurrency);
  const endpoint = `${spec.url}/v1/embeddings`;
  let next = 0;
  let tokens = 0;
  let tokenReplies = 0;
  const one = async () => postJson(agent, endpoint, { model: spec.model, input: spec.texts[next++ % spec.texts.length], encoding_format: 'float' });
  const result = await closedLoop(spec, one, (body) => {
    const usage = (JSON.parse(body) as { usage?: { prompt_tokens?: number } }).usage;
    if (usage?.prompt_tokens) {
      tokens += usage.prompt_tokens;
      tokenReplies++;
    }
    return undefined;
  });
  agent.destroy();
  return { ...result, tokensPerText: tokenReplies > 0 ? tokens / tokenReplies : undefined };
}

/** One request carrying many texts (E2), timed `calls` times after one warm-up call; the median time wins. */
export async function batchCall(spec: { url: string; model: string; texts: string[]; calls: number }): Promise<{ rate: number; timesMs: number[] }> {
  const agent = keepAliveAgent(1);
  const call = async () => {
    const t0 = performance.now();
    const reply = await postJson(agent, `${spec.url}/v1/embeddings`, { model: spec.model, input: spec.texts, encoding_format: 'float' });
    if (reply.status !== 200) throw new Error(`batch call answered ${reply.status}: ${reply.body.slice(0, 200)}`);
    return performance.now() - t0;
  };
  await call();
  const timesMs: number[] = [];
  for (let i = 0; i < spec.calls; i++) timesMs.push(await call());
  agent.destroy();
  return { rate: spec.texts.length / (median(timesMs) / 1000), timesMs };
}

/** Samples GET /health every `intervalMs` until `stopped` resolves; latencies in ms. */
export async function sampleHealth(url: string, intervalMs: number, stopped: Promise<void>): Promise<{ samples: number; errors: number; p50Ms: number; p99Ms: number; maxMs: number }> {
  const agent: Agent = keepAliveAgent(1);
  let stop = false;
  void stopped.then(() => (stop = true));
  const latencies: number[] = [];
  let errors = 0;
  while (!stop) {
    const t0 = performance.now();
    const reply = await get(agent, `${url}/health`).catch(() => ({ status: 0, body: '' }));
    latencies.push(performance.now() - t0);
    if (reply.status !== 200) errors++;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  agent.destroy();
  return { samples: latencies.length, errors, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: Math.max(0, ...latencies) };
}
