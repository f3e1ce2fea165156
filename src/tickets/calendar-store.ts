/**
 * Admin overrides of the working-day calendar (local 调休, or a year's notice
 * entered before the package has it), stored in Redis and shared by every
 * instance, and the live calendar the ticket domain uses.
 *
 * @remarks
 * One Redis hash `<prefix>:calendar:overrides` holds `version` and `doc` (JSON
 * {days, years}). A change is one Lua script: compare the version the admin
 * read, write the next version, publish it on `<prefix>:calendar:events`. So
 * two admins editing at once cannot lose each other's change (the second gets
 * 409 and re-reads), and an invalid change never reaches Redis (validated first).
 *
 * {@link LiveWorkCalendar} implements {@link WorkCalendar} over the calendar
 * built from the package data + statutory fallback + the overrides in force,
 * and swaps it on each pub/sub message, after reconnects and on a slow poll.
 * If Redis is away the last calendar stays: deadlines never stop being computed.
 */
import type { Redis } from 'ioredis';
import {
  createWorkCalendar,
  coverageReport,
  validateDayOverride,
  validateYearConfirmation,
  type CalendarData,
  type CalendarYear,
  type CoverageReport,
  type DayOverride,
  type WorkCalendar,
  type YearConfirmation,
} from './calendar.js';
import { DomainDataError, invalid, type FieldErrors } from './domain-errors.js';
import { redisKey } from '../util/redis-keys.js';

/** A day override as stored: who entered it and when. */
export type StoredDayOverride = DayOverride & { by: string; at: number };
export type StoredYearConfirmation = YearConfirmation & { by: string; at: number };

export interface CalendarOverrides {
  /** 0 before any change; each change adds 1. */
  version: number;
  /** Sorted by date, one entry per date. */
  days: StoredDayOverride[];
  /** Sorted by year. */
  years: StoredYearConfirmation[];
}

export const EMPTY_OVERRIDES: CalendarOverrides = Object.freeze({ version: 0, days: [], years: [] }) as CalendarOverrides;

/** Check a stored document (what Redis returned); every error names its field. */
export function validateOverrides(input: unknown): FieldErrors {
  if (typeof input !== 'object' || input === null) return [invalid('overrides', 'must be an object')];
  const o = input as Partial<CalendarOverrides>;
  const errs: FieldErrors = [];
  if (!Number.isInteger(o.version) || o.version! < 0) errs.push(invalid('version', 'must be an integer ≥ 0'));
  if (!Array.isArray(o.days)) errs.push(invalid('days', 'must be an array'));
  else {
    const seen = new Set<string>();
    o.days.forEach((d, i) => {
      errs.push(...validateDayOverride(d, `days[${i}]`));
      if (seen.has(d?.date)) errs.push(invalid(`days[${i}].date`, `duplicate date ${d.date}`));
      seen.add(d?.date);
    });
  }
  if (!Array.isArray(o.years)) errs.push(invalid('years', 'must be an array'));
  else o.years.forEach((y, i) => errs.push(...validateYearConfirmation(y, `years[${i}]`)));
  return errs;
}

export type ChangeResult = { ok: true; overrides: CalendarOverrides } | { ok: false; current: number };

