import { describe, expect, it } from 'vitest';
import {
  candidateFromRecord,
  DEFAULT_FORM,
  rollUp,
  sampleCalls,
  scoreTotal,
  seededRng,
  validateForm,
  validateScores,
  type Inspection,
  type SampleCandidate,
} from '../../src/recording/quality.js';

describe('inspection forms', () => {
  it('accept the default form (greeting, accuracy, attitude, ticket quality; weights add up to 100)', () => {
    const v = validateForm(DEFAULT_FORM);
    expect(v.ok).toBe(true);
    expect(DEFAULT_FORM.items.map((i) => i.id)).toEqual(['greeting', 'accuracy', 'attitude', 'ticket-quality']);
  });

  it('name every field at fault', () => {
    const v = validateForm({
      id: 'Bad Id',
      name: '',
      items: [
        { id: 'greeting', label: '规范用语', weight: 0, maxScore: 5 },
        { id: 'greeting', label: '', weight: 50, maxScore: 2.5 },
      ],
    });
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.errors.map((e) => e.field)).toEqual(['id', 'name', 'items[0].weight', 'items[1].id', 'items[1].label', 'items[1].maxScore']);
    expect(v.errors[0]!.message).toMatch(/lowercase/);
  });

  it('require the weights to add up to 100', () => {
    const v = validateForm({ id: 'short', name: '简表', items: [{ id: 'greeting', label: 'g', weight: 40, maxScore: 5 }] });
    expect(v).toEqual({ ok: false, errors: [{ field: 'items', message: expect.stringContaining('got 40') }] });
  });

  it('refuse a form without items or that is not an object', () => {
    expect(validateForm({ id: 'empty', name: 'x', items: [] })).toMatchObject({ ok: false, errors: [{ field: 'items' }] });
    expect(validateForm('x')).toMatchObject({ ok: false, errors: [{ field: 'form' }] });
  });
});

describe('scores', () => {
  it('need every item, within 0..maxScore, and nothing else', () => {
    const v = validateScores(DEFAULT_FORM, { greeting: 6, accuracy: 10, attitude: -1, extra: 3 });
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.errors.map((e) => e.field)).toEqual(['scores.greeting', 'scores.attitude', 'scores.ticket-quality', 'scores.extra']);
  });

  it('total is the weighted share of the maximum on a 0-100 scale', () => {
    expect(scoreTotal(DEFAULT_FORM, { greeting: 5, accuracy: 10, attitude: 10, 'ticket-quality': 10 })).toBe(100);
    expect(scoreTotal(DEFAULT_FORM, { greeting: 0, accuracy: 0, attitude: 0, 'ticket-quality': 0 })).toBe(0);
    // 15×1 + 35×0.5 + 25×0.8 + 25×0.6 = 67.5
    expect(scoreTotal(DEFAULT_FORM, { greeting: 5, accuracy: 5, attitude: 8, 'ticket-quality': 6 })).toBe(67.5);
  });
});

function calls(): SampleCandidate[] {
  const out: SampleCandidate[] = [];
  for (let i = 0; i < 40; i++) out.push({ callId: `a-${i}`, agentId: '1001', group: 'general', at: 1000 + i });
  for (let i = 0; i < 10; i++) out.push({ callId: `b-${i}`, agentId: '1002', group: 'enterprise', at: 1000 + i });
  out.push({ callId: 'b-complaint', agentId: '1002', group: 'enterprise', at: 2000, complaint: true });
  out.push({ callId: 'b-reopen', agentId: '1002', group: 'enterprise', at: 2001, reopened: true, dissatisfied: true });
  out.push({ callId: 'a-unhappy', agentId: '1001', group: 'general', at: 2002, dissatisfied: true });
  out.push({ callId: 'late', agentId: '1001', group: 'general', at: 99_999, complaint: true });
  return out;
}

