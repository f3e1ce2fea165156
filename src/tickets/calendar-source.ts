/**
 * Where the working-day calendar's data comes from: the `chinese-days` npm
 * package (MIT, no dependencies), which transcribes the State Council General
 * Office's annual holiday notice (国务院办公厅关于部分节假日安排的通知) into
 * per-day data and publishes a new version when a notice appears. It replaced a
 * hand-typed file that silently ended on 2026-12-31.
 *
 * A notice is published each November for the next year, so the newest package
 * version may lack the coming year (1.5.7, May 2026, has 2004–2026; 2027's
 * notice was not out then). For such a year {@link statutoryYear} gives the days
 * the law itself fixes — 全国年节及纪念日放假办法 as revised in 2024, in force
 * from 2025 — with the package's lunar calendar and solar terms: 元旦 (1 day),
 * 春节 (除夕 to 初三, 4 days), 清明 (1), 劳动节 (May 1–2), 端午 (1), 中秋 (1),
 * 国庆 (Oct 1–3), plus the 补假 the law requires when one falls on a weekend
 * (the next weekdays). The year's make-up working days (调休上班) and longer
 * bridges are not derivable, so such a year's coverage is `statutory`: the
 * start-up/daily check warns until an admin enters the notice (day overrides)
 * and confirms the year, or the package is upgraded.
 *
 * @remarks The package's own date helpers format through the process's local
 * time zone (an instant at UTC midnight read with local getters), which shifts
 * dates by a day west of UTC. We use only its pure tables (`monthDays`,
 * `getYearLeapMonth`), its JSON data, and correct the one solar-term date we need.
 */
import { createRequire } from 'node:module';
import { DAY_MS, dayIndexToDate, dateToDayIndex, type CalendarData, type CalendarYear, type HolidayRange, type MakeUpDay } from './calendar.js';

const require = createRequire(import.meta.url);
type ChineseDays = typeof import('chinese-days');
const cd = require('chinese-days') as ChineseDays;

/** The package version in use, for `source` strings, the admin page and /readyz. */
export const CHINESE_DAYS_VERSION: string = (require('chinese-days/package.json') as { version: string }).version;

interface PackageData {
  /** `YYYY-MM-DD` → `"Spring Festival,春节,4"` (English name, Chinese name, statutory days). */
  holidays: Record<string, string>;
  workdays: Record<string, string>;
}

function nameOf(v: string): { zh: string; en: string } {
  const [en = '', zh = ''] = v.split(',');
  return { zh: zh || en, en };
}

/**
 * The official years the package knows, as calendar data: consecutive days of
 * the same holiday become one range; each range stays inside its calendar year.
 */
export function chineseDaysData(): CalendarData {
  const raw = require('chinese-days/dist/chinese-days.json') as PackageData;
  const years: Record<string, CalendarYear> = {};
  const yearOf = (date: string): CalendarYear =>
    (years[date.slice(0, 4)] ??= { source: `chinese-days ${CHINESE_DAYS_VERSION}: 国务院办公厅关于${date.slice(0, 4)}年部分节假日安排的通知`, holidays: [], workdays: [] });
  for (const date of Object.keys(raw.holidays).sort()) {
    const { zh, en } = nameOf(raw.holidays[date]!);
    const list = yearOf(date).holidays;
    const last = list[list.length - 1];
    if (last && last.name === zh && dateToDayIndex(last.to)! + 1 === dateToDayIndex(date)) last.to = date;
    else list.push({ name: zh, nameEn: en, from: date, to: date } satisfies HolidayRange);
  }
  for (const date of Object.keys(raw.workdays).sort()) yearOf(date).workdays.push({ date, for: nameOf(raw.workdays[date]!).zh } satisfies MakeUpDay);
  return {
    description: `Mainland China holidays and make-up working days from the chinese-days package ${CHINESE_DAYS_VERSION} (the State Council's annual notices).`,
    timeZone: 'Asia/Shanghai (UTC+8, no DST)',
    years,
  };
}

/** The official data the app uses (read once at boot by the composition root). */
export const loadBundledCalendarData = chineseDaysData;

/** The years the package has official data for, ascending. */
export function chineseDaysYears(): number[] {
  return Object.keys(chineseDaysData().years).map(Number).sort((a, b) => a - b);
}

