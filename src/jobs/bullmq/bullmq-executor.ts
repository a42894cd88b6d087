import { randomUUID } from 'node:crypto';
import { EventEmitter, on } from 'node:events';
import { DelayedError, FlowProducer, Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { HearthError, toHearthError } from '../../errors/index.js';
import { silentLogger, type Logger } from '../../log/logger.js';
import { isTerminal, jobError, notFound, type FlowSpec, type JobError, type JobExecutor, type JobProcessors, type JobState, type JobStatus } from '../executor.js';
import { connect } from './redis.js';
import { ResultRefs } from './result-refs.js';

export interface BullmqExecutorOptions {
  url: string;
  /** Children one process runs at once. */
  concurrency: number;
  /** Key prefix in Redis (tests give each run its own). */
  prefix?: string | undefined;
  logger?: Logger | undefined;
}

/** Measured (issue 16): with BullMQ's defaults a job whose worker died waited 59 s; with these, 4–5 s. */
const LOCK_MS = 5000;
const STALLED_CHECK_MS = 1000;
const DEFAULT_ATTEMPTS = 3;
/** Finished jobs kept for GET /v1/jobs/{id}; older ones are removed by BullMQ. */
const KEEP = { count: 1000 };

interface ParentData {
  data: unknown;
  total: number;
  /** Children before this index are the gate job's; the others the parent's own. */
  gate?: number | undefined;
}
/** What a gate job passes to its parent: the gate's answer and the first children's results, in order. */
interface GateValue {
  gate: unknown;
  results: unknown[];
}
/** Children added to the parent per call once the gate passed. */
const ADD_BATCH = 500;
interface ChildData {
  index: number;
  child: unknown;
}

/**
 * Jobs on BullMQ flows, so that worker processes on one or more machines
 * share the work: a parent job per hearth job (it aggregates), and a child
 * job per chunk, each failing its parent when it fails for good
 * (`failParentOnFailure`), so a parent never waits for ever. Delivery is at
 * least once; results are ordered by the index each carries, never by
 * arrival. A cancelled job is flagged in Redis: children not yet started
 * fail at once, running ones are aborted where this process runs them.
 */
/** How often a watcher re-reads its job's state besides BullMQ's events (see watch). */
const WATCH_POLL_MS = 2000;

export class BullmqExecutor implements JobExecutor {
  readonly kind = 'bullmq' as const;
  readonly #connection: Redis;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #flows: FlowProducer;
  readonly #queues = new Map<string, { parent: Queue; children: Queue; gate: Queue }>();
  readonly #workers: Worker[] = [];
  readonly #events = new Map<string, QueueEvents>();
  readonly #changes = new EventEmitter();
  readonly #parentData = new Map<string, unknown>();
  readonly #closing = new AbortController();
  /** Every connection made here: BullMQ never closes a connection it was given. */
  readonly #connections: Redis[] = [];
  readonly #refs: ResultRefs;
  #disposed: Promise<void> | undefined;

  constructor(private readonly options: BullmqExecutorOptions) {
    this.#connection = this.#connect();
    this.#prefix = options.prefix ?? 'hearth';
    this.#logger = options.logger ?? silentLogger;
    this.#flows = new FlowProducer({ connection: this.#connection, prefix: this.#prefix });
    this.#refs = new ResultRefs(this.#connection, (jobId) => this.#key(`result:${jobId}`));
    this.#changes.setMaxListeners(0);
  }

  register(queue: string, processors: JobProcessors): void {
    const names = this.#names(queue);
    const common = { connection: this.#connect(), prefix: this.#prefix, lockDuration: LOCK_MS, stalledInterval: STALLED_CHECK_MS };
    const children = new Worker<ChildData>(
      names.children,
      async (job, token, signal) => {
        // A gated flow's first children belong to its gate job; the hearth job is the parent either way.
        const parentId = job.parent?.id?.replace(/-g$/, '');
        if (!parentId) throw new UnrecoverableError('a chunk job without its parent');
        // A closing worker can still be handed a job (BullMQ fetches ahead): it goes back untouched.
        if (this.#closing.signal.aborted && token) {
          await job.moveToDelayed(Date.now(), token);
          throw new DelayedError();
        }
        if (await this.#cancelled(parentId)) throw new UnrecoverableError(encode(new HearthError('ABORTED', 'the job was cancelled')));
        // Marks the job running: BullMQ's parent waits for its children in one state, started or not.
        await this.#connection.set(this.#key(`started:${parentId}`), '1', 'EX', 7 * 24 * 3600);
        const abort = AbortSignal.any([signal ?? new AbortController().signal, this.#closing.signal]);
        try {
          const data = await this.#dataOf(queue, parentId);
          const value = await processors.child(data, job.data.child, job.data.index, { signal: abort, attempt: job.attemptsMade + 1 });
          return await this.#refs.park(job.id!, value);
        } catch (error) {
          // Closing, not failing: the chunk goes back to wait, with no attempt spent, for the next worker.
          if (this.#closing.signal.aborted && token) {
            await job.moveToDelayed(Date.now(), token);
            throw new DelayedError();
          }
          throw new Error(encode(toHearthError(error)));
        }
      },
      { ...common, concurrency: Math.max(1, this.options.concurrency) },
    );
    const parents = new Worker<ParentData>(
      names.parent,
      async (job, _token, signal) => {
        const { results, gate } = await this.#childResults(job, job.data.total);
        try {
          return await processors.parent(job.data.data, await this.#refs.resolve(results), { signal: signal ?? this.#closing.signal, attempt: job.attemptsMade + 1, gate });
        } catch (error) {
          throw new Error(encode(toHearthError(error)));
        }
      },
      { ...common, concurrency: 1 },
    );
    // A gated flow's first stage: its job runs the gate on the first children's results, then adds the rest to
    // the parent (which waits on this job, so it cannot finish before they are added).
    const gates = new Worker<ParentData>(
      names.gate,
      async (job, token, signal) => {
        const parentId = job.parent?.id;
        if (!parentId) throw new UnrecoverableError('a gate job without its parent');
        if (await this.#cancelled(parentId)) throw new UnrecoverableError(encode(new HearthError('ABORTED', 'the job was cancelled')));
        const { results } = await this.#childResults(job, job.data.gate ?? 0);
        const ctx = { signal: AbortSignal.any([signal ?? new AbortController().signal, this.#closing.signal]), attempt: job.attemptsMade + 1 };
        let gate: unknown;
        try {
          gate = await processors.gate?.(job.data.data, await this.#refs.resolve(results), ctx);
        } catch (error) {
          if (this.#closing.signal.aborted && token) {
            await job.moveToDelayed(Date.now(), token);
            throw new DelayedError();
          }
          // The gate's verdict is final: checking again would give the same answer, and the rest never runs.
          await this.#connection.del(this.#key(`rest:${parentId}`));
          throw new UnrecoverableError(encode(toHearthError(error)));
        }
        const rest = (await this.#restOf(parentId)) ?? [];
        for (let start = 0; start < rest.length; start += ADD_BATCH) {
          await this.#queue(queue).children.addBulk(rest.slice(start, start + ADD_BATCH).map((child) => ({ ...child, opts: { ...child.opts, parent: { id: parentId, queue: `${this.#prefix}:${names.parent}` } } })));
        }
        await this.#connection.del(this.#key(`rest:${parentId}`));
        return { gate, results } satisfies GateValue;
      },
      { ...common, concurrency: 1 },
    );
    // Parked results go once their parent has completed (not before: a parent that dies mid-way runs again).
    parents.on('completed', (job) => void this.#childResults(job, job.data.total).then(({ results }) => this.#refs.drop(results)).catch(() => undefined));
    for (const worker of [children, parents, gates]) {
      worker.on('error', (error) => this.#logger.warn({ err: error, queue }, 'job worker error'));
      this.#workers.push(worker);
    }
  }

  async submit(flow: FlowSpec): Promise<string> {
    const names = this.#names(flow.queue);
    const id = randomUUID();
    const attempts = Math.max(1, flow.attempts ?? DEFAULT_ATTEMPTS);
    const children = flow.children.map((child, index) => ({
      name: 'chunk',
      queueName: names.children,
      data: { index, child } satisfies ChildData,
      opts: {
        jobId: `${id}-c${index}`,
        attempts,
        failParentOnFailure: true,
        // The parent keeps each child's result; the child's own record can go.
        removeOnComplete: true,
        removeOnFail: KEEP,
      },
    }));
    const gateAt = Math.min(flow.gate ?? 0, flow.children.length);
    const parent = { data: flow.data, total: flow.children.length, gate: gateAt || undefined } satisfies ParentData;
    const opts = { removeOnComplete: KEEP, removeOnFail: KEEP };
    if (gateAt > 0) {
      // The rest waits in Redis until the gate passes: it may be large, and the gate job adds it.
      await this.#connection.set(this.#key(`rest:${id}`), JSON.stringify(children.slice(gateAt).map(({ name, data, opts }) => ({ name, data, opts }))), 'EX', 30 * 24 * 3600);
    }
    await this.#flows.add({
      name: 'aggregate',
      queueName: names.parent,
      data: parent,
      opts: { jobId: id, ...opts },
      children:
        gateAt > 0
          ? [{ name: 'gate', queueName: names.gate, data: parent, opts: { jobId: `${id}-g`, failParentOnFailure: true, ...opts }, children: children.slice(0, gateAt) }]
          : children,
    });
    await this.#connection.hset(this.#key('queues'), id, flow.queue);
    return id;
  }

  async get(id: string): Promise<JobStatus | undefined> {
    const queue = await this.#connection.hget(this.#key('queues'), id);
    if (!queue) return undefined;
    // The state first, then the job: a job read before a state that moved on would lack its result or reason.
    const [state, cancelled, started] = await Promise.all([this.#queue(queue).parent.getJobState(id), this.#cancelled(id), this.#connection.exists(this.#key(`started:${id}`))]);
    const job = await Job.fromId<ParentData>(this.#queue(queue).parent, id);
    if (!job || state === 'unknown') return undefined;
    const status: JobStatus = {
      id,
      queue,
      state: cancelled ? 'cancelled' : stateOf(state, started === 1),
      progress: { done: Math.min(await this.#done(queue, job), job.data.total), total: job.data.total },
      createdAt: new Date(job.timestamp).toISOString(),
      finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : undefined,
    };
    if (status.state === 'completed') {
      status.result = job.returnvalue;
      status.progress.done = status.progress.total;
    }
    if (status.state === 'failed') status.error = await this.#errorOf(job, queue);
    return status;
  }

  async *watch(id: string, signal?: AbortSignal): AsyncIterable<JobStatus> {
    const queue = await this.#connection.hget(this.#key('queues'), id);
    if (!queue) throw notFound(id);
    await this.#listen(queue);
    const stop = AbortSignal.any([this.#closing.signal, ...(signal ? [signal] : [])]);
    // Listening before the first read, so a change between the two is never missed.
    const changes = on(this.#changes, id, { signal: stop });
    // QueueEvents reads its stream from "$" until it has seen an event of its own, and again after a
    // reconnect: an event written while Redis restarts can be missed, and a watcher would wait for ever.
    // A slow re-read bounds that to one period; between events it costs one read a period.
    const poll = setInterval(() => this.#changes.emit(id), WATCH_POLL_MS);
    poll.unref();
    let last = '';
    const fresh = async () => {
      const status = await this.get(id);
      if (!status) throw notFound(id);
      const key = JSON.stringify([status.state, status.progress]);
      const changed = key !== last;
      last = key;
      return { status, changed };
    };
    try {
      let { status } = await fresh();
      yield status;
      if (isTerminal(status.state)) return;
      for await (const _ of changes) {
        const next = await fresh();
        if (!next.changed) continue;
        status = next.status;
        yield status;
        if (isTerminal(status.state)) return;
      }
    } catch (error) {
      if (!stop.aborted) throw error;
    } finally {
      clearInterval(poll);
      // An early return (a terminal first read, a consumer that stops) leaves the loop unstarted: detach it here.
      await changes.return?.();
    }
  }

  async cancel(id: string): Promise<boolean> {
    const status = await this.get(id);
    if (!status || isTerminal(status.state)) return false;
    await this.#connection.set(this.#key(`cancelled:${id}`), '1', 'EX', 7 * 24 * 3600);
    // Running here: aborted now; on other workers, the next child of the job fails at once.
    for (const worker of this.#workers) for (let i = 0; i < status.progress.total; i++) worker.cancelJob(`${id}-c${i}`, 'the job was cancelled');
    this.#changes.emit(id);
    return true;
  }

  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      this.#closing.abort(new HearthError('SHUTTING_DOWN', 'the job executor is closing'));
      for (const worker of this.#workers) worker.cancelAllJobs('the worker is closing');
      await Promise.allSettled(this.#workers.map(closeWorker));
      await Promise.allSettled([...this.#events.values()].map((e) => e.close()));
      await Promise.allSettled([...this.#queues.values()].flatMap((q) => [q.parent.close(), q.children.close(), q.gate.close()]));
      await this.#flows.close().catch(() => undefined);
      for (const connection of this.#connections) connection.disconnect();
    })();
    return this.#disposed;
  }

  /** Children finished: the parent's own, and for a gated flow the gate job's (all of them once it finished). */
  async #done(queue: string, job: Job<ParentData>): Promise<number> {
    const own = (await job.getDependenciesCount({ processed: true })).processed ?? 0;
    const gateAt = job.data.gate ?? 0;
    if (gateAt === 0) return own;
    const gate = await Job.fromId<ParentData>(this.#queue(queue).gate, `${job.id}-g`);
    if (!gate || (await gate.getState()) === 'completed') return own === 0 ? 0 : gateAt + own - 1;
    return (await gate.getDependenciesCount({ processed: true })).processed ?? 0;
  }

  /** A job's children's results in index order (each child's id ends with it), and its gate job's answer. */
  async #childResults(job: Job, total: number): Promise<{ results: unknown[]; gate: unknown }> {
    const values = await job.getChildrenValues<unknown>();
    const results: unknown[] = new Array(total);
    let gate: unknown;
    for (const [key, value] of Object.entries(values)) {
      if (key.endsWith('-g')) {
        const passed = value as GateValue;
        gate = passed.gate;
        passed.results.forEach((r, i) => (results[i] = r));
      } else results[Number(/-c(\d+)$/.exec(key)?.[1])] = value;
    }
    return { results, gate };
  }

  async #restOf(parentId: string): Promise<Array<{ name: string; data: ChildData; opts: Record<string, unknown> }> | undefined> {
    const text = await this.#connection.get(this.#key(`rest:${parentId}`));
    return text ? (JSON.parse(text) as Array<{ name: string; data: ChildData; opts: Record<string, unknown> }>) : undefined;
  }

  /** The events of both of a queue's BullMQ queues, turned into a poke per hearth job (the watcher reads the new state). */
  async #listen(queue: string): Promise<void> {
    const names = this.#names(queue);
    for (const name of [names.parent, names.children, names.gate]) {
      if (this.#events.has(name)) continue;
      const events = new QueueEvents(name, { connection: this.#connect(), prefix: this.#prefix });
      this.#events.set(name, events);
      const poke = ({ jobId }: { jobId: string }) => this.#changes.emit(jobId.replace(/-(c\d+|g)$/, ''));
      for (const event of ['completed', 'failed', 'active', 'waiting', 'waiting-children', 'retries-exhausted'] as const) events.on(event, poke as never);
      await events.waitUntilReady();
    }
  }

  async #dataOf(queue: string, parentId: string): Promise<unknown> {
    if (!this.#parentData.has(parentId)) {
      const parent = await Job.fromId<ParentData>(this.#queue(queue).parent, parentId);
      if (!parent) throw new UnrecoverableError(`the parent job ${parentId} is gone`);
      // A handful of jobs run at once; the oldest entries are dropped past that.
      if (this.#parentData.size >= 64) this.#parentData.delete(this.#parentData.keys().next().value!);
      this.#parentData.set(parentId, parent.data.data);
    }
    return this.#parentData.get(parentId);
  }

  async #errorOf(job: Job, queue: string): Promise<JobStatus['error']> {
    // A parent failed by a child names the child's key; the child's own reason carries the error (a gate job's
    // may name its own failed child in turn).
    const child = /child \S*?:([^:\s]+):(\S+) failed/.exec(job.failedReason ?? '');
    const names = this.#names(queue);
    const from = child && (child[1] === names.children ? this.#queue(queue).children : child[1] === names.gate ? this.#queue(queue).gate : undefined);
    if (from) {
      const failed = await Job.fromId(from, child![2]!).catch(() => undefined);
      if (failed?.failedReason) return this.#errorOf(failed, queue);
    }
    return decode(job.failedReason ?? 'the job failed');
  }

  #connect(): Redis {
    const connection = connect(this.options.url);
    connection.on('error', (error) => this.#logger.debug({ err: error.message }, 'redis connection error'));
    this.#connections.push(connection);
    return connection;
  }

  #queue(queue: string): { parent: Queue; children: Queue; gate: Queue } {
    let q = this.#queues.get(queue);
    if (!q) {
      const names = this.#names(queue);
      const open = (name: string) => new Queue(name, { connection: this.#connection, prefix: this.#prefix });
      q = { parent: open(names.parent), children: open(names.children), gate: open(names.gate) };
      this.#queues.set(queue, q);
    }
    return q;
  }

  #names(queue: string): { parent: string; children: string; gate: string } {
    return { parent: queue, children: `${queue}-chunks`, gate: `${queue}-gate` };
  }

  #key(name: string): string {
    return `${this.#prefix}:hearth:${name}`;
  }

  async #cancelled(id: string): Promise<boolean> {
    return (await this.#connection.exists(this.#key(`cancelled:${id}`))) === 1;
  }
}

function stateOf(state: string, started: boolean): JobState {
  if (state === 'completed') return 'completed';
  if (state === 'failed') return 'failed';
  if (state === 'active') return 'running';
  return started ? 'running' : 'queued';
}

/** Errors cross Redis as text: the typed error is kept as JSON in it. */
function encode(error: HearthError): string {
  return JSON.stringify(jobError(error));
}

function decode(reason: string): JobError {
  try {
    const parsed = JSON.parse(reason) as Partial<JobError>;
    if (typeof parsed.code === 'string' && typeof parsed.message === 'string') return parsed as JobError;
  } catch {
    // Not one of hearth's: BullMQ's own reason.
  }
  return { code: 'JOB_FAILED', message: reason };
}

/** How long a worker gets to close gracefully before its connections are cut (see closeWorker). */
const WORKER_CLOSE_MS = 10_000;

/**
 * Worker.close() waits for its blocking connection's 'end' event, and ioredis never emits one for a
 * connection caught between two reconnect attempts (after a Redis restart), so close() can wait for
 * ever. Past a bound, the worker's connections are cut instead; its jobs were cancelled already.
 */
async function closeWorker(worker: Worker): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), WORKER_CLOSE_MS);
    timer.unref();
  });
  const outcome = await Promise.race([worker.close().then(() => 'closed' as const), bound]).finally(() => clearTimeout(timer));
  // disconnect() can wait on the same missing event, so it is not awaited either.
  if (outcome === 'late') void worker.disconnect().catch(() => undefined);
}
