/**
 * Access control for every HTTP route.
 *
 * @remarks
 * The convention: every route declares `config: { access }` — `'public'`,
 * `{ roles: [...] }` or `{ permission: '...' }`. Registering a route without it
 * throws, so a new route cannot ship open. Requests carry a short-lived JWT,
 * either as `Authorization: Bearer` (APIs) or in an HttpOnly, SameSite=Strict
 * cookie (pages); cookie-authenticated writes must echo the CSRF token given
 * at login. Every request re-reads the user (disabled? rights changed?) so a
 * disabled user's tokens stop working at once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import jwt from '@fastify/jwt';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { AuditLog } from '../../access/audit.js';
import { hasPermission, isRole, type Permission, type Role } from '../../access/roles.js';
import { validateNewUser, type User, type UserStore } from '../../access/users.js';
import { bodyOf, errors, str } from '../errors.js';

export type RouteAccess = 'public' | { roles: readonly Role[] } | { permission: Permission };

export interface SessionUser {
  username: string;
  displayName: string;
  roles: Role[];
  agentId?: string;
  unitId?: string;
}

interface TokenPayload {
  sub: string;
  epoch: number;
  csrf: string;
  jti: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyInstance {
    /** Every route registered after the access plugin, with its declared access. */
    accessRoutes(): { method: string; url: string; access: RouteAccess }[];
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: TokenPayload;
    user: SessionUser;
  }
}

export const SESSION_COOKIE = 'hotline_session';

export interface AccessOptions {
  redis: Redis;
  keyPrefix: string;
  users: UserStore;
  audit: AuditLog;
  jwtSecret: string;
  tokenTtlSec: number;
  cookieSecure: boolean;
  loginMaxFailures: number;
  loginWindowSec: number;
  /** Requests per minute per user (or address when anonymous). */
  apiRatePerMinute: number;
  /** The full number of a call or ticket, for audited reveals. */
  lookupNumber: (kind: 'call' | 'ticket', id: string) => Promise<string | undefined>;
}

function toSessionUser(u: User): SessionUser {
  return {
    username: u.username,
    displayName: u.displayName,
    roles: u.roles,
    ...(u.agentId ? { agentId: u.agentId } : {}),
    ...(u.unitId ? { unitId: u.unitId } : {}),
  };
}

function allowed(access: Exclude<RouteAccess, 'public'>, roles: readonly Role[]): boolean {
  if ('roles' in access) return roles.some((r) => access.roles.includes(r));
  return hasPermission(roles, access.permission);
}

