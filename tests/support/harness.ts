/**
 * The shared set-up of integration tests: the PBX under test (simulated or
 * real), the test side's Stasis app, apps built on them (logs captured and
 * checked for numbers), stopped after each test; plus the lookups tests need.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { buildApp, type App, type AppOptions } from '../../src/app.js';
import type { CallRecord } from '../../src/calls/record.js';
import type { CallSession } from '../../src/calls/session.js';
import { logSink } from './log-capture.js';
import { startPbx, testConfig, type PbxUnderTest } from './pbx.js';
import { TestSide, type TestCall } from '../../sim-pbx/test-caller.js';
import { eventually, MEDIA_WAIT_MS } from './wait.js';

export interface Harness {
  readonly pbx: PbxUnderTest;
  readonly side: TestSide;
  /** Build and start an app on the PBX under test; it is stopped after the test. */
  startApp(env?: Record<string, string>, opts?: AppOptions): Promise<App>;
  /** Stop an app now (it is then not stopped again after the test). */
  stopApp(app: App): Promise<void>;
}

export function useHarness(): Harness {
  let pbx: PbxUnderTest | undefined;
  let side: TestSide | undefined;
  const apps: App[] = [];
  beforeAll(async () => {
    pbx = await startPbx();
    side = await TestSide.connect(pbx);
  });
  afterEach(async () => {
    side!.agentBehaviour = () => ({ action: 'answer', delayMs: 20 });
    for (const a of apps.splice(0)) await a.stop();
  });
  afterAll(async () => {
    try {
      if (side) await expectPbxClean(side);
    } finally {
      await side?.close();
      await pbx?.stop();
    }
  });
  return {
    get pbx() {
      return pbx!;
    },
    get side() {
      return side!;
    },
    async startApp(env = {}, opts = {}) {
      const app = await buildApp(testConfig(pbx!, env), {
        logDestination: logSink,
        ariBackoff: { initialMs: 50, maxMs: 500 },
        outboxRetryMs: 200,
        acdOverrides: { dispatchIntervalMs: 100 },
        ...opts,
      });
      apps.push(app);
      await app.start();
      await app.telephony.whenConnected(10_000);
      return app;
    },
    async stopApp(app) {
      apps.splice(apps.indexOf(app), 1);
      await app.stop();
    },
  };
}

/** The live session of the call from `caller`. */
export function sessionByCaller(app: App, caller: string): Promise<CallSession> {
  return eventually(() => {
    const s = app.calls.active.find((x) => x.record.caller.number === caller && !x.isEnded);
    if (!s) throw new Error(`no live session for ${caller}`);
    return s;
  });
}

export async function jobsForCall(app: App, callId: string) {
  const jobs = await app.ticketsQueue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'paused']);
  return jobs.filter((j) => j?.data?.record?.callId === callId);
}

/** The one ticket job of a call (fails if there are none or several). */
export function ticketJobRecord(app: App, callId: string, timeoutMs = MEDIA_WAIT_MS): Promise<CallRecord> {
  return eventually(async () => {
    const jobs = await jobsForCall(app, callId);
    expect(jobs).toHaveLength(1);
    return jobs[0]!.data.record;
  }, timeoutMs);
}

/** After the caller hung up: none of the call's channels (caller, agent and hand-off legs), bridges or playbacks are left. */
export async function expectNoOrphans(h: Harness, callId: string): Promise<void> {
  await eventually(async () => {
    const channels = (await h.side.request('GET', '/channels')).body as { id: string }[];
    expect(channels.filter((c) => c.id === callId || c.id.startsWith(`${callId}-`))).toEqual([]);
    const bridges = (await h.side.request('GET', '/bridges')).body as { id: string; channels: string[] }[];
    expect(bridges.filter((b) => b.id.includes(callId) || b.channels.includes(callId))).toEqual([]);
    // The sim can list playbacks; ARI cannot (no GET /playbacks), and on a real Asterisk a channel's
    // playbacks end with it, which the channel check above covers.
    if (h.pbx.sim) expect(h.pbx.sim.playbacks().filter((p) => JSON.stringify(p).includes(callId))).toEqual([]);
  }, 15_000);
}

/**
 * The caller presses `digits` as soon as the welcome starts, as regular callers do (the welcome
 * and recording notice allow barge-in; the digit is taken as the main menu's choice). Tests whose
 * subject is not the menu use this instead of sitting through 12 s of prompts on every call;
 * tests/integration/ivr-calls.test.ts waits for the menu itself.
 */
export async function pressAtWelcome(s: Pick<CallSession, 'record'>, call: TestCall, digits: string): Promise<void> {
  await eventually(() => expect(s.record.path.some((p) => /\.welcome: play /.test(p.detail))).toBe(true));
  await call.press(digits);
}

/** An available agent with skills, in the general seat group. */
export async function addAgent(app: App, id: string, skills: Record<string, number> = { general: 3 }): Promise<void> {
  expect(await app.acd.upsertGroup({ id: 'general', name: '话务受理座席', kind: 'general' })).toEqual({ ok: true });
  expect(await app.acd.upsertAgent({ id, name: `座席${id}`, extension: id, skills, groups: ['general'] })).toEqual({ ok: true });
  expect(await app.acd.login(id)).toMatchObject({ ok: true });
  expect(await app.acd.setAgentState(id, 'available')).toMatchObject({ ok: true });
}

/**
 * Every test file leaves the PBX as it found it: no channel and no bridge left (a channel's
 * playbacks end with it). On a real Asterisk, leftovers would be adopted by the next file's
 * app; so they are cleared here as well - but the file still fails, naming them.
 */
export async function expectPbxClean(side: TestSide, timeoutMs = 15_000): Promise<void> {
  const list = async () => {
    const channels = ((await side.request('GET', '/channels')).body ?? []) as { id: string; name: string; state: string }[];
    const bridges = ((await side.request('GET', '/bridges')).body ?? []) as { id: string; channels: string[] }[];
    return { channels, bridges };
  };
  try {
    await eventually(async () => {
      const left = await list();
      if (left.channels.length || left.bridges.length) throw new Error('not clean');
    }, timeoutMs, 200);
  } catch {
    const left = await list();
    for (const c of left.channels) await side.request('DELETE', `/channels/${c.id}`).catch(() => undefined);
    for (const b of left.bridges) await side.request('DELETE', `/bridges/${b.id}`).catch(() => undefined);
    throw new Error(
      `the PBX still holds what this file's tests created: ${left.channels.length} channel(s) ` +
        `[${left.channels.map((c) => `${c.name} (${c.state})`).join(', ')}], ${left.bridges.length} bridge(s) ` +
        `[${left.bridges.map((b) => `${b.id} with ${b.channels.length}`).join(', ')}] - cleared now; make the test clean up`,
    );
  }
}
