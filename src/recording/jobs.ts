/**
 * Scheduled recording maintenance on BullMQ: one queue (`recordings`), one
 * job scheduler per task, so that however many instances run, each tick runs
 * once.
 * - `retention` (default 03:15 Asia/Shanghai): fill size/checksum of files
 *   that appeared late, then delete what outlived the retention period
 *   (legal hold excepted);
 * - `sampling` (optional, default 01:30 daily): quality-inspection sampling of
 *   the previous day.
 */
import type { ConnectionOptions, Job, Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { createJobQueue } from '../util/jobs.js';
import type { PurgeResult, RecordingService } from './service.js';

export const RECORDINGS_QUEUE = 'recordings';
export const RETENTION_JOB = 'retention';
export const SAMPLING_JOB = 'sampling';

export interface RecordingJobsOptions {
  connection: ConnectionOptions;
  prefix: string;
  service: RecordingService;
  log: Logger;
  /** The clock retention is judged by (tests move it forward). */
  now?: () => number;
  /** Cron pattern of the retention run, or `{ everyMs }`; default `15 3 * * *` in Asia/Shanghai. */
  retentionSchedule?: string | { everyMs: number };
  /** Quality sampling, run on its own schedule when given. */
  sampling?: { run: (now: number) => Promise<unknown>; schedule?: string | { everyMs: number } };
  /** Run the worker in this process (default true). */
  worker?: boolean;
}

export interface RecordingJobs {
  queue: Queue;
  worker: Worker | undefined;
  /** Register (or update) the schedulers; idempotent across instances. */
  schedule(): Promise<void>;
  /** Run a retention pass now through the queue; resolves with its result. */
  runRetentionNow(): Promise<void>;
  close(): Promise<void>;
}

function repeatOf(s: string | { everyMs: number }) {
  return typeof s === 'string' ? { pattern: s, tz: 'Asia/Shanghai' } : { every: s.everyMs };
}

export function createRecordingJobs(o: RecordingJobsOptions): RecordingJobs {
  const log = o.log.child({ component: 'recording-jobs' });
  const now = o.now ?? Date.now;
  const jobs = createJobQueue<unknown>({
    name: RECORDINGS_QUEUE,
    connection: o.connection,
    prefix: o.prefix,
    log,
    defaultJobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: 100, removeOnFail: 500 },
    process: async (job: Job) => {
      if (job.name === RETENTION_JOB) {
        const filled = await o.service.fillPending();
        const r: PurgeResult = await o.service.purgeExpired(now());
        return { filled, deleted: r.deleted.length, held: r.held.length, failed: r.failed.length };
      }
      if (job.name === SAMPLING_JOB && o.sampling) return o.sampling.run(now());
      throw new Error(`unknown recordings job "${job.name}"`);
    },
    runWorker: o.worker !== false,
  });
  const { queue, worker } = jobs;
  worker?.on('failed', (job, err) => log.warn({ job: job?.name, err: err.message }, 'recordings job failed'));
  return {
    queue,
    worker,
    async schedule() {
      await queue.upsertJobScheduler(RETENTION_JOB, repeatOf(o.retentionSchedule ?? '15 3 * * *'), { name: RETENTION_JOB });
      if (o.sampling) await queue.upsertJobScheduler(SAMPLING_JOB, repeatOf(o.sampling.schedule ?? '30 1 * * *'), { name: SAMPLING_JOB });
    },
    async runRetentionNow() {
      await queue.add(RETENTION_JOB, {});
    },
    async close() {
      await jobs.close().catch(() => undefined);
    },
  };
}
