import { HearthError } from '../errors/index.js';

/**
 * The seam between hearth's jobs and what runs them: in this process (the
 * default, no Redis), or on BullMQ workers. A job is a flow, as BullMQ
 * calls it: children that each do one piece of work (a chunk), retried on
 * failure, and a parent that runs once every child has a result, with the
 * results in the children's order whatever order they finished in.
 */

export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface FlowSpec {
  /** The processors that run it (registered under this name). */
  queue: string;
  /** What the parent needs (the model, the tasks, the options). */
  data: unknown;
  /** One per piece of work, in order. */
  children: unknown[];
  /** Tries per child before the job fails with its error (default 3). */
  attempts?: number | undefined;
  /**
   * Children before this index run first, then the processors' gate() on
   * their results, and only then the others: a check that stops a large
   * job early (ingestion's validation on its first documents). Unset or 0:
   * no gate.
   */
  gate?: number | undefined;
}

export interface JobError {
  code: string;
  message: string;
  details?: Record<string, unknown> | undefined;
}

/** A typed error as a job keeps it (in a file, or as text in Redis). */
export function jobError(error: HearthError): JobError {
  return { code: error.code, message: error.message, ...(Object.keys(error.details).length > 0 ? { details: error.details } : {}) };
}

export interface JobStatus {
  id: string;
  queue: string;
  state: JobState;
  /** Children done, of all. */
  progress: { done: number; total: number };
  result?: unknown;
  /** A failed job's error: the typed error of the child (or gate, or parent) that failed it. */
  error?: JobError | undefined;
  createdAt: string;
  finishedAt?: string | undefined;
}

export interface JobContext {
  signal: AbortSignal;
  /** 1 on the first try. */
  attempt: number;
}

/** The parent's context: what gate() returned, for a gated flow. */
export interface ParentContext extends JobContext {
  gate?: unknown;
}

/** What a queue's jobs do. A child may run more than once (at-least-once delivery): its effect must be idempotent. */
export interface JobProcessors {
  child(data: unknown, child: unknown, index: number, ctx: JobContext): Promise<unknown>;
  parent(data: unknown, results: unknown[], ctx: ParentContext): Promise<unknown>;
  /** For a gated flow: runs once on the first children's results; throwing fails the job before any other child runs. */
  gate?(data: unknown, results: unknown[], ctx: JobContext): Promise<unknown>;
}

export interface JobExecutor {
  readonly kind: 'in-process' | 'bullmq';
  register(queue: string, processors: JobProcessors): void;
  /** Queues a job; its id at once. */
  submit(flow: FlowSpec): Promise<string>;
  /** undefined for an id no job has. */
  get(id: string): Promise<JobStatus | undefined>;
  /** The job's status at every change, from now until it ends (the last one is terminal). */
  watch(id: string, signal?: AbortSignal): AsyncIterable<JobStatus>;
  /** Stops a job that has not ended; false when there is none to stop. */
  cancel(id: string): Promise<boolean>;
  /** Idempotent: stops running children (an in-process job resumes at the next start) and closes connections. */
  dispose(): Promise<void>;
}

export function isTerminal(state: JobState): boolean {
  return state === 'completed' || state === 'failed' || state === 'cancelled';
}

/** What get() answers as undefined, and watch() and a cancel over HTTP throw. */
export function notFound(id: string): HearthError {
  return new HearthError('JOB_NOT_FOUND', `no job with id ${id}`, { details: { job: id } });
}
