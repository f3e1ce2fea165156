/**
 * Ticket clocks end to end, with the app's injectable clock (AppOptions.now):
 * a ticket made by a real call through the PBX just before the 2026 Spring
 * Festival gets the finish-by the official calendar gives (make-up working
 * day counted, the holiday skipped), and its reminders (催办) and overdue flag
 * (督办) fire at exactly their instants — checked just before and just after
 * each one with TicketClocks.runDue(), in flags(), overdue() and
 * GET /api/tickets?overdue=true. A Yantai outage ticket before National Day
 * proves the reply clock (30 minutes) and a finish-by on a make-up Saturday.
 *
 * Expected instants are written out here from the State Council's 2026 notice
 * (春节 02-15…02-23, make-up 02-14 and 02-28; 国庆 10-01…10-07, make-up 10-10),
 * not computed with src/tickets/calendar.ts.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { useHarness } from '../support/harness.js';
import { at, callWithForm, consoleAgent, endOfDay, TestClock, ticketFromRecord, callRecord, userApi, type Api } from '../support/tickets.js';

const h = useHarness();
const HOUR = 3_600_000;

/** `ms` of working time from the first segment's start, walking only the given working segments. */
function addWorkingMs(segments: [number, number][], ms: number): number {
  let left = ms;
  for (const [a, b] of segments) {
    if (left <= b - a) return a + left;
    left -= b - a;
  }
  throw new Error('beyond the working segments');
}
const span = (segments: [number, number][]) => segments.reduce((s, [a, b]) => s + (b - a), 0);

/** Move the clock to `instant` and fire what is due; returns how many clock jobs ran. */
async function runAt(app: App, clock: TestClock, instant: number): Promise<number> {
  clock.set(instant);
  return app.ticketClocks.runDue();
}

async function overdueList(api: Api): Promise<string[]> {
  const r = await api('GET', '/api/tickets?overdue=true');
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.tickets.map((t: { ticketNo: string }) => t.ticketNo);
}

