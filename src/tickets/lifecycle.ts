/**
 * The ticket lifecycle as a pure state machine:
 * `apply(ticket, action, ctx) → { ok, ticket } | { ok: false, error }`.
 * No clock, no I/O: `ctx.now` is the instant of the action, the calendar and
 * the city's SLA policy come in the context. The input ticket is never mutated.
 *
 * ```
 * received ──answer-directly──▶ answered-directly ──rate/callback──▶ … ──close──▶ closed
 *    │
 *    └─dispatch─▶ dispatched ─accept─▶ accepted ─start─▶ in-progress ─reply─▶ replied
 *                    │   ▲               │  (extend / plan keep the state)      │
 *                 return │dispatch    return                               callback / rate
 *                    ▼   │                                                       ▼
 *                 returned (1st) / supervisor-review (2nd, 研判)          called-back / rated ─close─▶ closed
 *                                                                                │ reopen (重办)
 *                                                                                ▼
 *                                                                             reopened ─accept/start/reply─▶ …
 * ```
 *
 * Rules from the seeds (see data/sla/*.json for each city's figures and sources):
 * - 回退 return: only by a unit the ticket is dispatched to, with a reason, and
 *   within `returnWindow.workingDays` of working time since dispatch (24 working
 *   hours for 1 day: dispatched Fri 16:00 → until Mon 16:00). The
 *   `reviewAfterReturns`-th return goes to `supervisor-review` (研判); after the
 *   supervisor's decision the ticket can no longer be returned (首接负责, 一办到底).
 * - 延期 extend: cumulative ≤ `extension.maxWorkingDays`, with a reason and,
 *   when the policy requires it, the caller's consent recorded.
 * - 列入计划 plan: finish within `planned.maxNaturalDays` natural days of receipt.
 * - 重办 reopen: by a supervisor, when the caller rated the handling
 *   dissatisfied (4) or the callback found the unit did not act (应办未办);
 *   the clocks restart from the reopen instant with the same rules.
 * - 办结 close: needs the reply (or the direct answer) and a reached callback or
 *   a rating — or a documented reason (caller unreachable, out of scope …).
 */
import { DAY_MS, formatShanghai, type WorkCalendar } from './calendar.js';
import { invalid, ticketError, type TicketError } from './domain-errors.js';
import type { Actor, Satisfaction, Ticket, TicketDeadlines, TicketEvent, TicketState } from './model.js';
import { computeDeadlines, reminderInstants, type SlaPolicy } from './sla.js';

export type TicketAction =
  /** 直办: the agent answered it on the call; no unit involved. */
  | { type: 'answer-directly'; answer: string }
  /** 派单 (first time, after a return, or the supervisor's decision after review). */
  | { type: 'dispatch'; units: string[]; reason?: string }
  /** 签收 by one of the units. */
  | { type: 'accept'; unit: string }
  /** 回退 by one of the units. */
  | { type: 'return'; unit: string; reason: string; suggestedUnit?: string }
  /** The unit contacted the caller and is working on it: this is the reply that `replyBy` measures. */
  | { type: 'start'; note?: string }
  /** 延期 */
  | { type: 'extend'; workingDays: number; reason: string; callerConsent: boolean }
  /** 列入计划 */
  | { type: 'plan'; naturalDays: number; reason: string }
  /** 答复: finished and answered the caller (办理完毕并答复). */
  | { type: 'reply'; content: string }
  /** 回访 attempt by the hotline. */
  | { type: 'callback'; reached: boolean; callId?: string; resolved?: boolean; note?: string }
  /** 评价 on the 4-point scale. */
  | { type: 'rate'; satisfaction: Satisfaction; resolved?: boolean }
  /** 办结 */
  | { type: 'close'; reason?: string }
  /** 重办 */
  | { type: 'reopen'; ground: 'dissatisfied' | 'not-handled'; reason: string }
  /** 审核通过: the centre's reviewer lets the unit's reply go to the caller and upstream. */
  | { type: 'approve-reply'; note?: string }
  /** 审核退回: the reviewer sends the reply back to the unit with what to change. */
  | { type: 'refuse-reply'; reason: string };

