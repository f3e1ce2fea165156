/**
 * Access control for every HTTP route (授权访问, 谁管理、谁使用、谁负责).
 *
 * @remarks
 * The convention: every route declares `config: { access }`:
 * - `'public'`: anyone (login, health, static pages);
 * - `{ roles: [...] }`: a logged-in user holding one of the roles;
 * - `{ permission: '...' }`: a logged-in user whose roles grant the permission
 *   (see `PERMISSIONS` in `access/roles.ts`; preferred).
 *
 * Registering a route without it (or with an unknown role or permission)
 * throws, so `app.ready()` fails and a new route cannot ship open. Register
 * this plugin first: it applies to the whole app (skip-override) and only sees
 * routes registered after it; a request reaching a route that declared nothing
 * (registered before the plugin) is refused, never let through.
 *
 * Requests carry a short-lived JWT, as `Authorization: Bearer` (APIs) or in an
 * HttpOnly, SameSite=Strict session cookie (pages). Cookie-authenticated
 * writes must echo the CSRF token given at login in `x-csrf-token`
 * (double submit; the token is bound into the signed JWT). Every request
 * re-reads the user (enabled? same session epoch? session logged out?) in one
 * Redis round trip, so disabling a user or changing their roles ends their
 * sessions at once. Cookie sessions slide: a cookie past half its life is
 * renewed, up to `sessionMaxSec` after login.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import cookie from '@fastify/cookie';
import jwt from '@fastify/jwt';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { AuditLog, isAuditCursor, type AuditRetention } from '../../access/audit.js';
import { hasPermission, isPermission, isRole, permissionsOf, ROLES, type Permission, type Role } from '../../access/roles.js';
import { applyUserPatch, normalizeUsername, UserStore, validateNewUser, type User } from '../../access/users.js';
import { passwordProblem } from '../../access/password.js';
import { AppError, bodyOf, errors, isRedisUnavailable, str, versionOf } from '../errors.js';
import * as S from '../schemas.js';
import { keyNamespace, redisKey } from '../../util/redis-keys.js';

/** Who may call a route: declared in `config.access` of every route. */
export type RouteAccess = 'public' | { readonly roles: readonly Role[] } | { readonly permission: Permission };

/** Any logged-in user, whatever their role. */
export const ANY_USER: RouteAccess = { roles: ROLES };

/** A route as registered, with its declared access (for the route audit test and docs). */
export interface AccessRoute {
  method: string;
  url: string;
  access: RouteAccess;
}

/** The user behind a request (`request.user`). */
export interface SessionUser {
  username: string;
  displayName: string;
  roles: Role[];
  agentId?: string;
  unitId?: string;
}

/** How the request was authenticated (`request.accessSession`). */
export interface AccessSession {
  /** Session id: survives cookie renewals; logout revokes it. */
  sid: string;
  via: 'bearer' | 'cookie';
  csrf: string;
  /** Token expiry, seconds since epoch. */
  exp: number;
  /** Session start (login), seconds since epoch. */
  sat: number;
}

interface TokenPayload {
  sub: string;
  epoch: number;
  sid: string;
  csrf: string;
  sat: number;
  exp?: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyInstance {
    /** Every route registered after the access plugin, with its declared access (HEAD omitted). */
    accessRoutes(): AccessRoute[];
    /** The audit log: `app.audit.record({ actor, action, target, detail, ip })`. */
    audit: AuditLog;
    /** The user store (admin tooling, tests). */
    userStore: UserStore;
  }
  interface FastifyRequest {
    accessSession: AccessSession | null;
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: TokenPayload;
    user: SessionUser;
  }
}

/** Session cookie name over plain HTTP (tests, local demo). */
export const SESSION_COOKIE = 'hotline_session';
/** Over HTTPS the `__Host-` prefix pins the cookie to this host, path `/`, Secure. */
export const SECURE_SESSION_COOKIE = '__Host-hotline_session';

export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

