/**
 * The access plugin on a small fastify app (sample routes, real Redis, one key
 * prefix per test): the route convention, login and lock-out, sessions that
 * end when a user is disabled, CSRF for cookie sessions, rate limits, the
 * audited full-number reveal and the auditors' query.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Role } from '../../src/access/roles.js';
import { errorHandler } from '../../src/http/errors.js';
import { UserStore } from '../../src/access/users.js';
import { accessPlugin, SECURE_SESSION_COOKIE, type AccessOptions } from '../../src/http/plugins/access.js';
import { assertEveryRouteGuarded, auditRoutes, loginAs, TEST_PASSWORD } from '../support/route-audit.js';

const url = inject('redisUrl');
let redis: Redis;
const apps: FastifyInstance[] = [];
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(url);
});

afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const p of prefixes.splice(0)) {
    const keys = await redis.keys(`${p}:*`);
    if (keys.length) await redis.del(...keys);
  }
});

afterAll(() => redis.disconnect());

const TICKET = '0632202611230001';
const CALLER = '13912345678';

/** An app as the colleagues' routes will see it: the plugin first, then routes that each declare access. */
async function build(opts: Partial<AccessOptions> = {}, routes?: (app: FastifyInstance) => void): Promise<FastifyInstance> {
  const keyPrefix = `t-plugin-${randomUUID().slice(0, 8)}`;
  prefixes.push(keyPrefix);
  const app = Fastify();
  apps.push(app);
  app.setErrorHandler(errorHandler);
  await app.register(accessPlugin, {
    redis,
    keyPrefix,
    jwtSecret: 'test-secret-'.padEnd(40, 'x'),
    tokenTtlSec: 900,
    cookieSecure: false,
    loginMaxFailures: 3,
    loginWindowSec: 60,
    lookupNumber: (kind, id) => (kind === 'ticket' && id === TICKET ? CALLER : kind === 'call' && id === 'call-1' ? CALLER : undefined),
    // scrypt at 2^10 as in every test app (PASSWORD_HASH_COST=10): the plugin's logic, not the hash's cost.
    users: new UserStore(redis, keyPrefix, { N: 1 << 10, r: 8, p: 1 }),
    ...opts,
  });
  app.get('/api/sample/public', { config: { access: 'public' } }, async () => ({ ok: true }));
  app.get('/api/sample/agent', { config: { access: { roles: ['agent'] } } }, async (req) => ({ user: req.user }));
  app.post('/api/sample/routing', { config: { access: { permission: 'routing:write' } } }, async (req) => ({ by: req.user.username }));
  app.get('/api/sample/tickets/:ticketNo', { config: { access: { permission: 'tickets:any' } } }, async (req) => ({ no: (req.params as { ticketNo: string }).ticketNo }));
  routes?.(app);
  await app.ready();
  return app;
}

async function user(app: FastifyInstance, username: string, roles: Role[], extra: { agentId?: string; unitId?: string } = {}) {
  await app.userStore.create({ username, roles, password: TEST_PASSWORD, ...(roles.includes('agent') ? { agentId: 'A1' } : {}), ...(roles.includes('unit') ? { unitId: 'U1' } : {}), ...extra });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const login = (app: FastifyInstance, username: string, password: string, remoteAddress = '127.0.0.1') =>
  app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password }, remoteAddress });