// KEYS[1] hash, KEYS[2] channel; ARGV[1] expected version, ARGV[2] doc JSON. Returns {1, v} or {0, current}.
const PUT_SCRIPT = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if cur ~= tonumber(ARGV[1]) then return {0, cur} end
local nextv = cur + 1
redis.call('HSET', KEYS[1], 'version', nextv, 'doc', ARGV[2])
redis.call('PUBLISH', KEYS[2], tostring(nextv))
return {1, nextv}
`;

export class CalendarOverridesStore {
  readonly key: string;
  readonly channel: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = redisKey(prefix, 'calendar', 'overrides');
    this.channel = redisKey(prefix, 'calendar', 'events');
  }

  async get(): Promise<CalendarOverrides> {
    const [version, doc] = await this.redis.hmget(this.key, 'version', 'doc');
    if (!version || !doc) return EMPTY_OVERRIDES;
    const parsed = { version: Number(version), ...(JSON.parse(doc) as Omit<CalendarOverrides, 'version'>) };
    const errs = validateOverrides(parsed);
    if (errs.length) throw new DomainDataError('calendar overrides in Redis', errs);
    return parsed;
  }

  async version(): Promise<number> {
    return Number((await this.redis.hget(this.key, 'version')) ?? 0);
  }

  /** Replace the overrides if the stored version is still `expected` (validated by the caller). */
  async put(expected: number, next: Omit<CalendarOverrides, 'version'>): Promise<ChangeResult> {
    const doc = JSON.stringify({ days: [...next.days].sort((a, b) => a.date.localeCompare(b.date)), years: [...next.years].sort((a, b) => a.year - b.year) });
    const [ok, v] = (await this.redis.eval(PUT_SCRIPT, 2, this.key, this.channel, String(expected), doc)) as [number, number];
    if (ok !== 1) return { ok: false, current: Number(v) };
    return { ok: true, overrides: { version: Number(v), ...(JSON.parse(doc) as Omit<CalendarOverrides, 'version'>) } };
  }
}

export interface LiveCalendarOptions {
  data: CalendarData;
  fallback?: (year: number) => CalendarYear | undefined;
  store: CalendarOverridesStore;
  /** Called when overrides in Redis cannot be read or are invalid (the last calendar stays). */
  onError?: (err: unknown) => void;
  /** Called after a newer version was applied. */
  onChange?: (o: CalendarOverrides) => void;
  pollMs?: number;
}

/**
 * The calendar in force on this instance: the official data, the statutory
 * fallback and the admin overrides, rebuilt when the overrides change.
 */
export class LiveWorkCalendar implements WorkCalendar {
  private cal: WorkCalendar;
  private cur: CalendarOverrides = EMPTY_OVERRIDES;
  private sub: Redis | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: LiveCalendarOptions) {
    this.cal = this.build(EMPTY_OVERRIDES);
  }

  private build(ov: CalendarOverrides): WorkCalendar {
    return createWorkCalendar({
      data: this.o.data,
      ...(this.o.fallback ? { fallback: this.o.fallback } : {}),
      days: ov.days.map(({ date, kind, name, note }) => ({ date, kind, ...(name !== undefined ? { name } : {}), ...(note !== undefined ? { note } : {}) })),
      confirmedYears: ov.years.map(({ year, source }) => ({ year, source })),
    });
  }

  /** The overrides in force here. */
  overrides(): CalendarOverrides {
    return this.cur;
  }

  /** Apply a version (from Redis or from our own write) if newer than what we hold. */
  apply(ov: CalendarOverrides): boolean {
    if (ov.version <= this.cur.version) return false;
    this.cal = this.build(ov);
    this.cur = ov;
    this.o.onChange?.(ov);
    return true;
  }

  async refresh(): Promise<void> {
    if (this.closed) return;
    try {
      const v = await this.o.store.version();
      if (v > this.cur.version) this.apply(await this.o.store.get());
    } catch (err) {
      this.o.onError?.(err);
    }
  }

  /** Follow changes made on any instance (pub/sub + poll); `sub` is a dedicated connection. */
  async watch(sub: Redis): Promise<void> {
    this.sub = sub;
    sub.on('message', (channel: string) => {
      if (channel === this.o.store.channel) void this.refresh();
    });
    sub.on('ready', () => void this.refresh());
    sub.on('error', (err: unknown) => this.o.onError?.(err));
    await Promise.race([Promise.all([sub.subscribe(this.o.store.channel).catch((err: unknown) => this.o.onError?.(err)), this.refresh()]), new Promise((r) => setTimeout(r, 2000).unref())]);
    this.timer = setInterval(() => void this.refresh(), this.o.pollMs ?? 5000);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.sub?.disconnect();
  }

  coverageReport(now: number, days = 60): CoverageReport {
    return coverageReport(this.cal, now, days);
  }

  // ---- WorkCalendar: delegate to the calendar in force
  isWorkingDay(date: number | string): boolean {
    return this.cal.isWorkingDay(date);
  }
  addWorkingDays(start: number, n: number): number {
    return this.cal.addWorkingDays(start, n);
  }
  addNaturalDays(start: number, n: number): number {
    return this.cal.addNaturalDays(start, n);
  }
  addHours(start: number, hours: number): number {
    return this.cal.addHours(start, hours);
  }
  workingDaysBetween(a: number, b: number): number {
    return this.cal.workingDaysBetween(a, b);
  }
  addWorkingTime(start: number, ms: number): number {
    return this.cal.addWorkingTime(start, ms);
  }
  workingTimeBetween(a: number, b: number): number {
    return this.cal.workingTimeBetween(a, b);
  }
  coverage(year: number) {
    return this.cal.coverage(year);
  }
}

/** Operator-facing text of an uncovered window (logs, /readyz, the supervisor banner). */
export function coverageWarning(r: CoverageReport, packageVersion: string): string | undefined {
  if (r.covered) return undefined;
  const missing = r.years.filter((y) => y.coverage !== 'official' && y.coverage !== 'override').map((y) => `${y.year} (${y.coverage})`);
  return (
    `工作日历未覆盖 ${r.firstUncovered} 起的日期：${missing.join('、')} 尚无国务院放假通知数据，期限按法定假日估算、不含调休；请升级 chinese-days 或由管理员录入调休并确认年份 / ` +
    `the working-day calendar does not cover ${r.firstUncovered} onwards: ${missing.join(', ')} lacks the State Council notice (chinese-days ${packageVersion}); ` +
    `deadlines use statutory days without 调休 — upgrade chinese-days or enter the days as overrides and confirm the year`
  );
}
