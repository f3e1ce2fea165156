/**
 * Admission control's decision, pure: the load now and the configured limits
 * in, admit or shed (with the limit that is over) out. No I/O, no clock: the
 * controller (./control.ts) gathers the load and acts on the decision.
 *
 * @remarks
 * Order of the checks: Asterisk and the ARI link first (a saturated PBX is what
 * turns overload into stuck channels and timeouts for everyone), then this
 * instance's calls, then the queue the caller would join. A limit of 0 is off.
 * Calls handed in by partners (110/119/120/122 linkage, sub-centres), agents'
 * internal calls and our callbacks are never shed: they are few, urgent or
 * already promised.
 */

export interface AdmissionLimits {
  /** Calls this instance handles at once. */
  maxCalls: number;
  /** Callers waiting in the queue the new caller would join. */
  maxQueue: number;
  /** Expected wait (s) of that queue for a new caller. */
  maxWaitSec: number;
  /** Smoothed ARI request latency (ms). */
  ariMaxLatencyMs: number;
  /** ARI requests waiting for the in-flight cap. */
  ariMaxBacklog: number;
  /** Calls in progress on the whole Asterisk. */
  maxPbxCalls: number;
}

export interface AdmissionLoad {
  /** Where the call comes from (the dialplan's Stasis argument): `carrier`, `linkage`, … */
  source: string;
  /** Live calls of this instance (not counting the new one). */
  calls: number;
  /** The queue the call would join, when known. */
  queue?: { skill: string; waiting: number; expectedWaitSec: number };
  ariLatencyMs: number;
  ariBacklog: number;
  /** Asterisk's calls in progress, when known (AMI). */
  pbxCalls?: number;
}

export type ShedReason = 'ari-backlog' | 'ari-latency' | 'pbx-calls' | 'calls' | 'queue' | 'wait';

export type AdmissionDecision = { admit: true } | { admit: false; reason: ShedReason; detail: string };

const NEVER_SHED = new Set(['linkage', 'subcenter', 'agent', 'callback']);

const over = (value: number | undefined, limit: number): boolean => limit > 0 && value !== undefined && value >= limit;

export function admit(load: AdmissionLoad, limits: AdmissionLimits): AdmissionDecision {
  if (NEVER_SHED.has(load.source)) return { admit: true };
  if (over(load.ariBacklog, limits.ariMaxBacklog)) return shed('ari-backlog', `${load.ariBacklog} ARI requests waiting (limit ${limits.ariMaxBacklog})`);
  if (over(load.ariLatencyMs, limits.ariMaxLatencyMs)) return shed('ari-latency', `ARI latency ${Math.round(load.ariLatencyMs)} ms (limit ${limits.ariMaxLatencyMs})`);
  if (over(load.pbxCalls, limits.maxPbxCalls)) return shed('pbx-calls', `${load.pbxCalls} calls on Asterisk (limit ${limits.maxPbxCalls})`);
  if (over(load.calls, limits.maxCalls)) return shed('calls', `${load.calls} calls on this instance (limit ${limits.maxCalls})`);
  const q = load.queue;
  if (q && over(q.waiting, limits.maxQueue)) return shed('queue', `${q.waiting} waiting for ${q.skill} (limit ${limits.maxQueue})`);
  if (q && limits.maxWaitSec > 0 && q.expectedWaitSec > limits.maxWaitSec) return shed('wait', `expected wait ${q.expectedWaitSec} s for ${q.skill} (limit ${limits.maxWaitSec})`);
  return { admit: true };
}

function shed(reason: ShedReason, detail: string): AdmissionDecision {
  return { admit: false, reason, detail };
}

/**
 * Smoothed latency of recent ARI requests: an exponentially weighted mean, so a
 * few slow requests do not shed calls but a saturated Asterisk does within a few
 * dozen requests; it decays back to 0 when no request was seen for `idleMs`.
 */
export function nextLatency(prev: { ms: number; at: number }, sampleMs: number, at: number, idleMs = 5000, weight = 0.1): { ms: number; at: number } {
  const base = at - prev.at > idleMs ? 0 : prev.ms;
  return { ms: base + weight * (sampleMs - base), at };
}