describe('the route convention', () => {
  it('GIVEN a route without config.access inside a plugin WHEN the app starts THEN app.ready() fails naming the route', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(accessPlugin, { redis, keyPrefix: 't-x', jwtSecret: 'y'.repeat(32), cookieSecure: false, lookupNumber: () => undefined });
    app.register(async (scope) => {
      scope.get('/api/forgotten', async () => 'open to all');
    });
    await expect(app.ready()).rejects.toThrow(/GET \/api\/forgotten declares no config.access/);
  });

  it('GIVEN a route at the root without config.access, or with a mistyped permission or role THEN registration throws', async () => {
    const app = await build();
    expect(() => app.get('/late', async () => 'x')).toThrow(/declares no config.access/);
    const app2 = Fastify();
    apps.push(app2);
    await app2.register(accessPlugin, { redis, keyPrefix: 't-x', jwtSecret: 'y'.repeat(32), cookieSecure: false, lookupNumber: () => undefined });
    expect(() => app2.get('/typo', { config: { access: { permission: 'tickets:rad' } as never } }, async () => 'x')).toThrow(/not a known permission/);
    const app3 = Fastify();
    apps.push(app3);
    await app3.register(accessPlugin, { redis, keyPrefix: 't-x', jwtSecret: 'y'.repeat(32), cookieSecure: false, lookupNumber: () => undefined });
    app3.register(async (scope) => {
      scope.get('/typo', { config: { access: { roles: ['superuser'] } as never } }, async () => 'x');
    });
    await expect(app3.ready()).rejects.toThrow(/unknown roles: superuser/);
  });

  it('GIVEN a route registered before the plugin (so never checked) WHEN called THEN it is refused, not served', async () => {
    const app = Fastify();
    apps.push(app);
    app.setErrorHandler(errorHandler);
    app.get('/early', async () => 'should not be served');
    await app.register(accessPlugin, { redis, keyPrefix: 't-x', jwtSecret: 'y'.repeat(32), cookieSecure: false, lookupNumber: () => undefined });
    const r = await app.inject({ method: 'GET', url: '/early' });
    expect(r.statusCode).toBe(500);
    expect(r.json().error.code).toBe('route-undeclared');
    expect((await app.inject({ method: 'GET', url: '/nowhere' })).statusCode).toBe(404);
  });

  it('GIVEN the app WHEN every route is enumerated THEN each non-public one refuses anonymous (401) and wrong roles (403)', async () => {
    const app = await build();
    const report = await auditRoutes(app);
    // The plugin's own routes (auth, users, audit, reveal) and the samples.
    expect(report.checked).toBeGreaterThanOrEqual(13);
    expect(report.publicRoutes).toEqual(['POST /api/auth/login', 'GET /api/sample/public']);
    expect(app.accessRoutes().find((r) => r.url === '/api/numbers/reveal')?.access).toEqual({ permission: 'number:full' });
    // With a request builder for routes that need real parameters.
    expect(await assertEveryRouteGuarded(app, (route) => (route.url.includes(':ticketNo') ? { url: `/api/sample/tickets/${TICKET}` } : undefined))).toBe(report.checked);
  });

  it('GIVEN a logged-in user WHEN a route runs THEN request.user is theirs; the allowed role passes', async () => {
    const app = await build();
    await user(app, 'agent1', ['agent']);
    const s = await loginAs(app, 'agent1');
    const r = await app.inject({ method: 'GET', url: '/api/sample/agent', headers: bearer(s.token) });
    expect(r.statusCode).toBe(200);
    expect(r.json().user).toEqual({ username: 'agent1', displayName: 'agent1', roles: ['agent'], agentId: 'A1' });
    expect((await app.inject({ method: 'GET', url: '/api/sample/public' })).statusCode).toBe(200);
  });
});

