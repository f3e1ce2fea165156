/**
 * The ticket (工单) record of the pure ticket domain: what a call becomes, and
 * the history of what happened to it (受理 → 派单 → 办理 → 答复 → 回访 → 评价 → 办结).
 * No I/O here: storage and jobs live in store.ts / queue.ts / worker.ts.
 */
import { SHANGHAI_OFFSET_MS, dateToDayIndex, shanghaiDateOf } from './calendar.js';

// ---------------------------------------------------------------- vocabularies

export const TICKET_CATEGORIES = ['consult', 'help', 'complaint', 'report', 'suggestion'] as const;
export type TicketCategory = (typeof TICKET_CATEGORIES)[number];

/** The seeds' words for the categories (咨询/求助/投诉/举报/建议). */
export const CATEGORY_ZH: Record<TicketCategory, string> = {
  consult: '咨询',
  help: '求助',
  complaint: '投诉',
  report: '举报',
  suggestion: '建议',
};

/** Category from its Chinese name (意见建议 and 建议 both map to suggestion). */
export function categoryFromZh(zh: string): TicketCategory | undefined {
  const s = zh.trim();
  if (s === '意见建议' || s === '意见') return 'suggestion';
  return (Object.keys(CATEGORY_ZH) as TicketCategory[]).find((k) => CATEGORY_ZH[k] === s);
}

export const REQUESTER_KINDS = ['citizen', 'enterprise'] as const;

/**
 * Where a request entered: the centre itself (`direct`: calls and its own
 * channels) or a higher platform's work order — the national platform
 * (国家政务服务平台、互联网督查、中国政府网留言), the provincial and city 12345
 * platforms, the city's 政企通 and the province's 接诉即办 (seed 003 一、).
 * SLA rules may match on it (Laishan: 政企通 3 working days).
 */
export const TICKET_ORIGINS = ['direct', 'national', 'provincial', 'city', 'zhengqitong', 'jiesujiban'] as const;
export type TicketOrigin = (typeof TICKET_ORIGINS)[number];
/** 群众 (citizen) or 企业 (enterprise): the seeds give enterprises their own clocks. */
export type RequesterKind = (typeof REQUESTER_KINDS)[number];

export const URGENCIES = ['normal', 'urgent'] as const;
export type Urgency = (typeof URGENCIES)[number];

/**
 * The centre's own channels besides the phone (seeds 000 二(三)8, 001 8, 002 一/7, 004 一/三(二)3):
 * the government website's 12345 column (`web`, also our own public form), the WeChat official
 * account, the mini-program, the city's app (爱山东·枣庄, 皖事通, 郑州12345), an SMS gateway and the
 * mayor's mailbox (市长信箱). Each arrives through the signed intake API (src/intake/).
 */
export const INTAKE_CHANNELS = ['web', 'wechat', 'mini-program', 'app', 'sms', 'mailbox'] as const;
export type IntakeChannelKind = (typeof INTAKE_CHANNELS)[number];

/** The higher platforms whose work orders we receive (TICKET_ORIGINS less `direct`). */
export const UPSTREAM_PLATFORMS = ['national', 'provincial', 'city', 'zhengqitong', 'jiesujiban'] as const;
export type UpstreamPlatform = (typeof UPSTREAM_PLATFORMS)[number];

/**
 * Where the request came in: the 12345 number itself, a merged legacy line (12349, 12315 …) still
 * answered here, one of the centre's own non-phone channels, or a higher platform's work order.
 */
export type TicketChannel =
  | { kind: '12345' }
  | {
      kind: 'legacy-line';
      /** The dialed legacy number, e.g. "12349". */
      number: string;
      /** The line's responsible unit (责任单位) from the city's merge list: the default handling unit. */
      unit?: string;
    }
  | {
      kind: IntakeChannelKind;
      /** The channel's own id of the message (its idempotency key: same id, same ticket). */
      messageId: string;
    }
  | {
      kind: 'upstream';
      platform: UpstreamPlatform;
      /** The platform's own work-order number (kept beside ours). */
      orderNo: string;
    };

/**
 * The channel as a reporting dimension (KPIs, exports): the kind, with merged legacy lines
 * together (`legacy-line`) and work orders by platform (`upstream:zhengqitong`).
 */
export const TICKET_CHANNEL_DIMENSIONS = ['12345', 'legacy-line', ...INTAKE_CHANNELS, ...UPSTREAM_PLATFORMS.map((p) => `upstream:${p}` as const)] as const;

export function channelDimension(ch: TicketChannel): string {
  return ch.kind === 'upstream' ? `upstream:${ch.platform}` : ch.kind;
}

