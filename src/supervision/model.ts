/**
 * Supervision (督办) as pure rules: supervision orders (督办单) with their own
 * deadline and escalation ladder, the automatic triggers, the weekly 双率
 * judgement and the red/yellow/blue ranking (红黄蓝榜). No clock, no I/O: the
 * instant, the calendar and the KPIs come in; the store and the jobs apply
 * what these functions return.
 *
 * From the seeds:
 * - 001 13 / 004 三(四)8: 督办单, 专题协调, 约谈提醒, 红黄蓝榜 for 超期未办, poor quality,
 *   improper returns; the units' 问题解决率 and 满意率 are evaluated and bulletined.
 * - 003 三·四是: 超期未办, 解决不力, 拒不承办 and 反映问题集中 → 挂牌督办、销号管理 (an order
 *   is closed — 销号 — by the centre once the unit has answered it).
 * - 003 三·五是: ① 连续2周 “双率” below the district's requirement → 区级分管领导约谈;
 *   ② 连续3周 → 区政府主要领导约谈. The seeds leave the requirement itself to the
 *   district (“合理确定群众满意率和事项解决率标准”): the thresholds are configuration
 *   (SUPERVISION_*), not seed figures.
 * Our reading of 双率: 按时办结率 and 满意率 (the issue's words and kpi.ts); a week is
 * "below" when either rate with enough tickets behind it is under its minimum.
 */
import { DAY_MS, dayIndexToDate, dateToDayIndex, localDayIndex, SHANGHAI_OFFSET_MS, type WorkCalendar } from '../tickets/calendar.js';
import type { Rate, TicketKpis } from '../tickets/kpi.js';
import type { Ticket } from '../tickets/model.js';

// ---------------------------------------------------------------- vocabularies

export const ORDER_TRIGGERS = ['manual', 'overdue', 'repeat', 'low-rates'] as const;
export type OrderTrigger = (typeof ORDER_TRIGGERS)[number];

/**
 * The escalation ladder: 1 督办单 from the centre; 2 约谈 by the district leader
 * in charge (分管领导, 2 weeks of low 双率, or an order left unanswered past its
 * deadline); 3 约谈 by the district head (主要领导, 3 weeks).
 */
export const ORDER_LEVELS = [1, 2, 3] as const;
export type OrderLevel = (typeof ORDER_LEVELS)[number];
export const LEVEL_LABELS: Record<OrderLevel, { zh: string; en: string }> = {
  1: { zh: '督办单', en: 'supervision order' },
  2: { zh: '分管领导约谈', en: 'talk with the leader in charge' },
  3: { zh: '主要领导约谈', en: 'talk with the head of government' },
};

export const ORDER_STATES = ['open', 'responded', 'closed'] as const;
export type OrderState = (typeof ORDER_STATES)[number];

export type OrderTarget = { kind: 'ticket'; ticketNo: string; unit: string } | { kind: 'unit'; unit: string };

export interface OrderEvent {
  type: 'created' | 'responded' | 'escalated' | 'closed';
  at: number;
  by: string;
  note?: string;
  level?: OrderLevel;
}

export interface SupervisionOrder {
  id: string;
  /** Idempotency key of an automatic order (one order per trigger, target and run); manual orders: `manual:<id>`. */
  key: string;
  target: OrderTarget;
  trigger: OrderTrigger;
  level: OrderLevel;
  reason: string;
  createdAt: number;
  createdBy: string;
  /** Answer by (working days on the calendar). */
  dueBy: number;
  state: OrderState;
  responses: { at: number; by: string; text: string }[];
  history: OrderEvent[];
  /** Bumped on every change (optimistic concurrency). */
  version: number;
}

export interface SupervisionThresholds {
  /** 满意率 minimum (0..1). */
  satisfactionMin: number;
  /** 按时办结率 minimum (0..1). */
  onTimeMin: number;
  /** 红榜: both rates meet the minimums and their mean reaches this (0..1). */
  redMin: number;
  /** A rate is judged only over at least this many tickets. */
  minSample: number;
}

// ---------------------------------------------------------------- periods (city time)

export const PERIOD_KINDS = ['day', 'week', 'month'] as const;
export type PeriodKind = (typeof PERIOD_KINDS)[number];

