/**
 * Pushes back to the higher platforms a work order came from (国家/省/市平台, 政企通, 接诉即办):
 * its state changes and its reply, over the webhook machinery of src/tickets/webhook.ts — one
 * BullMQ job per (ticket, version, kind), retried with exponential backoff, kept in the failed
 * set after the last attempt (the dead letters), the body fixed at enqueue so every try sends
 * the same bytes.
 *
 * Signing is the intake's own scheme (model.ts): `x-hotline-timestamp` and `x-hotline-signature`
 * = HMAC-SHA256(platform secret, timestamp + "." + body), the timestamp taken at each try, so a
 * retry hours later is still inside the receiver's replay window; `idempotency-key` is the same
 * on every try and tells the platform "you have this one already".
 *
 * The reply is pushed only through {@link UpstreamPort.pushReply}: the seeds want the centre to
 * review (审核) a unit's reply before it goes up (003 二(三), 004 三(四)3), so whoever approves
 * it calls the port; state changes are pushed on every committed change.
 */
import type { ConnectionOptions, Job, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { maskNumbersInText } from '../access/mask.js';
import type { Ticket } from '../tickets/model.js';
import { IDEMPOTENCY_HEADER, postSigned } from '../tickets/webhook.js';
import { createJobQueue, type JobQueue } from '../util/jobs.js';
import { signRequest, SIGNATURE_HEADER, TIMESTAMP_HEADER, type UpstreamPlatform } from './model.js';

export const UPSTREAM_QUEUE = 'upstream-push';

export interface UpstreamTarget {
  url: string;
  secret: string;
}

export interface UpstreamJob {
  key: string;
  platform: UpstreamPlatform;
  body: string;
}

/** What a reviewer hands over with an approved reply. */
export interface ReviewedReply {
  reviewedBy: string;
  reviewedAt: number;
  /** The reply as approved; default: the unit's latest reply on the ticket. */
  content?: string;
}

/**
 * The port the reply review (审核) and anything else call to send a ticket's state or reply to
 * the platform it came from. Both are idempotent per ticket version: calling twice queues once.
 * They resolve `false` (and send nothing) for a ticket that did not come from a platform, or
 * from one without a configured push target.
 */
export interface UpstreamPort {
  pushState(t: Ticket, version: number): Promise<boolean>;
  pushReply(t: Ticket, version: number, reply: ReviewedReply): Promise<boolean>;
}

export interface UpstreamPushOptions {
  connection: ConnectionOptions;
  prefix: string;
  targets: ReadonlyMap<UpstreamPlatform, UpstreamTarget>;
  attempts: number;
  backoffMs: number;
  timeoutMs?: number;
  log: Logger;
  worker?: boolean;
  /** Clock of the signature timestamps (tests may move it). */
  now?: () => number;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The latest reply (答复) content on a ticket. */
export function latestReply(t: Ticket): { content: string; at: number; unit?: string } | undefined {
  const e = [...t.history].reverse().find((h) => h.type === 'replied');
  if (!e || typeof e.data?.content !== 'string') return undefined;
  return { content: e.data.content, at: e.at, ...(e.actor.unit ? { unit: e.actor.unit } : {}) };
}

/** The body of a state push: our number and theirs, the state, the units, both sets of deadlines. */
export function statePayload(t: Ticket, version: number) {
  const u = t.upstream!;
  return {
    event: 'order.state',
    platform: u.platform,
    orderNo: u.orderNo,
    ticketNo: t.ticketNo,
    version,
    state: t.state,
    units: t.units,
    at: iso(t.history.at(-1)?.at),
    deadlines: {
      platform: { replyBy: iso(u.replyBy), finishBy: iso(u.finishBy) },
      centre: { replyBy: iso(t.deadlines?.replyBy), finishBy: iso(t.deadlines?.finishBy), dispatchBy: iso(t.dispatchBy) },
    },
  };
}

/**
 * The body of a reply push. The platform issued the order with the citizen's number, but the
 * reply text is free text written by a unit: numbers in it are masked like in every export.
 */
export function replyPayload(t: Ticket, version: number, r: ReviewedReply) {
  const u = t.upstream!;
  const latest = latestReply(t);
  return {
    event: 'order.reply',
    platform: u.platform,
    orderNo: u.orderNo,
    ticketNo: t.ticketNo,
    version,
    state: t.state,
    reply: {
      content: maskNumbersInText(r.content ?? latest?.content ?? ''),
      unit: latest?.unit ?? t.units[0] ?? '',
      repliedAt: iso(latest?.at),
      reviewedBy: r.reviewedBy,
      reviewedAt: iso(r.reviewedAt),
    },
  };
}

export class UpstreamPush implements UpstreamPort {
  readonly queue: Queue<UpstreamJob>;
  private readonly jobs: JobQueue<UpstreamJob>;
  private readonly log: Logger;

  constructor(private readonly o: UpstreamPushOptions) {
    this.log = o.log.child({ component: 'upstream-push' });
    this.jobs = createJobQueue<UpstreamJob>({
      name: UPSTREAM_QUEUE,
      connection: o.connection,
      prefix: o.prefix,
      log: this.log,
      defaultJobOptions: { attempts: o.attempts, backoff: { type: 'exponential', delay: o.backoffMs }, removeOnComplete: { age: 30 * 86_400 }, removeOnFail: false },
      process: (job) => this.post(job),
      runWorker: o.worker !== false,
      concurrency: 4,
    });
    this.queue = this.jobs.queue;
    this.jobs.worker?.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) this.log.error({ key: job.data.key, platform: job.data.platform, err: err.message }, 'upstream push gave up (dead letter)');
    });
  }

  private target(t: Ticket): UpstreamTarget | undefined {
    return t.upstream ? this.o.targets.get(t.upstream.platform) : undefined;
  }

  async pushState(t: Ticket, version: number): Promise<boolean> {
    if (!this.target(t) || version < 1) return false;
    return this.add(t, `${t.ticketNo}-state-${version}`, JSON.stringify(statePayload(t, version)));
  }

  async pushReply(t: Ticket, version: number, reply: ReviewedReply): Promise<boolean> {
    if (!this.target(t) || version < 1) return false;
    return this.add(t, `${t.ticketNo}-reply-${version}`, JSON.stringify(replyPayload(t, version, reply)));
  }

  private async add(t: Ticket, key: string, body: string): Promise<boolean> {
    // The job id is the idempotency key: a second push of the same version is a no-op in BullMQ.
    await this.queue.add('push', { key, platform: t.upstream!.platform, body }, { jobId: `up-${key}` });
    return true;
  }

  /** Pushes that gave up after the last attempt. */
  async deadLetters(): Promise<{ key: string; platform: string; attempts: number; error: string }[]> {
    const failed = await this.queue.getFailed(0, 200);
    return failed.map((j) => ({ key: j.data.key, platform: j.data.platform, attempts: j.attemptsMade, error: j.failedReason }));
  }

  private async post(job: Job<UpstreamJob>): Promise<void> {
    const target = this.o.targets.get(job.data.platform);
    if (!target) throw new Error(`no push target for platform ${job.data.platform}`);
    const ts = String(Math.floor((this.o.now ?? Date.now)() / 1000));
    await postSigned(
      target.url,
      { [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: signRequest(target.secret, ts, job.data.body), [IDEMPOTENCY_HEADER]: job.data.key },
      job.data.body,
      this.o.timeoutMs ?? 10_000,
      `platform ${job.data.platform}`,
    );
    this.log.info({ key: job.data.key, platform: job.data.platform, attempt: job.attemptsMade + 1 }, 'pushed to the higher platform');
  }

  close(): Promise<void> {
    return this.jobs.close();
  }
}
