/**
 * 回访 campaigns, the pure part: allowed calling hours on the working-day calendar, which calls a
 * campaign places now, when it must be looked at next, and what one attempt's outcome does to its
 * ticket's item (rated, answered without a rating, retried after the interval, exhausted). No clock,
 * no I/O: the service ({@link ./service.ts}) feeds the campaign, its items, `now` and the calendar in,
 * and carries the decision out.
 *
 * @remarks
 * Calls go out on working days only (the tickets' calendar: weekends and statutory holidays off,
 * 调休 Saturdays on, admin day overrides applied) and inside the allowed windows of city time
 * (Asia/Shanghai, UTC+8 all year). A retry is due `retryIntervalSec` after the attempt ended; if
 * that falls outside the hours it waits for the next window. An attempt a restart cut off counts as
 * made (no second call for the same attempt; the next one follows the interval).
 */
import { dayStart, localDayIndex, shanghaiDateOf, type WorkCalendar } from '../tickets/calendar.js';

/** A window of city time, minutes after midnight: [from, to). */
export interface HourWindow {
  from: number;
  to: number;
}

const WINDOW_RE = /^(\d{2}):(\d{2})\s*[-–]\s*(\d{2}):(\d{2})$/;

/** `09:00-12:00,14:00-20:00` → windows, or a message saying what is wrong. Windows are sorted and must not overlap. */
export function parseHours(text: string): HourWindow[] | { error: string } {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) return { error: '至少一个时段，如 09:00-12:00 / at least one window, e.g. 09:00-12:00' };
  const out: HourWindow[] = [];
  for (const p of parts) {
    const m = WINDOW_RE.exec(p);
    if (!m) return { error: `“${p}” 格式应为 HH:MM-HH:MM / "${p}" is not HH:MM-HH:MM` };
    const [h1, m1, h2, m2] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
    if (h1 > 24 || h2 > 24 || m1 > 59 || m2 > 59) return { error: `“${p}” 不是有效时间 / "${p}" is not a valid time` };
    const from = h1 * 60 + m1;
    const to = h2 * 60 + m2;
    if (to <= from || to > 24 * 60) return { error: `“${p}” 结束须晚于开始 / "${p}" must end after it starts, within the day` };
    out.push({ from, to });
  }
  out.sort((a, b) => a.from - b.from);
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.from < out[i - 1]!.to) return { error: `时段重叠 / windows overlap (${formatHours([out[i - 1]!])} and ${formatHours([out[i]!])})` };
  }
  return out;
}

const hhmm = (min: number) => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;

export function formatHours(windows: readonly HourWindow[]): string {
  return windows.map((w) => `${hhmm(w.from)}-${hhmm(w.to)}`).join(',');
}

/** Minutes after city midnight of an instant (fractional). */
function minuteOfDay(at: number): number {
  return (at - dayStart(localDayIndex(at))) / 60_000;
}

/** May a campaign call be placed at `at`: a working day, inside one of the windows. */
export function isAllowed(at: number, hours: readonly HourWindow[], calendar: Pick<WorkCalendar, 'isWorkingDay'>): boolean {
  if (!calendar.isWorkingDay(shanghaiDateOf(at))) return false;
  const m = minuteOfDay(at);
  return hours.some((w) => m >= w.from && m < w.to);
}

/** How far ahead the next allowed instant is looked for (a long holiday plus weekends fits easily). */
const SEARCH_DAYS = 60;

/**
 * The first instant at or after `at` when a call may be placed; undefined when none within
 * {@link SEARCH_DAYS} (no windows, or a calendar without working days).
 */
export function nextAllowed(at: number, hours: readonly HourWindow[], calendar: Pick<WorkCalendar, 'isWorkingDay'>): number | undefined {
  if (hours.length === 0) return undefined;
  const first = localDayIndex(at);
  for (let d = first; d < first + SEARCH_DAYS; d++) {
    if (!calendar.isWorkingDay(shanghaiDateOf(dayStart(d)))) continue;
    for (const w of hours) {
      const start = dayStart(d) + w.from * 60_000;
      const end = dayStart(d) + w.to * 60_000;
      if (at < end) return Math.max(at, start);
    }
  }
  return undefined;
}

// ------------------------------------------------------------------ campaign and items

export type CampaignStatus = 'running' | 'paused' | 'cancelled' | 'done';

/** What a campaign's planning needs of it. */
export interface CampaignRules {
  status: CampaignStatus;
  hours: readonly HourWindow[];
  /** Attempts per ticket in all (1 + retries). */
  maxAttempts: number;
  /** Seconds between the end of a failed attempt and the next one. */
  retryIntervalSec: number;
  /** Survey calls of the campaign in progress at once. */
  concurrency: number;
}

export type ItemState = 'pending' | 'calling' | 'rated' | 'no-rating' | 'exhausted' | 'cancelled';

/** How one attempt ended. `interrupted`: the server stopped while it was in progress. */
export type AttemptOutcome = 'rated' | 'no-rating' | 'busy' | 'no-answer' | 'failed' | 'interrupted';

