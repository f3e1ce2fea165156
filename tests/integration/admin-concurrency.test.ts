/**
 * Optimistic concurrency on admin writes (issue 20, red-team finding): every
 * admin write names the version it read (GET returns it); a stale one is
 * refused with 409 `version-conflict` naming the field and changes nothing —
 * also when the newer edit came through another server instance sharing the
 * Redis, and when two instances write at the same moment (one wins).
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { useHarness } from '../support/harness.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';

const h = useHarness();

async function adminApi(app: App, username: string) {
  await app.users.create({ username, roles: ['admin'], password: TEST_PASSWORD }).catch(() => undefined);
  const { token } = await loginAs(app.http, username);
  return (method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
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

type Api = Awaited<ReturnType<typeof adminApi>>;

/** A 409 version-conflict naming `field`, worded zh-CN / English, with the current version in details. */
function expectStale(r: { statusCode: number; body: string; json(): { error: { code: string; field?: string; message: string; details?: { current: number } } } }, field = 'version') {
  expect(r.statusCode, r.body).toBe(409);
  const e = r.json().error;
  expect(e).toMatchObject({ code: 'version-conflict', field });
  expect(e.message).toMatch(new RegExp(`^${field}: .*[\u4e00-\u9fff].* / `));
  expect(typeof e.details?.current).toBe('number');
}

const draftOf = async (api: Api) => (await api('GET', '/api/admin/routing/draft')).json() as { version: number; draft: { table: { routes: { id: string; name: string }[] } } | null };
const renamed = (table: unknown, name: string) => {
  const t = structuredClone(table) as { routes: { name: string }[] };
  t.routes[0]!.name = name;
  return t;
};

describe('routing draft: optimistic concurrency', () => {
  it('GIVEN two admins editing the same draft version WHEN the second saves, schedules or publishes from it THEN 409 names the version field and the first save stands, nothing scheduled or published', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const a = await adminApi(app, 'draft-a');
    const b = await adminApi(app, 'draft-b');
    const published = (await a('GET', '/api/admin/routing')).json();
    // GIVEN no draft yet: both read version 0.
    const read = await draftOf(b);
    expect(read).toMatchObject({ version: 0, draft: null });
    const first = await a('PUT', '/api/admin/routing/draft', { version: 0, table: renamed(published.table, '甲的修改') });
    expect(first.statusCode, first.body).toBe(200);
    const v1 = first.json().version as number;
    expect(v1).toBeGreaterThan(0);
    expect(first.json().draft.version).toBe(v1);

    // WHEN admin B saves from the version it read THEN refused, A's draft unchanged.
    expectStale(await b('PUT', '/api/admin/routing/draft', { version: read.version, table: renamed(published.table, '乙的修改') }));
    // A missing version is a 400 naming it (a write must say what it was based on).
    const missing = await b('PUT', '/api/admin/routing/draft', { table: renamed(published.table, '乙的修改') });
    expect([missing.statusCode, missing.json().error.field]).toEqual([400, 'version']);
    const now = await draftOf(a);
    expect(now.version).toBe(v1);
    expect(now.draft!.table.routes[0]!.name).toBe('甲的修改');
    expect((await app.parts.routing.auditLog()).filter((e) => e.action === 'draft-save')).toHaveLength(1);

    // A second save by A (from v1) works and moves the version; B, still on v1 after reloading late, is refused.
    const second = await a('PUT', '/api/admin/routing/draft', { version: v1, table: renamed(published.table, '甲的第二次修改') });
    expect(second.statusCode).toBe(200);
    const v2 = second.json().version as number;
    expect(v2).toBeGreaterThan(v1);
    expectStale(await b('POST', '/api/admin/routing/schedule', { version: v1, at: new Date(Date.now() + 86_400_000).toISOString() }));
    expect((await b('GET', '/api/admin/routing/schedule')).json().scheduled).toBeNull();
    expectStale(await b('POST', '/api/admin/routing/publish', { draftVersion: v1, comment: 'stale' }), 'draftVersion');
    expect((await b('GET', '/api/admin/routing')).json().version).toBe(published.version);

    // Publishing the revision read works; the draft is gone, and a save from its old version is refused.
    const pub = await a('POST', '/api/admin/routing/publish', { draftVersion: v2, expectedVersion: published.version, comment: 'ok' });
    expect(pub.statusCode, pub.body).toBe(200);
    expect((await draftOf(a)).version).toBe(0);
    expectStale(await b('PUT', '/api/admin/routing/draft', { version: v2, table: renamed(published.table, '乙的修改') }));
    expect((await draftOf(a)).draft).toBeNull();
    // A rollback from a stale published version is refused too.
    expectStale(await b('POST', '/api/admin/routing/rollback', { version: published.version, expectedVersion: published.version }), 'expectedVersion');
    expect((await a('GET', '/api/admin/routing')).json().version).toBe(pub.json().version);
  });
});

