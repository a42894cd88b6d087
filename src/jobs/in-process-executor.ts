import { randomUUID } from 'node:crypto';
import { EventEmitter, on } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HearthError, throwIfAborted, toHearthError } from '../errors/index.js';
import { Semaphore } from '../lifecycle/semaphore.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { errnoOf, writeFileAtomic } from '../store/fs-utils.js';
import { isTerminal, notFound, type FlowSpec, type JobExecutor, type JobProcessors, type JobStatus } from './executor.js';

export interface InProcessExecutorOptions {
  /** Where jobs are kept (`$HEARTH_HOME/jobs`): one file each, with every finished child's result. */
  dir: string;
  /** Children run at once, over all jobs. */
  concurrency: number;
  /** Resume the unfinished jobs of a queue when it is registered (the server does; a one-off CLI run works on its own job only). */
  resume?: boolean | undefined;
  logger?: Logger | undefined;
}

/** A job as its file keeps it. */
interface JobRecord extends JobStatus {
  flow: FlowSpec;
  /** Finished children's results, by index; a resumed job runs only the others. */
  results: Array<{ value: unknown } | null>;
}

const DEFAULT_ATTEMPTS = 3;

/**
 * Jobs in this process, kept in hearth's state: no Redis, so `hearth
 * enrich` works from a fresh install. A job's children share one bound on
 * concurrency with every other job's; each finished child is written to the
 * job's file before it counts, so a job interrupted by a crash or a restart
 * resumes where it was, once its queue is registered again, and runs no
 * finished child twice.
 */
export class InProcessExecutor implements JobExecutor {
  readonly kind = 'in-process' as const;
  readonly #processors = new Map<string, JobProcessors>();
  readonly #live = new Map<string, { record: JobRecord; stop: AbortController }>();
  readonly #changes = new EventEmitter();
  readonly #slots: Semaphore;
  readonly #lifetime = new AbortController();
  readonly #logger: Logger;
  #disposed: Promise<void> | undefined;

  constructor(private readonly options: InProcessExecutorOptions) {
    this.#slots = new Semaphore(Math.max(1, options.concurrency));
    this.#logger = options.logger ?? silentLogger;
    this.#changes.setMaxListeners(0);
  }

  register(queue: string, processors: JobProcessors): void {
    this.#processors.set(queue, processors);
    if (this.options.resume === false) return;
    void this.#resume(queue).catch((error: unknown) => this.#logger.error({ err: error, queue }, 'could not resume unfinished jobs'));
  }