describe('login', () => {
  it('GIVEN the right password THEN a token, a CSRF token and an HttpOnly SameSite=Strict cookie; /me lists permissions', async () => {
    const app = await build();
    await user(app, 'sup', ['supervisor']);
    const r = await login(app, 'SUP', TEST_PASSWORD);
    expect(r.statusCode).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const body = r.json();
    expect(body).toMatchObject({ tokenType: 'Bearer', expiresInSec: 900, user: { username: 'sup', roles: ['supervisor'] } });
    expect(body.user.permissions).toContain('number:full');
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(/^hotline_session=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/);
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: cookie.split(';')[0]! } });
    expect(me.json()).toMatchObject({ user: { username: 'sup' }, csrfToken: body.csrfToken });
    const audit = await app.audit.query({ actor: 'sup', action: 'login' });
    expect(audit).toHaveLength(1);
  });

  it('GIVEN HTTPS WHEN logged in THEN the cookie is Secure under the __Host- name', async () => {
    const app = await build({ cookieSecure: true });
    await user(app, 'sup', ['supervisor']);
    const cookie = String((await login(app, 'sup', TEST_PASSWORD)).headers['set-cookie']);
    expect(cookie.startsWith(`${SECURE_SESSION_COOKIE}=`)).toBe(true);
    expect(cookie).toMatch(/; Secure/);
  });

  it('GIVEN a wrong password or an unknown user THEN the same 401 and an audit entry without the password', async () => {
    const app = await build();
    await user(app, 'wang', ['agent']);
    const a = await login(app, 'wang', 'wrong-password-1');
    const b = await login(app, 'nobody', 'wrong-password-1');
    expect(a.statusCode).toBe(401);
    expect(a.json()).toEqual(b.json());
    expect(a.json().error).toEqual({ code: 'bad-credentials', message: '用户名或密码错误 / invalid username or password' });
    const missing = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'wang' } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.field).toBe('password');
    const entries = await app.audit.query({ action: 'login-failed' });
    expect(entries.map((e) => e.actor).sort()).toEqual(['nobody', 'wang']);
    expect(JSON.stringify(entries)).not.toContain('wrong-password-1');
  });

  it('GIVEN N wrong passwords WHEN the right one comes THEN 429 for a while (even right), other users unaffected, then it works again', async () => {
    const app = await build({ loginMaxFailures: 3, loginWindowSec: 2 });
    await user(app, 'lock-me', ['agent']);
    await user(app, 'bystander', ['agent']);
    for (let i = 0; i < 3; i++) expect((await login(app, 'lock-me', 'wrong-password-1')).statusCode).toBe(401);
    const locked = await login(app, 'lock-me', TEST_PASSWORD);
    expect(locked.statusCode).toBe(429);
    expect(locked.json().error.code).toBe('too-many-attempts');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login(app, 'bystander', TEST_PASSWORD)).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 2_100));
    expect((await login(app, 'lock-me', TEST_PASSWORD)).statusCode).toBe(200);
  });

  it('GIVEN parallel guesses WHEN fired at once THEN no more than N reach the password check', async () => {
    const app = await build({ loginMaxFailures: 3 });
    await user(app, 'target', ['admin']);
    const codes = (await Promise.all(Array.from({ length: 12 }, () => login(app, 'target', 'wrong-password-1')))).map((r) => r.statusCode);
    expect(codes.filter((c) => c === 401)).toHaveLength(3);
    expect(codes.filter((c) => c === 429)).toHaveLength(9);
  });

  it('GIVEN failures from one address across many usernames THEN that address is locked out too', async () => {
    const app = await build({ loginMaxFailures: 3, loginMaxFailuresPerIp: 5 });
    await user(app, 'real', ['agent']);
    for (let i = 0; i < 5; i++) expect((await login(app, `guess${i}`, 'wrong-password-1', '10.9.9.9')).statusCode).toBe(401);
    expect((await login(app, 'real', TEST_PASSWORD, '10.9.9.9')).statusCode).toBe(429);
    expect((await login(app, 'real', TEST_PASSWORD, '10.9.9.10')).statusCode).toBe(200);
  });
});

