/**
 * An orphaned ticket outbox is claimed (issue 20, finding 1), in both PBX modes.
 * A server instance runs in a child process on the PBX under test and a
 * private Redis; Redis goes away, three calls end (their ticket jobs spooled in
 * the child's own outbox folder), the child is SIGKILLed. The next instance
 * started on that host (another instance id, the same data directory) claims
 * the dead folder: once Redis is back every call has exactly one ticket.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { jobsForCall, useHarness } from '../support/harness.js';
import { childServerEnv, killChildren, startServerChild } from '../support/child-server.js';
import { uniquePrefix } from '../support/pbx.js';
import { OwnRedis } from '../support/redis-server.js';
import type { TestCall } from '../support/test-side.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
afterEach(() => killChildren());

const CALLERS = ['13900002001', '13900002002', '13900002003'];

/** The hotline's half (;2) of a call the test side placed, once the welcome plays on it. */
async function inWelcome(call: TestCall): Promise<string> {
  const up = await call.answered();
  const twoName = String(up.channel.name).replace(/;1$/, ';2');
  const two = await eventually(() => {
    const e = h.side.events.find((x) => x.channel?.name === twoName);
    if (!e) throw new Error('no ;2 half yet');
    return String(e.channel.id);
  });
  await eventually(() => expect(h.side.heard(two)).toContain('sound:hotline/welcome'));
  return two;
}

/** The job ids spooled in each instance's folder: group files (`.jsonl`, one job per line) and older one-job files. */
async function spooled(root: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const d of await readdir(root).catch(() => [] as string[])) {
    const ids: string[] = [];
    for (const n of await readdir(join(root, d))) {
      if (n.endsWith('.jsonl')) {
        const text = await readFile(join(root, d, n), 'utf8').catch(() => '');
        for (const line of text.split('\n').filter(Boolean)) ids.push((JSON.parse(line) as { jobId: string }).jobId);
      } else if (n.startsWith('call-') && n.endsWith('.json')) ids.push(n.slice(0, -'.json'.length));
    }
    out[d] = ids.sort();
  }
  return out;
}

describe('an orphaned outbox', () => {
  it('GIVEN calls ended while Redis was down WHEN the server is SIGKILLed and another instance starts on that host THEN it claims the dead folder and every call gets exactly one ticket', async () => {
    const redis = await OwnRedis.create();
    try {
      const prefix = uniquePrefix('orphan');
      const dataDir = `${inject('runDir')}/orphan-${prefix}`;
      const env = { REDIS_URL: redis.url, HOTLINE_KEY_PREFIX: prefix, HOTLINE_DATA_DIR: dataDir };
      const child = await startServerChild(childServerEnv(h.pbx, env));

      // Redis goes away; three citizens call and hang up in the welcome.
      await redis.stop();
      const callIds: string[] = [];
      for (const caller of CALLERS) {
        const call = await h.side.call('12345', caller);
        callIds.push(await inWelcome(call));
        await call.hangup();
        await call.ended();
      }
      const root = join(dataDir, 'outbox');
      const folder = await eventually(async () => {
        const s = await spooled(root);
        expect(Object.keys(s)).toHaveLength(1);
        const [name, files] = Object.entries(s)[0]!;
        expect(files).toHaveLength(3);
        return name;
      });
      expect(folder).toBe(child.instanceId);

      // kill -9: nothing is flushed, the folder stays behind.
      expect(await child.kill()).toEqual({ code: null, signal: 'SIGKILL' });
      expect((await spooled(root))[folder]).toHaveLength(3);

      // Redis and a new instance (another id) come back on the same host and data directory.
      await redis.start();
      const app = await h.startApp(env, { instanceId: 'successor' });
      await eventually(async () => expect((await app.tickets.list()).length).toBe(3), 30_000);
      const byCaller = new Map<string, string>();
      for (const no of await app.tickets.list()) {
        const t = (await app.tickets.get(no))!;
        byCaller.set(t.record.caller.number, t.record.callId);
        expect(t.record.instance).toBe(child.instanceId);
      }
      expect([...byCaller.keys()].sort()).toEqual(CALLERS);
      for (const id of callIds) {
        expect(await jobsForCall(app, id)).toHaveLength(1);
        expect(await app.tickets.byCall(id)).toBeTruthy();
      }
      // The dead folder is gone; the successor's own is empty.
      await eventually(async () => expect(await spooled(root)).toEqual({ successor: [] }));
      expect(app.outbox.pending).toBe(0);

      // Nothing doubles when yet another instance starts there, or the successor flushes again.
      const third = await h.startApp(env, { instanceId: 'third' });
      await third.outbox.flush();
      await app.outbox.flush();
      expect((await app.tickets.list()).length).toBe(3);
      for (const id of callIds) expect(await jobsForCall(app, id)).toHaveLength(1);
    } finally {
      await redis.destroy();
    }
  });
});
