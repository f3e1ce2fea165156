/**
 * Tickets: every ended call becomes exactly one ticket. The outbox (a local spool) hands the call
 * record to the BullMQ `tickets` queue; the worker writes the ticket (idempotent by call id) and
 * then runs the after-ticket steps features registered (`afterTicket`: this feature's own first —
 * a callback's record, the repeat link, clocks, webhook; then e.g. recording's links and sampling).
 * Also the ticket domain: working-day calendar, SLA policy, dispatch rules, lifecycle, clocks
 * (催办/督办), webhook delivery to the city's work-order system, and their routes.
 */
import { join } from 'node:path';
import type { Queue, Worker } from 'bullmq';
import type { AccessServices } from '../access/feature.js';
import type { Acd } from '../acd/service.js';
import type { TicketStatusLookup } from '../calls/ports.js';
import type { Config } from '../config/index.js';
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import { calendarAdminRoutes } from '../http/routes/calendar-admin.js';
import { ticketAdminRoutes } from '../http/routes/ticket-admin.js';
import { ticketExportRoutes } from '../http/routes/ticket-export.js';
import { ticketKpiRoutes } from '../http/routes/ticket-kpis.js';
import { ticketRoutes } from '../http/routes/tickets.js';
import { CHINESE_DAYS_VERSION, chineseDaysYears, loadBundledCalendarData, statutoryYear } from './calendar-source.js';
import { CalendarOverridesStore, coverageWarning, LiveWorkCalendar } from './calendar-store.js';
import { TicketClocks } from './clocks.js';
import { DispatchRulesStore, loadBundledDispatchRules } from './dispatch-store.js';
import { TicketOutbox } from './outbox.js';
import { createTicketsQueue, replicaAckedSink, type CallEndedJob } from './queue.js';
import { createTicketDomain, TicketService } from './service.js';
import { loadBundledSlaPolicies, resolveSlaPolicy, type SlaPolicy } from './sla.js';
import { TicketStore, type StoredTicket } from './store.js';
import { TicketWebhook } from './webhook.js';
import { createTicketWorker } from './worker.js';
import { redisKey } from '../util/redis-keys.js';
import { logRedisOutages } from '../util/redis-connection.js';
import { Redis } from 'ioredis';

/** Telephone area codes: the digits every ticket number of the city starts with. */
export const CITY_CODES: Record<Config['city'], string> = {
  zaozhuang: '0632',
  yantai: '0535',
  luan: '0564',
  zhengzhou: '0371',
};

/** A step after the worker wrote a call's ticket (first time or again): idempotent, the worker re-runs it after a crash. */
export type AfterTicket = (ticketNo: string, job: CallEndedJob) => Promise<void>;

export interface CalendarCoverage extends ReturnType<LiveWorkCalendar['coverageReport']> {
  warning?: string;
}

export interface TicketServices {
  readonly tickets: TicketStore;
  readonly ticketsQueue: Queue<CallEndedJob>;
  readonly outbox: TicketOutbox;
  readonly worker: Worker<CallEndedJob> | undefined;
  /** Ticket lifecycle over the store (domain: calendar, SLA policy, dispatch rules). */
  readonly ticketService: TicketService;
  readonly ticketClocks: TicketClocks;
  readonly ticketWebhook: TicketWebhook | undefined;
  readonly dispatchRules: DispatchRulesStore;
  /** The working-day calendar in force (package data + statutory fallback + admin overrides, live). */
  readonly calendar: LiveWorkCalendar;
  /** Are the next 60 days covered? With a warning when not. */
  calendarCoverage(): CalendarCoverage;
  /** What the IVR tells a caller asking after a ticket. */
  readonly lookupTicket: TicketStatusLookup;
  /** Add a step the worker runs after each ticket, after the ones added before. */
  afterTicket(step: AfterTicket): void;
  /** The city's SLA policy in force. */
  readonly policy: SlaPolicy;
  /** The idempotent after-change work of a ticket (repeat link, clocks, webhook), for a re-delivered request. */
  syncTicket(t: StoredTicket): Promise<void>;
}