export interface NamedPeriod {
  kind: PeriodKind;
  /** Inclusive start (ms, 00:00 Asia/Shanghai). */
  from: number;
  /** Exclusive end. */
  to: number;
  /** `2026-03-09` (day), `2026-W11` style is avoided: weeks are named by their Monday `2026-03-09`, months `2026-03`. */
  label: string;
}

const startOfDay = (di: number) => di * DAY_MS - SHANGHAI_OFFSET_MS;

/** The day, week (Monday to Sunday) or month that contains `date` (YYYY-MM-DD, city date). */
export function periodOf(kind: PeriodKind, date: string): NamedPeriod {
  const di = dateToDayIndex(date);
  if (di === undefined) throw new RangeError(`date: not a real YYYY-MM-DD date: "${date}"`);
  if (kind === 'day') return { kind, from: startOfDay(di), to: startOfDay(di + 1), label: date };
  if (kind === 'week') {
    // Day index 0 (1970-01-01) was a Thursday: Monday-based weekday = (di + 3) mod 7.
    const monday = di - ((di + 3) % 7);
    return { kind, from: startOfDay(monday), to: startOfDay(monday + 7), label: dayIndexToDate(monday) };
  }
  const [y, m] = date.split('-').map(Number) as [number, number];
  const first = dateToDayIndex(`${y}-${String(m).padStart(2, '0')}-01`)!;
  const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
  return { kind, from: startOfDay(first), to: startOfDay(dateToDayIndex(next)!), label: date.slice(0, 7) };
}

/** The period of `kind` that ended last before `now` (yesterday, last week, last month). */
export function lastFullPeriod(kind: PeriodKind, now: number): NamedPeriod {
  const current = periodOf(kind, dayIndexToDate(localDayIndex(now)));
  return periodOf(kind, dayIndexToDate(localDayIndex(current.from - 1)));
}

/** The `n` full weeks before `now`, oldest first. */
export function lastFullWeeks(now: number, n: number): NamedPeriod[] {
  const out: NamedPeriod[] = [];
  let p = lastFullPeriod('week', now);
  for (let i = 0; i < n; i++) {
    out.unshift(p);
    p = periodOf('week', dayIndexToDate(localDayIndex(p.from - 1)));
  }
  return out;
}

// ---------------------------------------------------------------- 双率 and ranking

const judged = (r: Rate, t: SupervisionThresholds) => r.rate !== null && r.denominator >= t.minSample;

/** Whether a unit's week fails the 双率 requirement: either rate (with enough tickets) under its minimum. */
export function belowRates(k: Pick<TicketKpis, 'onTimeCompletion' | 'satisfaction'>, t: SupervisionThresholds): boolean {
  return (judged(k.onTimeCompletion, t) && k.onTimeCompletion.rate! < t.onTimeMin) || (judged(k.satisfaction, t) && k.satisfaction.rate! < t.satisfactionMin);
}

export type Band = 'red' | 'yellow' | 'blue' | 'none';
export const BAND_LABELS: Record<Band, { zh: string; en: string }> = {
  red: { zh: '红榜', en: 'red (commended)' },
  yellow: { zh: '黄榜', en: 'yellow (reminded)' },
  blue: { zh: '蓝榜', en: 'blue (below requirement)' },
  none: { zh: '未评', en: 'not rated' },
};

export interface RankingRow {
  rank: number;
  unit: string;
  tickets: number;
  onTimeCompletion: Rate;
  satisfaction: Rate;
  /** Mean of the judged rates (0..1), null when neither has enough tickets. */
  score: number | null;
  band: Band;
}

/**
 * 红黄蓝榜: units ranked by the mean of their 双率 (only rates with at least
 * `minSample` tickets count). Blue: below the 双率 requirement; red: both
 * rates judged, both meet it and the mean reaches `redMin`; yellow: the rest;
 * none: too few tickets to judge. Ties: more tickets first, then the name.
 */
