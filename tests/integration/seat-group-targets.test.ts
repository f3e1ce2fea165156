/**
 * Queue targets must name existing seat groups (issue 20, red-team finding):
 * a table whose queue target names no group cannot be published (the caller
 * would wait for nobody); the shipped cities' groups exist from the start, so
 * their shipped tables publish.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { CITY_PRESETS } from '../../src/config/index.js';
import { validateSeatFile } from '../../src/acd/model.js';
import { loadSeatFile } from '../../src/acd/seat-files.js';
import { expertGroupOf, type RoutingTable, type SubcenterRoute } from '../../src/routing/model.js';
import { loadPreset } from '../../src/routing/presets.js';
import { validateTable } from '../../src/routing/validate.js';
import { useHarness } from '../support/harness.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';

const h = useHarness();

/** The draft version the admin read: a save (or a scheduled publish) names it (optimistic concurrency, issue 20). */
const draftVersion = async (call: (method: 'GET', url: string) => Promise<{ json(): { version: number } }>) => (await call('GET', '/api/admin/routing/draft')).json().version;

async function admin(app: App) {
  await app.users.create({ username: 'seat-admin', roles: ['admin'], password: TEST_PASSWORD });
  const { token } = await loginAs(app.http, 'seat-admin');
  return (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
    app.http.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
}

describe('queue targets name existing seat groups', () => {
  it.each(CITY_PRESETS)('GIVEN the shipped %s table and seat file WHEN the table is validated against the file’s groups THEN every queue target and expert group exists', (city) => {
    const file = loadSeatFile(city);
    const groups = file === undefined ? [] : (validateSeatFile(file) as { ok: true; value: { groups: { id: string }[] } }).value.groups.map((g) => g.id);
    const table = loadPreset(city);
    const named = table.routes.flatMap((r) => [
      ...('target' in r && r.target?.kind === 'queue' ? [r.target.group] : []),
      ...(r.overflow?.kind === 'queue' ? [r.overflow.group] : []),
      ...(expertGroupOf(r) ? [expertGroupOf(r)!] : []),
    ]);
    for (const g of named) expect(groups, `${city}: group ${g}`).toContain(g);
    expect(validateTable(table, { groups })).toEqual([]);
  });

  it('GIVEN a fresh Zaozhuang server WHEN it starts THEN the sub-center groups exist and the shipped table publishes again', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const call = await admin(app);
    const groups = (await call('GET', '/api/admin/seats')).json().groups.map((g: { id: string }) => g.id);
    expect(groups).toEqual(expect.arrayContaining(['subcenter-12366', 'subcenter-12313']));
    const published = (await call('GET', '/api/admin/routing')).json();
    expect((await call('PUT', '/api/admin/routing/draft', { table: published.table, version: await draftVersion(call) })).json().errors).toEqual([]);
    const pub = await call('POST', '/api/admin/routing/publish', { comment: 'republish' });
    expect(pub.statusCode).toBe(200);
  });

  it('GIVEN a draft whose 12366 target names a seat group that does not exist WHEN saved and published THEN the field is named, nothing is published; once the group exists it publishes', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const call = await admin(app);
    const published = (await call('GET', '/api/admin/routing')).json();
    const table: RoutingTable = structuredClone(published.table);
    const i = table.routes.findIndex((r) => r.id === 'line-12366');
    (table.routes[i] as SubcenterRoute).target = { kind: 'queue', group: 'tax-desk' };
    const saved = (await call('PUT', '/api/admin/routing/draft', { table, version: await draftVersion(call) })).json();
    expect(saved.errors).toEqual([{ field: `routes[${i}].target.group`, message: 'unknown seat group "tax-desk"' }]);
    const pub = await call('POST', '/api/admin/routing/publish', { comment: 'to nobody' });
    expect(pub.statusCode).toBe(400);
    expect(pub.json().error.field).toBe(`routes[${i}].target.group`);
    expect((await call('GET', '/api/admin/routing')).json().version).toBe(published.version);
    expect(app.parts.current().version).toBe(published.version);

    const seats = (await call('GET', '/api/admin/seats')).json().version as number;
    expect((await call('PUT', '/api/admin/seats/groups/tax-desk', { name: '税务专席', kind: 'sub-center', lineNumber: '12366', version: seats })).statusCode).toBe(200);
    const ok = await call('POST', '/api/admin/routing/publish', { comment: 'to the tax desk' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().version).toBe(published.version + 1);
  });
});