/** An attachment by reference: where the channel keeps it and the hash of its bytes (we never store bytes). */
export interface AttachmentRef {
  /** An https/http URL or the channel's own media id. */
  ref: string;
  /** SHA-256 of the bytes, 64 lower-case hex digits. */
  sha256: string;
  name?: string;
  mime?: string;
  size?: number;
}

/** A higher platform's work order behind a ticket: its number and its own deadlines, kept beside ours. */
export interface UpstreamOrder {
  platform: UpstreamPlatform;
  orderNo: string;
  /** When the platform received / issued it. */
  issuedAt: number;
  /** The platform's reply (答复) deadline, when it sets one. */
  replyBy?: number;
  /** The platform's finish-and-feedback deadline. */
  finishBy: number;
}

/**
 * Satisfaction on the hotline's 4-point scale (the IVR survey: 1 very satisfied
 * … 4 dissatisfied, prompts/catalogue.json `survey`).
 */
export type Satisfaction = 1 | 2 | 3 | 4;
export const SATISFACTION_LABELS: Record<Satisfaction, { zh: string; en: string }> = {
  1: { zh: '非常满意', en: 'very satisfied' },
  2: { zh: '满意', en: 'satisfied' },
  3: { zh: '基本满意', en: 'basically satisfied' },
  4: { zh: '不满意', en: 'dissatisfied' },
};

export const TICKET_STATES = [
  'received', // 受理
  'answered-directly', // 直办: answered by the hotline itself, no unit involved
  'dispatched', // 派单
  'accepted', // 签收
  'returned', // 回退: the unit sent it back, the hotline re-dispatches
  'supervisor-review', // 研判: returned twice, a supervisor decides the unit
  'in-progress', // 办理中
  'replied', // 答复: the unit answered the caller and reported back
  'called-back', // 回访
  'rated', // 评价
  'closed', // 办结
  'reopened', // 重办: sent back to the unit after an unsatisfactory callback
  'reply-review', // 审核: the unit's reply waits for the centre's reviewer before it goes to the caller or upstream
] as const;
export type TicketState = (typeof TICKET_STATES)[number];

/**
 * Kinds of history entries: every state entered, plus `extended` (延期) which
 * keeps the state, and `reply-refused` (审核退回: the reviewer sent the reply
 * back; the ticket is `in-progress` again).
 */
export type TicketEventType = TicketState | 'extended' | 'reply-refused';

/** Who did something: an agent, a handling unit's user, a supervisor or the system (jobs, IVR). */
export interface Actor {
  id: string;
  role: 'agent' | 'unit' | 'supervisor' | 'system';
  /** For role `unit`: the unit the user works for. */
  unit?: string;
}

export interface TicketEvent {
  type: TicketEventType;
  at: number;
  actor: Actor;
  /** Why (required for returns, extensions, reopen, close without rating …). */
  reason?: string;
  /** Event-specific facts (units dispatched to, extension days, rating, lateness …). */
  data?: Record<string, unknown>;
}

/** The clocks in force (set at dispatch, moved by extensions, restarted on reopen). */
export interface TicketDeadlines {
  /** When the clock started (dispatch or reopen instant). */
  startedAt: number;
  /** Reply to the caller by (答复/回复), when a rule sets one. */
  replyBy?: number;
  /** Finish (办理完毕并答复) by. */
  finishBy: number;
  /** Reminder instants (催办), ascending, strictly between start and finishBy. */
  remindAt: number[];
  urgent: boolean;
  /** Ids of the policy rules that set replyBy / finishBy (for display and audit). */
  ruleIds: { reply?: string; finish: string };
}

export interface Ticket {
  ticketNo: string;
  /** City (policy) id, e.g. `yantai`. */
  cityId: string;
  channel: TicketChannel;
  category: TicketCategory;
  requesterKind: RequesterKind;
  urgency: Urgency;
  /** Topic classes set by the agent (`utility-outage`, `safety-hazard` …), matched by SLA rules. */
  topics: string[];
  summary: string;
  /** Full caller number, stored; masking happens where it is shown. */
  callerNumber: string;
  /** Current handling unit(s); the first is the lead unit (首接/牵头). */
  units: string[];
  /** Calls that belong to the ticket: the original and any callbacks. */
  callIds: string[];
  receivedAt: number;
  /** Where the request came from; absent = `direct`. */
  origin?: TicketOrigin;
  /** Dispatch (交办) due by, when the policy has a dispatch clock (Laishan 89000: 当天交办). */
  dispatchBy?: number;
  state: TicketState;
  deadlines?: TicketDeadlines;
  /** Returns since the last supervisor decision counts toward 研判; total kept for KPIs. */
  returnCount: number;
  /** Working days of extension granted so far (the cap is cumulative). */
  extendedWorkingDays: number;
  /** Latest satisfaction rating. */
  satisfaction?: Satisfaction;
  /** The first ticket of the same matter when this one repeats it (重复诉求, see repeat.ts). */
  repeatOf?: string;
  history: TicketEvent[];
  /** The citizen's name as given on a non-phone channel (masked wherever shown, like the number). */
  contactName?: string;
  /** Attachments by reference (non-phone channels and work orders). */
  attachments?: AttachmentRef[];
  /** The higher platform's work order, for tickets that came as one (channel `upstream`). */
  upstream?: UpstreamOrder;
}

