import { describe, expect, it } from 'vitest';
import { decide, forecastQueue, levelForShortfall } from '../../src/controller/controller.js';
import {
  defaultControllerConfig,
  noActions,
  type ControllerActions,
  type ControllerConfig,
  type QueueObservation,
} from '../../src/controller/model.js';
import { applyTuning, callbackOfferAfter, nextAnnouncementSec, tuningFor } from '../../src/controller/port.js';
import { loadConfig } from '../../src/config/index.js';
import { DEFAULT_RULE } from '../../src/acd/model.js';
import { route, type RouterSnapshot } from '../../src/acd/router.js';

const cfg = (o: Partial<ControllerConfig> = {}): ControllerConfig => defaultControllerConfig(o);

/** A queue observed at a steady load: `cph` calls per hour, 210 s talk + 30 s wrap-up, few abandons. */
function obs(cph: number, o: Partial<QueueObservation> & { abandonShare?: number } = {}): QueueObservation {
  const c = cfg();
  const count = (sec: number) => {
    const offered = Math.round((cph * sec) / 3600);
    const abandoned = Math.round(offered * (o.abandonShare ?? 0.005));
    const answered = offered - abandoned;
    return { offered, answered, abandoned, waitAnsweredMs: answered * 2000, waitAbandonedMs: abandoned * 30_000, ended: answered, talkMs: answered * 210_000 };
  };
  return {
    skill: 'general',
    line: '12345',
    short: count(c.shortWindowSec),
    long: count(c.longWindowSec),
    regularStaffed: 114,
    lendableStaffed: 25,
    waiting: 0,
    ...o,
  };
}

const at = (min: number) => Date.UTC(2026, 11, 1, 2, 0) + min * 60_000;

function level(a: ControllerActions, skill = 'general'): number {
  return a.queues[skill]?.level ?? 0;
}

describe('answer-rate controller: forecast', () => {
  it('reads arrival rate, handle time and patience from the windows (Erlang-A on regular vs pooled seats)', () => {
    const f = forecastQueue(obs(1900), cfg());
    expect(f.arrivalsPerHour).toBeCloseTo(1900, -1);
    expect(f.arrivalsPerHourLow).toBeLessThan(f.arrivalsPerHour);
    expect(f.arrivalsPerHourHigh).toBeGreaterThan(f.arrivalsPerHour);
    expect(f.handleSec).toBeCloseTo(240, 0);
    expect(f.answerRateRegular).toBeLessThan(0.98);
    expect(f.answerRatePooled).toBeGreaterThan(f.answerRateRegular);
    const light = forecastQueue(obs(1200), cfg());
    expect(light.answerRateRegular).toBeGreaterThan(0.99);
  });

  it('patience falls as abandons grow against the time callers waited', () => {
    const calm = forecastQueue(obs(1900, { abandonShare: 0.005 }), cfg());
    const impatient = forecastQueue(obs(1900, { abandonShare: 0.1 }), cfg());
    expect(impatient.patienceSec).toBeLessThan(calm.patienceSec);
  });

  it('maps a shortfall to a level', () => {
    expect([0, -0.01, 0.005, 0.02, 0.05].map(levelForShortfall)).toEqual([0, 0, 1, 2, 3]);
  });
});

