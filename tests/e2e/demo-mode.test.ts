/**
 * The demo as a newcomer meets it (`npm run demo` in a child process): the logins printed at start and
 * listed on /login (demo mode only), the "caller hears" list in the language each prompt was played,
 * the call's outcome and ticket on the page, the demo's Redis printed for the user CLI, a quiet console
 * while the page polls, and a clear hint when the port is taken — with nothing left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/demo/own-redis.js';
import { eventually } from '../support/wait.js';
import { startWebApp, openBrowser, screenshot } from './support.js';
import { useHarness } from '../support/harness.js';

const h = useHarness();
let child: ChildProcess;
let base = '';
let out = '';

function startDemo(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  let text = '';
  const c = spawn(process.execPath, ['--import', 'tsx', 'src/demo/main.ts'], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  c.stdout!.on('data', (d) => (text += String(d)));
  c.stderr!.on('data', (d) => (text += String(d)));
  return { child: c, output: () => text, exited: new Promise((r) => c.once('exit', (code) => r(code))) };
}

beforeAll(async () => {
  const port = await freePort();
  // LOG_LEVEL info: the request lines of the page's polling must still stay out of the console.
  const d = startDemo({ HTTP_PORT: String(port), LOG_LEVEL: 'info' });
  child = d.child;
  await eventually(() => expect(d.output()).toMatch(/12345 demo ready: (http:\/\/\S+)\/demo/), 30_000, 100);
  await eventually(() => expect(d.output()).toContain('user CLI against it'), 5_000, 100);
  out = d.output();
  base = /12345 demo ready: (http:\/\/\S+)\/demo/.exec(out)![1]!;
  Object.defineProperty(globalThis, '__demoOutput', { value: d.output, configurable: true });
}, 40_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});

const demoOutput = () => (globalThis as unknown as { __demoOutput: () => string }).__demoOutput();

describe('demo mode for a newcomer', () => {
  it('GIVEN the demo started WHEN its output is read THEN it prints every login, the Redis URL and the CLI command; the admin login works', async () => {
    expect(out).toMatch(/admin\s+demo-admin-12345\s+http:\/\/\S+\/admin/);
    expect(out).toMatch(/supervisor\s+demo-super-12345/);
    const redisUrl = /this demo's Redis: (redis:\/\/\S+)/.exec(out)?.[1];
    expect(redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(out).toContain(`REDIS_URL=${redisUrl} npx tsx src/access/cli.ts create-user`);
    const r = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'demo-admin-12345' }) });
    expect(r.status).toBe(200);
  });

  it('GIVEN the demo WHEN /login is opened in Chromium THEN the demo logins are listed and a click logs the supervisor in', async () => {
    const s = await openBrowser();
    await s.page.goto(`${base}/login`);
    await s.page.waitForSelector('#demo-logins:not([hidden]) tbody tr');
    const rows = await s.page.$$eval('#demo-logins tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows.some((t) => t.includes('admin') && t.includes('demo-admin-12345'))).toBe(true);
    await screenshot(s.page, 'demo-login');
    await s.page.click('#demo-logins tbody tr:has-text("supervisor")');
    await Promise.all([s.page.waitForURL(`${base}/supervisor`), s.page.click('#login-btn')]);
    expect(s.errors).toEqual([]);
  });

  it('GIVEN a caller who switches to English WHEN the page shows what they heard THEN the welcome stays Chinese, later prompts are English; after hang-up the outcome and the ticket are shown; the polling left no request lines', async () => {
    const s = await openBrowser();
    await s.page.goto(`${base}/demo`);
    const before = demoOutput().length;
    await s.page.click('#dial');
    await s.page.waitForFunction(() => document.querySelector('#heard')?.textContent?.includes('欢迎致电'), undefined, { timeout: 15_000 });
    await s.page.waitForFunction(() => !(document.querySelector('#pad button') as HTMLButtonElement).disabled);
    await s.page.click('#pad button[data-digit="9"]');
    await s.page.waitForFunction(() => Array.from(document.querySelectorAll('#heard li')).some((li) => li.getAttribute('lang') === 'en'), undefined, { timeout: 15_000 });
    const items = await s.page.$$eval('#heard li', (lis) => lis.map((li) => ({ lang: li.getAttribute('lang'), text: li.textContent ?? '' })));
    expect(items[0]).toMatchObject({ lang: 'zh-CN' });
    expect(items[0]!.text).toContain('欢迎致电');
    expect(items.some((i) => i.lang === 'en' && /[A-Za-z]{4}/.test(i.text))).toBe(true);
    await s.page.click('#hangup');
    await s.page.waitForFunction(() => /^\d{10,}/.test(document.querySelector('#ticket')?.textContent ?? ''), undefined, { timeout: 20_000 });
    expect(await s.page.textContent('#outcome')).toBe('导航中挂机');
    await screenshot(s.page, 'demo-call-ended');
    // Switching the page to English keeps the heard items as played and translates the outcome.
    await s.page.click('#lang');
    expect(await s.page.textContent('#outcome')).toBe('hung up in the IVR');
    expect((await s.page.$$eval('#heard li', (lis) => lis[0]?.textContent ?? ''))).toContain('欢迎致电');
    const during = demoOutput().slice(before);
    // The page polled GET /api/demo/calls/<id> every 300 ms: none of it reached the console (the hang-up's DELETE may).
    expect(during).toContain('"method":"DELETE"');
    expect(during).not.toMatch(/"method":"GET","url":"\/api\/demo\/calls\/demo-\d+"/);
    expect(s.errors).toEqual([]);
  });

  it('GIVEN the port is already taken WHEN a second demo starts on it THEN it exits 2 naming HTTP_PORT, and leaves no redis-server and no temp folders', async () => {
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    const tmp = mkdtempSync(join(tmpdir(), 'hotline-demo-clash-'));
    try {
      const d = startDemo({ HTTP_PORT: String(port), TMPDIR: tmp, LOG_LEVEL: 'warn' });
      const code = await d.exited;
      expect(code).toBe(2);
      expect(d.output()).toContain(`HTTP_PORT=${port}`);
      expect(d.output()).toContain(`HTTP_PORT=${port + 1} npm run demo`);
      expect(d.output()).not.toMatch(/\n\s+at /); // no stack trace
      // (tsx keeps its own compile cache there: not the demo's.)
      expect(readdirSync(tmp).filter((f) => !f.startsWith('tsx-'))).toEqual([]);
      // No redis-server started with a --dir inside this TMPDIR is still running.
      const orphans = readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(tmp);
          } catch {
            return false;
          }
        });
      expect(orphans).toEqual([]);
    } finally {
      blocker.close();
    }
  }, 40_000);
});

describe('no demo outside demo mode', () => {
  it('GIVEN the production server WHEN /api/demo/logins is asked and /login opened THEN 404 and no logins shown', async () => {
    const { base: prod } = await startWebApp(h);
    expect((await fetch(`${prod}/api/demo/logins`)).status).toBe(404);
    const s = await openBrowser();
    await s.page.goto(`${prod}/login`);
    await s.page.waitForSelector('#login-form');
    await s.page.waitForTimeout(300);
    expect(await s.page.isHidden('#demo-logins')).toBe(true);
  });
});
