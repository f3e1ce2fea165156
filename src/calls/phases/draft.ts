/**
 * What every phase handler works on: a private copy of the call state (the step cloned it, so the
 * caller's value is never touched), the commands emitted so far, the clock reading and the
 * configuration. Handlers are plain functions of a draft: no I/O, no clock, no timers.
 */
import type { FlowMedia } from '../ports.js';
import type { CallFlow } from '../ports.js';
import type { CallPathStep } from '../record.js';
import type { CallState, Command } from '../state.js';
import type { QueueTuning } from '../../controller/port.js';

/** What the step needs to know besides the state (fixed for the life of a process). */
export interface StepConfig {
  /** The IVR, bound to the pure engine (calls/flow-binding.ts). */
  flow: CallFlow;
  hasAcd: boolean;
  hasRecording: boolean;
  hasGuard: boolean;
  /** Seconds between queue position announcements (0: none). */
  queueAnnounceEverySec: number;
  /** Seconds a hand-off target may ring before the hand-off fails. */
  handoffRingSec: number;
  /** Seconds in the queue after which a caller may press 1 for a callback (0 = never). */
  callbackOfferAfterSec: number;
  /**
   * The answer-rate controller's current tuning of a queue (src/controller/port.ts): an earlier
   * callback offer, short announcements. A read of live configuration, like the flow: the handlers
   * stay free of I/O and clocks.
   */
  tuning?: (skill: string) => QueueTuning | undefined;
}

export interface Draft {
  s: CallState;
  out: Command[];
  now: number;
  cfg: StepConfig;
}

export function pathStep(d: Draft, kind: CallPathStep['kind'], detail: string, lang?: string): void {
  d.s.record.path.push({ at: d.now, kind, detail, ...(lang ? { lang } : {}) });
}

/** One of our steps failed: it goes on the record (the executor logs it). */
export function pathError(d: Draft, where: string, message: string): void {
  pathStep(d, 'error', `${where}: ${message}`);
}

export function emit(d: Draft, c: Command): void {
  d.out.push(c);
}

export function isOver(d: Draft): boolean {
  return d.s.phase === 'ended' || d.s.phase === 'ending';
}

export function nextPlaybackId(d: Draft): string {
  return `${d.s.callId}-p${++d.s.playSeq}`;
}

export function describeMedia(m: FlowMedia): string {
  return m.kind === 'prompt' ? m.id : `${m.kind}:${m.value}`;
}
