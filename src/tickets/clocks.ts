/**
 * Ticket clocks as BullMQ delayed jobs: reminders (催办) at each `remindAt`
 * instant, and overdue flags (督办) just after `replyBy` and `finishBy`.
 *
 * Job ids derive from the ticket number, the kind and the instant, so
 * scheduling twice is a no-op; a ticket extended or reopened gets new
 * instants (new ids) and its stale jobs are removed — and if one still runs,
 * it finds the deadlines changed and does nothing. The clock is injected
 * (`now`): delays are computed from it, and {@link TicketClocks.runDue} lets a
 * test move time and fire what is due at once.
 *
 * Effects are kept beside the ticket (not in its history, which is the
 * lifecycle's): `ticket:<no>:flags` (reminded / overdue instants) and the
 * `ticket:overdue` index of tickets awaiting supervision.
 */
import type { ConnectionOptions, Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createJobQueue, type JobQueue } from '../util/jobs.js';
import type { Ticket, TicketState } from './model.js';
import type { TicketStore } from './store.js';
import { redisKey } from '../util/redis-keys.js';

export const CLOCKS_QUEUE = 'ticket-clocks';

export type ClockKind = 'remind' | 'reply-overdue' | 'finish-overdue';

export interface ClockJob {
  ticketNo: string;
  kind: ClockKind;
  /** The instant the job stands for. */
  at: number;
  /** The deadlines it was scheduled for (stale when they changed). */
  startedAt: number;
  finishBy: number;
}

export interface TicketFlags {
  /** Reminder instants that fired. */
  reminded: number[];
  replyOverdueAt?: number;
  finishOverdueAt?: number;
}

/** States in which the finish clock no longer runs (the unit replied, or no unit holds it). */
const FINISH_DONE: readonly TicketState[] = ['replied', 'called-back', 'rated', 'closed', 'answered-directly', 'returned', 'supervisor-review', 'received'];
/** States in which the reply clock (contact the caller) has stopped too. */
const REPLY_DONE: readonly TicketState[] = [...FINISH_DONE, 'in-progress'];

/** The clock instants of a ticket's deadlines in force (empty when it has none or they stopped). */
export function clockInstants(t: Ticket): ClockJob[] {
  const d = t.deadlines;
  if (!d || FINISH_DONE.includes(t.state)) return [];
  const base = { ticketNo: t.ticketNo, startedAt: d.startedAt, finishBy: d.finishBy };
  const out: ClockJob[] = d.remindAt.map((at) => ({ ...base, kind: 'remind' as const, at }));
  if (d.replyBy !== undefined && !REPLY_DONE.includes(t.state)) out.push({ ...base, kind: 'reply-overdue', at: d.replyBy + 1 });
  out.push({ ...base, kind: 'finish-overdue', at: d.finishBy + 1 });
  return out;
}

export function clockJobId(j: Pick<ClockJob, 'ticketNo' | 'kind' | 'at'>): string {
  return `${j.kind}-${j.ticketNo}-${j.at}`;
}

/** Is the job still about the ticket's deadlines in force, in a state where it matters? */
export function clockStillApplies(t: Ticket | undefined, j: ClockJob): boolean {
  if (!t?.deadlines || t.deadlines.startedAt !== j.startedAt || t.deadlines.finishBy !== j.finishBy) return false;
  if (j.kind === 'reply-overdue') return !REPLY_DONE.includes(t.state) && t.deadlines.replyBy !== undefined;
  if (j.kind === 'remind') return !FINISH_DONE.includes(t.state) && t.deadlines.remindAt.includes(j.at);
  return !FINISH_DONE.includes(t.state);
}

export interface TicketClocksOptions {
  connection: ConnectionOptions;
  prefix: string;
  redis: Redis;
  store: TicketStore;
  log: Logger;
  now: () => number;
  /** Run the worker in this process (default true). */
  worker?: boolean;
  onFired?: (j: ClockJob) => void;
}

export class TicketClocks {
  readonly queue: Queue<ClockJob>;
  readonly worker: Worker<ClockJob> | undefined;
  private readonly log: Logger;
  private readonly jobs: JobQueue<ClockJob>;

