/**
 * The composition root: config in, a wired application out. `main.ts`, the
 * demo and every integration test build the server through {@link buildApp};
 * nothing else creates connections or reads configuration.
 */
import { freeTextHook } from './http/free-text.js';
import { loadSeatFile } from './acd/seat-files.js';
import { numberIds } from './access/number-id.js';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Queue, Worker } from 'bullmq';
import type { DestinationStream } from 'pino';
import { defaultAcdConfig } from './acd/model.js';
import { ControllerPortSlot, registerController } from './controller/index.js';
import type { ControllerRunner } from './controller/runner.js';
import { Acd } from './acd/service.js';
import { createSelfHealingAcd } from './acd/self-heal.js';
import { createAdmission } from './admission/wiring.js';
import type { AdmissionControl } from './admission/control.js';
import type { CallRecord } from './calls/record.js';
import { CallManager } from './calls/manager.js';
import { RedisCallStateStore } from './calls/durable-store.js';
import type { CallSession } from './calls/session.js';
import { CallerGuard } from './calls/abuse.js';
import { createRecordingJobs, type RecordingJobs } from './recording/jobs.js';
import { candidateFromRecord, QualityService } from './recording/quality.js';
import { RecordingService } from './recording/service.js';
import { RecordingStore } from './recording/store.js';
import { callInfoFromTickets, qualityRoutes } from './http/routes/quality.js';
import { recordingRoutes } from './http/routes/recordings.js';
import { createDefaultParts, type DefaultParts } from './calls/default-parts.js';
import type { CallFlow, RouteDecision, TicketStatusLookup } from './calls/ports.js';
import type { Config } from './config/index.js';
import { AuditLog } from './access/audit.js';
import { UserStore } from './access/users.js';
import { errorHandler } from './http/errors.js';
import { accessPlugin, sessionCookieName } from './http/plugins/access.js';
import swagger from '@fastify/swagger';
import { docsRoutes, openapiOptions } from './http/openapi.js';
import { AJV_OPTIONS } from './http/schemas.js';
import { healthRoutes } from './http/routes/health.js';
import { ticketRoutes } from './http/routes/tickets.js';
import websocket from '@fastify/websocket';
import { ConsoleEvents, type ConsoleEvent } from './http/events.js';
import { agentRoutes } from './http/routes/agent.js';
import { adminRoutes } from './http/routes/admin.js';
import { pageRoutes } from './http/routes/pages.js';
import { supervisorRoutes } from './http/routes/supervisor.js';
import { maskNumber } from './access/mask.js';
import { createLogger, type Logger } from './log/logger.js';
import { AmiPbx } from './telephony/ami-pbx.js';
import { AriTelephony } from './telephony/ari-telephony.js';
import { withTimeout } from './telephony/limits.js';
import { TicketOutbox } from './tickets/outbox.js';
import { createTicketsQueue, replicaAckedSink, type CallEndedJob } from './tickets/queue.js';
import { TicketStore } from './tickets/store.js';
import { createTicketWorker } from './tickets/worker.js';
import { CHINESE_DAYS_VERSION, chineseDaysYears, loadBundledCalendarData, statutoryYear } from './tickets/calendar-source.js';
import { CalendarOverridesStore, coverageWarning, LiveWorkCalendar } from './tickets/calendar-store.js';
import { calendarAdminRoutes } from './http/routes/calendar-admin.js';
import { loadBundledSlaPolicies, resolveSlaPolicy } from './tickets/sla.js';
import { DispatchRulesStore, loadBundledDispatchRules } from './tickets/dispatch-store.js';
import { createTicketDomain, TicketService } from './tickets/service.js';
import { TicketClocks } from './tickets/clocks.js';
import { TicketWebhook } from './tickets/webhook.js';
import { ticketKpiRoutes } from './http/routes/ticket-kpis.js';
import { ticketExportRoutes } from './http/routes/ticket-export.js';
import { ticketAdminRoutes } from './http/routes/ticket-admin.js';
import type { CallSource } from './calls/record.js';
import { Metrics } from './metrics/index.js';
import { pushReviewedReply, registerSupervision, type ReviewedReplySink, type Supervision } from './supervision/index.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { registerIntake, type IntakeFeature } from './intake/index.js';
import { redisConnectionOptions } from './util/redis-connection.js';
import { registerOutbound } from './outbound/index.js';
import type { OutboundService } from './outbound/service.js';
import { registerKnowledge, type KnowledgeFeature } from './knowledge/index.js';

