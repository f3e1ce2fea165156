/**
 * Recording metadata and gaps in Redis.
 *
 * @remarks
 * Keys (all under the app's prefix):
 * - `rec:meta:<name>` hash: {@link RecordingMeta}
 * - `rec:call:<callId>` zset name → segment; `rec:ticket:<no>` set of names;
 *   `rec:call-ticket:<callId>` the call's ticket number (a segment created
 *   after the ticket still gets linked)
 * - `rec:by-start` zset name → start ms (retention scans it oldest first)
 * - `rec:nofile` set of finished recordings whose file was not seen yet
 * - `rec:gaps` list of {@link RecordingGap} (newest first, capped), `rec:gaps:count` counter
 *
 * Legal hold and deletion race through Lua: a recording being deleted cannot be
 * put on hold, and a held one cannot be claimed for deletion.
 */
import type { Redis } from 'ioredis';
import { hashToMeta, metaToHash, type RecordingGap, type RecordingMeta } from './model.js';
import { redisKey } from '../util/redis-keys.js';

const MAX_GAPS = 1000;

// KEYS: meta, call zset, by-start zset, call-ticket, ticket-set prefix (as a string). ARGV: segment, startedAt, name, fields...
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
local t = redis.call('GET', KEYS[4])
if t then
  redis.call('HSET', KEYS[1], 'ticketNo', t)
  redis.call('SADD', KEYS[5] .. t, ARGV[3])
end
return 1`;

// Update fields of an existing recording only (a late event never resurrects a deleted one).
const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`;

const CLAIM_DELETE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if redis.call('HGET', KEYS[1], 'legalHold') == '1' then return 'held' end
redis.call('HSET', KEYS[1], 'deleting', '1')
return 'ok'`;

// KEYS: meta, call zset, by-start, nofile, ticket-set prefix. ARGV: name
const FINISH_DELETE = `
local callId = redis.call('HGET', KEYS[1], 'callId')
local t = redis.call('HGET', KEYS[1], 'ticketNo')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
if t then redis.call('SREM', KEYS[5] .. t, ARGV[1]) end
if callId then redis.call('ZREM', KEYS[2] .. callId, ARGV[1]) end
return 1`;

const SET_HOLD = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if redis.call('HGET', KEYS[1], 'deleting') == '1' then return 'deleting' end
redis.call('HSET', KEYS[1], 'legalHold', '1', 'legalHoldBy', ARGV[1], 'legalHoldAt', ARGV[2], 'legalHoldReason', ARGV[3])
return 'ok'`;

