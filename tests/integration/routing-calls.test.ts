/**
 * Routing tables at work (issue 4), in both PBX modes: calls to legacy numbers
 * of the seeds' presets reach what the merge list says — a parallel line's
 * skill, a transition announcement then 12345, a cancellation notice, a
 * sub-center's target — and a published table reroutes the next call.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import type { CallSession } from '../../src/calls/session.js';
import { sessionByCaller, useHarness } from '../support/harness.js';
import { logSink } from '../support/log-capture.js';
import { testConfig } from '../support/pbx.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
let seq = 0;

function startCity(city: string, now?: () => number, extra: Record<string, string> = {}): Promise<App> {
  return h.startApp({ HOTLINE_CITY: city, ...extra }, now ? { now } : {});
}

async function dial(app: App, number: string): Promise<{ s: CallSession; hangup: () => Promise<void> }> {
  const caller = `1370000${String(++seq).padStart(4, '0')}`;
  const call = await h.side.call(number, caller);
  const s = await sessionByCaller(app, caller);
  return { s, hangup: () => call.hangup() };
}

const prompts = (s: CallSession) => s.record.path.filter((p) => p.kind === 'prompt').map((p) => p.detail);

describe('routing by the seeds’ merge lists', () => {
  it('GIVEN Zaozhuang WHEN a citizen dials 12333 (parallel) THEN the call enters 12345 with skill 12333', async () => {
    const app = await startCity('zaozhuang');
    const { s, hangup } = await dial(app, '12333');
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('skill 12333'))).toBe(true));
    expect(s.record.route).toMatchObject({ id: 'line-12333', mode: 'parallel', line: '12333', skill: '12333' });
    expect(prompts(s)[0]).toContain('parallel-generic');
    await hangup();
  });

  it('GIVEN Yantai inside the transition window WHEN 12301 is dialed THEN the transition prompt plays, then the 12345 flow', async () => {
    const inWindow = Date.parse('2022-01-15T10:00:00+08:00');
    const app = await startCity('yantai', () => inWindow + (Date.now() % 1000));
    const { s, hangup } = await dial(app, '12301');
    await eventually(() => expect(prompts(s).length).toBeGreaterThanOrEqual(2));
    expect(prompts(s)[0]).toMatch(/^transition/);
    expect(s.record.route?.mode).toBe('merged');
    await hangup();
  });

  it('GIVEN Yantai after the transition window WHEN 12301 is dialed THEN the caller hears the cancellation notice, then 12345', async () => {
    const app = await startCity('yantai');
    const { s, hangup } = await dial(app, '12301');
    await eventually(() => expect(prompts(s).length).toBeGreaterThanOrEqual(2));
    expect(prompts(s)[0]).toMatch(/^cancelled/);
    expect(prompts(s).slice(1).join(' ')).toMatch(/welcome|legacy-transferring|transferring/);
    await hangup();
  });

  it('GIVEN Zhengzhou WHEN 12366 is dialed THEN the call goes to the tax sub-center’s own target and is never dropped', async () => {
    const app = await startCity('zhengzhou');
    const { s, hangup } = await dial(app, '12366');
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'transfer' && p.detail.includes('PJSIP/12366@subcenter-12366'))).toBe(true));
    expect(s.record.route).toMatchObject({ id: 'line-12366', mode: 'subcenter' });
    // No sub-center answers in the test PBX: the caller goes back to a 12345 agent queue.
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue')).toBe(true));
    expect(s.isEnded).toBe(false);
    await hangup();
  });

  it('GIVEN Zaozhuang WHEN 12366 is dialed THEN its sub-center seat group queue takes it', async () => {
    const app = await startCity('zaozhuang');
    const { s, hangup } = await dial(app, '12366');
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('skill subcenter-12366'))).toBe(true));
    await hangup();
  });

  it('GIVEN two instances on one Redis WHEN one publishes a table that sends 12333 elsewhere THEN the other routes the next call by it', async () => {
    const prefix = `rt${Date.now().toString(36)}`;
    const a = await startCity('zaozhuang', undefined, { HOTLINE_KEY_PREFIX: prefix });
    // A second instance on the same Redis (its own ARI app: one app per Asterisk connection).
    const b = await buildApp(testConfig(h.pbx, { HOTLINE_CITY: 'zaozhuang', HOTLINE_KEY_PREFIX: prefix, ARI_APP: 'hotline-b' }), { logDestination: logSink });
    await b.start();
    onTestFinished(() => b.stop());
    const published = await a.parts.routing.getPublished();
    expect(published).toBeDefined();
    const table = structuredClone(published!.table);
    const route = table.routes.find((r) => r.id === 'line-12333')!;
    (route as { skills?: string[] }).skills = ['12333-expert'];
    const r = await a.parts.routing.publish('admin-test', { table, comment: 'send 12333 to its expert desk' });
    expect(r.ok).toBe(true);
    await eventually(() => expect(b.parts.current().version).toBe(published!.version + 1), 1000);
    // The call is served by instance a (app "hotline"); b saw the version within 1 s above.
    await eventually(() => expect(a.parts.current().version).toBe(published!.version + 1), 1000);
    const { s, hangup } = await dial(a, '12333');
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('skill 12333-expert'))).toBe(true));
    await hangup();
  });
});