export interface NewTicketInput {
  ticketNo: string;
  cityId: string;
  channel: TicketChannel;
  category: TicketCategory;
  requesterKind: RequesterKind;
  urgency?: Urgency;
  topics?: string[];
  summary: string;
  callerNumber: string;
  callIds: string[];
  receivedAt: number;
  origin?: TicketOrigin;
  actor: Actor;
}

/** A freshly received ticket (state `received`, one history entry). */
export function newTicket(i: NewTicketInput): Ticket {
  return {
    ticketNo: i.ticketNo,
    cityId: i.cityId,
    channel: i.channel,
    category: i.category,
    requesterKind: i.requesterKind,
    urgency: i.urgency ?? 'normal',
    topics: [...(i.topics ?? [])],
    summary: i.summary,
    callerNumber: i.callerNumber,
    units: [],
    callIds: [...i.callIds],
    receivedAt: i.receivedAt,
    ...(i.origin && i.origin !== 'direct' ? { origin: i.origin } : {}),
    state: 'received',
    returnCount: 0,
    extendedWorkingDays: 0,
    history: [{ type: 'received', at: i.receivedAt, actor: i.actor }],
  };
}

// ---------------------------------------------------------------- ticket numbers

/** Sequence digits in a ticket number: up to 999 999 tickets per city per day. */
export const TICKET_SEQ_DIGITS = 6;

/**
 * The number a caller keys in on the phone and hears read back: the city's
 * telephone area code (3 or 4 digits with the leading 0: 010, 0535, 0632),
 * the Shanghai date `yyyymmdd` and a 6-digit daily sequence — digits only,
 * e.g. `0632` `20261122` `000123` → `063220261122000123`.
 * Same layout as the Redis store's numbers (store.ts).
 *
 * @param date an instant (its Shanghai date is used) or `yyyymmdd`
 */
export function formatTicketNo(cityCode: string, date: number | string, seq: number): string {
  if (!/^0\d{2,3}$/.test(cityCode)) throw new RangeError(`cityCode: must be a 3- or 4-digit area code starting with 0, got "${cityCode}"`);
  if (!Number.isInteger(seq) || seq < 1 || seq >= 10 ** TICKET_SEQ_DIGITS) throw new RangeError(`seq: must be an integer 1..999999, got ${seq}`);
  let ymd: string;
  if (typeof date === 'number') ymd = shanghaiDateOf(date).replaceAll('-', '');
  else if (/^\d{8}$/.test(date) && dateToDayIndex(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6)}`) !== undefined) ymd = date;
  else throw new RangeError(`date: must be an instant or a real yyyymmdd date, got "${date}"`);
  return `${cityCode}${ymd}${String(seq).padStart(TICKET_SEQ_DIGITS, '0')}`;
}

export interface ParsedTicketNo {
  cityCode: string;
  /** `yyyymmdd` */
  date: string;
  seq: number;
  /** Start of that Shanghai day (ms). */
  dayStart: number;
}

/**
 * Parse a keyed-in ticket number. Spaces and dashes (as read back in groups)
 * are ignored. The area-code length follows from the total: 17 digits → 3-digit
 * code, 18 → 4-digit. Returns undefined for anything else or an impossible date.
 */
export function parseTicketNo(input: string): ParsedTicketNo | undefined {
  const s = input.replace(/[\s-]/g, '');
  if (!/^0\d+$/.test(s)) return undefined;
  const codeLen = s.length - 8 - TICKET_SEQ_DIGITS;
  if (codeLen !== 3 && codeLen !== 4) return undefined;
  const cityCode = s.slice(0, codeLen);
  const date = s.slice(codeLen, codeLen + 8);
  const seq = Number(s.slice(codeLen + 8));
  const d = dateToDayIndex(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6)}`);
  if (d === undefined || seq < 1) return undefined;
  return { cityCode, date, seq, dayStart: d * 86_400_000 - SHANGHAI_OFFSET_MS };
}
