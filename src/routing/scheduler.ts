/**
 * Scheduled publishes: an admin prepares a table now and it is published at a
 * given time (a legacy number's cancellation date, the end of a transition
 * window). Every server instance checks; a Redis claim makes exactly one of
 * them publish it.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RoutingStore } from './store.js';

export interface ScheduledPublish {
  at: number;
  table: unknown;
  by: string;
  comment: string;
  createdAt: number;
}

export class PublishScheduler {
  private timer: NodeJS.Timeout | undefined;
  private readonly key: string;

  constructor(
    private readonly o: {
      redis: Redis;
      keyPrefix: string;
      store: RoutingStore;
      log: Logger;
      onPublished?: (version: number, s: ScheduledPublish) => void;
      checkEveryMs?: number;
      now?: () => number;
    },
  ) {
    this.key = `${o.keyPrefix}scheduled`;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  async schedule(s: ScheduledPublish): Promise<void> {
    await this.o.redis.set(this.key, JSON.stringify(s));
  }

  async get(): Promise<ScheduledPublish | undefined> {
    const raw = await this.o.redis.get(this.key);
    return raw ? (JSON.parse(raw) as ScheduledPublish) : undefined;
  }

  async cancel(): Promise<boolean> {
    return (await this.o.redis.del(this.key)) === 1;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runDue().catch((err: Error) => this.o.log.warn({ err: err.message }, 'scheduled publish check failed')), this.o.checkEveryMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Publish the scheduled table if it is due; returns the new version, if this instance published it. */
  async runDue(): Promise<number | undefined> {
    const pending = await this.get();
    if (!pending || pending.at > this.now()) return undefined;
    // Claim it: only the instance whose GETDEL returns it publishes.
    const raw = await this.o.redis.getdel(this.key);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as ScheduledPublish;
    const r = await this.o.store.publish(s.by, { table: s.table, comment: `scheduled: ${s.comment}` });
    if (!r.ok) {
      this.o.log.error({ reason: r.reason }, 'scheduled publish refused; kept for an admin to fix');
      await this.o.redis.set(`${this.key}:failed`, JSON.stringify({ ...s, reason: r.reason, ...(r.reason === 'invalid' ? { errors: r.errors } : {}) }));
      return undefined;
    }
    this.o.log.info({ version: r.version.version }, 'scheduled routing table published');
    this.o.onPublished?.(r.version.version, s);
    return r.version.version;
  }
}