describe('sessions', () => {
  it('GIVEN a logged-in user WHEN an admin disables them THEN their existing token and cookie are refused at once', async () => {
    const app = await build();
    await user(app, 'admin1', ['admin']);
    await user(app, 'agent1', ['agent']);
    const victim = await loginAs(app, 'agent1');
    const admin = await loginAs(app, 'admin1');
    expect((await app.inject({ method: 'GET', url: '/api/sample/agent', headers: bearer(victim.token) })).statusCode).toBe(200);
    const patch = await app.inject({ method: 'PATCH', url: '/api/admin/users/agent1', headers: bearer(admin.token), payload: { disabled: true, version: (await app.userStore.get('agent1'))!.version } });
    expect(patch.statusCode, patch.body).toBe(200);
    for (const headers of [bearer(victim.token), { cookie: victim.cookie }]) {
      const r = await app.inject({ method: 'GET', url: '/api/sample/agent', headers });
      expect(r.statusCode).toBe(401);
      expect(r.json().error.code).toBe('unauthenticated');
    }
    expect((await login(app, 'agent1', TEST_PASSWORD)).statusCode).toBe(401);
    expect(await app.audit.query({ action: 'user-disabled' })).toMatchObject([{ actor: 'admin1', target: 'user:agent1' }]);
  });

  it('GIVEN a role change THEN tokens issued under the old roles die; the audit says from what to what', async () => {
    const app = await build();
    await user(app, 'admin1', ['admin']);
    await user(app, 'p1', ['agent']);
    const old = await loginAs(app, 'p1');
    const admin = await loginAs(app, 'admin1');
    const r = await app.inject({ method: 'PATCH', url: '/api/admin/users/p1', headers: bearer(admin.token), payload: { roles: ['supervisor'], version: (await app.userStore.get('p1'))!.version } });
    expect(r.json().changed).toEqual(['roles']);
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(old.token) })).statusCode).toBe(401);
    expect(await app.audit.query({ action: 'user-role-changed' })).toMatchObject([{ target: 'user:p1', detail: 'roles agent → supervisor' }]);
  });

  it('GIVEN logout THEN that token is dead and the cookie cleared; another session of the same user lives', async () => {
    const app = await build();
    await user(app, 'u1', ['inspector']);
    const a = await loginAs(app, 'u1');
    const b = await loginAs(app, 'u1');
    const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(a.token) });
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toMatch(/hotline_session=;.*Expires=Thu, 01 Jan 1970/);
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(a.token) })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(b.token) })).statusCode).toBe(200);
  });

  it('GIVEN a password change THEN the old password is required, older sessions end and the caller gets a new token', async () => {
    const app = await build();
    await user(app, 'u2', ['auditor']);
    const elsewhere = await loginAs(app, 'u2');
    const here = await loginAs(app, 'u2');
    const change = (payload: object) => app.inject({ method: 'POST', url: '/api/auth/password', headers: bearer(here.token), payload });
    const wrong = await change({ oldPassword: 'not-my-password-1', newPassword: 'brand-new-pass-2' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.field).toBe('oldPassword');
    const weak = await change({ oldPassword: TEST_PASSWORD, newPassword: 'weak' });
    expect(weak.json().error.field).toBe('newPassword');
    const ok = await change({ oldPassword: TEST_PASSWORD, newPassword: 'brand-new-pass-2' });
    expect(ok.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(elsewhere.token) })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(ok.json().token) })).statusCode).toBe(200);
    expect((await login(app, 'u2', 'brand-new-pass-2')).statusCode).toBe(200);
    expect(await app.audit.query({ action: 'password-changed' })).toMatchObject([{ actor: 'u2', target: 'user:u2' }]);
  });

  it('GIVEN a tampered, expired or foreign token THEN 401', async () => {
    const app = await build({ tokenTtlSec: 1 });
    await user(app, 'u3', ['agent']);
    const s = await loginAs(app, 'u3');
    const [h, p, sig] = s.token.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const elevated = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
    for (const authorization of [`Bearer ${h}.${elevated}.${sig}`, `Bearer ${s.token}x`, `Basic ${s.token}`, 'Bearer ']) {
      expect((await app.inject({ method: 'GET', url: '/api/sample/agent', headers: { authorization } })).statusCode, authorization.slice(0, 12)).toBe(401);
    }
    await new Promise((r) => setTimeout(r, 2_100));
    expect((await app.inject({ method: 'GET', url: '/api/sample/agent', headers: bearer(s.token) })).statusCode).toBe(401);
  });

  it('GIVEN a cookie session past half its life WHEN used THEN the cookie is renewed with the same CSRF token', async () => {
    const app = await build({ tokenTtlSec: 4 });
    await user(app, 'u4', ['agent']);
    const s = await loginAs(app, 'u4');
    const fresh = await app.inject({ method: 'GET', url: '/api/sample/agent', headers: { cookie: s.cookie } });
    expect(fresh.headers['set-cookie']).toBeUndefined();
    await new Promise((r) => setTimeout(r, 2_100));
    const later = await app.inject({ method: 'GET', url: '/api/sample/agent', headers: { cookie: s.cookie } });
    expect(later.statusCode).toBe(200);
    const renewed = String(later.headers['set-cookie']).split(';')[0]!;
    expect(renewed).toMatch(/^hotline_session=/);
    expect(renewed).not.toBe(s.cookie);
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: renewed } });
    expect(me.json().csrfToken).toBe(s.csrf);
  });
});

