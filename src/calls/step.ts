/**
 * The call's pure step: `step(state, event, now) → { state, commands }`.
 *
 * @remarks
 * Built from small phase handlers (calls/phases/: start, ivr, queue, agent, survey, handoff,
 * ending, recording), following the IVR engine and the hand-off machine. The step works on its own
 * copy of the state, reads no clock but `now`, and does no I/O: the session runs the commands
 * (calls/effects.ts) and feeds their results back as events. The only exception it throws is a
 * {@link HandoffError} for an agent's hand-off request that makes no sense now (the API answers 409);
 * the state is then unchanged.
 */
import type { TelephonyEvent } from '../telephony/port.js';
import { acdAdopted, adopt, adoptFailed } from './phases/adopt.js';
import { agentAnswered, agentFailed, agentGone, failureOf, offerAnswer } from './phases/agent.js';
import type { Draft, StepConfig } from './phases/draft.js';
import { pathError, pathStep } from './phases/draft.js';
import { abandonOutcome, finish, hangupCaller, hangupFailed } from './phases/ending.js';
import { applyHandoff, handoffFailed, requestHandoff } from './phases/handoff.js';
import { flowInput, ivrFailed, ticketStatus } from './phases/ivr.js';
import { agentOriginated, announceDue, callbackRegistered, enqueued, offer, queueDigit, queueFailed, queuePosition, resumeMoh } from './phases/queue.js';
import { segmentStarted, startSegment } from './phases/recording.js';
import { answered, begin, beginFailed, refRead, routed, varsRead } from './phases/start.js';
import { TIMER_ANNOUNCE, TIMER_CALLBACK_CONFIRM, TIMER_HANGUP_RETRY, type CallEvent, type CallState, type Command, type StepResult } from './state.js';
import { clonePlain } from '../util/plain-clone.js';

export type { StepConfig } from './phases/draft.js';
export { failureOf } from './phases/agent.js';

export type Step = (state: CallState, event: CallEvent, now: number) => StepResult;

export function createStep(cfg: StepConfig): Step {
  return (state, event, now) => {
    if (state.phase === 'ended') {
      // Nothing moves an ended call; an offer that raced the end is declined so the agent is not held.
      if (event.type === 'offer' && cfg.hasAcd) {
        return { state, commands: [{ do: 'acd-offer-failed', offerId: event.offer.offerId, reason: 'rejected', at: now, why: 'offer', when: 'always' }] };
      }
      return { state, commands: [] };
    }
    // The IVR engine's state is copied on write by the engine (ivr/engine.ts) and only ever replaced
    // by the handlers, never changed in place: it is shared, not copied — its flows are most of a state.
    const s: CallState = clonePlain({ ...state, ivr: null });
    s.ivr = state.ivr;
    const d: Draft = { s, out: [], now, cfg };
    apply(d, event);
    return { state: d.s, commands: d.out };
  };
}

function apply(d: Draft, e: CallEvent): void {
  switch (e.type) {
    case 'begin':
      return begin(d);
    case 'telephony':
      return telephony(d, e.event);
    case 'timer':
      return timer(d, e.token);
    case 'offer':
      return offer(d, e.offer);
    case 'handoff-request':
      return requestHandoff(d, e.kind, e.target);
    case 'handoff-command':
      return applyHandoff(d, { type: e.command, at: d.now });
    case 'finish':
      return finish(d, e.by, e.outcome);
    case 'adopt':
      return adopt(d, e);
    case 'acd-adopted':
      return acdAdopted(d, e);
    case 'answered':
      return answered(d, true);
    case 'ref-read':
      return refRead(d, e.value);
    case 'vars-read':
      return varsRead(d, e);
    case 'routed':
      return routed(d, e);
    case 'enqueued':
      return enqueued(d, e);
    case 'queue-position':
      return queuePosition(d, e);
    case 'callback-registered':
      return callbackRegistered(d);
    case 'agent-originated':
      return agentOriginated(d, e.offerId);
    case 'offer-answer':
      return offerAnswer(d, e);
    case 'agent-bridged':
      return startSegment(d, e.agentId);
    case 'ticket-status':
      return ticketStatus(d, e);
    case 'segment-started':
      return segmentStarted(d, e);
    case 'effect-failed':
      return failed(d, e.cmd, e.notFound, e.message);
  }
}

