import { describe, expect, it } from 'vitest';
import { createWorkCalendar, shanghaiInstant as at } from '../../src/tickets/calendar.js';
import { loadBundledCalendarData } from '../../src/tickets/calendar-source.js';
import { apply, availableActions, decidedByReview, returnDeadline, type ApplyContext, type TicketAction } from '../../src/tickets/lifecycle.js';
import { newTicket, type Actor, type Ticket } from '../../src/tickets/model.js';
import { loadBundledSlaPolicies, type SlaPolicy } from '../../src/tickets/sla.js';
import { buildTicket } from '../../src/tickets/service.js';
import type { CallRecord } from '../../src/calls/record.js';

const cal = createWorkCalendar({ data: loadBundledCalendarData() });
const policies = loadBundledSlaPolicies();
const zaozhuang = policies.get('zaozhuang')!;
const yantai = policies.get('yantai')!;
const endOf = (date: string) => at(date, '00:00') + 86_400_000 - 1;
const H = 3_600_000;

const agent: Actor = { id: 'agent-7', role: 'agent' };
const supervisor: Actor = { id: 'sup-1', role: 'supervisor' };
const water: Actor = { id: 'u-water', role: 'unit', unit: '市水务局' };
const housing: Actor = { id: 'u-housing', role: 'unit', unit: '市住房城乡建设局' };

const MON = at('2026-03-09', '10:00');

function fresh(o: Partial<Parameters<typeof newTicket>[0]> = {}): Ticket {
  return newTicket({
    ticketNo: '063220260309000001',
    cityId: 'zaozhuang',
    channel: { kind: '12345' },
    category: 'complaint',
    requesterKind: 'citizen',
    summary: '小区供水水压不足',
    callerNumber: '13800000000',
    callIds: ['1741485600.1'],
    receivedAt: MON - H,
    actor: agent,
    ...o,
  });
}

function ctx(now: number, actor: Actor = agent, policy: SlaPolicy = zaozhuang): ApplyContext {
  return { now, actor, calendar: cal, policy };
}

/** Apply and insist on success (the step under test uses `apply` directly). */
function ok(t: Ticket, action: TicketAction, c: ApplyContext): Ticket {
  const r = apply(t, action, c);
  if (!r.ok) throw new Error(`${action.type}: ${r.error.code} ${r.error.message}`);
  return r.ticket;
}

const dispatched = (now = MON, policy = zaozhuang) => ok(fresh({ receivedAt: now - H }), { type: 'dispatch', units: ['市水务局'] }, ctx(now, agent, policy));
const accepted = (now = MON, policy = zaozhuang) => ok(dispatched(now, policy), { type: 'accept', unit: '市水务局' }, ctx(now + H, water, policy));
const replied = (at_ = MON + 50 * H) => ok(ok(accepted(), { type: 'start' }, ctx(MON + 2 * H, water)), { type: 'reply', content: '已协调加压泵站' }, ctx(at_, water));

