/**
 * Hand-offs as an explicit state machine (see wazo-calld's transfers/state.py):
 * `(state, event) → (state, actions)`. Pure: no ARI, no clock. The call
 * session carries out the actions on its mixing bridge.
 *
 * @remarks
 * Every hand-off keeps the caller in a server-side bridge we control (no
 * browser REFER). A failed target never drops the caller: in a consult or a
 * three-way the caller is back with the agent and the agent is told why; in a
 * blind transfer (the agent already left) the caller goes back to the queue
 * ahead of new callers.
 */

export type HandoffKind = 'blind' | 'consult' | 'three-way' | 'linkage';

export type HandoffFailure = 'busy' | 'rejected' | 'no-answer' | 'unreachable' | 'hung-up';

export interface HandoffTarget {
  /** Route id or a label from the routing table ("12366 税务分中心"). */
  label: string;
  /** Where to ring: a dial string, or an ACD skill (expert seat groups). */
  dial: { kind: 'dial'; dialString: string } | { kind: 'queue'; skill: string };
  /** The target's handling unit (责任单位), so a failed hand-off can become a ticket dispatched to it (派单). */
  unit?: string;
}

export type HandoffState =
  | { phase: 'idle' }
  | { phase: 'dialing'; kind: HandoffKind; target: HandoffTarget; since: number }
  /** consult: the agent talks to the target, the caller is on hold. */
  | { phase: 'consulting'; target: HandoffTarget; answeredAt: number; since: number }
  /** agent, caller and target in one bridge. */
  | { phase: 'conference'; kind: HandoffKind; target: HandoffTarget; answeredAt: number; since: number }
  /** the agent left; caller and target talk. */
  | { phase: 'handed-off'; kind: HandoffKind; target: HandoffTarget; answeredAt: number; since: number };

export type HandoffEvent =
  | { type: 'request'; kind: HandoffKind; target: HandoffTarget; at: number }
  | { type: 'target-answered'; at: number }
  | { type: 'target-failed'; reason: HandoffFailure; at: number }
  | { type: 'target-hung-up'; at: number }
  | { type: 'complete'; at: number }
  | { type: 'merge'; at: number }
  | { type: 'cancel'; at: number }
  | { type: 'agent-leave'; at: number };

export type HandoffAction =
  | { do: 'hold-caller' }
  | { do: 'unhold-caller' }
  | { do: 'dial-target'; target: HandoffTarget }
  | { do: 'hangup-target' }
  | { do: 'bridge-target' }
  | { do: 'release-agent' }
  | { do: 'requeue-caller'; skill?: string }
  /** Tell the agent; `target`/`unit` name who failed, so the console can offer to dispatch the ticket there. */
  | { do: 'notify-agent'; code: string; message: string; target?: string; unit?: string }
  /** The caller is alone after the target left a handed-off call. */
  | { do: 'caller-alone' }
  | { do: 'log'; entry: HandoffLogEntry };

/** One line of the call record's hand-off history. */
export interface HandoffLogEntry {
  kind: HandoffKind;
  target: string;
  at: number;
  result: 'answered' | 'completed' | 'merged' | 'cancelled' | 'agent-left' | 'target-left' | 'call-ended' | HandoffFailure;
  /** Ring time until answer or failure, and talk time until the target left (ms). */
  ringMs?: number;
  talkMs?: number;
}

export class HandoffError extends Error {
  constructor(
    readonly code: 'handoff-busy' | 'handoff-not-active' | 'handoff-not-allowed',
    message: string,
  ) {
    super(message);
    this.name = 'HandoffError';
  }
}

export interface Transition {
  state: HandoffState;
  actions: HandoffAction[];
}

const MESSAGES: Record<HandoffFailure, string> = {
  busy: '对方忙 / the target is busy',
  rejected: '对方拒接 / the target rejected the call',
  'no-answer': '对方无应答 / the target did not answer',
  unreachable: '无法接通 / the target cannot be reached',
  'hung-up': '对方已挂机 / the target hung up',
};

function failed(s: Extract<HandoffState, { phase: 'dialing' }>, reason: HandoffFailure, at: number): HandoffAction[] {
  const log: HandoffAction = { do: 'log', entry: { kind: s.kind, target: s.target.label, at, result: reason, ringMs: at - s.since } };
  const notify: HandoffAction = { do: 'notify-agent', code: `handoff-${reason}`, message: MESSAGES[reason], target: s.target.label, ...(s.target.unit ? { unit: s.target.unit } : {}) };
  switch (s.kind) {
    case 'blind':
      return [log, { do: 'requeue-caller' }];
    case 'consult':
      return [log, { do: 'unhold-caller' }, notify];
    default:
      return [log, notify];
  }
}

/**
 * Apply one event. Throws {@link HandoffError} for requests that make no sense
 * in the current phase (the API maps it to 409); never for telephony events,
 * which may arrive late and are then ignored.
 */
