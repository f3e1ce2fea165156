/**
 * The pure supervision rules: periods in city time, the 双率 judgement, the
 * 红黄蓝榜 bands, the automatic order intents (2 and 3 weeks in a row), and an
 * order's own lifecycle (respond, 销号, escalate).
 */
import { describe, expect, it } from 'vitest';
import { createWorkCalendar, shanghaiInstant as at } from '../../src/tickets/calendar.js';
import { loadBundledCalendarData } from '../../src/tickets/calendar-source.js';
import { rate, ticketKpis, type TicketKpis } from '../../src/tickets/kpi.js';
import { applyOrder, belowRates, lastFullWeeks, newOrder, orderIntents, overdueOrders, periodOf, rankUnits, type OrderContext, type SupervisionOrder } from '../../src/supervision/model.js';

const cal = createWorkCalendar({ data: loadBundledCalendarData() });
const T = { satisfactionMin: 0.9, onTimeMin: 0.9, redMin: 0.95, minSample: 2 };
const k = (onTime: [number, number], sat: [number, number], tickets = 10): TicketKpis => ({ ...ticketKpis([], { asOf: 0 }), tickets, onTimeCompletion: rate(...onTime), satisfaction: rate(...sat) });

describe('periods (Asia/Shanghai)', () => {
  it('a week runs Monday to Sunday, a month by the calendar; the last full ones before an instant', () => {
    expect(periodOf('week', '2026-03-11')).toMatchObject({ label: '2026-03-09', from: at('2026-03-09'), to: at('2026-03-16') });
    expect(periodOf('week', '2026-03-15').label).toBe('2026-03-09');
    expect(periodOf('month', '2026-12-31')).toMatchObject({ label: '2026-12', from: at('2026-12-01'), to: at('2027-01-01') });
    expect(periodOf('day', '2026-02-28')).toMatchObject({ from: at('2026-02-28'), to: at('2026-03-01') });
    expect(lastFullWeeks(at('2026-03-23', '00:05'), 2).map((p) => p.label)).toEqual(['2026-03-09', '2026-03-16']);
    expect(() => periodOf('day', '2026-02-30')).toThrow(/date/);
  });
});

describe('双率 and 红黄蓝榜', () => {
  it('below when either rate with enough tickets is under its minimum; too few tickets are not judged', () => {
    expect(belowRates(k([9, 10], [10, 10]), T)).toBe(false);
    expect(belowRates(k([8, 10], [10, 10]), T)).toBe(true);
    expect(belowRates(k([10, 10], [0, 1]), T)).toBe(false);
  });

  it('bands: red (both met, mean ≥ 95 %), yellow (met, lower), blue (below), none (too few); ranked by the mean', () => {
    const rows = rankUnits(new Map([['甲', k([10, 10], [19, 20])], ['乙', k([9, 10], [9, 10])], ['丙', k([5, 10], [10, 10])], ['丁', k([1, 1], [0, 0], 1)]]), T);
    expect(rows.map((r) => [r.rank, r.unit, r.band])).toEqual([[1, '甲', 'red'], [2, '乙', 'yellow'], [3, '丙', 'blue'], [4, '丁', 'none']]);
    expect(rows[0]!.score).toBeCloseTo(0.975);
  });
});

describe('automatic orders', () => {
  const weeks = lastFullWeeks(at('2026-03-30', '09:00'), 3);
  const weekly = (flags: boolean[]) => weeks.map((week, i) => ({ week, kpis: flags[i] ? k([5, 10], [10, 10]) : k([10, 10], [10, 10]) }));

  it('2 low weeks in a row → level 2, 3 → level 3, one key per run; 1 week or an interrupted run → nothing', () => {
    const out = orderIntents({ tickets: [], now: at('2026-03-30', '09:00'), thresholds: T, weekly: new Map([['A', weekly([false, true, true])], ['B', weekly([true, true, true])], ['C', weekly([true, false, true])]]) });
    expect(out.map((i) => [i.target, i.level, i.key])).toEqual([
      [{ kind: 'unit', unit: 'A' }, 2, 'low-rates:A:2026-03-16'],
      [{ kind: 'unit', unit: 'B' }, 3, 'low-rates:B:2026-03-09'],
    ]);
  });
});

describe('an order’s lifecycle', () => {
  const mon = at('2026-03-09', '10:00');
  const made = newOrder({ id: 'DB202603090001', key: 'manual:x', target: { kind: 'unit', unit: '市水务局' }, trigger: 'manual', level: 1, reason: '专题协调', by: 'sup', now: mon, workingDays: 3, calendar: cal });
  const order = (made as { order: SupervisionOrder }).order;
  const c = (o: Partial<OrderContext> = {}): OrderContext => ({ now: mon + 3_600_000, by: 'sup', role: 'supervisor', calendar: cal, workingDays: 3, ...o });

  it('answer by the end of the 3rd working day; the unit answers; 销号 needs the answer or a note; escalation moves the deadline and reopens', () => {
    expect(order.dueBy).toBe(at('2026-03-13') - 1);
    const early = applyOrder(order, { type: 'close' }, c());
    expect(early.ok || early.error).toMatchObject({ field: 'note' });
    const other = applyOrder(order, { type: 'respond', text: '已办' }, c({ role: 'unit', unit: '市住建局' }));
    expect(other.ok || other.error).toMatchObject({ field: 'unit', code: 'illegal-transition' });
    const answered = applyOrder(order, { type: 'respond', text: '已办' }, c({ role: 'unit', unit: '市水务局', by: 'u1' }));
    expect(answered.ok && answered.order).toMatchObject({ state: 'responded', version: 2 });
    const up = applyOrder(order, { type: 'escalate', reason: '逾期' }, c({ now: at('2026-03-16', '09:00') }));
    expect(up.ok && [up.order.level, up.order.state, up.order.dueBy]).toEqual([2, 'open', at('2026-03-20') - 1]);
    expect(overdueOrders([order], at('2026-03-13', '00:00'))).toEqual([order]);
    expect(overdueOrders([order], at('2026-03-12', '23:00'))).toEqual([]);
  });
});
