/**
 * Step 1 of a call's ticket (its number and stored record) is batched: the creations the ticket
 * worker's concurrent jobs ask for in one turn of the event loop go to Redis as one script call.
 * Each stays the idempotent step it is alone: one number per call, a repeated call gets its number
 * back, numbers of the day stay consecutive, and a failed call fails every creation it carried.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { numberIds } from '../../src/access/number-id.js';
import type { CallRecord } from '../../src/calls/record.js';
import { OwnRedis } from '../../src/demo/own-redis.js';
import { createLogger } from '../../src/log/logger.js';
import { createTicketsQueue, ticketJobId } from '../../src/tickets/queue.js';
import { TicketStore } from '../../src/tickets/store.js';
import { createTicketWorker } from '../../src/tickets/worker.js';
import { logTee } from '../support/log-capture.js';
import { eventually } from '../support/wait.js';

let server: OwnRedis;
let redis: Redis;
const ids = numberIds('tickets-create-batch-key-0123456789abcdef');

beforeAll(async () => {
  // Its own redis-server: the test counts script calls in Redis's command statistics.
  server = await OwnRedis.create();
  redis = new Redis(server.url, { enableAutoPipelining: true });
});
afterAll(async () => {
  redis.disconnect();
  await server.destroy();
});

// 2026-12-07 10:00 in Shanghai.
const STARTED = Date.UTC(2026, 11, 7, 2, 0, 0);

function record(callId: string, i: number): CallRecord {
  return {
    callId,
    channelName: `PJSIP/carrier-${i}`,
    caller: { number: `1390000${String(i).padStart(4, '0')}`, name: '' },
    dialed: '12345',
    source: 'carrier',
    language: 'zh',
    startedAt: STARTED,
    endedAt: STARTED + 60_000,
    path: [],
    agents: [],
    handoffs: [],
    recovered: false,
    instance: 'test',
  };
}

/** Calls of the scripts that create tickets (EVALSHA, and EVAL when Redis did not have the script yet). */
async function scriptCalls(): Promise<number> {
  const stats = await redis.info('commandstats');
  return [...stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

describe('ticket creation in batches', () => {
  it('GIVEN 25 calls ending together, 5 of them delivered twice WHEN their tickets are created in one turn THEN one script call, 25 consecutive numbers, each repeat gets its call’s number back', async () => {
    const store = new TicketStore(redis, 'batch1', '0371', ids);
    const calls = Array.from({ length: 25 }, (_, i) => record(`1765072800.${i}`, i));
    const before = await scriptCalls();
    const results = await Promise.all([...calls, ...calls.slice(0, 5)].map((r) => store.createFromCall(r, STARTED + 60_000)));
    const calls1 = (await scriptCalls()) - before;
    // The script's first use anywhere may be an EVALSHA answered NOSCRIPT and then an EVAL.
    expect(calls1).toBeGreaterThanOrEqual(1);
    expect(calls1).toBeLessThanOrEqual(2);
    const firsts = results.slice(0, 25);
    expect(firsts.every((r) => r.created)).toBe(true);
    expect(firsts.map((r) => r.ticketNo).sort()).toEqual(Array.from({ length: 25 }, (_, i) => `037120261207${String(i + 1).padStart(6, '0')}`));
    results.slice(25).forEach((r, i) => expect(r).toEqual({ ticketNo: firsts[i]!.ticketNo, created: false }));
    // Each call's record is stored under its own number, and its caller's index points at it.
    for (const [i, r] of firsts.entries()) {
      expect(await store.byCall(calls[i]!.callId)).toBe(r.ticketNo);
      expect((await store.get(r.ticketNo))?.record.caller.number).toBe(calls[i]!.caller.number);
      expect((await store.byCaller(calls[i]!.caller.number)).map((t) => t.ticketNo)).toEqual([r.ticketNo]);
    }
  });

  it('GIVEN more creations in one turn than a batch holds WHEN created THEN every call has its own number (batches of at most 64)', async () => {
    const store = new TicketStore(redis, 'batch2', '0371', ids);
    const calls = Array.from({ length: 150 }, (_, i) => record(`1765072900.${i}`, i));
    const before = await scriptCalls();
    const results = await Promise.all(calls.map((r) => store.createFromCall(r, STARTED + 60_000)));
    expect((await scriptCalls()) - before).toBe(3);
    expect(new Set(results.map((r) => r.ticketNo)).size).toBe(150);
    expect(results.every((r) => r.created)).toBe(true);
  });

  it('GIVEN Redis refuses the batch WHEN tickets are created THEN every creation in it fails (the worker retries each job) and none is half made', async () => {
    const down = new Redis(server.url, { enableAutoPipelining: true, enableOfflineQueue: false, lazyConnect: true });
    const store = new TicketStore(down, 'batch3', '0371', ids);
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => store.createFromCall(record(`1765073000.${i}`, i), STARTED)));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(await redis.keys('batch3:*')).toEqual([]);
    // Connected (its first command started the connection): the same calls are created normally.
    if (down.status !== 'ready') await new Promise((r) => down.once('ready', r));
    const again = await Promise.all(Array.from({ length: 4 }, (_, i) => store.createFromCall(record(`1765073000.${i}`, i), STARTED)));
    expect(again.map((r) => r.created)).toEqual([true, true, true, true]);
    down.disconnect();
  });

  it('GIVEN 20 ended calls queued WHEN the worker makes their tickets THEN the tickets of one turn share a log line: each call logged once, with its ticket and a masked caller', async () => {
    const { stream: sink, lines } = logTee();
    const u = new URL(server.url);
    const conn = { host: u.hostname, port: Number(u.port) };
    const store = new TicketStore(redis, 'batch4', '0371', ids);
    const queue = createTicketsQueue(conn, 'batch4');
    const calls = Array.from({ length: 20 }, (_, i) => record(`1765073100.${i}`, i));
    await queue.addBulk(calls.map((r) => ({ name: 'call-ended' as const, data: { record: r, submittedAt: STARTED }, opts: { jobId: ticketJobId(r.callId) } })));
    let made = 0;
    const worker = createTicketWorker({ connection: { ...conn, maxRetriesPerRequest: null }, prefix: 'batch4', store, logger: createLogger({ level: 'info', destination: sink }), concurrency: 8, onTicket: () => void made++ });
    try {
      await eventually(() => expect(made).toBe(20), 10_000, 20);
      // The line of the last turn is written on the turn after it.
      await eventually(() => expect(lines.length).toBeGreaterThan(0), 2_000, 10);
      await new Promise((r) => setImmediate(r));
    } finally {
      await worker.close();
      await queue.close();
    }
    const logged = lines
      .map((l) => JSON.parse(l) as { msg: string; callId?: string; ticketNo?: string; caller?: string; created?: boolean; tickets?: { callId: string; ticketNo: string; caller: string; created: boolean }[] })
      .flatMap((l) => l.tickets ?? (l.callId ? [{ callId: l.callId, ticketNo: l.ticketNo!, caller: l.caller!, created: l.created! }] : []));
    expect(logged.map((t) => t.callId).sort()).toEqual(calls.map((c) => c.callId).sort());
    expect(lines.length).toBeLessThan(20);
    // Constant messages (the counts are fields): a log search for them finds every ticket.
    for (const l of lines) expect(['ticket created', 'tickets of concurrent jobs']).toContain((JSON.parse(l) as { msg: string }).msg);
    for (const t of logged) {
      expect(t.ticketNo).toBe(await store.byCall(t.callId));
      expect(t.created).toBe(true);
      expect(t.caller).toMatch(/^139\*{4}\d{4}$/);
    }
  });
});
