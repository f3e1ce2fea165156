import { describe, expect, it } from 'vitest';
import {
  createWorkCalendar,
  formatShanghai,
  shanghaiInstant as at,
  validateCalendarData,
  type CalendarData,
} from '../../src/tickets/calendar.js';
import { loadBundledCalendarData } from '../../src/tickets/calendar-source.js';
import { DomainDataError } from '../../src/tickets/domain-errors.js';

const data = loadBundledCalendarData();
const cal = createWorkCalendar({ data });
const endOf = (date: string) => at(date, '00:00') + 86_400_000 - 1;
const iso = (ms: number) => formatShanghai(ms);

describe('WorkCalendar: 2026 holidays and make-up days', () => {
  it('GIVEN the 2026 Spring Festival (Feb 15–23) WHEN asking day by day THEN the make-up Saturdays work and the holiday rests', () => {
    const expected: Record<string, boolean> = {
      '2026-02-13': true, // Friday before
      '2026-02-14': true, // Saturday, make-up day
      '2026-02-15': false,
      '2026-02-18': false, // a Wednesday inside the holiday
      '2026-02-23': false, // Monday, last holiday day
      '2026-02-24': true,
      '2026-02-28': true, // Saturday, make-up day
      '2026-03-01': false, // ordinary Sunday
      '2026-02-21': false, // Saturday inside the holiday
    };
    for (const [d, w] of Object.entries(expected)) expect([d, cal.isWorkingDay(d)]).toEqual([d, w]);
  });

  it('GIVEN New Year, Labour Day and National Day 2026 WHEN asking THEN Jan 4, May 9, Sep 20 and Oct 10 are worked, the holidays are not', () => {
    for (const d of ['2026-01-04', '2026-05-09', '2026-09-20', '2026-10-10']) expect([d, cal.isWorkingDay(d)]).toEqual([d, true]);
    for (const d of ['2026-01-01', '2026-01-02', '2026-04-06', '2026-05-05', '2026-06-19', '2026-09-25', '2026-10-01', '2026-10-07'])
      expect([d, cal.isWorkingDay(d)]).toEqual([d, false]);
    expect(cal.isWorkingDay('2026-10-08')).toBe(true); // Thursday after National Day
  });

  it('GIVEN 2025 WHEN asking THEN the 2025 notice applies (Spring Festival Jan 28–Feb 4, National Day Oct 1–8, make-up Jan 26 / Feb 8 / Apr 27 / Sep 28 / Oct 11)', () => {
    for (const d of ['2025-01-26', '2025-02-08', '2025-04-27', '2025-09-28', '2025-10-11']) expect([d, cal.isWorkingDay(d)]).toEqual([d, true]);
    for (const d of ['2025-01-28', '2025-02-04', '2025-05-31', '2025-06-02', '2025-10-08']) expect([d, cal.isWorkingDay(d)]).toEqual([d, false]);
  });

  it('GIVEN an instant late in the Shanghai evening WHEN asking THEN the Shanghai date decides, not UTC', () => {
    // Sat 2026-02-14 00:30 in Shanghai is still Friday 16:30 UTC; Sunday 00:30 is Saturday (a make-up day) in UTC.
    expect(cal.isWorkingDay(at('2026-02-15', '00:30'))).toBe(false);
    expect(cal.isWorkingDay(at('2026-02-24', '00:30'))).toBe(true);
  });
});

describe('WorkCalendar: addWorkingDays (receipt day not counted, due at the end of the Nth working day)', () => {
  it('GIVEN receipt Fri 2026-02-13 10:00 WHEN 5 working days THEN day 1 is the make-up Saturday and the deadline is Fri 02-27 end of day', () => {
    expect(iso(cal.addWorkingDays(at('2026-02-13', '10:00'), 5))).toBe('2026-02-27T23:59:59.999+08:00');
  });

  it('GIVEN receipt during the holiday WHEN 5 working days THEN counting starts on the next working day and ends on the make-up Saturday 02-28', () => {
    expect(cal.addWorkingDays(at('2026-02-16', '09:00'), 5)).toBe(endOf('2026-02-28'));
  });

  it('GIVEN receipt on an ordinary Saturday WHEN 5 working days THEN Monday is day 1 and Friday the deadline', () => {
    expect(cal.addWorkingDays(at('2026-03-07', '15:00'), 5)).toBe(endOf('2026-03-13'));
  });

  it('GIVEN receipt Thu 02-12 WHEN 5 working days THEN Fri 13, Sat 14, Tue 24, Wed 25, Thu 26', () => {
    expect(cal.addWorkingDays(at('2026-02-12', '11:00'), 5)).toBe(endOf('2026-02-26'));
  });

  it('GIVEN receipt 23:30 vs 00:30 Shanghai WHEN 1 working day THEN the Shanghai day of receipt is what is excluded', () => {
    expect(cal.addWorkingDays(at('2026-03-09', '23:30'), 1)).toBe(endOf('2026-03-10'));
    expect(cal.addWorkingDays(at('2026-03-10', '00:30'), 1)).toBe(endOf('2026-03-11'));
  });

  it('GIVEN National Day 2026 WHEN 3 working days from Tue 09-29 THEN Wed 30, Thu 10-08, Fri 10-09', () => {
    expect(cal.addWorkingDays(at('2026-09-29', '10:00'), 3)).toBe(endOf('2026-10-09'));
    expect(cal.addWorkingDays(at('2026-09-29', '10:00'), 4)).toBe(endOf('2026-10-10')); // make-up Saturday
  });

  it('GIVEN n = 0 WHEN on a working day or a holiday THEN the end of that day or of the next working day', () => {
    expect(cal.addWorkingDays(at('2026-03-09', '10:00'), 0)).toBe(endOf('2026-03-09'));
    expect(cal.addWorkingDays(at('2026-02-20', '10:00'), 0)).toBe(endOf('2026-02-24'));
  });

  it('GIVEN a bad n WHEN adding THEN RangeError', () => {
    expect(() => cal.addWorkingDays(0, -1)).toThrow(RangeError);
    expect(() => cal.addWorkingDays(0, 1.5)).toThrow(RangeError);
  });

  it('GIVEN any start and n WHEN counting back with workingDaysBetween THEN it is n (and negative the other way)', () => {
    for (const start of [at('2026-02-13', '10:00'), at('2026-02-16', '10:00'), at('2026-09-27', '22:00'), at('2025-12-31', '12:00')]) {
      for (const n of [1, 2, 5, 10, 15]) {
        const due = cal.addWorkingDays(start, n);
        expect(cal.workingDaysBetween(start, due)).toBe(n);
        expect(cal.workingDaysBetween(due, start)).toBe(-n);
      }
    }
  });
});

