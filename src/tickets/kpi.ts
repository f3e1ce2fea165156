/**
 * Pure KPI computation over tickets and call records. Every rate is returned
 * with its numerator and denominator (and `rate: null` when nothing counts),
 * so a report can show "47 / 50" and nobody divides by zero.
 *
 * Definitions (the seeds name the indicators; the formulas are ours, stated here):
 * - 接通率 answer rate (郑州 004 一、总体目标 “整体接通率达到98%”): calls answered by an
 *   agent / calls offered to agents. Offered = inbound calls (not callbacks or
 *   agent-originated calls) that asked for an agent: they entered an agent
 *   queue or were answered by one. Calls that ended in self-service never
 *   asked for an agent and do not count. Abandons shorter than
 *   `shortAbandonMs` in the queue may be excluded (default: none excluded).
 * - 按时办结率 on-time completion (枣庄 000 山亭 四 “及时办结率”, 六安 002 12 “按时办结率”):
 *   over dispatched tickets, judged on the unit's first reply: on time when it
 *   came at or before the finish deadline in force (extensions included).
 *   A ticket not yet replied counts only once overdue (`asOf` past its deadline),
 *   as late; pending tickets still within their clock are left out.
 *   Directly answered tickets (直办) have no clock and are left out.
 * - 满意率 satisfaction (枣庄 000 山亭 四; 莱山 003 “满意率”): tickets whose latest rating
 *   is very satisfied, satisfied or basically satisfied / rated tickets
 *   (`basicallySatisfiedCounts: false` drops 基本满意 from the numerator).
 * - 重办率 reopen rate (枣庄 000 山亭 四; 莱山 003 三、二是 “重办率”): tickets reopened at
 *   least once / tickets a unit replied to (the only ones that can be reopened).
 * - 问题解决率 resolution (烟台 001 13, 枣庄 000 13 “问题解决率”): tickets whose latest
 *   callback or rating says resolved / tickets with such an answer.
 * - 催办率 urge rate: dispatched tickets that were urged at least once (a
 *   reminder or an overdue flag fired, `urged`) / dispatched tickets.
 * - 重复诉求率 repeat rate (枣庄 000 20 “无理重复诉求处置”): tickets linked as a repeat of
 *   an earlier one (`repeatOf`, see repeat.ts) / tickets.
 * - 审核及时率 review on time (莱山 003 二(三) 审核把关, 郑州 004 三(四)3 审核): replies the
 *   centre's reviewer approved or refused by the review deadline / decisions made
 *   plus replies still waiting past it at `asOf`.
 * - 当天交办 dispatch on time (莱山 003 一: the 89000 line's same-day dispatch): tickets
 *   whose first dispatch came by `dispatchBy` / tickets with a dispatch clock that
 *   were dispatched, or are still undispatched past it at `asOf`; `lateDispatch`
 *   counts the late ones.
 * Tickets are counted in the period they were received; calls in the period they started.
 * `asOf` is the report instant: the history passed in is what is known then
 * (replay a snapshot to report on the past; later events are not filtered out).
 */
import type { CallRecord } from '../calls/record.js';
import { channelDimension, type Satisfaction, type Ticket, type TicketEvent } from './model.js';

export interface Rate {
  numerator: number;
  denominator: number;
  /** numerator / denominator, or null when the denominator is 0. */
  rate: number | null;
}

export function rate(numerator: number, denominator: number): Rate {
  return { numerator, denominator, rate: denominator === 0 ? null : numerator / denominator };
}

/** The part of a call record the answer rate needs. */
export type KpiCall = Pick<CallRecord, 'callId' | 'source' | 'startedAt' | 'endedAt' | 'agentAnsweredAt' | 'outcome' | 'path'>;

export interface Period {
  /** Inclusive start (ms). */
  from: number;
  /** Exclusive end (ms). */
  to: number;
}

export interface CallKpiOptions {
  period?: Period;
  /** Queue abandons shorter than this are not counted as offered (0 = count all). */
  shortAbandonMs?: number;
}

export interface CallKpis {
  answerRate: Rate;
  offered: number;
  answered: number;
  abandoned: number;
}

const inPeriod = (at: number, p?: Period) => !p || (at >= p.from && at < p.to);

/** 接通率 over call records. */
export function callKpis(calls: readonly KpiCall[], opts: CallKpiOptions = {}): CallKpis {
  let offered = 0;
  let answered = 0;
  for (const c of calls) {
    if (!inPeriod(c.startedAt, opts.period)) continue;
    if (c.source === 'callback' || c.source === 'agent') continue;
    const queuedAt = c.path.find((s) => s.kind === 'queue')?.at;
    const wasAnswered = c.agentAnsweredAt !== undefined;
    if (!wasAnswered && queuedAt === undefined) continue; // never asked for an agent
    if (!wasAnswered && opts.shortAbandonMs && queuedAt !== undefined && c.endedAt !== undefined && c.endedAt - queuedAt < opts.shortAbandonMs) continue;
    offered++;
    if (wasAnswered) answered++;
  }
  return { answerRate: rate(answered, offered), offered, answered, abandoned: offered - answered };
}