describe('lifecycle: the ordinary path', () => {
  it('GIVEN a received ticket WHEN dispatched, accepted, started, replied, called back, rated and closed THEN each state is recorded with who and when', () => {
    let t = dispatched();
    expect(t.state).toBe('dispatched');
    expect(t.units).toEqual(['市水务局']);
    expect(t.deadlines?.finishBy).toBe(endOf('2026-03-16'));
    t = ok(t, { type: 'accept', unit: '市水务局' }, ctx(MON + H, water));
    t = ok(t, { type: 'start' }, ctx(MON + 2 * H, water));
    t = ok(t, { type: 'reply', content: '已协调加压泵站' }, ctx(MON + 50 * H, water));
    t = ok(t, { type: 'callback', reached: true, callId: 'cb-1', resolved: true }, ctx(MON + 60 * H));
    t = ok(t, { type: 'rate', satisfaction: 2 }, ctx(MON + 60 * H));
    t = ok(t, { type: 'close' }, ctx(MON + 61 * H));
    expect(t.state).toBe('closed');
    expect(t.history.map((h) => h.type)).toEqual(['received', 'dispatched', 'accepted', 'in-progress', 'replied', 'called-back', 'rated', 'closed']);
    expect(t.history[2]).toMatchObject({ actor: water, at: MON + H });
    expect(t.history[4]!.data).toMatchObject({ late: false });
    expect(t.callIds).toEqual(['1741485600.1', 'cb-1']);
    expect(t.satisfaction).toBe(2);
  });

  it('GIVEN a ticket WHEN an action is applied THEN the input ticket is not mutated', () => {
    const t = dispatched();
    const snapshot = structuredClone(t);
    ok(t, { type: 'accept', unit: '市水务局' }, ctx(MON + H, water));
    expect(t).toEqual(snapshot);
  });

  it('GIVEN a consultation answered on the call (直办) WHEN rated and closed THEN no unit and no clock were involved', () => {
    let t = ok(fresh({ category: 'consult' }), { type: 'answer-directly', answer: '社保卡补办流程已告知' }, ctx(MON));
    t = ok(t, { type: 'rate', satisfaction: 1 }, ctx(MON + 60_000, { id: 'ivr', role: 'system' }));
    t = ok(t, { type: 'close' }, ctx(MON + 120_000));
    expect([t.state, t.units, t.deadlines]).toEqual(['closed', [], undefined]);
  });

  it('GIVEN a reply after the finish deadline WHEN replied THEN it is marked late', () => {
    const t = replied(endOf('2026-03-16') + 1);
    expect(t.history.at(-1)!.data).toMatchObject({ late: true });
  });

  it('GIVEN an outage ticket with a 30-minute reply clock WHEN the unit starts after 40 minutes THEN the start records the late reply', () => {
    let t = ok(fresh({ cityId: 'yantai', summary: '整栋楼停电' }), { type: 'dispatch', units: ['市水务局'] }, ctx(MON, agent, yantai));
    t = ok(t, { type: 'accept', unit: '市水务局' }, ctx(MON + 10 * 60_000, water, yantai));
    t = ok(t, { type: 'start' }, ctx(MON + 40 * 60_000, water, yantai));
    expect(t.history.at(-1)!.data).toEqual({ replyLate: true });
  });
});

describe('lifecycle: illegal transitions and bad input', () => {
  it.each([
    ['received', 'accept', () => fresh(), { type: 'accept', unit: '市水务局' } as TicketAction],
    ['received', 'reply', () => fresh(), { type: 'reply', content: 'x' } as TicketAction],
    ['dispatched', 'reply', () => dispatched(), { type: 'reply', content: 'x' } as TicketAction],
    ['dispatched', 'close', () => dispatched(), { type: 'close', reason: 'x' } as TicketAction],
    ['replied', 'return', () => replied(), { type: 'return', unit: '市水务局', reason: 'x' } as TicketAction],
  ])('GIVEN state %s WHEN %s THEN illegal-transition naming action.type', (state, _name, make, action) => {
    const t = make();
    expect(t.state).toBe(state);
    const r = apply(t, action, ctx(MON + 100 * H, water));
    expect(r).toMatchObject({ ok: false, error: { code: 'illegal-transition', field: 'action.type' } });
  });

  it('GIVEN a dispatch with no units or a blank unit WHEN applied THEN the field is named', () => {
    expect(apply(fresh(), { type: 'dispatch', units: [] }, ctx(MON))).toMatchObject({ ok: false, error: { code: 'invalid-input', field: 'action.units' } });
    expect(apply(fresh(), { type: 'dispatch', units: ['市水务局', ' '] }, ctx(MON))).toMatchObject({ ok: false, error: { field: 'action.units[1]' } });
  });

  it('GIVEN an action dated before the last event WHEN applied THEN ctx.now is rejected', () => {
    expect(apply(dispatched(), { type: 'accept', unit: '市水务局' }, ctx(MON - 1, water))).toMatchObject({ ok: false, error: { field: 'ctx.now' } });
  });

  it('GIVEN a unit user WHEN accepting for another unit or a unit not on the ticket THEN unknown-unit', () => {
    expect(apply(dispatched(), { type: 'accept', unit: '市水务局' }, ctx(MON + H, housing))).toMatchObject({ ok: false, error: { code: 'unknown-unit', field: 'actor.unit' } });
    expect(apply(dispatched(), { type: 'accept', unit: '市住房城乡建设局' }, ctx(MON + H, housing))).toMatchObject({ ok: false, error: { code: 'unknown-unit', field: 'action.unit' } });
  });

  it('GIVEN a rating outside 1–4 WHEN rated THEN action.satisfaction is named', () => {
    expect(apply(replied(), { type: 'rate', satisfaction: 5 as never }, ctx(MON + 60 * H))).toMatchObject({ ok: false, error: { field: 'action.satisfaction' } });
  });
});

