/**
 * The embedded demo (issue 2 item 9): `npm run demo` starts the server on the
 * built-in simulated PBX with a throwaway Redis; a person dials, presses
 * digits and sees what the caller hears and where the call goes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/demo/own-redis.js';
import { eventually } from '../support/wait.js';

let child: ChildProcess;
let base = '';
let stdout = '';

beforeAll(async () => {
  const port = await freePort();
  child = spawn(process.execPath, ['--import', 'tsx', 'src/demo/main.ts'], {
    env: { PATH: process.env.PATH, HTTP_PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (stdout += String(d)));
  child.stderr!.on('data', (d) => (stdout += String(d)));
  await eventually(() => expect(stdout).toMatch(/12345 demo ready: (http:\/\/\S+)\/demo/), 30_000, 100);
  base = /12345 demo ready: (http:\/\/\S+)\/demo/.exec(stdout)![1]!;
}, 40_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${base}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: r.status, json: await r.json() };
}

describe('demo mode', () => {
  it('GIVEN the demo WHEN the page is fetched THEN it is served in zh-CN', async () => {
    const r = await fetch(`${base}/demo`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('12345 热线演示拨号');
  });

  it('GIVEN the demo WHEN 12345 is dialed and 0 pressed THEN the caller hears the welcome in Chinese and reaches a demo agent', async () => {
    const dial = await api('POST', '/api/demo/calls', { number: '12345' });
    expect(dial.status).toBe(200);
    const id = dial.json.id as string;
    await eventually(async () => {
      const v = (await api('GET', `/api/demo/calls/${id}`)).json;
      expect(v.heard.map((h: { text: string }) => h.text).join(' ')).toContain('欢迎致电');
      expect(v.path.some((p: { detail: string }) => p.detail.includes('.main: menu'))).toBe(true);
    }, 20_000, 200);
    expect((await api('POST', `/api/demo/calls/${id}/digits`, { digits: '0' })).status).toBe(200);
    await eventually(async () => {
      const v = (await api('GET', `/api/demo/calls/${id}`)).json;
      expect(v.path.some((p: { kind: string; detail: string }) => p.kind === 'agent' && p.detail.startsWith('answered by'))).toBe(true);
    }, 20_000, 200);
    expect((await api('DELETE', `/api/demo/calls/${id}`)).status).toBe(200);
    await eventually(async () => expect((await api('GET', `/api/demo/calls/${id}`)).json.state).toBe('ended'), 10_000, 200);
  });

  it('GIVEN bad input WHEN dialing THEN the error names the field and nothing is dialed', async () => {
    const r = await api('POST', '/api/demo/calls', { number: '12a45' });
    expect(r.status).toBe(400);
    expect(r.json.error.field).toBe('number');
    const d = await api('POST', '/api/demo/calls/demo-1/digits', { digits: 'x' });
    expect(d.status).toBe(400);
    expect(d.json.error.field).toBe('digits');
  });
});
