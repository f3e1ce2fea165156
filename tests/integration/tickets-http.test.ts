/**
 * The ticket lifecycle over HTTP (POST /api/tickets/:no/<action>), logged in
 * through the real login route as a handling unit's user and a supervisor,
 * with the app's clock moved across the 2026 Spring Festival:
 * - 回退 is allowed within 1 working day of dispatch (working time: the
 *   make-up Saturday counts, the holiday does not) and refused after it;
 * - 延期 is capped at 10 working days in total, needs a reason and the
 *   caller's consent;
 * - the second return goes to supervisor review (研判), after which only a
 *   supervisor dispatches and the unit can no longer return the ticket.
 * Every refusal names its field (or the rule) and leaves the stored ticket
 * exactly as it was; accepted actions are audited, refused ones are not.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { useHarness } from '../support/harness.js';
import { leakedNumbers } from '../support/leaks.js';
import { at, callRecord, endOfDay, TestClock, ticketFromRecord, userApi, type Api } from '../support/tickets.js';

const h = useHarness();
const UNIT = '市住房城乡建设局';
const OTHER_UNIT = '市城市管理局';
const FORM = { category: 'complaint', requesterKind: 'citizen', summary: '反映工地夜间施工噪音扰民', unitSuggestion: '' } as const;

async function expectRefusedUnchanged(app: App, ticketNo: string, send: () => Promise<{ status: number; body: any }>, status: number, code: string, field: string | undefined) {
  const before = await app.tickets.get(ticketNo);
  const audited = (await app.audit.query({ target: `ticket:${ticketNo}` })).length;
  const r = await send();
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.error.code).toBe(code);
  expect(r.body.error.field).toBe(field);
  if (field) expect(r.body.error.message).toContain(field);
  expect(await app.tickets.get(ticketNo)).toEqual(before);
  expect((await app.audit.query({ target: `ticket:${ticketNo}` })).length).toBe(audited);
  return r.body.error as { code: string; field?: string; message: string };
}

async function post(api: Api, no: string, action: string, body: object = {}) {
  return api('POST', `/api/tickets/${no}/${action}`, body);
}

describe('ticket lifecycle over HTTP', () => {
  it('GIVEN a ticket dispatched Fri 2026-02-13 16:00 WHEN the unit returns it on Tue 02-24 THEN 409 (the 1 working day ran out Sat 02-14 16:00); extensions over 10 working days in total are refused with the field named', async () => {
    const clock = new TestClock(at('2026-02-13', '16:00:00'));
    const app = await h.startApp({}, { now: clock.now });
    const unit = await userApi(app, 'unit-zj-b', ['unit'], { unitId: UNIT });
    const st = await ticketFromRecord(app, callRecord('13900001401', clock.now()), FORM);
    const no = st.ticketNo;
    expect(st.ticket).toMatchObject({ state: 'dispatched', units: [UNIT] });
    expect(st.ticket.deadlines!.finishBy).toBe(endOfDay('2026-02-27'));
    const D = st.ticket.history.at(-1)!.at;

    // 10 days later by the wall clock, 41 working hours later: too late to return.
    clock.set(at('2026-02-24', '09:00:00'));
    const late = await expectRefusedUnchanged(app, no, () => post(unit, no, 'return', { reason: '不属于本单位职责' }), 409, 'return-window-closed', undefined);
    expect(late.message).toContain('1个工作日');
    expect(late.message).toContain(`until ${new Date(D + 24 * 3_600_000 + 8 * 3_600_000).toISOString().slice(0, 19)}`);
    expect(late.message).toContain('2026-02-14T16:00');

    clock.set(at('2026-02-24', '09:05:00'));
    expect((await post(unit, no, 'accept')).body.ticket.ticket.state).toBe('accepted');

    clock.set(at('2026-02-24', '09:10:00'));
    const tooLong = await expectRefusedUnchanged(app, no, () => post(unit, no, 'extend', { workingDays: 11, reason: '需协调多部门', callerConsent: true }), 409, 'extension-too-long', 'workingDays');
    expect(tooLong.message).toContain('10');
    await expectRefusedUnchanged(app, no, () => post(unit, no, 'extend', { workingDays: 3, reason: '需协调多部门' }), 400, 'invalid-input', 'callerConsent');
    await expectRefusedUnchanged(app, no, () => post(unit, no, 'extend', { workingDays: 3, reason: '需协调多部门', callerConsent: false }), 409, 'extension-consent-missing', 'callerConsent');
    await expectRefusedUnchanged(app, no, () => post(unit, no, 'extend', { workingDays: 3, callerConsent: true }), 400, 'invalid-input', 'reason');
    await expectRefusedUnchanged(app, no, () => post(unit, no, 'extend', { workingDays: 2.5, reason: '需协调', callerConsent: true }), 400, 'invalid-input', 'workingDays');

    // 6 working days after 02-27: Sat 02-28 (调休上班), 03-02 … 03-06.
    const six = await post(unit, no, 'extend', { workingDays: 6, reason: '需协调多部门', callerConsent: true });
    expect(six.status, JSON.stringify(six.body)).toBe(200);
    expect(six.body.ticket.ticket.deadlines.finishBy).toBe(endOfDay('2026-03-06'));
    expect(six.body.ticket.ticket.extendedWorkingDays).toBe(6);
    // Cumulative: 6 + 5 > 10.
    const cumulative = await expectRefusedUnchanged(app, no, () => post(unit, no, 'extend', { workingDays: 5, reason: '仍需协调', callerConsent: true }), 409, 'extension-too-long', 'workingDays');
    expect(cumulative.message).toContain('already 6');
    const four = await post(unit, no, 'extend', { workingDays: 4, reason: '仍需协调', callerConsent: true });
    expect(four.status).toBe(200);
    expect(four.body.ticket.ticket.deadlines.finishBy).toBe(endOfDay('2026-03-12'));
    expect(four.body.ticket.ticket.extendedWorkingDays).toBe(10);
    expect((await app.audit.query({ target: `ticket:${no}` })).map((e) => e.action).sort()).toEqual(['ticket-accept', 'ticket-extend', 'ticket-extend']);

    // Free texts that quote the caller's number are shown masked, like the number itself.
    const replied = await post(unit, no, 'reply', { content: '已电话联系来电人 13900001401，工地已停工' });
    expect(replied.status).toBe(200);
    const shown = await unit('GET', `/api/tickets/${no}`);
    for (const body of [replied.body, shown.body]) {
      expect(leakedNumbers(JSON.stringify(body))).toEqual([]);
      expect(body.ticket.ticket.history.at(-1).data.content).toBe('已电话联系来电人 139****1401，工地已停工');
    }
  });

  it('GIVEN a ticket dispatched on the make-up Saturday 2026-02-14 20:00 WHEN the unit returns it twice THEN the first is accepted on Tue 02-24 (still within 1 working day), the second goes to supervisor review, and after the decision it can no longer be returned', async () => {
    const clock = new TestClock(at('2026-02-14', '20:00:00'));
    const app = await h.startApp({}, { now: clock.now });
    const unit = await userApi(app, 'unit-zj-c', ['unit'], { unitId: UNIT });
    const otherUnit = await userApi(app, 'unit-cg-c', ['unit'], { unitId: OTHER_UNIT });
    const supervisor = await userApi(app, 'sup-c', ['supervisor']);
    const st = await ticketFromRecord(app, callRecord('13900001402', clock.now()), FORM);
    const no = st.ticketNo;
    expect(st.ticket.units).toEqual([UNIT]);

    // Sat 4 working hours + Tue 10 hours = 14 < 24: still within the window.
    clock.set(at('2026-02-24', '10:00:00'));
    await expectRefusedUnchanged(app, no, () => post(unit, no, 'return', {}), 400, 'invalid-input', 'reason');
    await expectRefusedUnchanged(app, no, () => post(supervisor, no, 'return', { reason: 'x' }), 403, 'forbidden', undefined);
    const first = await post(unit, no, 'return', { reason: '不属于本单位职责', suggestedUnit: OTHER_UNIT });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.ticket.ticket).toMatchObject({ state: 'returned', units: [], returnCount: 1 });
    expect(first.body.ticket.ticket.deadlines).toBeUndefined();
    // No longer the unit's ticket.
    expect((await unit('GET', `/api/tickets/${no}`)).status).toBe(403);

    clock.set(at('2026-02-24', '10:30:00'));
    const again = await post(supervisor, no, 'dispatch', { units: [UNIT], reason: '经核实属住建职责' });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.ticket.ticket).toMatchObject({ state: 'dispatched', units: [UNIT] });
    // The clock restarts at the re-dispatch: 5 working days after Tue 02-24 are 02-25, 26, 27, Sat 28 (调休), 03-02.
    expect(again.body.ticket.ticket.deadlines.finishBy).toBe(endOfDay('2026-03-02'));

    clock.set(at('2026-02-24', '11:00:00'));
    const second = await post(unit, no, 'return', { reason: '仍不属于本单位职责' });
    expect(second.status).toBe(200);
    expect(second.body.ticket.ticket).toMatchObject({ state: 'supervisor-review', units: [], returnCount: 2 });
    expect(second.body.ticket.ticket.history.slice(-2).map((e: { type: string; actor: { role: string } }) => [e.type, e.actor.role])).toEqual([
      ['returned', 'unit'],
      ['supervisor-review', 'system'],
    ]);
    expect((await supervisor('GET', '/api/tickets?state=supervisor-review')).body.tickets.map((t: { ticketNo: string }) => t.ticketNo)).toEqual([no]);

    // The supervisor decides the unit (研判); the unit then cannot return it, even within the window.
    clock.set(at('2026-02-24', '14:00:00'));
    const decided = await post(supervisor, no, 'dispatch', { units: [OTHER_UNIT], reason: '研判：城管负责' });
    expect(decided.status).toBe(200);
    expect(decided.body.ticket.ticket).toMatchObject({ state: 'dispatched', units: [OTHER_UNIT] });
    expect(decided.body.ticket.ticket.history.at(-1).data).toMatchObject({ afterReview: true });
    clock.set(at('2026-02-24', '14:30:00'));
    const afterReview = await expectRefusedUnchanged(app, no, () => post(otherUnit, no, 'return', { reason: '不属于本单位' }), 409, 'return-after-review', 'type');
    expect(afterReview.message).toContain('研判');
    expect((await post(otherUnit, no, 'accept')).body.ticket.ticket.state).toBe('accepted');
  });
});
