/**
 * The answer-rate controller's runner and API on Redis (issue 17): the ACD's scripts count the
 * sliding windows per line, queue and seat group; of two instances sharing Redis exactly one decides
 * (a Redis lock), the other follows its actions; the supervisors' switch is versioned, validated
 * field by field, audited, and a decision computed before a switch cannot undo it.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { uniquePrefix } from '../support/pbx.js';
import { useHarness } from '../support/harness.js';
import { userApi } from '../support/tickets.js';
import { eventually } from '../support/wait.js';

const h = useHarness();

async function seatGroups(app: App) {
  expect(await app.acd.upsertGroup({ id: 'general', name: '话务受理座席', kind: 'general' })).toEqual({ ok: true });
  expect(await app.acd.upsertGroup({ id: 'peak', name: '高峰应急座席', kind: 'peak' })).toEqual({ ok: true });
}

/** Load the windows the way calls do: through the ACD's enqueue/leave scripts. */
async function queueCalls(app: App, n: number, outcome: 'abandoned' | 'answered', tag: string) {
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const callId = `${tag}-${i}`;
    await app.acd.enqueue({ callId, skill: 'general', priority: 0, joinedAt: now - 30_000, lineNumber: '12345' });
    await app.acd.leave(callId, outcome, now);
  }
}