describe('CSRF', () => {
  it('GIVEN a cookie session WHEN it posts without or with a wrong x-csrf-token THEN 403 csrf; with the right one it passes; Bearer needs none', async () => {
    const app = await build();
    await user(app, 'admin1', ['admin']);
    const s = await loginAs(app, 'admin1');
    const post = (headers: Record<string, string>) => app.inject({ method: 'POST', url: '/api/sample/routing', headers, payload: {} });
    const none = await post({ cookie: s.cookie });
    expect(none.statusCode).toBe(403);
    expect(none.json().error.code).toBe('csrf');
    expect((await post({ cookie: s.cookie, 'x-csrf-token': 'x'.repeat(32) })).statusCode).toBe(403);
    expect((await post({ cookie: s.cookie, 'x-csrf-token': s.csrf })).statusCode).toBe(200);
    expect((await post(bearer(s.token))).statusCode).toBe(200);
    // Reads over a cookie need no token.
    expect((await app.inject({ method: 'GET', url: '/api/admin/users', headers: { cookie: s.cookie } })).statusCode).toBe(200);
  });
});

describe('rate limits', () => {
  it('GIVEN a per-user API limit WHEN a user exceeds it THEN 429 for every session of that user (a new login does not reset it), other users unaffected', async () => {
    const app = await build({ apiRatePerMinute: 5 });
    await user(app, 'busy', ['agent']);
    await user(app, 'calm', ['agent']);
    const a = await loginAs(app, 'busy');
    const b = await loginAs(app, 'busy');
    const other = await loginAs(app, 'calm');
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) codes.push((await app.inject({ method: 'GET', url: '/api/sample/agent', headers: bearer(a.token) })).statusCode);
    expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const limited = await app.inject({ method: 'GET', url: '/api/sample/agent', headers: bearer(a.token) });
    expect(limited.json().error.code).toBe('rate-limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // The same user's second session (issue 20: the limit was per session) is limited too.
    expect((await app.inject({ method: 'GET', url: '/api/sample/agent', headers: bearer(b.token) })).statusCode).toBe(429);
    const fresh = await loginAs(app, 'busy');
    expect((await app.inject({ method: 'GET', url: '/api/sample/agent', headers: bearer(fresh.token) })).statusCode).toBe(429);
    expect((await app.inject({ method: 'GET', url: '/api/sample/agent', headers: bearer(other.token) })).statusCode).toBe(200);
    // Public routes are not counted.
    for (let i = 0; i < 8; i++) expect((await app.inject({ method: 'GET', url: '/api/sample/public' })).statusCode).toBe(200);
  });
});

describe('users admin API', () => {
  it('GIVEN an admin WHEN creating users THEN 201, errors name the field, the list carries no hashes, resets are audited', async () => {
    const app = await build();
    await user(app, 'admin1', ['admin']);
    const s = await loginAs(app, 'admin1');
    const create = (payload: object) => app.inject({ method: 'POST', url: '/api/admin/users', headers: bearer(s.token), payload });
    const ok = await create({ username: 'zhou', roles: ['unit'], unitId: '市住建局', password: 'unit-password-1', displayName: '周' });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().user).toMatchObject({ username: 'zhou', roles: ['unit'], unitId: '市住建局' });
    expect((await create({ username: 'zhou', roles: ['unit'], unitId: 'x', password: 'unit-password-1' })).statusCode).toBe(409);
    for (const [payload, field] of [
      [{ username: 'z', roles: ['agent'], password: 'unit-password-1' }, 'username'],
      [{ username: 'zz', roles: ['boss'], password: 'unit-password-1' }, 'roles'],
      [{ username: 'zz', roles: ['agent'], password: 'unit-password-1' }, 'agentId'],
      [{ username: 'zz', roles: ['auditor'], password: 'short' }, 'password'],
    ] as const) {
      const r = await create(payload);
      expect(r.statusCode).toBe(400);
      expect(r.json().error.field).toBe(field);
      expect(r.json().error.message).toMatch(new RegExp(`^${field}: `));
    }
    const list = await app.inject({ method: 'GET', url: '/api/admin/users', headers: bearer(s.token) });
    expect(list.json().users.map((u: { username: string }) => u.username)).toEqual(['admin1', 'zhou']);
    expect(list.body).not.toMatch(/scrypt|passwordHash/);
    const reset = await app.inject({ method: 'POST', url: '/api/admin/users/zhou/password', headers: bearer(s.token), payload: { newPassword: 'reset-by-admin-1', version: list.json().users.find((u: { username: string }) => u.username === 'zhou').version } });
    expect(reset.statusCode).toBe(200);
    expect((await login(app, 'zhou', 'reset-by-admin-1')).statusCode).toBe(200);
    const actions = (await app.audit.query({ actor: 'admin1' })).map((e) => `${e.action} ${e.target}`);
    expect(actions).toEqual(expect.arrayContaining(['user-created user:zhou', 'password-reset user:zhou']));
  });
});

