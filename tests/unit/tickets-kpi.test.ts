import { describe, expect, it } from 'vitest';
import { createWorkCalendar, shanghaiInstant as at } from '../../src/tickets/calendar.js';
import { loadBundledCalendarData } from '../../src/tickets/calendar-source.js';
import { callKpis, rate, ticketKpis, ticketKpisByUnit, type KpiCall } from '../../src/tickets/kpi.js';
import { apply, applyPhoneRating, type TicketAction } from '../../src/tickets/lifecycle.js';
import { newTicket, type Actor, type Ticket } from '../../src/tickets/model.js';
import { loadBundledSlaPolicies } from '../../src/tickets/sla.js';

const cal = createWorkCalendar({ data: loadBundledCalendarData() });
const policy = loadBundledSlaPolicies().get('zaozhuang')!;
const agent: Actor = { id: 'agent-1', role: 'agent' };
const sup: Actor = { id: 'sup-1', role: 'supervisor' };
const unit = (u: string): Actor => ({ id: `u-${u}`, role: 'unit', unit: u });
const WATER = '市水务局';
const HOUSING = '市住房城乡建设局';

type Step = [when: string, action: TicketAction, actor?: Actor];

/** A ticket received at `received` (Shanghai "YYYY-MM-DD HH:MM") and run through the steps. */
function ticket(no: number, received: string, steps: Step[]): Ticket {
  const [d, tm] = received.split(' ') as [string, string];
  let t = newTicket({
    ticketNo: `06322026030900000${no}`,
    cityId: 'zaozhuang',
    channel: { kind: '12345' },
    category: 'complaint',
    requesterKind: 'citizen',
    summary: '反映问题',
    callerNumber: '1380000000' + no,
    callIds: [`call-${no}`],
    receivedAt: at(d, tm),
    actor: agent,
  });
  for (const [when, action, actor] of steps) {
    const [sd, st] = when.split(' ') as [string, string];
    const r = apply(t, action, { now: at(sd, st), actor: actor ?? agent, calendar: cal, policy });
    if (!r.ok) throw new Error(`ticket ${no} ${action.type}: ${r.error.message}`);
    t = r.ticket;
  }
  return t;
}

// Dispatched Mon 2026-03-09 10:00 → due end of Mon 03-16 (5 working days, Zaozhuang citizens).
const dispatchWater: Step = ['2026-03-09 10:00', { type: 'dispatch', units: [WATER] }];
const T1 = ticket(1, '2026-03-09 09:00', [
  dispatchWater,
  ['2026-03-09 11:00', { type: 'accept', unit: WATER }, unit(WATER)],
  ['2026-03-12 15:00', { type: 'reply', content: '已处理' }, unit(WATER)],
  ['2026-03-13 10:00', { type: 'callback', reached: true }],
  ['2026-03-13 10:01', { type: 'rate', satisfaction: 1, resolved: true }],
  ['2026-03-13 10:02', { type: 'close' }],
]); // on time, very satisfied, resolved
const T2 = ticket(2, '2026-03-09 09:10', [
  dispatchWater,
  ['2026-03-09 11:00', { type: 'accept', unit: WATER }, unit(WATER)],
  ['2026-03-17 10:00', { type: 'reply', content: '已处理' }, unit(WATER)], // late
  ['2026-03-17 15:00', { type: 'callback', reached: true }],
  ['2026-03-17 15:01', { type: 'rate', satisfaction: 4 }],
  ['2026-03-17 16:00', { type: 'reopen', ground: 'dissatisfied', reason: '问题未解决' }, sup],
  ['2026-03-18 09:00', { type: 'reply', content: '再次处理' }, unit(WATER)],
  ['2026-03-18 15:00', { type: 'rate', satisfaction: 3 }],
]); // late (first reply), reopened, latest rating basically satisfied
const T3 = ticket(3, '2026-03-09 09:20', [dispatchWater, ['2026-03-09 11:00', { type: 'accept', unit: WATER }, unit(WATER)]]); // never replied: overdue at asOf
const T4 = ticket(4, '2026-03-19 09:00', [['2026-03-19 10:00', { type: 'dispatch', units: [WATER] }]]); // due 03-26: still pending at asOf
const T5 = ticket(5, '2026-03-10 08:00', [
  ['2026-03-10 08:05', { type: 'answer-directly', answer: '已解答' }],
  ['2026-03-10 08:06', { type: 'rate', satisfaction: 2 }],
  ['2026-03-10 08:07', { type: 'close' }],
]); // 直办: no clock, rated satisfied
const T6 = ticket(6, '2026-03-10 09:00', [
  ['2026-03-10 10:00', { type: 'dispatch', units: [WATER] }],
  ['2026-03-10 15:00', { type: 'return', unit: WATER, reason: '非本单位职责' }, unit(WATER)],
  ['2026-03-10 16:00', { type: 'dispatch', units: [HOUSING] }],
  ['2026-03-11 09:00', { type: 'accept', unit: HOUSING }, unit(HOUSING)],
  ['2026-03-13 10:00', { type: 'reply', content: '已处理' }, unit(HOUSING)],
  ['2026-03-13 11:00', { type: 'callback', reached: true, resolved: false }],
  ['2026-03-13 11:01', { type: 'rate', satisfaction: 4 }],
]); // returned once, on time, dissatisfied, not resolved (not reopened)
const T7 = ticket(7, '2026-02-02 09:00', [['2026-02-02 10:00', { type: 'dispatch', units: [WATER] }]]); // outside the period

