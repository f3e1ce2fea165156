/**
 * Supervision orders and bulletins in Redis.
 *
 * Orders: one JSON value per order (`<p>:supervision:order:<id>`), an index by
 * creation, and one key per idempotency key (`…:order-key:<key>` → id), so an
 * automatic rule re-run by any instance, or a job delivered twice, makes one
 * order. Every write compares the version it read (a Lua script: the check and
 * the write are one step, so of two writers exactly one wins).
 *
 * Bulletins: the latest file per kind and period (`…:bulletin:<kind>:<label>`:
 * meta JSON + the file's bytes), an index by period start.
 */
import type { Redis } from 'ioredis';
import type { PeriodKind } from './model.js';
import type { SupervisionOrder } from './model.js';

// KEYS[1] key index, KEYS[2] daily sequence; ARGV[1] id prefix (DByyyymmdd).
// Reserves the id of an idempotency key (once); the order itself is written next, with SET NX,
// so a crash between the two leaves a reserved id that the next run fills.
const RESERVE = `
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 0} end
local seq = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 172800)
local id = ARGV[1] .. string.format('%04d', seq)
redis.call('SET', KEYS[1], id)
return {id, 1}
`;

// KEYS[1] order key; ARGV[1] expected version, ARGV[2] new json
const UPDATE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return -2 end
local v = cjson.decode(cur)['version']
if tonumber(v) ~= tonumber(ARGV[1]) then return v end
redis.call('SET', KEYS[1], ARGV[2])
return -1
`;

export interface BulletinMeta {
  id: string;
  kind: PeriodKind;
  label: string;
  from: number;
  to: number;
  generatedAt: number;
  generatedBy: string;
  fileName: string;
  bytes: number;
  /** The ranking's bands at generation, for the list (the file has the rest). */
  summary: { tickets: number; units: number; red: number; yellow: number; blue: number; ordersOpen: number };
}

export class SupervisionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private k(...parts: string[]): string {
    return [this.prefix, 'supervision', ...parts].join(':');
  }

  /**
   * Create the order of `key` unless one exists; `build(id)` makes it once the id is known.
   * Returns the stored order and whether it was created now.
   */
  async create(key: string, day: string, build: (id: string) => SupervisionOrder): Promise<{ order: SupervisionOrder; created: boolean }> {
    const [id] = (await this.redis.eval(RESERVE, 2, this.k('order-key', key), this.k('seq', day), `DB${day}`)) as [string, number];
    const order = build(id);
    const written = await this.redis.set(this.k('order', id), JSON.stringify(order), 'NX');
    if (written) await this.redis.zadd(this.k('orders'), order.createdAt, id);
    const stored = await this.get(id);
    if (!stored) throw new Error(`order ${id} vanished`);
    return { order: stored, created: !!written };
  }

  async get(id: string): Promise<SupervisionOrder | undefined> {
    const raw = await this.redis.get(this.k('order', id));
    return raw ? (JSON.parse(raw) as SupervisionOrder) : undefined;
  }

  async byKey(key: string): Promise<SupervisionOrder | undefined> {
    const id = await this.redis.get(this.k('order-key', key));
    return id ? this.get(id) : undefined;
  }

  /** Write `next` if the stored version is still `expected`: ok, or the current version (0 = no such order). */
  async put(expected: number, next: SupervisionOrder): Promise<{ ok: true } | { ok: false; current: number }> {
    const r = (await this.redis.eval(UPDATE, 1, this.k('order', next.id), String(expected), JSON.stringify(next))) as number;
    if (r === -1) return { ok: true };
    return { ok: false, current: r === -2 ? 0 : r };
  }

  /** Newest first. */
  async list(limit = 500): Promise<SupervisionOrder[]> {
    const ids = await this.redis.zrevrange(this.k('orders'), 0, limit - 1);
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map((id) => this.k('order', id)));
    return raws.flatMap((r) => (r ? [JSON.parse(r) as SupervisionOrder] : []));
  }

  async saveBulletin(meta: BulletinMeta, file: Buffer): Promise<void> {
    const key = this.k('bulletin', meta.id);
    await this.redis.multi().hset(key, 'meta', JSON.stringify(meta), 'file', file).zadd(this.k('bulletins'), meta.from, meta.id).exec();
  }

  async bulletins(limit = 200): Promise<BulletinMeta[]> {
    const ids = await this.redis.zrevrange(this.k('bulletins'), 0, limit - 1);
    const out: BulletinMeta[] = [];
    for (const id of ids) {
      const raw = await this.redis.hget(this.k('bulletin', id), 'meta');
      if (raw) out.push(JSON.parse(raw) as BulletinMeta);
    }
    return out.sort((a, b) => b.from - a.from || a.kind.localeCompare(b.kind));
  }

  async bulletinFile(id: string): Promise<{ meta: BulletinMeta; file: Buffer } | undefined> {
    const key = this.k('bulletin', id);
    const [raw, file] = await Promise.all([this.redis.hget(key, 'meta'), this.redis.hgetBuffer(key, 'file')]);
    return raw && file ? { meta: JSON.parse(raw) as BulletinMeta, file } : undefined;
  }
}
