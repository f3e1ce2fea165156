/**
 * Part 3 — tickets end to end per second (outbox.submit → BullMQ → worker → TicketStore) against a
 * real, throwaway Redis, next to BullMQ's raw add + process rate with a trivial processor, same
 * Redis, same payload, same worker concurrency, same number of producers in flight.
 */
import { numberIds } from '../src/access/number-id.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { CallRecord } from '../src/calls/record.js';
import { createLogger } from '../src/log/logger.js';
import { TicketOutbox } from '../src/tickets/outbox.js';
import { createTicketsQueue } from '../src/tickets/queue.js';
import { TicketStore } from '../src/tickets/store.js';
import { createTicketWorker } from '../src/tickets/worker.js';
import { OwnRedis } from '../src/demo/own-redis.js';
import { nullLog, ratio, round } from './stats.js';

export interface TicketsResult {
  jobsPerRound: number;
  producersInFlight: number;
  workerConcurrency: number;
  rounds: { ours: number; raw: number }[];
  warmUp: { ours: number; raw: number };
  oursPerSec: number;
  rawPerSec: number;
  /** ours / raw */
  ratio: number;
  ticketsCreated: number;
}

const JOBS = 4000;
/** Rounds measured, after one warm-up round of each path that is not counted (both paths' code is JIT-compiled by then). */
const ROUNDS = 5;
const IN_FLIGHT = 32;
const CONCURRENCY = 8;
const ROUND_CAP_MS = 60_000;

function record(i: number, round: number): CallRecord {
  const t = Date.now();
  return {
    callId: `${Math.floor(t / 1000)}.${round}${String(i).padStart(6, '0')}`,
    channelName: `PJSIP/carrier-${i.toString(16).padStart(8, '0')}`,
    caller: { number: `139${String(10_000_000 + i).slice(-8)}`, name: '' },
    dialed: '12345',
    source: 'carrier',
    route: { id: 'hotline', mode: 'hotline', skill: 'general' },
    language: 'zh',
    startedAt: t - 180_000,
    answeredAt: t - 179_000,
    agentAnsweredAt: t - 150_000,
    endedAt: t,
    endedBy: 'caller',
    outcome: 'answered',
    path: [
      { at: t - 180_000, kind: 'route', detail: 'hotline via hotline' },
      { at: t - 179_500, kind: 'prompt', detail: 'welcome recording-notice' },
      { at: t - 175_000, kind: 'dtmf', detail: '1' },
      { at: t - 175_000, kind: 'queue', detail: 'skill general priority 0' },
      { at: t - 150_000, kind: 'agent', detail: 'answered by 8001' },
    ],
    agents: ['8001'],
    handoffs: [],
    recovered: false,
    instance: 'bench',
  };
}

/** Runs `produce(i)` for i < JOBS with at most IN_FLIGHT pending; resolves when `done()` reaches JOBS. */
async function drive(produce: (i: number) => Promise<unknown>, completed: () => number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < JOBS) {
      const i = next++;
      await produce(i);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  while (completed() < JOBS) {
    if (performance.now() - t0 > ROUND_CAP_MS) throw new Error(`tickets round did not finish in ${ROUND_CAP_MS} ms (${completed()}/${JOBS})`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return (JOBS / (performance.now() - t0)) * 1000;
}

export async function runTickets(log: (s: string) => void): Promise<TicketsResult> {
  const redisServer = await OwnRedis.create();
  const u = new URL(redisServer.url);
  const conn = { host: u.hostname, port: Number(u.port) };
  const dir = mkdtempSync(join(tmpdir(), 'hotline-bench-outbox-'));
  const logger = createLogger({ level: 'info', destination: nullLog });
  const rounds: { ours: number; raw: number }[] = [];
  let ticketsCreated = 0;
  let warmUp = { ours: 0, raw: 0 };
  try {
    const rawRound = async (r: number): Promise<number> => {
      // Raw BullMQ: add + a trivial processor.
      const rawQ = new Queue(`raw${r}`, { connection: conn, prefix: `bench-raw` });
      let rawDone = 0;
      const rawW = new Worker(`raw${r}`, async () => ({ ok: true }), { connection: { ...conn, maxRetriesPerRequest: null }, prefix: 'bench-raw', concurrency: CONCURRENCY });
      rawW.on('completed', () => rawDone++);
      await rawW.waitUntilReady();
      const raw = await drive((i) => rawQ.add('call-ended', { record: record(i, r), submittedAt: Date.now() }, { jobId: `raw-${r}-${i}` }), () => rawDone);
      await rawW.close();
      await rawQ.close();
      return raw;
    };
    const oursRound = async (r: number, count: boolean): Promise<number> => {
      // Ours: the outbox (durable spool, one fsync and one addBulk per group) → the tickets queue → the ticket worker → the store.
      const prefix = `bench-ours${r}`;
      const redis = new Redis({ ...conn, maxRetriesPerRequest: 2 }); // the store's own connection, as src/tickets/feature.ts
      const store = new TicketStore(redis, prefix, '0371', numberIds('bench-number-id-key-0123456789abcdef'));
      const queue = createTicketsQueue({ ...conn, enableOfflineQueue: false, maxRetriesPerRequest: 1 }, prefix);
      let oursDone = 0;
      const worker = createTicketWorker({ connection: { ...conn, maxRetriesPerRequest: null }, prefix, store, logger, concurrency: CONCURRENCY, onTicket: (_no, _job, created) => void (created && oursDone++) });
      await worker.waitUntilReady();
      await queue.waitUntilReady();
      const outbox = new TicketOutbox({ dir: join(dir, `r${r}`), sink: queue, logger });
      await outbox.init();
      // As the call path (src/calls/feature.ts): a producer waits for its job to be on disk; the round ends when every ticket exists.
      const ours = await drive((i) => outbox.spool(record(i, r)), () => oursDone);
      if (count) ticketsCreated += oursDone;
      await worker.close();
      await queue.close();
      redis.disconnect();
      return ours;
    };
    // Round 0 warms both paths up; then the order alternates, so neither always runs on a fresher machine.
    warmUp = { raw: round(await rawRound(0), 0), ours: round(await oursRound(0, false), 0) };
    log(`  tickets warm-up: ours ${warmUp.ours}/s, raw BullMQ ${warmUp.raw}/s (not counted)`);
    for (let r = 1; r <= ROUNDS; r++) {
      let raw: number;
      let ours: number;
      if (r % 2) {
        raw = await rawRound(r);
        ours = await oursRound(r, true);
      } else {
        ours = await oursRound(r, true);
        raw = await rawRound(r);
      }
      rounds.push({ ours: round(ours, 0), raw: round(raw, 0) });
      log(`  tickets round ${r}: ours ${round(ours, 0)}/s, raw BullMQ ${round(raw, 0)}/s`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await redisServer.destroy();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const oursPerSec = median(rounds.map((r) => r.ours));
  const rawPerSec = median(rounds.map((r) => r.raw));
  return { jobsPerRound: JOBS, producersInFlight: IN_FLIGHT, workerConcurrency: CONCURRENCY, rounds, warmUp, oursPerSec, rawPerSec, ratio: ratio(oursPerSec, rawPerSec), ticketsCreated };
}
