/**
 * Calls: one session per call (StasisStart → route → IVR → queue/agent → hand-offs → end), the
 * caller limits and block list, the agents' call pop and hand-off notices, and what happens when a
 * call ends (its record into the tickets outbox, metrics, the agent consoles told). Its routes are
 * the agent console's, the supervisor's overview and the admin's routing, seats and block list.
 */
import { maskNumber } from '../access/mask-numbers.js';
import type { AccessServices } from '../access/feature.js';
import type { AcdServices } from '../acd/feature.js';
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import type { ConsoleEvent } from '../http/events.js';
import { adminRoutes } from '../http/routes/admin.js';
import { agentRoutes } from '../http/routes/agent.js';
import { supervisorRoutes } from '../http/routes/supervisor.js';
import type { RecordingServices } from '../recording/feature.js';
import type { RoutingServices } from '../routing/feature.js';
import type { AriTelephony } from '../telephony/ari-telephony.js';
import type { TicketServices } from '../tickets/feature.js';
import { CallerGuard } from './abuse.js';
import { CallManager } from './manager.js';
import type { CallRecord } from './record.js';
import type { CallSession } from './session.js';

export interface CallServices {
  readonly calls: CallManager;
  /** Caller limits and the block list. */
  readonly guard: CallerGuard;
}

export function callsFeature(
  core: Core,
  deps: {
    telephony: AriTelephony;
    access: Pick<AccessServices, 'audit' | 'numberId' | 'numbers'>;
    acd: AcdServices;
    routing: RoutingServices;
    tickets: Pick<TicketServices, 'tickets' | 'outbox' | 'lookupTicket' | 'calendarCoverage'>;
    recording: Pick<RecordingServices, 'recordings'>;
  },
): CallServices & Feature {
  const { config, log, metrics } = core;
  const { acd, events } = deps.acd;
  const { parts, flow } = deps.routing;
  const guard = new CallerGuard(core.redis, core.prefix, { ...config.guard, numberId: deps.access.numberId });
  const calls = new CallManager({
    guard,
    recording: deps.recording.recordings,
    telephony: deps.telephony,
    log,
    instanceId: core.instanceId,
    flow,
    acd,
    lookupTicket: deps.tickets.lookupTicket,
    resolveRoute: deps.routing.resolveRoute,
    now: core.now,
    queueAnnounceEverySec: config.acd.queueAnnounceEverySec,
    handoffRingSec: config.acd.handoffRingSec,
    callbackOfferAfterSec: config.acd.callbackOfferAfterSec,
    callback: { dialTemplate: config.acd.callbackDialTemplate, ringSec: config.acd.callbackRingSec },
    notifyAgent: (agentId, callId, n) => events.publish({ type: 'handoff', agentId, callId, ...n, at: Date.now() }),
    onAgentConnected: (agentId, s) => events.publish(callPop(agentId, s, 'connected')),
    onAgentRinging: (agentId, s, change) =>
      events.publish(change === 'ringing' ? callPop(agentId, s, 'ringing') : { type: 'call-withdrawn', agentId, callId: s.callId, at: Date.now() }),
    onEnded: (record: CallRecord) => {
      metrics.callEnded(record);
      void deps.tickets.outbox.submit(record).catch((err: Error) => log.error({ err: err.message, callId: record.callId }, 'outbox write failed'));
      for (const agentId of new Set(record.agents)) events.publish({ type: 'call-ended', agentId, callId: record.callId, at: Date.now() });
    },
  });
  // A call in progress: its caller from the live session (an ended one's comes through its ticket).
  deps.access.numbers.provide((kind, id) => (kind === 'call' ? calls.session(id)?.record.caller.number : undefined));
  const { audit } = deps.access;
  return {
    name: 'calls',
    calls,
    guard,
    async routes(http) {
      await http.register(agentRoutes, { acd, calls, tickets: deps.tickets.tickets, events, routingTable: () => parts.current().table });
      await http.register(supervisorRoutes, { acd, calls, calendar: deps.tickets.calendarCoverage });
      await http.register(adminRoutes, { routing: parts.routing, scheduler: parts.scheduler, current: parts.current, flow, flowFor: parts.flowFor, acd, audit, guard });
    },
    async start() {
      calls.start();
    },
    // First to close: no new call is taken before the PBX link goes down; live calls stay for another instance.
    async close() {
      calls.stop();
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
