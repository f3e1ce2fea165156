/**
 * The answer-rate controller changes live routing (issue 17), in both PBX modes: under the static
 * rule a peak seat takes a general call only once 20 wait or it waited 90 s; once the controller has
 * lowered the threshold (its windows showing a load the regular seats cannot carry) the waiting call
 * goes to the peak seat at once. Then the controller is switched off and gives the seat back.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { pressAtWelcome, sessionByCaller, ticketJobRecord, useHarness } from '../support/harness.js';
import { eventually } from '../support/wait.js';

const h = useHarness();

/** A peak seat (高峰应急座席): in the peak group only, so it takes overflowed calls only. */
async function addPeakAgent(app: App, id: string): Promise<void> {
  expect(await app.acd.upsertGroup({ id: 'general', name: '话务受理座席', kind: 'general' })).toEqual({ ok: true });
  expect(await app.acd.upsertGroup({ id: 'peak', name: '高峰应急座席', kind: 'peak' })).toEqual({ ok: true });
  expect(await app.acd.upsertAgent({ id, name: `座席${id}`, extension: id, skills: { general: 2 }, groups: ['peak'] })).toEqual({ ok: true });
  expect(await app.acd.login(id)).toMatchObject({ ok: true });
  expect(await app.acd.setAgentState(id, 'available')).toMatchObject({ ok: true });
}

/**
 * The last 15 minutes as the controller's windows read them: 300 general calls offered (1,200/h),
 * the ACD's per-minute counters (redis-acd.ts `win:<minute>`) — the history a real load leaves.
 */
async function seedLoad(app: App, now: number): Promise<void> {
  const last = Math.floor(now / 60_000);
  const p = app.redis.pipeline();
  for (let m = last - 14; m <= last; m++) {
    const key = app.acd.store.key(`win:${m}`);
    p.hset(key, 'offered|skill:general', 20, 'answered|skill:general', 18, 'abandoned|skill:general', 2, 'waitAnsweredMs|skill:general', 18 * 30_000, 'waitAbandonedMs|skill:general', 2 * 40_000);
    p.hset(key, 'ended|all', 18, 'talkMs|all', 18 * 200_000);
    p.expire(key, 7200);
  }
  await p.exec();
}

describe('answer-rate controller on live calls', () => {
  it('GIVEN only a peak seat free WHEN a general call waits THEN the static rule keeps it from the peak seat; WHEN the controller lowers the threshold THEN the peak seat takes it at once; switched off THEN the seat is given back', async () => {
    // The periodic tick is out of the way (600 s): the test asks for each decision itself.
    const app = await h.startApp({ CONTROLLER_INTERVAL_SEC: '600' });
    await addPeakAgent(app, '7001');
    const caller = '13900000171';
    const call = await h.side.call('12345', caller);
    await call.answered();
    const s = await sessionByCaller(app, caller);
    await pressAtWelcome(s, call, '0');
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('position'))).toBe(true));

    // The static rule: no regular seat, the call has not waited 90 s, 1 < 20 wait → not offered.
    const quiet = await app.controller.decideOnce();
    expect(quiet?.queues.find((q) => q.skill === 'general')).toMatchObject({ levelAfter: 0, why: 'no-data' });
    // Several router runs pass (dispatch every 100 ms) without an offer to the peak seat.
    await new Promise((r) => setTimeout(r, 2000));
    expect(s.record.agents).toEqual([]);
    expect((await app.acd.agents()).find((a) => a.id === '7001')?.state).toBe('available');

    // The windows show a load no regular seat carries: the controller engages.
    await seedLoad(app, Date.now());
    const entry = await app.controller.decideOnce();
    const general = entry!.queues.find((q) => q.skill === 'general')!;
    expect(general).toMatchObject({ levelBefore: 0, levelAfter: 3, why: 'engage', target: 0.98 });
    expect(general.inputs.long.offered).toBeGreaterThanOrEqual(280);
    expect(general.inputs).toMatchObject({ regularStaffed: 0, lendableStaffed: 1, waiting: 1 });
    expect(app.controller.tuning('general')).toMatchObject({ level: 3, overflowAfterSec: 0, overflowQueueLength: 0 });

    // THEN the waiting call goes to the peak seat without waiting for the static 90 s.
    await eventually(() => expect(s.record.agents).toEqual(['7001']));
    await eventually(async () => expect((await app.acd.agents()).find((a) => a.id === '7001')?.state).toBe('on-call'));
    expect(Date.now() - s.record.startedAt).toBeLessThan(90_000);

    // The decision is on the timeline with its inputs.
    const timeline = await app.controller.timeline(10, true);
    expect(timeline[0]!.queues.find((q) => q.skill === 'general')).toMatchObject({ levelAfter: 3, why: 'engage' });

    // Switched off: the tuning is gone at once and the switch's version moved.
    const sw = await app.controller.readSwitch();
    const off = await app.controller.setEnabled(false, sw.version, 'test');
    expect(off).toMatchObject({ ok: true, switch: { enabled: false, version: sw.version + 1 } });
    expect(app.controller.tuning('general')).toBeUndefined();
    expect((await app.controller.timeline(1, true))[0]!.queues.find((q) => q.skill === 'general')).toMatchObject({ levelBefore: 3, levelAfter: 0, why: 'disabled' });

    await call.hangup();
    const record = await ticketJobRecord(app, s.callId);
    expect(record.outcome).toBe('answered');
    expect(record.agents).toEqual(['7001']);
  });

  it('GIVEN the controller engaged WHEN a caller waits THEN the callback is offered at 20 s instead of 60 s, in a short announcement (no position figures), and pressing 1 keeps the place', async () => {
    // Announcements every 45 s and callbacks after 60 s, as in production.
    const app = await h.startApp({ CONTROLLER_INTERVAL_SEC: '600', QUEUE_ANNOUNCE_EVERY_SEC: '45', CALLBACK_OFFER_AFTER_SEC: '60' });
    expect(await app.acd.upsertGroup({ id: 'general', name: '话务受理座席', kind: 'general' })).toEqual({ ok: true });
    await seedLoad(app, Date.now());
    const entry = await app.controller.decideOnce();
    expect(entry!.queues.find((q) => q.skill === 'general')).toMatchObject({ levelAfter: 3, alert: true });
    expect(app.controller.tuning('general')).toMatchObject({ callbackOfferAfterSec: 20, shortAnnouncements: true });

    const caller = '13900000172';
    const call = await h.side.call('12345', caller);
    await call.answered();
    const s = await sessionByCaller(app, caller);
    await pressAtWelcome(s, call, '0');
    const queued = await eventually(() => {
      const p = s.record.path.find((x) => x.kind === 'queue' && x.detail.startsWith('position'));
      expect(p).toBeDefined();
      return p!.at;
    });
    // THEN the first announcement is the callback offer alone, long before the static 45 s / 60 s.
    const offer = await eventually(() => {
      const p = s.record.path.find((x) => x.kind === 'prompt' && x.detail.includes('callback-offer'));
      expect(p).toBeDefined();
      return p!;
    }, 40_000);
    expect(offer.detail).not.toContain('queue-position-before');
    expect(offer.at - queued).toBeLessThan(45_000);
    // WHEN the caller presses 1 THEN the callback keeps the place in the queue.
    await call.press('1');
    await call.ended();
    const record = await ticketJobRecord(app, s.callId);
    expect(record.outcome).toBe('callback-requested');
    const q = (await app.acd.queues()).find((x) => x.skill === 'general');
    expect(q).toMatchObject({ waiting: 1, callbacks: 1 });
  });
});
