import { describe, expect, it } from 'vitest';
import { dateMedia, init, isDone, mediaUri, next, start } from '../../src/ivr/engine.js';
import { withAnnouncements } from '../../src/ivr/default-flow.js';
import { IvrSim } from '../../src/ivr/sim.js';
import type { Flow, FlowNode } from '../../src/ivr/types.js';

// Tuesday 2026-03-10 10:00 CST (UTC+8).
const TUE_10 = Date.UTC(2026, 2, 10, 2, 0);
// Saturday 2026-03-14 10:00 CST.
const SAT_10 = Date.UTC(2026, 2, 14, 2, 0);
// Tuesday 2026-03-10 20:30 CST.
const TUE_2030 = Date.UTC(2026, 2, 10, 12, 30);

function flow(nodes: Record<string, FlowNode>, startNode = 'start', extra: Partial<Flow> = {}): Flow {
  return { id: 't', start: startNode, nodes, ...extra };
}

const hoursFlow = flow({
  start: {
    type: 'when',
    cases: [
      { if: [{ kind: 'holiday', is: true }], next: 'holiday' },
      { if: [{ kind: 'workday', is: true }, { kind: 'time', from: '08:30', to: '18:00' }], next: 'open' },
    ],
    else: 'closed',
  },
  holiday: { type: 'queue', skill: 'holiday' },
  open: { type: 'queue', skill: 'enterprise' },
  closed: { type: 'transfer', target: 'route:night' },
});

describe('when: time windows, weekdays and the holiday calendar', () => {
  it('GIVEN a workday at 10:00 CST WHEN the call starts THEN the open branch is taken', () => {
    const step = start(hoursFlow, { now: TUE_10 });
    expect(step.commands.at(-1)).toEqual({ type: 'queue', skill: 'enterprise', priority: 0 });
  });

  it('GIVEN 20:30 CST on a workday WHEN the call starts THEN it goes to the else branch (night transfer)', () => {
    const step = start(hoursFlow, { now: TUE_2030 });
    expect(step.commands.at(-1)).toEqual({ type: 'transfer', target: 'route:night' });
    expect(isDone(step.state)).toBe(true);
  });

  it('GIVEN a Saturday that is an adjusted working day (调休) WHEN the call starts THEN it counts as a workday', () => {
    expect(start(hoursFlow, { now: SAT_10 }).commands.at(-1)).toMatchObject({ type: 'transfer' });
    expect(start(hoursFlow, { now: SAT_10, workdays: ['2026-03-14'] }).commands.at(-1)).toMatchObject({ type: 'queue', skill: 'enterprise' });
  });

  it('GIVEN today in the holiday list WHEN the call starts THEN the holiday branch wins', () => {
    expect(start(hoursFlow, { now: TUE_10, holidays: ['2026-03-10'] }).commands.at(-1)).toMatchObject({ skill: 'holiday' });
  });

  it('GIVEN a window that wraps midnight and a weekday condition WHEN evaluated THEN both hold at the right times', () => {
    const f = flow({
      start: { type: 'when', cases: [{ if: [{ kind: 'time', from: '20:00', to: '08:00' }, { kind: 'weekday', days: [2] }], next: 'night' }], else: 'day' },
      night: { type: 'queue', skill: 'night' },
      day: { type: 'queue', skill: 'day' },
    });
    expect(start(f, { now: TUE_2030 }).commands.at(-1)).toMatchObject({ skill: 'night' });
    expect(start(f, { now: TUE_10 }).commands.at(-1)).toMatchObject({ skill: 'day' });
  });
});