export type TicketActionType = TicketAction['type'];

export interface ApplyContext {
  now: number;
  actor: Actor;
  calendar: WorkCalendar;
  policy: SlaPolicy;
  /**
   * 审核 (seed 003 二(三), 004 三(四)3): when set, a unit's reply waits in
   * `reply-review` for the centre's reviewer, who decides within this much
   * working time; absent = replies go straight to `replied`.
   */
  replyReview?: ReplyReviewRule;
}

export interface ReplyReviewRule {
  /** Working hours the reviewer has (counted on the working-day calendar). */
  workingHours: number;
}

/** The pending reply of a ticket in `reply-review`: the unit's submission and the review deadline. */
export function pendingReview(t: Ticket): { at: number; content: string; reviewBy: number; late: boolean; actor: Actor } | undefined {
  if (t.state !== 'reply-review') return undefined;
  const e = [...t.history].reverse().find((h) => h.type === 'reply-review');
  if (!e) return undefined;
  return { at: e.at, content: String(e.data?.content ?? ''), reviewBy: Number(e.data?.reviewBy), late: e.data?.late === true, actor: e.actor };
}

export type ApplyResult = { ok: true; ticket: Ticket } | { ok: false; error: TicketError };

/** The unit was decided by supervisor review (研判): it can no longer return the ticket. */
export function decidedByReview(t: Ticket): boolean {
  return t.history.some((h) => h.type === 'supervisor-review');
}

/** The actions the ticket accepts now: its state's, less those its history rules out. */
export function availableActions(t: Ticket): TicketActionType[] {
  return ALLOWED[t.state].filter((a) => a !== 'return' || !decidedByReview(t));
}

/** Which actions each state accepts; everything else is an illegal transition. */
export const ALLOWED: Record<TicketState, readonly TicketActionType[]> = {
  received: ['answer-directly', 'dispatch', 'close'],
  'answered-directly': ['callback', 'rate', 'close'],
  dispatched: ['accept', 'return'],
  accepted: ['return', 'start', 'extend', 'plan', 'reply'],
  'in-progress': ['return', 'extend', 'plan', 'reply'],
  returned: ['dispatch'],
  'supervisor-review': ['dispatch'],
  replied: ['callback', 'rate', 'close'],
  'called-back': ['callback', 'rate', 'close', 'reopen'],
  rated: ['callback', 'close', 'reopen'],
  closed: ['reopen'],
  reopened: ['accept', 'start', 'extend', 'plan', 'reply'],
  'reply-review': ['approve-reply', 'refuse-reply'],
};

const fail = (error: TicketError): ApplyResult => ({ ok: false, error });

function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v.trim().length > 0;
}

/** History since the last reopen (or all of it): what counts for closing the current round. */
function currentRound(t: Ticket): TicketEvent[] {
  let i = t.history.length - 1;
  while (i >= 0 && t.history[i]!.type !== 'reopened') i--;
  return t.history.slice(i + 1);
}

/** The instant of the latest dispatch (the return window runs from it). */
export function lastDispatchAt(t: Ticket): number | undefined {
  for (let i = t.history.length - 1; i >= 0; i--) if (t.history[i]!.type === 'dispatched') return t.history[i]!.at;
  return undefined;
}

/** The last instant a unit may still return the ticket, or undefined when it was never dispatched. */
export function returnDeadline(t: Ticket, calendar: WorkCalendar, policy: SlaPolicy): number | undefined {
  const at = lastDispatchAt(t);
  return at === undefined ? undefined : calendar.addWorkingTime(at, policy.returnWindow.workingDays * DAY_MS);
}

