/**
 * The ticket worker: turns each `call-ended` job into the call's ticket.
 * At-least-once delivery + an idempotent store = exactly one ticket per call.
 */
import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { maskNumber } from '../access/mask-numbers.js';
import { CALL_ENDED_JOB, TICKETS_QUEUE, type CallEndedJob } from './queue.js';
import type { TicketStore } from './store.js';

export interface TicketWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  store: TicketStore;
  logger: Logger;
  concurrency?: number;
  /** Lock and stall detection (tests shorten them to see a killed worker's job picked up again). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Called after a ticket exists for the call (first time or again). */
  onTicket?: (ticketNo: string, job: CallEndedJob, created: boolean) => void | Promise<void>;
}

export function createTicketWorker(o: TicketWorkerOptions): Worker<CallEndedJob> {
  const log = o.logger.child({ component: 'ticket-worker' });
  // The tickets of one turn of the event loop (the worker's concurrent jobs) share one log line: at a few
  // thousand tickets a second a line each cost the worker about a twentieth of its time (bench part 3).
  type Made = { jobId: string | undefined; callId: string; caller: string; ticketNo: string; created: boolean };
  let made: Made[] = [];
  const logMade = () => {
    const batch = made;
    made = [];
    const fresh = batch.filter((t) => t.created).length;
    if (batch.length === 1) log.info(batch[0], fresh ? 'ticket created' : 'ticket already existed for this call');
    // A constant message (counts in fields), so that log searches and alerts find every batch.
    else log.info({ created: fresh, existed: batch.length - fresh, tickets: batch }, 'tickets of concurrent jobs');
  };
  const worker = new Worker<CallEndedJob>(
    TICKETS_QUEUE,
    async (job: Job<CallEndedJob>) => {
      if (job.name !== CALL_ENDED_JOB) throw new Error(`unknown ticket job "${job.name}"`);
      const { ticketNo, created } = await o.store.createFromCall(job.data.record);
      if (made.push({ jobId: job.id, callId: job.data.record.callId, caller: maskNumber(job.data.record.caller.number), ticketNo, created }) === 1) setImmediate(logMade);
      await o.onTicket?.(ticketNo, job.data, created);
      return { ticketNo };
    },
    {
      connection: o.connection,
      prefix: o.prefix,
      concurrency: o.concurrency ?? 8,
      autorun: true,
      ...(o.lockDurationMs ? { lockDuration: o.lockDurationMs } : {}),
      ...(o.stalledIntervalMs ? { stalledInterval: o.stalledIntervalMs } : {}),
    },
  );
  worker.on('error', (err) => log.warn({ err: err.message }, 'ticket worker error'));
  return worker;
}
