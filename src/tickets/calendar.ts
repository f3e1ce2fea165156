/**
 * The working-day calendar of mainland China, in Asia/Shanghai local time
 * whatever the machine's TZ. China has had no DST since 1991, so local time is
 * plain UTC+8 arithmetic: no tz library, no `Date#getHours()`.
 *
 * Official holidays and make-up working days (调休上班) come as data per year
 * (from the State Council's annual notice, through the maintained `chinese-days`
 * package: see `calendar-source.ts`). A year without data falls back to what
 * {@link CalendarOptions.fallback} gives (the app: the statutory days the law
 * fixes, without the year's 调休) or to weekends-only, and
 * {@link WorkCalendar.coverage} says which, so the app can warn an admin to
 * enter the year (day overrides) or upgrade the package.
 *
 * Admin day overrides (local 调休: a day off or a worked day) win over everything.
 *
 * Instants are milliseconds since the epoch (as everywhere in this codebase);
 * local dates are `YYYY-MM-DD` strings.
 *
 * ## Deadline convention (how a 12345 centre counts "N working days")
 * - The day of receipt is not counted (as for any period counted in days,
 *   民法典 第二百零一条: 开始的当日不计入，自下一日开始计算).
 * - Counting then runs over working days only: a receipt on a Saturday, a
 *   holiday or a make-up-free weekend starts counting on the next working day.
 * - The deadline is the end of the Nth working day, 23:59:59.999 Shanghai time;
 *   work done at or before that instant is on time.
 *   Example: received Fri 2026-02-13 10:00, 5 working days → Sat 02-14 (make-up
 *   day) is day 1, then 02-24, 02-25, 02-26, 02-27 → due 2026-02-27 23:59:59.999.
 *
 * Natural-day clocks use the same convention without skipping (N = 0 is the
 * end of the receipt day: "当天"). Hour clocks are plain elapsed time.
 *
 * ## Working time
 * Some windows are a *duration* of working time rather than a count of days:
 * "return within 1 working day of dispatch" is 24 hours of clock that only runs
 * on working days ({@link WorkCalendar.addWorkingTime}); dispatched Fri 16:00,
 * the window ends Mon 16:00.
 */
import { DomainDataError, invalid, type FieldErrors } from './domain-errors.js';

export const SHANGHAI_OFFSET_MS = 8 * 3600_000;
export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

/** The longest span (in days) the calendar walks before giving up: guards against data marking every day off. */
const MAX_WALK_DAYS = 3 * 366;

/**
 * How much of a year is known: the official notice (`official`), an admin's
 * entry of the year (`override`), only the statutory holidays fixed by law
 * without the year's make-up days (`statutory`), or nothing (`weekends-only`).
 * Only `official` and `override` count as covered.
 */
export type Coverage = 'official' | 'override' | 'statutory' | 'weekends-only';

/** Coverage values under which deadlines are trustworthy. */
export const COVERED: readonly Coverage[] = ['official', 'override'];

export const DAY_OVERRIDE_KINDS = ['holiday', 'workday'] as const;
export type DayOverrideKind = (typeof DAY_OVERRIDE_KINDS)[number];

/** One local 调休 entered by an admin: this date is a day off (`holiday`) or a worked day (`workday`). */
export interface DayOverride {
  /** `YYYY-MM-DD`, Shanghai local. */
  date: string;
  kind: DayOverrideKind;
  /** What it is for (`春节调休`, `区运动会`), shown in lists. */
  name?: string;
  note?: string;
}

/** An admin's statement that a year's days are entered (e.g. from the notice the package does not have yet). */
export interface YearConfirmation {
  year: number;
  /** The notice the days come from. */
  source: string;
}

export interface HolidayRange {
  name: string;
  nameEn?: string;
  /** First day off, `YYYY-MM-DD`. */
  from: string;
  /** Last day off, inclusive. */
  to: string;
}

export interface MakeUpDay {
  /** A Saturday or Sunday that is worked (调休上班), `YYYY-MM-DD`. */
  date: string;
  /** The holiday it makes up for. */
  for?: string;
}

export interface CalendarYear {
  source: string;
  holidays: HolidayRange[];
  workdays: MakeUpDay[];
}

