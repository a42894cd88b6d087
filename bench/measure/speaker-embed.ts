import { join } from 'node:path';
import type { RunContext } from '../context.js';
import { untamedEnv } from '../env.js';
import { startHearth } from '../hearth/hearth-server.js';
import type { EcapaOrtInput, EcapaOrtPoint } from '../children/ecapa-ort.js';
import type { AudioLoadResult, AudioLoadSpec } from '../load/audio-load.js';
import { REPO_ROOT } from '../paths.js';
import { runChild } from '../proc/child.js';
import { CHILD_OVERHEAD_MS } from './children.js';
import { runtimeOf } from './hearth-embed.js';

const AUDIO_LOAD_CLIENT = join(REPO_ROOT, 'bench', 'children', 'audio-load-client.ts');
const ECAPA_ORT = join(REPO_ROOT, 'bench', 'children', 'ecapa-ort.ts');
export const SPEAKER_ALIAS = 'bench-ecapa';

export interface HearthSpeakerResult {
  load: AudioLoadResult;
  /** threads × parallel as hearth chose them, from /api/ps. */
  runtime: unknown;
  startupMs: number;
}

/**
 * `hearth serve` with the speaker repo preloaded, at its defaults (no HEARTH_THREADS: a speaker model runs one
 * single-threaded session per core), loaded by 16 clients from a separate process.
 */
export async function hearthSpeakerEmbed(ctx: RunContext, repo: string, load: Omit<AudioLoadSpec, 'url' | 'model'>): Promise<HearthSpeakerResult> {
  ctx.log('  hearth serve, audio embeddings, default threads');
  const home = await ctx.tempDir('hearth-speaker');
  const server = await startHearth({ home, hubCache: join(home, 'hub'), aliases: { [SPEAKER_ALIAS]: repo }, preload: [SPEAKER_ALIAS], entry: ctx.options.entry, timeoutMs: 300_000 });
  try {
    const runtime = await runtimeOf(server.url);
    const spec: AudioLoadSpec = { ...load, url: server.url, model: SPEAKER_ALIAS };
    const result = await runChild<AudioLoadSpec, AudioLoadResult>(AUDIO_LOAD_CLIENT, spec, { env: untamedEnv(), timeoutMs: load.timeLimitMs * 2 + CHILD_OVERHEAD_MS });
    if (result.errors > 0) throw new Error(`${result.errors} of ${result.requests} audio embedding requests failed: ${result.firstError}`);
    return { load: result, runtime, startupMs: server.readyAt - server.spawnedAt };
  } finally {
    await server.stop();
  }
}

/** The raw onnxruntime-node baseline, its configurations one after another in one fresh process in a plain environment; the fastest is best. */
export async function ortSpeakerEmbed(ctx: RunContext, input: EcapaOrtInput, timeLimitMs: number): Promise<{ best: EcapaOrtPoint; points: EcapaOrtPoint[] }> {
  ctx.log(`  onnxruntime-node on precomputed features, ${input.configs.map((c) => `${c.sessions}×${c.threads}t b${c.batch}`).join(', ')}`);
  const points = await runChild<EcapaOrtInput, EcapaOrtPoint[]>(ECAPA_ORT, input, { env: untamedEnv(), timeoutMs: timeLimitMs * input.configs.length + CHILD_OVERHEAD_MS });
  return { best: points.reduce((a, b) => (b.rate > a.rate ? b : a)), points };
}
