/**
 * More than one machine, WebRTC agents (issue 17): an agent's browser softphone (sip.js in headless
 * Chromium) registers with the cluster's SIP proxy over secure WebSocket (Kamailio's websocket and
 * tls modules on wss://<proxy name>:<port>/ws, the certificate from SIP_PROXY_TLS_CERT/KEY, issued for
 * `hotline.test` by a throwaway CA that Chromium trusts by its key), not with an Asterisk node; the ACD sees the registration in the proxy
 * (SIP_PROXY_RPC_URL); a citizen's call on the node is offered to the browser through the proxy
 * (AGENT_DIAL_TEMPLATE=PJSIP/agent{ext}/sip:agent{ext}@<proxy>: the agent's WebRTC endpoint, sent to
 * the proxy), and the media flows browser ↔ Asterisk directly with ICE and DTLS-SRTP: the proxy
 * only relays SIP (no RTP relay).
 *
 * REAL ONLY, by necessity: Kamailio, SIP over WebSocket and WebRTC media need a real SIP stack.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import '../support/log-capture.js';
import { logSink } from '../support/log-capture.js';
import { AsteriskInstance } from '../support/asterisk.js';
import { expectPbxClean, pressAtWelcome, sessionByCaller, ticketJobRecord } from '../support/harness.js';
import { MAX_WORKERS } from '../support/global-setup.js';
import { PROMPTS_DIR, realMode, realPbx, testConfig, type PbxUnderTest } from '../support/pbx.js';
import { kamailioProblem, PROXY_HOST, SipProxy } from '../support/sip-proxy.js';
import { freePort } from '../support/redis-server.js';
import { makePki, type TestPki } from '../support/test-pki.js';
import { rmSync } from 'node:fs';
import { TestSide, type TestCall } from '../../sim-pbx/test-caller.js';
import { eventually, MEDIA_WAIT_MS } from '../support/wait.js';
import { createAgentSeat, createUser, expectAgentAudio, expectAttr, expectText, login, openBrowser, screenshot } from './support.js';

if (!realMode) throw new Error('tests/e2e/cluster-webrtc.test.ts needs Kamailio and a real Asterisk (HOTLINE_TEST_PBX=real); it belongs in REAL_ONLY (vitest.config.ts).');

const AGENTS = 'agent4201:webrtc-secret-4201';
const HOST = 'hotline.test';
let pki: TestPki;
let wssPort: number;
let ast: AsteriskInstance;
let pbx: PbxUnderTest;
let proxy: SipProxy;
let side: TestSide;
const apps: App[] = [];
const calls: TestCall[] = [];

beforeAll(async () => {
  const problem = kamailioProblem();
  if (problem) throw new Error(problem);
  const rtp = 20000 + 2000 * (MAX_WORKERS + 5);
  ast = await AsteriskInstance.start({ promptsDir: PROMPTS_DIR, label: 'wrtc-', rtpPorts: [rtp, rtp + 1999], agentSipPasswords: AGENTS, carrierAddress: PROXY_HOST });
  pbx = realPbx(ast.info);
  side = await TestSide.connect(pbx);
  pki = makePki(HOST);
  wssPort = await freePort();
  proxy = await SipProxy.start({ nodes: [`sip:127.0.0.1:${ast.info.sipPort}`], agents: AGENTS, tls: { port: wssPort, certFile: pki.certFile, keyFile: pki.keyFile } });
}, 60_000);

afterAll(async () => {
  try {
    for (const c of calls.splice(0)) await c.hangup().catch(() => undefined);
    for (const app of apps.splice(0)) await app.stop();
    if (side) await expectPbxClean(side);
  } finally {
    await side?.close();
    await proxy?.stop();
    await ast?.stop();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  }
});

describe('a WebRTC agent behind the cluster’s SIP proxy (Chromium, Kamailio, real Asterisk)', () => {
  it('GIVEN the softphone registered with the proxy over secure WebSocket WHEN a citizen’s call is offered THEN it rings through the proxy and the agent talks with audio both ways, media direct to Asterisk', async () => {
    const app = await buildApp(
      testConfig(pbx, {
        SOFTPHONE_WS_URL: `wss://${HOST}:${wssPort}/ws`,
        SOFTPHONE_ICE_SERVERS: '',
        AGENT_DIAL_TEMPLATE: `PJSIP/agent{ext}/sip:agent{ext}@${PROXY_HOST}:${proxy.port}`,
        ACD_REQUIRE_REGISTRATION: 'true',
        SIP_PROXY_RPC_URL: `http://${PROXY_HOST}:${proxy.port}/RPC`,
        SIP_PROXY_POLL_MS: '500',
        ACD_NO_ANSWER_SEC: '25',
      }),
      { logDestination: logSink, ariBackoff: { initialMs: 50, maxMs: 500 }, outboxRetryMs: 200, acdOverrides: { dispatchIntervalMs: 100 } },
    );
    apps.push(app);
    await app.start();
    await app.telephony.whenConnected(10_000);
    await app.http.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.http.server.address() as AddressInfo).port}`;
    await createAgentSeat(app, '4201');
    await createUser(app, 'zhao', ['agent'], { agentId: '4201', displayName: '赵敏' });

    const agent = await openBrowser({ args: [`--host-resolver-rules=MAP ${HOST} ${PROXY_HOST}`, `--ignore-certificate-errors-spki-list=${pki.spki}`] });
    const p = agent.page;
    const sockets: string[] = [];
    p.on('websocket', (ws) => sockets.push(ws.url()));
    await login(agent, base, 'zhao', '/agent');
    await expectText(p.locator('#ws-status'), '已连接');
    // The softphone registers with the proxy over WSS, not with the node.
    expect(await p.inputValue('#sip-user')).toBe('agent4201');
    await p.fill('#sip-password', 'webrtc-secret-4201');
    await p.click('#sp-register');
    await expectAttr(p.locator('#sp-status'), 'data-status', 'registered', 15_000);
    expect(sockets).toContain(`wss://${HOST}:${wssPort}/ws`);
    expect(await proxy.registered('agent4201')).toHaveLength(1);
    expect(ast.cli('pjsip show contacts').out).not.toContain('agent4201/');
    await eventually(async () => expect((await app.acd.agents()).find((a) => a.id === '4201')?.registered).toBe(true), 15_000);
    await p.click('#btn-available');
    await expectAttr(p.locator('#state-badge'), 'data-state', 'available');

    const caller = '13912344201';
    const call = await side.call('12345', caller);
    calls.push(call);
    await call.answered();
    const s = await sessionByCaller(app, caller);
    await pressAtWelcome(s, call, '0');
    await expectText(p.locator('#sp-call'), '来电振铃', MEDIA_WAIT_MS);
    await eventually(async () => expect(await p.isEnabled('#sp-answer')).toBe(true));
    await p.click('#sp-answer');
    await eventually(() => expect(app.calls.session(s.callId)?.connectedAgentId).toBe('4201'), MEDIA_WAIT_MS);
    await expectAttr(p.locator('#call-status'), 'data-phase', 'connected');
    const played = await side.request('POST', `/channels/${call.id}/play`, { media: 'sound:demo-congrats' });
    expect(played.status).toBeLessThan(300);
    await expectAgentAudio(p, (c) => ast.cli(c).out, '4201', 'agent4201 through the proxy');
    await screenshot(p, 'cluster-webrtc-in-call');

    // The agent hangs up (BYE from the browser through the proxy); the caller too.
    await p.click('#sp-hangup');
    await eventually(() => expect(app.calls.session(s.callId)?.connectedAgentId).toBeUndefined(), MEDIA_WAIT_MS);
    await call.hangup();
    await expectText(p.locator('#call-status'), '通话已结束', MEDIA_WAIT_MS);
    expect((await ticketJobRecord(app, s.callId)).agents).toEqual(['4201']);
    expect(agent.errors).toEqual([]);
    await p.click('#sp-unregister');
    await eventually(async () => expect((await app.acd.agents()).find((a) => a.id === '4201')?.registered).toBe(false), 15_000);
  }, 180_000);
});