export function transition(state: HandoffState, event: HandoffEvent): Transition {
  const stay = { state, actions: [] };
  switch (event.type) {
    case 'request': {
      if (state.phase !== 'idle') throw new HandoffError('handoff-busy', '已有转接进行中 / a hand-off is already in progress');
      const { kind, target, at } = event;
      if (target.dial.kind === 'queue' && kind !== 'blind') {
        throw new HandoffError('handoff-not-allowed', '座席组只能盲转 / seat groups take blind transfers only');
      }
      const dialing: HandoffState = { phase: 'dialing', kind, target, since: at };
      if (target.dial.kind === 'queue') {
        return {
          state: { phase: 'idle' },
          actions: [
            { do: 'release-agent' },
            { do: 'requeue-caller', skill: target.dial.skill },
            { do: 'log', entry: { kind, target: target.label, at, result: 'completed' } },
          ],
        };
      }
      switch (kind) {
        case 'blind':
          return { state: dialing, actions: [{ do: 'hold-caller' }, { do: 'release-agent' }, { do: 'dial-target', target }] };
        case 'consult':
          return { state: dialing, actions: [{ do: 'hold-caller' }, { do: 'dial-target', target }] };
        case 'three-way':
        case 'linkage':
          return { state: dialing, actions: [{ do: 'dial-target', target }] };
      }
      return stay;
    }
    case 'target-answered': {
      if (state.phase !== 'dialing') return stay;
      const at = event.at;
      const ring: HandoffAction = { do: 'log', entry: { kind: state.kind, target: state.target.label, at, result: 'answered', ringMs: at - state.since } };
      switch (state.kind) {
        case 'blind':
          return {
            state: { phase: 'handed-off', kind: 'blind', target: state.target, answeredAt: at, since: at },
            actions: [ring, { do: 'unhold-caller' }, { do: 'bridge-target' }],
          };
        case 'consult':
          return { state: { phase: 'consulting', target: state.target, answeredAt: at, since: at }, actions: [ring, { do: 'bridge-target' }] };
        default:
          return {
            state: { phase: 'conference', kind: state.kind, target: state.target, answeredAt: at, since: at },
            actions: [ring, { do: 'bridge-target' }],
          };
      }
    }
    case 'target-failed':
      if (state.phase !== 'dialing') return stay;
      return { state: { phase: 'idle' }, actions: failed(state, event.reason, event.at) };
    case 'target-hung-up': {
      if (state.phase === 'dialing') return { state: { phase: 'idle' }, actions: failed(state, 'hung-up', event.at) };
      if (state.phase === 'idle') return stay;
      const kind = state.phase === 'consulting' ? 'consult' : state.kind;
      const log: HandoffAction = {
        do: 'log',
        entry: { kind, target: state.target.label, at: event.at, result: 'target-left', talkMs: event.at - state.answeredAt },
      };
      if (state.phase === 'consulting') {
        return { state: { phase: 'idle' }, actions: [log, { do: 'unhold-caller' }, { do: 'notify-agent', code: 'handoff-hung-up', message: MESSAGES['hung-up'] }] };
      }
      if (state.phase === 'conference') {
        return { state: { phase: 'idle' }, actions: [log, { do: 'notify-agent', code: 'handoff-hung-up', message: MESSAGES['hung-up'] }] };
      }
      return { state: { phase: 'idle' }, actions: [log, { do: 'caller-alone' }] };
    }
    case 'complete':
      if (state.phase !== 'consulting') throw new HandoffError('handoff-not-active', '没有进行中的咨询转接 / no consult in progress');
      return {
        state: { phase: 'handed-off', kind: 'consult', target: state.target, answeredAt: state.answeredAt, since: event.at },
        actions: [
          { do: 'unhold-caller' },
          { do: 'release-agent' },
          { do: 'log', entry: { kind: 'consult', target: state.target.label, at: event.at, result: 'completed' } },
        ],
      };
    case 'merge':
      if (state.phase !== 'consulting') throw new HandoffError('handoff-not-active', '没有进行中的咨询转接 / no consult in progress');
      return {
        state: { phase: 'conference', kind: 'consult', target: state.target, answeredAt: state.answeredAt, since: event.at },
        actions: [{ do: 'unhold-caller' }, { do: 'log', entry: { kind: 'consult', target: state.target.label, at: event.at, result: 'merged' } }],
      };
    case 'cancel':
      if (state.phase === 'consulting' || (state.phase === 'dialing' && state.kind !== 'blind')) {
        const kind = state.phase === 'consulting' ? 'consult' : state.kind;
        return {
          state: { phase: 'idle' },
          actions: [
            { do: 'hangup-target' },
            ...(kind === 'consult' ? [{ do: 'unhold-caller' } as const] : []),
            { do: 'log', entry: { kind, target: state.target.label, at: event.at, result: 'cancelled' } },
          ],
        };
      }
      throw new HandoffError('handoff-not-active', '没有可取消的转接 / nothing to cancel');
    case 'agent-leave':
      if (state.phase !== 'conference') throw new HandoffError('handoff-not-active', '三方通话未建立 / no three-way call in progress');
      return {
        state: { phase: 'handed-off', kind: state.kind, target: state.target, answeredAt: state.answeredAt, since: event.at },
        actions: [{ do: 'release-agent' }, { do: 'log', entry: { kind: state.kind, target: state.target.label, at: event.at, result: 'agent-left' } }],
      };
  }
}
