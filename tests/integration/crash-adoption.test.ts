/**
 * kill -9 of the server with 50 live calls (issue 20), in both PBX modes: a server instance in a
 * child process drives 17 calls bridged with agents, 17 queued callers and 16 callers in the IVR,
 * and is SIGKILLed. Its calls stay in Asterisk; the bridged ones keep talking. Then
 *  - the restarted instance (a new process: a new instance id, as a restart has), or
 *  - a second instance that was already running beside it on the same Asterisk and Redis, as its
 *    standby (ARI_EXCLUSIVE: it waits for the dead one's ARI link lock)
 * adopts every call once the dead instance's call-state lease (CALL_STATE_LEASE_MS, 3 s here) runs
 * out. No offer reaches a talking agent meanwhile, every call ends with exactly one ticket, and no
 * channel is left in our Stasis app. The time from the kill to the last adoption is printed (a
 * figure, not an assertion).
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { defaultAcdConfig } from '../../src/acd/model.js';
import { Acd } from '../../src/acd/service.js';
import type { CallState } from '../../src/calls/state.js';
import { keyNamespace, redisKey } from '../../src/util/redis-keys.js';
import { childServerEnv, killChildren, startServerChild } from '../support/child-server.js';
import { jobsForCall, useHarness, type Harness } from '../support/harness.js';
import { logSink } from '../support/log-capture.js';
import { testConfig, uniquePrefix } from '../support/pbx.js';
import type { TestCall } from '../support/test-side.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
afterEach(() => killChildren());

const BRIDGED = 17;
const QUEUED = 17;
const IN_IVR = 16;
const LEASE_MS = '3000';
const caller = (kind: number, i: number) => `1390000${kind}${String(i).padStart(3, '0')}`;
const agentId = (i: number) => String(2101 + i);

interface LiveCall {
  call: TestCall;
  /** The hotline's half (;2): the call id. */
  callId: string;
  kind: 'bridged' | 'queued' | 'ivr';
}

/** The hotline's half (;2) of a call the test side placed, once the welcome plays on it. */
async function inWelcome(hs: Harness, call: TestCall): Promise<string> {
  const up = await call.answered();
  const twoName = String(up.channel.name).replace(/;1$/, ';2');
  const two = await eventually(() => {
    const e = hs.side.events.find((x) => x.channel?.name === twoName);
    if (!e) throw new Error('no ;2 half yet');
    return String(e.channel.id);
  });
  await eventually(() => expect(hs.side.heard(two)).toContain('sound:hotline/welcome'));
  return two;
}

/** The stored phase of every call of this prefix (calls/durable-store.ts). */
async function storedPhases(redis: Redis, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const id of await redis.smembers(redisKey(prefix, 'callstates'))) {
    const json = await redis.hget(redisKey(prefix, 'callstate', id), 'state');
    if (json) out.set(id, (JSON.parse(json) as CallState).phase);
  }
  return out;
}

async function bridgesOfCalls(): Promise<Array<{ id: string; channels: string[] }>> {
  const all = ((await h.side.request('GET', '/bridges')).body ?? []) as Array<{ id: string; channels: string[] }>;
  return all.filter((b) => b.id.startsWith('call-'));
}

/** Agent legs that reached the test side, per extension (an offer that rang the agent). */
function agentLegsOf(ext: string): number {
  return h.side.events.filter((e) => e.type === 'StasisStart' && e.args?.[0] === 'agent' && String(e.args[1]) === ext).length;
}

/** 17 available agents, written straight into the ACD's Redis state (the server is in another process). */
async function seedAgents(redis: Redis, prefix: string): Promise<void> {
  const acd = new Acd({
    redis,
    keyPrefix: keyNamespace(prefix, 'acd'),
    instanceId: 'test-admin',
    logger: pino({ level: 'silent' }),
    config: defaultAcdConfig({ requireRegistration: false, wrapUpSec: 0 }),
  });
  expect(await acd.upsertGroup({ id: 'general', name: '话务受理座席', kind: 'general' })).toEqual({ ok: true });
  for (let i = 0; i < BRIDGED; i++) {
    const id = agentId(i);
    expect(await acd.upsertAgent({ id, name: `座席${id}`, extension: id, skills: { general: 3 }, groups: ['general'] })).toEqual({ ok: true });
    expect(await acd.login(id)).toMatchObject({ ok: true });
    expect(await acd.setAgentState(id, 'available')).toMatchObject({ ok: true });
  }
}

