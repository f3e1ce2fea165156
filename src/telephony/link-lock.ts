/**
 * One driver per Asterisk: Asterisk gives a Stasis application's events to the last websocket that
 * registered it, so a second instance connecting to the same Asterisk would silently take the calls'
 * events from the first. With the lock (ARI_EXCLUSIVE) an instance started beside the one that drives
 * the Asterisk waits as a standby: it runs everything but the PBX link, and opens the link when the
 * holder stops (released) or dies (its lease runs out) — then it adopts the dead one's calls once their
 * call-state lease runs out too (calls/durable-store.ts).
 *
 * @remarks
 * `P:ari-link:<hash of ARI URL and app>` = holder's instance id, with a lease renewed every third of it.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisKey } from '../util/redis-keys.js';

/** KEYS: lock. ARGV: me, leaseMs. 1 = held by me now; 0 = held by another. */
const TAKE = `
local o = redis.call('GET', KEYS[1])
if o and o ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

export interface LinkLockOptions {
  redis: Redis;
  prefix: string;
  ariUrl: string;
  app: string;
  instanceId: string;
  leaseMs: number;
  log: Logger;
}

export class AriLinkLock {
  readonly key: string;
  private timer: NodeJS.Timeout | undefined;
  private held = false;
  private stopped = false;
  private lastHolder: string | undefined;

  constructor(private readonly o: LinkLockOptions) {
    const node = createHash('sha256').update(`${o.ariUrl.replace(/\/+$/, '')}|${o.app}`).digest('hex').slice(0, 16);
    this.key = redisKey(o.prefix, 'ari-link', node);
  }

  /** This instance drives the Asterisk now. */
  get holding(): boolean {
    return this.held;
  }

  /**
   * Take the lock as soon as it is free and keep it; `onAcquired` runs once, when it is first taken.
   * Returns at once (a standby keeps trying in the background).
   */
  start(onAcquired: () => void): void {
    const every = Math.max(100, Math.floor(this.o.leaseMs / 3));
    const tick = async () => {
      if (this.stopped) return;
      let mine = false;
      try {
        mine = Number(await this.o.redis.eval(TAKE, 1, this.key, this.o.instanceId, String(this.o.leaseMs))) === 1;
        // Stopped while the take was in flight: a stopped lock never opens the link (its holder is shutting down).
        if (this.stopped) return;
      } catch (err) {
        // Redis away: a holder keeps driving (its lease may run out meanwhile; the standby's take then wins
        // and this one hears of it at the next renewal), a standby keeps waiting.
        this.o.log.warn({ err: (err as Error).message }, 'ARI link lock not renewed');
        return;
      }
      if (mine && !this.held) {
        this.held = true;
        this.o.log.info({ key: this.key, after: this.lastHolder ?? null }, 'ARI link lock taken: this instance drives the Asterisk');
        onAcquired();
      } else if (!mine) {
        const holder = (await this.o.redis.get(this.key).catch(() => null)) ?? undefined;
        if (this.held) this.o.log.error({ holder }, 'ARI link lock taken by another instance while this one held it (stalled longer than the lease?)');
        else if (holder !== this.lastHolder) this.o.log.info({ holder }, 'standby: another instance drives this Asterisk; waiting for its lock');
        this.lastHolder = holder;
      }
    };
    void tick();
    this.timer = setInterval(() => void tick(), every);
    this.timer.unref();
  }

  /** Stop renewing; `release` gives the lock up at once (a clean stop: a standby takes over without waiting). */
  async stop(opts: { release: boolean }): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    if (opts.release && this.held) await this.o.redis.eval(RELEASE, 1, this.key, this.o.instanceId).catch(() => undefined);
    this.held = false;
  }
}
