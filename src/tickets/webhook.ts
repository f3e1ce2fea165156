/**
 * Delivery of tickets and their state changes to the city's work-order
 * system: one BullMQ job per ticket version (job id and idempotency key =
 * ticket number + version), POSTed as JSON with an HMAC-SHA256 signature of
 * the exact body, retried with exponential backoff; what still fails after the
 * last attempt stays in the queue's failed set (the dead-letter list).
 *
 * The body is fixed when the job is enqueued, so every retry sends the same
 * bytes and signature. Caller numbers are masked (also inside the summary)
 * unless the deployment is configured to send them in full.
 */
import { createHmac } from 'node:crypto';
import type { ConnectionOptions, Job, Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { maskNumber, maskNumbersInText } from '../access/mask.js';
import { maskName } from '../access/masking.js';
import { createJobQueue, type JobQueue } from '../util/jobs.js';
import type { Ticket } from './model.js';

export const WEBHOOK_QUEUE = 'ticket-webhook';
export const SIGNATURE_HEADER = 'x-hotline-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export interface WebhookJob {
  key: string;
  body: string;
}

export interface WebhookOptions {
  connection: ConnectionOptions;
  prefix: string;
  url: string;
  secret: string;
  fullNumbers: boolean;
  attempts: number;
  backoffMs: number;
  timeoutMs?: number;
  log: Logger;
  worker?: boolean;
}

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * One try of a signed delivery: POST the exact body with the given headers. 2xx = delivered, 409 =
 * the receiver already has it (delivered too); anything else throws, and BullMQ retries with
 * backoff until the job's attempts are used up (then it stays in the failed set: the dead letters).
 * Shared by the work-order webhook and the pushes to higher platforms (src/intake/upstream.ts).
 */
export async function postSigned(url: string, headers: Record<string, string>, body: string, timeoutMs: number, who = 'work-order system'): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status === 409) return;
  if (res.status < 200 || res.status >= 300) throw new Error(`${who} answered ${res.status}`);
}

export function idempotencyKey(ticketNo: string, version: number): string {
  return `${ticketNo}-${version}`;
}

/** Free texts in history entries' data that may quote a number: a reply's content, a direct answer. */
const HISTORY_TEXT_KEYS = new Set(['content', 'answer']);

/**
 * The ticket with caller numbers masked: the number itself and every free
 * text (summary, history reasons, reply contents and direct answers).
 */
export function maskTicketNumbers(t: Ticket): Ticket {
  return {
    ...t,
    callerNumber: maskNumber(t.callerNumber),
    ...(t.contactName ? { contactName: maskName(t.contactName) } : {}),
    summary: maskNumbersInText(t.summary),
    history: t.history.map((h) => ({
      ...h,
      ...(h.reason ? { reason: maskNumbersInText(h.reason) } : {}),
      ...(h.data ? { data: Object.fromEntries(Object.entries(h.data).map(([k, v]) => [k, typeof v === 'string' && HISTORY_TEXT_KEYS.has(k) ? maskNumbersInText(v) : v])) } : {}),
    })),
  };
}

/** What the work-order system receives for one version of a ticket. */
export function webhookPayload(t: Ticket, version: number, fullNumbers: boolean) {
  const ticket = fullNumbers ? t : maskTicketNumbers(t);
  return { event: version <= 1 ? 'ticket.created' : 'ticket.updated', ticketNo: t.ticketNo, version, state: t.state, ticket };
}

export class TicketWebhook {
  readonly queue: Queue<WebhookJob>;
  readonly worker: Worker<WebhookJob> | undefined;
  private readonly log: Logger;
  private readonly jobs: JobQueue<WebhookJob>;

  constructor(private readonly o: WebhookOptions) {
    this.log = o.log.child({ component: 'ticket-webhook' });
    this.jobs = createJobQueue<WebhookJob>({
      name: WEBHOOK_QUEUE,
      connection: o.connection,
      prefix: o.prefix,
      log: this.log,
      // Failed jobs are kept: they are the dead-letter list.
      defaultJobOptions: { attempts: o.attempts, backoff: { type: 'exponential', delay: o.backoffMs }, removeOnComplete: { age: 30 * 86_400 }, removeOnFail: false },
      process: (job) => this.post(job),
      runWorker: o.worker !== false,
      concurrency: 4,
    });
    this.queue = this.jobs.queue;
    this.worker = this.jobs.worker;
    this.worker?.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) this.log.error({ key: job.data.key, err: err.message }, 'webhook delivery gave up (dead letter)');
    });
  }

  /** Queue a ticket version for delivery (idempotent per version). */
  async enqueue(t: Ticket, version: number): Promise<void> {
    if (version < 1) return;
    const key = idempotencyKey(t.ticketNo, version);
    await this.queue.add('deliver', { key, body: JSON.stringify(webhookPayload(t, version, this.o.fullNumbers)) }, { jobId: `wh-${key}` });
  }

  /** Deliveries that gave up after the last attempt. */
  async deadLetters(): Promise<{ key: string; attempts: number; error: string }[]> {
    const failed = await this.queue.getFailed(0, 200);
    return failed.map((j) => ({ key: j.data.key, attempts: j.attemptsMade, error: j.failedReason }));
  }

  private async post(job: Job<WebhookJob>): Promise<void> {
    await postSigned(this.o.url, { [SIGNATURE_HEADER]: signBody(this.o.secret, job.data.body), [IDEMPOTENCY_HEADER]: job.data.key }, job.data.body, this.o.timeoutMs ?? 10_000);
    this.log.info({ key: job.data.key, attempt: job.attemptsMade + 1 }, 'ticket delivered to the work-order system');
  }

  close(): Promise<void> {
    return this.jobs.close();
  }
}