/** Place `n` calls at once; each presses `digit` at the welcome (or nothing). */
async function place(kind: LiveCall['kind'], n: number, k: number, digit: string | null): Promise<LiveCall[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const call = await h.side.call('12345', caller(k, i));
      const callId = await inWelcome(h, call);
      if (digit) await call.press(digit);
      return { call, callId, kind };
    }),
  );
}

/**
 * The whole scenario: 50 live calls on a child server, kill -9, adoption by `successor()` (started
 * after the kill, or already running), then every call ended and counted.
 */
async function crashAndAdopt(opts: { exclusive: boolean; standby: boolean }): Promise<void> {
  const prefix = uniquePrefix('crash');
  const env: Record<string, string> = {
    HOTLINE_KEY_PREFIX: prefix,
    HOTLINE_DATA_DIR: `${inject('runDir')}/crash-${prefix}`,
    CALL_STATE_LEASE_MS: LEASE_MS,
    ...(opts.exclusive ? { ARI_EXCLUSIVE: 'true' } : {}),
  };
  const redis = new Redis(inject('redisUrl'));
  let standby: App | undefined;
  try {
    await seedAgents(redis, prefix);
    const child = await startServerChild(childServerEnv(h.pbx, env));
    if (opts.standby) {
      // Already running beside the child, on the same Asterisk and Redis: a standby, its link not open.
      standby = await buildApp(testConfig(h.pbx, env), { logDestination: logSink, instanceId: 'standby', ariBackoff: { initialMs: 50, maxMs: 500 }, outboxRetryMs: 200, acdOverrides: { dispatchIntervalMs: 100 } });
      await standby.start();
      expect(standby.telephony.linkState).not.toBe('connected');
    }

    // 17 callers press 0 and get an agent each, 17 more queue for them, 16 stay in the IVR.
    const bridged = await place('bridged', BRIDGED, 1, '0');
    await eventually(async () => {
      const b = await bridgesOfCalls();
      expect(b.filter((x) => x.channels.length === 2)).toHaveLength(BRIDGED);
    }, 60_000);
    const queued = await place('queued', QUEUED, 2, '0');
    await eventually(async () => expect([...(await storedPhases(redis, prefix)).values()].filter((p) => p === 'queue')).toHaveLength(QUEUED), 30_000);
    const ivr = await place('ivr', IN_IVR, 3, null);
    const calls = [...bridged, ...queued, ...ivr];
    await eventually(async () => {
      const phases = await storedPhases(redis, prefix);
      for (const c of calls) expect(phases.get(c.callId), c.kind).toBe(c.kind === 'bridged' ? 'agent' : c.kind === 'queued' ? 'queue' : 'ivr');
    }, 30_000);
    const ownerBefore = await redis.hget(redisKey(prefix, 'callstate', calls[0]!.callId), 'owner');
    expect(ownerBefore).toBe(child.instanceId);
    const legsBefore = new Map(Array.from({ length: BRIDGED }, (_, i) => [agentId(i), agentLegsOf(agentId(i))] as const));

    // WHEN the server is SIGKILLed
    expect(await child.kill()).toEqual({ code: null, signal: 'SIGKILL' });
    const killedAt = Date.now();
    // the bridged calls stay up in Asterisk
    expect((await bridgesOfCalls()).filter((b) => b.channels.length === 2)).toHaveLength(BRIDGED);

    // THEN the restarted instance (or the standby already running) adopts every call
    const app = standby ?? (await h.startApp(env, { instanceId: 'restarted' }));
    const connectedMs = Date.now() - killedAt;
    const adoptedMs = await eventually(() => {
      const live = calls.filter((c) => app.calls.session(c.callId)?.record.recovered === true);
      expect(live.length).toBe(calls.length);
      return Date.now() - killedAt;
    }, 60_000, 100);
    console.log(`[crash-adoption] ${h.pbx.mode}, ${opts.standby ? 'standby beside it' : 'restarted instance'}: ${calls.length} calls adopted ${adoptedMs} ms after kill -9 (lease ${LEASE_MS} ms; ${opts.standby ? 'standby running' : `restarted and connected after ${connectedMs} ms`})`);
    for (const c of calls) {
      const s = app.calls.session(c.callId)!;
      expect(s.record.path.some((p) => p.kind === 'note' && p.detail.startsWith(`adopted by ${app.instanceId} from ${child.instanceId}`))).toBe(true);
      if (c.kind === 'bridged') {
        expect(s.state.phase, JSON.stringify(s.record.path.slice(-4))).toBe('agent');
        expect(s.connectedAgentId).toBeDefined();
      } else if (c.kind === 'queued') expect(s.state.phase).toBe('queue');
      else expect(s.state.phase).toBe('ivr');
    }
    // bridged calls kept talking, their agents busy for the ACD; no offer reached a talking agent
    const bridges = await bridgesOfCalls();
    for (const c of bridged) expect(bridges.find((b) => b.id === `call-${c.callId}`)?.channels).toHaveLength(2);
    await eventually(async () => {
      const agents = await app.acd.agents();
      for (let i = 0; i < BRIDGED; i++) expect(agents.find((a) => a.id === agentId(i))?.state).toBe('on-call');
    });
    for (const [ext, n] of legsBefore) expect(agentLegsOf(ext), `agent ${ext} rung again`).toBe(n);

    // WHEN every caller hangs up (the queued and IVR ones first, then the bridged ones)
    for (const c of [...queued, ...ivr]) await c.call.hangup();
    for (const c of bridged) await c.call.hangup();
    // THEN each call has exactly one ticket job and one ticket, nothing stays in our Stasis app
    await eventually(async () => expect((await app.tickets.list()).length).toBe(calls.length), 60_000, 250);
    for (const c of calls) {
      const jobs = await jobsForCall(app, c.callId);
      expect(jobs, c.callId).toHaveLength(1);
      const rec = jobs[0]!.data.record;
      expect(rec).toMatchObject({ recovered: true, instance: app.instanceId });
      if (c.kind === 'bridged') expect(rec).toMatchObject({ outcome: 'answered', agents: [expect.any(String)] });
      expect(await app.tickets.byCall(c.callId)).toBeTruthy();
    }
    await eventually(async () => {
      const a = await h.side.request('GET', `/applications/${app.config.ari.app}`);
      expect(a.body.channel_ids).toEqual([]);
      expect(await bridgesOfCalls()).toEqual([]);
      expect(await redis.scard(redisKey(prefix, 'callstates'))).toBe(0);
    }, 30_000);
    console.log(`[crash-adoption] ${h.pbx.mode}: ${calls.length} calls, ${(await app.tickets.list()).length} tickets`);
  } finally {
    await standby?.stop();
    redis.disconnect();
  }
}

describe('kill -9 with 50 live calls', () => {
  it('GIVEN 50 live calls (17 bridged, 17 queued, 16 in the IVR) WHEN the server is SIGKILLed and restarted THEN the restarted instance adopts every call: bridged ones keep talking, each call ends with exactly one ticket, no channel stays in Stasis', async () => {
    await crashAndAdopt({ exclusive: false, standby: false });
  }, 150_000);

  it('GIVEN 50 live calls and a second instance running beside the server as its standby WHEN the server is SIGKILLed THEN the standby takes the Asterisk and adopts every call, each ending with exactly one ticket', async () => {
    await crashAndAdopt({ exclusive: true, standby: true });
  }, 150_000);
});