describe('lifecycle: returns (回退) within 1 working day of dispatch', () => {
  it('GIVEN dispatch Mon 10:00 WHEN the unit returns 23 h later with a reason THEN it is returned to the hotline', () => {
    const r = apply(dispatched(), { type: 'return', unit: '市水务局', reason: '供水管网属市政公用事业服务中心', suggestedUnit: '市公用事业服务中心' }, ctx(MON + 23 * H, water));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.ticket.state).toBe('returned');
    expect(r.ticket.units).toEqual([]);
    expect(r.ticket.returnCount).toBe(1);
    expect(r.ticket.deadlines).toBeUndefined();
    expect(r.ticket.history.at(-1)).toMatchObject({ type: 'returned', reason: '供水管网属市政公用事业服务中心', data: { unit: '市水务局', suggestedUnit: '市公用事业服务中心' } });
  });

  it('GIVEN dispatch Mon 10:00 WHEN the unit returns at 25 h THEN return-window-closed naming ctx.now', () => {
    const r = apply(dispatched(), { type: 'return', unit: '市水务局', reason: '不属于本单位职责' }, ctx(MON + 25 * H, water));
    expect(r).toMatchObject({ ok: false, error: { code: 'return-window-closed', field: 'ctx.now' } });
    if (!r.ok) expect(r.error.message).toContain('2026-03-10T10:00:00.000+08:00');
  });

  it('GIVEN dispatch exactly 24 working hours ago WHEN returning at the limit and 1 ms after THEN allowed, then rejected', () => {
    const limit = MON + 24 * H;
    expect(apply(dispatched(), { type: 'return', unit: '市水务局', reason: 'x' }, ctx(limit, water)).ok).toBe(true);
    expect(apply(dispatched(), { type: 'return', unit: '市水务局', reason: 'x' }, ctx(limit + 1, water)).ok).toBe(false);
  });

  it('GIVEN dispatch Fri 16:00 WHEN returning Mon 15:00 and Mon 17:00 THEN the weekend does not count: allowed, then rejected', () => {
    const fri = at('2026-03-13', '16:00');
    expect(apply(dispatched(fri), { type: 'return', unit: '市水务局', reason: 'x' }, ctx(at('2026-03-16', '15:00'), water)).ok).toBe(true);
    expect(apply(dispatched(fri), { type: 'return', unit: '市水务局', reason: 'x' }, ctx(at('2026-03-16', '17:00'), water))).toMatchObject({ ok: false, error: { code: 'return-window-closed' } });
  });

  it('GIVEN dispatch on the Friday before the Spring Festival WHEN computing the window THEN it ends on the make-up Saturday, not after the holiday', () => {
    const t = dispatched(at('2026-02-13', '16:00'));
    expect(returnDeadline(t, cal, zaozhuang)).toBe(at('2026-02-14', '16:00'));
    expect(apply(t, { type: 'return', unit: '市水务局', reason: 'x' }, ctx(at('2026-02-24', '09:00'), water)).ok).toBe(false);
  });

  it('GIVEN an accepted ticket WHEN returned without a reason THEN action.reason is named', () => {
    expect(apply(accepted(), { type: 'return', unit: '市水务局', reason: '  ' }, ctx(MON + 3 * H, water))).toMatchObject({ ok: false, error: { code: 'invalid-input', field: 'action.reason' } });
  });

  it('GIVEN a second return WHEN applied THEN the ticket goes to supervisor review; only a supervisor dispatches it; it can never be returned again', () => {
    let t = ok(dispatched(), { type: 'return', unit: '市水务局', reason: '非本单位职责' }, ctx(MON + 2 * H, water));
    t = ok(t, { type: 'dispatch', units: ['市住房城乡建设局'] }, ctx(MON + 3 * H));
    expect(t.deadlines?.startedAt).toBe(MON + 3 * H); // the new unit gets a full clock
    t = ok(t, { type: 'return', unit: '市住房城乡建设局', reason: '应由供水企业办理' }, ctx(MON + 4 * H, housing));
    expect(t.state).toBe('supervisor-review');
    expect(t.returnCount).toBe(2);
    expect(t.history.slice(-2).map((h) => [h.type, h.actor.role])).toEqual([['returned', 'unit'], ['supervisor-review', 'system']]);

    expect(apply(t, { type: 'dispatch', units: ['市水务局'] }, ctx(MON + 5 * H, agent))).toMatchObject({ ok: false, error: { field: 'actor.role' } });
    t = ok(t, { type: 'dispatch', units: ['市水务局'], reason: '研判：供水水压属市水务局' }, ctx(MON + 5 * H, supervisor));
    expect(t.history.at(-1)!.data).toMatchObject({ afterReview: true });
    expect(apply(t, { type: 'return', unit: '市水务局', reason: '再次回退' }, ctx(MON + 6 * H, water))).toMatchObject({ ok: false, error: { code: 'return-after-review' } });
    // What consoles are offered follows the same rule: no return once decided by review.
    expect(decidedByReview(t)).toBe(true);
    expect(availableActions(t)).toEqual(['accept']);
    t = ok(t, { type: 'accept', unit: '市水务局' }, ctx(MON + 6 * H, water));
    expect(availableActions(t)).toEqual(['start', 'extend', 'plan', 'reply']);
  });

  it('GIVEN a ticket never reviewed THEN the actions offered are exactly its state’s', () => {
    expect(availableActions(fresh())).toEqual(['answer-directly', 'dispatch', 'close']);
    expect(availableActions(accepted())).toEqual(['return', 'start', 'extend', 'plan', 'reply']);
    expect(decidedByReview(accepted())).toBe(false);
  });
});

