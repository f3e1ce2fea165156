/**
 * The end of a call: the polite goodbye (hang the caller up, retrying while ARI is away) and the
 * finish, observed once or many times, which settles the legs, the queue entry, the recording and the
 * bridge, and submits the record exactly once.
 */
import type { CallOutcome } from '../record.js';
import { HANGUP_RETRIES, HANGUP_RETRY_MS, TIMER_CALLBACK_CONFIRM, TIMER_HANGUP_RETRY, type Effect } from '../state.js';
import { emit, type Draft } from './draft.js';

/** What a caller hanging up now means for the record. */
export function abandonOutcome(d: Draft): CallOutcome {
  switch (d.s.phase) {
    case 'queue':
      return 'abandoned-queue';
    case 'agent':
    case 'survey':
      return 'answered';
    case 'handoff':
      return d.s.record.agents.length ? 'answered' : 'transferred';
    case 'ending':
      return d.s.record.outcome ?? 'self-service';
    default:
      return d.s.selfServed ? 'self-service' : 'abandoned-ivr';
  }
}

export function goodbye(d: Draft, outcome: CallOutcome): void {
  d.s.phase = 'ending';
  hangupCaller(d, outcome);
}

export function hangupCaller(d: Draft, outcome: CallOutcome): void {
  if (d.s.phase === 'ended') return;
  delete d.s.timers[TIMER_CALLBACK_CONFIRM];
  d.s.record.outcome ??= outcome;
  d.s.record.endedBy ??= 'system';
  d.s.hangup = { tries: d.s.hangup?.tries ?? 0, outcome };
  emit(d, { do: 'hangup-caller', outcome, why: 'hangup-caller', then: { type: 'finish', by: 'system', outcome } });
}

/** The hangup of the caller failed. */
export function hangupFailed(d: Draft, outcome: CallOutcome, notFound: boolean): void {
  const tries = d.s.hangup?.tries ?? 0;
  if (!notFound && tries < HANGUP_RETRIES) {
    // ARI is down or timed out: the channel may still be up. Keep the call (resync leaves it alone) and
    // try again, so the caller is released rather than left in silence or adopted anew.
    d.s.hangup = { tries: tries + 1, outcome };
    d.s.timers[TIMER_HANGUP_RETRY] = d.now + HANGUP_RETRY_MS;
    return;
  }
  finish(d, 'system', outcome);
}

/** End of the call, observed once or many times: the record is submitted once. */
export function finish(d: Draft, by: 'caller' | 'system' | 'agent', outcome: CallOutcome): void {
  const s = d.s;
  if (s.phase === 'ended') return;
  const wasQueued = s.phase === 'queue';
  s.phase = 'ended';
  const h = s.handoff;
  if (h.phase === 'consulting' || h.phase === 'conference' || h.phase === 'handed-off') {
    // The call ended with the target still on it: close the hand-off's talk time.
    s.record.handoffs.push({ kind: h.phase === 'consulting' ? 'consult' : h.kind, target: h.target.label, at: d.now, result: 'call-ended', talkMs: d.now - h.answeredAt });
  }
  s.record.endedAt ??= d.now;
  s.record.endedBy ??= by;
  s.record.outcome ??= outcome;
  s.timers = {};
  s.playbacks = {};
  // Cleanup never blocks the record: each step is independent and tolerant.
  const parallel: Effect[] = [];
  const leg = s.agentLeg;
  s.agentLeg = null;
  if (leg) {
    parallel.push({ do: 'hangup', channelId: leg.channelId });
    if (leg.answered) {
      if (d.cfg.hasAcd) parallel.push({ do: 'acd-call-ended', agentId: leg.offer.agentId, at: d.now });
    } else {
      if (d.cfg.hasAcd) parallel.push({ do: 'acd-offer-failed', offerId: leg.offer.offerId, reason: 'rejected', at: d.now });
      parallel.push({ do: 'agent-ringing', agentId: leg.offer.agentId, change: 'withdrawn' });
    }
  }
  const target = s.targetLeg;
  s.targetLeg = null;
  if (target) parallel.push({ do: 'hangup', channelId: target.channelId });
  if (wasQueued && d.cfg.hasAcd) {
    parallel.push({ do: 'acd-leave', reason: s.record.outcome === 'callback-requested' ? 'callback-requested' : 'abandoned', at: d.now });
  }
  // Stop the recording before the bridge goes, so its file is complete.
  emit(d, { do: 'cleanup', parallel, recordingStop: d.cfg.hasRecording && s.recording.segment > 0, bridgeId: s.bridgeId, why: 'cleanup', when: 'always' });
  s.bridgeId = null;
  if (d.cfg.hasGuard && s.record.outcome === 'abandoned-ivr' && s.record.agents.length === 0 && !s.record.path.some((p) => p.kind === 'dtmf')) {
    emit(d, { do: 'silent-call', number: s.record.caller.number, source: s.record.source, why: 'silent-call count', when: 'always', background: true });
  }
  emit(d, { do: 'ended', record: s.record, why: 'ended', when: 'always' });
}
