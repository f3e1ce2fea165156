/**
 * From a call to its ticket and back, through the simulated PBX: a citizen
 * dials the parallel legacy line 12333 (Zaozhuang) just before National Day
 * 2026, the agent fills the form in the console, the ticket goes to the
 * line's responsible unit with the due date the official calendar gives; a
 * second call uses the IVR self-service (3, ticket number, #) and hears the
 * status, the unit and the due date read back — again after the unit extended
 * it. A repeat of the same matter by the same caller is linked to the first.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { CallSession } from '../../src/calls/session.js';
import { pressAtWelcome, sessionByCaller, useHarness } from '../support/harness.js';
import { at, callWithForm, consoleAgent, endOfDay, TestClock, ticketOfCall, userApi } from '../support/tickets.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const HRSS = '市人力资源社会保障局';

const prompts = (s: CallSession) => s.record.path.filter((p) => p.kind === 'prompt').map((p) => p.detail);

/** A zh date as the IVR says it: 2026 年 10 月 13 日. */
function zhDate(y: number, m: number, d: number): string[] {
  return [`number:${y}`, 'sound:hotline/date-year', `number:${m}`, 'sound:hotline/date-month', `number:${d}`, 'sound:hotline/date-day'];
}

/** Call 12345, choose ticket status (3), key the number and #; returns the read-out prompt line and what the caller heard. */
async function checkStatus(app: App, caller: string, ticketNo: string): Promise<{ readout: string; heard: string[]; session: CallSession }> {
  const call = await h.side.call('12345', caller);
  await call.answered();
  const s = await sessionByCaller(app, caller);
  await pressAtWelcome(s, call, '3');
  await eventually(() => expect(prompts(s).some((p) => p.startsWith('ticket-enter-number'))).toBe(true));
  await call.press(`${ticketNo}#`);
  const readout = await eventually(() => {
    const r = prompts(s).find((p) => p.startsWith('ticket-intro'));
    expect(r).toBeDefined();
    return r!;
  });
  // What the caller heard, in order (ARI media of the read-out; free text has no recording and is skipped).
  const heard = await eventually(() => {
    const all = h.side.heard(s.callId);
    const from = all.indexOf('sound:hotline/ticket-intro');
    expect(from).toBeGreaterThanOrEqual(0);
    expect(all.slice(from)).toContain('sound:hotline/date-day');
    return all.slice(from);
  }, 60_000); // the read-out (number digit by digit, status, unit, date) lasts about half a minute
  await call.hangup();
  await call.ended();
  return { readout, heard, session: s };
}

