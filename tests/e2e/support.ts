/**
 * Shared set-up of the headless-Chromium tests: the app on the PBX under test
 * (through the integration harness, so logs are captured and checked for full
 * numbers) listening on a loopback port, Debian's Chromium driven by
 * playwright-core (one browser per test file, a fresh context - its own cookies, storage
 * and permissions - per `openBrowser`), logins, screenshots, and a
 * minimal SIP-over-WebSocket registrar for the softphone.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, expect } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { App } from '../../src/app.js';
import type { Role } from '../../src/access/roles.js';
import type { Harness } from '../support/harness.js';
import { eventually, MEDIA_WAIT_MS } from '../support/wait.js';

export const CHROMIUM = process.env.HOTLINE_CHROMIUM ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-gpu',
  '--no-first-run',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
];

let shots: string | undefined;
/** Screenshots of this test file (kept for a look after the run; the path is printed). */
export function shotsDir(): string {
  shots ??= process.env.HOTLINE_E2E_SHOTS ?? mkdtempSync(join(tmpdir(), 'hotline-e2e-shots-'));
  mkdirSync(shots, { recursive: true });
  return shots;
}

export const PASSWORD = 'Passw0rd-e2e-2024';

/** Start an app of the harness and listen on a loopback port; returns it and its base URL. */
export async function startWebApp(h: Harness, env: Record<string, string> = {}): Promise<{ app: App; base: string }> {
  const app = await h.startApp(env);
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.http.server.address() as AddressInfo;
  return { app, base: `http://127.0.0.1:${port}` };
}

export async function createUser(app: App, username: string, roles: Role[], extra: { agentId?: string; displayName?: string } = {}): Promise<void> {
  await app.users.create({ username, roles, password: PASSWORD, displayName: extra.displayName ?? username, ...(extra.agentId ? { agentId: extra.agentId } : {}) });
}

/** A seat in the general group, logged out (the console brings it in). */
export async function createAgentSeat(app: App, id: string): Promise<void> {
  expect(await app.acd.upsertGroup({ id: 'general', name: '话务受理座席', kind: 'general' })).toEqual({ ok: true });
  expect(await app.acd.upsertAgent({ id, name: `座席${id}`, extension: id, skills: { general: 3 }, groups: ['general'] })).toEqual({ ok: true });
}

export interface Session {
  ctx: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors, to assert a clean page. */
  errors: string[];
  /** Bodies of every /api/ response and WebSocket frame this page received. */
  received: string[];
}

const contexts: BrowserContext[] = [];
const browsers: Browser[] = [];
/** This file's shared browser: one Chromium per file instead of one per page (the saving measured small: rendering dominates). */
let shared: Promise<Browser> | undefined;

export interface BrowserOptions {
  /** The browser's time zone (default: the machine's), e.g. 'UTC' to prove pages show city time regardless. */
  timezoneId?: string;
  /** Window size (default 1360×900). */
  viewport?: { width: number; height: number };
  /** More Chromium switches (e.g. a host name mapped to loopback, a test certificate trusted): a browser of its own. */
  args?: string[];
}

