/**
 * Helpers for testing the pure call step (src/calls/step.ts) without a PBX: a step bound to the
 * default IVR flows (or a flow that queues at once), channels, decisions and shortcuts that drive a
 * call to a phase by feeding the events the executor would feed.
 */
import { expect } from 'vitest';
import { createCallFlow } from '../../src/calls/flow-binding.js';
import type { RouteDecision } from '../../src/calls/ports.js';
import { callStateProblems, initialCallState, type CallEvent, type CallState, type Command, type StepResult } from '../../src/calls/state.js';
import { createStep, type Step, type StepConfig } from '../../src/calls/step.js';
import { buildDefaultFlows, ZH_FLOW_ID } from '../../src/ivr/default-flow.js';
import type { Flow } from '../../src/ivr/types.js';
import type { ChannelInfo, TelephonyEvent } from '../../src/telephony/port.js';

export const T0 = Date.parse('2026-12-01T02:00:00Z');

/** The default flows, or with the 12345 flow replaced by one that queues the caller at once. */
export function testFlows(kind: 'default' | 'queue-at-once'): Record<string, Flow> {
  const flows = buildDefaultFlows();
  if (kind === 'queue-at-once') flows[ZH_FLOW_ID] = { id: ZH_FLOW_ID, start: 'q', nodes: { q: { type: 'queue', skill: 'general' } }, fallback: { skill: 'general' } };
  return flows;
}

export function testConfig(kind: 'default' | 'queue-at-once' = 'queue-at-once', over: Partial<StepConfig> = {}): StepConfig {
  return {
    flow: createCallFlow({ flows: testFlows(kind) }),
    hasAcd: true,
    hasRecording: true,
    hasGuard: true,
    queueAnnounceEverySec: 30,
    handoffRingSec: 20,
    callbackOfferAfterSec: 60,
    ...over,
  };
}

export function chan(id: string, number = '13812345678'): ChannelInfo {
  return {
    id,
    name: `PJSIP/carrier-${id}`,
    state: 'Up',
    caller: { number, name: '' },
    connected: { number: '', name: '' },
    dialplan: { context: 'from-carrier', exten: '12345', priority: 1 },
    creationtime: '2026-12-01T10:00:00.000+0800',
    language: 'zh',
  };
}

export const HOTLINE: RouteDecision = {
  action: 'hotline',
  routeId: 'hotline',
  skill: 'general',
  priority: 0,
  announce: [],
  expertFirst: false,
  flowId: ZH_FLOW_ID,
  record: true,
  tableVersion: 1,
  why: [],
};

export function newCall(callId = 'c1', number = '13812345678'): CallState {
  return initialCallState(chan(callId, number), ['12345', 'carrier'], { now: T0, instanceId: 'test' });
}

/** A step that checks every state it returns (valid, JSON round-trip equal, input untouched). */
export function checkedStep(cfg: StepConfig): Step {
  const step = createStep(cfg);
  return (state, event, now) => {
    const before = JSON.stringify(state);
    const r = step(state, event, now);
    expect(JSON.stringify(state), 'the step changed its input').toBe(before);
    expect(callStateProblems(r.state), `${JSON.stringify(event)} → ${callStateProblems(r.state).join("; ")}`).toEqual([]);
    expect(JSON.parse(JSON.stringify(r.state))).toStrictEqual(r.state);
    return r;
  };
}

/** Feed events in order; returns the last state and every command emitted. */
export function feed(step: Step, state: CallState, events: Array<[CallEvent, number]>): { state: CallState; commands: Command[]; last: StepResult } {
  let s = state;
  const all: Command[] = [];
  let last: StepResult = { state, commands: [] };
  for (const [e, at] of events) {
    last = step(s, e, at);
    s = last.state;
    all.push(...last.commands);
  }
  return { state: s, commands: all, last };
}

export function tel(event: TelephonyEvent): CallEvent {
  return { type: 'telephony', event };
}

/** A call routed to the 12345 flow (the executor's answers fed in). */
export function routedCall(step: Step, callId = 'c1', number?: string): StepResult {
  return feed(step, newCall(callId, number), [
    [{ type: 'begin' }, T0],
    [{ type: 'answered' }, T0 + 10],
    [{ type: 'vars-read', area: null, hops: null }, T0 + 20],
    [{ type: 'routed', decision: HOTLINE, error: null, verdict: { action: 'ok' } }, T0 + 30],
  ]).last;
}

/** A queued call (queue-at-once flow), with its position known. */
export function queuedCall(step: Step, callId = 'c1', number?: string): CallState {
  const r = routedCall(step, callId, number);
  return step(r.state, { type: 'enqueued', position: 1, expectedWaitSec: 30 }, T0 + 40).state;
}

export const OFFER = { offerId: 'o1', callId: 'c1', agentId: '1001', dialString: 'PJSIP/1001', timeoutSec: 15 };

/** A call talking with agent 1001 in its bridge. */
export function connectedCall(step: Step): CallState {
  const q = queuedCall(step);
  const offered = step(q, { type: 'offer', offer: OFFER }, T0 + 50).state;
  const leg = offered.agentLeg!.channelId;
  return feed(step, offered, [
    [tel({ type: 'StasisStart', channel: chan(leg), args: ['agent-leg', 'c1', 'o1'] }), T0 + 60],
    [{ type: 'offer-answer', offerId: 'o1', ok: true }, T0 + 70],
    [{ type: 'agent-bridged', agentId: '1001' }, T0 + 80],
  ]).state;
}

export function dos(commands: ReadonlyArray<{ do: string }>): string[] {
  return commands.map((c) => c.do);
}
