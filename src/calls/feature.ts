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
import type { TicketServices } from '../tickets/feature.js';
import type { KnowledgeServices } from '../knowledge/feature.js';
import type { TelephonyServices } from '../telephony/feature.js';
import type { AdmissionControl } from '../admission/control.js';
import { createAdmission, createGate } from '../admission/wiring.js';
import { CallerGuard } from './abuse.js';
import { RedisCallStateStore } from './durable-store.js';
import { CallManager } from './manager.js';
import type { CallRecord } from './record.js';
import type { CallSession } from './session.js';

export interface CallServices {
  readonly calls: CallManager;
  /** Every live call's state in Redis, for adoption when an instance dies. */
  readonly callStates: RedisCallStateStore;
  /** Caller limits and the block list. */
  readonly guard: CallerGuard;
  /** Admission control at call entry (limits from config.admission). */
  readonly admission: AdmissionControl;
}

export function callsFeature(
  core: Core,
  deps: {
    telephony: Pick<TelephonyServices, 'telephony' | 'ami' | 'onAriLatency'>;
    access: Pick<AccessServices, 'audit' | 'numberId' | 'numbers'>;
    acd: AcdServices;
    routing: RoutingServices;
    tickets: Pick<TicketServices, 'tickets' | 'outbox' | 'lookupTicket' | 'calendarCoverage'>;
    recording: Pick<RecordingServices, 'recordings'>;
    knowledge: KnowledgeServices;
  },
): CallServices & Feature {
  const { config, log, metrics } = core;
  const { acd, events } = deps.acd;
  const { telephony, ami } = deps.telephony;
  const { parts, flow } = deps.routing;
  const guard = new CallerGuard(core.redis, core.prefix, { ...config.guard, numberId: deps.access.numberId });
  // Every ended call: its record into the tickets outbox, metrics, the agents' consoles told.
  // Resolves once the record is spooled (on disk: Redis is not waited for); rejects when the spool could not be written.
  const onEnded = (record: CallRecord): Promise<unknown> => {
    metrics.callEnded(record);
    const spooled = deps.tickets.outbox.spool(record);
    spooled.catch((err: Error) => log.error({ err: err.message, callId: record.callId }, 'outbox write failed'));
    for (const agentId of new Set(record.agents)) events.publish({ type: 'call-ended', agentId, callId: record.callId, at: Date.now() });
    return spooled;
  };
  // Over a limit a caller is told busy and cleared at entry; the record still becomes a ticket (admission/).
  const admissionWiring = {
    config,
    instanceId: core.instanceId,
    log,
    now: core.now,
    telephony,
    ami,
    acd,
    resolveRoute: deps.routing.resolveRoute,
    liveCalls: () => calls.active.length,
    metrics,
    onEnded,
  };
  // Above a whole-instance limit, new callers are also refused in the dialplan before they are answered.
  const gate = createGate(admissionWiring);
  const admission = createAdmission(admissionWiring, gate);
  deps.telephony.onAriLatency((seconds) => admission.observeAri(seconds));
  // Every live call's state in Redis, so a dead instance's calls are adopted (calls/durable-store.ts).
  const callStates = new RedisCallStateStore(core.redis, core.prefix, core.instanceId, log.child({ component: 'call-state' }), {
    leaseMs: config.callState.leaseMs,
    ...core.opts.callStateLease,
    node: config.cluster.node,
    onLost: (id) => calls.lost(id),
  });
  const calls = new CallManager({
    store: callStates,
    adoption: callStates,
    guard,
    recording: deps.recording.recordings,
    telephony,
    log,
    instanceId: core.instanceId,
    flow,
    // The sessions' port records what is live, for the ACD's self-healing.
    acd: deps.acd.sessionsPort,
    lookupTicket: deps.tickets.lookupTicket,
    resolveRoute: deps.routing.resolveRoute,
    now: core.now,
    queueAnnounceEverySec: config.acd.queueAnnounceEverySec,
    handoffRingSec: config.acd.handoffRingSec,
    callbackOfferAfterSec: config.acd.callbackOfferAfterSec,
    tuning: (skill) => deps.acd.tuning.tuning(skill),
    callback: { dialTemplate: config.acd.callbackDialTemplate, ringSec: config.acd.callbackRingSec },
    notifyAgent: (agentId, callId, n) => events.publish({ type: 'handoff', agentId, callId, ...n, at: Date.now() }),
    onAgentConnected: (agentId, s) => events.publish(callPop(agentId, s, 'connected')),
    onAgentRinging: (agentId, s, change) =>
      events.publish(change === 'ringing' ? callPop(agentId, s, 'ringing') : { type: 'call-withdrawn', agentId, callId: s.callId, at: Date.now() }),
    onEnded,
    admit: (channel, args) => admission.gate(channel, args),
    shedCallback: (channel, args) => admission.acceptCallback(channel, args),
  });
  deps.acd.bindLiveness((callId) => calls.session(callId)?.isEnded === false);
  // A call in progress: its caller from the live session (an ended one's comes through its ticket).
  deps.access.numbers.provide((kind, id) => (kind === 'call' ? calls.session(id)?.record.caller.number : undefined));
  const { audit } = deps.access;
  return {
    name: 'calls',
    calls,
    callStates,
    guard,
    admission,
    async routes(http) {
      await http.register(agentRoutes, { acd, calls, tickets: deps.tickets.tickets, events, routingTable: () => parts.current().table, knowledge: deps.knowledge.knowledge.kb });
      await http.register(supervisorRoutes, { acd, calls, calendar: deps.tickets.calendarCoverage });
      await http.register(adminRoutes, { routing: parts.routing, scheduler: parts.scheduler, current: parts.current, flow, flowFor: parts.flowFor, acd, audit, guard });
    },
    async start() {
      await callStates.start();
      calls.start();
      admission.start();
      gate?.start();
    },
    // First to close: no new call is taken before the PBX link goes down; live calls stay for another instance.
    async close(step) {
      calls.stop();
      admission.stop();
      await step('admission gate', gate?.stop() ?? Promise.resolve());
      // A clean stop gives the lease up: another instance adopts our calls at once, not after it lapses.
      await step('call states', callStates.stop({ release: true }));
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
