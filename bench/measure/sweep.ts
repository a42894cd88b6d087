/**
 * Measures every configuration and keeps the fastest. A configuration that
 * fails is recorded with its reason; the sweep fails only when all do.
 */
export interface SweepResult<P> {
  best: P & { rate: number };
  points: Array<P & { rate: number | null; error?: string }>;
}

export async function sweep<P extends object>(configs: P[], measure: (config: P) => Promise<number>): Promise<SweepResult<P>> {
  const points: Array<P & { rate: number | null; error?: string }> = [];
  for (const config of configs) {
    try {
      points.push({ ...config, rate: await measure(config) });
    } catch (error) {
      points.push({ ...config, rate: null, error: (error as Error).message.split('\n')[0] });
    }
  }
  const ok = points.filter((p): p is P & { rate: number } => p.rate !== null && Number.isFinite(p.rate));
  if (ok.length === 0) throw new Error(`every configuration failed; first: ${points[0]?.error ?? 'none measured'}`);
  return { best: ok.reduce((a, b) => (b.rate > a.rate ? b : a)), points };
}
