import { execFile } from 'node:child_process';

/**
 * llama.cpp's llama-bench text generation (`tg`, no prompt) at each thread
 * count; its own repeats, JSON output. Returns tokens/s per thread count.
 */
export interface LlamaBenchOptions {
  binary: string;
  model: string;
  threads: number[];
  tokens: number;
  repetitions: number;
  timeoutMs: number;
}

export async function llamaBenchTg(options: LlamaBenchOptions): Promise<Array<{ threads: number; tokPerSec: number }>> {
  const args = ['-m', options.model, '-t', options.threads.join(','), '-p', '0', '-n', String(options.tokens), '-r', String(options.repetitions), '-o', 'json'];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(options.binary, args, { timeout: options.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, out, err) => {
      if (error) reject(new Error(`llama-bench failed: ${error.message} ${err.slice(-500)}`));
      else resolve(out);
    });
  });
  const rows = JSON.parse(stdout) as Array<{ n_threads: number; n_gen: number; avg_ts: number }>;
  return rows.filter((r) => r.n_gen > 0).map((r) => ({ threads: r.n_threads, tokPerSec: r.avg_ts }));
}
