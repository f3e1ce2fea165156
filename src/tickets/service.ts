/**
 * The ticket service: the pure domain (model, lifecycle, SLA, dispatch rules,
 * calendar) over the Redis store. Builds the ticket of a call, applies
 * lifecycle actions with the injected clock, and answers the IVR status query.
 */
import type { CallRecord } from '../calls/record.js';
import type { TicketLookupResult } from '../ivr/types.js';
import { shanghaiDateOf, type WorkCalendar } from './calendar.js';
import { suggestDispatch, type DispatchRuleSet } from './dispatch-rules.js';
import type { TicketError } from './domain-errors.js';
import { apply, applyPhoneRating, type ReplyReviewRule, type TicketAction } from './lifecycle.js';
import { findRepeatOf } from './repeat.js';
import { newTicket, type Actor, type Ticket, type TicketChannel, type TicketState } from './model.js';
import { dispatchDeadline, type SlaPolicy } from './sla.js';
import type { IntakeRecord, StoredTicket, TicketDomain, TicketForm, TicketStore } from './store.js';

export interface TicketDomainDeps {
  cityId: string;
  policy: SlaPolicy;
  calendar: WorkCalendar;
  /** The admin-edited keyword rules in force. */
  rules: () => DispatchRuleSet;
  /** The responsible unit (责任单位) of the routing route the call came in on, if any. */
  routeUnit: (routeId: string) => string | undefined;
  now: () => number;
  /** Days within which the same caller, unit and category make a repeat (重复诉求); 0 = off. */
  repeatWindowDays?: number;
  /** 审核: units' replies wait for the centre's reviewer (lifecycle.ts `replyReview`); absent = no review step. */
  replyReview?: ReplyReviewRule;
}

export const SYSTEM: Actor = { id: 'system', role: 'system' };

/** The channel of a call: the legacy line it was dialed on (with its unit), else 12345. */
export function channelOf(record: CallRecord, routeUnit: (routeId: string) => string | undefined): TicketChannel {
  const line = record.route?.line;
  if (!line || line === '12345') return { kind: '12345' };
  const unit = record.route ? routeUnit(record.route.id) : undefined;
  return { kind: 'legacy-line', number: line, ...(unit ? { unit } : {}) };
}

/**
 * The domain ticket of a call: `received` at the call's start; when the
 * agent's form is there, dispatched at `at` to the agent's chosen unit, else
 * to the suggestion (legacy line's unit → keyword rules); no unit → stays
 * `received` for manual dispatch. Calls without a form (self-service,
 * abandoned) are received only: there is nothing to dispatch.
 */
export function buildTicket(d: TicketDomainDeps, ticketNo: string, record: CallRecord, form: TicketForm | undefined, at: number): Ticket {
  const t = newTicket({
    ticketNo,
    cityId: d.cityId,
    channel: channelOf(record, d.routeUnit),
    category: form?.category ?? 'consult',
    requesterKind: form?.requesterKind ?? 'citizen',
    ...(form?.urgency ? { urgency: form.urgency } : {}),
    ...(form?.topics ? { topics: form.topics } : {}),
    summary: form?.summary ?? '',
    callerNumber: record.caller.number,
    callIds: [record.callId],
    receivedAt: record.startedAt,
    actor: form ? { id: form.by, role: 'agent' } : SYSTEM,
  });
  // 交办 clock (Laishan 89000: 当天交办): when the centre must have handed the ticket to a unit.
  const dispatchBy = dispatchDeadline(d.policy, t.receivedAt, d.calendar);
  if (dispatchBy !== undefined) t.dispatchBy = dispatchBy;
  if (!form) return t;
  const chosen = form.unitSuggestion?.trim();
  const s = chosen ? { via: 'agent', units: [chosen] } : suggestDispatch(t, d.rules());
  if (s.units.length === 0) return t;
  const reason = s.via === 'agent' ? '座席选定承办单位 / unit chosen by the agent' : s.via === 'legacy-line' ? `归并热线 ${t.channel.kind === 'legacy-line' ? t.channel.number : ''} 的责任单位 / the legacy line's unit` : `关键词规则 / keyword rule ${'ruleId' in s ? s.ruleId : ''}`;
  const r = apply(t, { type: 'dispatch', units: [...s.units], reason }, { now: Math.max(at, t.receivedAt), actor: SYSTEM, calendar: d.calendar, policy: d.policy });
  return r.ok ? r.ticket : t;
}