describe('a call becomes a ticket, and the caller checks it by phone', () => {
  it('GIVEN the parallel line 12333 on Wed 2026-09-30 16:00 WHEN the agent saves the form THEN the ticket goes to the line’s unit, due Tue 10-13; WHEN the caller checks by phone THEN status, unit and due date are read back, and after an extension the new ones', async () => {
    const clock = new TestClock(at('2026-09-30', '16:00:00'));
    const app = await h.startApp({}, { now: clock.now });
    const agent = await consoleAgent(app, '7501', { '12333': 3, general: 3 });
    const unit = await userApi(app, 'unit-hrss', ['unit'], { unitId: HRSS });
    const caller = '13900001501';

    // The summary would match the construction keyword rule (工地 → 市住房城乡建设局): the line's unit wins.
    const { session, ticket: st } = await callWithForm(h, app, {
      number: '12333',
      caller,
      agentId: '7501',
      agent,
      form: { category: 'help', requesterKind: 'citizen', summary: '在工地打工，单位不签劳动合同也不交社保', unitSuggestion: '' },
    });
    expect(session.record.route).toMatchObject({ id: 'line-12333', mode: 'parallel', line: '12333' });
    const t = st.ticket;
    expect(t.ticketNo).toMatch(/^063220260930\d{6}$/);
    expect(t.channel).toEqual({ kind: 'legacy-line', number: '12333', unit: HRSS });
    expect(t).toMatchObject({ state: 'dispatched', units: [HRSS], category: 'help', callIds: [session.callId] });
    expect(t.history.find((e) => e.type === 'dispatched')!.reason).toContain('12333');
    // 5 working days after Wed 09-30: 10-08, 10-09, Sat 10-10 (调休上班), 10-12, 10-13 (国庆 10-01…07 off).
    expect(t.deadlines!.finishBy).toBe(endOfDay('2026-10-13'));
    const view = await unit('GET', `/api/tickets/${t.ticketNo}`);
    expect(view.status).toBe(200);
    expect(view.body.ticket.ticket.units).toEqual([HRSS]);

    // A second call: self-service ticket status.
    const first = await checkStatus(app, caller, t.ticketNo);
    expect(first.readout).toBe(
      `ticket-intro digits:${t.ticketNo} ticket-status-is ticket-status-dispatched ticket-unit-is text:${HRSS} ticket-due-is number:2026 date-year number:10 date-month number:13 date-day`,
    );
    {
      expect(first.heard).toEqual([
        'sound:hotline/ticket-intro',
        `digits:${t.ticketNo}`,
        'sound:hotline/ticket-status-is',
        'sound:hotline/ticket-status-dispatched',
        'sound:hotline/ticket-unit-is',
        'sound:hotline/ticket-due-is',
        ...zhDate(2026, 10, 13),
      ]);
    }
    // The status call is a call of its own: its record ends in self-service and makes no second dispatched ticket.
    const statusTicket = await ticketOfCall(app, first.session.callId);
    expect(statusTicket.record.outcome).toBe('self-service');
    expect(statusTicket.ticket).toMatchObject({ state: 'received', units: [] });
    expect((await app.tickets.get(t.ticketNo))!.ticket!.state).toBe('dispatched');

    // After the holiday the unit accepts and extends by 2 working days: 10-14, 10-15.
    clock.set(at('2026-10-08', '10:00:00'));
    expect((await unit('POST', `/api/tickets/${t.ticketNo}/accept`, {})).status).toBe(200);
    const ext = await unit('POST', `/api/tickets/${t.ticketNo}/extend`, { workingDays: 2, reason: '需调取用工记录', callerConsent: true });
    expect(ext.status, JSON.stringify(ext.body)).toBe(200);
    const second = await checkStatus(app, caller, t.ticketNo);
    expect(second.readout).toBe(
      `ticket-intro digits:${t.ticketNo} ticket-status-is ticket-status-extended ticket-unit-is text:${HRSS} ticket-due-is number:2026 date-year number:10 date-month number:15 date-day`,
    );
    expect(second.heard.slice(3, 4).concat(second.heard.slice(-6))).toEqual(['sound:hotline/ticket-status-extended', ...zhDate(2026, 10, 15)]);
  });

  it('GIVEN a caller’s ticket to the 12333 unit WHEN they call about the same matter again THEN the second ticket is linked to the first (重复诉求)', async () => {
    const clock = new TestClock(at('2026-11-02', '09:30:00'));
    const app = await h.startApp({}, { now: clock.now });
    const agent = await consoleAgent(app, '7502', { '12333': 3, general: 3 });
    const supervisor = await userApi(app, 'sup-repeat', ['supervisor']);
    const caller = '13900001502';
    const form = { category: 'complaint', requesterKind: 'citizen', summary: '公司拖欠三个月工资', unitSuggestion: '' } as const;
    const one = await callWithForm(h, app, { number: '12333', caller, agentId: '7502', agent, form });
    clock.set(at('2026-11-05', '14:00:00'));
    const two = await callWithForm(h, app, { number: '12333', caller, agentId: '7502', agent, form: { ...form, summary: '再次反映公司拖欠工资，仍未解决' } });
    expect(one.ticket.ticket.repeatOf).toBeUndefined();
    expect(two.ticket.ticket.units).toEqual([HRSS]);
    const linked = await eventually(async () => {
      const r = await supervisor('GET', `/api/tickets/${two.ticket.ticketNo}`);
      expect(r.body.ticket.ticket.repeatOf).toBe(one.ticket.ticketNo);
      return r.body.ticket.ticket;
    });
    expect(linked.callerNumber).toBe('139****1502');
    expect((await app.tickets.get(one.ticket.ticketNo))!.ticket!.repeatOf).toBeUndefined();
  });
});