describe('lifecycle: extensions (延期) and planned items (列入计划)', () => {
  it('GIVEN an accepted ticket due Mon 03-16 WHEN extended 10 working days with consent THEN due Mon 03-30 and the event records consent', () => {
    const t = ok(accepted(), { type: 'extend', workingDays: 10, reason: '需协调多部门现场勘查', callerConsent: true }, ctx(MON + 30 * H, water));
    expect(t.deadlines?.finishBy).toBe(endOf('2026-03-30'));
    expect(t.extendedWorkingDays).toBe(10);
    expect(t.state).toBe('accepted');
    expect(t.history.at(-1)).toMatchObject({ type: 'extended', data: { workingDays: 10, callerConsent: true, previousFinishBy: endOf('2026-03-16') } });
    for (const r of t.deadlines!.remindAt) expect(r).toBeGreaterThan(MON + 30 * H);
  });

  it('GIVEN an extension of 11 working days WHEN applied THEN extension-too-long naming action.workingDays', () => {
    expect(apply(accepted(), { type: 'extend', workingDays: 11, reason: 'x', callerConsent: true }, ctx(MON + 30 * H, water))).toMatchObject({
      ok: false,
      error: { code: 'extension-too-long', field: 'action.workingDays' },
    });
  });

  it('GIVEN 6 days already granted WHEN asking 5 more THEN the cap is cumulative and it is rejected; 4 more is fine', () => {
    const t = ok(accepted(), { type: 'extend', workingDays: 6, reason: 'x', callerConsent: true }, ctx(MON + 30 * H, water));
    expect(apply(t, { type: 'extend', workingDays: 5, reason: 'y', callerConsent: true }, ctx(MON + 31 * H, water))).toMatchObject({ ok: false, error: { code: 'extension-too-long' } });
    expect(ok(t, { type: 'extend', workingDays: 4, reason: 'y', callerConsent: true }, ctx(MON + 31 * H, water)).extendedWorkingDays).toBe(10);
  });

  it('GIVEN no recorded consent WHEN extending THEN extension-consent-missing naming action.callerConsent', () => {
    expect(apply(accepted(), { type: 'extend', workingDays: 3, reason: 'x', callerConsent: false }, ctx(MON + 30 * H, water))).toMatchObject({
      ok: false,
      error: { code: 'extension-consent-missing', field: 'action.callerConsent' },
    });
  });

  it('GIVEN a fractional or zero extension WHEN applied THEN invalid-input', () => {
    expect(apply(accepted(), { type: 'extend', workingDays: 0, reason: 'x', callerConsent: true }, ctx(MON + 30 * H, water))).toMatchObject({ ok: false, error: { code: 'invalid-input' } });
  });

  it('GIVEN Yantai WHEN planning 90 days THEN finish by the 90th day after receipt; 91 is rejected', () => {
    const t = accepted(MON, yantai);
    const planned = ok(t, { type: 'plan', naturalDays: 90, reason: '纳入年度老旧小区改造计划' }, ctx(MON + 30 * H, water, yantai));
    expect(planned.deadlines?.finishBy).toBe(endOf('2026-06-07'));
    expect(planned.history.at(-1)).toMatchObject({ type: 'extended', data: { kind: 'planned', naturalDays: 90 } });
    expect(apply(t, { type: 'plan', naturalDays: 91, reason: 'x' }, ctx(MON + 30 * H, water, yantai))).toMatchObject({ ok: false, error: { code: 'planned-too-long', field: 'action.naturalDays' } });
  });

  it('GIVEN Zaozhuang, whose seed has no planned-item rule, WHEN planning THEN extension-not-allowed', () => {
    expect(apply(accepted(), { type: 'plan', naturalDays: 30, reason: 'x' }, ctx(MON + 30 * H, water))).toMatchObject({ ok: false, error: { code: 'extension-not-allowed' } });
  });
});