export interface AccessOptions {
  redis: Redis;
  /** Prefix of every Redis key this plugin writes. */
  keyPrefix: string;
  /** Secret signing the tokens (≥ 32 characters, the same on every instance). */
  jwtSecret: string;
  /** Lifetime of an access token (and of a cookie between renewals); default 900 s. */
  tokenTtlSec?: number;
  /** A cookie session ends this long after login however active (default 12 h, one shift and a half). */
  sessionMaxSec?: number;
  /** Secure cookies (behind HTTPS). */
  cookieSecure: boolean;
  /** Failed logins per username within the window before further attempts are refused; default 5. */
  loginMaxFailures?: number;
  /** Window of failed logins, and the lock-out that follows, in seconds; default 900. */
  loginWindowSec?: number;
  /** Failed logins per address (a call center shares one NAT address); default 10 × loginMaxFailures. */
  loginMaxFailuresPerIp?: number;
  /** API requests per minute per token (per address when anonymous); default 600. */
  apiRatePerMinute?: number;
  /** Full-number reveals per hour per user; default 60. */
  revealsPerHour?: number;
  /** Audit retention (entries and/or days); used when `audit` is not given. */
  auditRetention?: AuditRetention;
  /** The full number of a call or ticket, for audited reveals (a port: the plugin knows no tickets). */
  lookupNumber: (kind: 'call' | 'ticket', id: string) => Promise<string | undefined> | string | undefined;
  /** Share instances with the rest of the app; built from redis + keyPrefix when absent. */
  users?: UserStore;
  audit?: AuditLog;
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

/** Does a user with these roles pass this (non-public) access rule? */
export function accessAllows(access: RouteAccess, roles: readonly Role[] | undefined): boolean {
  if (access === 'public') return true;
  if (!roles || roles.length === 0) return false;
  if ('roles' in access) return roles.some((r) => access.roles.includes(r));
  return hasPermission(roles, access.permission);
}

/** The roles a rule lets in (all roles for 'public'). */
export function rolesAllowed(access: RouteAccess): Role[] {
  return ROLES.filter((r) => accessAllows(access, [r]));
}

/** A reason the declared access is unusable, or undefined when it is valid. */
export function accessProblem(access: unknown): string | undefined {
  if (access === undefined || access === null) return 'declares no config.access: every route must say who may call it';
  if (access === 'public') return undefined;
  if (typeof access !== 'object') return `config.access must be 'public', { roles } or { permission } (got ${JSON.stringify(access)})`;
  const a = access as { roles?: unknown; permission?: unknown };
  if ('roles' in a && 'permission' in a) return 'config.access must have roles or permission, not both';
  if ('roles' in a) {
    if (!Array.isArray(a.roles) || a.roles.length === 0) return 'config.access.roles must be a non-empty list of roles';
    const bad = a.roles.filter((r) => !isRole(r));
    if (bad.length > 0) return `config.access.roles has unknown roles: ${bad.join(', ')}`;
    return undefined;
  }
  if ('permission' in a) return isPermission(a.permission) ? undefined : `config.access.permission "${String(a.permission)}" is not a known permission`;
  return `config.access must be 'public', { roles } or { permission }`;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

// Reserve a login attempt against both counters, or say how long the lock lasts.
// Counting before the password check bounds parallel guesses to the limit.
// KEYS: user counter, address counter. ARGV: window, max per user, max per address, lock seconds.
const LOGIN_ATTEMPT = `
local window, maxU, maxI, lock = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local u = tonumber(redis.call('GET', KEYS[1]) or '0')
local i = tonumber(redis.call('GET', KEYS[2]) or '0')
if u >= maxU then return math.max(redis.call('TTL', KEYS[1]), 1) end
if i >= maxI then return math.max(redis.call('TTL', KEYS[2]), 1) end
local limits = { maxU, maxI }
for k = 1, 2 do
  local n = redis.call('INCR', KEYS[k])
  if n == 1 then redis.call('EXPIRE', KEYS[k], window) end
  if n >= limits[k] then redis.call('EXPIRE', KEYS[k], lock) end
end
return 0`;

// A successful login gives its reserved attempt back (never creating a key without a TTL).
const LOGIN_SUCCEEDED = `
redis.call('DEL', KEYS[1])
local i = tonumber(redis.call('GET', KEYS[2]) or '0')
if i > 0 then redis.call('DECR', KEYS[2]) end
return 1`;

const plugin: FastifyPluginAsync<AccessOptions> = async (app: FastifyInstance, o: AccessOptions) => {
  if (typeof o.jwtSecret !== 'string' || o.jwtSecret.length < 32) throw new Error('access plugin: jwtSecret must have at least 32 characters');
  const tokenTtlSec = o.tokenTtlSec ?? 900;
  const sessionMaxSec = Math.max(o.sessionMaxSec ?? 12 * 3600, tokenTtlSec);
  const maxFailures = o.loginMaxFailures ?? 5;
  const windowSec = o.loginWindowSec ?? 900;
  const maxFailuresPerIp = o.loginMaxFailuresPerIp ?? maxFailures * 10;
  const users = o.users ?? new UserStore(o.redis, o.keyPrefix);
  const audit = o.audit ?? new AuditLog(o.redis, o.keyPrefix, o.auditRetention);
  const cookieName = sessionCookieName(o.cookieSecure);
  const cookieOpts = { httpOnly: true, sameSite: 'strict' as const, secure: o.cookieSecure, path: '/' };

  // ---- the route convention ---------------------------------------------------------------

  const routes: AccessRoute[] = [];
  app.decorate('accessRoutes', () => routes.map((r) => ({ ...r })));
  app.decorate('audit', audit);
  app.decorate('userStore', users);
  app.decorateRequest('accessSession', null);

  app.addHook('onRoute', (r) => {
    const access = (r.config as { access?: unknown } | undefined)?.access;
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    const problem = accessProblem(access);
    if (problem) throw new Error(`route ${methods.join(',')} ${r.url} ${problem}`);
    for (const m of methods) {
      if (m !== 'HEAD') routes.push({ method: m, url: r.url, access: access as RouteAccess });
    }
  });

  await app.register(cookie);
  await app.register(jwt, { secret: o.jwtSecret, sign: { algorithm: 'HS256' }, verify: { algorithms: ['HS256'] } });

  const signSession = (user: User, s: { sid: string; csrf: string; sat: number }): string =>
    app.jwt.sign({ sub: user.username, epoch: user.epoch, sid: s.sid, csrf: s.csrf, sat: s.sat }, { expiresIn: tokenTtlSec });

  // Per user, whatever session or device the requests come from (per address when anonymous): a user cannot
  // multiply the limit by logging in again. Public routes (login has its own limits, health checks) are not counted.
  // The access check (an app-level onRequest hook) runs before this route-level one, so the user is known.
  await app.register(rateLimit, {
    global: true,
    max: o.apiRatePerMinute ?? 600,
    timeWindow: 60_000,
    redis: o.redis,
    nameSpace: keyNamespace(o.keyPrefix, 'ratelimit'),
    skipOnError: true,
    keyGenerator: (req) => (req.accessSession ? `u:${req.user.username}` : `ip:${req.ip}`),
    allowList: (req) => req.routeOptions.config?.access === 'public',
    errorResponseBuilder: (_req, ctx) => errors.rateLimited(Math.ceil(ctx.ttl / 1000)),
  });

  // ---- every request -------------------------------------------------------------------------

  app.addHook('onRequest', async (req, reply) => {
    const access = req.routeOptions.config?.access;
    if (access === 'public') return;
    if (access === undefined) {
      if (req.is404) return;
      // A route registered before this plugin: it never declared who may call it. Fail closed.
      req.log.error({ url: req.routeOptions.url }, 'route without config.access refused');
      throw new AppError('route-undeclared', 500, '路由未声明访问权限 / route declares no access rule');
    }

    const header = req.headers.authorization;
    let token: string | undefined;
    let via: AccessSession['via'] = 'cookie';
    if (header !== undefined) {
      const m = BEARER.exec(header);
      if (!m) throw errors.unauthenticated();
      token = m[1];
      via = 'bearer';
    } else {
      token = req.cookies[cookieName];
    }
    if (!token) throw errors.unauthenticated();

    let p: TokenPayload;
    try {
      p = app.jwt.verify<TokenPayload>(token);
    } catch {
      throw errors.unauthenticated();
    }
    if (typeof p.sub !== 'string' || typeof p.epoch !== 'number' || typeof p.sid !== 'string' || typeof p.csrf !== 'string') {
      throw errors.unauthenticated();
    }

    let user: User | undefined;
    try {
      user = await users.sessionValid(p.sub, p.epoch, p.sid);
    } catch (err) {
      req.log.warn({ err: (err as Error).message }, 'session check failed');
      throw isRedisUnavailable(err) ? errors.redisUnavailable() : errors.unavailable('会话服务 / session store');
    }
    if (!user) throw new AppError('unauthenticated', 401, '会话已失效，请重新登录 / session ended, please log in again');

    const session: AccessSession = { sid: p.sid, via, csrf: p.csrf, exp: p.exp ?? 0, sat: p.sat ?? 0 };
    req.accessSession = session;
    req.user = toSessionUser(user);

    // A cross-site page cannot read the token, so it cannot send it back: writes over a cookie must echo it.
    if (via === 'cookie' && UNSAFE.has(req.method)) {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !sameToken(sent, p.csrf)) throw errors.csrf();
    }

    if (!accessAllows(access, user.roles)) throw errors.forbidden();

    if (via === 'cookie') renewCookie(reply, user, session);
  });

  function renewCookie(reply: FastifyReply, user: User, s: AccessSession): void {
    const now = Math.floor(Date.now() / 1000);
    if (s.exp - now > tokenTtlSec / 2) return;
    if (now - s.sat + tokenTtlSec > sessionMaxSec) return;
    const token = signSession(user, s);
    void reply.setCookie(cookieName, token, { ...cookieOpts, maxAge: tokenTtlSec });
  }

  // ---- auth ---------------------------------------------------------------------------------

  const failKey = (kind: 'user' | 'ip', id: string) => redisKey(o.keyPrefix, 'login-fail', kind, id);

  async function issueSession(reply: FastifyReply, user: User, keep?: { sid: string; csrf: string; sat: number }) {
    const s = keep ?? { sid: randomUUID(), csrf: randomBytes(24).toString('base64url'), sat: Math.floor(Date.now() / 1000) };
    const token = signSession(user, s);
    void reply.setCookie(cookieName, token, { ...cookieOpts, maxAge: tokenTtlSec });
    void reply.header('cache-control', 'no-store');
    return { token, tokenType: 'Bearer', csrfToken: s.csrf, expiresInSec: tokenTtlSec, user: { ...toSessionUser(user), permissions: permissionsOf(user) } };
  }

  const passwordField = (what: string) => S.string(what, 200);
  app.post(
    '/api/auth/login',
    {
      config: { access: 'public' },
      schema: S.route('auth', '登录：返回令牌并设置会话 Cookie / log in: a token, and the session cookie', {
        body: S.body({ username: S.string('用户名 / username', 64), password: passwordField('密码 / password') }, ['username', 'password']),
      }),
    },
    async (req, reply) => {
      const b = bodyOf(req);
      const username = normalizeUsername(str(b, 'username', { required: true, max: 64 })!);
      const password = str(b, 'password', { required: true, max: 200 })!;
      const keys = [failKey('user', username), failKey('ip', req.ip)];
      const locked = Number(await o.redis.eval(LOGIN_ATTEMPT, 2, ...keys, windowSec, maxFailures, maxFailuresPerIp, windowSec));
      if (locked > 0) {
        await audit.record({ actor: username, action: 'login-failed', detail: 'locked / 已锁定', ip: req.ip });
        throw errors.tooMany(locked);
      }
      const user = await users.authenticate(username, password);
      if (!user) {
        await audit.record({ actor: username, action: 'login-failed', ip: req.ip });
        throw errors.badCredentials();
      }
      await o.redis.eval(LOGIN_SUCCEEDED, 2, ...keys);
      await audit.record({ actor: user.username, action: 'login', ip: req.ip });
      return issueSession(reply, user);
    },
  );

  app.post('/api/auth/logout', { config: { access: ANY_USER }, schema: S.route('auth', '退出登录，本会话失效 / log out: this session ends') }, async (req, reply) => {
    const s = req.accessSession!;
    // Revoked until no renewal of this session could still be alive.
    await users.revokeSession(s.sid, Math.max(s.exp, s.sat + sessionMaxSec) - Math.floor(Date.now() / 1000));
    void reply.clearCookie(cookieName, cookieOpts);
    await audit.record({ actor: req.user.username, action: 'logout', ip: req.ip });
    return { ok: true };
  });

  app.get('/api/auth/me', { config: { access: ANY_USER }, schema: S.route('auth', '当前用户与权限 / the user, their permissions (and the CSRF token of a cookie session)') }, async (req, reply) => {
    void reply.header('cache-control', 'no-store');
    const s = req.accessSession!;
    return {
      user: { ...req.user, permissions: permissionsOf(req.user) },
      // Pages reloaded from a cookie session get their CSRF token back here (same-origin only: SameSite + no CORS).
      ...(s.via === 'cookie' ? { csrfToken: s.csrf } : {}),
      expiresAt: s.exp * 1000,
    };
  });

  /** A fresh token for API clients (and pages) before the current one expires; within the session's maximum age. */
  app.post('/api/auth/refresh', { config: { access: ANY_USER }, schema: S.route('auth', '续期令牌（会话最长期限内） / a fresh token within the session’s maximum age') }, async (req, reply) => {
    const s = req.accessSession!;
    if (Math.floor(Date.now() / 1000) - s.sat + tokenTtlSec > sessionMaxSec) {
      throw new AppError('session-expired', 401, '会话已到期，请重新登录 / session too old, please log in again');
    }
    const user = (await users.get(req.user.username))!;
    return issueSession(reply, user, s);
  });

  app.post(
    '/api/auth/password',
    {
      config: { access: ANY_USER },
      schema: S.route('auth', '修改本人密码，其他会话失效 / change one’s password; other sessions end', {
        body: S.body({ oldPassword: passwordField('原密码 / current password'), newPassword: passwordField('新密码 / new password') }, ['oldPassword', 'newPassword']),
      }),
    },
    async (req, reply) => {
      const b = bodyOf(req);
      const oldPassword = str(b, 'oldPassword', { required: true, max: 200 })!;
      const newPassword = str(b, 'newPassword', { required: true, max: 200 })!;
      await users.changePassword(req.user.username, oldPassword, newPassword);
      await audit.record({ actor: req.user.username, action: 'password-changed', target: `user:${req.user.username}`, ip: req.ip });
      // Every older session (other browsers included) has ended; this one continues with a new token.
      const user = (await users.get(req.user.username))!;
      return issueSession(reply, user);
    },
  );

  // ---- users (admin) --------------------------------------------------------------------------

  const USERNAME_PARAM = S.params({ username: S.string('用户名 / username') });
  /** Optimistic concurrency: the user's `version` from GET /api/admin/users. */
  const USER_VERSION = S.integer('必填：读取时该用户的版本（已被他人修改则 409，不做任何修改） / required: the user’s version you read (409 version-conflict when changed meanwhile; nothing is changed)', { minimum: 0 });
  const ROLE_LIST = `角色 / roles: ${ROLES.join(', ')}`;
  app.get('/api/admin/users', { config: { access: { permission: 'users:read' } }, schema: S.route('users', '用户列表（不含密码；每人的 version 在修改时回传） / users (no password hashes; send each one’s version back with a change)') }, async () => ({ users: await users.list() }));

  app.post(
    '/api/admin/users',
    {
      config: { access: { permission: 'users:write' } },
      schema: S.route('users', '创建用户（留痕） / create a user (audited)', {
        body: S.body(
          {
            username: S.string('2-32 位小写字母、数字、_ . - / 2-32 lower-case letters, digits, _ . -'),
            displayName: S.string('显示名 / display name', 64),
            roles: S.array(S.string(), ROLE_LIST),
            password: passwordField('初始密码 / initial password'),
            agentId: S.optional(S.string('工号（座席必填） / agent id (required for agents)')),
            unitId: S.optional(S.string('承办单位（承办单位用户必填） / handling unit (required for unit users)', 64)),
          },
          ['username', 'roles', 'password'],
        ),
      }),
    },
    async (req, reply) => {
      const user = await users.create(validateNewUser(req.body));
      await audit.record({ actor: req.user.username, action: 'user-created', target: `user:${user.username}`, detail: `roles=${user.roles.join(',')}`, ip: req.ip });
      return reply.code(201).send({ user });
    },
  );

  app.patch(
    '/api/admin/users/:username',
    {
      config: { access: { permission: 'users:write' } },
      schema: S.route('users', '修改用户：角色、停用、显示名、工号、单位（留痕，会话失效） / change a user: roles, disabled, name, agent id, unit (audited; sessions end)', {
        params: USERNAME_PARAM,
        body: S.body({
          roles: S.array(S.string(), ROLE_LIST),
          disabled: S.boolean('停用 / disabled'),
          displayName: S.string('显示名 / display name', 64),
          agentId: S.optional(S.string('工号，null 或空串清除 / agent id; null or empty clears it')),
          unitId: S.optional(S.string('承办单位，null 或空串清除 / handling unit; null or empty clears it', 64)),
          version: USER_VERSION,
        }),
      }),
    },
    async (req) => {
      const { username } = req.params as { username: string };
      const b = bodyOf(req);
      const before = await users.get(username);
      if (!before) throw errors.notFound(`用户 ${username}`);
      // Every field first (a bad one is named as such), then the version the admin read.
      applyUserPatch(before, { roles: b.roles, disabled: b.disabled, displayName: b.displayName, agentId: b.agentId, unitId: b.unitId });
      const expected = versionOf(b.version);
      const { user, changed } = await users.update(username, { roles: b.roles, disabled: b.disabled, displayName: b.displayName, agentId: b.agentId, unitId: b.unitId }, Date.now(), expected);
      const base = { actor: req.user.username, target: `user:${user.username}`, ip: req.ip };
      if (changed.includes('roles')) await audit.record({ ...base, action: 'user-role-changed', detail: `roles ${before?.roles.join(',')} → ${user.roles.join(',')}` });
      if (changed.includes('disabled')) await audit.record({ ...base, action: user.disabled ? 'user-disabled' : 'user-enabled' });
      const other = changed.filter((c) => c !== 'roles' && c !== 'disabled');
      if (other.length > 0) await audit.record({ ...base, action: 'user-updated', detail: other.map((k) => `${k}=${JSON.stringify(b[k])}`).join(' ') });
      return { user, changed };
    },
  );

  app.post(
    '/api/admin/users/:username/password',
    {
      config: { access: { permission: 'users:write' } },
      schema: S.route('users', '重置用户密码（留痕） / reset a user’s password (audited)', {
        params: USERNAME_PARAM,
        body: S.body({ newPassword: passwordField('新密码 / new password'), version: USER_VERSION }, ['newPassword']),
      }),
    },
    async (req) => {
      const { username } = req.params as { username: string };
      const b = bodyOf(req);
      const newPassword = str(b, 'newPassword', { required: true, max: 200 })!;
      const problem = passwordProblem(newPassword);
      if (problem) throw errors.invalid('newPassword', problem);
      await users.resetPassword(username, newPassword, versionOf(b.version));
      await audit.record({ actor: req.user.username, action: 'password-reset', target: `user:${normalizeUsername(username)}`, ip: req.ip });
      return { ok: true };
    },
  );

  // ---- audit (auditors) ---------------------------------------------------------------------------

  app.get(
    '/api/audit',
    {
      config: { access: { permission: 'audit:read' } },
      schema: S.route('audit', '查询审计日志，新的在前，分页 / query the audit log, newest first, in pages', {
        querystring: S.query({
          from: S.string('起，毫秒时间戳 / from, epoch ms'),
          to: S.string('止，毫秒时间戳 / to, epoch ms'),
          action: S.string('操作 / action, e.g. number-revealed', 200),
          actor: S.string('操作人 / actor (username)', 200),
          target: S.string('对象 / target, e.g. ticket:063220240101000001', 200),
          before: S.string('上一页返回的 next / the next cursor of the previous page'),
          limit: S.string('每页条数 1-1000 / entries per page, 1-1000'),
        }),
      }),
    },
    async (req, reply) => {
      const q = (req.query ?? {}) as Record<string, unknown>;
      const num = (field: string): number | undefined => {
        const v = q[field];
        if (v === undefined || v === '') return undefined;
        if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) throw errors.invalid(field, '必须是毫秒时间戳 / must be epoch milliseconds');
        return Number(v);
      };
      const text = (field: string): string | undefined => {
        const v = q[field];
        if (v === undefined || v === '') return undefined;
        if (typeof v !== 'string' || v.length > 200) throw errors.invalid(field, '最长 200 字符 / at most 200 characters');
        return v;
      };
      if (q.before !== undefined && !isAuditCursor(q.before)) throw errors.invalid('before', '须为上一页返回的 next / must be the next cursor of a previous page');
      const limit = num('limit');
      if (limit !== undefined && (limit < 1 || limit > 1000)) throw errors.invalid('limit', '1-1000');
      const query = {
        ...(num('from') !== undefined ? { from: num('from')! } : {}),
        ...(num('to') !== undefined ? { to: num('to')! } : {}),
        ...(text('action') ? { action: text('action')! } : {}),
        ...(text('actor') ? { actor: normalizeUsername(text('actor')!) } : {}),
        ...(text('target') ? { target: text('target')! } : {}),
        ...(typeof q.before === 'string' ? { before: q.before } : {}),
        ...(limit !== undefined ? { limit } : {}),
      };
      void reply.header('cache-control', 'no-store');
      return audit.page(query);
    },
  );

