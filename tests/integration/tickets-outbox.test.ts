/**
 * The ticket outbox's group commit against a real, throwaway redis-server: submits that arrive
 * together share spool files (one fsync each) and one addBulk, and nothing is lost or doubled when
 * Redis is away, when a group's delivery is retried, or when a spool of the older one-file-per-job
 * format is left from before an upgrade.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { OWNER_FILE, TicketOutbox } from '../../src/tickets/outbox.js';
import { createTicketsQueue, ticketJobId } from '../../src/tickets/queue.js';
import { logTee } from '../support/log-capture.js';
import { OwnRedis } from '../support/redis-server.js';
import { callRecord } from '../support/tickets.js';
import { eventually } from '../support/wait.js';

const cleanups: Array<() => Promise<void> | void> = [];
/** The outbox's log lines of this file (also checked by log-capture for leaked numbers). */
const { stream: sink, lines } = logTee();
const logger = () => createLogger({ level: 'info', destination: sink });
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setUp(lingerMs?: number, addTimeoutMs = 1000) {
  const redis = await OwnRedis.create();
  cleanups.push(() => redis.destroy());
  const u = new URL(redis.url);
  // As src/app.ts: producers fail fast while Redis is away, the outbox keeps the job.
  const queue = createTicketsQueue({ host: u.hostname, port: Number(u.port), enableOfflineQueue: false, maxRetriesPerRequest: 1 }, `outbox${process.pid}`);
  queue.on('error', () => undefined);
  cleanups.push(() => queue.close());
  await queue.waitUntilReady();
  // A root of its own, as the server's <dataDir>/outbox: the outbox claims the spool files of dead
  // siblings, and under tmpdir() itself those would be other runs' leftover test folders.
  const root = mkdtempSync(join(tmpdir(), 'hotline-outbox-test-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'instance');
  const outbox = new TicketOutbox({ dir, sink: queue, logger: logger(), addTimeoutMs, ...(lingerMs !== undefined ? { lingerMs } : {}) });
  await outbox.init();
  cleanups.push(() => outbox.stop());
  const spooledJobs = () =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'))
      .map((l) => (JSON.parse(l) as { jobId: string }).jobId);
  const jobIds = async () => (await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed'])).map((j) => j.id).sort();
  return { redis, queue, dir, outbox, spooledJobs, jobIds };
}

describe('ticket outbox group commit', () => {
  it('GIVEN Redis is up WHEN 40 calls end at once THEN each is queued once, in two groups (one fsync and one addBulk each), and a second submit of a call adds nothing', async () => {
    const { outbox, dir, jobIds } = await setUp();
    const records = Array.from({ length: 40 }, (_, i) => callRecord(`1390000${String(i).padStart(4, '0')}`, Date.now()));
    lines.length = 0;
    const results = await Promise.all(records.map((r) => outbox.submit(r)));
    expect(results).toEqual(records.map(() => 'queued'));
    // The first submit starts a group at once; the other 39 of the same tick wait and share the next one.
    const groups = lines.map((l) => JSON.parse(l) as { msg: string; jobs?: number }).filter((l) => l.msg === 'ticket jobs enqueued');
    expect(groups.map((g) => g.jobs)).toEqual([1, 39]);
    expect(await jobIds()).toEqual(records.map((r) => ticketJobId(r.callId)).sort());
    expect(readdirSync(dir).filter((f) => !f.endsWith('.tmp') && f !== OWNER_FILE)).toEqual([]);
    expect(outbox.pending).toBe(0);

    expect(await outbox.submit(records[0]!)).toBe('queued');
    expect(await jobIds()).toHaveLength(40);
  });

  it('GIVEN a linger of 200 ms WHEN 6 calls end 20 ms apart THEN the first waits for the others: one group, one addBulk, each call queued once', async () => {
    const { outbox, dir, jobIds } = await setUp(200);
    const records = Array.from({ length: 6 }, (_, i) => callRecord(`1390001${String(i).padStart(4, '0')}`, Date.now()));
    lines.length = 0;
    const submits: Promise<'queued' | 'spooled'>[] = [];
    for (const r of records) {
      submits.push(outbox.submit(r));
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(await Promise.all(submits)).toEqual(records.map(() => 'queued'));
    const groups = lines.map((l) => JSON.parse(l) as { msg: string; jobs?: number }).filter((l) => l.msg === 'ticket jobs enqueued');
    expect(groups.map((g) => g.jobs)).toEqual([6]);
    expect(await jobIds()).toEqual(records.map((r) => ticketJobId(r.callId)).sort());
    expect(readdirSync(dir).filter((f) => f !== OWNER_FILE)).toEqual([]);
  });

  it('GIVEN Redis is down WHEN calls end THEN their jobs are durable in the spool; WHEN Redis is back THEN the flush delivers each exactly once', async () => {
    const { redis, outbox, spooledJobs, jobIds } = await setUp();
    await redis.stop();
    const records = Array.from({ length: 30 }, (_, i) => callRecord(`1380000${String(i).padStart(4, '0')}`, Date.now()));
    const results = await Promise.all(records.map((r) => outbox.submit(r)));
    expect(results).toEqual(records.map(() => 'spooled'));
    expect(spooledJobs().sort()).toEqual(records.map((r) => ticketJobId(r.callId)).sort());
    expect(outbox.pending).toBe(30);

    await redis.start();
    await eventually(async () => expect(await outbox.flush()).toBe(0), 20_000, 200);
    expect(await jobIds()).toEqual(records.map((r) => ticketJobId(r.callId)).sort());
    expect(spooledJobs()).toEqual([]);
    expect(outbox.pending).toBe(0);
    // A flush that finds nothing adds nothing.
    expect(await outbox.flush()).toBe(0);
    expect(await jobIds()).toHaveLength(30);
  });

  it('GIVEN Redis holds every write (CLIENT PAUSE WRITE) WHEN calls end THEN spool() resolves once their jobs are on disk, not waiting for Redis; WHEN Redis writes again THEN each job is queued once', async () => {
    // A delivery that would wait up to 20 s for Redis: the call path must not.
    const { redis, outbox, spooledJobs, jobIds } = await setUp(undefined, 20_000);
    const admin = new Redis(redis.url);
    cleanups.push(async () => {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
    });
    await admin.call('CLIENT', 'PAUSE', '20000', 'WRITE');
    const records = Array.from({ length: 12 }, (_, i) => callRecord(`1360000${String(i).padStart(4, '0')}`, Date.now()));
    lines.length = 0;
    await Promise.all(records.map((r) => outbox.spool(r)));
    // Resolved while every delivery is still held by Redis: the jobs are in the spool, none in Redis, none given up.
    const ids = records.map((r) => ticketJobId(r.callId)).sort();
    expect(spooledJobs().sort()).toEqual(ids);
    // Read on a connection of its own: the queue's is held behind its paused add.
    expect(await admin.exists(...ids.map((id) => `outbox${process.pid}:tickets:${id}`))).toBe(0);
    expect(outbox.pending).toBe(12);
    expect(lines.filter((l) => l.includes('kept in outbox'))).toEqual([]);

    await admin.call('CLIENT', 'UNPAUSE');
    await eventually(async () => expect(await jobIds()).toEqual(ids), 10_000, 50);
    await eventually(() => {
      expect(spooledJobs()).toEqual([]);
      expect(outbox.pending).toBe(0);
    }, 10_000, 50);
  });

  it('GIVEN a spool of the older one-file-per-job format WHEN the outbox starts THEN it counts and delivers those jobs too', async () => {
    const { dir, queue, jobIds } = await setUp();
    const record = callRecord('13700001111', Date.now());
    const jobId = ticketJobId(record.callId);
    writeFileSync(join(dir, `${jobId}.json`), JSON.stringify({ record, submittedAt: Date.now() }));
    // A fresh outbox over that directory, as a restarted server would have.
    const outbox = new TicketOutbox({ dir, sink: queue, logger: logger() });
    await outbox.init();
    expect(outbox.pending).toBe(1);
    expect(await outbox.flush()).toBe(0);
    expect(await jobIds()).toEqual([jobId]);
    expect(readdirSync(dir).filter((f) => f !== OWNER_FILE)).toEqual([]);
  });
});
