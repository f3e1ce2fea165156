/**
 * An ended call's stored state (calls/durable-store.ts) goes only once its record is on disk in the
 * tickets outbox, in both PBX modes. If the spool cannot be written the state stays, so the next
 * instance adopts the call and submits its record: a call ends as one ticket or is still stored,
 * never neither.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { CallState } from '../../src/calls/state.js';
import { redisKey } from '../../src/util/redis-keys.js';
import { jobsForCall, sessionByCaller, useHarness } from '../support/harness.js';
import { uniquePrefix } from '../support/pbx.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the state of an ended call', () => {
  it('GIVEN a call WHEN it ends THEN its state goes after its record is spooled; GIVEN a spool that cannot be written THEN the state stays and the next instance turns the call into its one ticket', async () => {
    const dataDir = mkdtempSync(join(inject('runDir'), 'ended-state-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const prefix = uniquePrefix('ended');
    const env = { HOTLINE_DATA_DIR: dataDir, HOTLINE_KEY_PREFIX: prefix };
    const redis = new Redis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const stored = async (callId: string) => {
      const json = await redis.hget(redisKey(prefix, 'callstate', callId), 'state');
      return json ? (JSON.parse(json) as CallState) : undefined;
    };

    // An ordinary call: stored while it runs, gone once it ended and its ticket job exists.
    const first = await h.startApp(env, { instanceId: 'first' });
    const one = await h.side.call('12345', '13800138051');
    await one.answered();
    const s1 = await sessionByCaller(first, '13800138051');
    await eventually(async () => expect((await stored(s1.callId))?.phase).toBe('ivr'));
    await one.hangup();
    await one.ended();
    await eventually(async () => expect(await jobsForCall(first, s1.callId)).toHaveLength(1));
    await eventually(async () => expect(await stored(s1.callId)).toBeUndefined());

    // The spool folder becomes a file: nothing can be written into it.
    const spool = join(dataDir, 'outbox', 'first');
    rmSync(spool, { recursive: true, force: true });
    writeFileSync(spool, 'not a folder');
    const two = await h.side.call('12345', '13800138052');
    await two.answered();
    const s2 = await sessionByCaller(first, '13800138052');
    await eventually(() => expect(h.side.heard(s2.callId)).toContain('sound:hotline/welcome'));
    await two.hangup();
    await two.ended();
    await eventually(() => expect(s2.isEnded).toBe(true));
    // Long enough for the checkpoint writer (25 ms), the linger (50 ms) and a failed write.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await stored(s2.callId))?.phase).toBe('ivr');
    expect(await jobsForCall(first, s2.callId)).toHaveLength(0);

    // The next instance (the folder fixed) adopts what is stored: the caller is gone, so the call
    // ends there and its record becomes the one ticket job.
    await h.stopApp(first);
    rmSync(spool, { force: true });
    const next = await h.startApp(env, { instanceId: 'next' });
    await eventually(async () => {
      const jobs = await jobsForCall(next, s2.callId);
      expect(jobs).toHaveLength(1);
      expect(jobs[0]!.data.record.recovered).toBe(true);
    }, 20_000);
    await eventually(async () => expect(await stored(s2.callId)).toBeUndefined());
    expect(await jobsForCall(next, s1.callId)).toHaveLength(1);
  });
});