describe('answer-rate controller: decisions', () => {
  it('holds level 0 at a safe load and logs its inputs', () => {
    const out = decide({ now: at(0), queues: [obs(1460)], actions: noActions(), config: cfg() });
    expect(level(out.actions)).toBe(0);
    expect(out.entry.changed).toBe(false);
    const q = out.entry.queues[0]!;
    expect(q.why).toBe('safe');
    expect(q.target).toBe(0.98);
    expect(q.inputs.long.offered).toBe(365);
    expect(q.inputs.regularStaffed).toBe(114);
    expect(q.forecast.arrivalsPerHour).toBeCloseTo(1460, -1);
  });

  it('engages at once at an overload, to the level the shortfall calls for', () => {
    const out = decide({ now: at(0), queues: [obs(2000)], actions: noActions(), config: cfg() });
    expect(level(out.actions)).toBe(3);
    expect(out.entry.changed).toBe(true);
    expect(out.entry.queues[0]!.why).toBe('engage');
    const t = tuningFor(out.actions, 'general', ['support'])!;
    expect(t).toMatchObject({ level: 3, overflowQueueLength: 0, overflowAfterSec: 0, lendGroups: ['support'], shortAnnouncements: true });
  });

  it('engages lightly for a small shortfall and not for noise it cannot trust', () => {
    const small = decide({ now: at(0), queues: [obs(1800)], actions: noActions(), config: cfg() });
    expect(level(small.actions)).toBeGreaterThanOrEqual(1);
    expect(level(small.actions)).toBeLessThan(3);
    const few = decide({ now: at(0), queues: [{ ...obs(1900), regularStaffed: 1, lendableStaffed: 0, long: { ...obs(4).long }, short: obs(4).short }], actions: noActions(), config: cfg() });
    expect(few.entry.queues[0]!.why).toBe('no-data');
    expect(level(few.actions)).toBe(0);
  });

  it('per-line targets: a lower target for the line leaves it alone', () => {
    const out = decide({ now: at(0), queues: [obs(1640)], actions: noActions(), config: cfg({ targets: { '12345': 0.9 } }) });
    expect(out.entry.queues[0]!.target).toBe(0.9);
    expect(level(out.actions)).toBe(0);
  });

  it('hysteresis: in the band between engage and release it holds its level', () => {
    // Between: the low-load bound meets the target, the high-load bound is not safe by the margin.
    const mid = obs(1560);
    const f = forecastQueue(mid, cfg());
    expect(f.answerRateRegularLowLoad).toBeGreaterThanOrEqual(0.98);
    expect(f.answerRateRegularHighLoad).toBeLessThan(0.985);
    const engaged: ControllerActions = { queues: { general: { skill: 'general', level: 2, since: at(0) } }, alerts: [], updatedAt: at(0) };
    const held = decide({ now: at(30), queues: [mid], actions: engaged, config: cfg() });
    expect(level(held.actions)).toBe(2);
    expect(held.entry.queues[0]!.why).toBe('hold');
    const idle = decide({ now: at(30), queues: [mid], actions: noActions(), config: cfg() });
    expect(level(idle.actions)).toBe(0);
  });

  it('reversal: releases one step per hold once safe, and gives the seats back at level 0', () => {
    const c = cfg({ releaseHoldSec: 300 });
    let actions: ControllerActions = { queues: { general: { skill: 'general', level: 3, since: at(0) } }, alerts: [], updatedAt: at(0) };
    const safe = obs(1200);
    const seen: [number, number, string][] = [];
    for (let min = 10; min <= 30; min++) {
      const out = decide({ now: at(min), queues: [safe], actions, config: c });
      actions = out.actions;
      seen.push([min, level(actions), out.entry.queues[0]!.why]);
    }
    // safe from minute 10: first step at 15, then every 5 minutes
    expect(seen.find(([m]) => m === 14)![1]).toBe(3);
    expect(seen.find(([m]) => m === 15)).toEqual([15, 2, 'release']);
    expect(seen.find(([m]) => m === 19)![1]).toBe(2);
    expect(seen.find(([m]) => m === 20)![1]).toBe(1);
    expect(seen.find(([m]) => m === 25)![1]).toBe(0);
    expect(actions.queues.general).toBeUndefined();
    expect(tuningFor(actions, 'general', ['support'])).toBeUndefined();
    expect(seen.find(([m]) => m === 30)![2]).toBe('safe');
  });

  it('a release in progress restarts when the load comes back', () => {
    const c = cfg({ releaseHoldSec: 300 });
    let actions: ControllerActions = { queues: { general: { skill: 'general', level: 3, since: at(0) } }, alerts: [], updatedAt: at(0) };
    actions = decide({ now: at(10), queues: [obs(1200)], actions, config: c }).actions;
    expect(actions.queues.general!.safeSince).toBe(at(10));
    actions = decide({ now: at(12), queues: [obs(1900)], actions, config: c }).actions;
    expect(actions.queues.general!.safeSince).toBeUndefined();
    const out = decide({ now: at(16), queues: [obs(1200)], actions, config: c });
    expect(level(out.actions)).toBe(3);
    expect(out.entry.queues[0]!.why).toBe('hold:release-pending');
  });

  it('steps up one level when the observed rate stays low, but not within the dwell time', () => {
    const c = cfg({ upDwellSec: 60 });
    const low = obs(1560, { abandonShare: 0.05 });
    const engaged: ControllerActions = { queues: { general: { skill: 'general', level: 1, since: at(0) } }, alerts: [], updatedAt: at(0) };
    const soon = decide({ now: at(0) + 30_000, queues: [low], actions: engaged, config: c });
    expect(level(soon.actions)).toBe(1);
    expect(soon.entry.queues[0]!.why).toBe('hold:dwell');
    const later = decide({ now: at(2), queues: [low], actions: engaged, config: c });
    expect(level(later.actions)).toBe(2);
    expect(later.entry.queues[0]!.why).toBe('step-up');
  });

  it('bounds: never above maxLevel; thresholds only ever lowered, never below 0', () => {
    const out = decide({ now: at(0), queues: [obs(2400)], actions: noActions(), config: cfg({ maxLevel: 1 }) });
    expect(level(out.actions)).toBe(1);
    const t1 = tuningFor(out.actions, 'general', [])!;
    expect(applyTuning({ ...DEFAULT_RULE, overflowQueueLength: 5, overflowAfterSec: 200 }, t1)).toMatchObject({ overflowQueueLength: 5, overflowAfterSec: 45 });
    const zero = decide({ now: at(0), queues: [obs(2400)], actions: noActions(), config: cfg({ maxLevel: 0 }) });
    expect(level(zero.actions)).toBe(0);
    expect(callbackOfferAfter(60, t1)).toBe(45);
    expect(callbackOfferAfter(0, t1)).toBe(0); // switched off by configuration stays off
    expect(callbackOfferAfter(60, undefined)).toBe(60);
  });

  it('alerts supervisors when even every lendable seat would not reach the target', () => {
    const out = decide({ now: at(0), queues: [obs(2454)], actions: noActions(), config: cfg() });
    expect(out.actions.alerts).toEqual(['general']);
    expect(out.entry.queues[0]!.alert).toBe(true);
    const fine = decide({ now: at(0), queues: [obs(1800)], actions: noActions(), config: cfg() });
    expect(fine.actions.alerts).toEqual([]);
  });

  it('switched off: every queue back to the static rule at once', () => {
    const engaged: ControllerActions = { queues: { general: { skill: 'general', level: 3, since: at(0) } }, alerts: ['general'], updatedAt: at(0) };
    const out = decide({ now: at(1), queues: [obs(2400)], actions: engaged, config: cfg({ enabled: false }) });
    expect(out.actions.queues).toEqual({});
    expect(out.actions.alerts).toEqual([]);
    expect(out.entry).toMatchObject({ enabled: false, changed: true });
    expect(out.entry.queues[0]!.why).toBe('disabled');
  });

  it('a queue no longer observed is given back', () => {
    const engaged: ControllerActions = { queues: { '12333': { skill: '12333', level: 2, since: at(0) } }, alerts: [], updatedAt: at(0) };
    const out = decide({ now: at(1), queues: [obs(1000)], actions: engaged, config: cfg() });
    expect(out.actions.queues['12333']).toBeUndefined();
    expect(out.entry.queues.find((q) => q.skill === '12333')).toMatchObject({ levelBefore: 2, levelAfter: 0, why: 'not-controlled' });
  });
});