  constructor(private readonly o: TicketClocksOptions) {
    this.log = o.log.child({ component: 'ticket-clocks' });
    this.jobs = createJobQueue<ClockJob>({
      name: CLOCKS_QUEUE,
      connection: o.connection,
      prefix: o.prefix,
      log: this.log,
      defaultJobOptions: { attempts: 10, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 30 * 86_400 }, removeOnFail: { age: 90 * 86_400 } },
      process: (job) => this.fire(job),
      runWorker: o.worker !== false,
      concurrency: 4,
    });
    this.queue = this.jobs.queue;
    this.worker = this.jobs.worker;
  }

  private key(...p: string[]): string {
    return redisKey(this.o.prefix, 'ticket', ...p);
  }

  /** Schedule the ticket's clocks (idempotent) and drop jobs of deadlines no longer in force. */
  async schedule(t: Ticket, previous?: Ticket): Promise<void> {
    const wanted = clockInstants(t);
    const ids = new Set(wanted.map(clockJobId));
    const now = this.o.now();
    for (const j of wanted) {
      await this.queue.add(j.kind, j, { jobId: clockJobId(j), delay: Math.max(0, j.at - now) });
    }
    if (previous) {
      for (const old of clockInstants(previous)) {
        const id = clockJobId(old);
        if (ids.has(id)) continue;
        const job = await this.queue.getJob(id);
        if (job && (await job.isDelayed())) await job.remove().catch(() => undefined);
      }
    }
    if (!t.deadlines || FINISH_DONE.includes(t.state)) await this.o.redis.zrem(this.key('overdue'), t.ticketNo);
  }

  /** What the clocks did to a ticket. */
  async flags(ticketNo: string): Promise<TicketFlags> {
    const h = await this.o.redis.hgetall(this.key(ticketNo, 'flags'));
    const reminded = Object.keys(h).filter((k) => k.startsWith('remind:')).map((k) => Number(k.slice(7))).sort((a, b) => a - b);
    return {
      reminded,
      ...(h['reply-overdue'] ? { replyOverdueAt: Number(h['reply-overdue']) } : {}),
      ...(h['finish-overdue'] ? { finishOverdueAt: Number(h['finish-overdue']) } : {}),
    };
  }

  /** Tickets flagged overdue and not yet replied (督办 list), oldest first. */
  overdue(): Promise<string[]> {
    return this.o.redis.zrange(this.key('overdue'), 0, -1);
  }

  /**
   * For a moved clock (tests, or catching up after downtime): promote every
   * delayed job due at `now()` and wait until they ran.
   */
  async runDue(timeoutMs = 10_000): Promise<number> {
    const now = this.o.now();
    const due = (await this.queue.getDelayed(0, -1)).filter((j) => j.data.at <= now);
    for (const j of due) await j.promote().catch(() => undefined);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(due.map((j) => this.queue.getJobState(j.id!)));
      if (states.every((s) => s === 'completed' || s === 'failed' || s === 'unknown')) return due.length;
      if (Date.now() > deadline) throw new Error(`clock jobs still pending: ${states.join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async fire(job: Job<ClockJob>): Promise<void> {
    const j = job.data;
    const st = await this.o.store.get(j.ticketNo);
    if (!clockStillApplies(st?.ticket, j)) {
      this.log.debug({ jobId: job.id }, 'stale ticket clock ignored');
      return;
    }
    const field = j.kind === 'remind' ? `remind:${j.at}` : j.kind;
    const firstTime = (await this.o.redis.hsetnx(this.key(j.ticketNo, 'flags'), field, String(j.at))) === 1;
    if (j.kind !== 'remind') await this.o.redis.zadd(this.key('overdue'), 'NX', j.at, j.ticketNo);
    if (firstTime) {
      this.log.info({ ticketNo: j.ticketNo, kind: j.kind, at: j.at }, j.kind === 'remind' ? 'ticket reminder (催办)' : 'ticket overdue (督办)');
      this.o.onFired?.(j);
    }
  }

  close(): Promise<void> {
    return this.jobs.close();
  }
}