const plugin: FastifyPluginAsync<AccessOptions> = async (app: FastifyInstance, o: AccessOptions) => {
  const routes: { method: string; url: string; access: RouteAccess }[] = [];
  app.decorate('accessRoutes', () => [...routes]);
  app.addHook('onRoute', (r) => {
    const access = (r.config as { access?: RouteAccess } | undefined)?.access;
    if (!access) throw new Error(`route ${String(r.method)} ${r.url} declares no config.access: every route must say who may call it`);
    if (access !== 'public' && !('roles' in access) && !('permission' in access)) {
      throw new Error(`route ${String(r.method)} ${r.url}: config.access must be 'public', { roles } or { permission }`);
    }
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) {
      if (m !== 'HEAD') routes.push({ method: m, url: r.url, access });
    }
  });

  await app.register(cookie);
  await app.register(jwt, {
    secret: o.jwtSecret,
    cookie: { cookieName: SESSION_COOKIE, signed: false },
    sign: { expiresIn: o.tokenTtlSec },
  });
  await app.register(rateLimit, {
    global: true,
    max: o.apiRatePerMinute,
    timeWindow: 60_000,
    redis: o.redis,
    nameSpace: `${o.keyPrefix}:ratelimit:`,
    skipOnError: true,
    keyGenerator: (req) => req.user?.username ?? req.ip,
    allowList: (req) => req.routeOptions.config?.access === 'public',
  });

  const revokedKey = (jti: string) => `${o.keyPrefix}:revoked:${jti}`;

  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config?.access;
    if (!access || access === 'public') return;
    const viaHeader = typeof req.headers.authorization === 'string' && req.headers.authorization.startsWith('Bearer ');
    let payload: TokenPayload;
    try {
      payload = await req.jwtVerify<TokenPayload>();
    } catch {
      throw errors.unauthenticated();
    }
    const [user, revoked] = await Promise.all([o.users.sessionValid(payload.sub, payload.epoch), o.redis.exists(revokedKey(payload.jti))]);
    if (!user || revoked) throw errors.unauthenticated();
    if (!viaHeader && !['GET', 'HEAD', 'OPTIONS'].includes(req.method) && req.headers['x-csrf-token'] !== payload.csrf) {
      throw errors.csrf();
    }
    req.user = toSessionUser(user);
    if (!allowed(access, user.roles)) throw errors.forbidden();
  });

  // ---- auth ------------------------------------------------------------------------------

  const failKey = (kind: 'user' | 'ip', id: string) => `${o.keyPrefix}:login-fail:${kind}:${id}`;

  async function lockedFor(username: string, ip: string): Promise<number> {
    const [u, i] = await o.redis.mget(failKey('user', username), failKey('ip', ip));
    if (Number(u ?? 0) < o.loginMaxFailures && Number(i ?? 0) < o.loginMaxFailures * 4) return 0;
    const ttl = await o.redis.ttl(Number(u ?? 0) >= o.loginMaxFailures ? failKey('user', username) : failKey('ip', ip));
    return Math.max(1, ttl);
  }

  async function countFailure(username: string, ip: string): Promise<void> {
    const m = o.redis.multi();
    for (const k of [failKey('user', username), failKey('ip', ip)]) {
      m.incr(k);
      m.expire(k, o.loginWindowSec, 'NX');
    }
    await m.exec();
  }

  app.post('/api/auth/login', { config: { access: 'public', rateLimit: false } }, async (req, reply) => {
    const b = bodyOf(req);
    const username = str(b, 'username', { required: true, max: 64 })!;
    const password = str(b, 'password', { required: true, max: 200 })!;
    const locked = await lockedFor(username, req.ip);
    if (locked > 0) {
      await o.audit.record({ actor: username, action: 'login-failed', detail: 'locked', ip: req.ip });
      throw errors.tooMany(locked);
    }
    const user = await o.users.authenticate(username, password);
    if (!user) {
      await countFailure(username, req.ip);
      await o.audit.record({ actor: username, action: 'login-failed', ip: req.ip });
      throw errors.badCredentials();
    }
    await o.redis.del(failKey('user', username));
    const csrf = randomBytes(18).toString('base64url');
    const token = await reply.jwtSign({ sub: user.username, epoch: user.epoch, csrf, jti: randomUUID() });
    void reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: o.cookieSecure,
      path: '/',
      maxAge: o.tokenTtlSec,
    });
    await o.audit.record({ actor: user.username, action: 'login', ip: req.ip });
    return { token, csrfToken: csrf, expiresInSec: o.tokenTtlSec, user: toSessionUser(user) };
  });

  app.post('/api/auth/logout', { config: { access: { roles: ['admin', 'supervisor', 'agent', 'unit', 'auditor', 'inspector'] } } }, async (req, reply) => {
    const payload = req.server.jwt.decode<TokenPayload & { exp?: number }>(tokenOf(req) ?? '');
    if (payload?.jti) {
      const ttl = Math.max(1, (payload.exp ?? Math.floor(Date.now() / 1000) + o.tokenTtlSec) - Math.floor(Date.now() / 1000));
      await o.redis.set(revokedKey(payload.jti), '1', 'EX', ttl);
    }
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    await o.audit.record({ actor: req.user.username, action: 'logout', ip: req.ip });
    return { ok: true };
  });

  app.get('/api/auth/me', { config: { access: { roles: ['admin', 'supervisor', 'agent', 'unit', 'auditor', 'inspector'] } } }, async (req) => ({
    user: req.user,
  }));

  app.post('/api/auth/password', { config: { access: { roles: ['admin', 'supervisor', 'agent', 'unit', 'auditor', 'inspector'] } } }, async (req) => {
    const b = bodyOf(req);
    const oldPassword = str(b, 'oldPassword', { required: true, max: 200 })!;
    const newPassword = str(b, 'newPassword', { required: true, max: 200 })!;
    if (!(await o.users.authenticate(req.user.username, oldPassword))) throw errors.invalid('oldPassword', '原密码错误 / wrong password');
    await o.users.setPassword(req.user.username, newPassword);
    await o.audit.record({ actor: req.user.username, action: 'password-changed', target: req.user.username, ip: req.ip });
    return { ok: true, note: '请重新登录 / please log in again' };
  });

  // ---- users (admin) -----------------------------------------------------------------------

  app.get('/api/admin/users', { config: { access: { permission: 'users:write' } } }, async () => ({ users: await o.users.list() }));

  app.post('/api/admin/users', { config: { access: { permission: 'users:write' } } }, async (req, reply) => {
    const input = validateNewUser(req.body);
    const user = await o.users.create(input);
    await o.audit.record({ actor: req.user.username, action: 'user-created', target: user.username, detail: `roles ${user.roles.join(',')}`, ip: req.ip });
    return reply.code(201).send({ user });
  });

  app.patch('/api/admin/users/:username', { config: { access: { permission: 'users:write' } } }, async (req) => {
    const { username } = req.params as { username: string };
    const b = bodyOf(req);
    const user = await o.users.update(username, { roles: b.roles, disabled: b.disabled, displayName: b.displayName });
    const changes = ['roles', 'disabled', 'displayName'].filter((k) => b[k] !== undefined).map((k) => `${k}=${JSON.stringify(b[k])}`);
    await o.audit.record({ actor: req.user.username, action: 'user-updated', target: username, detail: changes.join(' '), ip: req.ip });
    return { user };
  });

  // ---- audit (auditors) ----------------------------------------------------------------------

  app.get('/api/audit', { config: { access: { permission: 'audit:read' } } }, async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const num = (field: string): number | undefined => {
      const v = q[field];
      if (v === undefined || v === '') return undefined;
      if (!/^\d+$/.test(v)) throw errors.invalid(field, '必须是毫秒时间戳 / must be epoch milliseconds');
      return Number(v);
    };
    return {
      entries: await o.audit.query({
        ...(num('from') !== undefined ? { from: num('from')! } : {}),
        ...(num('to') !== undefined ? { to: num('to')! } : {}),
        ...(q.action ? { action: q.action } : {}),
        ...(q.actor ? { actor: q.actor } : {}),
        ...(num('limit') !== undefined ? { limit: num('limit')! } : {}),
      }),
    };
  });

  // ---- full-number reveal (audited) ------------------------------------------------------------

  app.post('/api/numbers/reveal', { config: { access: { permission: 'number:full' } } }, async (req) => {
    const b = bodyOf(req);
    const ticketNo = str(b, 'ticketNo', { max: 40, pattern: /^\d{8,30}$/, what: 'a ticket number' });
    const callId = str(b, 'callId', { max: 120, pattern: /^[A-Za-z0-9._-]+$/, what: 'a call id' });
    if (!ticketNo && !callId) throw errors.invalid('ticketNo', '须提供工单号或通话 ID / ticketNo or callId is required');
    const reason = str(b, 'reason', { required: true, max: 200 })!;
    if (reason.trim().length < 4) throw errors.invalid('reason', '请说明查看原因（至少 4 个字） / give a reason of at least 4 characters');
    const kind = ticketNo ? 'ticket' : 'call';
    const id = (ticketNo ?? callId)!;
    const number = await o.lookupNumber(kind, id);
    if (!number) throw errors.notFound(kind === 'ticket' ? `工单 ${id}` : `通话 ${id}`);
    await o.audit.record({ actor: req.user.username, action: 'number-revealed', target: `${kind}:${id}`, detail: reason, ip: req.ip });
    return { number };
  });
};

function tokenOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string' && h.startsWith('Bearer ')) return h.slice(7);
  return req.cookies?.[SESSION_COOKIE];
}

// Applies to the whole app, not only the plugin's own context.
(plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export const accessPlugin = plugin;
export { isRole };
