import { randomUUID } from 'node:crypto';
import { EventEmitter, on } from 'node:events';
import { appendFile, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HearthError, throwIfAborted, toHearthError } from '../errors/index.js';
import { Semaphore } from '../lifecycle/semaphore.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { errnoOf, writeFileAtomic } from '../store/fs-utils.js';
import { isTerminal, jobError, notFound, type FlowSpec, type JobExecutor, type JobProcessors, type JobStatus } from './executor.js';

export interface InProcessExecutorOptions {
  /** Where jobs are kept (`$HEARTH_HOME/jobs`): one file each, with every finished child's result. */
  dir: string;
  /** Children run at once, over all jobs. */
  concurrency: number;
  /** Resume the unfinished jobs of a queue when it is registered (the server does; a one-off CLI run works on its own job only). */
  resume?: boolean | undefined;
  /** Ended jobs kept for get(), newest first (default 1,000, as BullMQ keeps); older ones are removed. */
  keep?: number | undefined;
  logger?: Logger | undefined;
}

/** A job as its file keeps it. */
interface JobRecord extends JobStatus {
  flow: FlowSpec;
  /** Finished children's results, by index; a resumed job runs only the others. */
  results: Array<{ value: unknown } | null>;
  /** Set once a gated flow's gate has passed, with what it returned. */
  gate?: { value: unknown } | undefined;
}

