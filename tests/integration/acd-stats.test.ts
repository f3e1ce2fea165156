/**
 * The wallboard's counters against a real Redis: per seat group, a call counts in
 * the groups it was queued for (offered, answered, abandoned add up), while the
 * seats' own work is `handled`; and the day by quarter hour (offered, answered,
 * abandoned, answer rate, largest queue) for the whole centre and per line.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { defaultAcdConfig } from '../../src/acd/model.js';
import type { Offer } from '../../src/acd/port.js';
import { Acd } from '../../src/acd/service.js';
import { agentEndpoint } from '../../src/acd/sip-names.js';
import { deletePrefixes } from '../../src/demo/own-redis.js';
import { eventually } from '../support/wait.js';

const url = inject('redisUrl');
const logger = pino({ level: 'silent' });

const opened: { clients: Redis[]; acds: Acd[]; prefixes: string[] } = { clients: [], acds: [], prefixes: [] };
afterEach(async () => {
  for (const a of opened.acds) await a.stop({ graceful: false }).catch(() => undefined);
  await deletePrefixes(url, opened.prefixes);
  for (const c of opened.clients) c.disconnect();
  Object.assign(opened, { clients: [], acds: [], prefixes: [] });
});

/** 2026-12-01 09:20 in Shanghai (01:20 UTC): quarter hour 37 of the city's day. */
const BASE = Date.parse('2026-12-01T09:20:00+08:00');

/** An ACD whose clock starts at BASE and runs at real speed (a test stays inside one quarter hour). */
async function newAcd(): Promise<{ acd: Acd; now: () => number; offers: Offer[] }> {
  const prefix = `test:acd-stats:${randomUUID()}:`;
  opened.prefixes.push(prefix);
  const redis = new Redis(url);
  opened.clients.push(redis);
  const t0 = Date.now();
  const now = () => BASE + (Date.now() - t0);
  const acd = new Acd({
    redis,
    keyPrefix: prefix,
    instanceId: `inst-${randomUUID().slice(0, 8)}`,
    logger,
    clock: now,
    config: defaultAcdConfig({ dialTemplate: 'Local/{ext}@hotline-test-agents', wrapUpSec: 0, dispatchIntervalMs: 40, utcOffsetMin: 480 }),
  });
  opened.acds.push(acd);
  const offers: Offer[] = [];
  // Every offered seat answers at once.
  acd.onOffer((o) => {
    offers.push(o);
    void acd.offerAnswered(o.offerId, now());
  });
  expect(
    await acd.seed({
      city: 'test',
      groups: [
        { id: 'general', name: '话务受理', kind: 'general' },
        { id: 'expert-12333', name: '人社专家', kind: 'expert', lineNumber: '12333' },
      ],
      agents: [
        { id: 'A1', name: '坐席1', extension: '9101', skills: { general: 3 }, groups: ['general'] },
        { id: 'E1', name: '专家1', extension: '9201', skills: { '12333': 3, general: 1 }, groups: ['expert-12333'] },
        { id: 'E2', name: '专家2', extension: '9202', skills: { '12333': 3, general: 1 }, groups: ['expert-12333'] },
      ],
    }),
  ).toEqual({ ok: true });
  await acd.start();
  return { acd, now, offers };
}

async function online(acd: Acd, id: string, ext: string): Promise<void> {
  await acd.onContact({ aor: agentEndpoint(ext), endpoint: agentEndpoint(ext), status: 'Reachable', registered: true });
  expect(await acd.login(id)).toEqual({ ok: true, state: 'available' });
}