export interface CalendarData {
  description?: string;
  timeZone?: string;
  years: Record<string, CalendarYear>;
}

// ---------------------------------------------------------------- local-time helpers

/** Days since 1970-01-01 of the Shanghai local date of an instant. */
export function localDayIndex(at: number): number {
  return Math.floor((at + SHANGHAI_OFFSET_MS) / DAY_MS);
}

/** The instant a Shanghai local day starts (00:00:00.000). */
export function dayStart(dayIndex: number): number {
  return dayIndex * DAY_MS - SHANGHAI_OFFSET_MS;
}

/** The last millisecond of a Shanghai local day (23:59:59.999). */
export function dayEnd(dayIndex: number): number {
  return dayStart(dayIndex + 1) - 1;
}

/** `YYYY-MM-DD` of a day index. */
export function dayIndexToDate(dayIndex: number): string {
  return new Date(dayIndex * DAY_MS).toISOString().slice(0, 10);
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Day index of a `YYYY-MM-DD` local date, or undefined if it is not a real date. */
export function dateToDayIndex(date: string): number | undefined {
  const m = DATE_RE.exec(date);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (dayIndexToDate(ms / DAY_MS) !== date) return undefined; // 2026-02-30 and friends
  return ms / DAY_MS;
}

/** `YYYY-MM-DD` in Shanghai of an instant. */
export function shanghaiDateOf(at: number): string {
  return dayIndexToDate(localDayIndex(at));
}

/**
 * An instant from a Shanghai local date and time (`2026-02-13`, `10:00`), for
 * tests and admin input. Seconds optional.
 */
export function shanghaiInstant(date: string, time = '00:00'): number {
  const d = dateToDayIndex(date);
  const m = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(time);
  if (d === undefined || !m) throw new RangeError(`not a Shanghai local date/time: "${date} ${time}"`);
  return dayStart(d) + (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0)) * 1000;
}

/** ISO 8601 with the +08:00 offset, for messages and exports. */
export function formatShanghai(at: number): string {
  const d = new Date(at + SHANGHAI_OFFSET_MS).toISOString(); // 2026-02-13T10:00:00.000Z shifted
  return `${d.slice(0, 23)}+08:00`;
}

function weekday(dayIndex: number): number {
  return new Date(dayIndex * DAY_MS).getUTCDay(); // 0 = Sunday
}

// ---------------------------------------------------------------- validation

/** Check calendar data; every error names its field path (`years.2026.holidays[1].to`). */
export function validateCalendarData(input: unknown): FieldErrors {
  const errs: FieldErrors = [];
  if (typeof input !== 'object' || input === null) return [invalid('calendar', 'must be an object')];
  const years = (input as { years?: unknown }).years;
  if (typeof years !== 'object' || years === null || Array.isArray(years)) return [invalid('years', 'must be an object keyed by year')];
  for (const [year, raw] of Object.entries(years as Record<string, unknown>)) {
    const p = `years.${year}`;
    if (!/^\d{4}$/.test(year)) errs.push(invalid(p, 'key must be a four-digit year'));
    if (typeof raw !== 'object' || raw === null) {
      errs.push(invalid(p, 'must be an object'));
      continue;
    }
    const y = raw as Partial<CalendarYear>;
    if (typeof y.source !== 'string' || !y.source.trim()) errs.push(invalid(`${p}.source`, 'must name the notice the dates come from'));
    if (!Array.isArray(y.holidays)) errs.push(invalid(`${p}.holidays`, 'must be an array'));
    else
      y.holidays.forEach((h, i) => {
        const hp = `${p}.holidays[${i}]`;
        if (typeof h?.name !== 'string' || !h.name) errs.push(invalid(`${hp}.name`, 'is required'));
        const from = typeof h?.from === 'string' ? dateToDayIndex(h.from) : undefined;
        const to = typeof h?.to === 'string' ? dateToDayIndex(h.to) : undefined;
        if (from === undefined) errs.push(invalid(`${hp}.from`, 'must be a YYYY-MM-DD date'));
        if (to === undefined) errs.push(invalid(`${hp}.to`, 'must be a YYYY-MM-DD date'));
        if (from !== undefined && to !== undefined) {
          if (to < from) errs.push(invalid(`${hp}.to`, 'must not be before from'));
          else if (to - from > 30) errs.push(invalid(`${hp}.to`, 'a holiday longer than 31 days is surely a typo'));
        }
      });
    if (!Array.isArray(y.workdays)) errs.push(invalid(`${p}.workdays`, 'must be an array'));
    else
      y.workdays.forEach((w, i) => {
        const wp = `${p}.workdays[${i}].date`;
        const d = typeof w?.date === 'string' ? dateToDayIndex(w.date) : undefined;
        if (d === undefined) errs.push(invalid(wp, 'must be a YYYY-MM-DD date'));
        else if (weekday(d) !== 0 && weekday(d) !== 6) errs.push(invalid(wp, `${w.date} is a weekday already; a make-up working day is a Saturday or Sunday`));
      });
  }
  return errs;
}

