/**
 * The queue phase: the caller waits with music for an agent, hears their position now and then, may
 * ask for a callback after a wait, and is offered to agents by the ACD (the offer rings the agent's
 * softphone; the agent phase takes over when it is answered).
 */
import type { Offer } from '../../acd/port.js';
import { mediaUri } from '../../ivr/engine.js';
import { hopVariables } from '../../routing/loops.js';
import type { FlowMedia } from '../ports.js';
import { CALLBACK_CONFIRM_MS, HOTLINE_NUMBER, TIMER_ANNOUNCE, TIMER_CALLBACK_CONFIRM, type CallEvent, type Command } from '../state.js';
import { describeMedia, emit, nextPlaybackId, pathError, pathStep, type Draft } from './draft.js';
import { goodbye, hangupCaller } from './ending.js';
import { callbackOfferAfter, nextAnnouncementSec, type QueueTuning } from '../../controller/port.js';

/** Put the caller in the queue; `why` says who asked (its failures are handled there). */
export function enqueue(d: Draft, skill: string, priority: number, why: string, joinedAt = d.now): void {
  const s = d.s;
  s.phase = 'queue';
  s.queue = { skill, priority, queuedAt: joinedAt };
  pathStep(d, 'queue', `skill ${skill} priority ${priority}`);
  if (!d.cfg.hasAcd) {
    pathStep(d, 'error', 'no ACD configured');
    return goodbye(d, 'failed');
  }
  emit(d, { do: 'start-moh', why });
  emit(d, {
    do: 'acd-enqueue',
    skill,
    priority,
    joinedAt,
    // A call to 12345 itself has no legacy line: the statistics count it under 12345.
    lineNumber: s.record.route?.line ?? HOTLINE_NUMBER,
    language: s.language,
    why,
  });
}

export function enqueued(d: Draft, e: Extract<CallEvent, { type: 'enqueued' }>): void {
  pathStep(d, 'queue', `position ${e.position}, expected wait ${e.expectedWaitSec}s`);
  scheduleAnnouncement(d);
}

export function scheduleAnnouncement(d: Draft): void {
  delete d.s.timers[TIMER_ANNOUNCE];
  // Under the controller the first announcement may come when the callback becomes allowed.
  const waitedSec = d.s.queue ? (d.now - d.s.queue.queuedAt) / 1000 : 0;
  const inSec = nextAnnouncementSec(d.cfg.queueAnnounceEverySec, callbackOfferAfter(d.cfg.callbackOfferAfterSec, tuning(d)), waitedSec);
  if (inSec <= 0) return;
  d.s.timers[TIMER_ANNOUNCE] = d.now + inSec * 1000;
}

/** The controller's tuning of the caller's queue, if any. */
function tuning(d: Draft): QueueTuning | undefined {
  return d.s.queue ? d.cfg.tuning?.(d.s.queue.skill) : undefined;
}

/** The announcement timer fired: ask the ACD where the caller stands. */
export function announceDue(d: Draft): void {
  if (d.s.phase !== 'queue' || !d.cfg.hasAcd) return;
  emit(d, { do: 'acd-position', why: 'announce' });
}

export function queuePosition(d: Draft, e: Extract<CallEvent, { type: 'queue-position' }>): void {
  const pos = e.position;
  if (!pos || d.s.phase !== 'queue') return;
  // Under pressure the controller shortens announcements to the callback offer, or skips them.
  const short = tuning(d)?.shortAnnouncements === true;
  if (short && !callbackAllowed(d)) return scheduleAnnouncement(d);
  const id = nextPlaybackId(d);
  d.s.playbacks[id] = `queue-announce-${d.s.playSeq}`;
  const media: FlowMedia[] = short ? [{ kind: 'prompt', id: 'callback-offer' }] : [
    { kind: 'prompt', id: 'queue-position-before' },
    { kind: 'number', value: Math.max(0, pos.position - 1) },
    { kind: 'prompt', id: 'queue-position-after' },
    { kind: 'prompt', id: 'queue-wait-before' },
    { kind: 'number', value: Math.max(1, Math.round(pos.expectedWaitSec / 60)) },
    { kind: 'prompt', id: 'queue-wait-minutes' },
    ...(callbackAllowed(d) ? [{ kind: 'prompt' as const, id: 'callback-offer' }] : []),
  ];
  pathStep(d, 'prompt', media.map(describeMedia).join(' '), d.s.language);
  emit(d, { do: 'stop-moh', why: 'announce' });
  emit(d, { do: 'play', playbackId: id, uris: media.map(mediaUri).filter((u): u is string => !!u), lang: d.s.language, token: d.s.playbacks[id]!, why: 'announce' });
}