// ---------------------------------------------------------------- statutory days (law, no 调休)

const LUNAR_EPOCH = Date.UTC(1900, 0, 31) / DAY_MS; // lunar 1900-01-01

function lunarYearDays(y: number): number {
  let n = cd.getYearLeapMonth(y).days;
  for (let m = 1; m <= 12; m++) n += cd.monthDays(y, m);
  return n;
}

/** Day index of a lunar date (non-leap month), in UTC arithmetic over the package's tables. */
export function lunarToDayIndex(year: number, month: number, day: number): number {
  let days = 0;
  for (let y = 1900; y < year; y++) days += lunarYearDays(y);
  const leap = cd.getYearLeapMonth(year);
  for (let m = 1; m < month; m++) {
    days += cd.monthDays(year, m);
    if (leap.leapMonth === m) days += leap.days; // the leap month follows its namesake
  }
  return LUNAR_EPOCH + days + day - 1;
}

/** 清明: the package's solar-term date, corrected for its local-time formatting. */
function qingming(year: number): number {
  const s = cd.getSolarTermDate(year, 4, 'pure_brightness');
  const shift = new Date(Date.UTC(year, 3, 15)).getDate() - 15; // -1 west of UTC, else 0
  return dateToDayIndex(s)! - shift;
}

const weekend = (d: number) => {
  const w = new Date(d * DAY_MS).getUTCDay();
  return w === 0 || w === 6;
};

/** The first year the 2024 revision of the holiday law applies to. */
export const STATUTORY_FROM = 2025;

/**
 * The holidays the law fixes for `year` (≥ {@link STATUTORY_FROM}), with 补假
 * for days that fall on a weekend; no make-up working days. Undefined before.
 */
export function statutoryYear(year: number): CalendarYear | undefined {
  if (!Number.isInteger(year) || year < STATUTORY_FROM || year > 2099) return undefined;
  const d = (m: number, day: number) => Date.UTC(year, m - 1, day) / DAY_MS;
  const newYear = lunarToDayIndex(year, 1, 1);
  const festivals: { name: string; nameEn: string; days: number[] }[] = [
    { name: '元旦', nameEn: "New Year's Day", days: [d(1, 1)] },
    { name: '春节', nameEn: 'Spring Festival', days: [newYear - 1, newYear, newYear + 1, newYear + 2] },
    { name: '清明节', nameEn: 'Qingming Festival', days: [qingming(year)] },
    { name: '劳动节', nameEn: 'Labour Day', days: [d(5, 1), d(5, 2)] },
    { name: '端午节', nameEn: 'Dragon Boat Festival', days: [lunarToDayIndex(year, 5, 5)] },
    { name: '中秋节', nameEn: 'Mid-Autumn Festival', days: [lunarToDayIndex(year, 8, 15)] },
    { name: '国庆节', nameEn: 'National Day', days: [d(10, 1), d(10, 2), d(10, 3)] },
  ];
  const off = new Set(festivals.flatMap((f) => f.days));
  const holidays: HolidayRange[] = [];
  for (const f of festivals) {
    const days = [...f.days];
    // 适逢周六、周日，应当在工作日补假: the next weekdays after the festival that are not already off.
    let owed = f.days.filter(weekend).length;
    for (let x = Math.max(...f.days) + 1; owed > 0; x++) {
      if (weekend(x) || off.has(x)) continue;
      off.add(x);
      days.push(x);
      owed--;
    }
    days.sort((a, b) => a - b);
    for (const x of days) {
      const last = holidays[holidays.length - 1];
      if (last && last.name === f.name && dateToDayIndex(last.to)! + 1 === x) last.to = dayIndexToDate(x);
      else holidays.push({ name: f.name, nameEn: f.nameEn, from: dayIndexToDate(x), to: dayIndexToDate(x) });
    }
  }
  return {
    source: `statutory days only (全国年节及纪念日放假办法, 2024 revision; lunar dates from chinese-days ${CHINESE_DAYS_VERSION}); the ${year} notice's 调休 is not known`,
    holidays: holidays.filter((h) => h.from.startsWith(String(year))),
    workdays: [],
  };
}
