/**
 * The composition root: config in, a wired application out. `main.ts`, the demo and every
 * integration test build the server through {@link buildApp}; nothing else creates connections or
 * reads configuration. It lists the features in order — each takes the services of those before
 * it — and nothing else: routes and start run in this order, stop in reverse (src/features.ts).
 * Adding a feature: one file `src/<area>/feature.ts`, one line here. See ARCHITECTURE.md.
 */
import type { Queue, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { AuditLog } from './access/audit.js';
import { accessFeature } from './access/feature.js';
import type { UserStore } from './access/users.js';
import { acdFeature } from './acd/feature.js';
import type { Acd } from './acd/service.js';
import type { DefaultParts } from './calls/default-parts.js';
import { callsFeature } from './calls/feature.js';
import type { CallManager } from './calls/manager.js';
import type { CallFlow, RouteDecision, TicketStatusLookup } from './calls/ports.js';
import type { CallSource } from './calls/record.js';
import type { Config } from './config/index.js';
import { coreFeature, type AppOptions } from './core.js';
import { lifecycle, registerRoutes } from './features.js';
import type { ConsoleEvents } from './http/events.js';
import { httpFeature, pagesFeature } from './http/feature.js';
import type { Logger } from './log/logger.js';
import { metricsFeature } from './metrics/feature.js';
import type { Metrics } from './metrics/index.js';
import { recordingFeature } from './recording/feature.js';
import type { QualityService } from './recording/quality.js';
import type { RecordingService } from './recording/service.js';
import { routingFeature } from './routing/feature.js';
import type { AmiPbx } from './telephony/ami-pbx.js';
import type { AriTelephony } from './telephony/ari-telephony.js';
import { telephonyFeature } from './telephony/feature.js';
import type { LiveWorkCalendar } from './tickets/calendar-store.js';
import type { TicketClocks } from './tickets/clocks.js';
import type { DispatchRulesStore } from './tickets/dispatch-store.js';
import { ticketsFeature } from './tickets/feature.js';
import type { TicketOutbox } from './tickets/outbox.js';
import type { CallEndedJob } from './tickets/queue.js';
import type { TicketService } from './tickets/service.js';
import type { TicketStore } from './tickets/store.js';
import type { TicketWebhook } from './tickets/webhook.js';

export type { AppOptions } from './core.js';
export { CITY_CODES } from './tickets/feature.js';

export interface App {
  readonly config: Config;
  readonly log: Logger;
  readonly instanceId: string;
  readonly http: FastifyInstance;
  readonly redis: Redis;
  readonly telephony: AriTelephony;
  readonly ami: AmiPbx | undefined;
  readonly calls: CallManager;
  readonly acd: Acd;
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
  /** Prometheus registry behind GET /metrics. */
  readonly metrics: Metrics;
  /** Connect everything and start handling calls (does not listen on HTTP). */
  start(): Promise<void>;
  /** Graceful stop: no new calls, flush the outbox, close connections. */
  stop(): Promise<void>;
}

/** Pure parts a caller may replace (tests pass their own flows or tables). */
export interface AppParts {
  flow: CallFlow;
  resolveRoute: (q: { dialed: string; source: CallSource; at: Date; area?: string }) => RouteDecision;
  lookupTicket: TicketStatusLookup;
}

export async function buildApp(config: Config, opts: AppOptions = {}, parts: Partial<AppParts> = {}): Promise<App> {
  const core = coreFeature(config, opts);
  const http = httpFeature(core);
  const access = accessFeature(core);
  const telephony = telephonyFeature(core);
  const acd = acdFeature(core, { ami: telephony.ami });
  const routing = routingFeature(core, { acd: acd.acd }, parts);
  const tickets = ticketsFeature(core, { access, acd: acd.acd, routeUnit: routing.routeUnit }, parts);
  const recording = recordingFeature(core, { telephony: telephony.telephony, access, acd: acd.acd, tickets });
  const calls = callsFeature(core, { telephony: telephony.telephony, access, acd, routing, tickets, recording });
  const metrics = metricsFeature(core, { telephony, acd, tickets, recording });
  const pages = pagesFeature(core);
  const features = [core, http, access, telephony, acd, routing, tickets, recording, calls, metrics, pages];

  await registerRoutes(http.http, features);
  return {
    ...lifecycle(features, core.log),
    ...pick(core, 'config', 'log', 'instanceId', 'redis', 'metrics'),
    ...pick(http, 'http'),
    ...pick(access, 'users', 'audit'),
    ...pick(telephony, 'telephony', 'ami'),
    ...pick(acd, 'acd', 'events'),
    ...pick(routing, 'parts'),
    ...pick(tickets, 'tickets', 'ticketsQueue', 'outbox', 'worker', 'ticketService', 'ticketClocks', 'ticketWebhook', 'dispatchRules', 'calendar'),
    ...pick(recording, 'recordings', 'quality'),
    ...pick(calls, 'calls'),
  };
}

function pick<T, K extends keyof T>(o: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}
