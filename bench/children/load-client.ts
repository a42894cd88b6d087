import { chatLoop, type ChatLoopSpec } from '../load/chat-loop.js';
import { chatStreams, type ChatStreamSpec } from '../load/chat-stream.js';
import { batchCall, embedLoad, sampleHealth, type EmbedLoadSpec } from '../load/http-load.js';
import { childMain } from './child-io.js';

/**
 * The load generator, in its own process so it never shares an event loop
 * with the server it measures. One job per process.
 */
export type LoadJob =
  | { kind: 'embed'; spec: EmbedLoadSpec }
  | { kind: 'batch'; spec: { url: string; model: string; texts: string[]; calls: number } }
  | { kind: 'health'; url: string; intervalMs: number }
  | { kind: 'chat'; spec: ChatStreamSpec }
  | { kind: 'chatLoop'; spec: ChatLoopSpec };

childMain<LoadJob, unknown>(async (job, tools) => {
  switch (job.kind) {
    case 'embed':
      return embedLoad(job.spec);
    case 'batch':
      return batchCall(job.spec);
    case 'health': {
      tools.emit('sampling');
      return sampleHealth(job.url, job.intervalMs, tools.stopped);
    }
    case 'chat':
      return chatStreams(job.spec);
    case 'chatLoop':
      return chatLoop(job.spec, tools.stopped, () => tools.emit('looping'));
  }
});
