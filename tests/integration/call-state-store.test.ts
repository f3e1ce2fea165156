/**
 * The durable call state store against a real Redis: checkpoints, ownership with a lease, adoption
 * of a dead instance's calls (exactly one of two adopters wins), and a zombie owner told to let go.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { RedisCallStateStore } from '../../src/calls/durable-store.js';
import { createStep } from '../../src/calls/step.js';
import { AriLinkLock } from '../../src/telephony/link-lock.js';
import { newCall, routedCall, testConfig } from '../support/call-state.js';
import { eventually } from '../support/wait.js';

const url = inject('redisUrl');
const log = pino({ level: 'silent' });
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
});

function store(prefix: string, instanceId: string, lost: string[] = [], node?: string): RedisCallStateStore {
  const redis = new Redis(url);
  clients.push(redis);
  return new RedisCallStateStore(redis, prefix, instanceId, log, { leaseMs: 300, renewMs: 100, onLost: (id) => lost.push(id), ...(node !== undefined ? { node } : {}) });
}

describe('durable call state', () => {
  it('GIVEN a call checkpointed by a live instance WHEN another looks for orphans THEN it is not offered; WHEN the call ends THEN its state is gone', async () => {
    const prefix = `cs${randomUUID().slice(0, 8)}`;
    const a = store(prefix, 'a');
    const b = store(prefix, 'b');
    await a.start();
    await b.start();
    const s = { ...newCall('call-1'), phase: 'ivr' as const };
    a.save(s);
    await a.flush();
    expect(await a.load('call-1')).toEqual({ callId: 'call-1', owner: 'a', state: s });
    await new Promise((r) => setTimeout(r, 500)); // longer than the lease: a renews it
    expect(await b.orphans()).toEqual([]);
    expect(await b.claim('call-1', 'a')).toBeUndefined();
    a.remove('call-1');
    await a.flush();
    expect(await a.load('call-1')).toBeUndefined();
    await a.stop({ release: true });
    await b.stop({ release: true });
  });

  it('GIVEN an instance that dies with live calls WHEN its lease runs out THEN exactly one of two instances adopts each call, and the dead one (if it was only paused) is told to let go', async () => {
    const prefix = `cs${randomUUID().slice(0, 8)}`;
    const lostByA: string[] = [];
    const a = store(prefix, 'a', lostByA);
    const b = store(prefix, 'b');
    const c = store(prefix, 'c');
    await a.start();
    const calls = ['x1', 'x2', 'x3'].map((id) => ({ ...newCall(id), phase: 'queue' as const, queue: { skill: 'general', priority: 0, queuedAt: 1 } }));
    for (const s of calls) a.save(s);
    await a.flush();
    await a.stop({ release: false }); // as a crash: the lease is left to run out
    await b.start();
    await c.start();
    const orphans = await eventually(async () => {
      const o = await b.orphans();
      expect(o.map((x) => x.callId).sort()).toEqual(['x1', 'x2', 'x3']);
      return o;
    }, 5_000);
    expect(orphans.every((o) => o.owner === 'a')).toBe(true);
    const claims = await Promise.all(orphans.flatMap((o) => [b.claim(o.callId, o.owner).then((s) => (s ? 'b' : null)), c.claim(o.callId, o.owner).then((s) => (s ? 'c' : null))]));
    // Each call has exactly one adopter.
    for (let i = 0; i < orphans.length; i++) expect([claims[2 * i], claims[2 * i + 1]].filter(Boolean)).toHaveLength(1);
    const adopted = await b.load('x1');
    expect(['b', 'c']).toContain(adopted!.owner);
    expect(adopted!.state).toEqual(calls[0]);
    // The old owner wakes up and writes: refused, and told it lost the call.
    a.save({ ...calls[0]!, phase: 'ended' as never });
    await a.flush();
    expect(lostByA).toEqual(['x1']);
    expect((await b.load('x1'))!.state.phase).toBe('queue');
    for (const st of [b, c]) await st.stop({ release: true });
  });

  it('GIVEN calls in the IVR WHEN checkpointed THEN each flow is stored once and named by reference, the states read back as they were, and a call whose flow is gone is adopted afresh', async () => {
    const prefix = `cs${randomUUID().slice(0, 8)}`;
    const a = store(prefix, 'a');
    await a.start();
    const step = createStep(testConfig('default'));
    const calls = ['f1', 'f2'].map((id) => routedCall(step, id).state);
    const flowIds = Object.keys((calls[0]!.ivr as { flows: Record<string, unknown> }).flows);
    expect(flowIds.length).toBeGreaterThan(0);
    for (const s of calls) a.save(s);
    await a.flush();
    const redis = new Redis(url);
    clients.push(redis);
    const stored = JSON.parse((await redis.hget(`${prefix}:callstate:f1`, 'state'))!) as { ivr: { flows: Record<string, unknown> } };
    expect(Object.keys(stored.ivr.flows).sort()).toEqual([...flowIds].sort());
    for (const ref of Object.values(stored.ivr.flows)) expect(ref).toEqual({ $flow: expect.stringMatching(/^[0-9a-f]{40}$/) });
    // One key per distinct flow, shared by both calls.
    const flowKeys = await redis.keys(`${prefix}:callstate-flow:*`);
    expect(flowKeys).toHaveLength(flowIds.length);
    expect(await a.load('f1')).toEqual({ callId: 'f1', owner: 'a', state: calls[0] });
    await a.stop({ release: false });
    const b = store(prefix, 'b');
    await b.start();
    await eventually(async () => expect((await b.orphans()).map((o) => o.callId).sort()).toEqual(['f1', 'f2']), 5_000);
    expect(await b.claim('f1', 'a')).toEqual(calls[0]);
    await redis.del(...flowKeys);
    expect(await b.claim('f2', 'a')).toBeUndefined();
    await b.stop({ release: true });
  });

  it('GIVEN an instance restarted with the same id WHEN it looks for orphans THEN the calls of its earlier life are offered to it, and a state of another schema version is not', async () => {
    const prefix = `cs${randomUUID().slice(0, 8)}`;
    const before = store(prefix, 'same');
    await before.start();
    before.save(newCall('y1'));
    before.save({ ...newCall('y2'), v: 99 as never });
    await before.flush();
    await before.stop({ release: false });
    await new Promise((r) => setTimeout(r, 5));
    const after = store(prefix, 'same');
    await after.start();
    expect((await after.orphans()).map((o) => o.callId).sort()).toEqual(['y1', 'y2']);
    expect(await after.claim('y1', 'same')).toEqual(newCall('y1'));
    expect(await after.claim('y2', 'same')).toBeUndefined();
    // A call of this life is not an orphan.
    after.save(newCall('y3'));
    await after.flush();
    expect((await after.orphans()).map((o) => o.callId)).not.toContain('y3');
    await after.stop({ release: true });
  });

  it('GIVEN a cluster whose server on node A dies WHEN the servers look for orphans THEN only an instance driving node A is offered its calls (node B’s own has not its channels)', async () => {
    const prefix = `cs${randomUUID().slice(0, 8)}`;
    const a = store(prefix, 'node-a', [], 'node-a');
    await a.start();
    const s = { ...newCall('node-a-1.1'), phase: 'ivr' as const };
    a.save(s);
    await a.flush();
    // The stored state names its node.
    expect(await clients.at(-1)!.hget(`${prefix}:callstate:node-a-1.1`, 'node')).toBe('node-a');
    await a.stop({ release: true });
    const ownB = store(prefix, 'node-b', [], 'node-b');
    const fosterOfA = store(prefix, 'node-b-for-node-a', [], 'node-a');
    await ownB.start();
    await fosterOfA.start();
    expect(await ownB.orphans()).toEqual([]);
    expect(await fosterOfA.orphans()).toEqual([{ callId: 'node-a-1.1', owner: 'node-a', state: s }]);
    expect(await fosterOfA.claim('node-a-1.1', 'node-a')).toEqual(s);
    await ownB.stop({ release: true });
    await fosterOfA.stop({ release: true });
  });
});

describe('one driver per Asterisk (ARI_EXCLUSIVE)', () => {
  function lock(prefix: string, instanceId: string): AriLinkLock {
    const redis = new Redis(url);
    clients.push(redis);
    return new AriLinkLock({ redis, prefix, ariUrl: 'http://127.0.0.1:8088', app: 'hotline', instanceId, leaseMs: 300, log });
  }

  it('GIVEN an instance driving the Asterisk WHEN a second starts beside it THEN it waits as a standby; it takes over when the first releases, or when the first dies and its lease runs out', async () => {
    const prefix = `lk${randomUUID().slice(0, 8)}`;
    const opened: string[] = [];
    const a = lock(prefix, 'a');
    const b = lock(prefix, 'b');
    a.start(() => opened.push('a'));
    await eventually(() => expect(opened).toEqual(['a']));
    b.start(() => opened.push('b'));
    await new Promise((r) => setTimeout(r, 700)); // a renews its lease meanwhile
    expect(opened).toEqual(['a']);
    expect(b.holding).toBe(false);
    // a clean stop releases: b takes over at its next try
    await a.stop({ release: true });
    await eventually(() => expect(opened).toEqual(['a', 'b']));
    // a third waits behind b; b dies (no release): the third takes over once b's lease ran out
    const c = lock(prefix, 'c');
    c.start(() => opened.push('c'));
    await new Promise((r) => setTimeout(r, 200));
    expect(opened).toEqual(['a', 'b']);
    await b.stop({ release: false });
    await eventually(() => expect(opened).toEqual(['a', 'b', 'c']));
    await c.stop({ release: true });
  });

  it('GIVEN a holder whose renewal is in flight (a slow Redis) WHEN it stops meanwhile THEN it never opens the link again and holds nothing', async () => {
    const prefix = `lk${randomUUID().slice(0, 8)}`;
    const opened: string[] = [];
    const a = lock(prefix, 'a');
    a.start(() => opened.push('a'));
    await eventually(() => expect(opened).toEqual(['a']));
    // Redis answers each take 250 ms late (a loaded machine): the next renewal (every 100 ms) is in flight …
    const redis = clients.at(-1)!;
    const evalNow = redis.eval.bind(redis) as (...args: unknown[]) => Promise<unknown>;
    let inFlight = 0;
    (redis as unknown as { eval: (...args: unknown[]) => Promise<unknown> }).eval = async (...args: unknown[]) => {
      inFlight++;
      const r = await evalNow(...args);
      await new Promise((res) => setTimeout(res, 250));
      return r;
    };
    await eventually(() => expect(inFlight).toBeGreaterThan(0), 2000, 5);
    // … WHEN the holder stops (no release: it died) before the renewal's answer
    await a.stop({ release: false });
    await new Promise((r) => setTimeout(r, 400));
    // THEN the answer (a renewed lease) does not make it a holder again, nor call its opener a second time
    expect(opened).toEqual(['a']);
    expect(a.holding).toBe(false);
  });
});
