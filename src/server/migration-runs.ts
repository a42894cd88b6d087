import { HearthError, isHearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { Memory } from '../memory/memory.js';
import type { ReembedReport, ReembedTarget } from '../memory/reembed.js';

/** A migration this server runs, as a client polls it. */
export interface MigrationRun {
  collection: string;
  status: 'running' | 'done' | 'failed' | 'stopped';
  progress: { documents: number; done: number } | null;
  report: ReembedReport | null;
  error: { code: string; message: string } | null;
}

/**
 * Collection migrations run in the server's background, one per collection:
 * a migration takes minutes to hours, longer than any request should wait.
 * Their state is in the database, so one stopped by a shutdown resumes when
 * started again, here or from the CLI.
 */
export class MigrationRuns {
  readonly #runs = new Map<string, { run: MigrationRun; controller: AbortController; done: Promise<void> }>();

  constructor(private readonly logger: Logger) {}

  /** Starts (or resumes) a migration, or returns the one already running for this collection. */
  start(memory: Memory, name: string, to: ReembedTarget | undefined, swap: boolean): MigrationRun {
    const current = this.#runs.get(name);
    if (current?.run.status === 'running') return current.run;
    const run: MigrationRun = { collection: name, status: 'running', progress: null, report: null, error: null };
    const controller = new AbortController();
    const done = memory
      .migrate(name, to, { signal: controller.signal, swap, onProgress: (p) => (run.progress = p) })
      .then((report) => {
        run.status = 'done';
        run.report = report;
      })
      .catch((error: unknown) => {
        const code = isHearthError(error) ? error.code : 'INTERNAL';
        run.status = code === 'ABORTED' || code === 'SHUTTING_DOWN' ? 'stopped' : 'failed';
        run.error = { code, message: (error as Error).message };
        if (run.status === 'failed') this.logger.error({ collection: name, err: run.error }, 'collection migration failed');
      });
    this.#runs.set(name, { run, controller, done });
    return run;
  }

  get(name: string): MigrationRun | undefined {
    return this.#runs.get(name)?.run;
  }

  /** Stops this server's run of a collection's migration, if any, and waits for it to stop. */
  async stop(name: string): Promise<void> {
    const entry = this.#runs.get(name);
    if (!entry) return;
    entry.controller.abort(new HearthError('ABORTED', `the migration of ${name} was stopped`));
    await entry.done;
  }

  /** Stops every run (the server is closing); each resumes when started again. */
  async close(): Promise<void> {
    for (const entry of this.#runs.values()) entry.controller.abort(new HearthError('SHUTTING_DOWN', 'the server is shutting down'));
    await Promise.all([...this.#runs.values()].map((e) => e.done));
  }
}
