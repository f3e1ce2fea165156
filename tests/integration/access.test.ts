/**
 * Access control and privacy (issue 3) on the whole app, with a real Redis:
 * every route guarded, lock-out after failed logins, disabled users and
 * changed roles cut off at once, CSRF for cookie sessions, ticket scoping by
 * role, and the audited full-number reveal.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { hashPassword, verifyPassword } from '../../src/access/password.js';
import { accessPlugin } from '../../src/http/plugins/access.js';
import type { CallRecord } from '../../src/calls/record.js';
import { startPbx, testConfig, type PbxUnderTest } from '../support/pbx.js';
import { assertEveryRouteGuarded, loginAs, TEST_PASSWORD } from '../support/route-audit.js';
import { logSink } from '../support/log-capture.js';

let pbx: PbxUnderTest;
let app: App;

function record(callId: string, agents: string[], number: string): CallRecord {
  return {
    callId,
    channelName: 'x',
    caller: { number, name: '张三' },
    dialed: '12345',
    source: 'carrier',
    language: 'zh',
    startedAt: Date.now(),
    path: [],
    agents,
    handoffs: [],
    recovered: false,
    instance: 't',
  };
}

beforeAll(async () => {
  pbx = await startPbx();
  app = await buildApp(testConfig(pbx, { LOGIN_MAX_FAILURES: '3', LOGIN_WINDOW_SEC: '60' }), { logDestination: logSink });
  await app.start();
});

afterAll(async () => {
  await app?.stop();
  await pbx?.stop();
});

describe('routes', () => {
  it('GIVEN the whole app WHEN every registered route is called anonymously and with a wrong role THEN each answers 401 and 403', async () => {
    const checked = await assertEveryRouteGuarded(app.http, app.users, 'ra');
    expect(checked).toBeGreaterThanOrEqual(8);
  });

  it('GIVEN a route without config.access WHEN it is registered THEN registration fails', async () => {
    const f = Fastify();
    await f.register(accessPlugin, {
      redis: app.redis,
      keyPrefix: 'x',
      users: app.users,
      audit: app.audit,
      jwtSecret: 'x'.repeat(32),
      tokenTtlSec: 60,
      cookieSecure: false,
      loginMaxFailures: 3,
      loginWindowSec: 60,
      apiRatePerMinute: 100,
      lookupNumber: async () => undefined,
    });
    expect(() => f.get('/open', async () => 'oops')).toThrow(/declares no config.access/);
    expect(() => f.get('/declared', { config: { access: 'public' } }, async () => 'ok')).not.toThrow();
    await f.close();
  });
});

describe('passwords and sessions', () => {
  it('GIVEN a password WHEN hashed THEN it verifies, a wrong one does not, and two hashes differ (salt)', async () => {
    const h1 = await hashPassword('s3cret-password');
    const h2 = await hashPassword('s3cret-password');
    expect(h1).not.toBe(h2);
    expect(await verifyPassword('s3cret-password', h1)).toBe(true);
    expect(await verifyPassword('s3cret-passworD', h1)).toBe(false);
  });

  it('GIVEN wrong passwords N times WHEN the right one comes THEN it is refused for a while (429)', async () => {
    await app.users.create({ username: 'lock-me', roles: ['agent'], agentId: 'L1', password: TEST_PASSWORD });
    for (let i = 0; i < 3; i++) {
      const r = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'lock-me', password: 'wrong-password-1' } });
      expect(r.statusCode).toBe(401);
      expect(r.json().error.code).toBe('bad-credentials');
    }
    const locked = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'lock-me', password: TEST_PASSWORD } });
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    const failures = await app.audit.query({ actor: 'lock-me', action: 'login-failed' });
    expect(failures.length).toBe(4);
  });

  it('GIVEN a logged-in user WHEN an admin disables them THEN their existing token is refused', async () => {
    await app.users.create({ username: 'to-disable', roles: ['supervisor'], password: TEST_PASSWORD });
    const { token } = await loginAs(app.http, 'to-disable');
    const before = await app.http.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } });
    expect(before.statusCode).toBe(200);
    await app.users.create({ username: 'the-admin', roles: ['admin'], password: TEST_PASSWORD });
    const admin = await loginAs(app.http, 'the-admin');
    const patch = await app.http.inject({
      method: 'PATCH',
      url: '/api/admin/users/to-disable',
      headers: { authorization: `Bearer ${admin.token}` },
      payload: { disabled: true, version: (await app.users.get('to-disable'))!.version },
    });
    expect(patch.statusCode).toBe(200);
    const after = await app.http.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } });
    expect(after.statusCode).toBe(401);
    const bad = await app.http.inject({
      method: 'PATCH',
      url: '/api/admin/users/to-disable',
      headers: { authorization: `Bearer ${admin.token}` },
      payload: { roles: ['root'] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('roles');
    expect((await app.users.get('to-disable'))?.roles).toEqual(['supervisor']);
  });

  it('GIVEN a cookie session WHEN it posts without the CSRF token THEN 403; with it THEN allowed; after logout the token is dead', async () => {
    await app.users.create({ username: 'cookie-user', roles: ['agent'], agentId: 'C1', password: TEST_PASSWORD });
    const s = await loginAs(app.http, 'cookie-user');
    expect(s.cookie).toMatch(/^hotline_session=/);
    const noCsrf = await app.http.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: s.cookie } });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().error.code).toBe('csrf');
    const ok = await app.http.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    expect(ok.statusCode).toBe(200);
    const dead = await app.http.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${s.token}` } });
    expect(dead.statusCode).toBe(401);
  });
});

describe('tickets and numbers', () => {
  it('GIVEN tickets of two agents WHEN agent A reads B’s ticket THEN 403; a supervisor reads it masked and reveals the number with an audit entry', async () => {
    const a = await app.tickets.createFromCall(record('call-a', ['A1'], '13911112222'));
    const b = await app.tickets.createFromCall(record('call-b', ['B1'], '13933334444'));
    await app.users.create({ username: 'agent-a', roles: ['agent'], agentId: 'A1', password: TEST_PASSWORD });
    await app.users.create({ username: 'sup', roles: ['supervisor'], password: TEST_PASSWORD });
    await app.users.create({ username: 'unit-x', roles: ['unit'], unitId: 'unit-x', password: TEST_PASSWORD });
    await app.users.create({ username: 'aud', roles: ['auditor'], password: TEST_PASSWORD });
    const agent = await loginAs(app.http, 'agent-a');
    const sup = await loginAs(app.http, 'sup');
    const unit = await loginAs(app.http, 'unit-x');
    const aud = await loginAs(app.http, 'aud');
    const get = (no: string, token: string) => app.http.inject({ method: 'GET', url: `/api/tickets/${no}`, headers: { authorization: `Bearer ${token}` } });

    const own = await get(a.ticketNo, agent.token);
    expect(own.statusCode).toBe(200);
    expect(own.json().ticket.record.caller.number).toBe('139****2222');
    expect((await get(b.ticketNo, agent.token)).statusCode).toBe(403);
    expect((await get(b.ticketNo, unit.token)).statusCode).toBe(403);
    const supView = await get(b.ticketNo, sup.token);
    expect(supView.statusCode).toBe(200);
    expect(supView.body).not.toContain('13933334444');

    const reveal = (token: string, payload: object) =>
      app.http.inject({ method: 'POST', url: '/api/numbers/reveal', headers: { authorization: `Bearer ${token}` }, payload });
    expect((await reveal(agent.token, { ticketNo: b.ticketNo, reason: '回访需要' })).statusCode).toBe(403);
    const noReason = await reveal(sup.token, { ticketNo: b.ticketNo });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().error.field).toBe('reason');
    const ok = await reveal(sup.token, { ticketNo: b.ticketNo, reason: '核实投诉人身份' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().number).toBe('13933334444');

    const auditRes = await app.http.inject({ method: 'GET', url: '/api/audit?action=number-revealed', headers: { authorization: `Bearer ${aud.token}` } });
    expect(auditRes.statusCode).toBe(200);
    const entry = auditRes.json().entries.find((e: { target?: string }) => e.target === `ticket:${b.ticketNo}`);
    expect(entry).toMatchObject({ actor: 'sup', action: 'number-revealed', detail: '核实投诉人身份' });
    expect(JSON.stringify(auditRes.json())).not.toContain('13933334444');
    expect((await app.http.inject({ method: 'GET', url: '/api/audit', headers: { authorization: `Bearer ${agent.token}` } })).statusCode).toBe(403);
  });
});
