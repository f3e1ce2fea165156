import { describe, expect, it } from 'vitest';
import { transition, type HandoffState, type HandoffTarget } from '../../src/handoff/machine.js';

const target: HandoffTarget = { label: '12366', dial: { kind: 'dial', dialString: 'PJSIP/12366@subcenter-12366' } };
const idle: HandoffState = { phase: 'idle' };
const does = (t: { actions: { do: string }[] }) => t.actions.map((a) => a.do);

describe('hand-off state machine', () => {
  it('GIVEN idle WHEN a blind transfer is requested THEN the caller is held, the agent released and the target dialed', () => {
    const t = transition(idle, { type: 'request', kind: 'blind', target, at: 0 });
    expect(t.state.phase).toBe('dialing');
    expect(does(t)).toEqual(['hold-caller', 'release-agent', 'dial-target']);
    const ok = transition(t.state, { type: 'target-answered', at: 1500 });
    expect(ok.state.phase).toBe('handed-off');
    expect(does(ok)).toEqual(['log', 'unhold-caller', 'bridge-target']);
    expect(ok.actions[0]).toMatchObject({ entry: { result: 'answered', ringMs: 1500 } });
  });

  it('GIVEN each kind WHEN the target fails THEN the caller is never left alone', () => {
    const consult = transition(transition(idle, { type: 'request', kind: 'consult', target, at: 0 }).state, { type: 'target-failed', reason: 'busy', at: 1 });
    expect(does(consult)).toEqual(['log', 'unhold-caller', 'notify-agent']);
    const three = transition(transition(idle, { type: 'request', kind: 'three-way', target, at: 0 }).state, { type: 'target-failed', reason: 'no-answer', at: 1 });
    expect(does(three)).toEqual(['log', 'notify-agent']);
    const blind = transition(transition(idle, { type: 'request', kind: 'blind', target, at: 0 }).state, { type: 'target-failed', reason: 'unreachable', at: 1 });
    expect(does(blind)).toEqual(['log', 'requeue-caller']);
    for (const t of [consult, three, blind]) expect(t.state.phase).toBe('idle');
  });

  it('GIVEN a consult in progress WHEN merged, completed or cancelled THEN the bridge operations follow', () => {
    const consulting = transition(transition(idle, { type: 'request', kind: 'consult', target, at: 0 }).state, { type: 'target-answered', at: 1 }).state;
    expect(consulting.phase).toBe('consulting');
    expect(does(transition(consulting, { type: 'merge', at: 2 }))).toEqual(['unhold-caller', 'log']);
    expect(transition(consulting, { type: 'merge', at: 2 }).state.phase).toBe('conference');
    expect(does(transition(consulting, { type: 'complete', at: 2 }))).toEqual(['unhold-caller', 'release-agent', 'log']);
    expect(does(transition(consulting, { type: 'cancel', at: 2 }))).toEqual(['hangup-target', 'unhold-caller', 'log']);
  });

  it('GIVEN a seat-group target WHEN asked for anything but blind THEN it is refused; blind requeues with that skill', () => {
    const group: HandoffTarget = { label: '12333 专家座席', dial: { kind: 'queue', skill: '12333' } };
    expect(() => transition(idle, { type: 'request', kind: 'consult', target: group, at: 0 })).toThrow(/blind/);
    const t = transition(idle, { type: 'request', kind: 'blind', target: group, at: 0 });
    expect(t.actions[1]).toEqual({ do: 'requeue-caller', skill: '12333' });
  });

  it('GIVEN late telephony events WHEN nothing is in progress THEN they are ignored; bad commands throw with a code', () => {
    expect(transition(idle, { type: 'target-answered', at: 0 })).toEqual({ state: idle, actions: [] });
    expect(() => transition(idle, { type: 'complete', at: 0 })).toThrow(expect.objectContaining({ code: 'handoff-not-active' }));
    const dialing = transition(idle, { type: 'request', kind: 'three-way', target, at: 0 }).state;
    expect(() => transition(dialing, { type: 'request', kind: 'blind', target, at: 0 })).toThrow(expect.objectContaining({ code: 'handoff-busy' }));
  });
});