describe('lifecycle: reopen (重办) and close (办结)', () => {
  const ratedWith = (s: 1 | 2 | 3 | 4) => ok(ok(replied(), { type: 'callback', reached: true }, ctx(MON + 60 * H)), { type: 'rate', satisfaction: s }, ctx(MON + 60 * H));

  it('GIVEN the caller rated dissatisfied WHEN a supervisor reopens THEN the unit gets a new clock from now and the rating is cleared', () => {
    const now = at('2026-03-12', '09:00');
    const t = ok(ratedWith(4), { type: 'reopen', ground: 'dissatisfied', reason: '来电人反映水压仍不足' }, ctx(now, supervisor));
    expect(t.state).toBe('reopened');
    expect(t.units).toEqual(['市水务局']);
    expect(t.deadlines).toMatchObject({ startedAt: now, finishBy: endOf('2026-03-19') });
    expect(t.satisfaction).toBeUndefined();
    const again = ok(ok(t, { type: 'accept', unit: '市水务局' }, ctx(now + H, water)), { type: 'reply', content: '已更换加压泵' }, ctx(now + 2 * H, water));
    expect(again.state).toBe('replied');
    // The new round needs its own callback or rating before closing.
    expect(apply(again, { type: 'close' }, ctx(now + 3 * H))).toMatchObject({ ok: false, error: { code: 'close-incomplete' } });
  });

  it('GIVEN the caller rated basically satisfied WHEN reopening on dissatisfaction THEN reopen-not-allowed naming action.ground', () => {
    expect(apply(ratedWith(3), { type: 'reopen', ground: 'dissatisfied', reason: 'x' }, ctx(MON + 61 * H, supervisor))).toMatchObject({
      ok: false,
      error: { code: 'reopen-not-allowed', field: 'action.ground' },
    });
  });

  it('GIVEN an agent WHEN reopening THEN only a supervisor may', () => {
    expect(apply(ratedWith(4), { type: 'reopen', ground: 'dissatisfied', reason: 'x' }, ctx(MON + 61 * H, agent))).toMatchObject({ ok: false, error: { field: 'actor.role' } });
  });

  it('GIVEN a reached callback that found nothing was done WHEN reopening as not-handled THEN allowed even without a rating', () => {
    const t = ok(replied(), { type: 'callback', reached: true, resolved: false }, ctx(MON + 60 * H));
    expect(ok(t, { type: 'reopen', ground: 'not-handled', reason: '应办未办' }, ctx(MON + 61 * H, supervisor)).state).toBe('reopened');
  });

  it('GIVEN a reply without callback or rating WHEN closing THEN close-incomplete naming action.reason; with a reason it closes', () => {
    const t = ok(replied(), { type: 'callback', reached: false }, ctx(MON + 60 * H));
    expect(apply(t, { type: 'close' }, ctx(MON + 61 * H))).toMatchObject({ ok: false, error: { code: 'close-incomplete', field: 'action.reason' } });
    const closed = ok(t, { type: 'close', reason: '回访三次未接通' }, ctx(MON + 61 * H));
    expect(closed.history.at(-1)).toMatchObject({ type: 'closed', reason: '回访三次未接通' });
  });

  it('GIVEN a ticket answered directly WHEN closed and reopened THEN reopen-not-allowed (no unit to send it back to)', () => {
    let t = ok(fresh({ category: 'consult' }), { type: 'answer-directly', answer: '已告知' }, ctx(MON));
    t = ok(t, { type: 'rate', satisfaction: 4 }, ctx(MON + 60_000));
    t = ok(t, { type: 'close' }, ctx(MON + 120_000));
    expect(apply(t, { type: 'reopen', ground: 'dissatisfied', reason: 'x' }, ctx(MON + H, supervisor))).toMatchObject({ ok: false, error: { code: 'reopen-not-allowed' } });
  });
});

