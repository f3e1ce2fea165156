/**
 * The composition root: config in, a wired application out. `main.ts`, the demo and every
 * integration test build the server through {@link buildApp}; nothing else creates connections or
 * reads configuration. It lists the features in order — each takes the services of those before
 * it — and nothing else: routes and start run in this order, stop in reverse (src/features.ts).
 * Adding a feature: one file `src/<area>/feature.ts`, one line here. See ARCHITECTURE.md.
 */
import { accessFeature, type AccessServices } from './access/feature.js';
import { acdFeature, type AcdServices } from './acd/feature.js';
import { callsFeature, type CallServices } from './calls/feature.js';
import { campaignsFeature, type CampaignServices } from './campaigns/feature.js';
import { clusterFeature, type ClusterServices } from './cluster/feature.js';
import type { CallFlow, RouteDecision, TicketStatusLookup } from './calls/ports.js';
import type { CallSource } from './calls/record.js';
import type { Config } from './config/index.js';
import { controllerFeature, type ControllerServices } from './controller/feature.js';
import { coreFeature, type AppOptions, type Core } from './core.js';
import { lifecycle, registerRoutes, type Feature } from './features.js';
import { httpFeature, pagesFeature, type HttpServices } from './http/feature.js';
import { intakeFeature, type IntakeServices } from './intake/feature.js';
import { knowledgeFeature, type KnowledgeServices } from './knowledge/feature.js';
import { metricsFeature } from './metrics/feature.js';
import { outboundFeature, type OutboundServices } from './outbound/feature.js';
import { recordingFeature, type RecordingServices } from './recording/feature.js';
import { routingFeature, type RoutingServices } from './routing/feature.js';
import { supervisionFeature, type SupervisionServices } from './supervision/feature.js';
import { telephonyFeature, type TelephonyServices } from './telephony/feature.js';
import { ticketsFeature, type TicketServices } from './tickets/feature.js';

export type { AppOptions } from './core.js';
export { CITY_CODES } from './tickets/feature.js';

/** What tests, the demo and main.ts use of the server: the features' services, and start/stop. */
export interface App
  extends Pick<Core, 'config' | 'log' | 'instanceId' | 'redis' | 'metrics'>,
    HttpServices,
    Pick<AccessServices, 'users' | 'audit'>,
    Pick<TelephonyServices, 'telephony' | 'ami'>,
    Pick<AcdServices, 'acd' | 'events'>,
    Pick<RoutingServices, 'parts'>,
    Pick<TicketServices, 'tickets' | 'ticketsQueue' | 'outbox' | 'worker' | 'ticketService' | 'ticketClocks' | 'ticketWebhook' | 'dispatchRules' | 'calendar'>,
    Pick<RecordingServices, 'recordings' | 'quality'>,
    Pick<CallServices, 'calls' | 'callStates' | 'admission'>,
    OutboundServices,
    CampaignServices,
    ControllerServices,
    KnowledgeServices,
    IntakeServices,
    SupervisionServices,
    ClusterServices {
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
  const features: Feature[] = [core];
  // One line a feature, in order: each takes the services of those above it.
  const add = <F extends Feature>(feature: F): F => (features.push(feature), feature);
  const http = add(httpFeature(core));
  const access = add(accessFeature(core));
  const telephony = add(telephonyFeature(core));
  const acd = add(acdFeature(core, { ami: telephony.ami, telephony: telephony.telephony }));
  const controller = add(controllerFeature(core, { acd, access }));
  const knowledge = add(knowledgeFeature(core, { access }));
  const routing = add(routingFeature(core, { acd: acd.acd, knowledge }, parts));
  const tickets = add(ticketsFeature(core, { access, acd: acd.acd, routeUnit: routing.routeUnit }, parts));
  const intake = add(intakeFeature(core, { tickets }));
  const supervision = add(supervisionFeature(core, { access, tickets, intake }));
  const recording = add(recordingFeature(core, { telephony: telephony.telephony, access, acd: acd.acd, tickets }));
  const calls = add(callsFeature(core, { telephony, access, acd, routing, tickets, recording, knowledge }));
  const outbound = add(outboundFeature(core, { telephony, access, acd, tickets, recording, calls }));
  const campaigns = add(campaignsFeature(core, { telephony, access, tickets, calls }));
  add(metricsFeature(core, { telephony, acd, tickets, recording, intake }));
  add(pagesFeature(core));
  // Last: closed first (fostered peer nodes let go), its leases freed after our own PBX link closed.
  const cluster = add(clusterFeature(core, { build: (c, o) => buildApp(c, o, parts) }));

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
    ...pick(calls, 'calls', 'callStates', 'admission'),
    ...pick(outbound, 'outbound'),
    ...pick(campaigns, 'campaigns'),
    ...pick(controller, 'controller'),
    ...pick(knowledge, 'knowledge'),
    ...pick(intake, 'intake'),
    ...pick(supervision, 'supervision'),
    ...pick(cluster, 'cluster'),
  };
}

function pick<T, K extends keyof T>(o: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}
