/**
 * The ticket outbox: a call's end is written to a local spool before it is
 * handed to BullMQ, and removed only once Redis has accepted the job.
 *
 * @remarks
 * This is what makes "nothing lost" hold when Redis is down or restarting, and
 * when the server itself is restarted before Redis came back: the spool is
 * flushed on start and every few seconds. Enqueueing is idempotent (the job id
 * derives from the call id), so a flush that races a submit, or a job that
 * reached Redis just before a timeout, never makes a second ticket.
 */
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CallRecord } from '../calls/record.js';
import { withTimeout } from '../telephony/limits.js';
import { CALL_ENDED_JOB, ticketJobId, type CallEndedJob } from './queue.js';

export interface JobSink {
  add(name: string, data: CallEndedJob, opts: { jobId: string }): Promise<unknown>;
}

export interface TicketOutboxOptions {
  dir: string;
  sink: JobSink;
  logger: Logger;
  addTimeoutMs?: number;
  retryMs?: number;
}

export class TicketOutbox {
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<number> | undefined;
  private readonly log: Logger;
  private spooled = 0;

  constructor(private readonly opts: TicketOutboxOptions) {
    this.log = opts.logger.child({ component: 'ticket-outbox' });
  }

  /** Jobs written to the spool and not yet accepted by Redis (as of the last submit/flush). */
  get pending(): number {
    return this.spooled;
  }

  async init(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    this.spooled = (await this.files()).length;
  }

  start(): void {
    if (this.timer) return;
    const every = this.opts.retryMs ?? 2000;
    this.timer = setInterval(() => void this.flush(), every);
    this.timer.unref();
    void this.flush();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flushing;
  }

  /** Record a call's end durably, then try to enqueue it. Never throws for Redis trouble. */
  async submit(record: CallRecord): Promise<'queued' | 'spooled'> {
    const jobId = ticketJobId(record.callId);
    const job: CallEndedJob = { record, submittedAt: Date.now() };
    const file = join(this.opts.dir, `${jobId}.json`);
    await writeDurably(file, JSON.stringify(job));
    this.spooled++;
    return (await this.deliver(file, jobId, job)) ? 'queued' : 'spooled';
  }

  /** Try every spooled job once; returns how many are still waiting. */
  flush(): Promise<number> {
    if (!this.flushing) {
      this.flushing = this.flushOnce().finally(() => (this.flushing = undefined));
    }
    return this.flushing;
  }

  private async flushOnce(): Promise<number> {
    const names = await this.files();
    let left = 0;
    for (const name of names) {
      const file = join(this.opts.dir, name);
      let job: CallEndedJob;
      try {
        job = JSON.parse(await readFile(file, 'utf8')) as CallEndedJob;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        // A torn write cannot happen (rename is atomic); anything else is kept for an operator.
        this.log.error({ file: name, err: (err as Error).message }, 'unreadable outbox entry left in place');
        left++;
        continue;
      }
      if (!(await this.deliver(file, name.replace(/\.json$/, ''), job))) left++;
    }
    this.spooled = left;
    return left;
  }

  private async deliver(file: string, jobId: string, job: CallEndedJob): Promise<boolean> {
    try {
      await withTimeout(this.opts.sink.add(CALL_ENDED_JOB, job, { jobId }), this.opts.addTimeoutMs ?? 3000, 'enqueue ticket job');
    } catch (err) {
      this.log.warn({ jobId, err: (err as Error).message }, 'ticket job kept in outbox; Redis unavailable');
      return false;
    }
    try {
      await unlink(file);
      this.spooled = Math.max(0, this.spooled - 1);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.log.info({ jobId }, 'ticket job enqueued');
    return true;
  }

  private async files(): Promise<string[]> {
    try {
      return (await readdir(this.opts.dir)).filter((n) => n.endsWith('.json')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}

async function writeDurably(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