// ---------------------------------------------------------------- the calendar

/** The port the rest of the ticket domain depends on. */
export interface WorkCalendar {
  /** Is the Shanghai local day of this instant (or this `YYYY-MM-DD` date) a working day? */
  isWorkingDay(date: number | string): boolean;
  /** End of the Nth working day after the receipt day (see module doc). n ≥ 0 integer; 0 = end of the receipt day if it is a working day, else of the next one. */
  addWorkingDays(start: number, n: number): number;
  /** End of the Nth natural day after the receipt day; 0 = end of the receipt day (当天). */
  addNaturalDays(start: number, n: number): number;
  /** Plain elapsed hours (fractions allowed: 0.5 = 30 minutes). */
  addHours(start: number, hours: number): number;
  /** Working days d with day(a) < d ≤ day(b); negative when b is before a. `workingDaysBetween(t, addWorkingDays(t, n)) === n`. */
  workingDaysBetween(a: number, b: number): number;
  /** The instant after `ms` of working time from `start` (the clock stops outside working days). */
  addWorkingTime(start: number, ms: number): number;
  /** Working time (ms) inside [a, b). */
  workingTimeBetween(a: number, b: number): number;
  /** Whether a year's holidays are known (official data or an admin override) or guessed as weekends-only. */
  coverage(year: number): Coverage;
}

export interface CalendarOptions {
  /** Official data (the app: the `chinese-days` package's, via `loadBundledCalendarData` in calendar-source.ts). */
  data: CalendarData;
  /** Admin-entered years, used for years the data lacks (and winning over it if both have the year). */
  overrides?: Record<string, CalendarYear>;
  /** Days for a year neither the data nor `overrides` has (coverage `statutory`); undefined: weekends only. */
  fallback?: (year: number) => CalendarYear | undefined;
  /** Admin day overrides, applied over everything else. */
  days?: DayOverride[];
  /** Years an admin declared entered: coverage `override` unless the data has them. */
  confirmedYears?: YearConfirmation[];
}

/** Check one day override; errors name the field (`date`, `kind`, `name`, `note`), prefixed by `path`. */
export function validateDayOverride(input: unknown, path = ''): FieldErrors {
  const f = (name: string) => (path ? `${path}.${name}` : name);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [invalid(path || 'day', 'must be an object')];
  const o = input as Partial<DayOverride>;
  const errs: FieldErrors = [];
  const d = typeof o.date === 'string' ? dateToDayIndex(o.date) : undefined;
  if (d === undefined) errs.push(invalid(f('date'), 'must be a real date written YYYY-MM-DD (e.g. 2027-02-05)'));
  else {
    const year = Number(o.date!.slice(0, 4));
    if (year < 2000 || year > 2099) errs.push(invalid(f('date'), 'must be in 2000–2099'));
  }
  if (!DAY_OVERRIDE_KINDS.includes(o.kind as DayOverrideKind)) errs.push(invalid(f('kind'), `must be one of ${DAY_OVERRIDE_KINDS.join(', ')}`));
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length > 50)) errs.push(invalid(f('name'), 'must be a string of at most 50 characters'));
  if (o.note !== undefined && (typeof o.note !== 'string' || o.note.length > 200)) errs.push(invalid(f('note'), 'must be a string of at most 200 characters'));
  return errs;
}

