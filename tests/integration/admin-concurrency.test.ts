/**
 * Optimistic concurrency on admin writes (issue 20, red-team finding): a
 * stale edit of the dispatch rules is refused with 409 naming `version` and
 * changes nothing — also when the newer edit came through another server
 * instance sharing the Redis.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { useHarness } from '../support/harness.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';

const h = useHarness();

async function adminApi(app: App, username: string) {
  await app.users.create({ username, roles: ['admin'], password: TEST_PASSWORD }).catch(() => undefined);
  const { token } = await loginAs(app.http, username);
  return (method: 'GET' | 'PUT', url: string, payload?: object) =>
    app.http.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
}

const rule = (id: string, word: string) => ({ id, unit: '市住建局', keywords: [word] });

describe('dispatch rules: optimistic concurrency', () => {
  it('GIVEN two admins editing the same version WHEN the second saves THEN 409 names version and the first edit stays', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const a = await adminApi(app, 'rules-a');
    const b = await adminApi(app, 'rules-b');
    const v = (await a('GET', '/api/admin/dispatch-rules')).json().rules.version as number;
    const first = await a('PUT', '/api/admin/dispatch-rules', { version: v, rules: [rule('noise', '噪音')] });
    expect(first.statusCode).toBe(200);
    expect(first.json().rules.version).toBe(v + 1);
    const stale = await b('PUT', '/api/admin/dispatch-rules', { version: v, rules: [rule('smell', '异味')] });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error).toMatchObject({ code: 'version-conflict', field: 'version' });
    const now = (await a('GET', '/api/admin/dispatch-rules')).json().rules;
    expect(now.version).toBe(v + 1);
    expect(now.rules.map((r: { id: string }) => r.id)).toEqual(['noise']);
    const audited = await app.audit.query({ action: 'dispatch-rules-changed' });
    expect(audited).toHaveLength(1);
  });

  it('GIVEN two server instances on one Redis WHEN one saves and the other saves from the version it held THEN the other is refused', async () => {
    const one = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const two = await h.startApp({ HOTLINE_CITY: 'zaozhuang', HOTLINE_KEY_PREFIX: one.config.keyPrefix });
    const a = await adminApi(one, 'rules-c');
    const b = await adminApi(two, 'rules-c');
    const v = (await b('GET', '/api/admin/dispatch-rules')).json().rules.version as number;
    expect((await a('PUT', '/api/admin/dispatch-rules', { version: v, rules: [rule('noise', '噪音')] })).statusCode).toBe(200);
    // Instance two still holds version v in memory: without a version it would have written over the newer set.
    const stale = await b('PUT', '/api/admin/dispatch-rules', { rules: [rule('smell', '异味')] });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.field).toBe('version');
    expect((await b('GET', '/api/admin/dispatch-rules')).json().rules.rules.map((r: { id: string }) => r.id)).toEqual(['noise']);
  });
});
