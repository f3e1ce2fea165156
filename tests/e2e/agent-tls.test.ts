/**
 * TLS for real agents (issue 18): browsers give a page the microphone only in a secure context, so
 * an agent outside localhost needs the console over HTTPS and the softphone over WSS. Here Chromium
 * reaches the console at a name that is not localhost (`hotline.test`, mapped to 127.0.0.1 by
 * `--host-resolver-rules`), served over HTTPS by the app with a certificate from its configuration
 * (HTTP_TLS_CERT / HTTP_TLS_KEY), issued by a throwaway CA made here with openssl; the softphone
 * registers over wss://hotline.test:<port>/ws to a throwaway Asterisk whose TLS comes from the
 * entrypoint's ASTERISK_TLS_CERT / ASTERISK_TLS_KEY / ASTERISK_HTTPS_PORT (same certificate), goes
 * available and takes a citizen's call with audio both ways.
 *
 * Chromium trusts the certificate through `--ignore-certificate-errors-spki-list` (the server
 * certificate's public-key hash): the switch playwright-core passes on, without a system trust
 * store to change (no certutil on the machine). A page with a certificate error is not a secure
 * context, so `window.isSecureContext === true` shows the trust took.
 *
 * Real mode only: the simulated PBX has no TLS, no SIP stack and no media, so nothing of this could
 * be shown there.
 */
import { readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import '../support/log-capture.js';
import { logSink } from '../support/log-capture.js';
import { AsteriskInstance, errorsOfOurs } from '../support/asterisk.js';
import { expectPbxClean, pressAtWelcome, sessionByCaller, ticketJobRecord } from '../support/harness.js';
import { MAX_WORKERS } from '../support/global-setup.js';
import { PROMPTS_DIR, realMode, realPbx, testConfig, type PbxUnderTest } from '../support/pbx.js';
import { TestSide, type TestCall } from '../../sim-pbx/test-caller.js';
import { eventually, MEDIA_WAIT_MS } from '../support/wait.js';
import { makePki, type TestPki } from '../support/test-pki.js';
import { createAgentSeat, createUser, expectAgentAudio, expectAttr, expectText, login, openBrowser, screenshot } from './support.js';

if (!realMode) {
  throw new Error(
    'tests/e2e/agent-tls.test.ts needs a real Asterisk (HOTLINE_TEST_PBX=real): HTTPS, SIP over WSS and WebRTC media do not exist in the simulated PBX. It belongs in REAL_ONLY (vitest.config.ts).',
  );
}

const HOST = 'hotline.test';

let pki: TestPki;
let ast: AsteriskInstance;
let pbx: PbxUnderTest;
let side: TestSide;
const apps: App[] = [];
const calls: TestCall[] = [];

beforeAll(async () => {
  pki = makePki(HOST);
  // An Asterisk of its own: the worker's has no TLS. RTP ports above the workers' (20000 + 2000 per worker).
  ast = await AsteriskInstance.start({ promptsDir: PROMPTS_DIR, label: 'tls-', rtpPorts: [20000 + 2000 * MAX_WORKERS, 21999 + 2000 * MAX_WORKERS], tls: { certFile: pki.certFile, keyFile: pki.keyFile } });
  pbx = realPbx(ast.info);
  side = await TestSide.connect(pbx);
}, 60_000);

afterAll(async () => {
  try {
    for (const c of calls.splice(0)) await c.hangup().catch(() => undefined);
    for (const app of apps.splice(0)) await app.stop();
    if (side) await expectPbxClean(side);
  } finally {
    await side?.close();
    await ast?.stop();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  }
});

/** The app over HTTPS with the test certificate, the softphone pointed at Asterisk's WSS port. */
async function startHttpsApp(): Promise<{ app: App; base: string }> {
  const app = await buildApp(
    testConfig(pbx, {
      HTTP_TLS_CERT: pki.certFile,
      HTTP_TLS_KEY: pki.keyFile,
      COOKIE_SECURE: 'true',
      SOFTPHONE_WS_URL: `wss://${HOST}:${ast.info.httpsPort}/ws`,
      SOFTPHONE_ICE_SERVERS: '',
      AGENT_DIAL_TEMPLATE: 'PJSIP/agent{ext}',
      ACD_REQUIRE_REGISTRATION: 'true',
      ACD_NO_ANSWER_SEC: '25',
    }),
    { logDestination: logSink, ariBackoff: { initialMs: 50, maxMs: 500 }, outboxRetryMs: 200, acdOverrides: { dispatchIntervalMs: 100 } },
  );
  apps.push(app);
  await app.start();
  await app.telephony.whenConnected(10_000);
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.http.server.address() as AddressInfo;
  return { app, base: `https://${HOST}:${port}` };
}

/** GET over HTTPS to 127.0.0.1 as `hotline.test`, trusting only the test CA (Node checks chain and name). */
function httpsGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, servername: HOST, ca: readFileSync(pki.caFile) }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += String(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function agentPassword(ext: string): string {
  const pair = ast.info.agentSipPasswords.split(',').find((p) => p.startsWith(`agent${ext}:`));
  if (!pair) throw new Error(`the throwaway Asterisk has no endpoint agent${ext}`);
  return pair.slice(pair.indexOf(':') + 1);
}

describe('an agent outside localhost: console over HTTPS, softphone over WSS (Chromium, real Asterisk)', () => {
  it('GIVEN the app and Asterisk with certificates from configuration WHEN an agent opens https://hotline.test/agent THEN the page is a secure context, the softphone registers over wss://, and a citizen’s call is answered with two-way audio', async () => {
    // GIVEN Asterisk serving TLS on its own port from the entrypoint's variables, without an ERROR line
    expect(ast.cli('http show status').out).toMatch(new RegExp(`HTTPS Server Enabled and Bound to 127\\.0\\.0\\.1:${ast.info.httpsPort}\\b`));
    expect(errorsOfOurs(ast.log())).toEqual([]);
    const { app, base } = await startHttpsApp();
    await createAgentSeat(app, '1001');
    await createUser(app, 'wang', ['agent'], { agentId: '1001', displayName: '王芳' });
    // The app's certificate verifies against the test CA for hotline.test (a client that trusts the
    // CA, name checked), and plain HTTP is not served on that port.
    const port = Number(new URL(base).port);
    expect(await httpsGet(port, '/healthz')).toEqual({ status: 200, body: '{"status":"alive"}' });
    const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain).not.toBe(200);

    const agent = await openBrowser({
      args: [`--host-resolver-rules=MAP ${HOST} 127.0.0.1`, `--ignore-certificate-errors-spki-list=${pki.spki}`],
    });
    const p = agent.page;
    const sockets: string[] = [];
    p.on('websocket', (ws) => sockets.push(ws.url()));

    // WHEN the agent logs in at the non-localhost name
    await login(agent, base, 'wang', '/agent');
    // THEN a secure context: the microphone is on offer
    expect(await p.evaluate(() => window.isSecureContext)).toBe(true);
    expect(await p.evaluate(() => location.origin)).toBe(base);
    expect(await p.evaluate(() => typeof navigator.mediaDevices?.getUserMedia)).toBe('function');
    // The session cookie is the Secure, host-pinned one.
    const cookie = (await agent.ctx.cookies()).find((c) => c.httpOnly)!;
    expect(cookie.name.startsWith('__Host-')).toBe(true);
    expect(cookie.secure).toBe(true);
    await expectText(p.locator('#ws-status'), '已连接');

    // The softphone registers over WSS to Asterisk's TLS port.
    expect(await p.inputValue('#sip-user')).toBe('agent1001');
    await p.fill('#sip-password', agentPassword('1001'));
    await p.click('#sp-register');
    await expectAttr(p.locator('#sp-status'), 'data-status', 'registered', 15_000);
    await eventually(async () => expect((await app.acd.agents()).find((a) => a.id === '1001')?.registered).toBe(true), 15_000);
    expect(sockets).toContain(`wss://${HOST}:${ast.info.httpsPort}/ws`);
    expect(sockets).toContain(`wss://${new URL(base).host}/api/agent/events`);
    expect(sockets.filter((u) => u.startsWith('ws:'))).toEqual([]);
    // Asterisk holds the browser's contact (sip.js writes transport=ws in it over wss:// too).
    expect(ast.cli('pjsip show aor agent1001').out).toMatch(/^\s*contact\s+:\s+sip:\S+;transport=ws\b/m);

    await p.click('#btn-available');
    await expectAttr(p.locator('#state-badge'), 'data-state', 'available');

    // A citizen calls 12345 and presses 0.
    const caller = '13912345678';
    const call = await side.call('12345', caller);
    calls.push(call);
    await call.answered();
    const s = await sessionByCaller(app, caller);
    await pressAtWelcome(s, call, '0');

    // The softphone rings over WSS; the agent answers.
    await expectText(p.locator('#caller'), '139****5678', MEDIA_WAIT_MS);
    await expectText(p.locator('#sp-call'), '来电振铃', MEDIA_WAIT_MS);
    await eventually(async () => expect(await p.isEnabled('#sp-answer')).toBe(true));
    await p.click('#sp-answer');
    await eventually(() => expect(app.calls.session(s.callId)?.connectedAgentId).toBe('1001'), MEDIA_WAIT_MS);
    await expectAttr(p.locator('#call-status'), 'data-phase', 'connected');

    // Audio both ways: the caller speaks; the page's RTCPeerConnection counts rise both ways, and
    // Asterisk's channel stats show the agent's leg receiving and sending.
    const played = await side.request('POST', `/channels/${call.id}/play`, { media: 'sound:demo-congrats' });
    expect(played.status).toBeLessThan(300);
    await expectAgentAudio(p, (c) => ast.cli(c).out, '1001', 'agent1001 over WSS');
    await screenshot(p, 'agent-tls-in-call');

    // The agent hangs up, the caller too; the call ends normally with its ticket job.
    await p.click('#sp-hangup');
    await eventually(() => expect(app.calls.session(s.callId)?.connectedAgentId).toBeUndefined(), MEDIA_WAIT_MS);
    await call.hangup();
    await expectText(p.locator('#call-status'), '通话已结束', MEDIA_WAIT_MS);
    expect((await ticketJobRecord(app, s.callId)).agents).toEqual(['1001']);
    await expectAttr(p.locator('#sp-status'), 'data-status', 'registered');
    expect(agent.errors).toEqual([]);
    expect(agent.received.filter((b) => b.includes(caller))).toEqual([]);
    await p.click('#sp-unregister');
    await eventually(async () => expect((await app.acd.agents()).find((a) => a.id === '1001')?.registered).toBe(false), 15_000);
  }, 180_000);
});
