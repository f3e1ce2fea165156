/**
 * The calendar's data source (the chinese-days package), the statutory days
 * for a year the package lacks, admin day overrides and the 60-day coverage
 * check. Expected dates are written out from the State Council's notices and
 * the holiday law, not computed with the code under test.
 */
import { describe, expect, it } from 'vitest';
import { coverageReport, createWorkCalendar, formatShanghai, shanghaiInstant as at, validateDayOverride, validateYearConfirmation, type WorkCalendar } from '../../src/tickets/calendar.js';
import { CHINESE_DAYS_VERSION, chineseDaysData, chineseDaysYears, lunarToDayIndex, statutoryYear } from '../../src/tickets/calendar-source.js';
import { validateCalendarData, dayIndexToDate, dateToDayIndex } from '../../src/tickets/calendar.js';

const data = chineseDaysData();
/** The calendar as the app builds it: the package's years, then the statutory days. */
const appCalendar = (extra: Parameters<typeof createWorkCalendar>[0] extends infer O ? Partial<O> : never = {}): WorkCalendar =>
  createWorkCalendar({ data, fallback: statutoryYear, ...extra });
const endOf = (date: string) => at(date, '00:00') + 86_400_000 - 1;
const officialOff = (year: string) => {
  const off = new Set<string>();
  for (const h of data.years[year]!.holidays) for (let d = dateToDayIndex(h.from)!; d <= dateToDayIndex(h.to)!; d++) off.add(dayIndexToDate(d));
  return off;
};

describe('calendar source: the chinese-days package', () => {
  it('GIVEN the installed package WHEN read THEN it is valid calendar data for 2004–2026 with the version named in every source', () => {
    expect(CHINESE_DAYS_VERSION).toBe('1.5.7');
    expect(validateCalendarData(data)).toEqual([]);
    const years = chineseDaysYears();
    expect(years[0]).toBe(2004);
    expect(years[years.length - 1]).toBe(2026);
    expect(years).not.toContain(2027); // the 2027 notice is not in 1.5.7: why the statutory fallback exists
    expect(data.years['2026']!.source).toContain('chinese-days 1.5.7');
  });

  it('GIVEN the 2026 notice WHEN read from the package THEN its ranges and make-up days are the notice’s', () => {
    const y = data.years['2026']!;
    expect(y.holidays.map((h) => `${h.name} ${h.from}..${h.to}`)).toEqual([
      '元旦 2026-01-01..2026-01-03',
      '春节 2026-02-15..2026-02-23',
      '清明 2026-04-04..2026-04-06',
      '劳动节 2026-05-01..2026-05-05',
      '端午 2026-06-19..2026-06-21',
      '中秋 2026-09-25..2026-09-27',
      '国庆节 2026-10-01..2026-10-07',
    ]);
    expect(y.workdays.map((w) => w.date)).toEqual(['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10']);
  });

  it('GIVEN every official year since the 2008 law WHEN converting lunar 正月初一, 五月初五 and 八月十五 THEN each is a day off in the notices (the lunar arithmetic agrees with them)', () => {
    // Days off rather than listed holidays: the package lists some weekend festival days only as a
    // weekend (2012's 端午 is "06-22, 06-24", Saturday 06-23 implied) — the same for working-day counts.
    const cal = createWorkCalendar({ data });
    for (let y = 2008; y <= 2026; y++) {
      for (const [m, d] of [[1, 1], [5, 5], [8, 15]] as const) {
        const date = dayIndexToDate(lunarToDayIndex(y, m, d));
        expect([y, m, d, date, cal.isWorkingDay(date)]).toEqual([y, m, d, date, false]);
      }
    }
    // Spot checks against the calendar itself: 春节 2020-01-25, 2023-01-22, 2027-02-06.
    expect(dayIndexToDate(lunarToDayIndex(2020, 1, 1))).toBe('2020-01-25');
    expect(dayIndexToDate(lunarToDayIndex(2023, 1, 1))).toBe('2023-01-22');
    expect(dayIndexToDate(lunarToDayIndex(2027, 1, 1))).toBe('2027-02-06');
  });
});