const DEFAULT_ATTEMPTS = 3;
const KEEP_ENDED = 1000;

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
  /** Ended jobs' ids, oldest first, once read. */
  #ended: Promise<string[]> | undefined;
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
    await writeFileAtomic(this.#path(record.id, 'flow'), JSON.stringify(flow));
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
    void this.#run(record, AbortSignal.any([stop.signal, this.#lifetime.signal]))
      // An ended job is its status alone: the plan and the journal are only for resuming (a million files' plan is ~80 MB).
      .then(async () => {
        if (!isTerminal(record.state)) return;
        await Promise.all([rm(this.#path(record.id, 'flow'), { force: true }), rm(this.#path(record.id, 'results'), { force: true })]);
        await this.#retain(record.id);
      })
      .catch((error: unknown) => this.#logger.warn({ err: error, job: record.id }, 'could not remove an ended job\'s plan, or older jobs'))
      .finally(() => {
        this.#live.delete(record.id);
        this.#changes.emit('settled');
      });
  }

  /**
   * Keeps the newest `keep` ended jobs. Their ids, oldest first, are read
   * from the folder once (by finish time), then kept up to date here, so a
   * job's end costs no scan.
   */
  async #retain(ended: string): Promise<void> {
    this.#ended ??= (async () => {
      const files = (await readdir(this.options.dir)).filter((f) => /^[0-9a-f-]{36}\.json$/.test(f));
      const statuses = await Promise.all(files.map((f) => this.#load(f.slice(0, -'.json'.length)).catch(() => undefined)));
      return statuses
        .filter((st): st is JobRecord => st !== undefined && isTerminal(st.state) && st.id !== ended)
        .sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? ''))
        .map((st) => st.id);
    })();
    const ids = await this.#ended;
    ids.push(ended);
    while (ids.length > (this.options.keep ?? KEEP_ENDED)) await rm(this.#path(ids.shift()!), { force: true });
  }

  async #run(record: JobRecord, signal: AbortSignal): Promise<void> {
    const processors = this.#processors.get(record.queue)!;
    const total = record.flow.children.length;
    const gateAt = Math.min(record.flow.gate ?? 0, total);
    try {
      record.state = 'running';
      this.#emit(record);
      if (gateAt > 0) {
        await this.#runChildren(record, processors, 0, gateAt, signal);
        if (!record.gate) {
          const value = await processors.gate?.(record.flow.data, this.#values(record, gateAt), { signal, attempt: 1 });
          // Kept, so a resumed job does not check again what already passed.
          record.gate = { value };
          await this.#save(record);
        }
      }
      await this.#runChildren(record, processors, gateAt, total, signal);
      throwIfAborted(signal);
      record.result = await processors.parent(record.flow.data, this.#values(record, total), { signal, attempt: 1, gate: record.gate?.value });
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
      record.error = jobError(e);
      this.#logger.warn({ job: record.id, err: error }, 'job failed');
    }
    record.finishedAt = new Date().toISOString();
    await this.#save(record);
    this.#emit(record);
  }

  /**
   * Runs the unfinished children of [from, to) in order, as many at once as
   * the concurrency (a runner each, so a job of 30,000 children has a
   * handful waiting for a slot, not 30,000). The first that fails for good
   * stops the others (they may be mid-chunk), and this throws its error once
   * they have all stopped.
   */
  async #runChildren(record: JobRecord, processors: JobProcessors, from: number, to: number, signal: AbortSignal): Promise<void> {
    const attempts = Math.max(1, record.flow.attempts ?? DEFAULT_ATTEMPTS);
    const siblings = new AbortController();
    const childSignal = AbortSignal.any([signal, siblings.signal]);
    let failure: unknown;
    let next = from;
    const runner = async () => {
      while (!childSignal.aborted) {
        const index = next++;
        if (index >= to) return;
        if (record.results[index]) continue;
        try {
          const release = await this.#slots.acquire(1, childSignal);
          try {
            const value = await this.#attempt(attempts, childSignal, (attempt) => processors.child(record.flow.data, record.flow.children[index], index, { signal: childSignal, attempt }));
            // Appended, not rewritten: a job of 30,000 children writes each result once.
            await appendFile(this.#path(record.id, 'results'), `${JSON.stringify({ i: index, v: value })}\n`);
            record.results[index] = { value };
            record.progress = { done: record.progress.done + 1, total: record.results.length };
            this.#emit(record);
          } finally {
            release();
          }
        } catch (error) {
          if (failure === undefined && !signal.aborted) {
            failure = error;
            siblings.abort(error);
          }
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.options.concurrency, to - from)) }, runner));
    if (failure !== undefined) throw failure;
    throwIfAborted(signal);
  }

  #values(record: JobRecord, to: number): unknown[] {
    return record.results.slice(0, to).map((r) => r!.value);
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
    for (const file of files.filter((f) => /^[0-9a-f-]{36}\.json$/.test(f))) {
      const status = await this.#load(file.slice(0, -'.json'.length));
      if (!status || status.queue !== queue || isTerminal(status.state) || this.#live.has(status.id)) continue;
      const record = (await this.#load(status.id, true))!;
      this.#logger.info({ job: record.id, done: record.progress.done, total: record.progress.total }, 'resuming an unfinished job');
      this.#start(record);
    }
  }

  /** A job's status; with `whole`, its flow and finished results too (to run it). */
  async #load(id: string, whole = false): Promise<JobRecord | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    let status: JobRecord;
    try {
      status = JSON.parse(await readFile(this.#path(id), 'utf8')) as JobRecord;
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return undefined;
      throw error;
    }
    if (!whole) return status;
    // A job an earlier hearth wrote kept its flow and results in this one file.
    const flow = status.flow ?? (JSON.parse(await readFile(this.#path(id, 'flow'), 'utf8')) as FlowSpec);
    const results: JobRecord['results'] = status.results ?? flow.children.map(() => null);
    const journal = await readFile(this.#path(id, 'results'), 'utf8').catch((error: unknown) => {
      if (errnoOf(error) === 'ENOENT') return '';
      throw error;
    });
    for (const line of journal.split('\n')) {
      // The last line of a process killed mid-write may be cut short: that child runs again.
      if (!line) continue;
      try {
        const { i, v } = JSON.parse(line) as { i: number; v: unknown };
        results[i] = { value: v };
      } catch {
        break;
      }
    }
    return { ...status, flow, results, progress: { done: results.filter(Boolean).length, total: results.length } };
  }

  /** The status alone: the flow is written once at submit, and results are appended as children finish. */
  #save(record: JobRecord): Promise<void> {
    const { flow: _flow, results: _results, ...status } = record;
    return writeFileAtomic(this.#path(record.id), JSON.stringify(status));
  }

  #path(id: string, part?: 'flow' | 'results'): string {
    return join(this.options.dir, part === undefined ? `${id}.json` : part === 'flow' ? `${id}.flow.json` : `${id}.results.jsonl`);
  }

  #emit(record: JobRecord): void {
    this.#changes.emit(record.id, statusOf(record));
  }

  #assertLive(): void {
    if (this.#lifetime.signal.aborted) throw new HearthError('SHUTTING_DOWN', 'the job executor is closed');
  }
}

function statusOf(record: JobRecord): JobStatus {
  const { flow: _flow, results: _results, gate: _gate, ...status } = record;
  return structuredClone(status);
}
