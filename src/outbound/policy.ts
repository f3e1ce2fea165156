/**
 * Outbound calls from a ticket (外呼 / click-to-call), the pure part: who may
 * call, from which phone, within which limits, and what a finished attempt's
 * outcome is. No I/O here: the executor ({@link ./click-to-call.ts}) and the
 * service ({@link ./service.ts}) feed facts in and act on the decision.
 *
 * @remarks
 * The citizen's number never leaves the server: the request names a ticket,
 * never a number (no free-form numbers), and the number is read from the
 * ticket's stored call record by the executor only.
 */
import { localDayIndex } from '../tickets/calendar.js';

export interface OutboundLimits {
  /** Calls one user may place per city day. */
  maxPerUserDay: number;
  /** Calls to one ticket's citizen per city day (all users together). */
  maxPerTicketDay: number;
}

/** What the service knows when a user asks to call a ticket's citizen. */
export interface ClickToCallFacts {
  username: string;
  roles: readonly string[];
  /** The agent id of an agent user (their softphone is the ACD's extension). */
  agentExtension?: string;
  /** A configured extension of a non-agent user (OUTBOUND_USER_EXTENSIONS). */
  configuredExtension?: string;
  /** The ticket has a stored number to call (an anonymous call has none). */
  ticketHasNumber: boolean;
  /** Ticket still being built by the worker. */
  ticketReady: boolean;
  /** A call of this user is already in progress (one at a time per user). */
  userBusy: boolean;
  /** The agent's ACD state (agents only): ringing or on a call means busy. */
  agentState?: string;
}

/** The ACD reason an agent is paused with while on a click-to-call (so that only ours is undone). */
export const OUTBOUND_PAUSE_REASON = '外呼中 / on an outbound call';

export type Refusal = { code: string; status: 409 | 400; field?: string; message: string };

export type ClickToCallDecision = { ok: true; extension: string } | { ok: false; refusal: Refusal };

/** May this user place a call to the ticket's citizen now, and from which extension? */
export function decideClickToCall(f: ClickToCallFacts): ClickToCallDecision {
  if (!f.ticketReady) return refuse('ticket-not-ready', '工单尚在生成中，请稍后 / the ticket is still being created, retry shortly');
  if (!f.ticketHasNumber) return refuse('no-number', '该工单没有可回拨的号码 / this ticket has no number to call');
  if (f.userBusy || f.agentState === 'ringing' || f.agentState === 'on-call') return refuse('call-in-progress', '您已有一通外呼正在进行 / you already have an outbound call in progress');
  const extension = f.agentExtension ?? f.configuredExtension;
  if (!extension) return refuse('no-phone', '未为您配置话机分机，请联系管理员（OUTBOUND_USER_EXTENSIONS） / no phone is configured for you (OUTBOUND_USER_EXTENSIONS)');
  return { ok: true, extension };
}

/** Which limit a count breaks, if any (counts include the call being asked for). */
export function limitRefusal(counts: { user: number; ticket: number }, limits: OutboundLimits): Refusal | undefined {
  if (counts.user > limits.maxPerUserDay) {
    return { code: 'outbound-limit-user', status: 409, message: `今日外呼已达上限 ${limits.maxPerUserDay} 次 / you reached today's limit of ${limits.maxPerUserDay} outbound calls` };
  }
  if (counts.ticket > limits.maxPerTicketDay) {
    return { code: 'outbound-limit-ticket', status: 409, message: `该工单今日外呼已达上限 ${limits.maxPerTicketDay} 次 / this ticket's citizen was called ${limits.maxPerTicketDay} times today (limit)` };
  }
  return undefined;
}

/** The city day a limit counts in (Shanghai local date as a day index). */
export function limitDay(at: number): number {
  return localDayIndex(at);
}

export type OutboundOutcome = 'answered' | 'user-no-answer' | 'citizen-busy' | 'citizen-no-answer' | 'failed';

export const OUTCOME_LABELS: Record<OutboundOutcome, string> = {
  answered: '已接通 / answered',
  'user-no-answer': '您的话机未接 / your phone did not answer',
  'citizen-busy': '对方忙 / citizen busy',
  'citizen-no-answer': '对方未接 / citizen did not answer',
  failed: '呼叫失败 / call failed',
};

/**
 * The outcome of an attempt from what happened to its legs: the user's leg
 * answered or not, the citizen's leg answered or not, and why the citizen's
 * leg failed. The Dial status comes first (on a real Asterisk an originated
 * Local channel whose far half is busy reports `Dial` BUSY while our half ends
 * with cause 0); the Q.850 cause is the fallback (17 busy, 18/19 no answer).
 */
export function outcomeOf(o: { userAnswered: boolean; citizenAnswered: boolean; citizenDialStatus?: string; citizenCause?: number; error?: boolean }): OutboundOutcome {
  if (o.citizenAnswered) return 'answered';
  if (o.error) return 'failed';
  if (!o.userAnswered) return 'user-no-answer';
  switch (o.citizenDialStatus) {
    case 'BUSY':
      return 'citizen-busy';
    case 'NOANSWER':
    case 'CANCEL':
      return 'citizen-no-answer';
    case 'CONGESTION':
    case 'CHANUNAVAIL':
    case 'INVALIDARGS':
      return 'failed';
    default:
      break;
  }
  if (o.citizenCause === 17) return 'citizen-busy';
  if (o.citizenCause === undefined || [0, 16, 18, 19, 21].includes(o.citizenCause)) return 'citizen-no-answer';
  return 'failed';
}

function refuse(code: string, message: string, field?: string): ClickToCallDecision {
  return { ok: false, refusal: { code, status: 409, message, ...(field ? { field } : {}) } };
}