const all = [T1, T2, T3, T4, T5, T6, T7];
const period = { from: at('2026-03-01'), to: at('2026-04-01') };
const asOf = at('2026-03-20', '12:00');

describe('ticket KPIs on a hand-computed dataset (March 2026, as of 03-20 12:00)', () => {
  const k = ticketKpis(all, { period, asOf });

  it('GIVEN seven tickets, one received in February WHEN counting THEN six are in the period', () => {
    expect(k.tickets).toBe(6);
  });

  it('GIVEN T1 and T6 on time, T2 late, T3 overdue, T4 pending, T5 direct WHEN computing 按时办结率 THEN 2 / 4', () => {
    expect(k.onTimeCompletion).toEqual({ numerator: 2, denominator: 4, rate: 0.5 });
    expect(k.overdueOpen).toBe(1);
  });

  it('GIVEN latest ratings 1 (T1), 3 (T2), 2 (T5), 4 (T6) WHEN computing 满意率 THEN 3 / 4, or 2 / 4 without 基本满意', () => {
    expect(k.satisfaction).toEqual({ numerator: 3, denominator: 4, rate: 0.75 });
    expect(ticketKpis(all, { period, asOf, basicallySatisfiedCounts: false }).satisfaction).toEqual({ numerator: 2, denominator: 4, rate: 0.5 });
  });

  it('GIVEN three replied tickets of which T2 was reopened WHEN computing 重办率 THEN 1 / 3', () => {
    expect(k.reopen.numerator).toBe(1);
    expect(k.reopen.denominator).toBe(3);
    expect(k.reopen.rate).toBeCloseTo(1 / 3, 10);
  });

  it('GIVEN T1 resolved and T6 not WHEN computing 问题解决率 THEN 1 / 2; and one return in total', () => {
    expect(k.resolution).toEqual({ numerator: 1, denominator: 2, rate: 0.5 });
    expect(k.returns).toBe(1);
  });

  it('GIVEN T3 unreplied WHEN the report is made before / after the end of its deadline day THEN it is left out / counted late', () => {
    expect(ticketKpis([T1, T3], { period, asOf: at('2026-03-16', '23:59') }).onTimeCompletion).toEqual({ numerator: 1, denominator: 1, rate: 1 });
    expect(ticketKpis([T1, T3], { period, asOf: at('2026-03-17', '00:00') }).onTimeCompletion).toEqual({ numerator: 1, denominator: 2, rate: 0.5 });
  });

  it('GIVEN the same tickets per unit WHEN computing THEN the returning unit keeps its return and the final unit the ticket', () => {
    const byUnit = ticketKpisByUnit(all, { period, asOf });
    expect([...byUnit.keys()].sort()).toEqual([HOUSING, WATER].sort());
    expect(byUnit.get(WATER)).toMatchObject({ tickets: 4, returns: 1, onTimeCompletion: { numerator: 1, denominator: 3 } });
    expect(byUnit.get(HOUSING)).toMatchObject({ tickets: 1, returns: 0, onTimeCompletion: { numerator: 1, denominator: 1 }, satisfaction: { numerator: 0, denominator: 1 } });
  });

  it('GIVEN nothing to count WHEN computing THEN rates are null, not NaN', () => {
    expect(ticketKpis([], { asOf }).satisfaction).toEqual({ numerator: 0, denominator: 0, rate: null });
    expect(rate(0, 0).rate).toBeNull();
  });
});

