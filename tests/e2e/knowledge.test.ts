/**
 * The knowledge base in headless Chromium: a unit's editor writes an article and submits it, the
 * centre publishes it (refusals shown beside the field); an agent taking a 12333 call sees it among
 * the suggestions of the call pop, searches, puts it on the ticket form with one click and saves —
 * the ticket carries the reference; the public page finds it without login.
 */
import { afterEach, describe, expect, it } from 'vitest';
import '../support/log-capture.js';
import { sessionByCaller, useHarness } from '../support/harness.js';
import { PROMPTS_DIR } from '../support/pbx.js';
import { eventually } from '../support/wait.js';
import { createUser, expectAttr, expectContains, expectCount, expectText, login, openBrowser, PASSWORD, screenshot, startWebApp } from './support.js';

const h = useHarness();
const calls: { hangup(): Promise<void> }[] = [];
// A failed step must not leave the call on the PBX.
afterEach(async () => {
  for (const c of calls.splice(0)) await c.hangup().catch(() => undefined);
});
const HRSS = '市人力资源社会保障局';

describe('knowledge base pages (Chromium)', () => {
  it('GIVEN a unit editor, the centre and an agent WHEN an article is written, published and used on a 12333 call THEN each page shows what its role may do and the ticket carries the article', async () => {
    const { app, base } = await startWebApp(h, { KB_PROMPTS_DIR: PROMPTS_DIR });
    await app.users.create({ username: 'hrss-editor', roles: ['unit'], password: PASSWORD, displayName: '人社局编辑', unitId: HRSS });
    await createUser(app, 'kb-zhao', ['supervisor'], { displayName: '赵班长' });
    await createUser(app, 'kb-chen', ['agent'], { agentId: '2101', displayName: '陈静' });
    expect(await app.acd.upsertGroup({ id: 'general', name: '话务受理座席', kind: 'general' })).toEqual({ ok: true });
    expect(await app.acd.upsertAgent({ id: '2101', name: '座席2101', extension: '2101', skills: { general: 3, '12333': 3 }, groups: ['general'] })).toEqual({ ok: true });

    // The unit's editor writes an article; a bad date is refused beside its field.
    const ed = await openBrowser();
    const e = ed.page;
    await login(ed, base, 'hrss-editor', '/tickets');
    await e.goto(`${base}/kb`);
    await e.waitForSelector('#logout');
    await expectAttr(e.locator('#kb-publish'), 'class', 'centre hidden');
    await e.fill('#kb-form [name="title"]', '养老保险待遇领取');
    await e.fill('#kb-form [name="shortAnswer"]', '缴费满十五年，到退休年龄后，可持社保卡到人社窗口申请领取养老金。');
    await e.fill('#kb-form [name="body"]', '参保人员达到法定退休年龄且累计缴费满15年的，可持社保卡到人社服务窗口或通过网上办事大厅申请按月领取基本养老金。');
    await e.fill('#kb-form [name="keywords"]', '养老金，退休');
    await e.fill('#kb-form [name="lines"]', '12333');
    await e.fill('#kb-form [name="skills"]', '12333');
    await e.fill('#kb-form [name="sourceDepartment"]', HRSS);
    await e.fill('#kb-form [name="lines"]', '12a33');
    await e.click('#kb-save');
    await expectContains(e.locator('#kb-msg'), 'lines[0]');
    await e.fill('#kb-form [name="lines"]', '12333');
    await e.click('#kb-save');
    await expectContains(e.locator('#kb-msg'), '已保存');
    await e.click('#kb-submit');
    await expectContains(e.locator('#kb-msg'), '待审核');
    await expectContains(e.locator('#kb-list tbody'), '养老保险待遇领取');
    await screenshot(e, 'kb-editor-unit');
    const id = (await app.knowledge.kb.list({ username: 'x', centre: true })).find((a) => a.title === '养老保险待遇领取')!.id;

    // The centre publishes it.
    const sup = await openBrowser();
    const s = sup.page;
    await login(sup, base, 'kb-zhao', '/supervisor');
    await s.goto(`${base}/kb`);
    await s.click(`#kb-list tr[data-id="${id}"]`);
    await expectContains(s.locator('#kb-state'), '待审核');
    await s.click('#kb-reject');
    await expectContains(s.locator('#kb-msg'), 'note');
    await s.click('#kb-publish');
    await expectContains(s.locator('#kb-msg'), '已发布');
    await expectCount(s.locator('#kb-history li'), 3);
    await screenshot(s, 'kb-editor-centre');

    // The agent takes a 12333 call: the article is suggested on the call pop, one click puts it on the ticket.
    const ag = await openBrowser();
    const p = ag.page;
    await login(ag, base, 'kb-chen', '/agent');
    await p.click('#btn-available');
    await eventually(async () => expect((await app.acd.agents()).find((a) => a.id === '2101')?.state).toBe('available'));
    const call = await h.side.call('12333', '13911112101');
    calls.push(call);
    await call.answered();
    const session = await sessionByCaller(app, '13911112101');
    // The 12333 line's forwarding notice plays first (its real length), then the call is offered.
    await eventually(() => expect(session.record.agents).toEqual(['2101']), 60_000);
    await expectText(p.locator('#caller'), '139****2101', 20_000);
    await expectContains(p.locator('#kb-for'), '12333', 15_000);
    await expectContains(p.locator(`#kb-results li[data-id="${id}"]`), '养老保险待遇领取');
    await p.fill('#kb-q', '养老金怎么领');
    await p.click('#kb-go');
    await expectContains(p.locator('#kb-for'), '检索结果');
    await p.click(`#kb-results li[data-id="${id}"] .kb-insert`);
    await expectContains(p.locator('#t-kb'), '养老保险待遇领取');
    await expectText(p.locator(`#kb-results li[data-id="${id}"] .kb-insert`), '已引用');
    await p.selectOption('#t-category', 'consult');
    await p.fill('#t-summary', '咨询养老金领取条件');
    await p.click('#t-save');
    await expectContains(p.locator('#ticket-msg'), '工单已保存');
    await screenshot(p, 'kb-agent-console');
    await call.hangup();
    await call.ended();
    calls.length = 0;
    await eventually(async () => {
      const no = await app.tickets.byCall(session.callId);
      expect((await app.tickets.get(no!))?.form?.knowledge).toEqual([expect.objectContaining({ articleId: id, helped: true })]);
    });

    // The public page, no login.
    const pub = await openBrowser();
    await pub.page.goto(`${base}/kb/public`);
    await pub.page.fill('#pub-q', '社保卡');
    await pub.page.click('#pub-search');
    await expectContains(pub.page.locator(`#pub-results li[data-id="${id}"]`), '养老保险待遇领取');
    await pub.page.click(`#pub-results li[data-id="${id}"] a`);
    await expectContains(pub.page.locator('#pub-article'), '网上办事大厅');
    await screenshot(pub.page, 'kb-public');

    for (const x of [ed, sup, ag, pub]) expect(x.errors).toEqual([]);
  });
});
