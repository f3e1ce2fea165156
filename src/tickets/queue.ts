/**
 * The BullMQ `tickets` queue: one job per ended call, id derived from the
 * call's Asterisk id, so a second submission of the same call is a no-op.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import type { CallRecord } from '../calls/record.js';
import { UnconfirmedError, type JobSink } from './outbox.js';
import type { Redis } from 'ioredis';

export const TICKETS_QUEUE = 'tickets';
export const CALL_ENDED_JOB = 'call-ended';

export interface CallEndedJob {
  record: CallRecord;
  submittedAt: number;
}

/** BullMQ forbids ':' in custom ids; Asterisk ids are `<epoch>.<seq>` and may come from any instance. */
export function ticketJobId(callId: string): string {
  return `call-${callId.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** How long finished jobs are kept: their ids are what makes resubmission idempotent. */
export const KEEP_FINISHED_SECONDS = 30 * 24 * 3600;

export function createTicketsQueue(connection: ConnectionOptions, prefix: string): Queue<CallEndedJob> {
  return new Queue<CallEndedJob>(TICKETS_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: 20,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: KEEP_FINISHED_SECONDS },
      removeOnFail: { age: KEEP_FINISHED_SECONDS },
    },
  });
}

/**
 * The queue as the outbox's sink, confirming each job on `count` replicas (Redis `WAIT` on the
 * connection that wrote it) before the outbox deletes its spooled file. Behind Sentinel an
 * acknowledged write may still be lost when the primary dies before replicating it; a job held by too
 * few replicas is reported as failed, so the outbox keeps the file and submits it again (same job id:
 * a no-op if it did survive).
 */
export function replicaAckedSink(queue: Queue<CallEndedJob>, acks: { count: number; timeoutMs: number }): JobSink {
  if (acks.count === 0) return queue;
  return {
    async addBulk(jobs) {
      const added = await queue.addBulk(jobs.map((j) => ({ ...j, name: j.name as typeof CALL_ENDED_JOB })));
      // BullMQ's client is the ioredis connection that ran the add scripts.
      const client = (await queue.client) as unknown as Redis;
      const held = await client.wait(acks.count, acks.timeoutMs);
      if (held < acks.count) throw new UnconfirmedError(`${jobs.length} ticket job(s) from ${jobs[0]?.opts.jobId} confirmed by ${held} of ${acks.count} replicas`);
      return added;
    },
  };
}
