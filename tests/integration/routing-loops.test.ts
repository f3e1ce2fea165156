/**
 * Routing loops (issue 20, red-team finding 5), in both PBX modes: a table with
 * a target back into our own carrier context cannot be published, and the hop
 * counter stops a loop that validation did not see (a table published before
 * the check existed): the looping call is refused with a notice, counted, and
 * ends in one ticket; the loop does not multiply.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { CallRecord } from '../../src/calls/record.js';
import { LOOP_ROUTE_ID } from '../../src/calls/session.js';
import { MAX_HOPS } from '../../src/routing/loops.js';
import type { RoutingTable, SubcenterRoute } from '../../src/routing/model.js';
import { useHarness } from '../support/harness.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';
import { eventually } from '../support/wait.js';

const h = useHarness();

/** The draft version the admin read: a save (or a scheduled publish) names it (optimistic concurrency, issue 20). */
const draftVersion = async (call: (method: 'GET', url: string) => Promise<{ json(): { version: number } }>) => (await call('GET', '/api/admin/routing/draft')).json().version;

async function admin(app: App) {
  await app.users.create({ username: 'loop-admin', roles: ['admin', 'supervisor'], password: TEST_PASSWORD });
  const { token } = await loginAs(app.http, 'loop-admin');
  return (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
    app.http.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
}

/** Ticket-job records of every call that has ended so far. */
async function endedRecords(app: App): Promise<CallRecord[]> {
  const jobs = await app.ticketsQueue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'paused']);
  return jobs.map((j) => j.data.record);
}

describe('routing loops', () => {
  it('GIVEN a draft sending 12366 to Local/12366@from-carrier and 110 to Local/12345@from-carrier WHEN published THEN 400 names both fields and the published table is unchanged', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const call = await admin(app);
    const published = (await call('GET', '/api/admin/routing')).json();
    const table: RoutingTable = structuredClone(published.table);
    const i12366 = table.routes.findIndex((r) => r.id === 'line-12366');
    const i110 = table.routes.findIndex((r) => r.id === 'linkage-110');
    (table.routes[i12366] as SubcenterRoute).target = { kind: 'dial', dialString: 'Local/12366@from-carrier' };
    (table.routes[i110] as SubcenterRoute).target = { kind: 'dial', dialString: 'Local/12345@from-carrier' };
    const saved = (await call('PUT', '/api/admin/routing/draft', { table, version: await draftVersion(call) })).json();
    const fields = (saved.errors as { field: string }[]).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining([`routes[${i12366}].target.dialString`, `routes[${i110}].target.dialString`]));
    const pub = await call('POST', '/api/admin/routing/publish', { comment: 'loop' });
    expect(pub.statusCode).toBe(400);
    expect(pub.json().error.message).toMatch(/routing loop/);
    expect((await call('GET', '/api/admin/routing')).json().version).toBe(published.version);
  });

  it(`GIVEN a call arriving with HOTLINE_HOPS above ${MAX_HOPS} WHEN it reaches the app THEN the caller hears the busy notice, the call is released and counted, with one ticket`, async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const call = await admin(app);
    const c = await h.side.call('12345', '13955551201', 'from-carrier', { HOTLINE_HOPS: String(MAX_HOPS + 1) });
    await c.answered();
    await c.ended();
    const rec = await eventually(async () => {
      const r = (await endedRecords(app)).filter((x) => x.caller.number === '13955551201');
      expect(r).toHaveLength(1);
      return r[0]!;
    });
    expect(rec.route).toMatchObject({ id: LOOP_ROUTE_ID });
    expect(rec.outcome).toBe('released');
    expect(rec.path.find((p) => p.kind === 'prompt')?.detail).toBe('system-busy');
    expect(rec.path.some((p) => p.kind === 'queue' || p.kind === 'transfer')).toBe(false);
    expect((await call('GET', '/api/supervisor/overview')).json().refused).toEqual({ routingLoops: 1 });
  });

  it('GIVEN a looping table published before validation refused it WHEN one citizen calls 12366 THEN the loop stops at the hop limit: a bounded number of calls, one refused, every call one ticket', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang', HANDOFF_RING_SEC: '5' });
    // Write the version as an older server would have published it (no loop check), straight into Redis.
    const prefix = `${app.config.keyPrefix}:routing:zaozhuang:`;
    const cur = app.parts.current();
    const table: RoutingTable = structuredClone(cur.table) as RoutingTable;
    (table.routes.find((r) => r.id === 'line-12366') as SubcenterRoute).target = { kind: 'dial', dialString: 'Local/12366@from-carrier' };
    const n = cur.version + 1;
    await app.redis
      .multi()
      .set(`${prefix}seq`, n)
      .set(`${prefix}v:${n}`, JSON.stringify({ version: n, table: { ...table, version: n }, publishedAt: new Date().toISOString(), publishedBy: 'legacy' }))
      .zadd(`${prefix}versions`, n, String(n))
      .set(`${prefix}published`, n)
      .publish(`${prefix}events`, String(n))
      .exec();
    await eventually(() => expect(app.parts.current().version).toBe(n), 5000);

    const c = await h.side.call('12366', '13955551202');
    await c.answered();
    // Every hop is a call into our app; the one past the limit is refused and the chain unwinds.
    const refused = await eventually(async () => {
      const r = (await endedRecords(app)).filter((x) => x.route?.id === LOOP_ROUTE_ID);
      expect(r).toHaveLength(1);
      return r[0]!;
    }, 120_000); // every hop hears the line's real prompts before it is transferred on
    expect(refused.path.some((p) => p.detail.includes(`after ${MAX_HOPS + 1} hops`))).toBe(true);
    await c.hangup();
    await eventually(() => expect(app.calls.active).toEqual([]), 60_000);
    await new Promise((r) => setTimeout(r, 500));
    const all = await endedRecords(app);
    // The citizen's call plus one call per hop up to and including the refused one — not dozens.
    expect(all).toHaveLength(MAX_HOPS + 2);
    expect(new Set(all.map((r) => r.callId)).size).toBe(all.length);
    expect(app.calls.loopsRefused).toBe(1);
  });
});
