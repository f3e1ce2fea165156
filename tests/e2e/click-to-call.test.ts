/**
 * The click-to-call button of the ticket desk (/tickets) in a real headless
 * Chromium, in both PBX modes: a handling unit's user opens their ticket and
 * presses 呼叫来电人; their phone (a Local channel answered by the test side)
 * rings first, then the citizen as 12345; the desk follows the call (talking,
 * then answered with its length) and nothing the page shows or received
 * carries the citizen's number in full.
 */
import { describe, expect, it } from 'vitest';
import '../support/log-capture.js';
import { useHarness } from '../support/harness.js';
import { callRecord, ticketFromRecord } from '../support/tickets.js';
import { eventually } from '../support/wait.js';
import { expectContains, login, openBrowser, PASSWORD, screenshot, startWebApp } from './support.js';

const h = useHarness();
const UNIT = '市住房城乡建设局';
const FORM = { category: 'complaint', requesterKind: 'citizen', summary: '反映工地夜间施工噪音扰民', unitSuggestion: '' } as const;

describe('click-to-call on the ticket desk (Chromium)', () => {
  it('GIVEN a unit user with a phone WHEN they press 呼叫来电人 on their ticket THEN the call is placed, followed on the page to its end, and the number never reaches the page', async () => {
    const { app, base } = await startWebApp(h, { OUTBOUND_USER_EXTENSIONS: 'unit-zj:8801' });
    const citizen = '13955557777';
    const st = await ticketFromRecord(app, callRecord(citizen, Date.now()), FORM);
    await app.users.create({ username: 'unit-zj', roles: ['unit'], unitId: UNIT, password: PASSWORD, displayName: '住建局 王' });
    const s = await openBrowser();
    await login(s, base, 'unit-zj', '/tickets');
    await s.page.goto(`${base}/tickets?no=${st.ticketNo}`);
    await s.page.waitForSelector('#call-citizen');
    const before = h.side.events.length;
    await s.page.click('#call-citizen');
    await expectContains(s.page.locator('#call-msg'), '正在呼叫您的话机');
    const citizenLeg = await h.side.waitFor((e) => e.type === 'StasisStart' && e.args?.[0] === 'agent' && String(e.args[1]) === citizen && h.side.events.indexOf(e) >= before, 15_000, 'citizen leg');
    expect(citizenLeg.channel.caller.number).toBe('12345');
    await expectContains(s.page.locator('#outbound-calls li').first(), '通话中', 15_000);
    await screenshot(s.page, 'click-to-call-talking');
    await h.side.request('DELETE', `/channels/${citizenLeg.channel.id}`);
    await expectContains(s.page.locator('#outbound-calls li').first(), '已接通', 15_000);
    await screenshot(s.page, 'click-to-call-ended');

    const html = await s.page.content();
    expect(html).not.toContain(citizen);
    expect(s.received.filter((b) => b.includes(citizen))).toEqual([]);
    expect(await s.page.innerText('#d-caller')).toBe('139****7777');
    expect(await s.page.innerText('body')).not.toMatch(/\boc\.[a-z]/);
    expect(s.errors).toEqual([]);
    await eventually(async () => expect(await h.side.channels()).toEqual([]), 15_000);
  });
});