describe('number reveal and the audit log', () => {
  it('GIVEN a supervisor WHEN revealing a ticket’s number with a reason THEN the number, and an audit entry with actor, ticket id and reason but no number', async () => {
    const app = await build();
    await user(app, 'sup', ['supervisor']);
    await user(app, 'aud', ['auditor']);
    await user(app, 'agent1', ['agent']);
    const sup = await loginAs(app, 'sup');
    const reveal = (token: string, payload: object) => app.inject({ method: 'POST', url: '/api/numbers/reveal', headers: bearer(token), payload });

    const before = Date.now();
    const ok = await reveal(sup.token, { ticketId: TICKET, reason: '核实投诉人身份' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ number: CALLER, kind: 'ticket', id: TICKET });
    expect(ok.headers['cache-control']).toBe('no-store');
    expect((await reveal(sup.token, { callId: 'call-1', reason: '回访需要核对' })).json().number).toBe(CALLER);

    const aud = await loginAs(app, 'aud');
    const q = await app.inject({ method: 'GET', url: `/api/audit?action=number-revealed&from=${before}`, headers: bearer(aud.token) });
    expect(q.statusCode).toBe(200);
    const entries = q.json().entries;
    expect(entries).toHaveLength(2);
    expect(entries[1]).toMatchObject({ actor: 'sup', action: 'number-revealed', target: `ticket:${TICKET}`, detail: '核实投诉人身份', ip: '127.0.0.1' });
    expect(entries[1].at).toBeGreaterThanOrEqual(before);
    expect(entries[0]).toMatchObject({ target: 'call:call-1' });
    expect(q.body).not.toContain(CALLER);
    expect((await app.inject({ method: 'GET', url: '/api/audit?actor=sup&action=number-revealed', headers: bearer(aud.token) })).json().entries).toHaveLength(2);
    expect((await app.inject({ method: 'GET', url: '/api/audit?from=yesterday', headers: bearer(aud.token) })).json().error.field).toBe('from');

    // Agents and admins do not read the audit log.
    const agent = await loginAs(app, 'agent1');
    expect((await app.inject({ method: 'GET', url: '/api/audit', headers: bearer(agent.token) })).statusCode).toBe(403);
    // Nor reveal numbers.
    expect((await reveal(agent.token, { ticketId: TICKET, reason: '想看一下号码' })).statusCode).toBe(403);
  });

  it('GIVEN a reveal without a proper reason or target THEN 400 naming the field; an unknown ticket THEN 404 and nothing audited', async () => {
    const app = await build();
    await user(app, 'sup', ['supervisor']);
    const sup = await loginAs(app, 'sup');
    const reveal = (payload: object) => app.inject({ method: 'POST', url: '/api/numbers/reveal', headers: bearer(sup.token), payload });
    expect((await reveal({ ticketId: TICKET })).json().error.field).toBe('reason');
    expect((await reveal({ ticketId: TICKET, reason: '看看' })).json().error.field).toBe('reason');
    expect((await reveal({ ticketId: TICKET, reason: '    看看  ' })).json().error.field).toBe('reason');
    expect((await reveal({ reason: '核实投诉人身份' })).json().error.field).toBe('ticketId');
    expect((await reveal({ ticketId: 'abc', reason: '核实投诉人身份' })).json().error.field).toBe('ticketId');
    const missing = await reveal({ ticketId: '0632202611239999', reason: '核实投诉人身份' });
    expect(missing.statusCode).toBe(404);
    expect(await app.audit.query({ action: 'number-revealed' })).toEqual([]);
  });

  it('GIVEN a per-user reveal limit WHEN exceeded THEN 429', async () => {
    const app = await build({ revealsPerHour: 2 });
    await user(app, 'sup', ['supervisor']);
    const sup = await loginAs(app, 'sup');
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      codes.push((await app.inject({ method: 'POST', url: '/api/numbers/reveal', headers: bearer(sup.token), payload: { ticketId: TICKET, reason: '核实投诉人身份' } })).statusCode);
    }
    expect(codes).toEqual([200, 200, 429]);
    expect(await app.audit.query({ action: 'number-revealed' })).toHaveLength(2);
  });
});