export interface Attempt {
  n: number;
  /** When the call was placed. */
  at: number;
  endedAt: number;
  outcome: AttemptOutcome;
}

/** One ticket of a campaign. */
export interface CampaignItem {
  ticketNo: string;
  state: ItemState;
  /** Attempts made (or being made). */
  attempts: number;
  /** When the next attempt is due (pending items). */
  nextAt: number;
  rating?: 1 | 2 | 3 | 4;
  history: Attempt[];
}

export const FINAL_STATES: readonly ItemState[] = ['rated', 'no-rating', 'exhausted', 'cancelled'];

export interface Plan {
  /** Items to call now, with the number of the attempt to place. */
  place: { ticketNo: string; attempt: number }[];
  /** When the campaign must be looked at again (besides when a call ends); undefined = only then. */
  wakeAt?: number;
  /** Every item is final: the campaign is done. */
  done: boolean;
}

/**
 * Which calls to place now. Due items (oldest due first, then by ticket number) fill the free
 * places under the concurrency cap, only inside the allowed hours; `wakeAt` is the next instant
 * something may become placeable (the next window, or the next retry's due time).
 */
export function planCampaign(c: CampaignRules, items: readonly CampaignItem[], now: number, calendar: Pick<WorkCalendar, 'isWorkingDay'>): Plan {
  const calling = items.filter((i) => i.state === 'calling').length;
  const pending = items.filter((i) => i.state === 'pending');
  const done = calling === 0 && pending.length === 0;
  if (c.status !== 'running' || pending.length === 0) return { place: [], done };
  const due = pending.filter((i) => i.nextAt <= now).sort((a, b) => a.nextAt - b.nextAt || a.ticketNo.localeCompare(b.ticketNo));
  const earliest = Math.max(now, Math.min(...pending.map((i) => i.nextAt)));
  if (!isAllowed(now, c.hours, calendar)) {
    const wakeAt = nextAllowed(earliest, c.hours, calendar);
    return { place: [], ...(wakeAt !== undefined ? { wakeAt } : {}), done };
  }
  const free = Math.max(0, c.concurrency - calling);
  const place = due.slice(0, free).map((i) => ({ ticketNo: i.ticketNo, attempt: i.attempts + 1 }));
  if (due.length > free) return { place, done }; // a call's end frees the next place
  const later = pending.filter((i) => i.nextAt > now).map((i) => i.nextAt);
  const wakeAt = later.length ? nextAllowed(Math.min(...later), c.hours, calendar) : undefined;
  return { place, ...(wakeAt !== undefined ? { wakeAt } : {}), done };
}

/** The item once an attempt is placed. */
export function startAttempt(item: CampaignItem, attempt: number): CampaignItem {
  return { ...item, state: 'calling', attempts: attempt };
}

/**
 * The item after an attempt ended: a rating ends it; answered without a rating ends it too (the
 * citizen was reached and declined — calling again would pester them); busy, no answer, a failure
 * or an interruption are retried after the interval until the attempts are used up.
 */
export function finishAttempt(item: CampaignItem, a: Attempt & { rating?: 1 | 2 | 3 | 4 }, c: Pick<CampaignRules, 'maxAttempts' | 'retryIntervalSec'>): CampaignItem {
  const { rating, ...attempt } = a;
  const history = [...item.history, attempt];
  if (a.outcome === 'rated' && rating !== undefined) return { ...item, state: 'rated', rating, history };
  if (a.outcome === 'rated' || a.outcome === 'no-rating') return { ...item, state: 'no-rating', history };
  if (item.attempts >= c.maxAttempts) return { ...item, state: 'exhausted', history };
  return { ...item, state: 'pending', nextAt: a.endedAt + c.retryIntervalSec * 1000, history };
}

/** Cancelling a campaign: what has not been called ends as cancelled (a call in progress finishes). */
export function cancelItem(item: CampaignItem): CampaignItem {
  return item.state === 'pending' ? { ...item, state: 'cancelled' } : item;
}

/**
 * The sample of a rule-based campaign: `percent` of the tickets, chosen by a stable hash of the
 * campaign seed and the ticket number (the same campaign re-planned picks the same tickets; two
 * campaigns pick independently). 100 = every ticket.
 */
export function sampleTickets(ticketNos: readonly string[], percent: number, seed: string): string[] {
  if (percent >= 100) return [...ticketNos];
  return ticketNos.filter((no) => fnv1a(`${seed}:${no}`) % 10_000 < percent * 100);
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Progress counts of a campaign. */
export function progressOf(items: readonly CampaignItem[]): Record<ItemState, number> & { total: number; calls: number } {
  const out = { pending: 0, calling: 0, rated: 0, 'no-rating': 0, exhausted: 0, cancelled: 0, total: items.length, calls: 0 };
  for (const i of items) {
    out[i.state]++;
    out.calls += i.history.length + (i.state === 'calling' ? 1 : 0);
  }
  return out;
}

/** Whole days a campaign's period covers at most (rule-based campaigns). */
export const MAX_PERIOD_DAYS = 366;