function launch(args: string[] = []): Promise<Browser> {
  // No skipping: every page we ship is tested in a real browser (.ci/run installs Debian's chromium).
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, or set HOTLINE_CHROMIUM`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...ARGS, ...args] }).then((b) => (browsers.push(b), b));
}

/**
 * A page in a context of its own (own cookies, storage, permissions: as separate as two browsers for
 * what the pages can see). Contexts share this file's Chromium unless `args` asks for switches.
 */
export async function openBrowser(opts: BrowserOptions = {}): Promise<Session> {
  const browser = opts.args?.length ? await launch(opts.args) : await (shared ??= launch());
  const ctx = await browser.newContext({
    viewport: opts.viewport ?? { width: 1360, height: 900 },
    locale: 'zh-CN',
    ...(opts.timezoneId ? { timezoneId: opts.timezoneId } : {}),
  });
  contexts.push(ctx);
  const page = await ctx.newPage();
  // A bound, not a speed check: with six workers, Asterisks and browsers on two cores a page can take
  // longer than 10 s to load (seen in full runs); the project's waits are 30 s (tests/support/wait.ts).
  page.setDefaultTimeout(E2E_WAIT_MS);
  const errors: string[] = [];
  const received: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A failed request (a 4xx the page shows as a message) is logged by Chromium as a console error; not a page bug.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/')) r.text().then((t) => received.push(t), () => undefined);
  });
  page.on('websocket', (ws) => ws.on('framereceived', (f) => received.push(String(f.payload))));
  return { ctx, page, errors, received };
}

afterAll(async () => {
  for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
  for (const b of browsers.splice(0)) await b.close().catch(() => undefined);
  shared = undefined;
  if (shots) console.log(`screenshots: ${shots}`);
});

/** Log in on /login and wait for the role's page. */
export async function login(s: Session, base: string, username: string, landing: string): Promise<void> {
  await s.page.goto(`${base}/login`);
  await s.page.fill('#username', username);
  await s.page.fill('#password', PASSWORD);
  await Promise.all([s.page.waitForURL(`${base}${landing}`), s.page.click('#login-btn')]);
  // The page has rendered its header (the user is known).
  await s.page.waitForSelector('#logout');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(shotsDir(), `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

// ---- a minimal SIP registrar over WebSocket (RFC 7118), enough for sip.js's REGISTER ----------------

export interface FakeRegistrar {
  url: string;
  /** REGISTER requests received (raw). */
  registers: string[];
  connections: number;
  /** Drop every connection as a network failure would (no close handshake). */
  dropAll(): void;
  close(): Promise<void>;
}

function sipResponse(request: string, code: number, reason: string): string {
  const head = request.split('\r\n\r\n')[0]!;
  const lines = head.split('\r\n').slice(1);
  const pick = (name: string) => lines.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  const to = pick('To')[0] ?? 'To: <sip:unknown@invalid>';
  const out = [
    `SIP/2.0 ${code} ${reason}`,
    ...pick('Via'),
    ...pick('From'),
    /;tag=/.test(to) ? to : `${to};tag=reg${Date.now().toString(36)}`,
    ...pick('Call-ID'),
    ...pick('CSeq'),
  ];
  if (request.startsWith('REGISTER ')) {
    for (const c of pick('Contact')) out.push(/expires=/.test(c) ? c : `${c};expires=300`);
  }
  out.push('Server: hotline-e2e-registrar', 'Content-Length: 0', '', '');
  return out.join('\r\n');
}

export interface FakeRegistrarHooks {
  /** A REGISTER for `sip:<user>@…` was accepted: `expires` 0 is an unregistration. */
  onRegister?(user: string, expires: number): void;
  /** A connection closed; `users` had registered over it. */
  onClose?(users: string[]): void;
}

/** `agent1001` from a REGISTER's To header, and its expiry (Contact `expires=` or `Expires:`). */
function registration(msg: string): { user: string; expires: number } | undefined {
  const user = /^To:.*?sip:([^@;>]+)@/im.exec(msg)?.[1];
  if (!user) return undefined;
  const exp = /^Contact:.*?;expires=(\d+)/im.exec(msg)?.[1] ?? /^Expires:\s*(\d+)/im.exec(msg)?.[1] ?? '300';
  return { user, expires: Number(exp) };
}

export async function startFakeRegistrar(hooks: FakeRegistrarHooks = {}): Promise<FakeRegistrar> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const registers: string[] = [];
  const sockets = new Set<WebSocket>();
  const reg: FakeRegistrar = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`,
    registers,
    connections: 0,
    dropAll() {
      for (const s of sockets) s.terminate();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.terminate();
        wss.close(() => resolve());
      }),
  };
  wss.on('connection', (ws) => {
    reg.connections += 1;
    sockets.add(ws);
    const users = new Set<string>();
    ws.on('close', () => {
      sockets.delete(ws);
      if (users.size) hooks.onClose?.([...users]);
    });
    ws.on('message', (data) => {
      const msg = String(data);
      if (msg.trim() === '') {
        ws.send('\r\n'); // keep-alive pong
        return;
      }
      if (msg.startsWith('SIP/2.0')) return;
      if (msg.startsWith('REGISTER ')) registers.push(msg);
      ws.send(sipResponse(msg, 200, 'OK'));
      const r = msg.startsWith('REGISTER ') ? registration(msg) : undefined;
      if (r) {
        if (r.expires > 0) users.add(r.user);
        else users.delete(r.user);
        hooks.onRegister?.(r.user, r.expires);
      }
    });
  });
  return reg;
}

// ---- assertions that wait (playwright-core has no expect of its own) ---------------------------------

type Loc = ReturnType<Page['locator']>;

/** How long a page's element or navigation may take to appear (the page's default timeout too). */
export const E2E_WAIT_MS = 30_000;

/** The element's text (trimmed) equals / matches `expected` within the time. */
export function expectText(loc: Loc, expected: string | RegExp, timeoutMs = E2E_WAIT_MS): Promise<void> {
  return eventually(async () => {
    const text = (await loc.innerText({ timeout: 500 })).trim();
    if (typeof expected === 'string') expect(text).toBe(expected);
    else expect(text).toMatch(expected);
  }, timeoutMs, 50);
}

export function expectContains(loc: Loc, part: string, timeoutMs = E2E_WAIT_MS): Promise<void> {
  return eventually(async () => expect(await loc.innerText({ timeout: 500 })).toContain(part), timeoutMs, 50);
}

export function expectAttr(loc: Loc, name: string, value: string, timeoutMs = E2E_WAIT_MS): Promise<void> {
  return eventually(async () => expect(await loc.getAttribute(name, { timeout: 500 })).toBe(value), timeoutMs, 50);
}

export function expectCount(loc: Loc, n: number, timeoutMs = E2E_WAIT_MS): Promise<void> {
  return eventually(async () => expect(await loc.count()).toBe(n), timeoutMs, 50);
}

export function expectVisible(loc: Loc, visible = true, timeoutMs = E2E_WAIT_MS): Promise<void> {
  return eventually(async () => expect(await loc.isVisible()).toBe(visible), timeoutMs, 50);
}

/**
 * Audio flows both ways on an agent's leg (real Asterisk only: the simulator carries no media). The
 * page's RTCPeerConnection counts (#sp-media) rise both ways, and Asterisk's `pjsip show channelstats`
 * shows the agent's channel receiving and sending. Returns the page's later counts.
 */
export async function expectAgentAudio(page: Page, cli: (command: string) => string, ext: string, label = `agent${ext}`): Promise<{ sent: number; received: number }> {
  const media = page.locator('#sp-media');
  const read = async () => ({ sent: Number(await media.getAttribute('data-sent')), received: Number(await media.getAttribute('data-received')) });
  const first = await eventually(async () => {
    const m = await read();
    expect(m.sent).toBeGreaterThan(0);
    expect(m.received).toBeGreaterThan(0);
    return m;
    // ICE and DTLS first: the project's media wait (a loaded full run once took longer than 15 s)
  }, MEDIA_WAIT_MS);
  const later = await eventually(async () => {
    const m = await read();
    expect(m.sent).toBeGreaterThan(first.sent);
    expect(m.received).toBeGreaterThan(first.received);
    return m;
  }, 15_000);
  const asterisk = await eventually(() => {
    const out = cli('pjsip show channelstats');
    // "BridgeId ChannelId ........ UpTime.. Codec.   Receive: Count Lost Pct Jitter  Transmit: Count Lost Pct Jitter RTT..."
    const row = out.split('\n').find((l) => l.includes(`agent${ext}-`));
    expect(row, out).toBeDefined();
    const cols = row!.trim().split(/\s+/);
    // the transmit count follows the receive group (count, lost, pct, jitter)
    const rx = cols.findIndex((x) => /^\d+$/.test(x));
    expect(Number(cols[rx]), `received by Asterisk: ${row}`).toBeGreaterThan(0);
    expect(Number(cols[rx + 4]), `sent by Asterisk: ${row}`).toBeGreaterThan(0);
    return { received: Number(cols[rx]), sent: Number(cols[rx + 4]) };
  }, 10_000);
  console.log(`${label} audio: browser sent ${later.sent} / received ${later.received} packets; Asterisk received ${asterisk.received} / sent ${asterisk.sent}`);
  return later;
}
