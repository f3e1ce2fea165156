/**
 * The 回访 campaign section of the supervision page in a real headless Chromium, zh-CN then
 * English, with screenshots: a supervisor starts a campaign over closed tickets (a ticket not yet
 * closed is refused, the field named), sees its progress and the next call time (a Saturday: Monday
 * 09:00, nothing dialled), pauses and cancels it. No calls are placed here (the calls are
 * tests/integration/campaign-calls.test.ts), and no page response holds a citizen's number.
 */
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import '../support/log-capture.js';
import type { App } from '../../src/app.js';
import { useHarness } from '../support/harness.js';
import { at, callRecord, TestClock, ticketFromRecord } from '../support/tickets.js';
import { createUser, expectContains, expectText, login, openBrowser, screenshot } from './support.js';

const h = useHarness();
const UNIT = '市住房城乡建设局';
const FORM = { category: 'complaint', requesterKind: 'citizen', summary: '反映小区电梯长期故障', unitSuggestion: UNIT } as const;

async function closedTicket(app: App, number: string, startedAt: number): Promise<string> {
  const st = await ticketFromRecord(app, callRecord(number, startedAt), FORM);
  const unit = { id: 'unit-zj', role: 'unit' as const, unit: UNIT };
  await app.ticketService.act(st.ticketNo, { type: 'accept', unit: UNIT }, unit);
  await app.ticketService.act(st.ticketNo, { type: 'reply', content: '已联系物业维修' }, unit);
  await app.ticketService.act(st.ticketNo, { type: 'close', reason: '待回访评价 / rating by the campaign' }, { id: 'sup', role: 'supervisor' });
  return st.ticketNo;
}

describe('回访 campaigns on the supervision page (Chromium)', () => {
  it('a supervisor starts a campaign over closed tickets, sees its progress and next call, pauses and cancels it; zh-CN and English', async () => {
    const clock = new TestClock(at('2026-12-12', '10:00:00')); // a Saturday
    const app = await h.startApp({}, { now: clock.now });
    await app.http.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.http.server.address() as AddressInfo).port}`;
    await createUser(app, 'cmp-sup', ['supervisor'], { displayName: '王班长' });
    const numbers = ['13955550001', '13955550002', '13955550003'];
    const closed: string[] = [];
    for (const n of numbers) closed.push(await closedTicket(app, n, clock.now() - 86_400_000));
    const open = (await ticketFromRecord(app, callRecord('13955550009', clock.now() - 3_600_000), FORM)).ticketNo;

    const s = await openBrowser();
    await login(s, base, 'cmp-sup', '/supervisor');
    await s.page.goto(`${base}/supervision`);
    await expectText(s.page.locator('#cmp-h'), '回访任务（电话满意度调查）');
    await expectContains(s.page.locator('#campaigns tbody'), '暂无回访任务');

    // A ticket that is not closed: refused, the field named, nothing created.
    await s.page.fill('#cmp-form [name=name]', '12月住建回访');
    await s.page.fill('#cmp-form [name=ticketNos]', [...closed, open].join('\n'));
    await s.page.fill('#cmp-form [name=retries]', '2');
    await s.page.fill('#cmp-form [name=retryIntervalSec]', '30');
    await s.page.click('#cmp-start');
    await expectContains(s.page.locator('#cmp-msg'), 'ticketNos[3]');
    await expectContains(s.page.locator('#cmp-msg'), '未办结');
    expect(await app.campaigns.list()).toEqual([]);

    await s.page.fill('#cmp-form [name=ticketNos]', closed.join(', '));
    await s.page.click('#cmp-start');
    await expectContains(s.page.locator('#cmp-msg'), '回访任务已开始：3 张工单');
    const row = s.page.locator('#campaigns tbody tr').first();
    await expectContains(row, '12月住建回访');
    await expectContains(row, '进行中');
    await expectContains(row, '待拨 3');
    // Saturday: the next call is Monday 09:00 city time.
    await expectContains(row, '12-14 09:00');
    await expectContains(row, '重拨 2 次，间隔 30 分钟');
    await screenshot(s.page, 'campaigns-zh');

    await s.page.click('#lang');
    await expectText(s.page.locator('#cmp-h'), '回访 campaigns (satisfaction survey by phone)');
    await expectContains(row, 'Running');
    await expectContains(row, 'to call 3');
    await screenshot(s.page, 'campaigns-en');

    await row.locator('button[data-act=pause]').click();
    await expectContains(row, 'Paused');
    await row.locator('button[data-act=cancel]').click();
    await expectContains(row, 'Cancelled');
    await s.page.click('#lang');
    const [c] = await app.campaigns.list();
    expect(c).toMatchObject({ status: 'cancelled', createdBy: 'cmp-sup', progress: { cancelled: 3, total: 3 } });
    expect((await app.audit.query({ target: `campaign:${c!.id}` })).map((e) => e.action).sort()).toEqual(['campaign-cancel', 'campaign-create', 'campaign-pause']);

    // Nothing was dialled, and no response the page received held a citizen's number.
    expect(await h.side.channels()).toEqual([]);
    for (const body of s.received) for (const n of [...numbers, '13955550009']) expect(body).not.toContain(n);
    expect(s.errors).toEqual([]);
  });
});