/**
 * The domain ticket of a non-phone request (a channel's message or a higher platform's work
 * order): received at its receipt, the same 交办 clock as a call, and dispatched at `at` by the
 * same keyword rules a call without the agent's choice gets; no rule → stays `received` for the
 * centre's manual dispatch (研判), as the seeds have the centre hand work orders on.
 */
export function buildIntakeTicket(d: TicketDomainDeps, ticketNo: string, intake: IntakeRecord, at: number): Ticket {
  const t: Ticket = {
    ...newTicket({
      ticketNo,
      cityId: d.cityId,
      channel: intake.channel,
      category: intake.category,
      requesterKind: intake.requesterKind,
      urgency: intake.urgency,
      topics: intake.topics,
      summary: intake.summary,
      callerNumber: intake.phone,
      callIds: [],
      receivedAt: intake.receivedAt,
      ...(intake.origin ? { origin: intake.origin } : {}),
      actor: SYSTEM,
    }),
    ...(intake.name ? { contactName: intake.name } : {}),
    ...(intake.attachments.length ? { attachments: intake.attachments } : {}),
    ...(intake.upstream ? { upstream: intake.upstream } : {}),
  };
  const dispatchBy = dispatchDeadline(d.policy, t.receivedAt, d.calendar);
  if (dispatchBy !== undefined) t.dispatchBy = dispatchBy;
  const s = suggestDispatch(t, d.rules());
  if (s.units.length === 0) return t;
  const reason = `关键词规则 / keyword rule ${'ruleId' in s ? s.ruleId : ''}`;
  const r = apply(t, { type: 'dispatch', units: [...s.units], reason }, { now: Math.max(at, t.receivedAt), actor: SYSTEM, calendar: d.calendar, policy: d.policy });
  return r.ok ? r.ticket : t;
}

export function createTicketDomain(d: TicketDomainDeps): TicketDomain {
  return { build: (no, record, form, at) => buildTicket(d, no, record, form, at), buildIntake: (no, intake, at) => buildIntakeTicket(d, no, intake, at), now: d.now };
}

/** A lifecycle action refused by the domain (illegal transition, window closed …), with the field at fault. */
export class TicketActionError extends Error {
  constructor(readonly error: TicketError) {
    super(error.message);
    this.name = 'TicketActionError';
  }
}

export type StoredDomainTicket = StoredTicket & { ticket: Ticket };

export class TicketService {
  constructor(
    readonly store: TicketStore,
    readonly d: TicketDomainDeps,
  ) {}

  now(): number {
    return this.d.now();
  }

  /** Apply one lifecycle action now; throws {@link TicketActionError} when the domain refuses. */
  async act(ticketNo: string, action: TicketAction, actor: Actor): Promise<StoredDomainTicket | undefined> {
    let refused: TicketError | undefined;
    const res = await this.store.update(ticketNo, (st) => {
      refused = undefined;
      const r = apply(st.ticket, action, { now: this.d.now(), actor, calendar: this.d.calendar, policy: this.d.policy, ...(this.d.replyReview ? { replyReview: this.d.replyReview } : {}) });
      if (!r.ok) {
        refused = r.error;
        return undefined;
      }
      return r.ticket;
    });
    if (refused) throw new TicketActionError(refused);
    return res;
  }