function timer(d: Draft, token: string): void {
  if (!(token in d.s.timers)) return; // cancelled, or already handled
  delete d.s.timers[token];
  switch (token) {
    case TIMER_ANNOUNCE:
      return announceDue(d);
    case TIMER_CALLBACK_CONFIRM:
      return hangupCaller(d, 'callback-requested');
    case TIMER_HANGUP_RETRY:
      return hangupCaller(d, d.s.hangup?.outcome ?? d.s.record.outcome ?? 'failed');
    default:
      return flowInput(d, { type: 'timeout', token });
  }
}

/** Telephony events that concern this call (routed by the manager). */
function telephony(d: Draft, e: TelephonyEvent): void {
  const s = d.s;
  switch (e.type) {
    case 'ChannelDtmfReceived':
      if (e.channel.id !== s.callId) return;
      pathStep(d, 'dtmf', e.digit);
      if (s.phase === 'queue') return queueDigit(d, e.digit);
      return flowInput(d, { type: 'dtmf', digit: e.digit });
    case 'PlaybackFinished': {
      const token = s.playbacks[e.playbackId];
      delete s.playbacks[e.playbackId];
      if (token === undefined) return;
      if (e.state === 'failed') pathStep(d, 'error', `prompt failed: ${e.mediaUri}`);
      if (token.startsWith('queue-announce')) return resumeMoh(d);
      if (token === 'callback-confirm') return hangupCaller(d, 'callback-requested');
      return flowInput(d, { type: 'playback-done', token, failed: e.state === 'failed' });
    }
    case 'StasisStart':
      if (s.agentLeg && e.channel.id === s.agentLeg.channelId) return agentAnswered(d);
      if (s.targetLeg && e.channel.id === s.targetLeg.channelId) {
        s.targetLeg.answered = true;
        return applyHandoff(d, { type: 'target-answered', at: d.now });
      }
      return;
    case 'Dial':
      if (s.targetLeg && e.peerId === s.targetLeg.channelId && e.dialstatus) s.targetLeg.dialStatus = e.dialstatus;
      if (s.agentLeg && e.peerId === s.agentLeg.channelId && e.dialstatus) s.agentLeg.dialStatus = e.dialstatus;
      return;
    case 'ChannelDestroyed':
    case 'StasisEnd':
    case 'ChannelHangupRequest': {
      const cause = e.type === 'ChannelDestroyed' || e.type === 'ChannelHangupRequest' ? e.cause : undefined;
      if (e.channel.id === s.callId) {
        if (cause !== undefined) s.record.hangupCause = cause;
        return finish(d, 'caller', abandonOutcome(d));
      }
      if (e.type === 'ChannelHangupRequest') return;
      const destroyedCause = e.type === 'ChannelDestroyed' ? e.cause : undefined;
      if (s.agentLeg && e.channel.id === s.agentLeg.channelId) return agentGone(d, s.agentLeg.dialStatus, destroyedCause);
      if (s.targetLeg && e.channel.id === s.targetLeg.channelId) {
        const leg = s.targetLeg;
        s.targetLeg = null;
        return applyHandoff(
          d,
          leg.answered ? { type: 'target-hung-up', at: d.now } : { type: 'target-failed', reason: failureOf(leg.dialStatus, destroyedCause), at: d.now },
        );
      }
      return;
    }
    default:
      return;
  }
}

/** A command failed: the handler of the step that emitted it decides what follows. */
function failed(d: Draft, cmd: Command, notFound: boolean, message: string): void {
  // A bridge that could not be created is created again on next use.
  if (cmd.do === 'create-bridge' && d.s.bridgeId === cmd.bridgeId) d.s.bridgeId = null;
  if (cmd.do === 'hangup-caller') return hangupFailed(d, cmd.outcome, notFound);
  const why = cmd.why;
  if (why.startsWith('begin:')) return beginFailed(d, cmd, notFound, message);
  if (why.startsWith('ivr:')) return ivrFailed(d, cmd, notFound, message);
  if (why.startsWith('handoff:')) return handoffFailed(d, cmd, notFound, message);
  switch (why) {
    case 'announce':
    case 'moh':
    case 'callback-confirm':
    case 'originate-agent':
      return queueFailed(d, cmd, notFound, message);
    case 'agent':
    case 'bridge':
      return agentFailed(d, cmd, notFound, message);
    case 'adopt':
      return adoptFailed(d, cmd, notFound, message);
    case 'ivr-error':
    case 'survey':
    case 'recording':
    default:
      if (!notFound) pathError(d, why, message);
  }
}