describe('wallboard counters per seat group and by quarter hour', () => {
  it('GIVEN three general calls and one 12333 call WHEN one general caller abandons and experts also take a general call THEN each seat group counts the calls queued for it, and its seats’ work as handled', async () => {
    const { acd, now, offers } = await newAcd();
    // GIVEN four callers waiting and nobody online
    for (const id of ['g1', 'g2', 'g3']) await acd.enqueue({ callId: id, skill: 'general', priority: 0, joinedAt: now(), lineNumber: '12345' });
    await acd.enqueue({ callId: 'x1', skill: '12333', priority: 0, joinedAt: now(), lineNumber: '12333' });
    await acd.dispatchOnce();
    // WHEN g3 hangs up, A1 comes online, then the two experts
    await acd.leave('g3', 'abandoned', now());
    await online(acd, 'A1', '9101');
    await eventually(() => expect(offers).toHaveLength(1));
    await online(acd, 'E1', '9201');
    await online(acd, 'E2', '9202');
    await eventually(() => expect(offers).toHaveLength(3));
    const stats = await eventually(async () => {
      const s = await acd.stats(now());
      expect(s.all.answered).toBe(3);
      return s;
    });

    // THEN general: 3 offered = 2 answered + 1 abandoned (one answered by an expert), its seat handled 1
    expect(stats.groups['general']).toMatchObject({ offered: 3, answered: 2, abandoned: 1, handled: 1 });
    expect(stats.groups['general']!.answerRate).toBeCloseTo(2 / 3, 6);
    // AND expert-12333: its own line's call, and its seats handled two calls
    expect(stats.groups['expert-12333']).toMatchObject({ offered: 1, answered: 1, abandoned: 0, handled: 2, answerRate: 1 });
    expect(stats.lines['12345']).toMatchObject({ offered: 3, answered: 2, abandoned: 1 });
    expect(stats.lines['12333']).toMatchObject({ offered: 1, answered: 1, abandoned: 0 });
    expect(stats.all).toMatchObject({ offered: 4, answered: 3, abandoned: 1 });
  });

  it('GIVEN calls at 09:20 city time WHEN the series is read THEN it has the quarter hours since midnight with the counts, rates and the largest queue in quarter 37', async () => {
    const { acd, now, offers } = await newAcd();
    // GIVEN three callers waiting at once on two lines
    await acd.enqueue({ callId: 'a', skill: 'general', priority: 0, joinedAt: now(), lineNumber: '12345' });
    await acd.enqueue({ callId: 'b', skill: 'general', priority: 0, joinedAt: now(), lineNumber: '12345' });
    await acd.enqueue({ callId: 'c', skill: '12333', priority: 0, joinedAt: now(), lineNumber: '12333' });
    // A router run that sees all three: the ACD's own periodic run may hold the lock at this moment
    // (dispatchOnce is then false), and it may have read the queue before the third caller came.
    await eventually(async () => expect(await acd.dispatchOnce()).toBe(true));
    // WHEN one abandons and the others are answered
    await acd.leave('b', 'abandoned', now());
    await online(acd, 'A1', '9101');
    await online(acd, 'E1', '9201');
    await eventually(() => expect(offers).toHaveLength(2));
    await eventually(async () => expect((await acd.stats(now())).all.answered).toBe(2));

    const s = await acd.series(now());
    // THEN 38 quarters (00:00 … 09:15-09:30), starting at the city's midnight
    expect(s.day).toBe('2026-12-01');
    expect(s.from).toBe(Date.parse('2026-12-01T00:00:00+08:00'));
    expect(s.quarters).toBe(38);
    expect(s.target).toBe(0.98);
    expect(s.all.offered).toHaveLength(38);
    expect(s.all.offered[37]).toBe(3);
    expect(s.all.answered[37]).toBe(2);
    expect(s.all.abandoned[37]).toBe(1);
    expect(s.all.answerRate[37]).toBeCloseTo(2 / 3, 6);
    expect(s.all.answerRate[36]).toBeNull();
    expect(s.all.queueMax[37]).toBe(3);
    expect(s.all.offered.slice(0, 37).every((n) => n === 0)).toBe(true);
    // AND per line
    expect(s.lines['12345']!.queueMax[37]).toBe(2);
    expect(s.lines['12345']!.answerRate[37]).toBe(0.5);
    expect(s.lines['12333']!.queueMax[37]).toBe(1);
    expect(s.lines['12333']!.answerRate[37]).toBe(1);

    // AND a past day has all 96 quarters, empty here
    const before = await acd.series(now(), '2026-11-30');
    expect(before.quarters).toBe(96);
    expect(before.all.offered.reduce((a, b) => a + b, 0)).toBe(0);
  });
});