describe('ticket clocks with a moved clock', () => {
  it('GIVEN a call on Fri 2026-02-13 10:00 dispatched by keyword rule WHEN the clock moves THEN finish-by is 02-27 (make-up 02-14 counted, Spring Festival skipped) and each reminder and the overdue flag fire at their instant', async () => {
    const clock = new TestClock(at('2026-02-13', '10:00:00'));
    const app = await h.startApp({}, { now: clock.now });
    const agent = await consoleAgent(app, '7101');
    const unit = await userApi(app, 'unit-zj', ['unit'], { unitId: '市住房城乡建设局' });
    const supervisor = await userApi(app, 'sup-clocks', ['supervisor']);

    const { session, ticket: st } = await callWithForm(h, app, {
      number: '12345',
      caller: '13900001301',
      agentId: '7101',
      agent,
      form: { category: 'complaint', requesterKind: 'citizen', summary: '反映小区旁工地夜间施工噪音扰民', unitSuggestion: '' },
    });
    const t = st.ticket;
    expect(t.receivedAt).toBe(session.record.startedAt);
    expect(t.receivedAt).toBeGreaterThanOrEqual(at('2026-02-13', '10:00:00'));
    expect(t.receivedAt).toBeLessThan(at('2026-02-13', '10:01:00'));
    expect(t.ticketNo).toMatch(/^063220260213\d{6}$/);
    expect(t.state).toBe('dispatched');
    expect(t.units).toEqual(['市住房城乡建设局']);
    const dispatched = t.history.find((e) => e.type === 'dispatched')!;
    expect(dispatched.reason).toContain('construction-noise');
    const D = dispatched.at;
    expect(t.deadlines!.startedAt).toBe(D);

    // 5 working days after Fri 02-13: Sat 02-14 (调休上班), then 02-24, 25, 26, 27 (春节 02-15…23 off).
    expect(t.deadlines!.finishBy).toBe(endOfDay('2026-02-27'));
    expect(t.deadlines!.ruleIds.finish).toBe('zaozhuang-citizen');
    expect(t.deadlines!.replyBy).toBeUndefined();
    // Reminders at 50 % and 80 % of the working time, and at the start of the last day.
    const working: [number, number][] = [
      [D, at('2026-02-15')],
      [at('2026-02-24'), at('2026-02-28')],
    ];
    const W = span(working);
    const remindAt = [addWorkingMs(working, Math.round(W * 0.5)), addWorkingMs(working, Math.round(W * 0.8)), at('2026-02-27')];
    expect(remindAt[0]).toBeGreaterThan(at('2026-02-25', '04:59:00'));
    expect(remindAt[0]).toBeLessThan(at('2026-02-25', '05:01:00'));
    expect(remindAt[1]).toBeGreaterThan(at('2026-02-26', '21:11:00'));
    expect(t.deadlines!.remindAt).toEqual(remindAt);

    const view = await unit('GET', `/api/tickets/${t.ticketNo}`);
    expect(view.status).toBe(200);
    expect(view.body.ticket.ticket.deadlines.finishBy).toBe(endOfDay('2026-02-27'));
    expect(view.body.flags).toEqual({ reminded: [] });
    expect((await unit('POST', `/api/tickets/${t.ticketNo}/accept`, {})).body.ticket.ticket.state).toBe('accepted');

    for (const [i, x] of remindAt.entries()) {
      expect(await runAt(app, clock, x - 1_000), `reminder ${i} just before`).toBe(0);
      expect((await app.ticketClocks.flags(t.ticketNo)).reminded).toEqual(remindAt.slice(0, i));
      expect(await runAt(app, clock, x + 1_000), `reminder ${i} just after`).toBe(1);
      expect((await app.ticketClocks.flags(t.ticketNo)).reminded).toEqual(remindAt.slice(0, i + 1));
      expect(await app.ticketClocks.overdue()).toEqual([]);
    }

    // 督办: the instant after finish-by, 2026-02-28 00:00:00.000.
    const F = at('2026-02-28');
    expect(await runAt(app, clock, F - 1_000)).toBe(0);
    expect((await app.ticketClocks.flags(t.ticketNo)).finishOverdueAt).toBeUndefined();
    expect(await app.ticketClocks.overdue()).toEqual([]);
    expect(await overdueList(supervisor)).toEqual([]);
    expect(await runAt(app, clock, F + 1_000)).toBe(1);
    expect(await app.ticketClocks.flags(t.ticketNo)).toEqual({ reminded: remindAt, finishOverdueAt: F });
    expect(await app.ticketClocks.overdue()).toEqual([t.ticketNo]);
    expect(await overdueList(supervisor)).toEqual([t.ticketNo]);
    expect(await overdueList(unit)).toEqual([t.ticketNo]);
    const listed = (await supervisor('GET', '/api/tickets?overdue=true')).body.tickets[0];
    expect(listed).toMatchObject({ state: 'accepted', units: ['市住房城乡建设局'], finishBy: endOfDay('2026-02-27'), caller: '139****1301' });
    // Nothing fires twice.
    expect(await runAt(app, clock, F + 5 * HOUR)).toBe(0);

    // The unit replies late: recorded as late, and the ticket leaves the 督办 list.
    const reply = await unit('POST', `/api/tickets/${t.ticketNo}/reply`, { content: '已责令工地夜间停工' });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.ticket.ticket.history.at(-1)).toMatchObject({ type: 'replied', data: { late: true } });
    expect(await app.ticketClocks.overdue()).toEqual([]);
    expect(await overdueList(supervisor)).toEqual([]);
  });

  it('GIVEN a Yantai water-outage ticket on Wed 2026-09-30 09:00 WHEN the clock passes reply-by THEN the reply is flagged overdue at reply-by + 1 ms, and finish-by is Sat 10-10 (National Day skipped, make-up day counted)', async () => {
    const clock = new TestClock(at('2026-09-30', '09:00:00'));
    const app = await h.startApp({ HOTLINE_CITY: 'yantai' }, { now: clock.now });
    const unit = await userApi(app, 'unit-water', ['unit'], { unitId: '市水务集团' });
    const supervisor = await userApi(app, 'sup-yantai', ['supervisor']);

    const st = await ticketFromRecord(app, callRecord('13900001302', clock.now()), {
      category: 'help',
      requesterKind: 'citizen',
      summary: '小区停水两天了',
      unitSuggestion: '市水务集团',
    });
    const t = st.ticket;
    expect(t.ticketNo).toMatch(/^053520260930\d{6}$/);
    expect(t.state).toBe('dispatched');
    const D = t.history.find((e) => e.type === 'dispatched')!.at;
    expect(t.deadlines).toMatchObject({ urgent: true, ruleIds: { reply: 'yantai-utility-outage', finish: 'yantai-utility-outage' } });
    expect(t.deadlines!.replyBy).toBe(D + 30 * 60_000);
    // 3 working days: 10-08, 10-09, Sat 10-10 (调休上班).
    expect(t.deadlines!.finishBy).toBe(endOfDay('2026-10-10'));
    const working: [number, number][] = [
      [D, at('2026-10-01')],
      [at('2026-10-08'), at('2026-10-11')],
    ];
    const W = span(working);
    expect(t.deadlines!.remindAt).toEqual([addWorkingMs(working, Math.round(W * 0.5)), at('2026-10-10'), addWorkingMs(working, Math.round(W * 0.8))]);

    const R = t.deadlines!.replyBy! + 1;
    expect(await runAt(app, clock, R - 1_000)).toBe(0);
    expect(await app.ticketClocks.flags(t.ticketNo)).toEqual({ reminded: [] });
    expect(await overdueList(supervisor)).toEqual([]);
    expect(await runAt(app, clock, R + 1_000)).toBe(1);
    expect(await app.ticketClocks.flags(t.ticketNo)).toEqual({ reminded: [], replyOverdueAt: R });
    expect(await app.ticketClocks.overdue()).toEqual([t.ticketNo]);
    expect(await overdueList(supervisor)).toEqual([t.ticketNo]);

    // The unit contacts the caller after reply-by: recorded as late.
    expect((await unit('POST', `/api/tickets/${t.ticketNo}/accept`, {})).status).toBe(200);
    const start = await unit('POST', `/api/tickets/${t.ticketNo}/start`, { note: '已联系来电人' });
    expect(start.status).toBe(200);
    expect(start.body.ticket.ticket.history.at(-1)).toMatchObject({ type: 'in-progress', data: { replyLate: true } });
  });
});
