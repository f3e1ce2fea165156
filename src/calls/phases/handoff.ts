/**
 * The hand-off phase: runs the pure hand-off machine (handoff/machine.ts) and turns its actions into
 * bridge, hold and dial commands. The caller stays in our bridge throughout; a failed target never
 * drops them.
 */
import { HandoffError, transition, type HandoffAction, type HandoffEvent, type HandoffKind, type HandoffTarget } from '../../handoff/machine.js';
import { hopVariables } from '../../routing/loops.js';
import type { Command } from '../state.js';
import { emit, isOver, pathError, pathStep, type Draft } from './draft.js';
import { ensureBridge } from './agent.js';
import { enqueue } from './queue.js';
import { endSegment, startSegment } from './recording.js';
import { startSurvey } from './survey.js';

const H = { onFail: 'continue' } as const;

/** An agent asks for a hand-off. Throws {@link HandoffError} when it makes no sense now (nothing changes). */
export function requestHandoff(d: Draft, kind: HandoffKind, target: HandoffTarget): void {
  if (d.s.phase !== 'agent' || !d.s.agentLeg?.answered) {
    throw new HandoffError('handoff-not-allowed', '通话未接通座席 / the call is not connected to an agent');
  }
  applyHandoff(d, { type: 'request', kind, target, at: d.now });
}

/** The IVR sends the caller to a target (a sub-center's own seats): a blind hand-off without an agent. */
export function transferOut(d: Draft, target: string): void {
  d.s.phase = 'handoff';
  applyHandoff(d, { type: 'request', kind: 'blind', target: { label: target, dial: { kind: 'dial', dialString: target } }, at: d.now });
}

export function applyHandoff(d: Draft, event: HandoffEvent): void {
  if (isOver(d)) return;
  const t = transition(d.s.handoff, event); // throws HandoffError for bad requests: the step is abandoned
  d.s.handoff = t.state;
  for (const a of t.actions) {
    if (d.s.phase === 'ended') return;
    doHandoff(d, a);
  }
}

