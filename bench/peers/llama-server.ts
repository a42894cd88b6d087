import { spawn } from 'node:child_process';
import { stopProcess } from '../hearth/hearth-server.js';
import { get, keepAliveAgent } from '../load/http-client.js';
import { freePort } from '../proc/free-port.js';
import { track } from '../proc/live.js';

/**
 * llama.cpp's own server in embedding mode (baseline (c)): `-t` threads,
 * `-np` slots, each slot with `ctxPerSlot` tokens, so llama-server batches up
 * to `-np` sequences into one decode. Ready when /health answers 200.
 */
export interface LlamaServerOptions {
  binary: string;
  model: string;
  threads: number;
  parallel: number;
  ctxPerSlot: number;
  timeoutMs: number;
}

export interface LlamaServer {
  url: string;
  stop(): Promise<void>;
}

export async function startLlamaServer(options: LlamaServerOptions): Promise<LlamaServer> {
  const port = await freePort();
  const args = [
    '-m', options.model,
    '--embeddings', '--pooling', 'mean',
    '-t', String(options.threads), '-tb', String(options.threads),
    '-np', String(options.parallel),
    '-c', String(options.ctxPerSlot * options.parallel),
    '--host', '127.0.0.1', '--port', String(port),
    '--no-webui',
  ];
  const child = track(spawn(options.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `llama-server exited (${signal ?? code})`));
  const url = `http://127.0.0.1:${port}`;
  const agent = keepAliveAgent(1);
  const deadline = performance.now() + options.timeoutMs;
  try {
    for (;;) {
      const reply = await get(agent, `${url}/health`).catch(() => ({ status: 0, body: '' }));
      if (reply.status === 200) break;
      const why = exited ?? (performance.now() > deadline ? 'llama-server did not become ready in time' : undefined);
      if (why) throw new Error(`${why}: ${stderr.trim().split('\n').slice(-4).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } catch (error) {
    await stopProcess(child, 5000);
    throw error;
  } finally {
    agent.destroy();
  }
  return { url, stop: () => stopProcess(child, 5000) };
}