/** Check a year confirmation; errors name `year` and `source`. */
export function validateYearConfirmation(input: unknown, path = ''): FieldErrors {
  const f = (name: string) => (path ? `${path}.${name}` : name);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [invalid(path || 'year', 'must be an object')];
  const o = input as Partial<YearConfirmation>;
  const errs: FieldErrors = [];
  if (!Number.isInteger(o.year) || o.year! < 2000 || o.year! > 2099) errs.push(invalid(f('year'), 'must be a four-digit year in 2000–2099'));
  if (typeof o.source !== 'string' || !o.source.trim() || o.source.length > 200) errs.push(invalid(f('source'), 'must name the notice the days come from (1–200 characters)'));
  return errs;
}

/** Build a calendar; throws {@link DomainDataError} listing every bad field. */
export function createWorkCalendar(opts: CalendarOptions): WorkCalendar {
  const errs = validateCalendarData(opts.data);
  if (opts.overrides) errs.push(...validateCalendarData({ years: opts.overrides }).map((e) => ({ ...e, field: `overrides.${e.field}`, message: `overrides.${e.message}` })));
  (opts.days ?? []).forEach((d, i) => errs.push(...validateDayOverride(d, `days[${i}]`)));
  (opts.confirmedYears ?? []).forEach((y, i) => errs.push(...validateYearConfirmation(y, `confirmedYears[${i}]`)));
  if (errs.length) throw new DomainDataError('calendar data', errs);

  const coverageByYear = new Map<number, Coverage>();
  const off = new Set<number>();
  const on = new Set<number>();
  const load = (years: Record<string, CalendarYear>, kind: Coverage) => {
    for (const [year, y] of Object.entries(years)) {
      coverageByYear.set(Number(year), kind);
      for (const h of y.holidays) {
        const to = dateToDayIndex(h.to)!;
        for (let d = dateToDayIndex(h.from)!; d <= to; d++) off.add(d);
      }
      for (const w of y.workdays) on.add(dateToDayIndex(w.date)!);
    }
  };
  // Overrides replace whole years: drop the official days of an overridden year first.
  const overridden = new Set(Object.keys(opts.overrides ?? {}));
  load(Object.fromEntries(Object.entries(opts.data.years).filter(([y]) => !overridden.has(y))), 'official');
  if (opts.overrides) load(opts.overrides, 'override');

  // Years outside the data: filled on first use from the fallback (statutory days), else weekends only.
  const fallbackDone = new Set<number>();
  const ensureYear = (year: number) => {
    if (fallbackDone.has(year)) return;
    fallbackDone.add(year);
    if (coverageByYear.has(year) || !opts.fallback) return;
    const y = opts.fallback(year);
    if (!y) return;
    const fe = validateCalendarData({ years: { [String(year)]: y } });
    if (fe.length) throw new DomainDataError(`calendar fallback for ${year}`, fe);
    load({ [String(year)]: y }, 'statutory');
  };
  const yearOfDay = (d: number) => new Date(d * DAY_MS).getUTCFullYear();
  const dayKind = new Map<number, boolean>();
  for (const o of opts.days ?? []) dayKind.set(dateToDayIndex(o.date)!, o.kind === 'workday');
  const confirmed = new Set((opts.confirmedYears ?? []).map((y) => y.year));

  // The day range of the year last ensured: working() runs in loops, most days fall in the same year.
  let yearLo = Infinity;
  let yearHi = -Infinity;
  const ensureDay = (d: number) => {
    if (d >= yearLo && d <= yearHi) return;
    const y = yearOfDay(d);
    ensureYear(y);
    yearLo = Date.UTC(y, 0, 1) / DAY_MS;
    yearHi = Date.UTC(y + 1, 0, 1) / DAY_MS - 1;
  };

  const working = (d: number): boolean => {
    const k = dayKind.get(d);
    if (k !== undefined) return k;
    ensureDay(d);
    if (on.has(d)) return true;
    if (off.has(d)) return false;
    const w = weekday(d);
    return w !== 0 && w !== 6;
  };

  const nthWorkingDayAfter = (d0: number, n: number): number => {
    let d = d0;
    let count = 0;
    for (let i = 0; count < n; i++) {
      if (i > MAX_WALK_DAYS + n * 7) throw new RangeError('calendar has no working days in range');
      d++;
      if (working(d)) count++;
    }
    return d;
  };

  const checkInt = (name: string, n: number) => {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
  };

  return {
    isWorkingDay(date) {
      const d = typeof date === 'number' ? localDayIndex(date) : dateToDayIndex(date);
      if (d === undefined) throw new RangeError(`not a YYYY-MM-DD date: "${String(date)}"`);
      return working(d);
    },
    addWorkingDays(start, n) {
      checkInt('n', n);
      const d0 = localDayIndex(start);
      if (n === 0) return dayEnd(working(d0) ? d0 : nthWorkingDayAfter(d0, 1));
      return dayEnd(nthWorkingDayAfter(d0, n));
    },
    addNaturalDays(start, n) {
      checkInt('n', n);
      return dayEnd(localDayIndex(start) + n);
    },
    addHours(start, hours) {
      if (!Number.isFinite(hours) || hours < 0) throw new RangeError(`hours must be ≥ 0, got ${hours}`);
      return start + Math.round(hours * HOUR_MS);
    },
    workingDaysBetween(a, b) {
      const da = localDayIndex(a);
      const db = localDayIndex(b);
      const [lo, hi, sign] = da <= db ? [da, db, 1] : [db, da, -1];
      let n = 0;
      for (let d = lo + 1; d <= hi; d++) if (working(d)) n++;
      return sign * n;
    },
    addWorkingTime(start, ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ms must be ≥ 0, got ${ms}`);
      let t = start;
      let left = ms;
      let d = localDayIndex(start);
      for (let i = 0; ; i++) {
        if (i > MAX_WALK_DAYS + ms / DAY_MS * 7) throw new RangeError('calendar has no working days in range');
        if (working(d)) {
          const avail = dayStart(d + 1) - t;
          if (left <= avail) return t + left;
          left -= avail;
        }
        d++;
        t = dayStart(d);
      }
    },
    workingTimeBetween(a, b) {
      if (b <= a) return 0;
      let total = 0;
      const last = localDayIndex(b);
      for (let d = localDayIndex(a); d <= last; d++) {
        if (!working(d)) continue;
        total += Math.min(b, dayStart(d + 1)) - Math.max(a, dayStart(d));
      }
      return total;
    },
    coverage(year) {
      ensureYear(year);
      const c = coverageByYear.get(year);
      if (c === 'official' || c === 'override') return c;
      if (confirmed.has(year)) return 'override';
      return c ?? 'weekends-only';
    },
  };
}

// ---------------------------------------------------------------- coverage check

export interface CoverageReport {
  /** Every day of [from, to] lies in a year whose days are known (official notice or an admin's entry). */
  covered: boolean;
  /** First and last day checked, `YYYY-MM-DD`. */
  from: string;
  to: string;
  days: number;
  /** Each year the window touches, with its coverage. */
  years: { year: number; coverage: Coverage }[];
  /** The first day of the window whose year is not covered, `YYYY-MM-DD`. */
  firstUncovered?: string;
}

/**
 * Are the next `days` days (from the Shanghai day of `now`, inclusive) in covered years?
 * Pure; the app runs it at start, daily, for /readyz and for the supervisor page.
 */
export function coverageReport(cal: WorkCalendar, now: number, days = 60): CoverageReport {
  const d0 = localDayIndex(now);
  const d1 = d0 + days;
  const years: CoverageReport['years'] = [];
  let firstUncovered: string | undefined;
  for (let y = new Date(d0 * DAY_MS).getUTCFullYear(); y <= new Date(d1 * DAY_MS).getUTCFullYear(); y++) {
    const coverage = cal.coverage(y);
    years.push({ year: y, coverage });
    if (!firstUncovered && !COVERED.includes(coverage)) {
      const jan1 = Date.UTC(y, 0, 1) / DAY_MS;
      firstUncovered = dayIndexToDate(Math.max(d0, jan1));
    }
  }
  return {
    covered: !firstUncovered,
    from: dayIndexToDate(d0),
    to: dayIndexToDate(d1),
    days,
    years,
    ...(firstUncovered ? { firstUncovered } : {}),
  };
}