describe('answer-rate controller: the router under its tuning', () => {
  const base = (rules: RouterSnapshot['config']['rules'], lend?: Record<string, string[]>): RouterSnapshot => ({
    calls: [{ callId: 'c1', skill: 'general', priority: 0, joinedAt: 0 }],
    agents: [
      { id: 'P1', available: true, idleSince: 0, skills: { general: 2 }, peak: true, groups: ['peak'] },
      { id: 'S1', available: true, idleSince: 0, skills: { support: 3 }, peak: false, groups: ['support'] },
    ],
    queueLength: { general: 3 },
    config: { rules, defaultRule: DEFAULT_RULE, missExcludeSec: 60, languageSkills: {}, ...(lend ? { lend } : {}) },
  });
  const general = { ...DEFAULT_RULE, fallbackSkills: [], fallbackAfterSec: 0 };

  it('a peak seat takes a general call after 5 s only when the controller lowered the threshold', () => {
    expect(route(base({ general }), 5000)).toEqual([]);
    const engaged: ControllerActions = { queues: { general: { skill: 'general', level: 3, since: 0 } }, alerts: [], updatedAt: 0 };
    const tuned = applyTuning(general, tuningFor(engaged, 'general', []));
    expect(route(base({ general: tuned }), 5000)).toMatchObject([{ callId: 'c1', agentId: 'P1', tier: 'overflow' }]);
  });

  it('a lent support seat takes an overflowed general call; without the loan it does not', () => {
    const snap = base({ general: { ...general, overflowAfterSec: 0 } });
    snap.agents = snap.agents.filter((a) => a.id === 'S1');
    expect(route(snap, 5000)).toEqual([]);
    const lent = base({ general: { ...general, overflowAfterSec: 0 } }, { general: ['support'] });
    lent.agents = lent.agents.filter((a) => a.id === 'S1');
    expect(route(lent, 5000)).toMatchObject([{ agentId: 'S1', tier: 'overflow' }]);
  });
});

