/**
 * 回访 campaigns' pure planning (src/campaigns/plan.ts): allowed hours on the working-day calendar
 * (a holiday, a weekend, a 调休 Saturday), retry spacing, the attempts cap and the concurrency cap.
 */
import { describe, expect, it } from 'vitest';
import { finishAttempt, isAllowed, nextAllowed, parseHours, planCampaign, progressOf, sampleTickets, startAttempt, type CampaignItem, type CampaignRules, type HourWindow } from '../../src/campaigns/plan.js';
import { createWorkCalendar, shanghaiInstant as at } from '../../src/tickets/calendar.js';
import { loadBundledCalendarData } from '../../src/tickets/calendar-source.js';

const cal = createWorkCalendar({ data: loadBundledCalendarData() });
const HOURS = parseHours('09:00-12:00,14:00-20:00') as HourWindow[];
const rules = (over: Partial<CampaignRules> = {}): CampaignRules => ({ status: 'running', hours: HOURS, maxAttempts: 3, retryIntervalSec: 1800, concurrency: 2, ...over });
const item = (ticketNo: string, nextAt: number, over: Partial<CampaignItem> = {}): CampaignItem => ({ ticketNo, state: 'pending', attempts: 0, nextAt, history: [], ...over });

describe('allowed hours', () => {
  it('GIVEN "09:00-12:00,14:00-20:00" WHEN parsed THEN two windows; bad text names what is wrong', () => {
    expect(HOURS).toEqual([{ from: 540, to: 720 }, { from: 840, to: 1200 }]);
    expect(parseHours('14:00-20:00, 09:00-12:00')).toEqual(HOURS);
    expect(parseHours('9-12')).toMatchObject({ error: expect.stringContaining('"9-12"') });
    expect(parseHours('12:00-09:00')).toMatchObject({ error: expect.stringContaining('end after') });
    expect(parseHours('09:00-12:00,11:00-13:00')).toMatchObject({ error: expect.stringContaining('overlap') });
    expect(parseHours('')).toMatchObject({ error: expect.any(String) });
  });

  it('GIVEN a working Wednesday WHEN checked THEN inside the windows only (ends exclusive), city time', () => {
    expect(isAllowed(at('2026-12-09', '08:59:59'), HOURS, cal)).toBe(false);
    expect(isAllowed(at('2026-12-09', '09:00'), HOURS, cal)).toBe(true);
    expect(isAllowed(at('2026-12-09', '11:59:59'), HOURS, cal)).toBe(true);
    expect(isAllowed(at('2026-12-09', '12:00'), HOURS, cal)).toBe(false);
    expect(isAllowed(at('2026-12-09', '13:30'), HOURS, cal)).toBe(false);
    expect(isAllowed(at('2026-12-09', '19:59'), HOURS, cal)).toBe(true);
    expect(isAllowed(at('2026-12-09', '20:00'), HOURS, cal)).toBe(false);
    // Lunch break → 14:00 the same day; evening → 09:00 the next working day.
    expect(nextAllowed(at('2026-12-09', '12:30'), HOURS, cal)).toBe(at('2026-12-09', '14:00'));
    expect(nextAllowed(at('2026-12-09', '20:30'), HOURS, cal)).toBe(at('2026-12-10', '09:00'));
    expect(nextAllowed(at('2026-12-09', '10:15'), HOURS, cal)).toBe(at('2026-12-09', '10:15'));
  });

  it('GIVEN Friday evening before a weekend WHEN the next allowed instant is asked THEN Monday 09:00 (Saturday and Sunday are off)', () => {
    expect(isAllowed(at('2026-12-12', '10:00'), HOURS, cal)).toBe(false); // Saturday
    expect(nextAllowed(at('2026-12-11', '20:00'), HOURS, cal)).toBe(at('2026-12-14', '09:00'));
  });

  it('GIVEN the National Day holiday (1–7 Oct 2026) and its 调休 Saturday 10 Oct WHEN asked THEN no calls on the holiday, the first at 8 Oct 09:00, and the 调休 Saturday is a calling day', () => {
    expect(isAllowed(at('2026-10-05', '10:00'), HOURS, cal)).toBe(false); // a Monday, but a holiday
    expect(nextAllowed(at('2026-09-30', '20:00'), HOURS, cal)).toBe(at('2026-10-08', '09:00'));
    expect(isAllowed(at('2026-10-10', '10:00'), HOURS, cal)).toBe(true);
    expect(nextAllowed(at('2026-10-09', '21:00'), HOURS, cal)).toBe(at('2026-10-10', '09:00'));
  });
});

