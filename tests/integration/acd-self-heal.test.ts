/**
 * Self-healing ACD state across a Redis restart (issue 20, finding 2), in both
 * PBX modes, on a private redis-server with the append-only file on (as in
 * production): an agent is talking, two callers wait, a third asked for a
 * callback; Redis is shut down (SHUTDOWN NOSAVE, and plain SHUTDOWN) and while
 * it is away the talking caller and both waiting callers hang up, so none of
 * their queue entries or the agent's state can be settled. Once Redis is back:
 * the stale entries are dropped before any dispatch (no offer to a gone call),
 * the agent is freed, the pending callback is served, the next real caller
 * reaches the agent, and every call has exactly one ticket.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { Offer } from '../../src/acd/port.js';
import { addAgent, jobsForCall, pressAtWelcome, sessionByCaller, useHarness } from '../support/harness.js';
import { OwnRedis } from '../support/redis-server.js';
import type { TestCall } from '../support/test-side.js';
import { eventually } from '../support/wait.js';

const h = useHarness();

async function toQueue(app: App, call: TestCall, caller: string) {
  await call.answered();
  const s = await sessionByCaller(app, caller);
  await pressAtWelcome(s, call, '0');
  return s;
}

const queued = (s: { record: { path: { kind: string; detail: string }[] } }) =>
  expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('position'))).toBe(true);

describe('the ACD after a Redis restart', () => {
  it.each<['NOSAVE' | 'SAVE', string]>([
    ['NOSAVE', '1391000'],
    ['SAVE', '1392000'],
  ])('GIVEN queued callers, a talking agent and a pending callback WHEN Redis is shut down (%s) while those calls end and comes back THEN no offer goes to a gone call, the callback and the next caller are served, and every call has one ticket', async (mode, base) => {
    const redis = await OwnRedis.create();
    try {
      const app = await h.startApp({ REDIS_URL: redis.url });
      const offers: Offer[] = [];
      app.acd.onOffer((o) => offers.push(o));
      await addAgent(app, '5001');
      const [A, B, C, D, E] = ['1', '2', '3', '4', '5'].map((d) => `${base}000${d}`) as [string, string, string, string, string];

      // A talks with the agent; D asks for a callback; B and C wait.
      const callA = await h.side.call('12345', A);
      const sA = await toQueue(app, callA, A);
      await eventually(() => expect(sA.record.agents).toEqual(['5001']));
      const callD = await h.side.call('12345', D);
      const sD = await toQueue(app, callD, D);
      await eventually(() => queued(sD));
      await new Promise((r) => setTimeout(r, 1100)); // CALLBACK_OFFER_AFTER_SEC=1 in tests
      await callD.press('1');
      await callD.ended();
      await eventually(async () => expect(await jobsForCall(app, sD.callId)).toHaveLength(1));
      const callB = await h.side.call('12345', B);
      const sB = await toQueue(app, callB, B);
      const callC = await h.side.call('12345', C);
      const sC = await toQueue(app, callC, C);
      await eventually(() => (queued(sB), queued(sC)));
      const gone = new Set([sA.callId, sB.callId, sC.callId]);
      expect((await app.acd.store.entries()).map((e) => e.callId).sort()).toEqual([sB.callId, sC.callId, sD.callId].sort());

      // WHEN Redis goes away and the three calls end meanwhile
      await redis.shutdown(mode);
      await eventually(() => expect(app.redis.status).not.toBe('ready'));
      for (const c of [callB, callC, callA]) await c.hangup();
      for (const c of [callB, callC, callA]) await c.ended();
      await eventually(() => expect(app.calls.active).toHaveLength(0));
      await eventually(() => expect(app.outbox.pending).toBe(3));
      const offersBefore = offers.length;

      // AND Redis comes back (the append-only file restores what it held)
      await redis.start();
      await eventually(() => expect(app.outbox.pending).toBe(0), 20_000);
      // THEN the gone calls' entries are dropped and the agent is freed; the callback is kept
      await eventually(async () => expect((await app.acd.store.entries()).map((e) => e.callId).filter((id) => gone.has(id))).toEqual([]), 20_000);
      // The callback is served first (it kept its place): agent rung, then the citizen.
      await eventually(() => expect(h.side.agentLegs.has(D)).toBe(true), 30_000);
      await new Promise((r) => setTimeout(r, 200));
      await h.side.agentHangsUp(D);
      await eventually(async () => expect((await app.acd.agents()).find((a) => a.id === '5001')?.state).toBe('available'), 20_000);

      // AND the next real caller reaches the available agent
      const callE = await h.side.call('12345', E);
      const sE = await toQueue(app, callE, E);
      await eventually(() => expect(sE.record.agents).toEqual(['5001']), 30_000);
      await callE.hangup();
      await callE.ended();

      // No offer ever went to a gone call after the restart; only the callback's and E's.
      const after = offers.slice(offersBefore);
      expect(after.filter((o) => gone.has(o.callId))).toEqual([]);
      expect(after.map((o) => o.callId)).toEqual([sD.callId, sE.callId]);
      const metrics = await app.metrics.render();
      expect(metrics).toMatch(/hotline_acd_healed_total\{kind="drop-entry"\} 2/);
      expect(metrics).toMatch(/hotline_acd_healed_total\{kind="free-agent"\} 1/);

      // 0 tickets lost or doubled: A, B, C (spooled), D (with its callback attached), E.
      for (const s of [sA, sB, sC, sD, sE]) {
        await eventually(async () => expect(await app.tickets.byCall(s.callId)).toBeTruthy(), 20_000);
        expect(await jobsForCall(app, s.callId)).toHaveLength(1);
      }
      // The list index is written with the domain ticket, a step after the call id's index (store.ts).
      await eventually(async () => {
        const records = await Promise.all((await app.tickets.list()).map(async (no) => (await app.tickets.get(no))!.record.callId));
        expect(records.sort()).toEqual([sA, sB, sC, sD, sE].map((s) => s.callId).sort());
      }, 20_000);
      const ticketD = (await app.tickets.get((await app.tickets.byCall(sD.callId))!))!;
      await eventually(async () => expect((await app.tickets.get(ticketD.ticketNo))?.callbacks).toHaveLength(1), 15_000);
    } finally {
      await redis.destroy();
    }
  });
});