  // ---- full-number reveal (audited) ------------------------------------------------------------------

  app.post(
    '/api/numbers/reveal',
    {
      schema: S.route('numbers', '查看完整号码，须说明原因，先留痕后返回 / reveal a full number with a reason; audited before it is returned', {
        body: S.body(
          {
            ticketId: S.optional(S.string('工单号（与 callId 二选一） / ticket number (or callId)', 40)),
            ticketNo: S.optional(S.string('同 ticketId / same as ticketId', 40)),
            callId: S.optional(S.string('通话编号 / call id', 120)),
            reason: S.string('原因，至少 4 个字 / reason, at least 4 characters', 200),
          },
          ['reason'],
        ),
      }),
      config: {
        access: { permission: 'number:full' },
        rateLimit: {
          max: o.revealsPerHour ?? 60,
          timeWindow: 3_600_000,
          keyGenerator: (req: FastifyRequest) => `reveal:${req.user?.username ?? req.ip}`,
        },
      },
    },
    async (req, reply) => {
      const b = bodyOf(req);
      const ticketId = str(b, 'ticketId', { max: 40, pattern: /^\d{8,30}$/, what: 'a ticket number (digits)' }) ?? str(b, 'ticketNo', { max: 40, pattern: /^\d{8,30}$/, what: 'a ticket number (digits)' });
      const callId = str(b, 'callId', { max: 120, pattern: /^[A-Za-z0-9._-]+$/, what: 'a call id' });
      if (!ticketId && !callId) throw errors.invalid('ticketId', '须提供工单号 ticketId 或通话 callId / ticketId or callId is required');
      if (ticketId && callId) throw errors.invalid('callId', '工单号与通话只能给一个 / give ticketId or callId, not both');
      const reason = str(b, 'reason', { required: true, max: 200 })?.trim() ?? '';
      if (Array.from(reason).length < 4) throw errors.invalid('reason', '请说明查看原因（至少 4 个字） / give a reason of at least 4 characters');
      const kind = ticketId ? 'ticket' : 'call';
      const id = (ticketId ?? callId)!;
      const number = await o.lookupNumber(kind, id);
      if (!number) throw errors.notFound(kind === 'ticket' ? `工单 ${id}` : `通话 ${id}`);
      // The entry is written before the number leaves: no audit, no number.
      await audit.record({ actor: req.user.username, action: 'number-revealed', target: `${kind}:${id}`, detail: reason, ip: req.ip });
      void reply.header('cache-control', 'no-store');
      return { number, kind, id };
    },
  );
};

// Applies to the whole app, not only the plugin's own context (what fastify-plugin does).
const p = plugin as unknown as Record<symbol, unknown>;
p[Symbol.for('skip-override')] = true;
p[Symbol.for('fastify.display-name')] = 'hotline-access';

export const accessPlugin = plugin;
export { isRole };
