/**
 * The supervision run on BullMQ: one queue (`supervision`), one job scheduler
 * (`daily`, default 00:10 Asia/Shanghai), so however many instances run, each
 * day's run happens once: the automatic 督办 rules, then the bulletins of the
 * periods that just ended (service.ts `daily`). Everything it does is
 * idempotent (orders by key, a bulletin replaced by its rerun), so a retried
 * or re-delivered job changes nothing twice.
 */
import type { ConnectionOptions, Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { createJobQueue } from '../util/jobs.js';
import type { SupervisionService } from './service.js';

export const SUPERVISION_QUEUE = 'supervision';
export const DAILY_JOB = 'daily';

export interface SupervisionJobs {
  queue: Queue;
  worker: Worker | undefined;
  schedule(): Promise<void>;
  close(): Promise<void>;
}

export function createSupervisionJobs(o: { connection: ConnectionOptions; prefix: string; service: SupervisionService; log: Logger; worker: boolean; schedule?: string | { everyMs: number } }): SupervisionJobs {
  const log = o.log.child({ component: 'supervision-jobs' });
  const jobs = createJobQueue<unknown>({
    name: SUPERVISION_QUEUE,
    connection: o.connection,
    prefix: o.prefix,
    log,
    runWorker: o.worker,
    defaultJobOptions: { attempts: 5, backoff: { type: 'exponential', delay: 10_000 }, removeOnComplete: 50, removeOnFail: 200 },
    process: async (job) => {
      if (job.name !== DAILY_JOB) return undefined;
      const r = await o.service.daily();
      log.info(r, 'supervision daily run');
      return r;
    },
  });
  const s = o.schedule ?? '10 0 * * *';
  return {
    queue: jobs.queue,
    worker: jobs.worker,
    async schedule() {
      await jobs.queue.upsertJobScheduler(DAILY_JOB, typeof s === 'string' ? { pattern: s, tz: 'Asia/Shanghai' } : { every: s.everyMs }, { name: DAILY_JOB });
    },
    close: () => jobs.close(),
  };
}
