/**
 * The working-day calendar in the running app, with the app's injectable
 * clock moved into 2027 (a year the chinese-days package in use has no notice
 * for): tickets' deadlines still skip the Spring Festival; the coverage check
 * warns in the log and in /readyz (which stays 200); the admin overrides API
 * (versioned, validated field by field, audited) changes deadlines at once on
 * this instance and, through Redis, on another; bad input changes nothing.
 *
 * Expected instants are written out here (statutory 2027 春节: 除夕 02-05 to
 * 初三 02-08, 补假 02-09/10 for the weekend), not computed with calendar.ts.
 */
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { CalendarOverridesStore, LiveWorkCalendar } from '../../src/tickets/calendar-store.js';
import { loadBundledCalendarData, statutoryYear } from '../../src/tickets/calendar-source.js';
import { useHarness } from '../support/harness.js';
import { logSink } from '../support/log-capture.js';
import { eventually } from '../support/wait.js';
import { at, callRecord, endOfDay, TestClock, ticketFromRecord, userApi } from '../support/tickets.js';

const h = useHarness();

/** Log lines of one app (also sent to the file's shared capture, which checks them for numbers). */
function captureLogs(): { dest: Writable; lines: () => { level: number; msg: string; [k: string]: unknown }[] } {
  const chunks: string[] = [];
  const dest = new Writable({
    write(chunk, enc, cb) {
      chunks.push(String(chunk));
      logSink.write(chunk, enc, cb);
    },
  });
  return { dest, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

const NOISE = { category: 'complaint' as const, requesterKind: 'citizen' as const, summary: '反映小区旁工地夜间施工噪音扰民', unitSuggestion: '' };
let callerSeq = 0;

/** A citizen complaint received at the clock's now, dispatched by keyword rule: its finish-by. */
async function finishByOfNewTicket(app: App, clock: TestClock): Promise<number> {
  const t = await ticketFromRecord(app, callRecord(`1390000${String(1400 + ++callerSeq).padStart(4, '0')}`, clock.now()), NOISE);
  expect(t.ticket.state).toBe('dispatched');
  return t.ticket.deadlines!.finishBy;
}

async function readyz(app: App) {
  const r = await app.http.inject({ method: 'GET', url: '/readyz' });
  return { status: r.statusCode, body: JSON.parse(r.body) };
}

describe('working-day calendar in the app (clock moved into 2027)', () => {
  it('GIVEN the clock at 2027-01-04 WHEN the app starts and a ticket is received on Thu 2027-02-04 THEN its finish-by skips the Spring Festival (due 02-17), the log warns, /readyz names the gap and stays 200', async () => {
    const clock = new TestClock(at('2027-01-04', '10:00:00'));
    const logs = captureLogs();
    const app = await h.startApp({}, { now: clock.now, logDestination: logs.dest });

    const warning = logs.lines().find((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.includes('does not cover 2027-01-04'));
    expect(warning, 'a start-up warning about the uncovered calendar').toBeDefined();
    expect(warning!.msg).toContain('chinese-days 1.5.7');
    expect(warning!.calendar).toMatchObject({ from: '2027-01-04', to: '2027-03-05', firstUncovered: '2027-01-04', years: [{ year: 2027, coverage: 'statutory' }] });

    const ready = await readyz(app);
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    expect(ready.body.calendar).toMatchObject({ covered: false, firstUncovered: '2027-01-04', years: [{ year: 2027, coverage: 'statutory' }] });
    expect(ready.body.calendar.warning).toMatch(/^工作日历未覆盖 2027-01-04 起/);

    clock.set(at('2027-02-04', '10:00:00'));
    // 5 working days: 02-05 除夕 … 02-08 初三 and 补假 02-09/10 off; 02-11, 12, 15, 16, 17.
    expect(await finishByOfNewTicket(app, clock)).toBe(endOfDay('2027-02-17'));
  });

  it('GIVEN an admin WHEN adding a local day off, with bad input and a stale version, then removing it THEN deadlines move and move back, bad input changes nothing (field named), every change is audited and reaches another instance', async () => {
    const clock = new TestClock(at('2027-02-04', '10:00:00'));
    const app = await h.startApp({}, { now: clock.now });
    const admin = await userApi(app, 'cal-admin', ['admin']);
    const supervisor = await userApi(app, 'cal-sup', ['supervisor']);
    // Another instance: its own Redis connections and calendar on the same keys.
    const otherRedis = new Redis(app.config.redisUrl);
    const other = new LiveWorkCalendar({ data: loadBundledCalendarData(), fallback: statutoryYear, store: new CalendarOverridesStore(otherRedis, app.config.keyPrefix) });
    await other.watch(new Redis(app.config.redisUrl));
    try {
      const before = await admin('GET', '/api/admin/calendar');
      expect(before.status).toBe(200);
      expect(before.body).toMatchObject({ version: 0, days: [], years: [], source: { package: 'chinese-days', version: '1.5.7' } });
      expect(before.body.source.officialYears).toContain(2026);
      expect(before.body.source.officialYears).not.toContain(2027);
      expect(await finishByOfNewTicket(app, clock)).toBe(endOfDay('2027-02-17'));

      // WHEN a supervisor tries: read yes, write no.
      expect((await supervisor('GET', '/api/admin/calendar')).status).toBe(200);
      expect((await supervisor('POST', '/api/admin/calendar/days', { version: 0, date: '2027-02-11', kind: 'holiday' })).status).toBe(403);

      // WHEN bad input THEN 400 naming the field, and nothing changed.
      const bad: [object, string][] = [
        [{ version: 0, date: '2027-2-11', kind: 'holiday' }, 'date'],
        [{ version: 0, date: '2027-02-30', kind: 'holiday' }, 'date'],
        [{ version: 0, date: '2027-02-11 ', kind: 'holiday' }, 'date'],
        [{ version: 0, date: '2027-02-11', kind: 'off' }, 'kind'],
        [{ date: '2027-02-11', kind: 'holiday' }, 'version'],
        [{ version: 0, date: '2027-02-11', kind: 'holiday', note: 'x'.repeat(201) }, 'note'],
      ];
      for (const [body, field] of bad) {
        const r = await admin('POST', '/api/admin/calendar/days', body);
        expect([JSON.stringify(body), r.status, r.body.error.field]).toEqual([JSON.stringify(body), 400, field]);
      }
      expect((await admin('GET', '/api/admin/calendar')).body).toMatchObject({ version: 0, days: [] });
      expect(await finishByOfNewTicket(app, clock)).toBe(endOfDay('2027-02-17'));

      // WHEN a local day off on Thu 02-11 THEN the next ticket's deadline moves a day, here and on the other instance.
      const added = await admin('POST', '/api/admin/calendar/days', { version: 0, date: '2027-02-11', kind: 'holiday', name: '春节调休（本地）' });
      expect(added.status, JSON.stringify(added.body)).toBe(201);
      expect(added.body.version).toBe(1);
      expect(added.body.days).toEqual([expect.objectContaining({ date: '2027-02-11', kind: 'holiday', name: '春节调休（本地）', by: 'cal-admin' })]);
      expect(await finishByOfNewTicket(app, clock)).toBe(endOfDay('2027-02-18'));
      await eventually(async () => expect(other.isWorkingDay('2027-02-11')).toBe(false));

      // WHEN the same date again, or a stale version THEN 409 and nothing changed.
      const again = await admin('POST', '/api/admin/calendar/days', { version: 1, date: '2027-02-11', kind: 'workday' });
      expect([again.status, again.body.error.code, again.body.error.field]).toEqual([409, 'calendar-day-exists', 'date']);
      const stale = await admin('POST', '/api/admin/calendar/days', { version: 0, date: '2027-02-12', kind: 'holiday' });
      expect([stale.status, stale.body.error.code]).toEqual([409, 'version-conflict']);
      const staleDelete = await admin('DELETE', '/api/admin/calendar/days/2027-02-11?version=0');
      expect(staleDelete.status).toBe(409);
      const badDelete = await admin('DELETE', '/api/admin/calendar/days/2027-02-31?version=1');
      expect([badDelete.status, badDelete.body.error.field]).toEqual([400, 'date']);
      expect((await admin('GET', '/api/admin/calendar')).body).toMatchObject({ version: 1, days: [{ date: '2027-02-11', kind: 'holiday' }] });
      expect(await finishByOfNewTicket(app, clock)).toBe(endOfDay('2027-02-18'));

      // WHEN removed THEN the deadline is back, here and there.
      const removed = await admin('DELETE', '/api/admin/calendar/days/2027-02-11?version=1');
      expect(removed.status, JSON.stringify(removed.body)).toBe(200);
      expect(removed.body).toMatchObject({ version: 2, days: [] });
      expect(await finishByOfNewTicket(app, clock)).toBe(endOfDay('2027-02-17'));
      await eventually(async () => expect(other.isWorkingDay('2027-02-11')).toBe(true));

      const audit = await app.audit.query({ actor: 'cal-admin' });
      expect(audit.filter((e) => e.action.startsWith('calendar-')).map((e) => [e.action, e.target]).reverse()).toEqual([
        ['calendar-day-added', 'calendar:2027-02-11'],
        ['calendar-day-removed', 'calendar:2027-02-11'],
      ]);
    } finally {
      other.close();
      otherRedis.disconnect();
    }
  });

  it('GIVEN 2027 uncovered WHEN the admin confirms the year (bad year and empty source refused) THEN /readyz and the supervisor overview report it covered', async () => {
    const clock = new TestClock(at('2027-01-04', '10:00:00'));
    const app = await h.startApp({}, { now: clock.now });
    const admin = await userApi(app, 'cal-admin2', ['admin']);
    const supervisor = await userApi(app, 'cal-sup2', ['supervisor']);
    const overview = await supervisor('GET', '/api/supervisor/overview');
    expect(overview.body.calendar).toMatchObject({ covered: false, firstUncovered: '2027-01-04' });

    const badYear = await admin('PUT', '/api/admin/calendar/years/27', { version: 0, source: '国务院办公厅关于2027年部分节假日安排的通知' });
    expect([badYear.status, badYear.body.error.field]).toEqual([400, 'year']);
    const noSource = await admin('PUT', '/api/admin/calendar/years/2027', { version: 0, source: '  ' });
    expect([noSource.status, noSource.body.error.field]).toEqual([400, 'source']);
    expect((await readyz(app)).body.calendar.covered).toBe(false);

    const ok = await admin('PUT', '/api/admin/calendar/years/2027', { version: 0, source: '国务院办公厅关于2027年部分节假日安排的通知（管理员录入）' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.coverage).toMatchObject({ covered: true, years: [{ year: 2027, coverage: 'override' }] });
    expect(ok.body.warning).toBeUndefined();
    expect((await readyz(app)).body.calendar).toMatchObject({ covered: true });
    expect((await supervisor('GET', '/api/supervisor/overview')).body.calendar.covered).toBe(true);
    expect((await app.audit.query({ action: 'calendar-year-confirmed' })).map((e) => e.target)).toEqual(['calendar:2027']);

    const withdrawn = await admin('DELETE', '/api/admin/calendar/years/2027?version=1');
    expect(withdrawn.status).toBe(200);
    expect((await readyz(app)).body.calendar.covered).toBe(false);
  });
});

