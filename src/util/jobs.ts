/**
 * One BullMQ queue with its (optional) worker in this process, the way every
 * background task of the server runs them: errors of the connection logged,
 * never thrown into the event loop; the worker's connection with
 * `maxRetriesPerRequest: null` as BullMQ requires; close() closes both.
 */
import { Queue, Worker, type ConnectionOptions, type DefaultJobOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';

export interface JobQueueOptions<T> {
  name: string;
  connection: ConnectionOptions;
  prefix: string;
  log: Logger;
  defaultJobOptions: DefaultJobOptions;
  /** The handler; absent or `runWorker: false` = this process only adds jobs. */
  process: (job: Job<T>) => Promise<unknown>;
  /** Run the worker here (default true). */
  runWorker?: boolean;
  concurrency?: number;
  /** How long a job's lock lasts without renewal, and how often stalled jobs are looked for (BullMQ's 30 s by default). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export interface JobQueue<T> {
  readonly queue: Queue<T>;
  readonly worker: Worker<T> | undefined;
  close(): Promise<void>;
}

export function createJobQueue<T>(o: JobQueueOptions<T>): JobQueue<T> {
  const queue = new Queue<T>(o.name, { connection: o.connection, prefix: o.prefix, defaultJobOptions: o.defaultJobOptions });
  queue.on('error', (err) => o.log.debug({ err: err.message }, `${o.name} queue error`));
  const worker =
    o.runWorker === false
      ? undefined
      : new Worker<T>(o.name, (job) => o.process(job), {
          connection: { ...(o.connection as object), maxRetriesPerRequest: null } as ConnectionOptions,
          prefix: o.prefix,
          concurrency: o.concurrency ?? 1,
          ...(o.lockDurationMs ? { lockDuration: o.lockDurationMs } : {}),
          ...(o.stalledIntervalMs ? { stalledInterval: o.stalledIntervalMs } : {}),
        });
  worker?.on('error', (err) => o.log.warn({ err: err.message }, `${o.name} worker error`));
  return {
    queue,
    worker,
    async close() {
      await worker?.close();
      await queue.close();
    },
  };
}
