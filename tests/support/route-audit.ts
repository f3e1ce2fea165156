/**
 * Proves every non-public route of an app refuses anonymous callers (401) and
 * callers of a role it does not allow (403). Users of every role are created
 * and logged in through the real login route.
 */
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { PERMISSIONS, ROLES, type Role } from '../../src/access/roles.js';
import type { UserStore } from '../../src/access/users.js';
import type { RouteAccess } from '../../src/http/plugins/access.js';

export const TEST_PASSWORD = 'correct-horse-42';

export async function loginAs(http: FastifyInstance, username: string, password = TEST_PASSWORD): Promise<{ token: string; csrf: string; cookie: string }> {
  const r = await http.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
  expect(r.statusCode, r.body).toBe(200);
  const cookie = String(r.headers['set-cookie']).split(';')[0]!;
  return { token: r.json().token, csrf: r.json().csrfToken, cookie };
}

/** One user per role (`role-<name>`), with an agent id / unit id where the role needs one. */
export async function usersForEveryRole(users: UserStore, tag: string): Promise<Record<Role, string>> {
  const out = {} as Record<Role, string>;
  for (const role of ROLES) {
    const username = `${tag}-${role}`;
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

function allowedRoles(access: Exclude<RouteAccess, 'public'>): Role[] {
  return 'roles' in access ? [...access.roles] : [...(PERMISSIONS[access.permission] as readonly Role[])];
}

export async function assertEveryRouteGuarded(http: FastifyInstance, users: UserStore, tag: string): Promise<number> {
  const names = await usersForEveryRole(users, tag);
  const tokens = {} as Record<Role, string>;
  for (const role of ROLES) tokens[role] = (await loginAs(http, names[role])).token;
  let checked = 0;
  for (const route of http.accessRoutes()) {
    if (route.access === 'public') continue;
    const url = route.url.replace(/:([A-Za-z]+)/g, '$1-x').replace(/\*/g, 'x');
    const method = route.method as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    const anon = await http.inject({ method, url, payload: method === 'GET' || method === 'DELETE' ? undefined : {} });
    expect(anon.statusCode, `${method} ${route.url} anonymous`).toBe(401);
    const allowed = allowedRoles(route.access);
    const wrong = ROLES.find((r) => !allowed.includes(r));
    if (wrong) {
      const res = await http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${tokens[wrong]}` },
        payload: method === 'GET' || method === 'DELETE' ? undefined : {},
      });
      expect(res.statusCode, `${method} ${route.url} as ${wrong}`).toBe(403);
    }
    checked++;
  }
  return checked;
}
