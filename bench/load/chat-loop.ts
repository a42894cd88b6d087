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

/** Runs until `stopped` resolves; `onLooping` fires once every client has had a reply, so the load is known to be on. */
export async function chatLoop(spec: ChatLoopSpec, stopped: Promise<void>, onLooping: () => void): Promise<ChatLoopResult> {
  const agent = keepAliveAgent(spec.clients);
  let stop = false;
  void stopped.then(() => (stop = true));
  const result: ChatLoopResult = { chats: 0, errors: 0, firstError: undefined, completionTokens: 0 };
  let answered = 0;
  const client = async (index: number) => {
    for (let i = 0; !stop; i++) {
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
        continue;
      }
      result.chats++;
      result.completionTokens += (JSON.parse(reply.body) as { usage?: { completion_tokens?: number } }).usage?.completion_tokens ?? 0;
      if (i === 0 && ++answered === spec.clients) onLooping();
    }
  };
  await Promise.all(Array.from({ length: spec.clients }, (_, i) => client(i)));
  agent.destroy();
  return result;
}