describe('lifecycle: the dispatch clock (Laishan 89000 当天交办, seed 003 二、（一）)', () => {
  const laishan = policies.get('yantai-laishan')!;
  const deps = (policy: SlaPolicy) => ({ cityId: 'yantai', policy, calendar: cal, rules: () => ({ version: 0, rules: [] }), routeUnit: () => undefined, now: () => MON, repeatWindowDays: 0 });
  let n = 0;
  const record = (startedAt: number): CallRecord => ({
    callId: `dispatch-clock-${++n}`,
    channelName: 'PJSIP/carrier-0001',
    caller: { number: '13800001111', name: '' },
    dialed: '12345',
    source: 'carrier',
    language: 'zh',
    startedAt,
    endedAt: startedAt + 60_000,
    path: [],
    agents: [],
    handoffs: [],
    recovered: false,
    instance: 'unit',
  });

  it('GIVEN a call received Fri 23:30 under the Laishan policy WHEN the ticket is built THEN dispatch is due by the end of that Friday; Zaozhuang sets no dispatch clock', () => {
    const fri = at('2026-03-13', '23:30');
    expect(buildTicket(deps(laishan), '053520260313000001', record(fri), undefined, fri).dispatchBy).toBe(endOf('2026-03-13'));
    expect(buildTicket(deps(zaozhuang), '063220260313000001', record(fri), undefined, fri)).not.toHaveProperty('dispatchBy');
  });

  it('GIVEN that ticket WHEN a supervisor dispatches it on Saturday THEN the dispatch is marked late; dispatched the same evening THEN not', () => {
    const fri = at('2026-03-13', '23:30');
    const t = buildTicket(deps(laishan), '053520260313000002', record(fri), undefined, fri);
    const late = ok(t, { type: 'dispatch', units: ['区住建局'] }, ctx(at('2026-03-14', '08:00'), supervisor, laishan));
    expect(late.history.at(-1)).toMatchObject({ type: 'dispatched', data: { lateDispatch: true } });
    const onTime = ok(t, { type: 'dispatch', units: ['区住建局'] }, ctx(at('2026-03-13', '23:50'), supervisor, laishan));
    expect(onTime.history.at(-1)!.data).not.toHaveProperty('lateDispatch');
  });
});
