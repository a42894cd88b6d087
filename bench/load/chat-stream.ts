import { keepAliveAgent, postSse } from './http-client.js';

/** Streamed chats through /v1/chat/completions, timed at the client. */
export interface ChatStreamSpec {
  url: string;
  model: string;
  prompt: string;
  maxTokens: number;
  /** Streams started together in each run (G1: 1, G2: 4). */
  streams: number;
  runs: number;
  warmupRuns: number;
  /** OpenAI's response_format, sent as it is (G3: a JSON schema). */
  responseFormat?: unknown;
}

export interface StreamTiming {
  /** From sending the request to the first content chunk. */
  ttftMs: number;
  completionTokens: number;
  /** Decode rate: tokens after the first, over the time from first to last content chunk. */
  tokPerSec: number;
  startAt: number;
  endAt: number;
}

export interface ChatRun {
  streams: StreamTiming[];
  /** All streams' completion tokens over the run's wall time (first request to last chunk). */
  aggregateTokPerSec: number;
}

export async function chatStreams(spec: ChatStreamSpec): Promise<ChatRun[]> {
  const agent = keepAliveAgent(spec.streams);
  const runs: ChatRun[] = [];
  for (let r = 0; r < spec.warmupRuns + spec.runs; r++) {
    const streams = await Promise.all(Array.from({ length: spec.streams }, (_, i) => oneStream(agent, spec, i)));
    if (r < spec.warmupRuns) continue;
    const start = Math.min(...streams.map((s) => s.startAt));
    const end = Math.max(...streams.map((s) => s.endAt));
    const tokens = streams.reduce((a, s) => a + s.completionTokens, 0);
    runs.push({ streams, aggregateTokPerSec: tokens / ((end - start) / 1000) });
  }
  agent.destroy();
  return runs;
}

async function oneStream(agent: ReturnType<typeof keepAliveAgent>, spec: ChatStreamSpec, index: number): Promise<StreamTiming> {
  let first: number | undefined;
  let last = 0;
  let chunks = 0;
  let usageTokens: number | undefined;
  let error: string | undefined;
  const startAt = performance.now();
  const status = await postSse(
    agent,
    `${spec.url}/v1/chat/completions`,
    {
      model: spec.model,
      messages: [{ role: 'user', content: index === 0 ? spec.prompt : `${spec.prompt} (${index})` }],
      max_tokens: spec.maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      ...(spec.responseFormat === undefined ? {} : { response_format: spec.responseFormat }),
    },
    (data, at) => {
      if (data === '[DONE]') return;
      const event = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }>; usage?: { completion_tokens?: number }; error?: { message?: string } };
      if (event.error) error = event.error.message ?? 'error event';
      if (event.usage?.completion_tokens !== undefined) usageTokens = event.usage.completion_tokens;
      if (event.choices?.[0]?.delta?.content) {
        first ??= at;
        last = at;
        chunks++;
      }
    },
  );
  if (status !== 200 || error || first === undefined) throw new Error(`chat stream failed: status ${status}${error ? `, ${error}` : ''}${first === undefined ? ', no content' : ''}`);
  const completionTokens = usageTokens ?? chunks;
  const decodeMs = last - first;
  return {
    ttftMs: first - startAt,
    completionTokens,
    tokPerSec: decodeMs > 0 ? (completionTokens - 1) / (decodeMs / 1000) : Number.NaN,
    startAt,
    endAt: last,
  };
}
