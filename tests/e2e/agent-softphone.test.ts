/**
 * What a real agent shift met (issue 13, point 5), in headless Chromium with fake media devices:
 * the /agent page's sip.js softphone registers over WebSocket with the SHIPPED defaults
 * (AGENT_DIAL_TEMPLATE=PJSIP/agent{ext}, ACD_REQUIRE_REGISTRATION=true), goes available, gets a
 * citizen's call popped while it rings, answers, audio flows both ways, hangs up, and the ticket
 * exists; an agent idle past the login token's lifetime still answers with two-way audio, and a
 * lost login never tears the call or the softphone down; a seat's new extension is re-checked; a
 * re-registration keeps a pause; a seat group is offered for blind transfers only.
 *
 * Real mode: the softphone registers to the throwaway Asterisk's own WebSocket transport
 * (ws://127.0.0.1:<httpPort>/ws) as agent1001 with its password, and Asterisk dials it over
 * WebRTC. Sim mode: the simulated PBX has no SIP stack nor media, so the softphone registers to a
 * minimal WebSocket registrar that reports each registration to the simulator's AMI as Asterisk
 * would (ContactStatus), and the simulator answers the agent's PJSIP leg in the softphone's place.
 * What only a real SIP/WebRTC stack can show is asserted in real mode only, each with its reason:
 * answering with the page's 接听 button (the simulator sends no INVITE), RTP counts on both sides
 * (the simulator carries no media) and Asterisk's own view of the endpoint (`pjsip show …`).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import '../support/log-capture.js';
import { ASTERISK_BIN } from '../support/asterisk.js';
import { expectNoOrphans, pressAtWelcome, sessionByCaller, ticketJobRecord, useHarness } from '../support/harness.js';
import type { TestCall } from '../../sim-pbx/test-caller.js';
import { eventually, MEDIA_WAIT_MS } from '../support/wait.js';
import {
  createAgentSeat, createUser, expectAgentAudio, expectAttr, expectContains, expectText, expectVisible, login, openBrowser, PASSWORD,
  screenshot, startFakeRegistrar, startWebApp, type FakeRegistrar, type Session,
} from './support.js';

const h = useHarness();
const registrars: FakeRegistrar[] = [];
/** Citizens' calls of the running test: hung up after it, whatever its outcome (the PBX must end clean). */
const calls: TestCall[] = [];
afterEach(async () => {
  for (const c of calls.splice(0)) await c.hangup().catch(() => undefined);
});
afterAll(async () => {
  for (const r of registrars.splice(0)) await r.close();
});

/** Where the softphone registers, and the SIP password of `agent<ext>`. */
async function softphoneServer(): Promise<{ url: string; password: (ext: string) => string }> {
  const ast = h.pbx.asterisk;
  if (ast) {
    const secrets = new Map(ast.agentSipPasswords.split(',').map((p) => p.split(':') as [string, string]));
    return {
      url: `ws://127.0.0.1:${ast.httpPort}/ws`,
      password: (ext) => {
        const pw = secrets.get(`agent${ext}`);
        if (!pw) throw new Error(`the throwaway Asterisk has no endpoint agent${ext}`);
        return pw;
      },
    };
  }
  // Sim: each REGISTER becomes the ContactStatus Asterisk would send (Created / Removed).
  const sim = h.pbx.sim!;
  const reg = await startFakeRegistrar({
    onRegister: (user, expires) => sim.ami.contactStatus(user, expires > 0 ? 'Created' : 'Removed'),
    onClose: (users) => users.forEach((u) => sim.ami.contactStatus(u, 'Removed')),
  });
  registrars.push(reg);
  return { url: reg.url, password: (ext) => `sim-secret-${ext}` };
}