export function rankUnits(byUnit: ReadonlyMap<string, TicketKpis>, t: SupervisionThresholds): RankingRow[] {
  const rows = [...byUnit].map(([unit, k]) => {
    const rates = [k.onTimeCompletion, k.satisfaction].filter((r) => judged(r, t)).map((r) => r.rate!);
    const score = rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : null;
    let band: Band = 'none';
    if (score !== null) {
      if (belowRates(k, t)) band = 'blue';
      else if (rates.length === 2 && score >= t.redMin) band = 'red';
      else band = 'yellow';
    }
    return { rank: 0, unit, tickets: k.tickets, onTimeCompletion: k.onTimeCompletion, satisfaction: k.satisfaction, score, band };
  });
  rows.sort((a, b) => (b.score ?? -1) - (a.score ?? -1) || b.tickets - a.tickets || a.unit.localeCompare(b.unit, 'zh-CN'));
  return rows.map((r, i) => ({ ...r, rank: i + 1 }));
}

// ---------------------------------------------------------------- automatic triggers

/** An order the rules ask for; the store creates it once per key, or raises an existing one to `level`. */
export interface OrderIntent {
  key: string;
  target: OrderTarget;
  trigger: Exclude<OrderTrigger, 'manual'>;
  level: OrderLevel;
  reason: string;
}

const OPEN_STATES = new Set(['dispatched', 'accepted', 'in-progress', 'reopened', 'reply-review']);

/**
 * What the rules ask for at `now`:
 * - overdue (超期未办): a ticket still with its unit past the finish deadline → a
 *   ticket order (one per deadline: an extension that is again missed is a new one);
 * - repeat (重复投诉): a complaint that repeats an earlier matter, still open → a ticket order;
 * - low-rates: a unit below the 双率 requirement in each of the last 2 full weeks →
 *   a unit order at level 2; 3 weeks → the same order raised to level 3 (the run's
 *   first low week names it, so one run of low weeks is one order).
 * `weekly` holds each unit's KPIs of the last full weeks, oldest first (same length for every unit).
 */
export function orderIntents(input: { tickets: readonly Ticket[]; weekly: ReadonlyMap<string, readonly { week: NamedPeriod; kpis: TicketKpis }[]>; now: number; thresholds: SupervisionThresholds }): OrderIntent[] {
  const out: OrderIntent[] = [];
  for (const t of input.tickets) {
    if (!OPEN_STATES.has(t.state) || t.units.length === 0) continue;
    const unit = t.units[0]!;
    const finishBy = t.deadlines?.finishBy;
    if (finishBy !== undefined && input.now > finishBy && t.state !== 'reply-review') {
      out.push({ key: `overdue:${t.ticketNo}:${finishBy}`, target: { kind: 'ticket', ticketNo: t.ticketNo, unit }, trigger: 'overdue', level: 1, reason: `工单 ${t.ticketNo} 超期未办 / ticket ${t.ticketNo} is overdue` });
    }
    if (t.repeatOf && t.category === 'complaint') {
      out.push({ key: `repeat:${t.ticketNo}`, target: { kind: 'ticket', ticketNo: t.ticketNo, unit }, trigger: 'repeat', level: 1, reason: `重复投诉（首次 ${t.repeatOf}） / repeat complaint (first ${t.repeatOf})` });
    }
  }
  for (const [unit, weeks] of input.weekly) {
    let run = 0;
    for (let i = weeks.length - 1; i >= 0 && belowRates(weeks[i]!.kpis, input.thresholds); i--) run++;
    if (run < 2) continue;
    const first = weeks[weeks.length - run]!.week;
    const level: OrderLevel = run >= 3 ? 3 : 2;
    out.push({
      key: `low-rates:${unit}:${first.label}`,
      target: { kind: 'unit', unit },
      trigger: 'low-rates',
      level,
      reason: `连续${run}周“双率”未达要求（自 ${first.label} 周起） / below the on-time and satisfaction requirement for ${run} weeks in a row (since the week of ${first.label})`,
    });
  }
  return out;
}

// ---------------------------------------------------------------- the order's own lifecycle

export type OrderResult = { ok: true; order: SupervisionOrder } | { ok: false; error: { field: string; message: string; code: 'invalid-input' | 'illegal-transition' } };

const bad = (field: string, message: string, code: 'invalid-input' | 'illegal-transition' = 'invalid-input'): OrderResult => ({ ok: false, error: { field, message: `${field}: ${message}`, code } });
const text = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;

export interface NewOrderInput {
  id: string;
  key: string;
  target: OrderTarget;
  trigger: OrderTrigger;
  level: OrderLevel;
  reason: string;
  by: string;
  now: number;
  /** Working days the unit has to answer. */
  workingDays: number;
  calendar: WorkCalendar;
}