export interface TicketKpiOptions {
  period?: Period;
  /** "Now" for the report: unreplied tickets past their deadline at this instant count as late. */
  asOf: number;
  /** Whether 基本满意 (3) counts as satisfied; default true. */
  basicallySatisfiedCounts?: boolean;
  /** Tickets urged (催办) at least once: a reminder or overdue flag fired (kept beside the tickets by the clocks). */
  urged?: ReadonlySet<string>;
}

export interface TicketKpis {
  tickets: number;
  onTimeCompletion: Rate;
  satisfaction: Rate;
  reopen: Rate;
  resolution: Rate;
  urge: Rate;
  repeats: Rate;
  /** Returns (回退) made, counted per return. */
  returns: number;
  /** Unreplied tickets past their finish deadline at `asOf` (督办 candidates). */
  overdueOpen: number;
  /** 审核及时率: review decisions by the review deadline (and pending reviews past it). */
  reviewOnTime: Rate;
  /** 交办及时率: first dispatches by the dispatch clock (and undispatched tickets past it). */
  dispatchOnTime: Rate;
  /** Late first dispatches, plus tickets still undispatched past their dispatch clock. */
  lateDispatch: number;
}

const lastOf = (h: readonly TicketEvent[], pred: (e: TicketEvent) => boolean) => [...h].reverse().find(pred);

interface TicketFacts {
  /** undefined = not counted (no clock, or still pending within it). */
  onTime?: boolean;
  overdueOpen: boolean;
  rating?: Satisfaction;
  replied: boolean;
  reopened: boolean;
  resolved?: boolean;
  /** Review decisions: on time or late (pending past the deadline counts late). */
  reviews: { onTime: number; late: number };
  /** undefined = no dispatch clock, or still within it. */
  dispatchOnTime?: boolean;
}

function factsOf(t: Ticket, asOf: number): TicketFacts {
  const h = t.history;
  const dispatched = h.some((e) => e.type === 'dispatched');
  const firstReply = h.find((e) => e.type === 'replied');
  let onTime: boolean | undefined;
  let overdueOpen = false;
  if (dispatched) {
    if (firstReply) onTime = firstReply.data?.late !== true;
    else if (t.deadlines && asOf > t.deadlines.finishBy) {
      onTime = false;
      overdueOpen = t.state !== 'closed';
    }
  }
  const reviews = { onTime: 0, late: 0 };
  for (const e of h) {
    const decided = (e.type === 'replied' && e.data?.reviewed === true) || e.type === 'reply-refused';
    if (decided) reviews[e.data?.reviewLate === true ? 'late' : 'onTime']++;
  }
  if (t.state === 'reply-review') {
    const pending = lastOf(h, (e) => e.type === 'reply-review');
    if (pending && asOf > Number(pending.data?.reviewBy)) reviews.late++;
  }
  let dispatchOnTime: boolean | undefined;
  if (t.dispatchBy !== undefined) {
    const first = h.find((e) => e.type === 'dispatched');
    if (first) dispatchOnTime = first.data?.lateDispatch !== true;
    else if (asOf > t.dispatchBy && t.state !== 'closed' && t.state !== 'answered-directly') dispatchOnTime = false;
  }
  const rated = lastOf(h, (e) => e.type === 'rated');
  const answer = lastOf(h, (e) => (e.type === 'rated' || e.type === 'called-back') && typeof e.data?.resolved === 'boolean');
  return {
    ...(onTime !== undefined ? { onTime } : {}),
    overdueOpen,
    ...(rated ? { rating: rated.data?.satisfaction as Satisfaction } : {}),
    replied: !!firstReply,
    reopened: h.some((e) => e.type === 'reopened'),
    ...(answer ? { resolved: answer.data!.resolved as boolean } : {}),
    reviews,
    ...(dispatchOnTime !== undefined ? { dispatchOnTime } : {}),
  };
}

