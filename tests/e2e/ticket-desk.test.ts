/**
 * The ticket desk (/tickets) in a real headless Chromium: a handling unit's
 * user logs in and lands on the desk, sees only its unit's tickets, accepts
 * one, is refused an 11-working-day extension (the server's message beside
 * the working-days field, the ticket unchanged), is refused one without the
 * caller's consent, extends with consent and replies; the supervisor then
 * opens the desk from the wallboard and sees the ticket replied with its
 * history in order. A second ticket goes through two returns to supervisor
 * review (研判), where the supervisor decides the unit, which can then no
 * longer return it; a third, on a moved ticket clock, is on the overdue
 * list (督办). Caller numbers never appear in full on any page or in
 * anything the pages received.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { CallRecord } from '../../src/calls/record.js';
import type { TicketForm } from '../../src/tickets/store.js';
import '../support/log-capture.js';
import { useHarness } from '../support/harness.js';
import { eventually } from '../support/wait.js';
import { createUser, expectContains, expectText, expectVisible, login, openBrowser, PASSWORD, screenshot, startWebApp, type Session } from './support.js';

const h = useHarness();
const MARKET = '市市场监管局';
const CITY = '市城市管理局';
let seq = 0;

/** A call answered by agent 1001 (on the merged 12315 line when `line` is set) whose form sends it to `unit`. */
async function ticket(app: App, number: string, unit: string, summary: string, line?: string, knowledge?: TicketForm['knowledge']): Promise<string> {
  const at = Date.now();
  const r: CallRecord = {
    callId: `desk-${++seq}.${at}`,
    channelName: 'PJSIP/carrier-0001',
    caller: { number, name: '王五' },
    dialed: line ?? '12345',
    source: 'carrier',
    language: 'zh',
    startedAt: at,
    endedAt: at + 120_000,
    agentAnsweredAt: at + 9_000,
    path: [{ at, kind: 'queue', detail: 'skill general' }],
    agents: ['1001'],
    handoffs: [],
    recovered: false,
    instance: 'e2e',
    ...(line ? { route: { id: `line-${line}`, mode: 'parallel', line } } : {}),
  };
  await app.tickets.saveForm(r.callId, { category: 'complaint', requesterKind: 'citizen', summary, unitSuggestion: unit, by: '1001', at, ...(knowledge ? { knowledge } : {}) });
  const { ticketNo } = await app.tickets.createFromCall(r);
  await eventually(async () => expect((await app.tickets.get(ticketNo))?.ticket?.units).toEqual([unit]));
  return ticketNo;
}

async function unitUser(app: App, username: string, unitId: string, displayName: string): Promise<void> {
  await app.users.create({ username, roles: ['unit'], unitId, password: PASSWORD, displayName });
}

const tabsOf = (s: Session) => s.page.$$eval('#action-tabs button', (bs) => bs.map((b) => (b as HTMLElement).dataset.action));
const expectTabs = (s: Session, tabs: string[]) => eventually(async () => expect(await tabsOf(s)).toEqual(tabs));
const listed = (s: Session) => s.page.$$eval('#tickets tbody tr[data-no]', (rs) => rs.map((r) => (r as HTMLElement).dataset.no));
const historyTypes = (s: Session) => s.page.$$eval('#history tbody tr', (rs) => rs.map((r) => (r as HTMLElement).dataset.type));

/** Nothing on the page, and nothing it received from the APIs, carries any of these numbers in full; and no string key is left untranslated. */
async function expectNoFullNumbers(s: Session, numbers: string[]): Promise<void> {
  expect(await s.page.innerText('body')).not.toMatch(/\b(?:tk|h|f|act|st|fact|hint|flag|opt|ground|cat|req|urg|survey|role)\.[a-z]/);
  const html = await s.page.content();
  for (const n of numbers) {
    expect(html).not.toContain(n);
    expect(s.received.filter((b) => b.includes(n))).toEqual([]);
  }
}

