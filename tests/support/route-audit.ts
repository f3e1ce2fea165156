/**
 * The route audit: proves every non-public route of an app refuses anonymous
 * callers (401), callers with a forged token (401) and callers of every role
 * its rule does not allow (403). Routes come from `app.accessRoutes()` (the
 * access plugin records each route with its declared `config.access`), so a
 * route added tomorrow is checked tomorrow without touching this file.
 *
 * Users of every role are created in the app's user store and logged in
 * through the real `POST /api/auth/login`.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { expect } from 'vitest';
import { ROLES, type Role } from '../../src/access/roles.js';
import type { UserStore } from '../../src/access/users.js';
import { rolesAllowed, type AccessRoute } from '../../src/http/plugins/access.js';

export const TEST_PASSWORD = 'correct-horse-42';

export interface Session {
  token: string;
  csrf: string;
  /** `name=value` of the session cookie, ready for a `cookie` header. */
  cookie: string;
}

export async function loginAs(http: FastifyInstance, username: string, password = TEST_PASSWORD): Promise<Session> {
  const r = await http.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
  expect(r.statusCode, r.body).toBe(200);
  const setCookie = r.headers['set-cookie'];
  const cookie = String(Array.isArray(setCookie) ? setCookie[0] : setCookie).split(';')[0]!;
  return { token: r.json().token, csrf: r.json().csrfToken, cookie };
}

/** One user per role (`<tag>-<role>`), with an agent id / unit id where the role needs one. */
export async function usersForEveryRole(users: UserStore, tag: string): Promise<Record<Role, string>> {
  const out = {} as Record<Role, string>;
  for (const role of ROLES) {
    const username = `${tag}-${role}`.toLowerCase();
    await users.create({
      username,
      roles: [role],
      password: TEST_PASSWORD,
      ...(role === 'agent' ? { agentId: `${tag}A` } : {}),
      ...(role === 'unit' ? { unitId: `${tag}-unit` } : {}),
    });
    out[role] = username;
  }
  return out;
}

/** What to send to a route: a concrete url for its parameters, a body, extra headers. */
export type GuardRequest = Pick<InjectOptions, 'url' | 'payload' | 'headers' | 'query'>;

/**
 * Builds the request for one route (return undefined for the default: `:param`
 * replaced by `x1`, `*` by `x`, `{}` as the body of writes). Only the shape
 * matters: the refusal must come before any parameter or body is looked at.
 */
export type BuildRequest = (route: AccessRoute) => GuardRequest | undefined;

export function defaultRequest(route: AccessRoute): GuardRequest {
  const url = route.url.replace(/:([A-Za-z0-9_]+)(\([^)]*\))?/g, 'x1').replace(/\*/g, 'x');
  const write = !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(route.method);
  return { url, ...(write ? { payload: {} } : {}) };
}

export interface GuardReport {
  /** Non-public routes checked. */
  checked: number;
  /** Public routes (listed so a test can pin them). */
  publicRoutes: string[];
}

/**
 * For every non-public route of `app`: anonymous → 401, forged token → 401,
 * each role the rule does not allow → 403. Fails (vitest `expect`) naming the
 * route and the role. Returns the number of routes checked.
 *
 * @param buildRequest how to call a route (see {@link BuildRequest}); a
 *   `UserStore` is also accepted here (older signature `(app, users, tag)`).
 */
export async function assertEveryRouteGuarded(app: FastifyInstance, buildRequest?: BuildRequest | UserStore, tag?: string): Promise<number> {
  return (await auditRoutes(app, buildRequest, tag)).checked;
}

export async function auditRoutes(app: FastifyInstance, buildRequest?: BuildRequest | UserStore, tag?: string): Promise<GuardReport> {
  const legacyUsers = buildRequest && typeof buildRequest === 'object' ? buildRequest : undefined;
  const build = typeof buildRequest === 'function' ? buildRequest : undefined;
  const users = legacyUsers ?? app.userStore;
  expect(users, 'the access plugin is registered (app.userStore)').toBeDefined();
  const names = await usersForEveryRole(users, tag ?? `ra${randomBytes(3).toString('hex')}`);
  const tokens = {} as Record<Role, string>;
  for (const role of ROLES) tokens[role] = (await loginAs(app, names[role])).token;
  const forged = forgedToken();

  let checked = 0;
  const publicRoutes: string[] = [];
  for (const route of app.accessRoutes()) {
    const label = `${route.method} ${route.url}`;
    if (route.access === 'public') {
      publicRoutes.push(label);
      continue;
    }
    const req = { ...defaultRequest(route), ...(build?.(route) ?? {}) };
    const send = (headers: Record<string, string>) =>
      app.inject({
        method: route.method as InjectOptions['method'],
        ...req,
        headers: { ...(req.headers as Record<string, string> | undefined), ...headers },
      });

    const anon = await send({});
    expect(anon.statusCode, `${label} anonymous: ${anon.body}`).toBe(401);
    expect(anon.json().error?.code, `${label} anonymous error shape`).toBeTypeOf('string');
    const fake = await send({ authorization: `Bearer ${forged}` });
    expect(fake.statusCode, `${label} forged token`).toBe(401);

    const allowed = rolesAllowed(route.access);
    for (const role of ROLES.filter((r) => !allowed.includes(r))) {
      const res = await send({ authorization: `Bearer ${tokens[role]}` });
      expect(res.statusCode, `${label} as ${role}: ${res.body}`).toBe(403);
      expect(res.json().error?.code, `${label} as ${role}`).toBe('forbidden');
    }
    checked++;
  }
  return { checked, publicRoutes };
}

/** A well-formed JWT signed with some other secret. */
function forgedToken(): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'admin', epoch: 1, sid: 'x', csrf: 'x', sat: now, exp: now + 600 })}.${randomBytes(32).toString('base64url')}`;
}