  /**
   * A callback call (回访) that reached the caller is recorded on its ticket,
   * and the IVR survey rating given on it is applied as the rating (评价).
   * Idempotent: a call already on the ticket is not recorded again.
   */
  async applyCallbackRecord(ticketNo: string, record: CallRecord): Promise<void> {
    const st = await this.store.get(ticketNo);
    if (!st?.ticket || st.ticket.callIds.includes(record.callId)) return;
    const reached = record.agentAnsweredAt !== undefined || record.answeredAt !== undefined;
    const cb = await this.tryAct(ticketNo, { type: 'callback', reached, callId: record.callId }, SYSTEM);
    if (cb && record.survey) await this.tryAct(ticketNo, { type: 'rate', satisfaction: record.survey.rating }, SYSTEM);
  }

  /**
   * A phone-verified rating from a 回访 campaign's survey call (lifecycle.ts {@link applyPhoneRating}):
   * on the ticket whatever its state, counted by the 满意率 KPI; idempotent by call id.
   */
  async recordPhoneRating(ticketNo: string, r: { satisfaction: 1 | 2 | 3 | 4; callId: string; campaignId: string }): Promise<StoredDomainTicket | undefined> {
    let refused: TicketError | undefined;
    const res = await this.store.update(ticketNo, (st) => {
      refused = undefined;
      const out = applyPhoneRating(st.ticket, r, { now: this.d.now(), actor: SYSTEM });
      if (!out.ok) {
        refused = out.error;
        return undefined;
      }
      return out.ticket === st.ticket ? undefined : out.ticket;
    });
    if (refused) throw new TicketActionError(refused);
    return res;
  }

  private async tryAct(ticketNo: string, action: TicketAction, actor: Actor): Promise<boolean> {
    try {
      return !!(await this.act(ticketNo, action, actor));
    } catch (err) {
      if (err instanceof TicketActionError) return false;
      throw err;
    }
  }

  /**
   * Link a ticket to the first ticket of the matter it repeats (same caller,
   * unit and category within the window). Idempotent; re-run after every
   * change, since a form merged later sets the units and category.
   */
  async linkRepeat(t: Ticket): Promise<string | undefined> {
    const windowDays = this.d.repeatWindowDays ?? 30;
    if (t.repeatOf || t.units.length === 0 || windowDays <= 0) return t.repeatOf;
    const others = await this.store.byCaller(t.callerNumber, 50);
    const earlier = (await Promise.all(others.filter((o) => o.ticketNo !== t.ticketNo).map((o) => this.store.get(o.ticketNo))))
      .map((st) => st?.ticket)
      .filter((x): x is Ticket => !!x);
    const root = findRepeatOf(t, earlier, windowDays);
    if (!root) return undefined;
    await this.store.update(t.ticketNo, (st) => (st.ticket.repeatOf || findRepeatOf(st.ticket, earlier, windowDays) !== root ? undefined : { ...st.ticket, repeatOf: root }));
    return root;
  }

  /** The IVR status query's answer: status code, handling unit and due date. */
  async lookup(ticketNo: string): Promise<TicketLookupResult> {
    const st = await this.store.get(ticketNo);
    if (!st) return { found: false };
    const t = st.ticket;
    if (!t) return { found: true, status: st.status, unitName: '' };
    const status = IVR_STATUS[t.state] ?? 'processing';
    const extended = t.history.some((h) => h.type === 'extended') && ['accepted', 'in-progress', 'reopened'].includes(t.state);
    return {
      found: true,
      status: extended ? 'extended' : status,
      unitName: t.units[0] ?? '',
      ...(t.deadlines && !['closed', 'answered-directly'].includes(t.state) ? { dueDate: shanghaiDateOf(t.deadlines.finishBy) } : {}),
    };
  }
}

/** Domain state → the IVR's status words (ivr/engine.ts TICKET_STATUS_PROMPTS); unlisted states read as "being processed". */
export const IVR_STATUS: Partial<Record<TicketState, string>> = {
  dispatched: 'dispatched',
  accepted: 'processing',
  'in-progress': 'processing',
  reopened: 'processing',
  returned: 'returned',
  'supervisor-review': 'returned',
  replied: 'replied',
  'called-back': 'replied',
  rated: 'replied',
  'answered-directly': 'replied',
  closed: 'closed',
};