describe('seats: optimistic concurrency', () => {
  const agent = (name: string) => ({ name, extension: '8801', skills: { general: 3 }, groups: ['general'] });

  it('GIVEN two admins on the same seats version WHEN the second creates, changes or removes from it THEN 409 names version and nothing changed', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const a = await adminApi(app, 'seats-a');
    const b = await adminApi(app, 'seats-b');
    const v0 = (await a('GET', '/api/admin/seats')).json().version as number;
    expect((await a('PUT', '/api/admin/seats/groups/general', { version: v0, name: '话务受理座席', kind: 'general' })).json()).toEqual({ ok: true, version: v0 + 1 });
    const created = await a('PUT', '/api/admin/seats/agents/S1', { version: v0 + 1, ...agent('座席甲') });
    expect(created.statusCode, created.body).toBe(200);
    const v2 = created.json().version as number;
    expect(v2).toBe(v0 + 2);

    // WHEN admin B, who read v0, writes THEN refused each time and the seats stay as A left them.
    expectStale(await b('PUT', '/api/admin/seats/agents/S1', { version: v0, ...agent('座席乙') }));
    expectStale(await b('PUT', '/api/admin/seats/agents/S2', { version: v0, ...agent('座席乙'), extension: '8802' }));
    expectStale(await b('PUT', '/api/admin/seats/groups/general', { version: v0, name: '改名', kind: 'general' }));
    expectStale(await b('DELETE', `/api/admin/seats/agents/S1?version=${v0}`));
    const missing = await b('DELETE', '/api/admin/seats/agents/S1');
    expect([missing.statusCode, missing.json().error.field]).toEqual([400, 'version']);
    const now = (await a('GET', '/api/admin/seats')).json();
    expect(now.version).toBe(v2);
    expect(now.agents.filter((x: { id: string }) => x.id.startsWith('S'))).toEqual([expect.objectContaining({ id: 'S1', name: '座席甲', extension: '8801' })]);
    expect(now.groups.find((g: { id: string }) => g.id === 'general').name).toBe('话务受理座席');
    expect(await app.audit.query({ action: 'seats-changed' })).toHaveLength(2);

    // From the current version the removal goes through.
    expect((await b('DELETE', `/api/admin/seats/agents/S1?version=${v2}`)).json()).toEqual({ ok: true, version: v2 + 1 });
    expect((await app.acd.listAgents()).some((x) => x.id === 'S1')).toBe(false);
  });
});

describe('users: optimistic concurrency', () => {
  it('GIVEN two admins reading the same user WHEN one disables them and the other then changes roles or resets the password from the old version THEN 409 names version and nothing changed', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const a = await adminApi(app, 'users-a');
    const b = await adminApi(app, 'users-b');
    await app.users.create({ username: 'clerk', roles: ['supervisor'], password: TEST_PASSWORD });
    const listed = (await b('GET', '/api/admin/users')).json().users.find((u: { username: string }) => u.username === 'clerk');
    expect(listed.version).toBe(1);

    const disabled = await a('PATCH', '/api/admin/users/clerk', { version: listed.version, disabled: true });
    expect(disabled.statusCode, disabled.body).toBe(200);
    expect(disabled.json().user).toMatchObject({ disabled: true, version: 2 });

    expectStale(await b('PATCH', '/api/admin/users/clerk', { version: listed.version, roles: ['admin'], disabled: false }));
    expectStale(await b('POST', '/api/admin/users/clerk/password', { version: listed.version, newPassword: 'taken-over-by-b-1' }));
    const missing = await b('PATCH', '/api/admin/users/clerk', { roles: ['admin'] });
    expect([missing.statusCode, missing.json().error.field]).toEqual([400, 'version']);
    expect(await app.users.get('clerk')).toMatchObject({ roles: ['supervisor'], disabled: true, version: 2 });
    expect(await app.users.authenticate('clerk', 'taken-over-by-b-1')).toBeUndefined();
    expect((await app.audit.query({ target: 'user:clerk' })).map((e) => e.action)).toEqual(['user-disabled']);

    // From the version now current the reset is accepted (and moves the version again).
    const reset = await b('POST', '/api/admin/users/clerk/password', { version: 2, newPassword: 'reset-by-b-0001' });
    expect(reset.statusCode, reset.body).toBe(200);
    expect((await app.users.get('clerk'))!.version).toBe(3);
  });
});

