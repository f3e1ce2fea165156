/**
 * The agent phase: the offered agent answers (the ACD confirms the offer is still ours), caller and
 * agent meet in the call's mixing bridge and the segment is recorded; when the agent leaves first the
 * caller stays for the survey (or keeps the hand-off target).
 */
import type { HandoffFailure } from '../../handoff/machine.js';
import { callBridgeId, TIMER_ANNOUNCE, type AgentLeg, type CallEvent, type Command } from '../state.js';
import { emit, pathError, pathStep, type Draft } from './draft.js';
import { agentLeftDuringHandoff } from './handoff.js';
import { startSurvey } from './survey.js';

/** The call's mixing bridge, created on first use (the executor destroys one created after the end). */
export function ensureBridge(d: Draft, why: string): string {
  if (d.s.bridgeId) return d.s.bridgeId;
  const id = callBridgeId(d.s.callId);
  d.s.bridgeId = id;
  emit(d, { do: 'create-bridge', bridgeId: id, why });
  return id;
}

/** The agent leg entered our app: the agent answered. */
export function agentAnswered(d: Draft): void {
  const leg = d.s.agentLeg;
  if (!leg || !d.cfg.hasAcd) return;
  if (d.s.phase !== 'queue') return withdraw(d, leg);
  emit(d, { do: 'acd-offer-answered', offerId: leg.offer.offerId, at: d.now, why: 'agent' });
}

/** The ACD said whether the answered offer is still ours. */
export function offerAnswer(d: Draft, e: Extract<CallEvent, { type: 'offer-answer' }>): void {
  const s = d.s;
  const leg = s.agentLeg;
  if (!leg || leg.offer.offerId !== e.offerId) return;
  if (!e.ok || s.phase !== 'queue') return withdraw(d, leg);
  leg.answered = true;
  s.phase = 'agent';
  s.lastAgentId = leg.offer.agentId;
  delete s.timers[TIMER_ANNOUNCE];
  s.record.agentAnsweredAt = d.now;
  s.record.agents.push(leg.offer.agentId);
  pathStep(d, 'agent', `answered by ${leg.offer.agentId}`);
  emit(d, { do: 'agent-connected', agentId: leg.offer.agentId, why: 'agent-connected' });
  emit(d, { do: 'acd-leave', reason: 'answered', at: d.now, why: 'agent' });
  const bridgeId = ensureBridge(d, 'bridge');
  emit(d, { do: 'stop-moh', why: 'bridge' });
  emit(d, { do: 'add-to-bridge', bridgeId, channelIds: [s.callId, leg.channelId], why: 'bridge', then: { type: 'agent-bridged', agentId: leg.offer.agentId } });
}

/** The offer expired or was withdrawn while the agent's phone rang: release the agent. */
function withdraw(d: Draft, leg: AgentLeg): void {
  pathStep(d, 'agent', `offer to ${leg.offer.agentId} withdrawn`);
  d.s.agentLeg = null;
  emit(d, { do: 'agent-ringing', agentId: leg.offer.agentId, change: 'withdrawn', why: 'agent-ringing' });
  emit(d, { do: 'hangup', channelId: leg.channelId, why: 'agent', when: 'always' });
}

/** The agent's leg is gone (hung up, or never answered). */
export function agentGone(d: Draft, dialStatus: string | undefined, cause: number | undefined): void {
  const s = d.s;
  const leg = s.agentLeg;
  if (!leg) return;
  s.agentLeg = null;
  if (!leg.answered) {
    // Rang and never answered. A busy Local leg ends with cause 0 and says BUSY only in its Dial
    // status (tests/fixtures/traces/o01), so the status is read first, as for hand-off legs.
    const failure = failureOf(dialStatus, cause);
    const reason = failure === 'hung-up' ? 'no-answer' : failure;
    pathStep(d, 'agent', `${leg.offer.agentId} did not answer (${reason})`);
    emit(d, { do: 'agent-ringing', agentId: leg.offer.agentId, change: 'withdrawn', why: 'agent-ringing' });
    if (s.phase === 'queue' && d.cfg.hasAcd) emit(d, { do: 'acd-offer-failed', offerId: leg.offer.offerId, reason, at: d.now, why: 'agent', when: 'always' });
    return;
  }
  if (d.cfg.hasAcd) emit(d, { do: 'acd-call-ended', agentId: leg.offer.agentId, at: d.now, why: 'agent', onFail: 'continue', when: 'always' });
  if (s.phase !== 'agent') return;
  if (s.handoff.phase !== 'idle') return agentLeftDuringHandoff(d);
  // The agent hung up first: the caller stays for the satisfaction survey.
  pathStep(d, 'agent', `${leg.offer.agentId} hung up`);
  startSurvey(d);
}

/** Failures in the agent phase. */
export function agentFailed(d: Draft, cmd: Command, notFound: boolean, message: string): void {
  if (cmd.why === 'bridge') {
    if (notFound) return; // one side hung up meanwhile; its destroy event settles the call
    pathError(d, 'bridge', message);
    const leg = d.s.agentLeg;
    if (leg) emit(d, { do: 'hangup', channelId: leg.channelId, why: 'agent' });
    return;
  }
  pathError(d, cmd.why, message);
}

/**
 * Why a target leg that never answered failed. The Dial status comes first: on a real Asterisk an
 * originated Local channel whose far half runs Busy() reports `Dial` BUSY, while the leg we own is
 * destroyed with cause 0 (only the far half carries 17). The Q.850 cause is the fallback.
 */
export function failureOf(dialStatus: string | undefined, cause: number | undefined): HandoffFailure {
  switch (dialStatus) {
    case 'BUSY':
      return 'busy';
    case 'NOANSWER':
    case 'CANCEL':
      return 'no-answer';
    case 'CONGESTION':
    case 'CHANUNAVAIL':
    case 'INVALIDARGS':
      return 'unreachable';
    default:
      break;
  }
  switch (cause) {
    case 17:
      return 'busy';
    case 21:
      return 'rejected';
    case 18:
    case 19:
    case 16:
    case undefined:
      return 'no-answer';
    default:
      return 'unreachable';
  }
}