describe('WorkCalendar: natural days, hours and working time', () => {
  it('GIVEN receipt Mon 10:00 WHEN 3 natural days THEN end of Thursday; 0 days is the end of the same day (当天)', () => {
    expect(cal.addNaturalDays(at('2026-03-09', '10:00'), 3)).toBe(endOf('2026-03-12'));
    expect(cal.addNaturalDays(at('2026-02-15', '10:00'), 3)).toBe(endOf('2026-02-18')); // holidays do not stop natural days
    expect(cal.addNaturalDays(at('2026-03-09', '10:00'), 0)).toBe(endOf('2026-03-09'));
  });

  it('GIVEN half an hour WHEN addHours(0.5) THEN 30 minutes later', () => {
    expect(cal.addHours(at('2026-02-16', '23:50'), 0.5)).toBe(at('2026-02-17', '00:20'));
  });

  it('GIVEN 24 working hours WHEN starting Fri 16:00, on the Fri before a make-up Saturday, or on a holiday THEN the clock stops outside working days', () => {
    const day = 86_400_000;
    expect(cal.addWorkingTime(at('2026-03-06', '16:00'), day)).toBe(at('2026-03-09', '16:00'));
    expect(cal.addWorkingTime(at('2026-02-13', '16:00'), day)).toBe(at('2026-02-14', '16:00'));
    expect(cal.addWorkingTime(at('2026-02-14', '16:00'), day)).toBe(at('2026-02-24', '16:00'));
    expect(cal.addWorkingTime(at('2026-02-18', '16:00'), day)).toBe(at('2026-02-25', '00:00'));
    expect(cal.workingTimeBetween(at('2026-03-06', '16:00'), at('2026-03-09', '16:00'))).toBe(day);
  });
});

describe('WorkCalendar: coverage and overrides', () => {
  it('GIVEN a year missing from the data WHEN asking THEN weekends-only is reported and used', () => {
    expect(cal.coverage(2026)).toBe('official');
    expect(cal.coverage(2025)).toBe('official');
    expect(cal.coverage(2027)).toBe('weekends-only');
    expect(cal.isWorkingDay('2027-01-01')).toBe(true); // a Friday: surely a holiday, but unknown without data
    expect(cal.isWorkingDay('2027-01-02')).toBe(false);
  });

  it('GIVEN an admin override for 2027 WHEN asking THEN it is used and reported as override', () => {
    const c = createWorkCalendar({
      data,
      overrides: { '2027': { source: 'admin entry', holidays: [{ name: '元旦', from: '2027-01-01', to: '2027-01-01' }], workdays: [] } },
    });
    expect(c.coverage(2027)).toBe('override');
    expect(c.isWorkingDay('2027-01-01')).toBe(false);
  });

  it('GIVEN an override of a known year WHEN asking THEN the official days of that year are replaced, not merged', () => {
    const c = createWorkCalendar({ data, overrides: { '2026': { source: 'admin', holidays: [], workdays: [] } } });
    expect(c.coverage(2026)).toBe('override');
    expect(c.isWorkingDay('2026-02-16')).toBe(true); // a Monday with the holiday removed
    expect(c.isWorkingDay('2026-02-14')).toBe(false); // Saturday, no longer a make-up day
  });

  it('GIVEN the process TZ is New York WHEN computing THEN results are the same (pure UTC+8 arithmetic)', () => {
    const before = process.env.TZ;
    const ref = cal.addWorkingDays(at('2026-02-13', '23:30'), 5);
    try {
      process.env.TZ = 'America/New_York';
      expect(cal.addWorkingDays(at('2026-02-13', '23:30'), 5)).toBe(ref);
      expect(iso(ref)).toBe('2026-02-27T23:59:59.999+08:00');
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  it('GIVEN bad data WHEN validating or building THEN each error names its field', () => {
    const bad: CalendarData = {
      years: {
        '2026': {
          source: 'x',
          holidays: [{ name: '春节', from: '2026-02-30', to: '2026-02-23' }],
          workdays: [{ date: '2026-02-16' }],
        },
      },
    };
    const errs = validateCalendarData(bad);
    expect(errs.map((e) => e.field)).toEqual(['years.2026.holidays[0].from', 'years.2026.workdays[0].date']);
    expect(errs[1]!.message).toMatch(/Saturday or Sunday/);
    expect(() => createWorkCalendar({ data: bad })).toThrow(DomainDataError);
    expect(validateCalendarData(data)).toEqual([]);
  });
});