describe('接通率 over call records', () => {
  const base = at('2026-03-09', '09:00');
  const call = (id: string, o: Partial<KpiCall>): KpiCall => ({ callId: id, source: 'carrier', startedAt: base, path: [], ...o });
  const queued = (s: number) => [{ at: base + s * 1000, kind: 'queue' as const, detail: 'general' }];
  const calls: KpiCall[] = [
    call('c1', { path: queued(10), agentAnsweredAt: base + 30_000, outcome: 'answered', endedAt: base + 300_000 }),
    call('c2', { path: queued(10), outcome: 'abandoned-queue', endedAt: base + 13_000 }), // 3 s in queue
    call('c3', { path: queued(10), outcome: 'abandoned-queue', endedAt: base + 70_000 }), // 60 s in queue
    call('c4', { outcome: 'self-service', endedAt: base + 40_000 }), // never asked for an agent
    call('c5', { source: 'callback', agentAnsweredAt: base + 5000, outcome: 'answered' }), // outbound: not offered
    call('c6', { source: 'linkage', path: queued(5), agentAnsweredAt: base + 20_000, outcome: 'transferred' }),
    call('c7', { startedAt: at('2026-02-27', '09:00'), path: queued(5), outcome: 'abandoned-queue' }), // outside period
  ];

  it('GIVEN four calls offered to agents in March, two answered WHEN computing THEN 2 / 4', () => {
    expect(callKpis(calls, { period })).toEqual({ answerRate: { numerator: 2, denominator: 4, rate: 0.5 }, offered: 4, answered: 2, abandoned: 2 });
  });

  it('GIVEN short abandons under 5 s excluded WHEN computing THEN 2 / 3', () => {
    const k = callKpis(calls, { period, shortAbandonMs: 5000 });
    expect([k.answered, k.offered]).toEqual([2, 3]);
  });

  it('GIVEN no period WHEN computing THEN February\'s abandon counts too', () => {
    expect(callKpis(calls).offered).toBe(5);
  });
});

describe('phone-verified ratings (回访 campaigns)', () => {
  const closed = (no: number) =>
    ticket(no, '2026-03-09 09:00', [
      dispatchWater,
      ['2026-03-09 11:00', { type: 'accept', unit: WATER }, unit(WATER)],
      ['2026-03-10 15:00', { type: 'reply', content: '已处理' }, unit(WATER)],
      ['2026-03-10 16:00', { type: 'close', reason: '待电话回访 / rating by the campaign' }, sup],
    ]);
  const system: Actor = { id: 'system', role: 'system' };

  it('GIVEN closed tickets without a rating WHEN a campaign call rates them THEN they stay closed, carry the rating marked phone-verified, and 满意率 counts them; the same call applied twice changes nothing', () => {
    const a = applyPhoneRating(closed(1), { satisfaction: 2, callId: 'svy-a-c', campaignId: 'cmp-x' }, { now: at('2026-03-16', '10:00'), actor: system });
    const b = applyPhoneRating(closed(2), { satisfaction: 4, callId: 'svy-b-c', campaignId: 'cmp-x' }, { now: at('2026-03-16', '10:05'), actor: system });
    if (!a.ok || !b.ok) throw new Error('refused');
    expect(a.ticket).toMatchObject({ state: 'closed', satisfaction: 2 });
    expect(a.ticket.history.at(-1)).toMatchObject({ type: 'rated', data: { satisfaction: 2, verified: 'phone', callId: 'svy-a-c', campaign: 'cmp-x' } });
    expect(ticketKpis([closed(3)], { asOf: at('2026-03-20', '10:00') }).satisfaction).toEqual(rate(0, 0));
    expect(ticketKpis([a.ticket, b.ticket], { asOf: at('2026-03-20', '10:00') }).satisfaction).toEqual(rate(1, 2));
    const again = applyPhoneRating(a.ticket, { satisfaction: 2, callId: 'svy-a-c', campaignId: 'cmp-x' }, { now: at('2026-03-16', '11:00'), actor: system });
    expect(again.ok && again.ticket).toBe(a.ticket);
    // A dissatisfied phone rating is ground for 重办.
    expect(apply(b.ticket, { type: 'reopen', ground: 'dissatisfied', reason: '回访不满意' }, { now: at('2026-03-16', '11:00'), actor: sup, calendar: cal, policy }).ok).toBe(true);
    const bad = applyPhoneRating(closed(4), { satisfaction: 7 as never, callId: 'svy-c-c', campaignId: 'cmp-x' }, { now: at('2026-03-16', '10:00'), actor: system });
    expect(bad).toMatchObject({ ok: false, error: { field: 'satisfaction' } });
  });
});