async function openRow(s: Session, ticketNo: string): Promise<void> {
  await s.page.click(`#tickets tr[data-no="${ticketNo}"]`);
  await expectText(s.page.locator('#d-no'), ticketNo);
}

describe('ticket desk (Chromium)', () => {
  it('GIVEN a ticket dispatched to a unit WHEN the unit accepts it, is refused an 11-day extension, extends with consent and replies THEN the supervisor sees it replied with the history in order, numbers masked throughout', async () => {
    const t0 = Date.now();
    const marks: Record<string, number> = {};
    const mark = (k: string) => { marks[k] = Date.now() - t0; };
    const { app, base } = await startWebApp(h);
    await unitUser(app, 'scjg', MARKET, '市场监管局承办人');
    await createUser(app, 'chen', ['supervisor'], { displayName: '陈班长' });
    const caller = '13755556666';
    const other = '13755557777';
    const used = [
      { articleId: 'kb-elevator', version: 3, title: '电梯故障报修渠道', helped: false },
      { articleId: 'kb-market-hotline', version: 1, title: '12315 并入 12345 后的投诉受理', helped: true },
    ];
    const mine = await ticket(app, caller, MARKET, `商场电梯故障无人维修，来电人联系电话${caller}`, '12315', used);
    const theirs = await ticket(app, other, CITY, '小区门口占道经营');
    mark('setup');

    // ---- the unit's user lands on the desk and sees its own ticket only
    const unit = await openBrowser();
    await login(unit, base, 'scjg', '/tickets');
    await eventually(async () => expect(await listed(unit)).toEqual([mine]));
    const row = unit.page.locator(`#tickets tr[data-no="${mine}"]`);
    await expectText(row.locator('.state'), '已派单');
    await expectText(row.locator('td.caller'), '137****6666');
    await expectText(unit.page.locator('#list-count'), '共 1 张，超期 0 张');
    await openRow(unit, mine);
    const info = unit.page.locator('#info');
    await expectContains(info.locator('dd[data-k="tk.channel"]'), '12315 归并热线');
    await expectContains(info.locator('dd[data-k="tk.channel"]'), `责任单位 ${MARKET}`);
    await expectText(info.locator('#d-summary'), '商场电梯故障无人维修，来电人联系电话137****6666');
    await expectText(info.locator('#d-caller'), '137****6666');
    await expectText(info.locator('dd[data-k="tk.requester"]'), '市民');
    await expectVisible(unit.page.locator('#d-finish-by'));
    await expectText(unit.page.locator('#d-flags'), '无催办、未超时');
    // The articles the agent answered from, from the call's form: what the citizen was already told.
    const kb = unit.page.locator('#d-knowledge li');
    await eventually(async () => expect(await kb.allInnerTexts()).toEqual(['电梯故障报修渠道 · v3 · 未能解答', '12315 并入 12345 后的投诉受理 · v1 · 已解答来电人问题']));
    expect(await kb.evaluateAll((ls) => ls.map((l) => (l as HTMLElement).dataset.article))).toEqual(['kb-elevator', 'kb-market-hotline']);
    // The page links under the top bar: the unit's three pages, this one current.
    const nav = unit.page.locator('#pagenav a');
    expect(await nav.evaluateAll((as) => as.map((a) => a.getAttribute('href')))).toEqual(['/tickets', '/supervision', '/kb']);
    await expectText(unit.page.locator('#pagenav a[aria-current="page"]'), '工单办理台');
    // Dispatched: a unit may accept or return it, nothing else.
    await expectTabs(unit, ['accept', 'return']);
    // 签收 shows once: the tab names the action, the button below confirms it.
    const visibleLabels = () => unit.page.$$eval('#action-tabs button, #action-forms button', (bs) => bs.filter((b) => (b as HTMLElement).offsetParent !== null).map((b) => (b as HTMLElement).innerText.trim()));
    expect((await visibleLabels()).filter((l) => l === '签收')).toHaveLength(1);
    await expectText(unit.page.locator('#submit-accept'), '确认签收');
    await screenshot(unit.page, 'ticket-desk-unit-dispatched');
    mark('unit sees its ticket');

    // ---- accept
    await unit.page.click('#submit-accept');
    await expectText(unit.page.locator('#action-msg'), '签收成功，工单现为「已签收」');
    await expectText(unit.page.locator('#d-state'), '已签收');
    expect((await app.tickets.get(mine))?.ticket?.state).toBe('accepted');
    await expectTabs(unit, ['start', 'reply', 'extend', 'plan', 'return']);

    // ---- an extension of 11 working days: the server's refusal beside the field, nothing changed
    const before = (await app.tickets.get(mine))!;
    await unit.page.click('#act-extend');
    const ext = unit.page.locator('#form-extend');
    await expectVisible(ext);
    await ext.locator('input[name="workingDays"]').fill('11');
    await ext.locator('textarea[name="reason"]').fill('需协调电梯维保单位及产权方，现场检测需较长时间');
    await ext.locator('input[name="callerConsent"]').check();
    await ext.locator('#submit-extend').click();
    const daysMsg = ext.locator('label:has(input[name="workingDays"]) + .field-msg');
    await expectContains(daysMsg, '延期累计不超过10个工作日');
    expect(await ext.locator('input[name="workingDays"]').getAttribute('aria-invalid')).toBe('true');
    await expectContains(ext.locator('.msg.err'), 'already 0, asked 11');
    const after = (await app.tickets.get(mine))!;
    expect(after.version).toBe(before.version);
    expect(after.ticket).toEqual(before.ticket);
    await screenshot(unit.page, 'ticket-desk-unit-extension-refused');

    // ---- 3 working days without the caller's consent: refused, named at the checkbox
    await ext.locator('input[name="workingDays"]').fill('3');
    await ext.locator('input[name="callerConsent"]').uncheck();
    await ext.locator('#submit-extend').click();
    await expectContains(ext.locator('label:has(input[name="callerConsent"]) + .field-msg'), '延期前须取得来电人同意');
    expect(await ext.locator('input[name="workingDays"]').getAttribute('aria-invalid')).toBeNull();
    expect((await app.tickets.get(mine))!.version).toBe(before.version);

    // ---- with consent: extended, the finish-by time moved
    await ext.locator('input[name="callerConsent"]').check();
    await ext.locator('#submit-extend').click();
    await expectText(unit.page.locator('#action-msg'), '延期成功，工单现为「已签收」');
    await expectText(unit.page.locator('#d-extended'), '3 个工作日');
    const extended = (await app.tickets.get(mine))!.ticket!;
    expect(extended.extendedWorkingDays).toBe(3);
    expect(extended.deadlines!.finishBy).toBeGreaterThan(before.ticket!.deadlines!.finishBy);
    expect(extended.history.at(-1)).toMatchObject({ type: 'extended', reason: '需协调电梯维保单位及产权方，现场检测需较长时间', actor: { id: 'scjg', role: 'unit', unit: MARKET }, data: { workingDays: 3, callerConsent: true } });
    mark('extension');

    // ---- reply
    await unit.page.click('#act-reply');
    await unit.page.locator('#form-reply textarea[name="content"]').fill('已督促维保单位更换电梯控制板，经检测恢复运行，已电话告知来电人。');
    await unit.page.click('#submit-reply');
    await expectText(unit.page.locator('#action-msg'), '答复成功，工单现为「已答复」');
    await expectVisible(unit.page.locator('#no-actions'));
    await expectTabs(unit, []);
    expect((await app.tickets.get(mine))?.ticket?.state).toBe('replied');
    await eventually(async () => expect(await historyTypes(unit)).toEqual(['received', 'dispatched', 'accepted', 'extended', 'replied']));
    await screenshot(unit.page, 'ticket-desk-unit-replied');
    await expectNoFullNumbers(unit, [caller, other]);
    // The other unit's ticket never reached this unit's browser.
    expect(unit.received.filter((b) => b.includes(theirs))).toEqual([]);
    expect(unit.errors).toEqual([]);
    // The knowledge base is one click away (it was linked from no page).
    await Promise.all([unit.page.waitForURL(`${base}/kb`), unit.page.click('#pagenav a[href="/kb"]')]);
    await expectText(unit.page.locator('#pagenav a[aria-current="page"]'), '知识库');
    expect(unit.errors).toEqual([]);
    mark('unit done');

    // ---- the supervisor reaches the desk from the wallboard
    const sup = await openBrowser();
    await login(sup, base, 'chen', '/supervisor');
    await Promise.all([sup.page.waitForURL(`${base}/tickets`), sup.page.click('#tickets-link')]);
    await eventually(async () => expect((await listed(sup)).sort()).toEqual([mine, theirs].sort()));
    await expectText(sup.page.locator(`#tickets tr[data-no="${mine}"] .state`), '已答复');
    // The unit filter narrows the list.
    await sup.page.fill('#f-unit', CITY);
    await sup.page.click('#f-search');
    await eventually(async () => expect(await listed(sup)).toEqual([theirs]));
    await sup.page.fill('#f-unit', '');
    await sup.page.selectOption('#f-state', 'replied');
    await eventually(async () => expect(await listed(sup)).toEqual([mine]));
    await openRow(sup, mine);
    await eventually(async () => expect(await historyTypes(sup)).toEqual(['received', 'dispatched', 'accepted', 'extended', 'replied']));
    const hist = sup.page.locator('#history tbody tr');
    await expectContains(hist.nth(0).locator('.who'), '话务员 · 1001');
    await expectContains(hist.nth(1).locator('.why'), `承办单位：${MARKET}`);
    // The system's own reasons are bilingual on the server: one language at a time on the page.
    await expectContains(hist.nth(1).locator('.why'), '座席选定承办单位');
    expect(await hist.nth(1).locator('.why').innerText()).not.toContain('unit chosen by the agent');
    await expectContains(hist.nth(2).locator('.who'), `承办单位 · ${MARKET} · scjg`);
    await expectContains(hist.nth(3).locator('.why'), '需协调电梯维保单位及产权方');
    await expectContains(hist.nth(3).locator('.why'), '延长 3 个工作日');
    await expectContains(hist.nth(3).locator('.why'), '来电人已同意');
    await expectContains(hist.nth(4).locator('.why'), '已督促维保单位更换电梯控制板');
    // Replied: the supervisor calls back, rates or closes.
    await expectTabs(sup, ['callback', 'rate', 'close']);
    await screenshot(sup.page, 'ticket-desk-supervisor-replied');
    await expectNoFullNumbers(sup, [caller, other]);

    // English on the same page.
    await sup.page.click('#lang');
    await expectText(sup.page.locator('#d-state'), 'Replied');
    await expectText(hist.nth(3).locator('.what'), 'Extended');
    await expectText(sup.page.locator('#act-callback'), 'Call back');
    await expectText(sup.page.locator('#submit-callback'), 'Confirm: Call back');
    expect(await sup.page.locator('#d-knowledge li').allInnerTexts()).toEqual(['电梯故障报修渠道 · v3 · did not answer it', '12315 并入 12345 后的投诉受理 · v1 · answered the caller']);
    expect(await sup.page.locator('#pagenav a').allInnerTexts()).toEqual(['Wallboard', 'Ticket desk', 'Supervision', 'Quality', 'Knowledge base', 'Calendar', 'Administration']);
    await expectContains(hist.nth(1).locator('.why'), 'unit chosen by the agent');
    await expectContains(hist.nth(3).locator('.why'), '+3 working days');
    await expectNoFullNumbers(sup, [caller, other]);
    await screenshot(sup.page, 'ticket-desk-supervisor-en');
    expect(sup.errors).toEqual([]);
    mark('supervisor');
    console.log(`ticket desk timings (ms): ${JSON.stringify(marks)}`);
  }, 90_000);

  it('GIVEN a ticket returned twice WHEN the supervisor decides the unit on the desk (研判) THEN it is dispatched after review and that unit can no longer return it', async () => {
    const { app, base } = await startWebApp(h);
    await unitUser(app, 'scjg', MARKET, '市场监管局承办人');
    await createUser(app, 'chen', ['supervisor'], { displayName: '陈班长' });
    const caller = '13988881234';
    const no = await ticket(app, caller, MARKET, '小区楼下烧烤店油烟扰民');

    // ---- first return, by the market unit on the desk, suggesting the city administration
    const unit = await openBrowser();
    await login(unit, base, 'scjg', '/tickets');
    await openRow(unit, no);
    await unit.page.click('#act-return');
    const ret = unit.page.locator('#form-return');
    // A return needs its reason: the server names the field.
    await ret.locator('#submit-return').click();
    await expectContains(ret.locator('label:has(textarea[name="reason"]) + .field-msg'), 'reason');
    expect((await app.tickets.get(no))?.ticket?.state).toBe('dispatched');
    await ret.locator('textarea[name="reason"]').fill('油烟扰民属城市管理部门职责（餐饮油烟执法）');
    await ret.locator('input[name="suggestedUnit"]').fill(CITY);
    await ret.locator('#submit-return').click();
    await expectText(unit.page.locator('#action-msg'), '回退成功，工单现为「已回退」');
    expect((await app.tickets.get(no))?.ticket?.state).toBe('returned');
    // Returned: no longer this unit's ticket, on the desk or in its list.
    await expectVisible(unit.page.locator('#detail'), false);
    await eventually(async () => expect(await listed(unit)).toEqual([]));

    // ---- the supervisor re-dispatches to the suggested unit (prefilled)
    const sup = await openBrowser();
    await login(sup, base, 'chen', '/supervisor');
    await sup.page.goto(`${base}/tickets?no=${no}`);
    await expectText(sup.page.locator('#d-state'), '已回退');
    await expectTabs(sup, ['dispatch']);
    await expectContains(sup.page.locator('#review-box'), '油烟扰民属城市管理部门职责');
    expect(await sup.page.inputValue('#form-dispatch input[name="units"]')).toBe(CITY);
    await sup.page.click('#submit-dispatch');
    await expectText(sup.page.locator('#action-msg'), '派单成功，工单现为「已派单」');
    expect((await app.tickets.get(no))?.ticket?.units).toEqual([CITY]);

    // ---- the city administration returns it too (through the service: its user's desk is the same page)
    await app.ticketService.act(no, { type: 'return', unit: CITY, reason: '烧烤店证照及油烟净化设施属市场监管、生态环境部门', suggestedUnit: MARKET }, { id: 'cgj', role: 'unit', unit: CITY });
    expect((await app.tickets.get(no))?.ticket?.state).toBe('supervisor-review');

    // ---- 研判: the supervisor sees both returns and decides
    await sup.page.selectOption('#f-state', 'supervisor-review');
    await eventually(async () => expect(await listed(sup)).toEqual([no]));
    await openRow(sup, no);
    await expectText(sup.page.locator('#d-state'), '待研判');
    await expectTabs(sup, ['dispatch']);
    await expectText(sup.page.locator('#act-dispatch'), '研判派单');
    const review = sup.page.locator('#review-box li');
    await eventually(async () => expect(await review.count()).toBe(2));
    await expectContains(review.nth(1), `${CITY} 于`);
    await expectContains(review.nth(1), `建议改派：${MARKET}`);
    expect(await sup.page.inputValue('#form-dispatch input[name="units"]')).toBe(MARKET);
    // An empty unit list is refused by the server, named at the field.
    await sup.page.fill('#form-dispatch input[name="units"]', '');
    await sup.page.click('#submit-dispatch');
    await expectContains(sup.page.locator('#form-dispatch label:has(input[name="units"]) + .field-msg'), '至少一个承办单位');
    await sup.page.fill('#form-dispatch input[name="units"]', MARKET);
    await sup.page.fill('#form-dispatch textarea[name="reason"]', '经研判，烧烤店经营及油烟问题由市场监管局牵头办理');
    await screenshot(sup.page, 'ticket-desk-supervisor-review');
    await sup.page.click('#submit-dispatch');
    await expectText(sup.page.locator('#action-msg'), '研判派单成功，工单现为「已派单」');
    const decided = (await app.tickets.get(no))!.ticket!;
    expect(decided.state).toBe('dispatched');
    expect(decided.units).toEqual([MARKET]);
    expect(decided.history.at(-1)).toMatchObject({ type: 'dispatched', actor: { id: 'chen', role: 'supervisor' }, data: { afterReview: true } });
    await eventually(async () => expect(await historyTypes(sup)).toEqual(['received', 'dispatched', 'returned', 'dispatched', 'returned', 'supervisor-review', 'dispatched']));
    await expectContains(sup.page.locator('#history tbody tr').nth(6).locator('.why'), '研判后派单');

    // ---- the decided unit may accept, not return
    await unit.page.reload();
    await eventually(async () => expect(await listed(unit)).toEqual([no]));
    await openRow(unit, no);
    await expectText(unit.page.locator('#d-state'), '已派单');
    await expectTabs(unit, ['accept']);
    await expectContains(unit.page.locator('#action-forms'), '不得再回退');
    await screenshot(unit.page, 'ticket-desk-unit-after-review');
    await expectNoFullNumbers(unit, [caller]);
    await expectNoFullNumbers(sup, [caller]);
    expect(unit.errors).toEqual([]);
    expect(sup.errors).toEqual([]);
  }, 90_000);

  it('GIVEN a ticket past its finish-by time on the ticket clock WHEN the clocks fire THEN it is on the overdue list (督办), highlighted, and its detail shows the flag', async () => {
    let offset = 0;
    const app = await h.startApp({}, { now: () => Date.now() + offset });
    await app.http.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`;
    await createUser(app, 'chen', ['supervisor'], { displayName: '陈班长' });
    const late = await ticket(app, '13600001111', CITY, '路灯不亮');
    const fine = await ticket(app, '13600002222', CITY, '井盖缺失');
    // The second one was replied in time; the first is still open when its finish-by time passes.
    const cgj = { id: 'cgj', role: 'unit', unit: CITY } as const;
    await app.ticketService.act(late, { type: 'accept', unit: CITY }, cgj);
    await app.ticketService.act(fine, { type: 'accept', unit: CITY }, cgj);
    await app.ticketService.act(fine, { type: 'start' }, cgj);
    await app.ticketService.act(fine, { type: 'reply', content: '已补装井盖' }, cgj);
    const finishBy = (await app.tickets.get(late))!.ticket!.deadlines!.finishBy;
    offset = finishBy + 60_000 - Date.now();
    await app.ticketClocks.runDue();
    await eventually(async () => expect(await app.ticketClocks.overdue()).toEqual([late]));

    const sup = await openBrowser();
    await login(sup, base, 'chen', '/supervisor');
    await sup.page.goto(`${base}/tickets`);
    await eventually(async () => expect((await listed(sup)).sort()).toEqual([late, fine].sort()));
    await expectText(sup.page.locator('#list-count'), '共 2 张，超期 1 张');
    expect(await sup.page.getAttribute(`#tickets tr[data-no="${late}"]`, 'data-overdue')).toBe('1');
    expect(await sup.page.getAttribute(`#tickets tr[data-no="${fine}"]`, 'data-overdue')).toBe('0');
    await expectContains(sup.page.locator(`#tickets tr[data-no="${late}"] td.due`), '超期');
    await sup.page.check('#f-overdue');
    await eventually(async () => expect(await listed(sup)).toEqual([late]));
    await openRow(sup, late);
    await expectContains(sup.page.locator('#flag-finish-overdue'), '办结超时');
    expect(await sup.page.getAttribute('#d-finish-by', 'class')).toContain('overdue');
    // Still with the unit: a supervisor may extend or plan on the caller's behalf, not reply for it.
    await expectTabs(sup, ['extend', 'plan']);
    await screenshot(sup.page, 'ticket-desk-overdue');
    await expectNoFullNumbers(sup, ['13600001111', '13600002222']);
    expect(sup.errors).toEqual([]);
  });
});