/** Apply one action. Pure: the input ticket is not touched. */
export function apply(ticket: Ticket, action: TicketAction, ctx: ApplyContext): ApplyResult {
  const { now, actor } = ctx;
  if (!Number.isFinite(now)) return fail(invalid('ctx.now', 'must be an instant (ms)'));
  const last = ticket.history[ticket.history.length - 1];
  if (last && now < last.at) return fail(invalid('ctx.now', `is before the ticket's last event (${formatShanghai(last.at)})`));
  if (!nonEmpty(actor?.id)) return fail(invalid('ctx.actor.id', 'is required'));
  if (!ALLOWED[ticket.state].includes(action.type)) {
    return fail(ticketError('illegal-transition', `工单状态 ${ticket.state} 不允许 ${action.type} / action "${action.type}" is not allowed in state "${ticket.state}"`, 'action.type'));
  }

  const t: Ticket = structuredClone(ticket);
  const push = (type: TicketState | 'extended', extra: Omit<TicketEvent, 'type' | 'at' | 'actor'> = {}) => {
    t.history.push({ type, at: now, actor, ...extra });
    if (type !== 'extended') t.state = type;
  };

  switch (action.type) {
    case 'answer-directly': {
      if (!nonEmpty(action.answer)) return fail(invalid('action.answer', '直办须记录答复内容 / the answer given is required'));
      push('answered-directly', { data: { answer: action.answer } });
      return { ok: true, ticket: t };
    }

    case 'dispatch': {
      if (!Array.isArray(action.units) || action.units.length === 0) return fail(invalid('action.units', '至少一个承办单位 / at least one handling unit'));
      const bad = action.units.findIndex((u) => !nonEmpty(u));
      if (bad >= 0) return fail(invalid(`action.units[${bad}]`, 'must be a non-empty unit name'));
      const review = ticket.state === 'supervisor-review';
      if (review && actor.role !== 'supervisor') {
        return fail(ticketError('illegal-transition', 'actor.role: 研判后由督办人员派单 / after review only a supervisor decides the unit', 'actor.role'));
      }
      const units = [...new Set(action.units.map((u) => u.trim()))];
      const d = computeDeadlines(ctx.policy, ticket, ctx.calendar, { from: now });
      if (!d.ok) return fail(d.error);
      t.units = units;
      t.deadlines = d.deadlines;
      t.extendedWorkingDays = 0;
      // A first dispatch after the policy's dispatch clock (当天交办) is marked late, for the KPIs and supervision.
      const late = ticket.dispatchBy !== undefined && now > ticket.dispatchBy && !ticket.history.some((e) => e.type === 'dispatched');
      push('dispatched', { ...(action.reason ? { reason: action.reason } : {}), data: { units, ...(review ? { afterReview: true } : {}), finishBy: d.deadlines.finishBy, ...(late ? { lateDispatch: true } : {}) } });
      return { ok: true, ticket: t };
    }

    case 'accept': {
      const e = checkUnit(ticket, actor, action.unit);
      if (e) return fail(e);
      push('accepted', { data: { unit: action.unit } });
      return { ok: true, ticket: t };
    }

    case 'return': {
      const e = checkUnit(ticket, actor, action.unit);
      if (e) return fail(e);
      if (!nonEmpty(action.reason)) return fail(invalid('action.reason', '回退须注明原因及政策依据 / a return needs the reason'));
      if (decidedByReview(ticket)) {
        return fail(ticketError('return-after-review', 'action.type: 经研判确定的承办单位不得再回退 / the unit was decided by supervisor review; the ticket can no longer be returned', 'action.type'));
      }
      const until = returnDeadline(ticket, ctx.calendar, ctx.policy)!;
      if (now > until) {
        return fail(
          ticketError(
            'return-window-closed',
            `ctx.now: 超过${ctx.policy.returnWindow.workingDays}个工作日的工单不得回退 / a return is allowed only within ${ctx.policy.returnWindow.workingDays} working day(s) of dispatch (until ${formatShanghai(until)})`,
            'ctx.now',
          ),
        );
      }
      const data = { unit: action.unit, previousUnits: ticket.units, ...(action.suggestedUnit ? { suggestedUnit: action.suggestedUnit } : {}) };
      t.returnCount = ticket.returnCount + 1;
      t.units = [];
      delete t.deadlines;
      push('returned', { reason: action.reason, data });
      if (t.returnCount >= ctx.policy.returnWindow.reviewAfterReturns) {
        push('supervisor-review', { reason: `回退${t.returnCount}次，提交研判 / returned ${t.returnCount} times` });
        t.history[t.history.length - 1]!.actor = { id: 'system', role: 'system' };
      }
      return { ok: true, ticket: t };
    }

    case 'start': {
      const replyBy = ticket.deadlines?.replyBy;
      push('in-progress', { ...(action.note ? { reason: action.note } : {}), data: replyBy === undefined ? {} : { replyLate: now > replyBy } });
      return { ok: true, ticket: t };
    }

    case 'extend': {
      const ext = ctx.policy.extension;
      if (!Number.isInteger(action.workingDays) || action.workingDays < 1) return fail(invalid('action.workingDays', 'must be a whole number of working days ≥ 1'));
      if (!nonEmpty(action.reason)) return fail(invalid('action.reason', '延期须说明理由 / an extension needs a reason'));
      if (ext.requiresConsent && action.callerConsent !== true) {
        return fail(ticketError('extension-consent-missing', 'action.callerConsent: 延期前须取得来电人同意 / the caller\'s consent must be recorded before extending', 'action.callerConsent'));
      }
      const total = ticket.extendedWorkingDays + action.workingDays;
      if (total > ext.maxWorkingDays) {
        return fail(
          ticketError(
            'extension-too-long',
            `action.workingDays: 延期累计不超过${ext.maxWorkingDays}个工作日 / extensions total at most ${ext.maxWorkingDays} working days (already ${ticket.extendedWorkingDays}, asked ${action.workingDays})`,
            'action.workingDays',
          ),
        );
      }
      const d = ticket.deadlines!;
      const finishBy = ctx.calendar.addWorkingDays(d.finishBy, action.workingDays);
      t.deadlines = moveFinish(d, finishBy, now, ctx);
      t.extendedWorkingDays = total;
      push('extended', { reason: action.reason, data: { kind: 'extension', workingDays: action.workingDays, callerConsent: action.callerConsent, previousFinishBy: d.finishBy, finishBy } });
      return { ok: true, ticket: t };
    }

    case 'plan': {
      const planned = ctx.policy.planned;
      if (!planned) return fail(ticketError('extension-not-allowed', `action.type: policy ${ctx.policy.id} has no 列入计划 rule`, 'action.type'));
      if (!Number.isInteger(action.naturalDays) || action.naturalDays < 1) return fail(invalid('action.naturalDays', 'must be a whole number of days ≥ 1'));
      if (!nonEmpty(action.reason)) return fail(invalid('action.reason', '列入计划须说明法规依据 / a planned item needs its legal basis'));
      if (action.naturalDays > planned.maxNaturalDays) {
        return fail(ticketError('planned-too-long', `action.naturalDays: 列入计划不能超过${planned.maxNaturalDays}天 / a planned item is finished within ${planned.maxNaturalDays} days of receipt`, 'action.naturalDays'));
      }
      const d = ticket.deadlines!;
      const finishBy = ctx.calendar.addNaturalDays(ticket.receivedAt, action.naturalDays);
      if (finishBy <= d.finishBy) return fail(invalid('action.naturalDays', `must move the deadline past ${formatShanghai(d.finishBy)}`));
      t.deadlines = moveFinish(d, finishBy, now, ctx);
      push('extended', { reason: action.reason, data: { kind: 'planned', naturalDays: action.naturalDays, previousFinishBy: d.finishBy, finishBy } });
      return { ok: true, ticket: t };
    }

    case 'reply': {
      if (!nonEmpty(action.content)) return fail(invalid('action.content', '答复内容必填 / the reply is required'));
      const finishBy = ticket.deadlines?.finishBy;
      const late = finishBy !== undefined && now > finishBy;
      if (ctx.replyReview) {
        const hours = ctx.replyReview.workingHours;
        if (!(hours > 0)) return fail(invalid('ctx.replyReview.workingHours', 'must be > 0'));
        // Lateness is judged at the unit's submission: the review time is the centre's, not the unit's.
        const reviewBy = ctx.calendar.addWorkingTime(now, hours * 3_600_000);
        push('reply-review', { data: { content: action.content, late, reviewBy } });
        return { ok: true, ticket: t };
      }
      push('replied', { data: { content: action.content, late } });
      return { ok: true, ticket: t };
    }

    case 'approve-reply':
    case 'refuse-reply': {
      if (actor.role !== 'supervisor') return fail(ticketError('illegal-transition', 'actor.role: 答复由热线中心审核 / only the centre\'s reviewer (supervisor) reviews a reply', 'actor.role'));
      const p = pendingReview(ticket);
      if (!p) return fail(ticketError('illegal-transition', 'action.type: 没有待审核的答复 / no reply awaits review', 'action.type'));
      const reviewLate = now > p.reviewBy;
      if (action.type === 'refuse-reply') {
        if (!nonEmpty(action.reason)) return fail(invalid('action.reason', '退回须提出修改意见 / a refusal needs the changes asked for'));
        t.history.push({ type: 'reply-refused', at: now, actor, reason: action.reason, data: { submittedAt: p.at, reviewBy: p.reviewBy, reviewLate } });
        t.state = 'in-progress';
        return { ok: true, ticket: t };
      }
      push('replied', {
        ...(action.note ? { reason: action.note } : {}),
        data: { content: p.content, late: p.late, reviewed: true, submittedAt: p.at, submittedBy: p.actor.id, reviewBy: p.reviewBy, reviewLate },
      });
      return { ok: true, ticket: t };
    }

    case 'callback': {
      if (typeof action.reached !== 'boolean') return fail(invalid('action.reached', 'must be true or false'));
      if (action.callId && !t.callIds.includes(action.callId)) t.callIds.push(action.callId);
      push('called-back', {
        ...(action.note ? { reason: action.note } : {}),
        data: { reached: action.reached, ...(action.resolved !== undefined ? { resolved: action.resolved } : {}), ...(action.callId ? { callId: action.callId } : {}) },
      });
      return { ok: true, ticket: t };
    }

    case 'rate': {
      const s = action.satisfaction;
      if (s !== 1 && s !== 2 && s !== 3 && s !== 4) return fail(invalid('action.satisfaction', 'must be 1 (very satisfied), 2, 3 or 4 (dissatisfied)'));
      t.satisfaction = s;
      push('rated', { data: { satisfaction: s, ...(action.resolved !== undefined ? { resolved: action.resolved } : {}) } });
      return { ok: true, ticket: t };
    }

    case 'close': {
      const round = currentRound(ticket);
      const answered = round.some((h) => h.type === 'replied' || h.type === 'answered-directly');
      const checked = round.some((h) => h.type === 'rated' || (h.type === 'called-back' && h.data?.reached === true));
      if (!(answered && checked) && !nonEmpty(action.reason)) {
        const missing = !answered ? 'a reply' : 'a reached callback or a rating';
        return fail(ticketError('close-incomplete', `action.reason: 办结须有答复及回访或评价，否则须说明原因 / closing needs a reply and a callback or rating, or a documented reason (missing ${missing})`, 'action.reason'));
      }
      push('closed', action.reason ? { reason: action.reason } : {});
      return { ok: true, ticket: t };
    }

    case 'reopen': {
      if (actor.role !== 'supervisor') return fail(ticketError('illegal-transition', 'actor.role: 重办由热线督办人员决定 / only a supervisor reopens a ticket', 'actor.role'));
      if (!nonEmpty(action.reason)) return fail(invalid('action.reason', '重办须说明理由 / a reopen needs a reason'));
      if (ticket.units.length === 0) return fail(ticketError('reopen-not-allowed', 'action.type: 直办工单无承办单位可重办 / a ticket answered directly has no unit to reopen to', 'action.type'));
      if (action.ground === 'dissatisfied') {
        if (ticket.satisfaction !== 4) {
          return fail(ticketError('reopen-not-allowed', `action.ground: 来电人评价为不满意时方可重办 / reopen on dissatisfaction needs the rating "dissatisfied" (4), the ticket has ${ticket.satisfaction ?? 'no rating'}`, 'action.ground'));
        }
      } else if (action.ground === 'not-handled') {
        if (!ticket.history.some((h) => h.type === 'called-back' && h.data?.reached === true)) {
          return fail(ticketError('reopen-not-allowed', 'action.ground: 应办未办须经回访核实 / "not handled" must be found by a reached callback', 'action.ground'));
        }
      } else return fail(invalid('action.ground', 'must be "dissatisfied" or "not-handled"'));
      const d = computeDeadlines(ctx.policy, ticket, ctx.calendar, { from: now });
      if (!d.ok) return fail(d.error);
      t.deadlines = d.deadlines;
      t.extendedWorkingDays = 0;
      delete t.satisfaction;
      push('reopened', { reason: action.reason, data: { ground: action.ground, units: ticket.units, finishBy: d.deadlines.finishBy } });
      return { ok: true, ticket: t };
    }
  }
}

