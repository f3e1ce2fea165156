/**
 * The supervision feature (督办单, 红黄蓝榜, bulletins, and the reviewed-reply
 * call site) registered with explicit dependencies: one call from buildApp.
 */
import type { ConnectionOptions } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuditLog } from '../access/audit.js';
import type { UpstreamPort } from '../intake/upstream.js';
import type { WorkCalendar } from '../tickets/calendar.js';
import type { TicketClocks } from '../tickets/clocks.js';
import type { Ticket } from '../tickets/model.js';
import type { TicketStore } from '../tickets/store.js';
import { createSupervisionJobs, type SupervisionJobs } from './jobs.js';
import type { SupervisionThresholds } from './model.js';
import { supervisionRoutes } from './routes.js';
import { SupervisionService } from './service.js';
import { SupervisionStore } from './store.js';

/**
 * Where a reviewed reply goes once the centre approved it (审核通过): the
 * upstream platforms' push (national/provincial/city platform, 政企通, 接诉即办)
 * plugs in here. Called after the approval is committed, with the ticket's
 * version (the delivery's idempotency key); may be called again for the same
 * version after a restart, so the sink must be idempotent per version.
 */
export type ReviewedReplySink = (ticket: Ticket, version: number) => Promise<void>;

/** The sink that hands an approved reply to intake's upstream push (src/intake/upstream.ts): the approval's reviewer, instant and content. */
export function pushReviewedReply(port: UpstreamPort): ReviewedReplySink {
  return async (t, version) => {
    const approval = t.history.at(-1)!;
    await port.pushReply(t, version, { reviewedBy: approval.actor.id, reviewedAt: approval.at, ...(typeof approval.data?.content === 'string' ? { content: approval.data.content } : {}) });
  };
}

export interface SupervisionDeps {
  redis: Redis;
  prefix: string;
  connection: ConnectionOptions;
  tickets: TicketStore;
  clocks?: TicketClocks;
  calendar: WorkCalendar;
  audit: AuditLog;
  log: Logger;
  now: () => number;
  thresholds: SupervisionThresholds;
  orderWorkingDays: number;
  title: string;
  /** Run the daily job's worker in this process. */
  worker: boolean;
  reviewedReply?: ReviewedReplySink;
}

export interface Supervision {
  service: SupervisionService;
  store: SupervisionStore;
  jobs: SupervisionJobs;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function registerSupervision(http: FastifyInstance, d: SupervisionDeps): Promise<Supervision> {
  const store = new SupervisionStore(d.redis, d.prefix);
  const service = new SupervisionService({ store, tickets: d.tickets, ...(d.clocks ? { clocks: d.clocks } : {}), calendar: d.calendar, audit: d.audit, log: d.log.child({ component: 'supervision' }), now: d.now, thresholds: d.thresholds, orderWorkingDays: d.orderWorkingDays, title: d.title });
  const jobs = createSupervisionJobs({ connection: d.connection, prefix: d.prefix, service, log: d.log, worker: d.worker });
  // The reviewed reply's call site: a committed version whose latest event is the approval (审核通过).
  // Judged on the ticket itself, not on the previous state, so a re-announced version hands it again
  // (at least once; the sink is idempotent per version) and a later change (a rating) does not.
  d.tickets.onChange(async (t) => {
    const last = t.ticket.history.at(-1);
    if (!d.reviewedReply || t.ticket.state !== 'replied' || last?.type !== 'replied' || last.data?.reviewed !== true) return;
    await d.reviewedReply(t.ticket, t.version);
  });
  await http.register(supervisionRoutes, { service, store, audit: d.audit, now: d.now });
  return {
    service,
    store,
    jobs,
    start: () => jobs.schedule().catch((err: Error) => d.log.warn({ err: err.message }, 'supervision job not scheduled')),
    close: () => jobs.close(),
  };
}
