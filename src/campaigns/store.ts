/**
 * 回访 campaigns in Redis: the campaign (one JSON value with its `version`, changed only by a
 * compare-and-set script), its items (one hash field per ticket), and an index by creation time.
 * Keys: `P:campaign:<id>`, `P:campaign:<id>:items`, `P:campaign:all`.
 */
import type { Redis } from 'ioredis';
import type { Lang } from '../ivr/types.js';
import { redisKey } from '../util/redis-keys.js';
import type { CampaignItem, CampaignStatus } from './plan.js';

export type CampaignSource = { kind: 'tickets' } | { kind: 'period'; from: string; to: string; percent: number };

export interface Campaign {
  /** Letters only (`cmp-…`): the audit masks digit runs, and BullMQ job ids are built from it. */
  id: string;
  name: string;
  /** Who started it (every call's audit entry names them). */
  createdBy: string;
  createdAt: number;
  version: number;
  status: CampaignStatus;
  source: CampaignSource;
  /** Allowed hours as written (`09:00-12:00,14:00-20:00`, city time). */
  hours: string;
  maxAttempts: number;
  retryIntervalSec: number;
  concurrency: number;
  lang: Lang;
  updatedAt: number;
  updatedBy: string;
}

// KEYS[1] campaign; ARGV[1] expected version ('' = any), ARGV[2] new JSON (its version already bumped).
// -2 missing, -1 version mismatch (nothing written), else the new version.
const CAS = `
local cur = redis.call('GET', KEYS[1])
if not cur then return -2 end
local v = cjson.decode(cur).version
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= v then return -1 end
redis.call('SET', KEYS[1], ARGV[2])
return cjson.decode(ARGV[2]).version
`;

export class CampaignConflict extends Error {
  constructor(readonly current: number) {
    super(`campaign changed meanwhile (version ${current})`);
  }
}

export class CampaignStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  key(...parts: (string | number)[]): string {
    return redisKey(this.prefix, 'campaign', ...parts);
  }

  async create(c: Campaign, items: readonly CampaignItem[]): Promise<void> {
    const m = this.redis.multi().set(this.key(c.id), JSON.stringify(c));
    if (items.length) m.hset(this.key(c.id, 'items'), ...items.flatMap((i) => [i.ticketNo, JSON.stringify(i)]));
    await m.zadd(this.key('all'), c.createdAt, c.id).exec();
  }

  async get(id: string): Promise<Campaign | undefined> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as Campaign) : undefined;
  }

  /** Newest first. */
  async list(limit = 50): Promise<Campaign[]> {
    const ids = await this.redis.zrevrange(this.key('all'), 0, limit - 1);
    return (await Promise.all(ids.map((id) => this.get(id)))).filter((c): c is Campaign => !!c);
  }

  async ids(): Promise<string[]> {
    return this.redis.zrange(this.key('all'), 0, -1);
  }

  /**
   * Change the campaign: `fn` gets the stored one and returns the next (or undefined: no change).
   * With `expectVersion` a different stored version throws {@link CampaignConflict} and changes nothing.
   */
  async update(id: string, fn: (c: Campaign) => Omit<Campaign, 'version'> | undefined, expectVersion?: number): Promise<Campaign | undefined> {
    for (let i = 0; i < 10; i++) {
      const cur = await this.get(id);
      if (!cur) return undefined;
      if (expectVersion !== undefined && cur.version !== expectVersion) throw new CampaignConflict(cur.version);
      const changed = fn(cur);
      if (!changed) return cur;
      const nextC: Campaign = { ...changed, version: cur.version + 1 };
      const r = (await this.redis.eval(CAS, 1, this.key(id), String(cur.version), JSON.stringify(nextC))) as number;
      if (r === -2) return undefined;
      if (r >= 0) return nextC;
      if (expectVersion !== undefined) throw new CampaignConflict((await this.get(id))?.version ?? cur.version);
    }
    throw new CampaignConflict((await this.get(id))?.version ?? -1);
  }

  async items(id: string): Promise<CampaignItem[]> {
    const h = await this.redis.hgetall(this.key(id, 'items'));
    return Object.values(h)
      .map((v) => JSON.parse(v) as CampaignItem)
      .sort((a, b) => a.ticketNo.localeCompare(b.ticketNo));
  }

  async item(id: string, ticketNo: string): Promise<CampaignItem | undefined> {
    const raw = await this.redis.hget(this.key(id, 'items'), ticketNo);
    return raw ? (JSON.parse(raw) as CampaignItem) : undefined;
  }

  async putItems(id: string, items: readonly CampaignItem[]): Promise<void> {
    if (items.length === 0) return;
    await this.redis.hset(this.key(id, 'items'), ...items.flatMap((i) => [i.ticketNo, JSON.stringify(i)]));
  }
}
