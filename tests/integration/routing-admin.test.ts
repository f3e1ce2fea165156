/**
 * Routing administration (issue 4) through the admin API on a live server:
 * validation that changes nothing, versions, diff, rollback, scheduled
 * publish, test-dial, the audit trail — and areas: the same short code from
 * two districts takes two routes.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { RoutingTable } from '../../src/routing/model.js';
import { pressAtWelcome, sessionByCaller, useHarness } from '../support/harness.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';
import { eventually } from '../support/wait.js';

const h = useHarness();

/** The draft version the admin read: a save (or a scheduled publish) names it (optimistic concurrency, issue 20). */
const draftVersion = async (call: (method: 'GET', url: string) => Promise<{ json(): { version: number } }>) => (await call('GET', '/api/admin/routing/draft')).json().version;

async function adminSession(app: App) {
  await app.users.create({ username: 'route-admin', roles: ['admin'], password: TEST_PASSWORD });
  await app.users.create({ username: 'route-agent', roles: ['agent'], agentId: 'RA1', password: TEST_PASSWORD });
  const admin = await loginAs(app.http, 'route-admin');
  const agent = await loginAs(app.http, 'route-agent');
  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, token = admin.token) =>
    app.http.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
  return { call, agentToken: agent.token };
}

describe('routing admin API', () => {
  it('GIVEN a draft with errors WHEN published THEN every error is named and the published table is unchanged; fixed, it publishes, diffs, rolls back and is audited', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const { call, agentToken } = await adminSession(app);
    expect((await call('GET', '/api/admin/routing', undefined, agentToken)).statusCode).toBe(403);
    const published = (await call('GET', '/api/admin/routing')).json();
    const v1 = published.version as number;

    const broken: RoutingTable = structuredClone(published.table);
    const r = broken.routes.find((x) => x.id === 'line-12333')!;
    r.numbers = ['1233x'];
    (r as { mode: string }).mode = 'teleport';
    const saved = (await call('PUT', '/api/admin/routing/draft', { table: broken, version: await draftVersion(call) })).json();
    expect(saved.errors.length).toBeGreaterThanOrEqual(1);
    const pub = await call('POST', '/api/admin/routing/publish', { comment: 'broken' });
    expect(pub.statusCode).toBe(400);
    const fields = (pub.json().error.details as { field: string }[]).map((e) => e.field);
    expect(fields.some((f) => /routes\[\d+\]\.(numbers\[0\]|mode)/.test(f))).toBe(true);
    expect((await call('GET', '/api/admin/routing')).json().version).toBe(v1);
    expect(app.parts.current().version).toBe(v1);

    const fixed: RoutingTable = structuredClone(published.table);
    (fixed.routes.find((x) => x.id === 'line-12333') as { skills?: string[] }).skills = ['12333-expert'];
    expect((await call('PUT', '/api/admin/routing/draft', { table: fixed, version: await draftVersion(call) })).json().errors).toEqual([]);
    const ok = await call('POST', '/api/admin/routing/publish', { comment: '12333 到专家座席' });
    expect(ok.statusCode).toBe(200);
    const v2 = ok.json().version as number;
    expect(v2).toBe(v1 + 1);
    await eventually(() => expect(app.parts.current().version).toBe(v2), 1000);

    const diff = (await call('GET', `/api/admin/routing/diff?from=${v1}&to=${v2}`)).json();
    expect(JSON.stringify(diff.diff)).toContain('line-12333');
    expect((await call('GET', '/api/admin/routing/diff?from=x&to=2')).json().error.field).toBe('from');

    const dial = (await call('POST', '/api/admin/routing/test-dial', { number: '12333' })).json();
    expect(dial.decision).toMatchObject({ action: 'hotline', skill: '12333-expert' });
    expect(dial.heard.length).toBeGreaterThan(0);
    expect(dial.steps.some((x: string) => x.startsWith('queue 12333-expert'))).toBe(true);
    expect((await call('POST', '/api/admin/routing/test-dial', { number: '12a' })).json().error.field).toBe('number');

    const back = await call('POST', '/api/admin/routing/rollback', { version: v1 });
    expect(back.statusCode).toBe(200);
    await eventually(() => expect(app.parts.current().version).toBe(v2 + 1), 1000);
    expect((await call('POST', '/api/admin/routing/test-dial', { number: '12333' })).json().decision.skill).toBe('12333');

    const audit = await app.audit.query({ action: 'routing-changed' });
    expect(audit.map((e) => e.detail)).toEqual(expect.arrayContaining(['12333 到专家座席', `rollback to v${v1}`]));
    expect(audit.every((e) => e.actor === 'route-admin')).toBe(true);
  });

  it('GIVEN a draft scheduled for a cancellation date WHEN the time comes THEN exactly that table is published once; impossible, offset-less or far-future times are refused naming at', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'yantai' });
    const { call } = await adminSession(app);
    const published = (await call('GET', '/api/admin/routing')).json();
    const next: RoutingTable = structuredClone(published.table);
    next.routes = next.routes.filter((x) => x.id !== 'line-12349');
    expect((await call('PUT', '/api/admin/routing/draft', { table: next, version: await draftVersion(call) })).json().errors).toEqual([]);
    expect((await call('POST', '/api/admin/routing/schedule', { at: '2020-01-01T00:00:00+08:00', version: await draftVersion(call) })).json().error.field).toBe('at');
    // Strict date-times (issue 20): no rolled-over dates, no offset-less local times, no far-future years.
    for (const bad of ['2027-02-30T00:00:00+08:00', '2027-03-01T00:00:00', '9999-01-01T00:00:00+08:00', `${new Date().getUTCFullYear() + 2}-01-01T00:00:00+08:00`]) {
      const res = await call('POST', '/api/admin/routing/schedule', { at: bad, version: await draftVersion(call) });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error.field).toBe('at');
    }
    expect((await call('GET', '/api/admin/routing/schedule')).json().scheduled).toBeNull();
    const badDial = await call('POST', '/api/admin/routing/test-dial', { number: '12345', at: '2027-02-30T10:00:00+08:00' });
    expect(badDial.statusCode).toBe(400);
    expect(badDial.json().error).toMatchObject({ field: 'at' });
    expect((await call('POST', '/api/admin/routing/test-dial', { number: '12345', at: '2027-03-01T10:00:00' })).json().error.field).toBe('at');
    expect((await call('POST', '/api/admin/routing/test-dial', { number: '12345', at: '2027-03-01T10:00:00+08:00' })).statusCode).toBe(200);
    const at = new Date(Date.now() + 1200).toISOString();
    expect((await call('POST', '/api/admin/routing/schedule', { at, comment: '12349 停用', version: await draftVersion(call) })).statusCode).toBe(200);
    expect(await app.parts.scheduler.runDue()).toBeUndefined(); // not yet due
    await new Promise((r) => setTimeout(r, 1300));
    const v = await app.parts.scheduler.runDue();
    expect(v).toBe(published.version + 1);
    expect(await app.parts.scheduler.runDue()).toBeUndefined(); // published once
    await eventually(() => expect(app.parts.current().table.routes.some((x) => x.id === 'line-12349')).toBe(false), 1000);
  });
});