const CLEAR_HOLD = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
redis.call('HSET', KEYS[1], 'legalHold', '0')
redis.call('HDEL', KEYS[1], 'legalHoldBy', 'legalHoldAt', 'legalHoldReason')
return 'ok'`;

export class RecordingStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private k(...parts: string[]): string {
    return redisKey(this.prefix, 'rec', ...parts);
  }

  /** Create the metadata of a new segment; false when a recording of that name exists already. */
  async create(m: RecordingMeta): Promise<boolean> {
    const fields = Object.entries(metaToHash(m)).flat();
    const r = await this.redis.eval(
      CREATE,
      5,
      this.k('meta', m.name),
      this.k('call', m.callId),
      this.k('by-start'),
      this.k('call-ticket', m.callId),
      this.k('ticket', ''),
      String(m.segment),
      String(m.startedAt),
      m.name,
      ...fields,
    );
    return Number(r) === 1;
  }

  /** Set fields of an existing recording; false when it does not exist (deleted, or not ours). */
  async update(name: string, patch: Partial<RecordingMeta>): Promise<boolean> {
    const fields = Object.entries(metaToHash(patch)).flat();
    if (fields.length === 0) return this.exists(name);
    return Number(await this.redis.eval(UPDATE, 1, this.k('meta', name), ...fields)) === 1;
  }

  async exists(name: string): Promise<boolean> {
    return (await this.redis.exists(this.k('meta', name))) === 1;
  }

  async get(name: string): Promise<RecordingMeta | undefined> {
    const h = await this.redis.hgetall(this.k('meta', name));
    return hashToMeta(h);
  }

  /** Forget a segment we created but Asterisk refused (its name may belong to a file that is not ours). */
  async forget(name: string): Promise<void> {
    await this.redis.eval(FINISH_DELETE, 5, this.k('meta', name), this.k('call', ''), this.k('by-start'), this.k('nofile'), this.k('ticket', ''), name);
  }

  private async many(names: string[]): Promise<RecordingMeta[]> {
    if (names.length === 0) return [];
    const p = this.redis.pipeline();
    for (const n of names) p.hgetall(this.k('meta', n));
    const rows = (await p.exec()) ?? [];
    const out: RecordingMeta[] = [];
    for (const [err, h] of rows) {
      if (err) throw err;
      const m = hashToMeta(h as Record<string, string>);
      if (m) out.push(m);
    }
    return out;
  }

  /** The segments of a call, in segment order. */
  async byCall(callId: string): Promise<RecordingMeta[]> {
    return this.many(await this.redis.zrange(this.k('call', callId), 0, -1));
  }

  /** The recordings of a ticket's call(s), by call then segment. */
  async byTicket(ticketNo: string): Promise<RecordingMeta[]> {
    const list = await this.many(await this.redis.smembers(this.k('ticket', ticketNo)));
    return list.sort((a, b) => (a.callId === b.callId ? a.segment - b.segment : a.startedAt - b.startedAt));
  }

  /** Link every segment of the call (present and future) to the ticket. */
  async linkTicket(callId: string, ticketNo: string): Promise<number> {
    await this.redis.set(this.k('call-ticket', callId), ticketNo);
    const names = await this.redis.zrange(this.k('call', callId), 0, -1);
    let n = 0;
    for (const name of names) {
      if (await this.update(name, { ticketNo })) {
        await this.redis.sadd(this.k('ticket', ticketNo), name);
        n++;
      }
    }
    return n;
  }

  /** Names started at or before `maxStartedAt`, oldest first. */
  async startedBefore(maxStartedAt: number, limit = 500, offset = 0): Promise<string[]> {
    return this.redis.zrangebyscore(this.k('by-start'), '-inf', String(maxStartedAt), 'LIMIT', offset, limit);
  }

  /** 'ok' (now marked as being deleted), 'held' (legal hold) or 'missing'. */
  async claimForDeletion(name: string): Promise<'ok' | 'held' | 'missing'> {
    return (await this.redis.eval(CLAIM_DELETE, 1, this.k('meta', name))) as 'ok' | 'held' | 'missing';
  }

  async releaseClaim(name: string): Promise<void> {
    await this.redis.eval(UPDATE, 1, this.k('meta', name), 'deleting', '0');
  }

  async finishDeletion(name: string): Promise<void> {
    await this.forget(name);
  }

  async setLegalHold(name: string, by: string, at: number, reason: string): Promise<'ok' | 'missing' | 'deleting'> {
    return (await this.redis.eval(SET_HOLD, 1, this.k('meta', name), by, String(at), reason)) as 'ok' | 'missing' | 'deleting';
  }

  async clearLegalHold(name: string): Promise<'ok' | 'missing'> {
    return (await this.redis.eval(CLEAR_HOLD, 1, this.k('meta', name))) as 'ok' | 'missing';
  }

  async markFilePending(name: string, pending: boolean): Promise<void> {
    if (pending) await this.redis.sadd(this.k('nofile'), name);
    else await this.redis.srem(this.k('nofile'), name);
  }

  async filePending(limit = 200): Promise<string[]> {
    return (await this.redis.smembers(this.k('nofile'))).slice(0, limit);
  }

  async addGap(g: RecordingGap): Promise<void> {
    await this.redis
      .multi()
      .lpush(this.k('gaps'), JSON.stringify(g))
      .ltrim(this.k('gaps'), 0, MAX_GAPS - 1)
      .incr(this.k('gaps', 'count'))
      .exec();
  }

  /** Newest first. */
  async gaps(limit = 100): Promise<RecordingGap[]> {
    const rows = await this.redis.lrange(this.k('gaps'), 0, Math.max(0, Math.min(limit, MAX_GAPS) - 1));
    return rows.map((r) => JSON.parse(r) as RecordingGap);
  }

  /** Every gap ever recorded (the list keeps only the latest {@link MAX_GAPS}). */
  async gapCount(): Promise<number> {
    return Number((await this.redis.get(this.k('gaps', 'count'))) ?? 0);
  }
}