/** Telephone area codes: the digits every ticket number of the city starts with. */
export const CITY_CODES: Record<Config['city'], string> = {
  zaozhuang: '0632',
  yantai: '0535',
  luan: '0564',
  zhengzhou: '0371',
};

export interface AppOptions {
  /** Where an approved (reviewed) reply goes upstream; see supervision/index.ts. */
  reviewedReply?: ReviewedReplySink;
  /** Where logs go (tests capture them); default stdout. */
  logDestination?: DestinationStream;
  instanceId?: string;
  /** Run the ticket worker in this process (default true). */
  ticketWorker?: boolean;
  /** Pure parts; default to the real modules. Tests may pass their own flows/tables. */
  flow?: CallFlow;
  resolveRoute?: (q: { dialed: string; source: CallSource; at: Date; area?: string }) => RouteDecision;
  /** ACD tuning beyond the configuration (tests shorten timings). */
  acdOverrides?: Parameters<typeof defaultAcdConfig>[0];
  /** Backoff of the ARI supervision loop (tests use short ones). */
  ariBackoff?: { initialMs: number; maxMs: number };
  outboxRetryMs?: number;
  /** The clock calls are routed and recorded by (tests move it into a transition window); also the tickets' clock. */
  now?: () => number;
  /** Lock/stall timing of the ticket worker (tests shorten them). */
  ticketWorkerLock?: { lockDurationMs: number; stalledIntervalMs: number };
  /** Lease of this instance's call states (calls/durable-store.ts; tests shorten it). */
  callStateLease?: { leaseMs: number; renewMs: number };
}

export interface App {
  readonly config: Config;
  readonly log: Logger;
  readonly instanceId: string;
  readonly http: FastifyInstance;
  readonly redis: Redis;
  readonly telephony: AriTelephony;
  readonly ami: AmiPbx | undefined;
  readonly calls: CallManager;
  /** Every live call's state in Redis, for adoption when an instance dies. */
  readonly callStates: RedisCallStateStore;
  readonly acd: Acd;
  /** The answer-rate controller's runner (src/controller). */
  readonly controller: ControllerRunner;
  /** Routing store and the table in use, IVR flows. */
  readonly parts: DefaultParts;
  readonly tickets: TicketStore;
  readonly users: UserStore;
  readonly recordings: RecordingService;
  /** Quality inspection: calls noted for sampling, samples, scores. */
  readonly quality: QualityService;
  /** What is pushed to the agent consoles. */
  readonly events: ConsoleEvents;
  readonly audit: AuditLog;
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
  /** 督办单, 红黄蓝榜, bulletins. */
  readonly supervision: Supervision;
  /** Prometheus registry behind GET /metrics. */
  readonly metrics: Metrics;
  /** Click-to-call from tickets (src/outbound/). */
  readonly outbound: OutboundService;
  /** Other channels, the public form, higher platforms' work orders and the pushes back (src/intake/). */
  readonly intake: IntakeFeature;
  /** Admission control at call entry (limits from config.admission). */
  readonly admission: AdmissionControl;
  /** The knowledge base (知识库). */
  readonly knowledge: KnowledgeFeature;
  /** Connect everything and start handling calls (does not listen on HTTP). */
  start(): Promise<void>;
  /** Graceful stop: no new calls, flush the outbox, close connections. */
  stop(): Promise<void>;
}