describe('node behaviour', () => {
  it('GIVEN a hangup node with a prompt WHEN the prompt finishes THEN the call is hung up with cause normal', () => {
    const sim = new IvrSim(flow({ start: { type: 'hangup', prompt: 'thanks' } }), { now: TUE_10 });
    expect(sim.heard).toEqual(['thanks']);
    expect(sim.press('1')).toEqual([]); // not barge-in
    sim.finishPlayback();
    expect(sim.outcome).toEqual({ type: 'hangup', cause: 'normal' });
  });

  it('GIVEN a collect with max 4 WHEN 4 digits are keyed THEN it completes without # and stores the slot', () => {
    const f = flow({
      start: { type: 'collect', prompt: 'p', min: 2, max: 4, timeoutMs: 3000, retries: 1, slot: 'pin', next: 'check', onExhausted: 'agent' },
      check: { type: 'when', cases: [{ if: [{ kind: 'slot', name: 'pin', equals: '1234' }], next: 'ok' }], else: 'agent' },
      ok: { type: 'queue', skill: 'ok' },
      agent: { type: 'queue', skill: 'agent' },
    });
    const sim = new IvrSim(f, { now: TUE_10 });
    sim.press('1234');
    expect(sim.state.slots.pin).toBe('1234');
    expect(sim.outcome).toMatchObject({ skill: 'ok' });
  });

  it('GIVEN a collect WHEN the caller presses * twice (retries 1) THEN it goes to onExhausted', () => {
    const f = flow({
      start: { type: 'collect', prompt: 'p', min: 2, max: 4, timeoutMs: 3000, retries: 1, slot: 'x', next: 'ok', onExhausted: 'agent' },
      ok: { type: 'queue', skill: 'ok' },
      agent: { type: 'queue', skill: 'agent' },
    });
    const sim = new IvrSim(f, { now: TUE_10 });
    sim.press('1*');
    expect(sim.activePlay?.media).toEqual(['invalid', 'p']);
    sim.press('*');
    expect(sim.outcome).toMatchObject({ skill: 'agent' });
  });

  it('GIVEN a menu with bargeIn false WHEN a digit arrives during the prompt THEN it is ignored until the prompt ends', () => {
    const f = flow({
      start: { type: 'menu', prompt: 'm', options: { '1': 'q' }, timeoutMs: 1000, retries: 0, invalidPrompt: 'i', timeoutPrompt: 't', onExhausted: 'q', bargeIn: false },
      q: { type: 'queue' },
    });
    const sim = new IvrSim(f, { now: TUE_10 });
    expect(sim.of('play')[0]?.bargeIn).toBe(false);
    expect(sim.press('1')).toEqual([]);
    sim.finishPlayback();
    sim.press('1');
    expect(sim.outcome).toEqual({ type: 'queue', skill: 'general', priority: 0 });
  });

  it('GIVEN a subflow to a flow that is not loaded WHEN reached THEN the caller falls back to an agent instead of an error', () => {
    const step = start(flow({ start: { type: 'subflow', flowId: 'missing' } }, 'start', { fallback: { skill: 'backup', priority: 2 } }), { now: TUE_10, priority: 1 });
    expect(step.commands.at(-1)).toEqual({ type: 'queue', skill: 'backup', priority: 3 });
    expect(step.commands.find((c) => c.type === 'path' && c.detail.includes('unknown flow'))).toBeDefined();
  });

  it('GIVEN a node ref to a missing node WHEN reached THEN the caller is queued, not hung up', () => {
    const step = start(flow({ start: { type: 'play', prompts: ['x'], next: 'ghost' } }), { now: TUE_10 });
    const done = next(step.state, { type: 'playback-done', token: (step.commands.find((c) => c.type === 'play') as { token: string }).token }, TUE_10);
    expect(done.commands.at(-1)).toEqual({ type: 'queue', skill: 'general', priority: 0 });
  });

  it('GIVEN init() WHEN a start input arrives THEN the flow begins; a second start does nothing', () => {
    const f = flow({ start: { type: 'queue', skill: 's' } });
    const s0 = init(f, { now: TUE_10 });
    expect(s0.phase.kind).toBe('idle');
    const s1 = next(s0, { type: 'start' }, TUE_10);
    expect(s1.commands.at(-1)).toMatchObject({ type: 'queue', skill: 's' });
    expect(next(s1.state, { type: 'start' }, TUE_10).commands).toEqual([]);
  });

  it('GIVEN withAnnouncements WHEN the flow starts THEN the announcements play before the original start', () => {
    const f = withAnnouncements(flow({ start: { type: 'queue' } }), ['transition-generic']);
    const sim = new IvrSim(f, { now: TUE_10 });
    expect(sim.heard).toEqual(['transition-generic']);
    sim.finishPlayback();
    expect(sim.outcome?.type).toBe('queue');
  });

  it('GIVEN the engine state WHEN serialised to JSON and back THEN the call continues identically', () => {
    const f = flow({
      start: { type: 'menu', prompt: 'm', options: { '1': 'q' }, timeoutMs: 1000, retries: 0, invalidPrompt: 'i', timeoutPrompt: 't', onExhausted: 'q' },
      q: { type: 'queue', skill: 'json' },
    });
    const step = start(f, { now: TUE_10 });
    const revived = JSON.parse(JSON.stringify(step.state));
    expect(next(revived, { type: 'dtmf', digit: '1' }, TUE_10).commands.at(-1)).toMatchObject({ skill: 'json' });
  });
});

describe('media helpers', () => {
  it('GIVEN media items WHEN mapped THEN ARI media URIs come out (text has none)', () => {
    expect(mediaUri({ kind: 'prompt', id: 'welcome' })).toBe('sound:hotline/welcome');
    expect(mediaUri({ kind: 'digits', value: '0123' })).toBe('digits:0123');
    expect(mediaUri({ kind: 'number', value: 2026 })).toBe('number:2026');
    expect(mediaUri({ kind: 'text', value: '市医保局' })).toBeUndefined();
  });

  it('GIVEN dates WHEN said THEN zh is 年月日 order, en is month day year, malformed is empty', () => {
    expect(dateMedia('zh', '2026-01-05')).toEqual([
      { kind: 'number', value: 2026 },
      { kind: 'prompt', id: 'date-year' },
      { kind: 'number', value: 1 },
      { kind: 'prompt', id: 'date-month' },
      { kind: 'number', value: 5 },
      { kind: 'prompt', id: 'date-day' },
    ]);
    expect(dateMedia('en', '2026-01-05')[0]).toEqual({ kind: 'prompt', id: 'month-1' });
    expect(dateMedia('zh', '2026-13-05')).toEqual([]);
    expect(dateMedia('zh', 'soon')).toEqual([]);
  });
});