  async submit(flow: FlowSpec): Promise<string> {
    this.#assertLive();
    if (!this.#processors.has(flow.queue)) throw new HearthError('INTERNAL', `no processors registered for the ${flow.queue} queue`);
    const record: JobRecord = {
      id: randomUUID(),
      queue: flow.queue,
      state: 'queued',
      progress: { done: 0, total: flow.children.length },
      createdAt: new Date().toISOString(),
      flow,
      results: flow.children.map(() => null),
    };
    await this.#save(record);
    this.#start(record);
    return record.id;
  }

  async get(id: string): Promise<JobStatus | undefined> {
    const live = this.#live.get(id);
    if (live) return statusOf(live.record);
    const record = await this.#load(id);
    return record ? statusOf(record) : undefined;
  }

  async *watch(id: string, signal?: AbortSignal): AsyncIterable<JobStatus> {
    const signals = [this.#lifetime.signal, ...(signal ? [signal] : [])];
    // Listening before the first read, so a change between the two is never missed.
    const changes = on(this.#changes, id, { signal: AbortSignal.any(signals) });
    let status = await this.get(id);
    if (!status) throw notFound(id);
    yield status;
    if (isTerminal(status.state)) return;
    try {
      for await (const [next] of changes) {
        status = next as JobStatus;
        yield status;
        if (isTerminal(status.state)) return;
      }
    } catch (error) {
      if (!signals.some((s) => s.aborted)) throw error;
    }
  }

  async cancel(id: string): Promise<boolean> {
    const live = this.#live.get(id);
    if (!live || isTerminal(live.record.state)) return false;
    live.stop.abort(new HearthError('ABORTED', 'the job was cancelled'));
    live.record.state = 'cancelled';
    live.record.finishedAt = new Date().toISOString();
    await this.#save(live.record);
    this.#emit(live.record);
    return true;
  }

  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      this.#lifetime.abort(new HearthError('SHUTTING_DOWN', 'the job executor is closing; unfinished jobs resume at the next start'));
      for (const { stop } of this.#live.values()) stop.abort(this.#lifetime.signal.reason);
      // Each run saves what it finished before it ends.
      while (this.#live.size > 0) await new Promise((resolve) => this.#changes.once('settled', resolve));
    })();
    return this.#disposed;
  }

  #start(record: JobRecord): void {
    const stop = new AbortController();
    this.#live.set(record.id, { record, stop });
    void this.#run(record, AbortSignal.any([stop.signal, this.#lifetime.signal])).finally(() => {
      this.#live.delete(record.id);
      this.#changes.emit('settled');
    });
  }

  async #run(record: JobRecord, signal: AbortSignal): Promise<void> {
    const processors = this.#processors.get(record.queue)!;
    const attempts = Math.max(1, record.flow.attempts ?? DEFAULT_ATTEMPTS);
    try {
      record.state = 'running';
      this.#emit(record);
      // Children start in order and run as slots free up. The first that fails for good stops the others
      // (they may be mid-chunk), and the job fails with its error once they have all stopped.
      const siblings = new AbortController();
      const childSignal = AbortSignal.any([signal, siblings.signal]);
      let failure: unknown;
      await Promise.all(
        record.flow.children.map(async (child, index) => {
          if (record.results[index]) return;
          try {
            const release = await this.#slots.acquire(1, childSignal);
            try {
              const value = await this.#attempt(attempts, childSignal, (attempt) => processors.child(record.flow.data, child, index, { signal: childSignal, attempt }));
              record.results[index] = { value };
              record.progress = { done: record.results.filter(Boolean).length, total: record.results.length };
              await this.#save(record);
              this.#emit(record);
            } finally {
              release();
            }
          } catch (error) {
            if (failure === undefined && !signal.aborted) {
              failure = error;
              siblings.abort(error);
            }
          }
        }),
      );
      if (failure !== undefined) throw failure;
      throwIfAborted(signal);
      record.result = await processors.parent(
        record.flow.data,
        record.results.map((r) => r!.value),
        { signal, attempt: 1 },
      );
      record.state = 'completed';
    } catch (error) {
      if (this.#lifetime.signal.aborted) {
        // Closing, not failing: the job stays unfinished and resumes at the next start.
        record.state = 'queued';
        await this.#save(record).catch(() => undefined);
        return;
      }
      if (record.state === 'cancelled') return;
      const e = toHearthError(error);
      record.state = 'failed';
      record.error = { code: e.code, message: e.message };
      this.#logger.warn({ job: record.id, err: error }, 'job failed');
    }
    record.finishedAt = new Date().toISOString();
    await this.#save(record);
    this.#emit(record);
  }

  async #attempt<T>(attempts: number, signal: AbortSignal, work: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work(attempt);
      } catch (error) {
        if (signal.aborted || attempt >= attempts) throw error;
        this.#logger.debug({ err: error, attempt }, 'job child failed; trying again');
      }
    }
  }

  async #resume(queue: string): Promise<void> {
    let files: string[];
    try {
      files = await readdir(this.options.dir);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return;
      throw error;
    }
    for (const file of files.filter((f) => f.endsWith('.json'))) {
      const record = await this.#load(file.slice(0, -'.json'.length));
      if (!record || record.queue !== queue || isTerminal(record.state) || this.#live.has(record.id)) continue;
      this.#logger.info({ job: record.id, done: record.progress.done, total: record.progress.total }, 'resuming an unfinished job');
      this.#start(record);
    }
  }

  async #load(id: string): Promise<JobRecord | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    try {
      return JSON.parse(await readFile(this.#path(id), 'utf8')) as JobRecord;
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  #save(record: JobRecord): Promise<void> {
    return writeFileAtomic(this.#path(record.id), JSON.stringify(record));
  }

  #path(id: string): string {
    return join(this.options.dir, `${id}.json`);
  }

  #emit(record: JobRecord): void {
    this.#changes.emit(record.id, statusOf(record));
  }

  #assertLive(): void {
    if (this.#lifetime.signal.aborted) throw new HearthError('SHUTTING_DOWN', 'the job executor is closed');
  }
}

function statusOf(record: JobRecord): JobStatus {
  const { flow: _flow, results: _results, ...status } = record;
  return structuredClone(status);
}