/** 按时办结率, 满意率, 重办率, 问题解决率 and return counts over tickets received in the period. */
export function ticketKpis(tickets: readonly Ticket[], opts: TicketKpiOptions): TicketKpis {
  const basic = opts.basicallySatisfiedCounts ?? true;
  let n = 0;
  const c = { due: 0, onTime: 0, rated: 0, satisfied: 0, replied: 0, reopened: 0, answered: 0, resolved: 0, returns: 0, overdue: 0, dispatched: 0, urged: 0, repeats: 0, reviewOnTime: 0, reviewLate: 0, dispatchDue: 0, dispatchOnTime: 0 };
  for (const t of tickets) {
    if (!inPeriod(t.receivedAt, opts.period)) continue;
    n++;
    const f = factsOf(t, opts.asOf);
    if (f.onTime !== undefined) {
      c.due++;
      if (f.onTime) c.onTime++;
    }
    if (f.overdueOpen) c.overdue++;
    if (f.rating !== undefined) {
      c.rated++;
      if (f.rating <= (basic ? 3 : 2)) c.satisfied++;
    }
    if (f.replied) {
      c.replied++;
      if (f.reopened) c.reopened++;
    }
    if (f.resolved !== undefined) {
      c.answered++;
      if (f.resolved) c.resolved++;
    }
    c.returns += t.history.filter((e) => e.type === 'returned').length;
    if (t.history.some((e) => e.type === 'dispatched')) {
      c.dispatched++;
      if (opts.urged?.has(t.ticketNo)) c.urged++;
    }
    if (t.repeatOf) c.repeats++;
    c.reviewOnTime += f.reviews.onTime;
    c.reviewLate += f.reviews.late;
    if (f.dispatchOnTime !== undefined) {
      c.dispatchDue++;
      if (f.dispatchOnTime) c.dispatchOnTime++;
    }
  }
  return {
    tickets: n,
    onTimeCompletion: rate(c.onTime, c.due),
    satisfaction: rate(c.satisfied, c.rated),
    reopen: rate(c.reopened, c.replied),
    resolution: rate(c.resolved, c.answered),
    urge: rate(c.urged, c.dispatched),
    repeats: rate(c.repeats, n),
    returns: c.returns,
    overdueOpen: c.overdue,
    reviewOnTime: rate(c.reviewOnTime, c.reviewOnTime + c.reviewLate),
    dispatchOnTime: rate(c.dispatchOnTime, c.dispatchDue),
    lateDispatch: c.dispatchDue - c.dispatchOnTime,
  };
}

/**
 * The same KPIs per handling unit: a ticket counts for each unit it is (now)
 * dispatched to; a return counts for the unit that returned it, even though
 * the ticket then went elsewhere.
 */
export function ticketKpisByUnit(tickets: readonly Ticket[], opts: TicketKpiOptions): Map<string, TicketKpis> {
  const byUnit = new Map<string, Ticket[]>();
  const returnsBy = new Map<string, number>();
  for (const t of tickets) {
    if (!inPeriod(t.receivedAt, opts.period)) continue;
    for (const u of t.units) byUnit.set(u, [...(byUnit.get(u) ?? []), t]);
    for (const e of t.history) {
      const u = e.type === 'returned' ? (e.data?.unit as string | undefined) : undefined;
      if (u) returnsBy.set(u, (returnsBy.get(u) ?? 0) + 1);
    }
  }
  const out = new Map<string, TicketKpis>();
  for (const u of new Set([...byUnit.keys(), ...returnsBy.keys()])) {
    const k = ticketKpis(byUnit.get(u) ?? [], opts);
    out.set(u, { ...k, returns: returnsBy.get(u) ?? 0 });
  }
  return out;
}

/** The reporting dimensions besides the unit: where a request came in, and which platform it came from. */
export const KPI_DIMENSIONS = ['unit', 'channel', 'origin'] as const;
export type KpiDimension = (typeof KPI_DIMENSIONS)[number];

/** The value of a ticket on a dimension other than the unit: `channelDimension` or `origin` (absent = `direct`). */
export function dimensionOf(t: Ticket, by: Exclude<KpiDimension, 'unit'>): string {
  return by === 'channel' ? channelDimension(t.channel) : (t.origin ?? 'direct');
}

/**
 * The same KPIs per channel (12345, legacy-line, web, wechat, …, upstream:<platform>) or per
 * origin (direct, national, provincial, city, zhengqitong, jiesujiban): each ticket counts once,
 * under its value, so the groups add up to the whole.
 */
export function ticketKpisBy(tickets: readonly Ticket[], by: Exclude<KpiDimension, 'unit'>, opts: TicketKpiOptions): Map<string, TicketKpis> {
  const groups = new Map<string, Ticket[]>();
  for (const t of tickets) {
    if (!inPeriod(t.receivedAt, opts.period)) continue;
    const k = dimensionOf(t, by);
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  return new Map([...groups].sort(([a], [b]) => a.localeCompare(b)).map(([k, ts]) => [k, ticketKpis(ts, opts)]));
}