describe('calendar source: statutory days for a year without a notice', () => {
  it('GIVEN 2025 and 2026 WHEN deriving the statutory days (with 补假) THEN every one of them is off in the official notice', () => {
    for (const y of ['2025', '2026']) {
      const off = officialOff(y);
      const stat = statutoryYear(Number(y))!;
      expect(stat.workdays).toEqual([]);
      for (const h of stat.holidays) for (let d = dateToDayIndex(h.from)!; d <= dateToDayIndex(h.to)!; d++) expect([y, h.name, dayIndexToDate(d), off.has(dayIndexToDate(d))]).toEqual([y, h.name, dayIndexToDate(d), true]);
    }
  });

  it('GIVEN 2027 WHEN deriving THEN 元旦 01-01, 春节 除夕 02-05 to 初三 02-08 plus 补假 02-09/10 for the weekend, 清明 04-05, 劳动节 05-01/02 plus 补假 05-03/04, 端午 06-09, 中秋 09-15, 国庆 10-01..03 plus 补假 10-04/05', () => {
    expect(statutoryYear(2027)!.holidays.map((h) => `${h.name} ${h.from}..${h.to}`)).toEqual([
      '元旦 2027-01-01..2027-01-01',
      '春节 2027-02-05..2027-02-10',
      '清明节 2027-04-05..2027-04-05',
      '劳动节 2027-05-01..2027-05-04',
      '端午节 2027-06-09..2027-06-09',
      '中秋节 2027-09-15..2027-09-15',
      '国庆节 2027-10-01..2027-10-05',
    ]);
    expect(statutoryYear(2024)).toBeUndefined(); // before the 2024 revision: the package has those years anyway
  });

  it('GIVEN the process TZ is New York WHEN deriving 2027 THEN the same days (the package’s local-time formatting is corrected)', () => {
    const ref = JSON.stringify(statutoryYear(2027));
    const before = process.env.TZ;
    try {
      process.env.TZ = 'America/New_York';
      expect(JSON.stringify(statutoryYear(2027))).toBe(ref);
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  it('GIVEN the app calendar and a receipt on Thu 2027-02-04 WHEN 5 working days THEN the Spring Festival days are skipped: due Wed 2027-02-17 (weekends only would say 02-11)', () => {
    const cal = appCalendar();
    expect(cal.coverage(2027)).toBe('statutory');
    expect(formatShanghai(cal.addWorkingDays(at('2027-02-04', '10:00'), 5))).toBe('2027-02-17T23:59:59.999+08:00');
    const weekendsOnly = createWorkCalendar({ data });
    expect(weekendsOnly.coverage(2027)).toBe('weekends-only');
    expect(weekendsOnly.addWorkingDays(at('2027-02-04', '10:00'), 5)).toBe(endOf('2027-02-11'));
    // Official years are untouched by the fallback.
    expect(cal.addWorkingDays(at('2026-02-13', '10:00'), 5)).toBe(endOf('2026-02-27'));
  });
});

describe('calendar: admin day overrides and confirmed years', () => {
  it('GIVEN a local day off on Thu 2027-02-11 and a worked Saturday 2027-02-13 WHEN counting THEN both change the deadline; the overrides win over the data', () => {
    const start = at('2027-02-04', '10:00');
    expect(appCalendar().addWorkingDays(start, 5)).toBe(endOf('2027-02-17'));
    const off = appCalendar({ days: [{ date: '2027-02-11', kind: 'holiday', name: '春节调休' }] });
    expect(off.addWorkingDays(start, 5)).toBe(endOf('2027-02-18'));
    const both = appCalendar({ days: [{ date: '2027-02-11', kind: 'holiday' }, { date: '2027-02-13', kind: 'workday' }] });
    expect(both.addWorkingDays(start, 5)).toBe(endOf('2027-02-17'));
    // A worked day inside an official holiday.
    expect(appCalendar({ days: [{ date: '2026-02-16', kind: 'workday' }] }).isWorkingDay('2026-02-16')).toBe(true);
  });

  it('GIVEN bad overrides WHEN validating or building THEN every error names its field', () => {
    expect(validateDayOverride({ date: '2027-2-11', kind: 'holiday' }).map((e) => e.field)).toEqual(['date']);
    expect(validateDayOverride({ date: '2027-02-30', kind: 'holiday' }).map((e) => e.field)).toEqual(['date']);
    expect(validateDayOverride({ date: '2027-02-11T00:00', kind: 'holiday' }).map((e) => e.field)).toEqual(['date']);
    expect(validateDayOverride({ date: '2027-02-11', kind: 'off' }).map((e) => e.field)).toEqual(['kind']);
    expect(validateDayOverride({ date: '1999-02-11', kind: 'holiday', name: 'x'.repeat(51) }).map((e) => e.field)).toEqual(['date', 'name']);
    expect(validateYearConfirmation({ year: 27, source: ' ' }).map((e) => e.field)).toEqual(['year', 'source']);
    expect(() => appCalendar({ days: [{ date: '2027-02-29', kind: 'holiday' }] })).toThrow(/days\[0\]\.date/);
  });

  it('GIVEN 2027 is statutory WHEN an admin confirms the year THEN its coverage is override; an official year stays official', () => {
    expect(appCalendar({ confirmedYears: [{ year: 2027, source: '国务院办公厅关于2027年部分节假日安排的通知' }] }).coverage(2027)).toBe('override');
    expect(appCalendar({ confirmedYears: [{ year: 2026, source: 'x' }] }).coverage(2026)).toBe('official');
  });
});

describe('calendar: the 60-day coverage check', () => {
  it('GIVEN 2026-10-01 WHEN checking THEN 10-01..11-30 lie in 2026 and are covered', () => {
    const r = coverageReport(appCalendar(), at('2026-10-01', '09:00'));
    expect(r).toEqual({ covered: true, from: '2026-10-01', to: '2026-11-30', days: 60, years: [{ year: 2026, coverage: 'official' }] });
  });

  it('GIVEN 2026-12-06 (today’s real date when written) WHEN checking THEN not covered from 2027-01-01, 2027 being statutory only', () => {
    const r = coverageReport(appCalendar(), at('2026-12-06', '09:00'));
    expect(r.covered).toBe(false);
    expect(r.firstUncovered).toBe('2027-01-01');
    expect(r.years).toEqual([
      { year: 2026, coverage: 'official' },
      { year: 2027, coverage: 'statutory' },
    ]);
  });

  it('GIVEN the clock at 2027-01-04 WHEN checking without and with the year confirmed THEN uncovered from that day, then covered', () => {
    const now = at('2027-01-04', '10:00');
    expect(coverageReport(appCalendar(), now).firstUncovered).toBe('2027-01-04');
    expect(coverageReport(appCalendar({ confirmedYears: [{ year: 2027, source: 'admin entry' }] }), now).covered).toBe(true);
    // Without the fallback a missing year is weekends-only, and uncovered just the same.
    expect(coverageReport(createWorkCalendar({ data }), now).years).toEqual([{ year: 2027, coverage: 'weekends-only' }]);
  });
});