function doHandoff(d: Draft, a: HandoffAction): void {
  const s = d.s;
  const why = `handoff:${a.do}`;
  switch (a.do) {
    case 'hold-caller':
      if (s.bridgeId) emit(d, { do: 'remove-from-bridge', bridgeId: s.bridgeId, channelIds: [s.callId], why, ...H });
      emit(d, { do: 'start-moh', why, ...H });
      return;
    case 'unhold-caller': {
      emit(d, { do: 'stop-moh', why, ...H });
      const b = ensureBridge(d, why);
      emit(d, { do: 'add-to-bridge', bridgeId: b, channelIds: [s.callId], why, ...H });
      return;
    }
    case 'dial-target': {
      if (a.target.dial.kind !== 'dial') return;
      const n = ++s.handoffSeq;
      const channelId = `${s.callId}-h${n}`;
      s.targetLeg = { channelId, answered: false };
      pathStep(d, 'transfer', `dialing ${a.target.label}`);
      emit(d, {
        do: 'originate',
        offerId: null,
        options: {
          endpoint: a.target.dial.dialString,
          appArgs: ['handoff-leg', s.callId, String(n)],
          channelId,
          timeoutSec: d.cfg.handoffRingSec,
          callerId: `"12345" <${s.record.dialed}>`,
          variables: { HOTLINE_CALL_ID: s.callId, ...(s.record.linkageRef ? { HOTLINE_REF: s.record.linkageRef } : {}), ...hopVariables(s.hops + 1) },
        },
        why,
      });
      return;
    }
    case 'hangup-target': {
      const leg = s.targetLeg;
      s.targetLeg = null;
      if (leg) emit(d, { do: 'hangup', channelId: leg.channelId, why, ...H, when: 'always' });
      return;
    }
    case 'bridge-target': {
      if (!s.targetLeg) return;
      const b = ensureBridge(d, why);
      emit(d, { do: 'add-to-bridge', bridgeId: b, channelIds: [s.targetLeg.channelId], why, ...H });
      if (s.phase !== 'agent') s.phase = 'handoff';
      return;
    }
    case 'release-agent': {
      const leg = s.agentLeg;
      if (!leg) return;
      s.agentLeg = null;
      s.phase = 'handoff';
      if (s.bridgeId) emit(d, { do: 'remove-from-bridge', bridgeId: s.bridgeId, channelIds: [leg.channelId], why, ...H });
      // The state forgot the leg: its release runs even if the call ends meanwhile.
      emit(d, { do: 'hangup', channelId: leg.channelId, why, ...H, when: 'always' });
      if (d.cfg.hasAcd) emit(d, { do: 'acd-call-ended', agentId: leg.offer.agentId, at: d.now, why, ...H, when: 'always' });
      pathStep(d, 'agent', `${leg.offer.agentId} left the call`);
      return;
    }
    case 'requeue-caller': {
      endSegment(d);
      if (s.bridgeId) {
        emit(d, { do: 'remove-from-bridge', bridgeId: s.bridgeId, channelIds: [s.callId], why, ...H });
        emit(d, { do: 'destroy-bridge', bridgeId: s.bridgeId, why, ...H, when: 'always' });
        s.bridgeId = null;
      }
      // Back to an agent ahead of new callers: the hand-off failed through no fault of theirs.
      return enqueue(d, a.skill ?? s.record.route?.skill ?? 'general', 20, why);
    }
    case 'notify-agent':
      pathStep(d, 'transfer', `${a.code}: ${a.message}`);
      if (s.lastAgentId) {
        emit(d, {
          do: 'notify-agent',
          agentId: s.lastAgentId,
          notice: { code: a.code, message: a.message, ...(a.target ? { target: a.target } : {}), ...(a.unit ? { unit: a.unit } : {}) },
          why,
          ...H,
        });
      }
      return;
    case 'caller-alone':
      return startSurvey(d);
    case 'log': {
      s.record.handoffs.push(a.entry);
      const newParty = a.entry.result === 'completed' || a.entry.result === 'agent-left' || (a.entry.kind === 'blind' && a.entry.result === 'answered');
      // A new party set in the bridge: a new recording segment, linked to the same call.
      if (newParty) startSegment(d, a.entry.target);
      pathStep(d, 'transfer', `${a.entry.kind} ${a.entry.target}: ${a.entry.result}`);
      if (newParty) s.record.outcome = 'transferred';
      return;
    }
  }
}

/** The agent hung up in the middle of a hand-off: the caller must not lose the target. */
export function agentLeftDuringHandoff(d: Draft): void {
  const s = d.s;
  const h = s.handoff;
  if (h.phase === 'consulting') return applyHandoff(d, { type: 'complete', at: d.now });
  if (h.phase === 'conference') return applyHandoff(d, { type: 'agent-leave', at: d.now });
  if (h.phase === 'dialing') {
    // Carry on as a blind transfer: the caller waits (with music) for the target.
    s.handoff = { ...h, kind: 'blind' };
    s.phase = 'handoff';
    if (s.bridgeId) emit(d, { do: 'remove-from-bridge', bridgeId: s.bridgeId, channelIds: [s.callId], why: 'handoff:hold-caller', ...H });
    emit(d, { do: 'start-moh', why: 'handoff:hold-caller', ...H });
  }
}

/** A hand-off step failed. A target that cannot be dialled fails the hand-off (the machine decides what follows). */
export function handoffFailed(d: Draft, cmd: Command, notFound: boolean, message: string): void {
  if (cmd.do === 'create-bridge' && d.s.bridgeId === cmd.bridgeId) d.s.bridgeId = null;
  if (notFound && !d.s.targetLeg) return;
  pathError(d, `handoff ${cmd.why.slice('handoff:'.length)}`, message);
  if (cmd.why === 'handoff:dial-target' && cmd.do === 'originate') applyHandoff(d, { type: 'target-failed', reason: 'unreachable', at: d.now });
}
