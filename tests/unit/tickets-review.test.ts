/**
 * Reply review (审核, seeds 003 二(三) and 004 三(四)3) as pure lifecycle
 * transitions: a unit's reply waits in `reply-review` for the centre's
 * reviewer, who approves it (then it is `replied`, the version that goes to
 * the caller and upstream) or refuses it with the changes asked for (back to
 * the unit, `in-progress`); review time limits counted in the KPIs, with the
 * same-day dispatch (当天交办) clock.
 */
import { describe, expect, it } from 'vitest';
import { createWorkCalendar, shanghaiInstant as at } from '../../src/tickets/calendar.js';
import { loadBundledCalendarData } from '../../src/tickets/calendar-source.js';
import { apply, availableActions, pendingReview, type ApplyContext, type TicketAction } from '../../src/tickets/lifecycle.js';
import { ticketKpis } from '../../src/tickets/kpi.js';
import { newTicket, type Actor, type Ticket } from '../../src/tickets/model.js';
import { loadBundledSlaPolicies } from '../../src/tickets/sla.js';

const cal = createWorkCalendar({ data: loadBundledCalendarData() });
const zaozhuang = loadBundledSlaPolicies().get('zaozhuang')!;
const H = 3_600_000;
const agent: Actor = { id: 'agent-7', role: 'agent' };
const reviewer: Actor = { id: 'sup-1', role: 'supervisor' };
const water: Actor = { id: 'u-water', role: 'unit', unit: '市水务局' };
const MON = at('2026-03-09', '10:00');
const REVIEW = { workingHours: 24 };

const ctx = (now: number, actor: Actor, review = true): ApplyContext => ({ now, actor, calendar: cal, policy: zaozhuang, ...(review ? { replyReview: REVIEW } : {}) });

function ok(t: Ticket, action: TicketAction, c: ApplyContext): Ticket {
  const r = apply(t, action, c);
  if (!r.ok) throw new Error(`${action.type}: ${r.error.code} ${r.error.message}`);
  return r.ticket;
}

function inProgress(no = '063220260309000001'): Ticket {
  let t = newTicket({ ticketNo: no, cityId: 'zaozhuang', channel: { kind: '12345' }, category: 'complaint', requesterKind: 'citizen', summary: '小区供水水压不足', callerNumber: '13800000000', callIds: ['c1'], receivedAt: MON - H, actor: agent });
  t = ok(t, { type: 'dispatch', units: ['市水务局'] }, ctx(MON, agent));
  t = ok(t, { type: 'accept', unit: '市水务局' }, ctx(MON + H, water));
  return ok(t, { type: 'start' }, ctx(MON + 2 * H, water));
}

