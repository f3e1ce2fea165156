/**
 * The cluster's node leases in Redis (see takeover.ts for who holds them when).
 *
 * | key                         | type   | what                                                           |
 * | --------------------------- | ------ | -------------------------------------------------------------- |
 * | `P:cluster:home:<node>`     | string | instance id of the node's own server while it lives (PX lease)  |
 * | `P:cluster:driver:<node>`   | string | instance id connected to the node's ARI app (PX lease)          |
 *
 * A lease is taken only when free or already ours (one script), renewed only while ours, released
 * only by its holder: two peers racing for a node get one winner.
 */
import type { Redis } from 'ioredis';
import { redisKey } from '../util/redis-keys.js';
import type { NodeView } from './takeover.js';

/** KEYS: the lease. ARGV: me, ms. 1 = ours now. */
const HOLD = `
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/** KEYS: the lease. ARGV: me. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export type LeaseKind = 'home' | 'driver';

export class NodeLeases {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(kind: LeaseKind, node: string): string {
    return redisKey(this.prefix, 'cluster', kind, node);
  }

  async view(node: string): Promise<NodeView> {
    const [home, driver] = await this.redis.mget(this.key('home', node), this.key('driver', node));
    return { home: home ?? null, driver: driver ?? null };
  }

  /** Take or renew a lease; false when another instance holds it. */
  async hold(kind: LeaseKind, node: string, me: string, ms: number): Promise<boolean> {
    return Number(await this.redis.eval(HOLD, 1, this.key(kind, node), me, String(ms))) === 1;
  }

  async release(kind: LeaseKind, node: string, me: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(kind, node), me);
  }
}