describe('caller block list: optimistic concurrency', () => {
  it('GIVEN two supervisors on the same list version WHEN the second blocks or unblocks from it THEN 409 names version and the list is as the first left it', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const a = await adminApi(app, 'block-a');
    const b = await adminApi(app, 'block-b');
    const v0 = (await b('GET', '/api/admin/blocklist')).json().version as number;
    const first = await a('POST', '/api/admin/blocklist', { version: v0, number: '13955557001', reason: '多次恶意骚扰座席' });
    expect(first.statusCode, first.body).toBe(201);
    const v1 = first.json().version as number;
    expect(v1).toBe(v0 + 1);

    expectStale(await b('POST', '/api/admin/blocklist', { version: v0, number: '13955557002', reason: '多次恶意骚扰座席' }));
    expectStale(await b('DELETE', `/api/admin/blocklist/${first.json().entry.id}?version=${v0}`));
    const missing = await b('POST', '/api/admin/blocklist', { number: '13955557002', reason: '多次恶意骚扰座席' });
    expect([missing.statusCode, missing.json().error.field]).toEqual([400, 'version']);
    const now = (await a('GET', '/api/admin/blocklist')).json();
    expect(now.version).toBe(v1);
    expect(now.blocked.map((e: { masked: string }) => e.masked)).toEqual(['139****7001']);
    expect(await app.audit.query({ action: 'caller-unblocked' })).toHaveLength(0);
    expect(await app.audit.query({ action: 'caller-blocked' })).toHaveLength(1);
  });
});

describe('working-day calendar: optimistic concurrency', () => {
  it('GIVEN two admins on calendar version 0 WHEN the second adds a day from it THEN 409 names version', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const a = await adminApi(app, 'cal-a');
    const b = await adminApi(app, 'cal-b');
    const v0 = (await b('GET', '/api/admin/calendar')).json().version as number;
    expect((await a('POST', '/api/admin/calendar/days', { version: v0, date: '2027-02-11', kind: 'holiday' })).statusCode).toBe(201);
    expectStale(await b('POST', '/api/admin/calendar/days', { version: v0, date: '2027-02-12', kind: 'holiday' }));
    expect((await a('GET', '/api/admin/calendar')).json().days.map((d: { date: string }) => d.date)).toEqual(['2027-02-11']);
  });
});

describe('two instances writing at the same moment', () => {
  it('GIVEN two server instances on one Redis and one version read WHEN each writes at once THEN exactly one write wins, the other is a 409, for every versioned admin resource', async () => {
    const one = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const two = await h.startApp({ HOTLINE_CITY: 'zaozhuang', HOTLINE_KEY_PREFIX: one.config.keyPrefix });
    const a = await adminApi(one, 'race-a');
    const b = await adminApi(two, 'race-b');
    await one.users.create({ username: 'raced', roles: ['supervisor'], password: TEST_PASSWORD });
    const table = (await a('GET', '/api/admin/routing')).json().table;
    const [draftV, seatsV, listV] = [(await draftOf(b)).version, (await b('GET', '/api/admin/seats')).json().version, (await b('GET', '/api/admin/blocklist')).json().version];
    const userV = (await one.users.get('raced'))!.version;
    const races: Array<[string, () => Promise<{ statusCode: number; body: string }>, () => Promise<{ statusCode: number; body: string }>]> = [
      ['draft', () => a('PUT', '/api/admin/routing/draft', { version: draftV, table: renamed(table, '甲') }), () => b('PUT', '/api/admin/routing/draft', { version: draftV, table: renamed(table, '乙') })],
      ['seats', () => a('PUT', '/api/admin/seats/groups/race-x', { version: seatsV, name: '甲组', kind: 'general' }), () => b('PUT', '/api/admin/seats/groups/race-y', { version: seatsV, name: '乙组', kind: 'general' })],
      ['user', () => a('PATCH', '/api/admin/users/raced', { version: userV, displayName: '甲' }), () => b('PATCH', '/api/admin/users/raced', { version: userV, displayName: '乙' })],
      ['blocklist', () => a('POST', '/api/admin/blocklist', { version: listV, number: '13955557101', reason: '多次恶意骚扰座席' }), () => b('POST', '/api/admin/blocklist', { version: listV, number: '13955557102', reason: '多次恶意骚扰座席' })],
    ];
    for (const [what, x, y] of races) {
      const codes = (await Promise.all([x(), y()])).map((r) => r.statusCode).sort();
      expect([what, codes]).toEqual([what, what === 'blocklist' ? [201, 409] : [200, 409]]);
    }
    // Exactly one of each pair is stored.
    expect(['甲', '乙']).toContain((await draftOf(a)).draft!.table.routes[0]!.name);
    expect((await one.acd.listGroups()).filter((g) => g.id.startsWith('race-'))).toHaveLength(1);
    expect((await one.users.get('raced'))!.version).toBe(userV + 1);
    expect((await a('GET', '/api/admin/blocklist')).json().blocked).toHaveLength(1);
  });
});