describe('reply review (审核)', () => {
  it('GIVEN review on WHEN the unit replies THEN the reply waits for the reviewer (Friday 16:00 → until Monday 16:00), and only review actions are open', () => {
    const fri = at('2026-03-13', '16:00');
    const t = ok(inProgress(), { type: 'reply', content: '已协调加压泵站，水压恢复' }, ctx(fri, water));
    expect(t.state).toBe('reply-review');
    expect(availableActions(t)).toEqual(['approve-reply', 'refuse-reply']);
    const p = pendingReview(t)!;
    expect(p.content).toBe('已协调加压泵站，水压恢复');
    expect(p.reviewBy).toBe(at('2026-03-16', '16:00'));
    expect(apply(t, { type: 'callback', reached: true }, ctx(fri + H, agent)).ok).toBe(false);
  });

  it('GIVEN review off THEN a reply is replied at once (the behaviour without the review step)', () => {
    expect(ok(inProgress(), { type: 'reply', content: '已处理' }, ctx(MON + 3 * H, water, false)).state).toBe('replied');
  });

  it('WHEN the reviewer approves THEN the reply is replied with the unit’s content, reviewed, its lateness judged at submission', () => {
    let t = ok(inProgress(), { type: 'reply', content: '已协调加压泵站' }, ctx(MON + 3 * H, water));
    t = ok(t, { type: 'approve-reply', note: '符合回复模板' }, ctx(MON + 5 * H, reviewer));
    expect(t.state).toBe('replied');
    const e = t.history.at(-1)!;
    expect(e).toMatchObject({ type: 'replied', actor: reviewer, reason: '符合回复模板' });
    expect(e.data).toMatchObject({ content: '已协调加压泵站', late: false, reviewed: true, submittedAt: MON + 3 * H, submittedBy: 'u-water', reviewLate: false });
    expect(availableActions(t)).toContain('callback');
  });

  it('WHEN the reviewer refuses with a reason THEN the ticket is back with the unit (in-progress) and the next reply is reviewed again', () => {
    let t = ok(inProgress(), { type: 'reply', content: '已处理' }, ctx(MON + 3 * H, water));
    t = ok(t, { type: 'refuse-reply', reason: '未说明何人何时联系来电人' }, ctx(MON + 4 * H, reviewer));
    expect(t.state).toBe('in-progress');
    expect(t.history.at(-1)).toMatchObject({ type: 'reply-refused', reason: '未说明何人何时联系来电人', data: { reviewLate: false } });
    t = ok(t, { type: 'reply', content: '3月9日15时张三用0632-1234567联系来电人，已恢复供水，来电人满意' }, ctx(MON + 6 * H, water));
    expect(t.state).toBe('reply-review');
  });

  it('refusals: without a reason (field named), by a unit or an agent, and with nothing pending — nothing changes', () => {
    const t = ok(inProgress(), { type: 'reply', content: '已处理' }, ctx(MON + 3 * H, water));
    const noReason = apply(t, { type: 'refuse-reply', reason: '  ' }, ctx(MON + 4 * H, reviewer));
    expect(noReason.ok || noReason.error).toMatchObject({ code: 'invalid-input', field: 'action.reason' });
    const byUnit = apply(t, { type: 'approve-reply' }, ctx(MON + 4 * H, water));
    expect(byUnit.ok || byUnit.error).toMatchObject({ code: 'illegal-transition', field: 'actor.role' });
    const notPending = apply(inProgress(), { type: 'approve-reply' }, ctx(MON + 4 * H, reviewer));
    expect(notPending.ok || notPending.error).toMatchObject({ code: 'illegal-transition', field: 'action.type' });
    expect(t.state).toBe('reply-review');
  });

  it('KPIs: 审核及时率 counts decisions by the deadline and pending reviews past it; a late reply stays late however fast the review', () => {
    const onTime = ok(ok(inProgress('1'), { type: 'reply', content: 'a' }, ctx(MON + 3 * H, water)), { type: 'approve-reply' }, ctx(MON + 4 * H, reviewer));
    const late = ok(ok(inProgress('2'), { type: 'reply', content: 'b' }, ctx(MON + 3 * H, water)), { type: 'refuse-reply', reason: '补充材料' }, ctx(MON + 30 * H, reviewer));
    const pending = ok(inProgress('3'), { type: 'reply', content: 'c' }, ctx(MON + 3 * H, water));
    const k1 = ticketKpis([onTime, late, pending], { asOf: MON + 26 * H });
    expect(k1.reviewOnTime).toEqual({ numerator: 1, denominator: 2, rate: 0.5 });
    const k2 = ticketKpis([onTime, late, pending], { asOf: MON + 28 * H });
    expect(k2.reviewOnTime).toEqual({ numerator: 1, denominator: 3, rate: 1 / 3 });
    // A reply submitted after the finish deadline is late in 按时办结率 even when approved at once.
    const finishBy = inProgress('4').deadlines!.finishBy;
    const lateReply = ok(ok(inProgress('4'), { type: 'reply', content: 'd' }, ctx(finishBy + H, water)), { type: 'approve-reply' }, ctx(finishBy + 2 * H, reviewer));
    expect(ticketKpis([onTime, lateReply], { asOf: finishBy + 3 * H }).onTimeCompletion).toEqual({ numerator: 1, denominator: 2, rate: 0.5 });
  });

  it('KPIs: 当天交办 — late first dispatches and undispatched tickets past the clock count in lateDispatch', () => {
    const base = (no: string) => ({ ...newTicket({ ticketNo: no, cityId: 'yantai', channel: { kind: '12345' }, category: 'help', requesterKind: 'citizen', summary: 's', callerNumber: '13800000000', callIds: [no], receivedAt: MON, actor: agent }), dispatchBy: at('2026-03-09', '23:59') });
    const inTime = ok(base('a'), { type: 'dispatch', units: ['市水务局'] }, ctx(MON + H, agent));
    const lateOne = ok(base('b'), { type: 'dispatch', units: ['市水务局'] }, ctx(at('2026-03-10', '09:00'), agent));
    expect(lateOne.history.at(-1)!.data?.lateDispatch).toBe(true);
    const waiting = base('c');
    const k = ticketKpis([inTime, lateOne, waiting], { asOf: at('2026-03-10', '10:00') });
    expect(k.dispatchOnTime).toEqual({ numerator: 1, denominator: 3, rate: 1 / 3 });
    expect(k.lateDispatch).toBe(2);
    expect(ticketKpis([inTime, waiting], { asOf: MON + 2 * H }).lateDispatch).toBe(0);
  });
});