describe('answer-rate controller: windows, leader, API', () => {
  it('GIVEN calls through the ACD scripts THEN the windows count them per line, queue and seat group (answer rate, abandonment, ASA)', async () => {
    const app = await h.startApp({ CONTROLLER_INTERVAL_SEC: '600' });
    await seatGroups(app);
    await queueCalls(app, 3, 'abandoned', 'w-ab');
    await queueCalls(app, 1, 'answered', 'w-an');
    const st = await app.controller.status();
    for (const dim of ['all', 'line:12345', 'skill:general', 'group:general']) {
      expect(st.windows[dim], dim).toMatchObject({
        short: { offered: 4, answered: 1, abandoned: 3, answerRate: 0.25, abandonRate: 0.75, windowSec: 300 },
        long: { offered: 4, answered: 1, abandoned: 3, windowSec: 900 },
      });
      expect(st.windows[dim]!.short.asaSec).toBeGreaterThanOrEqual(29);
    }
    expect(st.config).toMatchObject({ target: 0.98, maxLevel: 3, intervalSec: 600 });
  });

  it('GIVEN two instances on one Redis THEN exactly one decides and the other follows its actions; WHEN the leader stops THEN the other takes over', async () => {
    const prefix = uniquePrefix('ctl');
    const a = await h.startApp({ HOTLINE_KEY_PREFIX: prefix, CONTROLLER_INTERVAL_SEC: '600' });
    const b = await h.startApp({ HOTLINE_KEY_PREFIX: prefix, CONTROLLER_INTERVAL_SEC: '600' });
    await seatGroups(a);
    await a.controller.tick();
    await b.controller.tick();
    const leader = (await a.controller.status()).leader;
    expect([a.instanceId, b.instanceId]).toContain(leader);
    const [lead, follow] = leader === a.instanceId ? [a, b] : [b, a];
    // A load the (absent) regular seats cannot carry: the leader engages, the follower sees it.
    await queueCalls(lead, 40, 'abandoned', 'lead');
    const before = (await follow.controller.timeline(500, false)).length;
    await follow.controller.tick();
    expect((await follow.controller.timeline(500, false)).length).toBe(before); // the follower did not decide
    await lead.controller.tick();
    expect(lead.controller.tuning('general')).toMatchObject({ level: 3 });
    await eventually(() => expect(follow.controller.tuning('general')).toMatchObject({ level: 3 }));
    const entry = (await lead.controller.timeline(1, true))[0]!;
    expect(entry.queues.find((q) => q.skill === 'general')).toMatchObject({ why: 'engage', levelAfter: 3 });

    await h.stopApp(lead);
    await follow.controller.tick();
    expect((await follow.controller.status()).leader).toBe(follow.instanceId);
  });

  it('GIVEN a supervisor WHEN switching the controller THEN the version is checked, bad input names its field, every change is audited, and off gives every seat back at once', async () => {
    const app = await h.startApp({ CONTROLLER_INTERVAL_SEC: '600' });
    await seatGroups(app);
    const sup = await userApi(app, 'ctl-super', ['supervisor']);
    const agent = await userApi(app, 'ctl-agent', ['agent'], { agentId: 'A1' });
    await queueCalls(app, 40, 'abandoned', 'sw');
    await app.controller.tick();
    expect(app.controller.tuning('general')?.level).toBe(3);

    const got = await sup('GET', '/api/supervisor/controller');
    expect(got.status).toBe(200);
    expect(got.body.switch).toEqual({ enabled: true, version: 0 });
    expect(got.body.actions.queues.general.level).toBe(3);
    expect(got.body.actions.alerts).toEqual(['general']);
    expect(got.body.timeline[0].queues.find((q: { skill: string }) => q.skill === 'general')).toMatchObject({ why: 'engage', inputs: { long: { offered: 40, abandoned: 40 } } });
    expect((await agent('GET', '/api/supervisor/controller')).status).toBe(403);
    expect((await sup('GET', '/api/supervisor/controller?limit=0')).body.error.field).toBe('limit');

    const bad = await sup('PUT', '/api/supervisor/controller', { enabled: 'no', version: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('enabled');
    const noVersion = await sup('PUT', '/api/supervisor/controller', { enabled: false });
    expect(noVersion.status).toBe(400);
    expect(noVersion.body.error.field).toBe('version');
    const stale = await sup('PUT', '/api/supervisor/controller', { enabled: false, version: 7 });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'version-conflict', field: 'version' });
    // nothing changed by the refused writes
    expect(app.controller.tuning('general')?.level).toBe(3);
    expect((await app.controller.readSwitch()).version).toBe(0);

    const off = await sup('PUT', '/api/supervisor/controller', { enabled: false, version: 0 });
    expect(off.status).toBe(200);
    expect(off.body.switch).toMatchObject({ enabled: false, version: 1, by: 'ctl-super' });
    expect(app.controller.tuning('general')).toBeUndefined();
    const after = await sup('GET', '/api/supervisor/controller');
    expect(after.body.actions.queues).toEqual({});
    expect(after.body.timeline[0]).toMatchObject({ enabled: false, changed: true });
    // Off stays off: the next decision keeps level 0.
    await app.controller.tick();
    expect(app.controller.tuning('general')).toBeUndefined();
    const audit = await app.audit.query({});
    expect(audit.some((e) => e.action === 'controller-disabled' && e.actor === 'ctl-super')).toBe(true);

    const on = await sup('PUT', '/api/supervisor/controller', { enabled: true, version: 1 });
    expect(on.body.switch).toMatchObject({ enabled: true, version: 2 });
    expect(app.controller.tuning('general')?.level).toBe(3);
  });

  it('GIVEN a decision read under the old switch WHEN a supervisor switched off meanwhile THEN that decision is not written', async () => {
    const app = await h.startApp({ CONTROLLER_INTERVAL_SEC: '600' });
    await seatGroups(app);
    await queueCalls(app, 40, 'abandoned', 'race');
    const sw = await app.controller.readSwitch();
    // Switch off between the leader's read of the switch and its write: simulate by moving the
    // stored version under a runner whose read happened first.
    const original = app.controller.readSwitch.bind(app.controller);
    app.controller.readSwitch = async () => {
      const s = await original();
      await app.redis.hset(app.acd.store.key('ctl:switch'), 'enabled', '0', 'version', String(sw.version + 1));
      return s;
    };
    expect(await app.controller.decideOnce()).toBeUndefined();
    app.controller.readSwitch = original;
    expect(app.controller.tuning('general')).toBeUndefined();
    const stored = await app.redis.get(app.acd.store.key('ctl:actions'));
    expect(stored === null ? {} : JSON.parse(stored).queues).toEqual({});
    expect((await app.controller.timeline(50, true)).some((e) => e.queues.some((q) => q.why === 'engage'))).toBe(false);
  });
});
