import { keepAliveAgent, postJson } from './http-client.js';

/** Chat clients that each send one chat after another until told to stop (H2's background load). */
export interface ChatLoopSpec {
  url: string;
  model: string;
  clients: number;
  maxTokens: number;
}

export interface ChatLoopResult {
  chats: number;
  errors: number;
  firstError: string | undefined;
  completionTokens: number;
}

/** Chats that fail in a row before a client gives up: a server that keeps refusing is reported, not hammered. */
const MAX_ERRORS_IN_A_ROW = 5;

/**
 * Runs until `stopped` resolves; `onLooping` fires once every client has had a
 * reply, so the load is known to be on. A client that fails MAX_ERRORS_IN_A_ROW
 * times in a row stops, and so does the whole run once none is left.
 */
export async function chatLoop(spec: ChatLoopSpec, stopped: Promise<void>, onLooping: () => void): Promise<ChatLoopResult> {
  const agent = keepAliveAgent(spec.clients);
  let stop = false;
  void stopped.then(() => (stop = true));
  const result: ChatLoopResult = { chats: 0, errors: 0, firstError: undefined, completionTokens: 0 };
  let answered = 0;
  let alive = spec.clients;
  const client = async (index: number) => {
    let replied = false;
    let failures = 0;
    for (let i = 0; !stop && failures < MAX_ERRORS_IN_A_ROW; i++) {
      const reply = await postJson(agent, `${spec.url}/v1/chat/completions`, {
        model: spec.model,
        messages: [{ role: 'user', content: `Tell me story number ${i} of client ${index}.` }],
        max_tokens: spec.maxTokens,
        temperature: 0.8,
        seed: i,
      }).catch((error: Error) => ({ status: 0, body: error.message }));
      if (reply.status !== 200) {
        result.errors++;
        result.firstError ??= `${reply.status} ${reply.body.slice(0, 200)}`;
        failures++;
        continue;
      }
      failures = 0;
      result.chats++;
      result.completionTokens += (JSON.parse(reply.body) as { usage?: { completion_tokens?: number } }).usage?.completion_tokens ?? 0;
      if (!replied) {
        replied = true;
        if (++answered === spec.clients) onLooping();
      }
    }
    // A client that gave up: when all have, the parent hears it as the result, with firstError.
    if (--alive === 0) stop = true;
  };
  await Promise.all(Array.from({ length: spec.clients }, (_, i) => client(i)));
  agent.destroy();
  return result;
}
