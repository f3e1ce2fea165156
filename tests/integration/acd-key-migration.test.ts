/**
 * ACD keys moved from the bare prefix (`<prefix>agent:1001`) to the common layout
 * (`<prefix>:acd:agent:1001`). A deployment's seats, agents' states and statistics written under
 * the old layout are still there after the upgrade: the app renames them at start, idempotently.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAcdConfig } from '../../src/acd/model.js';
import { migrateLegacyAcdKeys } from '../../src/acd/key-migration.js';
import { Acd } from '../../src/acd/service.js';
import { deletePrefixes } from '../../src/demo/own-redis.js';
import { useHarness } from '../support/harness.js';
import { uniquePrefix } from '../support/pbx.js';

const url = inject('redisUrl');
const h = useHarness();
let redis: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(url);
});
afterAll(async () => {
  await deletePrefixes(url, prefixes);
  redis.disconnect();
});

/** Keys under `prefix` not in the new layout (`prefix:`…). */
async function legacyKeys(prefix: string): Promise<string[]> {
  return (await redis.keys(`${prefix}*`)).filter((k) => !k.startsWith(`${prefix}:`)).sort();
}

describe('ACD key layout', () => {
  it('GIVEN seats, an agent logged in and statistics under the old layout WHEN the app starts (twice) THEN they are under <prefix>:acd: and nothing is lost or left behind', async () => {
    const prefix = uniquePrefix('acdmig');
    prefixes.push(prefix);
    // The old layout, written by the ACD as it was wired before: the bare prefix.
    const legacy = new Acd({
      redis,
      keyPrefix: prefix,
      instanceId: 'old-instance',
      logger: pino({ level: 'silent' }),
      config: defaultAcdConfig({ dialTemplate: 'Local/{ext}@hotline-test-agents', requireRegistration: false }),
    });
    await legacy.start();
    expect(
      await legacy.seed({
        city: 'test',
        groups: [{ id: 'general', name: '话务受理', kind: 'general' }],
        agents: [{ id: 'mig1', name: '迁移坐席', extension: '7301', skills: { general: 3 }, groups: ['general'] }],
      }),
    ).toEqual({ ok: true });
    expect(await legacy.login('mig1')).toEqual({ ok: true, state: 'available' });
    await redis.hset(`${prefix}stats:20261206`, 'offered|all', '7');
    await legacy.stop({ graceful: false });
    const before = await legacyKeys(prefix);
    expect(before).toEqual(expect.arrayContaining([`${prefix}cfg:agents`, `${prefix}cfg:groups`, `${prefix}agent:mig1`, `${prefix}agents`, `${prefix}stats:20261206`]));
    const seatsVersion = await redis.get(`${prefix}cfg:version`);
    // Keys that expire by design (heartbeat, dispatch lock) may be gone by then; every other must arrive.
    const lasting: string[] = [];
    for (const k of before) if ((await redis.pttl(k)) === -1) lasting.push(k);

    const app = await h.startApp({ HOTLINE_KEY_PREFIX: prefix });
    expect(await legacyKeys(prefix)).toEqual([]);
    for (const k of lasting) expect(await redis.exists(`${prefix}:acd:${k.slice(prefix.length)}`), k).toBe(1);
    const agent = (await app.acd.listAgents()).find((a) => a.id === 'mig1');
    expect(agent).toMatchObject({ name: '迁移坐席', extension: '7301', groups: ['general'] });
    // The agent's runtime state came along (the new instance then applies its own rules to it, e.g. registration).
    expect((await app.acd.agents()).map((a) => a.id)).toContain('mig1');
    expect(await redis.hget(`${prefix}:acd:stats:20261206`, 'offered|all')).toBe('7');
    expect(await app.acd.seatsVersion()).toBeGreaterThanOrEqual(Number(seatsVersion));
    await h.stopApp(app);

    // Again: nothing to move, the data as it was.
    const again = await h.startApp({ HOTLINE_KEY_PREFIX: prefix });
    expect(await legacyKeys(prefix)).toEqual([]);
    expect((await again.acd.listAgents()).map((a) => a.id)).toContain('mig1');
    expect(await redis.hget(`${prefix}:acd:stats:20261206`, 'offered|all')).toBe('7');
  });

  it('GIVEN a key under both names WHEN migrating THEN the new one is kept as it is and the old one is left in place and reported', async () => {
    const prefix = uniquePrefix('acdboth');
    prefixes.push(prefix);
    const np = `${prefix}:acd:`;
    await redis.hset(`${prefix}stats:20261201`, 'offered|all', '1');
    await redis.hset(`${np}stats:20261201`, 'offered|all', '2');
    await redis.hset(`${prefix}stats:20261202`, 'offered|all', '3');
    const r = await migrateLegacyAcdKeys(redis, prefix, np);
    expect(r).toEqual({ renamed: 1, kept: [`${prefix}stats:20261201`] });
    expect(await redis.hget(`${np}stats:20261201`, 'offered|all')).toBe('2');
    expect(await redis.hget(`${prefix}stats:20261201`, 'offered|all')).toBe('1');
    expect(await redis.hget(`${np}stats:20261202`, 'offered|all')).toBe('3');
    // Run twice and concurrently: the same end state, no error.
    const [a, b] = await Promise.all([migrateLegacyAcdKeys(redis, prefix, np), migrateLegacyAcdKeys(redis, prefix, np)]);
    expect(a.renamed + b.renamed).toBe(0);
    expect(await redis.hget(`${np}stats:20261202`, 'offered|all')).toBe('3');
  });
});