/** The shipped defaults for agents' softphones (only the WebSocket address is this run's). */
function shippedAgentEnv(wsUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SOFTPHONE_WS_URL: wsUrl,
    SOFTPHONE_ICE_SERVERS: '',
    AGENT_DIAL_TEMPLATE: 'PJSIP/agent{ext}',
    ACD_REQUIRE_REGISTRATION: 'true',
    ACD_NO_ANSWER_SEC: '25',
    ...extra,
  };
}

function cli(command: string): string {
  const a = h.pbx.asterisk!;
  const r = spawnSync(ASTERISK_BIN, ['-C', a.conf, '-rx', command], { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

async function agentView(app: App, id: string) {
  return (await app.acd.agents()).find((a) => a.id === id)!;
}

/** Log in on /agent and register the softphone as agent<ext>; the ACD sees it through AMI. */
async function registerSoftphone(app: App, s: Session, base: string, username: string, ext: string, password: string): Promise<void> {
  const p = s.page;
  await login(s, base, username, '/agent');
  await expectText(p.locator('#ws-status'), '已连接');
  expect(await p.inputValue('#sip-user')).toBe(`agent${ext}`);
  await p.fill('#sip-password', password);
  await p.click('#sp-register');
  await expectAttr(p.locator('#sp-status'), 'data-status', 'registered', 15_000);
  await eventually(async () => expect((await agentView(app, ext)).registered).toBe(true), 15_000);
}

/** A citizen calls 12345 and presses 0 at the welcome. */
async function citizenCall(app: App, caller: string): Promise<{ call: TestCall; callId: string }> {
  const call = await h.side.call('12345', caller);
  calls.push(call);
  await call.answered();
  const s = await sessionByCaller(app, caller);
  await pressAtWelcome(s, call, '0');
  return { call, callId: s.callId };
}

/** The agent's leg rings: the page shows the call pop before anyone answers. */
async function expectRingingPop(s: Session, masked: string): Promise<void> {
  const p = s.page;
  await expectText(p.locator('#caller'), masked, MEDIA_WAIT_MS);
  await expectAttr(p.locator('#call-status'), 'data-phase', 'ringing');
  await expectText(p.locator('#call-status'), '来电振铃中');
  await expectText(p.locator('#call-dialed'), '12345');
  // The ticket form is for a call taken: not while it rings.
  expect(await p.isDisabled('#t-save')).toBe(true);
}

/** The agent answers: with the page's 接听 (real), or the simulator answers the PJSIP leg in its place. */
async function answer(app: App, s: Session, callId: string, agentId: string): Promise<void> {
  if (h.pbx.mode === 'real') {
    await eventually(async () => expect(await s.page.isEnabled('#sp-answer')).toBe(true));
    await s.page.click('#sp-answer');
  } else {
    // Sim: no INVITE reaches the page (no SIP stack); the simulator answers the agent's PJSIP leg.
    const sim = h.pbx.sim!;
    const leg = await eventually(() => {
      const c = sim.channels().find((x) => x.id.startsWith(`${callId}-a${agentId}-`));
      if (!c) throw new Error('no agent leg yet');
      return c;
    });
    expect(leg.name).toMatch(new RegExp(`^PJSIP/agent${agentId}-`));
    sim.answer(leg.id);
  }
  await eventually(() => expect(app.calls.session(callId)?.connectedAgentId).toBe(agentId), MEDIA_WAIT_MS);
  await expectAttr(s.page.locator('#call-status'), 'data-phase', 'connected');
  await expectText(s.page.locator('#call-status'), '通话中');
}

/** The caller speaks (a sound played on the caller's side), so the agent's leg receives RTP. */
async function callerSpeaks(call: TestCall): Promise<void> {
  const r = await h.side.request('POST', `/channels/${call.id}/play`, { media: 'sound:demo-congrats' });
  expect(r.status).toBeLessThan(300);
}

/**
 * Audio flows both ways on the agent's leg (real mode only: the simulator carries no media). The
 * page's RTCPeerConnection counts packets sent and received, rising over time; Asterisk's
 * `pjsip show channelstats` shows the agent's channel receiving and sending as well.
 */
function expectTwoWayAudio(s: Session, ext: string): Promise<{ sent: number; received: number }> {
  return expectAgentAudio(s.page, cli, ext);
}

describe('the agent softphone against the PBX, with the shipped defaults (Chromium)', () => {
  it('GIVEN agent1001 registered from /agent WHEN a citizen presses 0 THEN the call pops while ringing, is answered with two-way audio, hung up, and its ticket job exists', async () => {
    const sip = await softphoneServer();
    const { app, base } = await startWebApp(h, shippedAgentEnv(sip.url));
    await createAgentSeat(app, '1001');
    await createUser(app, 'wang', ['agent'], { agentId: '1001', displayName: '王芳' });
    const agent = await openBrowser();
    const p = agent.page;
    await registerSoftphone(app, agent, base, 'wang', '1001', sip.password('1001'));
    if (h.pbx.mode === 'real') {
      // Asterisk's own view: the AOR has the browser's contact, over the WebSocket transport.
      expect(cli('pjsip show aor agent1001')).toMatch(/^\s*contact\s+:\s+sip:\S+;transport=ws\b/m);
      expect(cli('pjsip show endpoint agent1001')).toMatch(/rtp_timeout\s+:\s+30\b/);
    }

    await p.click('#btn-available');
    await expectAttr(p.locator('#state-badge'), 'data-state', 'available');
    expect((await agentView(app, '1001')).state).toBe('available');

    const caller = '13912345678';
    const { call, callId } = await citizenCall(app, caller);
    await expectRingingPop(agent, '139****5678');
    if (h.pbx.mode === 'real') {
      // The softphone rings with the same call (Asterisk sent the INVITE to the browser).
      await expectText(p.locator('#sp-call'), '来电振铃');
    }
    await screenshot(p, 'softphone-ringing');
    await answer(app, agent, callId, '1001');
    await expectContains(p.locator('#call-ivr'), 'dtmf 0');

    // Seat groups: 12366 (Zaozhuang's tax sub-centre, seats inside 12345) is offered for a blind transfer only.
    await p.fill('#ho-target', '12366');
    await expectContains(p.locator('#ho-hint'), '座席组');
    expect(await p.isDisabled('#ho-three')).toBe(true);
    expect(await p.isDisabled('#ho-consult')).toBe(true);
    expect(await p.isEnabled('#ho-blind')).toBe(true);
    await p.fill('#ho-target', '');

    if (h.pbx.mode === 'real') {
      await callerSpeaks(call);
      const m = await expectTwoWayAudio(agent, '1001');
      await expectContains(p.locator('#sp-media'), `发送`);
      expect(m.sent).toBeGreaterThan(0);
    }
    await screenshot(p, 'softphone-in-call');

    // The agent hangs up; the caller is left for the survey and hangs up too.
    if (h.pbx.mode === 'real') {
      await p.click('#sp-hangup');
      await eventually(() => expect(app.calls.session(callId)?.connectedAgentId).toBeUndefined(), MEDIA_WAIT_MS);
      await expectText(p.locator('#sp-call'), '');
    } else {
      const leg = h.pbx.sim!.channels().find((x) => x.id.startsWith(`${callId}-a1001-`))!;
      await h.side.request('DELETE', `/channels/${leg.id}`);
    }
    await call.hangup();
    await expectText(p.locator('#call-status'), '通话已结束', MEDIA_WAIT_MS);
    const record = await ticketJobRecord(app, callId);
    expect(record.agents).toEqual(['1001']);
    expect(record.caller.number).toBe(caller);
    await expectNoOrphans(h, callId);
    // The softphone stays registered after the call.
    await expectAttr(p.locator('#sp-status'), 'data-status', 'registered');
    expect(agent.errors).toEqual([]);
    expect(agent.received.filter((b) => b.includes(caller))).toEqual([]);
    await p.click('#sp-unregister');
    await eventually(async () => expect((await agentView(app, '1001')).registered).toBe(false), 15_000);
  }, 180_000);

  it('GIVEN an agent idle past the login token lifetime WHEN the next call comes THEN it is answered with two-way audio; a lost login then keeps the call and the softphone, and a new login elsewhere is picked up', async () => {
    const sip = await softphoneServer();
    const ttl = 60; // the least TOKEN_TTL_SEC allows
    const { app, base } = await startWebApp(h, shippedAgentEnv(sip.url, { TOKEN_TTL_SEC: String(ttl) }));
    await createAgentSeat(app, '1002');
    await createUser(app, 'li', ['agent'], { agentId: '1002', displayName: '李强' });
    const agent = await openBrowser();
    const p = agent.page;
    const refreshes: number[] = [];
    p.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/auth/refresh') refreshes.push(Date.now());
    });
    await registerSoftphone(app, agent, base, 'li', '1002', sip.password('1002'));
    await p.click('#btn-available');
    await expectAttr(p.locator('#state-badge'), 'data-state', 'available');
    const cookieName = (await agent.ctx.cookies()).find((c) => c.httpOnly)!.name;
    const firstToken = (await agent.ctx.cookies()).find((c) => c.name === cookieName)!.value;
    const firstExp = JSON.parse(Buffer.from(firstToken.split('.')[1]!, 'base64url').toString()).exp as number;
    expect(firstExp - Date.now() / 1000).toBeLessThanOrEqual(ttl);

    // Idle, well past the first token's expiry (the page's own timer refreshes the session meanwhile).
    await eventually(() => expect(Date.now() / 1000).toBeGreaterThan(firstExp + 5), (ttl + 20) * 1000, 1000);
    const stale = await app.http.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: `${cookieName}=${firstToken}` } });
    expect(stale.statusCode).toBe(401); // the login token of the morning is dead…
    expect(refreshes.length).toBeGreaterThanOrEqual(2); // …but the page renewed its own
    expect(p.url()).toBe(`${base}/agent`);
    await expectAttr(p.locator('#sp-status'), 'data-status', 'registered');
    await expectAttr(p.locator('#state-badge'), 'data-state', 'available');

    const caller = '13787654321';
    const { call, callId } = await citizenCall(app, caller);
    await expectRingingPop(agent, '137****4321');
    await answer(app, agent, callId, '1002');
    if (h.pbx.mode === 'real') {
      await callerSpeaks(call);
      await expectTwoWayAudio(agent, '1002');
    }

    // The session is ended under the page's feet (as a password change or an admin would): the next
    // console request is a 401. The page stays, the call and the softphone carry on, and it says so.
    const token = (await agent.ctx.cookies()).find((c) => c.name === cookieName)!.value;
    const sid = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;
    await app.users.revokeSession(sid, 3600);
    await p.selectOption('#pause-reason', '休息');
    await p.click('#btn-pause'); // a pause asked for during the call: refused with 401
    await expectVisible(p.locator('#session-lost'));
    await expectContains(p.locator('#session-lost'), '通话和软电话不受影响');
    expect(p.url()).toBe(`${base}/agent`);
    await expectAttr(p.locator('#sp-status'), 'data-status', 'registered');
    expect(app.calls.session(callId)?.connectedAgentId).toBe('1002');
    await expectAttr(p.locator('#call-status'), 'data-phase', 'connected');
    if (h.pbx.mode === 'real') await expectTwoWayAudio(agent, '1002');
    await screenshot(p, 'softphone-session-lost');

    // Logging in again in another window of the same browser: the console picks the new session up.
    const other = await agent.ctx.newPage();
    await other.goto(`${base}/login`);
    await other.fill('#username', 'li');
    await other.fill('#password', PASSWORD);
    await other.click('#login-btn');
    await other.waitForURL(`${base}/agent`);
    await other.close();
    await expectVisible(p.locator('#session-lost'), false, 15_000);
    await p.click('#btn-pause');
    await eventually(async () => expect((await agentView(app, '1002')).state).toBe('on-call'));
    await expectContains(p.locator('#state-msg'), '状态已切换');

    // The caller hangs up: the call ends normally, its ticket exists; the pause asked for applies now.
    await call.hangup();
    await expectText(p.locator('#call-status'), '通话已结束', MEDIA_WAIT_MS);
    expect((await ticketJobRecord(app, callId)).agents).toEqual(['1002']);
    await eventually(async () => expect(await agentView(app, '1002')).toMatchObject({ state: 'paused', reason: '休息' }));
    await expectNoOrphans(h, callId);
    expect(agent.errors).toEqual([]);
    await p.click('#sp-unregister');
    await eventually(async () => expect((await agentView(app, '1002')).registered).toBe(false), 15_000);
  }, 240_000);

  it('GIVEN a registered agent WHEN the seat’s extension changes THEN its registration is looked up again; WHEN a paused agent’s softphone re-registers THEN it stays paused with its reason until 示闲', async () => {
    const sip = await softphoneServer();
    const { app, base } = await startWebApp(h, shippedAgentEnv(sip.url));
    await createAgentSeat(app, '1003');
    await createUser(app, 'zhou', ['agent'], { agentId: '1003', displayName: '周敏' });
    const agent = await openBrowser();
    const p = agent.page;
    await registerSoftphone(app, agent, base, 'zhou', '1003', sip.password('1003'));
    await p.click('#btn-available');
    await expectAttr(p.locator('#state-badge'), 'data-state', 'available');

    // The seat moves to extension 1009: nothing is registered as agent1009, so the agent is no longer reachable.
    const seat = (await app.acd.listAgents()).find((a) => a.id === '1003')!;
    expect(await app.acd.upsertAgent({ ...seat, extension: '1009' })).toEqual({ ok: true });
    expect(await agentView(app, '1003')).toMatchObject({ registered: false, state: 'offline', reason: 'unregistered' });
    await expectAttr(p.locator('#state-badge'), 'data-state', 'offline');
    await expectContains(p.locator('#state-reason'), '软电话未注册');
    // Going available is refused in words, naming the field.
    await p.click('#btn-available');
    await expectContains(p.locator('#state-msg'), '软电话未注册');
    // Back to 1003, where the browser is still registered: found in the contact list at once.
    expect(await app.acd.upsertAgent({ ...seat, extension: '1003' })).toEqual({ ok: true });
    expect(await agentView(app, '1003')).toMatchObject({ registered: true, state: 'available' });

    // Paused for training; the softphone drops and comes back: still paused, with the reason.
    await p.selectOption('#pause-reason', '培训');
    await p.click('#btn-pause');
    await eventually(async () => expect(await agentView(app, '1003')).toMatchObject({ state: 'paused', reason: '培训' }));
    await p.click('#sp-unregister');
    await eventually(async () => expect(await agentView(app, '1003')).toMatchObject({ registered: false, state: 'offline' }), 15_000);
    await p.fill('#sip-password', sip.password('1003'));
    await p.click('#sp-register');
    await expectAttr(p.locator('#sp-status'), 'data-status', 'registered', 15_000);
    await eventually(async () => expect((await agentView(app, '1003')).registered).toBe(true), 15_000);
    expect(await agentView(app, '1003')).toMatchObject({ state: 'paused', reason: '培训' });
    await expectAttr(p.locator('#state-badge'), 'data-state', 'paused');
    await expectContains(p.locator('#state-reason'), '培训');
    // Only the agent's click brings it back.
    await p.click('#btn-available');
    await eventually(async () => expect((await agentView(app, '1003')).state).toBe('available'));
    await p.click('#sp-unregister');
    await eventually(async () => expect((await agentView(app, '1003')).registered).toBe(false), 15_000);
    expect(agent.errors).toEqual([]);
  }, 120_000);
});