export interface AppParts {
  flow: CallFlow;
  resolveRoute: (q: { dialed: string; source: CallSource; at: Date; area?: string }) => RouteDecision;
  lookupTicket: TicketStatusLookup;
}

export async function buildApp(config: Config, opts: AppOptions = {}, parts?: Partial<AppParts>): Promise<App> {
  // The SLA policy first: a city without one of its own must name one (no connection is opened before this check).
  const resolved = resolveSlaPolicy(loadBundledSlaPolicies(), config.city, config.area || undefined, config.tickets.slaPolicy);
  if (!resolved.ok) throw new Error(resolved.message);
  const policy = resolved.policy;
  const instanceId = opts.instanceId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
  const log = createLogger({ level: config.logLevel, ...(opts.logDestination ? { destination: opts.logDestination } : {}) }).child({
    instance: instanceId,
  });
  const metrics = new Metrics();
  const redisOpts = redisConnectionOptions(config);
  // Auto-pipelining: commands issued in the same tick (ticket worker jobs, calls) share one write.
  const redis = new Redis({ ...redisOpts, maxRetriesPerRequest: 2, lazyConnect: true, enableAutoPipelining: true });
  redis.on('error', (err) => log.debug({ err: err.message }, 'redis error'));
  let redisWasReady = false;
  redis.on('ready', () => {
    if (redisWasReady) log.info('redis connection restored');
    redisWasReady = true;
  });
  redis.on('end', () => log.warn('redis connection ended'));

  const prefix = config.keyPrefix;
  // Producers fail fast while Redis is away: the outbox keeps the job and retries.
  const ticketsQueue = createTicketsQueue({ ...redisOpts, enableOfflineQueue: false, maxRetriesPerRequest: 1 }, prefix);
  ticketsQueue.on('error', (err) => log.debug({ err: err.message }, 'tickets queue error'));
  const numberId = numberIds(config.access.numberIdKey);
  const tickets = new TicketStore(redis, prefix, CITY_CODES[config.city], numberId);
  const outbox = new TicketOutbox({
    dir: join(config.dataDir, 'outbox', instanceId.replace(/[^A-Za-z0-9_-]/g, '_')),
    sink: replicaAckedSink(ticketsQueue, config.redisReplicaAcks),
    logger: log,
    ...(opts.outboxRetryMs ? { retryMs: opts.outboxRetryMs } : {}),
  });
  const worker =
    opts.ticketWorker === false
      ? undefined
      : createTicketWorker({
          connection: { ...redisOpts, maxRetriesPerRequest: null },
          prefix,
          store: tickets,
          logger: log,
          // Bound below, once recordings and quality exist: link the call's recordings, note it for sampling.
          onTicket: (no, job) => afterTicket(no, job),
          ...(opts.ticketWorkerLock ?? {}),
        });
  let afterTicket: (ticketNo: string, job: CallEndedJob) => Promise<void> = async () => undefined;

  const telephony = new AriTelephony({
    url: config.ari.url,
    user: config.ari.user,
    password: config.ari.password,
    app: config.ari.app,
    requestTimeoutMs: config.ari.requestTimeoutMs,
    maxInFlight: config.ari.maxInFlight,
    logger: log,
    ...(opts.ariBackoff ? { backoff: opts.ariBackoff } : {}),
    observe: (operation, seconds, errorKind) => {
      metrics.ariRequest(operation, seconds, errorKind);
      admission?.observeAri(seconds);
    },
  });
  let ariConnectedBefore = false;
  telephony.onLinkState((state) => {
    if (state !== 'connected') return;
    if (ariConnectedBefore) metrics.ariReconnected();
    ariConnectedBefore = true;
  });
  const ami = config.ami.enabled
    ? new AmiPbx({ host: config.ami.host, port: config.ami.port, user: config.ami.user, secret: config.ami.secret, logger: log })
    : undefined;

  // Queue targets are checked against the ACD's seat groups (created below, before anything is published).
  let seatGroups: () => Promise<string[]> = async () => [];
  // The knowledge base registers with the routes below; the IVR reads its answers through this late binding.
  let knowledge: KnowledgeFeature | undefined;
  const defaults = createDefaultParts(config, { redis, tickets, log, seatGroups: () => seatGroups(), articles: (now) => knowledge?.kb.ivrArticles(now) ?? {} });
  const flow = opts.flow ?? parts?.flow ?? defaults.flow;
  const resolveRoute = opts.resolveRoute ?? parts?.resolveRoute ?? defaults.resolveRoute;

  // The ticket domain: working-day calendar, the city's SLA policy, dispatch rules, the route's unit.
  const ticketNow = opts.now ?? Date.now;
  if (policy.provisional) log.warn({ policy: policy.id }, `SLA policy ${policy.id}: provisional figures — ${policy.provisional}`);
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
  const calendarCoverage = () => {
    const r = calendar.coverageReport(ticketNow());
    const warning = coverageWarning(r, CHINESE_DAYS_VERSION);
    return { ...r, ...(warning ? { warning } : {}) };
  };
  const checkCalendar = () => {
    const r = calendarCoverage();
    if (!r.covered) log.warn({ calendar: { from: r.from, to: r.to, firstUncovered: r.firstUncovered, years: r.years } }, r.warning!);
    return r;
  };
  let calendarTimer: NodeJS.Timeout | undefined;
  const dispatchRules = new DispatchRulesStore(redis, `${prefix}:ticket:dispatch-rules`, loadBundledDispatchRules(config.city));
  const ticketDomainDeps = {
    cityId: config.city,
    policy,
    calendar,
    rules: () => dispatchRules.current(),
    routeUnit: (routeId: string) => defaults.current().table.routes.find((r) => r.id === routeId)?.unit,
    now: ticketNow,
    repeatWindowDays: config.tickets.repeatWindowDays,
    ...(config.tickets.replyReviewHours ? { replyReview: { workingHours: config.tickets.replyReviewHours } } : {}),
  };
  tickets.setDomain(createTicketDomain(ticketDomainDeps));
  const ticketService = new TicketService(tickets, ticketDomainDeps);
  const jobConnection = { ...redisOpts, maxRetriesPerRequest: null };
  const ticketClocks = new TicketClocks({
    connection: jobConnection,
    prefix,
    redis,
    store: tickets,
    log,
    now: ticketNow,
    worker: opts.ticketWorker !== false,
    onFired: (j) => metrics.clockFiredOf(j.kind),
  });
  const wh = config.tickets.webhook;
  const ticketWebhook = wh
    ? new TicketWebhook({ connection: jobConnection, prefix, url: wh.url, secret: wh.secret, fullNumbers: wh.fullNumbers, attempts: wh.attempts, backoffMs: wh.backoffMs, log, worker: opts.ticketWorker !== false })
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
  tickets.onChange((t, previous) => syncTicket(t, previous));
  const lookupTicket = parts?.lookupTicket ?? ((no: string) => ticketService.lookup(no));

  const acdConfig = defaultAcdConfig({
    dialTemplate: config.acd.dialTemplate,
    requireRegistration: config.acd.requireRegistration,
    noAnswerSec: config.acd.noAnswerSec,
    wrapUpSec: config.acd.wrapUpSec,
    ...opts.acdOverrides,
  });
  // The answer-rate controller's tuning, read by the ACD router and the sessions (src/controller).
  const controllerPort = new ControllerPortSlot();
  const acd = new Acd({ redis, keyPrefix: prefix, instanceId, logger: log, config: acdConfig, tuning: controllerPort });
  seatGroups = async () => (await acd.listGroups()).map((g) => g.id);
  if (ami) acd.attachPbx(ami);
  const consoleEvents = new ConsoleEvents();
  acd.onAgentEvent((e) => {
    if (e.type === 'agent') consoleEvents.publish({ type: 'agent-state', agentId: e.agentId, state: e.state, reason: e.reason, at: e.at });
  });

  const users = new UserStore(redis, prefix);
  const audit = new AuditLog(redis, prefix, config.access.auditRetain);
  const recordings = new RecordingService({
    telephony,
    store: new RecordingStore(redis, prefix),
    log,
    recordingsDir: config.recording.dir,
    retentionDays: config.recording.retentionDays,
    audit,
    onGap: (g) => log.warn({ callId: g.callId, reason: g.reason }, 'recording gap'),
  });
  telephony.onEvent((e) => void recordings.onEvent(e).catch((err: Error) => log.warn({ err: err.message }, 'recording event failed')));
  const quality = new QualityService({ redis, prefix, ratePercent: config.recording.qualitySamplePercent });
  const recordingJobs: RecordingJobs = createRecordingJobs({
    connection: { ...redisOpts, maxRetriesPerRequest: null },
    prefix,
    service: recordings,
    log,
    sampling: { run: () => quality.runSampling() },
    worker: opts.ticketWorker !== false,
  });
  afterTicket = async (ticketNo, job) => {
    // A user's click-to-call is contact during handling, not the lifecycle's 回访.
    if (job.record.callbackOf && !job.record.outbound) await ticketService.applyCallbackRecord(ticketNo, job.record);
    const st = await tickets.get(ticketNo);
    if (st) await syncTicket(st);
    await recordings.linkTicket(job.record.callId, ticketNo);
    const groups = new Map((await acd.listAgents()).map((a) => [a.id, a.groups[0]] as const));
    const candidate = candidateFromRecord(job.record, ticketNo, (id) => groups.get(id));
    if (candidate) await quality.noteCall(candidate);
  };
  // Over a limit a caller is told busy and cleared at entry; the record still becomes a ticket (admission/).
  const onEnded = (record: CallRecord) => {
    metrics.callEnded(record);
    void outbox.submit(record).catch((err: Error) => log.error({ err: err.message, callId: record.callId }, 'outbox write failed'));
    for (const agentId of new Set(record.agents)) consoleEvents.publish({ type: 'call-ended', agentId, callId: record.callId, at: Date.now() });
  };
  const admission = createAdmission({ config, instanceId, log, now: opts.now ?? Date.now, telephony, ami, acd, resolveRoute, liveCalls: () => calls.active.length, metrics, onEnded });
  const guard = new CallerGuard(redis, prefix, { ...config.guard, numberId });
  // The sessions' ACD port, reconciled with the live calls after reconnects and periodically (acd/self-heal.ts).
  const healing = createSelfHealingAcd({ acd, instanceId, log, now: opts.now ?? Date.now, intervalMs: config.acd.healSec * 1000, callbackExpirySec: defaultAcdConfig(opts.acdOverrides).callback.expirySec, redis, telephony, onHealed: (k, n) => metrics.acdHealedOf(k, n) });
  // Every live call's state in Redis, so a dead instance's calls are adopted (calls/durable-store.ts).
  const callStates = new RedisCallStateStore(redis, prefix, instanceId, log.child({ component: 'call-state' }), { ...opts.callStateLease, onLost: (id) => calls.lost(id) });
  const calls = new CallManager({
    store: callStates,
    adoption: callStates,
    guard,
    recording: recordings,
    telephony,
    log,
    instanceId,
    flow,
    acd: healing.port,
    lookupTicket,
    resolveRoute,
    now: opts.now ?? Date.now,
    queueAnnounceEverySec: config.acd.queueAnnounceEverySec,
    handoffRingSec: config.acd.handoffRingSec,
    callbackOfferAfterSec: config.acd.callbackOfferAfterSec,
    tuning: (skill) => controllerPort.tuning(skill),
    callback: { dialTemplate: config.acd.callbackDialTemplate, ringSec: config.acd.callbackRingSec },
    notifyAgent: (agentId, callId, n) => consoleEvents.publish({ type: 'handoff', agentId, callId, ...n, at: Date.now() }),
    onAgentConnected: (agentId, s) => consoleEvents.publish(callPop(agentId, s, 'connected')),
    onAgentRinging: (agentId, s, change) =>
      consoleEvents.publish(change === 'ringing' ? callPop(agentId, s, 'ringing') : { type: 'call-withdrawn', agentId, callId: s.callId, at: Date.now() }),
    onEnded,
    admit: (channel, args) => admission.gate(channel, args),
  });

  healing.bindLiveness((callId) => calls.session(callId)?.isEnded === false);

  // Fastify's instance type is generic over the logger; the app exposes the default shape.
  const http = Fastify({
    loggerInstance: log.child({ component: 'http' }),
    genReqId: () => randomUUID(),
    // Request schemas check shapes, never rewrite: no type coercion, no silently dropped properties.
    ajv: { customOptions: AJV_OPTIONS },
    // HTTPS when configured (HTTP_TLS_CERT/KEY): agents' browsers outside localhost need a secure
    // context for the microphone. Plain HTTP otherwise (tests, a proxy terminating TLS in front).
    ...(config.http.tls ? { https: { cert: config.http.tls.cert, key: config.http.tls.key } } : {}),
  }) as unknown as FastifyInstance;
  http.setErrorHandler(errorHandler);
  // One rule for text on every route: no control characters, no whitespace-only required fields (http/free-text.ts).
  http.addHook('preValidation', freeTextHook);
  http.addHook('onResponse', async (req, reply) => {
    // The route pattern, never the raw URL: ids in paths would explode the label set.
    metrics.httpRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
  // Before every route (the access plugin's own included): it collects each route registered after it
  // into the OpenAPI document served at /docs/openapi.json. It registers no route itself.
  await http.register(swagger, openapiOptions({ sessionCookie: sessionCookieName(config.access.cookieSecure) }));
  // First of the routes, so that every route registered after it must declare who may call it.
  await http.register(accessPlugin, {
    redis,
    keyPrefix: prefix,
    users,
    audit,
    jwtSecret: config.access.jwtSecret,
    tokenTtlSec: config.access.tokenTtlSec,
    cookieSecure: config.access.cookieSecure,
    loginMaxFailures: config.access.loginMaxFailures,
    loginWindowSec: config.access.loginWindowSec,
    apiRatePerMinute: config.access.apiRatePerMinute,
    lookupNumber: async (kind, id) => {
      if (kind === 'call') {
        const live = calls.session(id)?.record.caller.number;
        if (live) return live;
        const no = await tickets.byCall(id);
        return no ? (await tickets.get(no))?.record.caller.number : undefined;
      }
      return (await tickets.get(id))?.record.caller.number;
    },
  });
  await http.register(docsRoutes);
  await http.register(healthRoutes, {
    sources: {
      ari: () => telephony.linkState,
      ami: () => (ami ? ami.linkState : 'disabled'),
      redis: () => redis.status,
      outboxPending: () => outbox.pending,
      calendar: calendarCoverage,
    },
  });

  await http.register(metricsRoutes, { metrics, token: config.metrics.token, allow: config.metrics.allow });
  metrics.attach({
    queues: () => acd.queues(),
    agents: () => acd.agents(),
    today: async () => {
      const st = await acd.stats();
      return { all: st.all, lines: st.lines };
    },
    outboxPending: () => outbox.pending,
    ariConnected: () => telephony.linkState === 'connected',
    jobQueues: () => ({
      tickets: () => ticketsQueue.getJobCounts(),
      'ticket-clocks': () => ticketClocks.queue.getJobCounts(),
      ...(ticketWebhook ? { 'ticket-webhook': () => ticketWebhook.queue.getJobCounts() } : {}),
      recordings: () => recordingJobs.queue.getJobCounts(),
      // Bound at scrape time: the intake feature is registered with the routes below.
      ...(config.intake.upstream.urls && Object.keys(config.intake.upstream.urls).length ? { 'upstream-push': () => intake.upstream!.queue.getJobCounts() } : {}),
    }),
    overdueTickets: async () => (await ticketClocks.overdue()).length,
  });

  await http.register(websocket);
  await http.register(ticketRoutes, { tickets, service: ticketService, clocks: ticketClocks, audit });
  await http.register(ticketExportRoutes, { tickets, audit });
  await http.register(ticketKpiRoutes, { tickets, acd, now: ticketNow, clocks: ticketClocks, audit });
  await http.register(ticketAdminRoutes, { rules: dispatchRules, ...(ticketWebhook ? { webhook: ticketWebhook } : {}), audit });
  const intake = await registerIntake({ http, config: config.intake, tickets, redis, prefix, connection: jobConnection, log, now: ticketNow, instanceId, worker: opts.ticketWorker !== false, resync: (st) => syncTicket(st) });
  knowledge = await registerKnowledge(http, { redis, keyPrefix: prefix, log, audit, now: ticketNow, config: config.knowledge });
  await http.register(agentRoutes, { acd, calls, tickets, events: consoleEvents, routingTable: () => defaults.current().table, knowledge: knowledge.kb });
  await http.register(supervisorRoutes, { acd, calls, calendar: calendarCoverage });
  const controller = await registerController({ http, redis, instanceId, acd, acdConfig, config: config.controller, audit, logger: log, port: controllerPort });
  await http.register(calendarAdminRoutes, { store: calendarStore, calendar, audit, now: ticketNow, source: calendarSource });
  await http.register(recordingRoutes, { service: recordings, audit });
  await http.register(qualityRoutes, { quality, audit, callInfo: callInfoFromTickets(tickets) });
  await http.register(adminRoutes, { routing: defaults.routing, scheduler: defaults.scheduler, current: defaults.current, flow, flowFor: defaults.flowFor, acd, audit, guard });
  const outbound = await registerOutbound({ config, http, redis, telephony, calls, acd, recordings, tickets, audit, log, instanceId, now: ticketNow, submitRecord: async (r) => void (await outbox.submit(r)) });
  const sv = config.supervision ?? { satisfactionMin: 0.9, onTimeMin: 0.9, redMin: 0.95, minSample: 5, orderWorkingDays: 3 };
  // An approved reply (审核通过) goes back to the platform a work order came from (intake's push).
  const reviewedReply = opts.reviewedReply ?? (intake.upstream ? pushReviewedReply(intake.upstream) : undefined);
  const supervision = await registerSupervision(http, { redis, prefix, connection: jobConnection, tickets, clocks: ticketClocks, calendar, audit, log, now: ticketNow, thresholds: sv, orderWorkingDays: sv.orderWorkingDays, title: `${policy.name} 12345`, worker: opts.ticketWorker !== false, ...(reviewedReply ? { reviewedReply } : {}) });
  await http.register(pageRoutes, {
    softphone: { wsUrl: config.softphone.wsUrl, sipDomain: config.softphone.sipDomain, iceServers: config.softphone.iceServers },
  });

  let started = false;
  return {
    config,
    log,
    instanceId,
    http,
    redis,
    telephony,
    ami,
    calls,
    callStates,
    acd,
    controller,
    parts: defaults,
    tickets,
    users,
    recordings,
    quality,
    events: consoleEvents,
    audit,
    ticketsQueue,
    outbox,
    worker,
    ticketService,
    ticketClocks,
    ticketWebhook,
    dispatchRules,
    calendar,
    metrics,
    outbound,
    supervision,
    intake,
    admission,
    knowledge: knowledge!,
    async start() {
      if (started) return;
      started = true;
      await redis.connect().catch((err: Error) => log.warn({ err: err.message }, 'redis not reachable at start; retrying in background'));
      await outbox.init();
      outbox.start();
      await acd.start().catch((err: Error) => log.error({ err: err.message }, 'ACD failed to start'));
      await controller.start().catch((err: Error) => log.error({ err: err.message }, 'answer-rate controller failed to start'));
      // The seat groups the city's shipped table names (data/seats/<city>.json), created once when missing.
      const seatFile = loadSeatFile(config.city);
      if (seatFile !== undefined) {
        await acd
          .ensureGroups(seatFile)
          .then((r) => (r.ok ? undefined : log.error({ errors: r.errors }, 'seat file invalid')))
          .catch((err: Error) => log.warn({ err: err.message }, 'seat groups not created'));
      }
      await defaults.start();
      await calendar.watch(redis.duplicate());
      await knowledge!.start().catch((err: Error) => log.warn({ err: err.message }, 'knowledge base not loaded at start'));
      checkCalendar();
      calendarTimer = setInterval(checkCalendar, 24 * 3600_000);
      calendarTimer.unref();
      await dispatchRules.refresh().catch((err: Error) => log.warn({ err: err.message }, 'dispatch rules not loaded; using the bundled ones'));
      await recordingJobs.schedule().catch((err: Error) => log.warn({ err: err.message }, 'recording jobs not scheduled'));
      await supervision.start();
      const admin = config.access.bootstrapAdmin;
      if (admin) {
        try {
          if (!(await users.hasAdmin())) {
            await users.create({ username: admin.username, displayName: admin.username, roles: ['admin'], password: admin.password });
            await audit.record({ actor: 'system', action: 'user-created', target: admin.username, detail: 'first admin from HOTLINE_ADMIN_USER' });
            log.info({ username: admin.username }, 'first admin created');
          }
        } catch (err) {
          log.error({ err: (err as Error).message }, 'could not create the first admin');
        }
      }
      await callStates.start();
      calls.start();
      healing.start();
      admission.start();
      telephony.start();
      ami?.start();
      log.info({ app: config.ari.app, city: config.city }, 'hotline server started');
    },
    async stop() {
      // Each step is bounded: a Redis that is gone must not keep the process from stopping
      // (the outbox keeps what was not delivered).
      const step = (what: string, p: Promise<unknown> | undefined) =>
        withTimeout(Promise.resolve(p), 3000, what).catch((err: Error) => log.warn({ err: err.message }, 'stop step failed'));
      calls.stop();
      healing.stop();
      admission.stop();
      await step('call states', callStates.stop({ release: true }));
      if (calendarTimer) clearInterval(calendarTimer);
      calendar.close();
      await step('controller', controller.stop());
      knowledge?.stop();
      await step('acd', acd.stop());
      await step('ari', telephony.stop());
      await step('ami', ami?.stop());
      await step('routing', defaults.stop());
      recordings.close();
      await step('recording jobs', recordingJobs.close());
      await step('outbox', outbox.stop());
      await step('outbox flush', outbox.flush());
      await step('http', http.close());
      await step('ticket worker', worker?.close(true));
      await step('tickets queue', ticketsQueue.close());
      await step('ticket clocks', ticketClocks.close());
      await step('ticket webhook', ticketWebhook?.close());
      await step('supervision jobs', supervision.close());
      await step('upstream push', intake.close());
      redis.disconnect();
      log.info('hotline server stopped');
    },
  };
}


/** The console's call pop: what the agent sees of a call (caller masked), ringing or connected. */
function callPop(agentId: string, s: CallSession, phase: 'ringing' | 'connected'): ConsoleEvent {
  return {
    type: 'call-pop',
    agentId,
    callId: s.callId,
    caller: maskNumber(s.record.caller.number),
    dialed: s.record.dialed,
    ...(s.record.route?.line ? { line: s.record.route.line } : {}),
    phase,
    at: Date.now(),
  };
}