/** After an announcement: music again, and the next announcement. */
export function resumeMoh(d: Draft): void {
  if (d.s.phase !== 'queue') return;
  emit(d, { do: 'start-moh', why: 'moh' });
  scheduleAnnouncement(d);
}

/** May this caller ask for a callback now? After a wait, and only with a number we can dial. */
function callbackAllowed(d: Draft): boolean {
  const after = callbackOfferAfter(d.cfg.callbackOfferAfterSec, tuning(d));
  return after > 0 && d.s.queue !== null && d.now - d.s.queue.queuedAt >= after * 1000 && /^\+?\d{5,20}$/.test(d.s.record.caller.number);
}

/** Fair callback: keep the place, hang up, be called back in turn when an agent is free. */
export function queueDigit(d: Draft, digit: string): void {
  if (digit !== '1' || !d.cfg.hasAcd || !callbackAllowed(d)) return;
  emit(d, { do: 'acd-request-callback', number: d.s.record.caller.number, at: d.now, why: 'callback', then: { type: 'callback-registered' } });
}

export function callbackRegistered(d: Draft): void {
  const s = d.s;
  pathStep(d, 'queue', 'callback requested');
  s.record.outcome = 'callback-requested';
  s.phase = 'ending';
  delete s.timers[TIMER_ANNOUNCE];
  const id = nextPlaybackId(d);
  s.playbacks[id] = 'callback-confirm';
  // Hang up when the confirmation has played (or after a bound, should its end never come).
  s.timers[TIMER_CALLBACK_CONFIRM] = d.now + CALLBACK_CONFIRM_MS;
  emit(d, { do: 'stop-moh', why: 'callback-confirm' });
  emit(d, { do: 'play', playbackId: id, uris: ['sound:hotline/callback-confirmed'], lang: s.language, token: 'callback-confirm', why: 'callback-confirm' });
}

/** The ACD offers our caller to an agent: ring the agent's dial string into our app. */
export function offer(d: Draft, o: Offer): void {
  const s = d.s;
  if (s.phase !== 'queue' || s.agentLeg) {
    if (d.cfg.hasAcd) emit(d, { do: 'acd-offer-failed', offerId: o.offerId, reason: 'rejected', at: d.now, why: 'offer', when: 'always' });
    return;
  }
  const channelId = `${s.callId}-a${o.agentId}-${o.offerId}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120);
  s.agentLeg = { channelId, offer: o, answered: false };
  pathStep(d, 'agent', `offered to ${o.agentId}`);
  emit(d, {
    do: 'originate',
    offerId: o.offerId,
    options: {
      endpoint: o.dialString,
      appArgs: ['agent-leg', s.callId, o.offerId],
      channelId,
      timeoutSec: o.timeoutSec,
      callerId: `"12345" <${s.record.dialed}>`,
      variables: { HOTLINE_CALL_ID: s.callId, HOTLINE_AGENT_ID: o.agentId, ...hopVariables(s.hops + 1) },
    },
    why: 'originate-agent',
    then: { type: 'agent-originated', offerId: o.offerId },
  });
}

/** Still ours (not answered, hung up or withdrawn while the originate was in flight): pop it now. */
export function agentOriginated(d: Draft, offerId: string): void {
  const leg = d.s.agentLeg;
  if (leg?.offer.offerId === offerId && !leg.answered) emit(d, { do: 'agent-ringing', agentId: leg.offer.agentId, change: 'ringing', why: 'agent-ringing' });
}

/** Failures of queue steps. */
export function queueFailed(d: Draft, cmd: Command, notFound: boolean, message: string): void {
  switch (cmd.why) {
    case 'announce':
      if (notFound) return;
      pathError(d, 'queue-announce', message);
      return resumeMoh(d);
    case 'moh':
      if (!notFound) pathError(d, 'moh', message);
      return;
    case 'callback-confirm':
      if (!notFound) pathError(d, 'callback-confirm', message);
      return hangupCaller(d, 'callback-requested');
    case 'originate-agent': {
      pathError(d, 'originate-agent', message);
      const leg = d.s.agentLeg;
      if (cmd.do === 'originate' && leg && leg.offer.offerId === cmd.offerId) {
        d.s.agentLeg = null;
        if (d.cfg.hasAcd) emit(d, { do: 'acd-offer-failed', offerId: leg.offer.offerId, reason: 'unreachable', at: d.now, why: 'offer', when: 'always' });
      }
      return;
    }
    default:
      pathError(d, cmd.why, message);
  }
}
