/**
 * Issue 6 in a real headless Chromium (fake media devices): the agent console
 * — softphone registration (and re-registration after a network drop) to a
 * SIP-over-WebSocket registrar, state buttons driving the ACD, a call pop from
 * a simulated call (IVR, press 0, the agent's dial string answered by the test
 * side), the ticket form saved onto the call's ticket, a linkage hand-off with
 * its notice from the WebSocket — and the supervisor wallboard showing the
 * waiting call and the agents' states.
 */
import { afterAll, describe, expect, it } from 'vitest';
import '../support/log-capture.js';
import { pressAtWelcome, sessionByCaller, useHarness } from '../support/harness.js';
import { eventually } from '../support/wait.js';
import {
  createAgentSeat, createUser, expectAttr, expectContains, expectCount, expectText, expectVisible, login, openBrowser,
  screenshot, startFakeRegistrar, startWebApp, type FakeRegistrar,
} from './support.js';

const h = useHarness();
let registrar: FakeRegistrar | undefined;
afterAll(async () => registrar?.close());

describe('agent console and supervisor wallboard (Chromium)', () => {
  it('GIVEN an agent logged in WHEN they register, change state, take a call and fill the ticket form THEN the ACD, the ticket and the wallboard follow', async () => {
    registrar = await startFakeRegistrar();
    const { app, base } = await startWebApp(h, { SOFTPHONE_WS_URL: registrar.url, SOFTPHONE_ICE_SERVERS: '' });
    await createAgentSeat(app, '2001');
    await createAgentSeat(app, '2002');
    await createUser(app, 'chen', ['agent'], { agentId: '2001', displayName: '陈静' });
    await createUser(app, 'zhao', ['supervisor'], { displayName: '赵班长' });

    const agent = await openBrowser();
    const p = agent.page;
    await login(agent, base, 'chen', '/agent');
    await expectAttr(p.locator('#state-badge'), 'data-state', 'offline');
    await expectText(p.locator('#ws-status'), '已连接');

    // Softphone: not registered until the agent registers; iceServers come only from the configuration (none here).
    await expectText(p.locator('#sp-status'), '未注册');
    await expectContains(p.locator('#sp-server'), registrar.url);
    await expectContains(p.locator('#sp-server'), '无（仅本机候选地址）');
    expect(await p.inputValue('#sip-user')).toBe('agent2001');
    await p.fill('#sip-password', 'sip-secret-2001');
    await p.click('#sp-register');
    await expectAttr(p.locator('#sp-status'), 'data-status', 'registered');
    await expectText(p.locator('#sp-status'), '已注册');
    expect(registrar.registers.length).toBeGreaterThanOrEqual(1);
    expect(registrar.registers[0]).toMatch(/^REGISTER sip:127\.0\.0\.1 SIP\/2\.0|^REGISTER sip:hotline\.local SIP\/2\.0/);
    expect(registrar.registers[0]).toContain('sip:agent2001@hotline.local');

    // A network drop: the page says so, reconnects by itself and registers again.
    const before = registrar.registers.length;
    registrar.dropAll();
    await expectAttr(p.locator('#sp-status'), 'data-status', 'reconnecting');
    await expectContains(p.locator('#sp-status'), '未注册');
    await expectAttr(p.locator('#sp-status'), 'data-status', 'registered', 15_000);
    expect(registrar.registers.length).toBeGreaterThan(before);
    expect(registrar.connections).toBeGreaterThanOrEqual(2);

    // 示闲 → available in the ACD.
    await p.click('#btn-available');
    await eventually(async () => expect((await app.acd.agents()).find((a) => a.id === '2001')?.state).toBe('available'));
    await expectAttr(p.locator('#state-badge'), 'data-state', 'available');
    // 示忙 with a reason → paused with that reason.
    await p.selectOption('#pause-reason', '培训');
    await p.click('#btn-pause');
    await eventually(async () => expect((await app.acd.agents()).find((a) => a.id === '2001')).toMatchObject({ state: 'paused', reason: '培训' }));
    await expectAttr(p.locator('#state-badge'), 'data-state', 'paused');
    await expectContains(p.locator('#state-reason'), '培训');

    // The supervisor's wallboard.
    const sup = await openBrowser();
    const sp = sup.page;
    await login(sup, base, 'zhao', '/supervisor');
    await expectAttr(sp.locator('#agents tr[data-agent="2001"]'), 'data-state', 'paused');
    await expectAttr(sp.locator('#agents tr[data-agent="2002"]'), 'data-state', 'offline');

    // A citizen calls and presses 0 while nobody is available: the call waits, and the wallboard shows it.
    const caller = '13987654321';
    const call = await h.side.call('12345', caller);
    await call.answered();
    const s = await sessionByCaller(app, caller);
    await pressAtWelcome(s, call, '0');
    const queueRow = sp.locator('#queues tr[data-skill="general"]');
    await expectVisible(queueRow, true, 10_000);
    await expectText(queueRow.locator('td').nth(1), '1');
    await expectText(sp.locator('#calls tbody tr td').first(), '139****4321');
    await screenshot(sp, 'supervisor-waiting');

    // 示闲 → the call is offered, answered by the test side, and pops on the console.
    await p.click('#btn-available');
    await expectText(p.locator('#caller'), '139****4321', 15_000);
    await expectText(p.locator('#call-dialed'), '12345');
    await expectContains(p.locator('#call-ivr'), 'dtmf 0');
    await expectContains(p.locator('#call-earlier'), '无历史工单');
    await expectAttr(sp.locator('#agents tr[data-agent="2001"]'), 'data-state', 'on-call');
    await expectText(sp.locator('#calls tbody tr td').nth(3), '2001');

    // The ticket form: a missing category is refused naming the field; then saved.
    await p.fill('#t-summary', '小区路灯损坏，夜间出行不便');
    await p.click('#t-save');
    await expectContains(p.locator('#ticket-msg'), 'category');
    await expectAttr(p.locator('#t-category'), 'aria-invalid', 'true');
    await p.selectOption('#t-category', 'complaint');
    await p.check('input[name="requesterKind"][value="enterprise"]');
    await p.fill('#t-unit', '市城市管理局');
    await p.click('#t-save');
    await expectContains(p.locator('#ticket-msg'), '工单已保存');
    expect(await p.getAttribute('#t-category', 'aria-invalid')).toBeNull();

    // One-key linkage to 110: requested from the console; the outcome comes back as a notice over the WebSocket.
    await p.click('button[data-linkage="110"]');
    await expectContains(p.locator('#ho-msg'), '110');
    await expectCount(p.locator('#notices li:not([data-code="requested"])'), 1, 15_000);
    await screenshot(p, 'agent-console');

    // The caller hangs up: the console says the call ended, and the ticket carries the form.
    await call.hangup();
    await expectText(p.locator('#call-status'), '通话已结束', 10_000);
    // The form can still be completed after the call (话后处理).
    await p.evaluate(() => { document.querySelector('#ticket-msg')!.textContent = ''; });
    await p.fill('#t-summary', '小区路灯损坏，夜间出行不便；已告知受理时限');
    await p.click('#t-save');
    await expectContains(p.locator('#ticket-msg'), '工单已保存', 10_000);
    const ticket = await eventually(async () => {
      const no = await app.tickets.byCall(s.callId);
      expect(no).toBeTruthy();
      return (await app.tickets.get(no!))!;
    }, 15_000);
    expect(ticket.form).toMatchObject({
      category: 'complaint',
      requesterKind: 'enterprise',
      summary: '小区路灯损坏，夜间出行不便；已告知受理时限',
      unitSuggestion: '市城市管理局',
      by: '2001',
    });
    expect(ticket.record.agents).toEqual(['2001']);

    // Today's figures on the wallboard: one offered, one answered.
    await expectText(sp.locator('#kpi-answered .v'), '1', 5_000);
    await expectText(sp.locator('#kpi-answer-rate .v'), '100.0%');
    await expectVisible(sp.locator('#by-group tr[data-key="general"]'));
    await screenshot(sp, 'supervisor-wallboard');

    // 离线 → logged out of the ACD; the softphone unregisters on request.
    await p.click('#btn-offline');
    await eventually(async () => expect((await app.acd.agents()).find((a) => a.id === '2001')?.state).toBe('offline'));
    await p.click('#sp-unregister');
    await expectAttr(p.locator('#sp-status'), 'data-status', 'unregistered');
    expect(registrar.registers.some((r) => /expires=0|Expires: 0/i.test(r))).toBe(true);

    // English on demand, kept across reloads.
    await p.click('#lang');
    await expectText(p.locator('#btn-available'), 'Available');
    await p.reload();
    await expectText(p.locator('#btn-available'), 'Available');
    await expectText(p.locator('#sp-status'), 'not registered');

    expect(agent.errors).toEqual([]);
    expect(sup.errors).toEqual([]);
    expect([...agent.received, ...sup.received].filter((b) => b.includes(caller))).toEqual([]);
  });
});
