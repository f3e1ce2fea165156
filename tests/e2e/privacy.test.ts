/**
 * Issue 3 in a real headless Chromium: an agent logs in to the console and
 * takes a call — the caller is shown masked, and the full number appears
 * nowhere in the page, its API responses or its WebSocket frames; a
 * supervisor reveals the ticket's number with a reason; an auditor finds the
 * reveal in the audit log on /audit.
 */
import { describe, expect, it } from 'vitest';
import '../support/log-capture.js';
import { pressAtWelcome, sessionByCaller, useHarness } from '../support/harness.js';
import { eventually } from '../support/wait.js';
import { createAgentSeat, createUser, expectAttr, expectContains, expectCount, expectText, expectVisible, login, openBrowser, screenshot, startWebApp } from './support.js';

const h = useHarness();

describe('privacy in the consoles (Chromium)', () => {
  it('GIVEN an agent on the console WHEN a call is connected THEN the caller is masked everywhere; a supervisor reveal is audited and found by the auditor', async () => {
    const { app, base } = await startWebApp(h);
    await createAgentSeat(app, '1001');
    await createUser(app, 'zhang', ['agent'], { agentId: '1001', displayName: '张敏' });
    await createUser(app, 'li', ['supervisor'], { displayName: '李班长' });
    await createUser(app, 'wang', ['auditor'], { displayName: '王审计' });

    // The agent logs in and becomes available; the softphone is not registered (no WebRTC PBX here) and the page works anyway.
    const agent = await openBrowser();
    await login(agent, base, 'zhang', '/agent');
    await expectAttr(agent.page.locator('#sp-status'), 'data-status', 'unregistered');
    await expectText(agent.page.locator('#sp-status'), '未注册');
    await expectText(agent.page.locator('#ws-status'), '已连接');
    await agent.page.click('#btn-available');
    await eventually(async () => expect((await app.acd.agents()).find((a) => a.id === '1001')?.state).toBe('available'));

    // A citizen calls 12345 and presses 0; the agent's dial string is answered by the test side.
    const caller = '13812345678';
    const call = await h.side.call('12345', caller);
    await call.answered();
    const s = await sessionByCaller(app, caller);
    await pressAtWelcome(s, call, '0');

    await expectText(agent.page.locator('#caller'), '138****5678', 15_000);
    await expectText(agent.page.locator('#call-dialed'), '12345');
    await expectVisible(agent.page.locator('#call-ivr li').first());
    await expectAttr(agent.page.locator('#state-badge'), 'data-state', 'on-call');
    const html = await agent.page.content();
    expect(html).not.toContain(caller);
    expect(await agent.page.locator('body').innerText()).not.toContain(caller);
    await screenshot(agent.page, 'agent-call-pop');

    // The caller hangs up; the call's ticket is made.
    await call.hangup();
    await expectText(agent.page.locator('#call-status'), '通话已结束', 10_000);
    const ticketNo = await eventually(async () => {
      const no = await app.tickets.byCall(s.callId);
      expect(no).toBeTruthy();
      return no!;
    }, 15_000);
    // Nothing the agent's browser received ever carried the full number.
    expect(agent.received.length).toBeGreaterThan(3);
    expect(agent.received.filter((b) => b.includes(caller))).toEqual([]);
    expect(agent.errors).toEqual([]);

    // The supervisor reveals the number of that ticket, giving a reason.
    const sup = await openBrowser();
    await login(sup, base, 'li', '/supervisor');
    await sup.page.fill('#r-ticket', ticketNo);
    await sup.page.fill('#r-reason', 'x');
    await sup.page.click('#r-submit');
    // A reason that is too short is refused, naming the field, and nothing is shown.
    await expectContains(sup.page.locator('#reveal-msg'), 'reason');
    await expectAttr(sup.page.locator('#r-reason'), 'aria-invalid', 'true');
    await expectVisible(sup.page.locator('#reveal-out'), false);
    await sup.page.fill('#r-reason', '市民要求回电核实诉求');
    await sup.page.click('#r-submit');
    await expectText(sup.page.locator('#revealed'), caller);
    await expectContains(sup.page.locator('#revealed-note'), '审计');
    await screenshot(sup.page, 'supervisor-reveal');
    expect(sup.errors).toEqual([]);

    // The auditor finds the reveal: who, which ticket, why.
    const auditor = await openBrowser();
    await login(auditor, base, 'wang', '/audit');
    await auditor.page.selectOption('#a-action', 'number-revealed');
    await auditor.page.fill('#a-actor', 'li');
    await auditor.page.click('#a-search');
    const row = auditor.page.locator('#audit-table tbody tr[data-action="number-revealed"]');
    await expectCount(row, 1);
    await expectContains(row, `ticket:${ticketNo}`);
    await expectContains(row, '市民要求回电核实诉求');
    await expectContains(row, 'li');
    await screenshot(auditor.page, 'audit-log');
    expect(auditor.errors).toEqual([]);

    // The same entry through the API.
    const page = await app.audit.page({ action: 'number-revealed' });
    expect(page.entries).toEqual([expect.objectContaining({ actor: 'li', target: `ticket:${ticketNo}`, detail: '市民要求回电核实诉求' })]);
  });
});
