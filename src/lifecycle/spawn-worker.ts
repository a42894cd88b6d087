import { Worker } from 'node:worker_threads';

/**
 * Starts the worker module `entry` (a URL next to the caller, named without
 * extension). From dist the worker is plain JavaScript. From source (tests,
 * `node --import tsx`), a worker does not inherit tsx's loader, so it
 * registers tsx first, found from this file, so hearth runs from source in
 * any current folder.
 */
export function spawnWorker(entry: URL, workerData: unknown): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const file = new URL(`${entry.href}${fromSource ? '.ts' : '.js'}`);
  if (!fromSource) return new Worker(file, { workerData });
  // Resolved here: an eval'd worker would resolve the bare name from the current folder, not from hearth's.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}
