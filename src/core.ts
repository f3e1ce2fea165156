/**
 * The core every feature builds on: configuration, logger, instance id, the shared Redis connection
 * (lazy: nothing connects before start), the Prometheus registry and the clock. It is the first
 * feature of the list: it connects Redis at start and disconnects it last.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import type { defaultAcdConfig } from './acd/model.js';
import type { CallFlow, RouteDecision } from './calls/ports.js';
import type { CallSource } from './calls/record.js';
import type { Config } from './config/index.js';
import type { Feature } from './features.js';
import { createLogger, type Logger } from './log/logger.js';
import { Metrics } from './metrics/index.js';
import type { ReviewedReplySink } from './supervision/index.js';
import { redisConnectionOptions, type RedisConnectionOptions } from './util/redis-connection.js';

export interface AppOptions {
  /** Where an approved (reviewed) reply goes upstream; see supervision/index.ts. */
  reviewedReply?: ReviewedReplySink;
  /** Where logs go (tests capture them); default stdout. */
  logDestination?: DestinationStream;
  instanceId?: string;
  /** Run the ticket worker in this process (default true). */
  ticketWorker?: boolean;
  /** Pure parts; default to the real modules. Tests may pass their own flows/tables. */
  flow?: CallFlow;
  resolveRoute?: (q: { dialed: string; source: CallSource; at: Date; area?: string }) => RouteDecision;
  /** ACD tuning beyond the configuration (tests shorten timings). */
  acdOverrides?: Parameters<typeof defaultAcdConfig>[0];
  /** Backoff of the ARI supervision loop (tests use short ones). */
  ariBackoff?: { initialMs: number; maxMs: number };
  outboxRetryMs?: number;
  /** The clock calls are routed and recorded by (tests move it into a transition window); also the tickets' clock. */
  now?: () => number;
  /** Lock/stall timing of the ticket worker (tests shorten them). */
  ticketWorkerLock?: { lockDurationMs: number; stalledIntervalMs: number };
  /** Lease of this instance's call states (calls/durable-store.ts; tests shorten it). */
  callStateLease?: { leaseMs: number; renewMs: number };
  /** This app drives a peer's node for its parent server (src/cluster/): no cluster duties of its own. */
  foster?: boolean;
}

export type { RedisConnectionOptions as RedisOptions } from './util/redis-connection.js';

export interface Core {
  readonly config: Config;
  readonly opts: AppOptions;
  readonly log: Logger;
  readonly instanceId: string;
  /** Prefix of every Redis key and BullMQ queue (HOTLINE_KEY_PREFIX). */
  readonly prefix: string;
  readonly redis: Redis;
  /** Connection options for the extra connections BullMQ and subscribers open. */
  readonly redisOpts: RedisConnectionOptions;
  readonly metrics: Metrics;
  /** The clock of routing, records and ticket deadlines (tests move it). */
  readonly now: () => number;
  /** Run the job workers (tickets, clocks, webhook, recordings) in this process. */
  readonly workers: boolean;
}

export function coreFeature(config: Config, opts: AppOptions): Core & Feature {
  const instanceId = opts.instanceId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
  const log = createLogger({ level: config.logLevel, ...(opts.logDestination ? { destination: opts.logDestination } : {}) }).child({
    instance: instanceId,
  });
  // REDIS_URL, or the Sentinels of REDIS_SENTINELS: every connection follows a failover (util/redis-connection.ts).
  const redisOpts = redisConnectionOptions(config);
  // Auto-pipelining: commands issued in the same tick (calls, ACD, guard) share one write. The ticket store has
  // its own connection without it (tickets/feature.ts).
  const redis = new Redis({ ...redisOpts, maxRetriesPerRequest: 2, lazyConnect: true, enableAutoPipelining: true });
  redis.on('error', (err) => log.debug({ err: err.message }, 'redis error'));
  let redisWasReady = false;
  redis.on('ready', () => {
    if (redisWasReady) log.info('redis connection restored');
    redisWasReady = true;
  });
  redis.on('end', () => log.warn('redis connection ended'));
  return {
    name: 'core',
    config,
    opts,
    log,
    instanceId,
    prefix: config.keyPrefix,
    redis,
    redisOpts,
    metrics: new Metrics(),
    now: opts.now ?? Date.now,
    workers: opts.ticketWorker !== false,
    async start() {
      await redis.connect().catch((err: Error) => log.warn({ err: err.message }, 'redis not reachable at start; retrying in background'));
    },
    async stop() {
      redis.disconnect();
      log.info('hotline server stopped');
    },
  };
}