describe('flows versioned with the table', () => {
  it('GIVEN a table carrying an edited 12345 flow WHEN invalid THEN it is refused naming the flow field; WHEN valid and published THEN calls follow it', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const { call } = await adminSession(app);
    const published = (await call('GET', '/api/admin/routing')).json();
    const { buildDefaultFlows } = await import('../../src/ivr/default-flow.js');
    const zh = structuredClone(buildDefaultFlows()['hotline-zh']!) as { nodes: Record<string, any> };
    const table: RoutingTable & { flows?: Record<string, unknown> } = structuredClone(published.table);

    zh.nodes.main.options['1'] = 'no-such-node';
    table.flows = { 'hotline-zh': zh };
    expect((await call('PUT', '/api/admin/routing/draft', { table, version: await draftVersion(call) })).json().errors[0].field).toMatch(/^flows\.hotline-zh/);
    const refused = await call('POST', '/api/admin/routing/publish', {});
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.field).toMatch(/^flows\.hotline-zh/);

    zh.nodes.main.options['1'] = 'to-general';
    zh.nodes['to-general'].next = 'queue-consult-desk';
    zh.nodes['queue-consult-desk'] = { type: 'queue', skill: 'consult-desk' };
    expect((await call('PUT', '/api/admin/routing/draft', { table, version: await draftVersion(call) })).json().errors).toEqual([]);
    const draftDial = (await call('POST', '/api/admin/routing/test-dial', { number: '12345', table: 'draft' })).json();
    expect(draftDial.heard[0]).toContain('welcome');
    expect((await call('POST', '/api/admin/routing/publish', { comment: '1 键转咨询专席' })).statusCode).toBe(200);
    await eventually(() => expect(app.parts.current().version).toBe(published.version + 1), 1000);

    const caller = '13977770001';
    const c = await h.side.call('12345', caller);
    await c.answered();
    const s = await sessionByCaller(app, caller);
    await pressAtWelcome(s, c, '1');
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('skill consult-desk'))).toBe(true));
    await c.hangup();
  });
});

describe('areas', () => {
  it('GIVEN a district with its own 12333 WHEN the same short code is dialed from the district trunk and the city trunk THEN two routes answer', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const published = (await app.parts.routing.getPublished())!;
    const table: RoutingTable = structuredClone(published.table);
    table.areas.push({ id: 'shanting', name: '山亭区', nameEn: 'Shanting', parent: table.defaultArea });
    const city12333 = table.routes.find((x) => x.id === 'line-12333')!;
    table.routes.push({ ...structuredClone(city12333), id: 'shanting-12333', area: 'shanting', skills: ['12333-shanting'] } as typeof city12333);
    const r = await app.parts.routing.publish('test', { table });
    expect(r.ok ? r.ok : r).toBe(true);
    await eventually(() => expect(app.parts.current().version).toBe(published.version + 1), 1000);

    const cityCaller = '13922220001';
    const districtCaller = '13922220002';
    const c1 = await h.side.call('12333', cityCaller);
    const c2 = await h.side.call('12333', districtCaller, 'from-carrier', { HOTLINE_AREA: 'shanting' });
    const s1 = await sessionByCaller(app, cityCaller);
    const s2 = await sessionByCaller(app, districtCaller);
    await eventually(() => expect(s1.record.route?.id).toBe('line-12333'));
    await eventually(() => expect(s2.record.route?.id).toBe('shanting-12333'));
    expect(s2.record.area).toBe('shanting');
    await eventually(() => expect(s2.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('skill 12333-shanting'))).toBe(true));
    await c1.hangup();
    await c2.hangup();
  });
});
