/**
 * Admission control's registration: one function taking the app's parts
 * explicitly (the calls feature calls it once; see src/calls/feature.ts).
 */
import type { Logger } from 'pino';
import type { Acd } from '../acd/service.js';
import type { CallRecord, CallSource } from '../calls/record.js';
import type { RouteDecision } from '../calls/ports.js';
import type { Config } from '../config/index.js';
import type { Metrics } from '../metrics/index.js';
import type { AmiPbx } from '../telephony/ami-pbx.js';
import type { AriTelephony } from '../telephony/ari-telephony.js';
import { AdmissionControl } from './control.js';
import { DialplanGate } from './gate.js';

export interface AdmissionWiring {
  config: Config;
  instanceId: string;
  log: Logger;
  now: () => number;
  telephony: AriTelephony;
  ami: AmiPbx | undefined;
  acd: Acd;
  resolveRoute: (q: { dialed: string; source: CallSource; at: Date; area?: string }) => RouteDecision;
  liveCalls: () => number;
  metrics: Metrics;
  /** Where every ended call's record goes (metrics, outbox → ticket). */
  onEnded: (record: CallRecord) => void | Promise<unknown>;
}

/** The skill of the queue a routing decision leads to: the hotline's skill, or a seat-group target. */
export function skillOfDecision(d: RouteDecision): string | undefined {
  if (d.action === 'hotline') return d.skill;
  if (d.action === 'target' && d.targetSpec.kind === 'queue') return d.targetSpec.group;
  return undefined;
}

/**
 * The dialplan gate (./gate.ts), when configured (ADMIT_GATE_MAX_PERCENT > 0) and Asterisk's AMI is
 * watched: gated calls are known from its UserEvents only.
 */
export function createGate(w: AdmissionWiring): DialplanGate | undefined {
  const { config, ami } = w;
  if (config.admission.gateMaxPercent <= 0 || !ami) return undefined;
  const gate = new DialplanGate({
    maxPercent: config.admission.gateMaxPercent,
    instanceId: w.instanceId,
    log: w.log,
    now: w.now,
    setGlobal: (name, value) => w.telephony.setGlobalVariable(name, value),
    pbxTime: () => w.telephony.pbxTime(),
    canRecord: () => ami.linkState === 'connected',
    onGated: (record) => {
      w.metrics.callShed('gate');
      w.onEnded(record);
    },
    onPercent: (p) => w.metrics.gatePercent(p),
  });
  ami.onUserEvent((evt) => gate.onUserEvent(evt));
  return gate;
}

export function createAdmission(w: AdmissionWiring, gate?: DialplanGate): AdmissionControl {
  const { config } = w;
  return new AdmissionControl({
    ...(gate ? { dialplanGate: gate } : {}),
    limits: config.admission,
    instanceId: w.instanceId,
    log: w.log,
    now: w.now,
    telephony: w.telephony,
    liveCalls: w.liveCalls,
    routeSkill: (dialed, source) =>
      skillOfDecision(w.resolveRoute({ dialed, source: source as CallSource, at: new Date(w.now()), ...(config.area ? { area: config.area } : {}) })),
    queues: () => w.acd.queues(),
    agents: () => w.acd.agents(),
    averageHandleSec: w.acd.averageHandleSec,
    ...(w.ami ? { pbxCalls: () => w.ami!.currentCalls() } : {}),
    onShed: (record, reason) => {
      w.metrics.callShed(reason);
      w.onEnded(record);
    },
    // A shed caller may ask for a callback (press 1): a callback-only entry, served in turn; its
    // conversation lands on the shed call's ticket (callbackOf = the shed call's id).
    ...(config.acd.callbackOfferAfterSec > 0
      ? {
          registerCallback: async (r: { callId: string; number: string; skill: string; dialed: string; language: string; at: number }) => {
            await w.acd.enqueue({ callId: r.callId, skill: r.skill, priority: 0, joinedAt: r.at, lineNumber: r.dialed, language: r.language, callback: { number: r.number } });
          },
        }
      : {}),
  });
}