describe('sampling', () => {
  const opts = { ratePercent: 10, from: 0, to: 10_000 };

  it('GIVEN the same candidates and seed THEN the same sample, whatever the input order', () => {
    const a = sampleCalls(calls(), { ...opts, rng: seededRng(42) });
    const b = sampleCalls([...calls()].reverse(), { ...opts, rng: seededRng(42) });
    expect(b).toEqual(a);
    const c = sampleCalls(calls(), { ...opts, rng: seededRng('qa:0:10000') });
    const d = sampleCalls(calls(), { ...opts, rng: seededRng('qa:0:10000') });
    expect(d).toEqual(c);
  });

  it('takes every complaint, reopen and dissatisfied call plus N% of the others per agent', () => {
    const s = sampleCalls(calls(), { ...opts, rng: seededRng(7) });
    const flagged = s.filter((x) => !x.reasons.includes('random'));
    expect(flagged.map((x) => [x.callId, x.reasons])).toEqual([
      ['a-unhappy', ['dissatisfied']],
      ['b-complaint', ['complaint']],
      ['b-reopen', ['reopened', 'dissatisfied']],
    ]);
    const random = s.filter((x) => x.reasons.includes('random'));
    expect(random.filter((x) => x.agentId === '1001')).toHaveLength(4); // 10% of 40
    expect(random.filter((x) => x.agentId === '1002')).toHaveLength(1); // ⌈10% of 10⌉
    expect(new Set(s.map((x) => x.callId)).size).toBe(s.length);
    // outside the period: never
    expect(s.some((x) => x.callId === 'late')).toBe(false);
  });

  it('picks different calls with a different seed, and none at rate 0', () => {
    const r1 = sampleCalls(calls(), { ...opts, rng: seededRng(1) }).filter((x) => x.reasons[0] === 'random').map((x) => x.callId);
    const r2 = sampleCalls(calls(), { ...opts, rng: seededRng(2) }).filter((x) => x.reasons[0] === 'random').map((x) => x.callId);
    expect(r1).not.toEqual(r2);
    expect(sampleCalls(calls(), { ...opts, ratePercent: 0, rng: seededRng(1) }).every((x) => x.reasons[0] !== 'random')).toBe(true);
  });

  it('the seeded RNG is uniform enough: each call is picked about N% of the time over many seeds', () => {
    const hits = new Map<string, number>();
    const runs = 2000;
    for (let seed = 0; seed < runs; seed++) {
      for (const s of sampleCalls(calls(), { ...opts, rng: seededRng(seed) })) {
        if (s.agentId === '1001' && s.reasons[0] === 'random') hits.set(s.callId, (hits.get(s.callId) ?? 0) + 1);
      }
    }
    for (const n of hits.values()) expect(n / runs).toBeGreaterThan(0.05);
    for (const n of hits.values()) expect(n / runs).toBeLessThan(0.15);
  });
});

describe('roll-ups', () => {
  const base = { formId: 'standard', inspector: 'qa1', inspectedAt: 0, at: 0 };
  const list: Inspection[] = [
    { ...base, callId: 'c1', agentId: '1001', group: 'general', scores: { greeting: 5, accuracy: 10, attitude: 10, 'ticket-quality': 10 }, total: 100 },
    { ...base, callId: 'c2', agentId: '1001', group: 'general', scores: { greeting: 0, accuracy: 5, attitude: 5, 'ticket-quality': 5 }, total: 42.5 },
    { ...base, callId: 'c3', agentId: '1002', group: 'general', scores: { greeting: 5, accuracy: 0, attitude: 10, 'ticket-quality': 0 }, total: 40 },
    { ...base, callId: 'c4', agentId: '1003', group: 'enterprise', scores: { greeting: 5, accuracy: 10, attitude: 0, 'ticket-quality': 10 }, total: 75 },
  ];

  it('average per agent and per seat group, items as % of their maximum', () => {
    const r = rollUp(list, { standard: DEFAULT_FORM });
    expect(r.agents).toEqual([
      { id: '1001', count: 2, average: 71.25, min: 42.5, max: 100, items: { accuracy: 75, attitude: 75, greeting: 50, 'ticket-quality': 75 } },
      { id: '1002', count: 1, average: 40, min: 40, max: 40, items: { accuracy: 0, attitude: 100, greeting: 100, 'ticket-quality': 0 } },
      { id: '1003', count: 1, average: 75, min: 75, max: 75, items: { accuracy: 100, attitude: 0, greeting: 100, 'ticket-quality': 100 } },
    ]);
    expect(r.groups.map((g) => [g.id, g.count, g.average])).toEqual([
      ['enterprise', 1, 75],
      ['general', 3, 60.83],
    ]);
    expect(r.overall).toEqual({ count: 4, average: 64.38 });
  });

  it('is empty for no inspections', () => {
    expect(rollUp([], new Map())).toEqual({ agents: [], groups: [], overall: { count: 0, average: 0 } });
  });
});

describe('candidates from call records', () => {
  it('take the agent who answered first, their seat group, and rating 4 (不满意) as dissatisfied', () => {
    const groupOf = (a: string) => (a === '1001' ? 'general' : undefined);
    expect(candidateFromRecord({ callId: 'c', startedAt: 1, agentAnsweredAt: 5, agents: ['1001', '2001'], survey: { rating: 4 } }, '0632', groupOf)).toEqual({
      callId: 'c', agentId: '1001', group: 'general', at: 5, ticketNo: '0632', dissatisfied: true,
    });
    expect(candidateFromRecord({ callId: 'c', startedAt: 1, agents: ['9'], survey: { rating: 3 } }, undefined, groupOf)).toEqual({ callId: 'c', agentId: '9', group: 'general', at: 1 });
    expect(candidateFromRecord({ callId: 'c', startedAt: 1, agents: [] }, 'x', groupOf)).toBeUndefined();
  });
});
