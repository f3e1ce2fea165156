/**
 * Adoption: this instance takes over a call whose instance died (its lease ran out). Asterisk does
 * not replay the events the dead instance missed, so the call is continued from what Asterisk has
 * now: a caller gone ends the call (its one ticket); a caller talking in the call's bridge (with the
 * agent or the hand-off target) keeps talking; a caller in the IVR hears the flow again; a queued
 * caller keeps their place (or rejoins with their original join time); a survey or goodbye in
 * progress ends politely.
 */
import type { CallEvent, Command } from '../state.js';
import { emit, pathStep, type Draft } from './draft.js';
import { abandonOutcome, finish, goodbye, hangupCaller } from './ending.js';
import { agentGone } from './agent.js';
import { applyHandoff } from './handoff.js';
import { enqueue, scheduleAnnouncement } from './queue.js';
import { endSegment } from './recording.js';
import { begin, startFlow } from './start.js';

export function adopt(d: Draft, e: Extract<CallEvent, { type: 'adopt' }>): void {
  const s = d.s;
  const from = s.record.instance;
  const wasPhase = s.phase;
  s.record.recovered = true;
  s.record.instance = e.instanceId;
  pathStep(d, 'note', `adopted by ${e.instanceId} from ${from} (${wasPhase}; ${e.bridge ? `bridge of ${e.bridge.length}` : 'no bridge'})`);
  // Playbacks and waits of the dead instance: their events went to it.
  s.playbacks = {};
  s.timers = {};
  const live = new Set(e.channels);
  const bridged = new Set(e.bridge ?? []);
  if (e.bridge === null) s.bridgeId = null;
  if (!live.has(s.callId)) return finish(d, 'caller', abandonOutcome(d));
  // A leg that rang for the dead instance: its offer went with it.
  const ringing = s.agentLeg && !s.agentLeg.answered ? s.agentLeg : null;
  if (ringing) {
    s.agentLeg = null;
    if (live.has(ringing.channelId)) emit(d, { do: 'hangup', channelId: ringing.channelId, why: 'adopt', onFail: 'continue', when: 'always' });
  }
  if (s.targetLeg && !live.has(s.targetLeg.channelId)) s.targetLeg = null;
  const agent = s.agentLeg;
  const talking = (id: string | undefined) => id !== undefined && live.has(id) && bridged.has(id) && bridged.has(s.callId);
  if (s.handoff.phase === 'dialing') {
    // A hand-off still ringing: its ring timer and the target's answer went with the dead instance.
    // It is abandoned as a failed hand-off (the target leg hung up): a blind one puts the caller back
    // in the queue, a consult brings them back to their agent, a three-way goes on without the target.
    const target = s.targetLeg;
    s.targetLeg = null;
    if (target) emit(d, { do: 'hangup', channelId: target.channelId, why: 'adopt', onFail: 'continue', when: 'always' });
    pathStep(d, 'transfer', `${s.handoff.kind} hand-off to ${s.handoff.target.label} still ringing at adoption: abandoned`);
    // A blind one let its agent go already: the machine's failure puts the caller back in the queue.
    if (!agent) return applyHandoff(d, { type: 'target-failed', reason: 'unreachable', at: d.now });
    if (!(live.has(agent.channelId) && bridged.has(agent.channelId))) return requeueAfterAdoption(d);
    applyHandoff(d, { type: 'target-failed', reason: 'unreachable', at: d.now });
    if (d.cfg.hasAcd) emit(d, { do: 'acd-adopt', agentId: agent.offer.agentId, at: d.now, why: 'adopt' });
    return;
  }
  switch (s.phase) {
    case 'starting':
      return begin(d);
    case 'ivr':
      if (s.decision) return startFlow(d, s.decision);
      return begin(d);
    case 'queue':
      if (!d.cfg.hasAcd) return goodbye(d, 'failed');
      emit(d, { do: 'acd-adopt', agentId: null, at: d.now, why: 'adopt' });
      return;
    case 'agent':
      if (agent && talking(agent.channelId)) {
        // Caller and agent keep talking; the agent is on this call again for the ACD.
        if (d.cfg.hasAcd) emit(d, { do: 'acd-adopt', agentId: agent.offer.agentId, at: d.now, why: 'adopt' });
        return;
      }
      if (agent) return agentGone(d, undefined, undefined);
      return goodbye(d, 'answered');
    case 'handoff': {
      const target = s.targetLeg;
      if (target?.answered && talking(target.channelId)) {
        if (agent && talking(agent.channelId) && d.cfg.hasAcd) emit(d, { do: 'acd-adopt', agentId: agent.offer.agentId, at: d.now, why: 'adopt' });
        return;
      }
      // The hand-off cannot be followed from here: the caller goes back to an agent, ahead of new callers.
      if (target) emit(d, { do: 'hangup', channelId: target.channelId, why: 'adopt', onFail: 'continue', when: 'always' });
      s.targetLeg = null;
      return requeueAfterAdoption(d);
    }
    case 'survey':
      return goodbye(d, 'answered');
    case 'ending':
      return hangupCaller(d, s.hangup?.outcome ?? s.record.outcome ?? 'self-service');
    case 'ended':
      return;
  }
}

/**
 * A hand-off that cannot be followed after adoption: the agent leg (if any) and the bridge are let go,
 * and the caller goes back to the queue ahead of new callers (priority 20, as after a failed hand-off).
 */
function requeueAfterAdoption(d: Draft): void {
  const s = d.s;
  s.handoff = { phase: 'idle' };
  const agent = s.agentLeg;
  if (agent) {
    emit(d, { do: 'hangup', channelId: agent.channelId, why: 'adopt', onFail: 'continue', when: 'always' });
    if (d.cfg.hasAcd && agent.answered) emit(d, { do: 'acd-call-ended', agentId: agent.offer.agentId, at: d.now, why: 'adopt', onFail: 'continue', when: 'always' });
    s.agentLeg = null;
  }
  endSegment(d);
  if (s.bridgeId) {
    emit(d, { do: 'destroy-bridge', bridgeId: s.bridgeId, why: 'adopt', onFail: 'continue', when: 'always' });
    s.bridgeId = null;
  }
  return enqueue(d, s.record.route?.skill ?? 'general', 20, 'adopt');
}

/** The ACD answered the adoption of a queued call. */
export function acdAdopted(d: Draft, e: Extract<CallEvent, { type: 'acd-adopted' }>): void {
  const s = d.s;
  if (s.phase !== 'queue' || !s.queue) return;
  if (e.entry) {
    // Still queued: the caller keeps their place, with music, and hears the position again.
    pathStep(d, 'queue', 'queue entry kept after adoption');
    emit(d, { do: 'start-moh', why: 'moh' });
    scheduleAnnouncement(d);
    return;
  }
  // The entry was dropped with the dead instance: rejoin with the original join time.
  enqueue(d, s.queue.skill, s.queue.priority, 'adopt', s.queue.queuedAt);
}

/** An adoption step failed: a queued caller whose entry is in doubt rejoins the queue; anything else is on the record. */
export function adoptFailed(d: Draft, cmd: Command, notFound: boolean, message: string): void {
  if (notFound && cmd.do !== 'acd-adopt') return;
  pathStep(d, 'error', `adopt: ${message}`);
  const s = d.s;
  // Not known whether the entry is still there: enqueue again (a kept entry makes it a no-op).
  if (cmd.do === 'acd-adopt' && s.phase === 'queue' && s.queue) enqueue(d, s.queue.skill, s.queue.priority, 'adopt-retry', s.queue.queuedAt);
}