export function ticketsFeature(
  core: Core,
  deps: { access: Pick<AccessServices, 'audit' | 'numberId' | 'numbers'>; acd: Acd; routeUnit: (routeId: string) => string | undefined },
  own: { lookupTicket?: TicketStatusLookup } = {},
): TicketServices & Feature {
  const { config, log, redis, prefix, redisOpts, opts, metrics } = core;
  const { audit } = deps.access;
  // The SLA policy first: a city without one of its own must name one (no connection is opened before this check).
  const resolved = resolveSlaPolicy(loadBundledSlaPolicies(), config.city, config.area || undefined, config.tickets.slaPolicy);
  if (!resolved.ok) throw new Error(resolved.message);
  const policy = resolved.policy;
  if (policy.provisional) log.warn({ policy: policy.id }, `SLA policy ${policy.id}: provisional figures — ${policy.provisional}`);
  const now = core.now;

  // Producers fail fast while Redis is away: the outbox keeps the job and retries. The queue's
  // connection is ours (BullMQ shares it, never closes it): it keeps an 'error' listener for its whole
  // life and is disconnected at stop, also when the queue's own close found Redis away.
  const queueRedis = new Redis({ ...redisOpts, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  logRedisOutages(queueRedis, log, 'tickets queue');
  const ticketsQueue = createTicketsQueue(queueRedis, prefix);
  ticketsQueue.on('error', (err) => log.debug({ err: err.message }, 'tickets queue error'));
  // The store's own connection, without the core's auto-pipelining: the worker already sends its concurrent
  // creations as one script per turn of the event loop, and auto-pipelining on top of that cost the ticket
  // pipeline 10–25 % of its rate (bench part 3, paired runs). Closed after the worker at stop.
  const storeRedis = new Redis({ ...redisOpts, maxRetriesPerRequest: 2 });
  logRedisOutages(storeRedis, log, 'ticket store');
  const tickets = new TicketStore(storeRedis, prefix, CITY_CODES[config.city], deps.access.numberId);
  const outbox = new TicketOutbox({
    dir: join(config.dataDir, 'outbox', core.instanceId.replace(/[^A-Za-z0-9_-]/g, '_')),
    // With Sentinel, a job counts as handed over once replicas acknowledged it (REDIS_REPLICA_ACKS).
    sink: replicaAckedSink(ticketsQueue, config.redisReplicaAcks),
    logger: log,
    lingerMs: config.outboxLingerMs,
    ...(opts.outboxRetryMs ? { retryMs: opts.outboxRetryMs } : {}),
  });
  const afterSteps: AfterTicket[] = [];
  const worker = core.workers
    ? createTicketWorker({
        connection: { ...redisOpts, maxRetriesPerRequest: null },
        prefix,
        store: tickets,
        logger: log,
        onTicket: async (no, job) => {
          for (const step of afterSteps) await step(no, job);
        },
        ...(opts.ticketWorkerLock ?? {}),
      })
    : undefined;

  // The working-day calendar: the chinese-days package's official years, the statutory days for a year it
  // lacks, and the admins' overrides from Redis (every instance follows changes live).
  const calendarStore = new CalendarOverridesStore(redis, prefix);
  const calendar = new LiveWorkCalendar({
    data: loadBundledCalendarData(),
    fallback: statutoryYear,
    store: calendarStore,
    onError: (err) => log.warn({ err: (err as Error).message }, 'calendar overrides not loaded; keeping the calendar in force'),
    onChange: (o) => {
      log.info({ version: o.version, days: o.days.length, years: o.years.map((y) => y.year) }, 'calendar overrides applied');
      checkCalendar();
    },
  });
  const calendarSource = { package: 'chinese-days', version: CHINESE_DAYS_VERSION, officialYears: chineseDaysYears() };
  /** The next 60 days covered? A warning in the logs when not (at start, daily and after each change). */
  const calendarCoverage = (): CalendarCoverage => {
    const r = calendar.coverageReport(now());
    const warning = coverageWarning(r, CHINESE_DAYS_VERSION);
    return { ...r, ...(warning ? { warning } : {}) };
  };
  const checkCalendar = () => {
    const r = calendarCoverage();
    if (!r.covered) log.warn({ calendar: { from: r.from, to: r.to, firstUncovered: r.firstUncovered, years: r.years } }, r.warning!);
    return r;
  };
  let calendarTimer: NodeJS.Timeout | undefined;

  // The ticket domain: working-day calendar, the city's SLA policy, dispatch rules, the route's unit.
  const dispatchRules = new DispatchRulesStore(redis, redisKey(prefix, 'ticket', 'dispatch-rules'), loadBundledDispatchRules(config.city));
  const domainDeps = {
    cityId: config.city,
    policy,
    calendar,
    rules: () => dispatchRules.current(),
    routeUnit: deps.routeUnit,
    now,
    repeatWindowDays: config.tickets.repeatWindowDays,
    ...(config.tickets.replyReviewHours ? { replyReview: { workingHours: config.tickets.replyReviewHours } } : {}),
  };
  tickets.setDomain(createTicketDomain(domainDeps));
  const ticketService = new TicketService(tickets, domainDeps);
  const jobConnection = { ...redisOpts, maxRetriesPerRequest: null };
  const ticketClocks = new TicketClocks({
    connection: jobConnection,
    prefix,
    redis,
    store: tickets,
    log,
    now,
    worker: core.workers,
    onFired: (j) => metrics.clockFiredOf(j.kind),
  });
  const wh = config.tickets.webhook;
  const ticketWebhook = wh
    ? new TicketWebhook({ connection: jobConnection, prefix, url: wh.url, secret: wh.secret, fullNumbers: wh.fullNumbers, attempts: wh.attempts, backoffMs: wh.backoffMs, log, worker: core.workers })
    : undefined;

  // Every committed change: (re)schedule the clocks, deliver the version. Idempotent, so the worker re-runs it after a crash.
  const syncTicket = async (t: NonNullable<Awaited<ReturnType<TicketStore['get']>>>, previous?: Parameters<TicketClocks['schedule']>[1]) => {
    if (!t.ticket) return;
    // The repeat link depends on units and category only; look the caller's tickets up again when those
    // changed, or a rebuild (the agent's form merged later) dropped the link. Re-runs without `previous` look.
    const p = previous;
    const repeatMayChange = !p || p.category !== t.ticket.category || p.units.join('\n') !== t.ticket.units.join('\n') || (!!p.repeatOf && !t.ticket.repeatOf);
    if (repeatMayChange) await ticketService.linkRepeat(t.ticket);
    await ticketClocks.schedule(t.ticket, previous);
    await ticketWebhook?.enqueue(t.ticket, t.version);
  };
  // Tickets whose latest change this process's listener has synced, until the worker's step below
  // looks: the step is the safety net for a change whose listener did not run or failed (a crash
  // between the commit and the listener, a redelivered job), so after a successful listener it need
  // not read the ticket back and schedule its clocks a second time. Bounded: changes made outside the
  // worker (agents, clocks) are never looked up here.
  const syncedByListener = new Set<string>();
  tickets.onChange(async (t, previous) => {
    // A later change whose listener fails must be synced by the step even if an earlier one was here.
    syncedByListener.delete(t.ticketNo);
    await syncTicket(t, previous);
    syncedByListener.add(t.ticketNo);
    if (syncedByListener.size > 10_000) syncedByListener.delete(syncedByListener.values().next().value!);
  });
  // The ticket's own step first: a callback's record lands on the ticket it called back, then the sync.
  afterSteps.push(async (ticketNo, job) => {
    // A user's click-to-call is contact during handling, not the lifecycle's 回访.
    if (job.record.callbackOf && !job.record.outbound) await ticketService.applyCallbackRecord(ticketNo, job.record);
    if (syncedByListener.delete(ticketNo)) return;
    const st = await tickets.get(ticketNo);
    if (st) await syncTicket(st);
  });
  // A ticket's caller, and an ended call's caller through its ticket (a live call's is the calls feature's).
  deps.access.numbers.provide(async (kind, id) => {
    const no = kind === 'ticket' ? id : await tickets.byCall(id);
    return no ? (await tickets.get(no))?.record.caller.number : undefined;
  });

  return {
    name: 'tickets',
    tickets,
    ticketsQueue,
    outbox,
    worker,
    ticketService,
    ticketClocks,
    ticketWebhook,
    dispatchRules,
    calendar,
    calendarCoverage,
    lookupTicket: own.lookupTicket ?? ((no: string) => ticketService.lookup(no)),
    afterTicket: (step) => void afterSteps.push(step),
    policy,
    syncTicket: (t) => syncTicket(t),
    async routes(http) {
      await http.register(ticketRoutes, { tickets, service: ticketService, clocks: ticketClocks, audit });
      await http.register(ticketExportRoutes, { tickets, audit });
      await http.register(ticketKpiRoutes, { tickets, acd: deps.acd, now, clocks: ticketClocks, audit });
      await http.register(ticketAdminRoutes, { rules: dispatchRules, ...(ticketWebhook ? { webhook: ticketWebhook } : {}), audit });
      await http.register(calendarAdminRoutes, { store: calendarStore, calendar, audit, now, source: calendarSource });
    },
    async start() {
      await outbox.init();
      outbox.start();
      await calendar.watch(redis.duplicate());
      checkCalendar();
      calendarTimer = setInterval(checkCalendar, 24 * 3600_000);
      calendarTimer.unref();
      await dispatchRules.refresh().catch((err: Error) => log.warn({ err: err.message }, 'dispatch rules not loaded; using the bundled ones'));
    },
    async stop(step) {
      if (calendarTimer) clearInterval(calendarTimer);
      calendar.close();
      await step('outbox', outbox.stop());
      await step('outbox flush', outbox.flush());
      await step('ticket worker', worker?.close(true));
      await step('tickets queue', ticketsQueue.close());
      queueRedis.disconnect();
      await step('ticket clocks', ticketClocks.close());
      await step('ticket webhook', ticketWebhook?.close());
      storeRedis.disconnect();
    },
  };
}