/** The action's unit must be one the ticket is dispatched to, and a unit user may act only for their own unit. */
function checkUnit(t: Ticket, actor: Actor, unit: string): TicketError | undefined {
  if (!nonEmpty(unit) || !t.units.includes(unit)) return ticketError('unknown-unit', `action.unit: "${unit}" 不是本工单的承办单位 / is not a handling unit of this ticket (${t.units.join(', ')})`, 'action.unit');
  if (actor.role === 'unit' && actor.unit !== unit) return ticketError('unknown-unit', `actor.unit: ${actor.unit ?? '(none)'} cannot act for ${unit}`, 'actor.unit');
  return undefined;
}

/** Deadlines with a later finish: reminders recomputed over the longer clock, only those still ahead. */
function moveFinish(d: TicketDeadlines, finishBy: number, now: number, ctx: ApplyContext): TicketDeadlines {
  const unit = ctx.policy.rules.find((r) => r.id === d.ruleIds.finish)?.finish?.unit ?? 'working-days';
  return { ...d, finishBy, remindAt: reminderInstants(ctx.calendar, ctx.policy, d.startedAt, finishBy, { unit, amount: 0 }).filter((x) => x > now) };
}

/**
 * A phone-verified rating (回访 campaign, src/campaigns/): the citizen rated the handling by DTMF on
 * the hotline's survey call. Recorded as a `rated` event marked `verified: 'phone'` (the 满意率 KPI
 * counts the latest rating, so it counts this one) and as the ticket's satisfaction — a
 * dissatisfied (4) rating is then ground for a supervisor's 重办. The state does not change: a
 * closed ticket stays closed, an open one keeps its step. Idempotent by call id: the same call's
 * rating applied twice changes nothing the second time (returns the ticket unchanged).
 */
export function applyPhoneRating(ticket: Ticket, r: { satisfaction: Satisfaction; callId: string; campaignId: string }, ctx: Pick<ApplyContext, 'now' | 'actor'>): ApplyResult {
  const s = r.satisfaction;
  if (s !== 1 && s !== 2 && s !== 3 && s !== 4) return fail(invalid('satisfaction', 'must be 1 (very satisfied), 2, 3 or 4 (dissatisfied)'));
  if (!nonEmpty(r.callId)) return fail(invalid('callId', 'is required'));
  if (ticket.history.some((h) => h.type === 'rated' && h.data?.callId === r.callId)) return { ok: true, ticket };
  const last = ticket.history[ticket.history.length - 1];
  const at = last && ctx.now < last.at ? last.at : ctx.now;
  const t: Ticket = structuredClone(ticket);
  t.satisfaction = s;
  t.history.push({ type: 'rated', at, actor: ctx.actor, data: { satisfaction: s, verified: 'phone', callId: r.callId, campaign: r.campaignId } });
  return { ok: true, ticket: t };
}