describe('planning a campaign', () => {
  it('GIVEN due tickets outside the hours WHEN planned THEN nothing is placed and it wakes at the next window', () => {
    const now = at('2026-12-11', '20:30');
    const plan = planCampaign(rules(), [item('1001', now), item('1002', now)], now, cal);
    expect(plan).toEqual({ place: [], wakeAt: at('2026-12-14', '09:00'), done: false });
  });

  it('GIVEN five due tickets and a concurrency of 2 with one call in progress WHEN planned inside the hours THEN one call is placed (oldest due first), no timed wake (a call’s end frees the place)', () => {
    const now = at('2026-12-14', '09:00');
    const items = [item('1005', now - 5), item('1001', now - 1), item('1002', now - 9, { state: 'calling', attempts: 1 }), item('1003', now - 3), item('1004', now + 60_000)];
    const plan = planCampaign(rules(), items, now, cal);
    expect(plan.place).toEqual([{ ticketNo: '1005', attempt: 1 }]);
    expect(plan.wakeAt).toBeUndefined();
    expect(plan.done).toBe(false);
    // With room for all: every due one, then a wake at the retry's due time.
    const wide = planCampaign(rules({ concurrency: 10 }), items, now, cal);
    expect(wide.place.map((p) => p.ticketNo)).toEqual(['1005', '1003', '1001']);
    expect(wide.wakeAt).toBe(now + 60_000);
  });

  it('GIVEN a retry due at 11:50 + 30 min WHEN planned THEN it waits for the 14:00 window', () => {
    const now = at('2026-12-14', '11:55');
    const plan = planCampaign(rules(), [item('1001', at('2026-12-14', '12:20'), { attempts: 1 })], now, cal);
    expect(plan).toEqual({ place: [], wakeAt: at('2026-12-14', '14:00'), done: false });
  });

  it('GIVEN a paused campaign WHEN planned THEN nothing is placed; all items final → done', () => {
    const now = at('2026-12-14', '10:00');
    expect(planCampaign(rules({ status: 'paused' }), [item('1001', now)], now, cal)).toEqual({ place: [], done: false });
    expect(planCampaign(rules(), [item('1001', now, { state: 'rated' }), item('1002', now, { state: 'exhausted' })], now, cal)).toEqual({ place: [], done: true });
  });
});

describe('attempts', () => {
  const c = { maxAttempts: 3, retryIntervalSec: 600 };
  it('GIVEN busy, then no answer, then busy WHEN each ends THEN retried after the interval from its end, exhausted after the third', () => {
    let i = startAttempt(item('1001', 0), 1);
    i = finishAttempt(i, { n: 1, at: 1000, endedAt: 5000, outcome: 'busy' }, c);
    expect(i).toMatchObject({ state: 'pending', attempts: 1, nextAt: 5000 + 600_000 });
    i = finishAttempt(startAttempt(i, 2), { n: 2, at: 605_000, endedAt: 640_000, outcome: 'no-answer' }, c);
    expect(i).toMatchObject({ state: 'pending', attempts: 2, nextAt: 640_000 + 600_000 });
    i = finishAttempt(startAttempt(i, 3), { n: 3, at: 1_240_000, endedAt: 1_250_000, outcome: 'busy' }, c);
    expect(i.state).toBe('exhausted');
    expect(i.history.map((h) => h.outcome)).toEqual(['busy', 'no-answer', 'busy']);
  });

  it('GIVEN a rating, or an answer without one WHEN the attempt ends THEN the item is final (not called again); an interrupted attempt counts as made', () => {
    const rated = finishAttempt(startAttempt(item('1001', 0), 1), { n: 1, at: 0, endedAt: 10, outcome: 'rated', rating: 2 }, c);
    expect(rated).toMatchObject({ state: 'rated', rating: 2 });
    expect(rated.history[0]).toEqual({ n: 1, at: 0, endedAt: 10, outcome: 'rated' });
    expect(finishAttempt(startAttempt(item('1002', 0), 1), { n: 1, at: 0, endedAt: 10, outcome: 'no-rating' }, c).state).toBe('no-rating');
    expect(finishAttempt(startAttempt(item('1003', 0), 1), { n: 1, at: 0, endedAt: 10, outcome: 'interrupted' }, c)).toMatchObject({ state: 'pending', attempts: 1, nextAt: 600_010 });
    expect(progressOf([rated])).toMatchObject({ rated: 1, total: 1, calls: 1 });
  });

  it('GIVEN a sample of 30 % WHEN drawn twice with the same seed THEN the same tickets, about 30 %; 100 % takes all', () => {
    const nos = Array.from({ length: 1000 }, (_, k) => String(20260000000 + k));
    const a = sampleTickets(nos, 30, 'cmp-x');
    expect(sampleTickets(nos, 30, 'cmp-x')).toEqual(a);
    expect(a.length).toBeGreaterThan(240);
    expect(a.length).toBeLessThan(360);
    expect(sampleTickets(nos, 100, 'cmp-x')).toHaveLength(1000);
  });
});