export function newOrder(i: NewOrderInput): OrderResult {
  if (!text(i.reason)) return bad('reason', '督办事由必填 / the reason is required');
  if (!Number.isInteger(i.workingDays) || i.workingDays < 1 || i.workingDays > 30) return bad('workingDays', '办理时限为 1–30 个工作日 / must be 1–30 working days');
  if (!text(i.target.unit)) return bad('target.unit', '承办单位必填 / the unit is required');
  if (!ORDER_LEVELS.includes(i.level)) return bad('level', 'must be 1, 2 or 3');
  return {
    ok: true,
    order: {
      id: i.id,
      key: i.key,
      target: i.target,
      trigger: i.trigger,
      level: i.level,
      reason: i.reason.trim(),
      createdAt: i.now,
      createdBy: i.by,
      dueBy: i.calendar.addWorkingDays(i.now, i.workingDays),
      state: 'open',
      responses: [],
      history: [{ type: 'created', at: i.now, by: i.by, level: i.level }],
      version: 1,
    },
  };
}

export type OrderAction =
  /** The unit answers (what it did, by when): open → responded. */
  | { type: 'respond'; text: string }
  /** 销号: the centre closes the order, once answered (or with a note saying why not). */
  | { type: 'close'; note?: string }
  /** One step up the ladder, with a new deadline; the order is open again. */
  | { type: 'escalate'; reason: string; to?: OrderLevel };

export interface OrderContext {
  now: number;
  by: string;
  /** Who acts: the centre (supervisor) or the target unit's user (`unit` set). */
  role: 'supervisor' | 'unit' | 'system';
  unit?: string;
  calendar: WorkCalendar;
  workingDays: number;
}

export function applyOrder(o: SupervisionOrder, a: OrderAction, c: OrderContext): OrderResult {
  if (o.state === 'closed') return bad('state', '督办单已销号 / the order is closed', 'illegal-transition');
  const next: SupervisionOrder = structuredClone(o);
  next.version = o.version + 1;
  switch (a.type) {
    case 'respond': {
      if (c.role === 'unit' && c.unit !== o.target.unit) return bad('unit', `${c.unit ?? '(none)'} 不是被督办单位 / is not the unit under supervision (${o.target.unit})`, 'illegal-transition');
      if (!text(a.text)) return bad('text', '办理情况必填 / the answer is required');
      next.responses.push({ at: c.now, by: c.by, text: a.text.trim() });
      next.history.push({ type: 'responded', at: c.now, by: c.by });
      next.state = 'responded';
      return { ok: true, order: next };
    }
    case 'close': {
      if (c.role !== 'supervisor') return bad('role', '销号由热线中心办理 / only the centre closes an order', 'illegal-transition');
      if (o.state !== 'responded' && !text(a.note)) return bad('note', '单位尚未反馈，销号须说明原因 / the unit has not answered: closing needs a note');
      next.history.push({ type: 'closed', at: c.now, by: c.by, ...(text(a.note) ? { note: a.note.trim() } : {}) });
      next.state = 'closed';
      return { ok: true, order: next };
    }
    case 'escalate': {
      if (c.role === 'unit') return bad('role', '升级由热线中心办理 / only the centre escalates', 'illegal-transition');
      if (!text(a.reason)) return bad('reason', '升级原因必填 / the reason is required');
      const to = a.to ?? ((o.level + 1) as OrderLevel);
      if (!ORDER_LEVELS.includes(to) || to <= o.level) return bad('level', o.level === 3 ? '已是最高级别 / already at the top level' : `must be above ${o.level}`, 'illegal-transition');
      next.level = to;
      next.dueBy = c.calendar.addWorkingDays(c.now, c.workingDays);
      next.state = 'open';
      next.history.push({ type: 'escalated', at: c.now, by: c.by, note: a.reason.trim(), level: to });
      return { ok: true, order: next };
    }
  }
}

/** Orders still unanswered past their deadline: each goes one step up the ladder (below the top). */
export function overdueOrders(orders: readonly SupervisionOrder[], now: number): SupervisionOrder[] {
  return orders.filter((o) => o.state === 'open' && now > o.dueBy && o.level < 3);
}
