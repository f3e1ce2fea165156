/**
 * The BullMQ `tickets` queue: one job per ended call, id derived from the
 * call's Asterisk id, so a second submission of the same call is a no-op.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import type { CallRecord } from '../calls/record.js';

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