describe('answer-rate controller: the call path and the configuration', () => {
  it('the announcement that carries the callback offer comes when the offer becomes allowed', () => {
    expect(nextAnnouncementSec(45, 60, 0)).toBe(45); // the static rule: every 45 s
    expect(nextAnnouncementSec(45, 20, 0)).toBe(20); // tuned to 20 s: the first one at 20 s
    expect(nextAnnouncementSec(45, 20, 20)).toBe(45); // then every 45 s
    expect(nextAnnouncementSec(0, 20, 0)).toBe(0); // announcements off stay off
  });

  const env = { ARI_URL: 'http://127.0.0.1:8088', ARI_PASSWORD: 'x', AMI_SECRET: 'y', JWT_SECRET: 'j'.repeat(40) };
  it('reads its variables, per line targets included', () => {
    const c = loadConfig({ ...env, CONTROLLER_TARGETS: '12333=0.95, 12345=0.99', CONTROLLER_LEND_GROUPS: 'support', CONTROLLER_MAX_LEVEL: '2' });
    expect(c.controller).toMatchObject({ enabled: true, target: 0.98, targets: { '12333': 0.95, '12345': 0.99 }, lendGroups: ['support'], maxLevel: 2, intervalSec: 15 });
  });

  it.each([
    ['CONTROLLER_TARGET', '98'],
    ['CONTROLLER_TARGETS', '12333:0.95'],
    ['CONTROLLER_TARGETS', '12333=1.5'],
    ['CONTROLLER_MAX_LEVEL', '4'],
    ['CONTROLLER_LEND_GROUPS', 'sup port'],
    ['CONTROLLER_ENABLED', 'maybe'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ ...env, [name]: value })).toThrow(name);
  });
});
