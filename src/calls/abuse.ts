/**
 * Abuse handling (seeds: 恶意骚扰、频繁来电): per-caller limits on calls in a
 * window and on repeated silent calls lead to a polite prompt and a lower
 * queue priority; an admin-managed block list releases a caller after a
 * notice. Never applied to linkage hand-ins (110/119/120/122) or to callers
 * without a number, and never allowed to stop a call because Redis is slow.
 *
 * @remarks
 * Callers are keyed by a keyed HMAC of their number (access/number-id.ts): no
 * phone number appears in key names, the block list shows numbers masked, and
 * an entry's id cannot be turned back into the number.
 */
import type { Redis } from 'ioredis';
import { maskNumber } from '../access/mask-numbers.js';
import { legacyNumberId, type NumberId } from '../access/number-id.js';
import { withTimeout } from '../telephony/limits.js';

export interface CallerGuardOptions {
  /** More calls than this within `windowSec` → notice and lower priority. */
  maxCalls: number;
  windowSec: number;
  /** This many silent calls (no key pressed, no agent reached) within `windowSec` → notice and lower priority. */
  maxSilent: number;
  /** Priority change for a limited caller (negative: served after others). */
  priorityDelta: number;
  /** Redis may take this long before the guard lets the call through unchecked. */
  timeoutMs?: number;
  /** Ids of numbers (keyed HMAC). */
  numberId: NumberId;
}

import type { CallGuardPort, GuardVerdict } from './abuse-port.js';
import { redisKey } from '../util/redis-keys.js';

export type { GuardVerdict };

export interface BlockEntry {
  id: string;
  masked: string;
  reason: string;
  by: string;
  at: number;
}

/** A block-list change based on an older version of the list than the one stored. */
export class StaleBlockList extends Error {
  constructor(readonly current: number) {
    super(`block list changed meanwhile (now version ${current})`);
  }
}

// KEYS[1] the list version, KEYS[2] the list; ARGV[1] the expected version ('' = any).
// Returns {1, new version}, {0, current version} (stale) or, for an unknown entry, {-1, current}.
const CHECK = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= cur then return {0, cur} end
`;
/** ARGV id, entry JSON, legacy id (an unkeyed entry of the same number is replaced). */
const BLOCK = `${CHECK}
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HDEL', KEYS[2], ARGV[4])
return {1, redis.call('INCR', KEYS[1])}`;
/** ARGV id. */
const UNBLOCK = `${CHECK}
if redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then return {-1, cur} end
return {1, redis.call('INCR', KEYS[1])}`;

const EXEMPT_SOURCES = new Set(['linkage', 'subcenter', 'callback', 'agent']);

// One script per call instead of a MULTI of five commands (a MULTI is seven commands and replies for
// the client to build and match; the guard runs for every caller between StasisStart and the prompt).
// KEYS blocked hash, the caller's call counter, the caller's silent counter; ARGV id, legacy id, window.
// Returns {blocked 0/1, calls in the window, silent calls, the legacy entry or false}.
const CHECK_CALLER = `
local blocked = redis.call('HEXISTS', KEYS[1], ARGV[1])
local count = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3], 'NX')
local silent = tonumber(redis.call('GET', KEYS[3]) or '0')
return {blocked, count, silent, redis.call('HGET', KEYS[1], ARGV[2])}
`;
// KEYS the caller's silent counter; ARGV window.
const COUNT_SILENT = `
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return 1
`;

interface GuardScripts {
  hotlineGuardCheck(blocked: string, calls: string, silent: string, id: string, legacy: string, windowSec: number): Promise<[number, number, number, string | null]>;
  hotlineGuardSilent(silent: string, windowSec: number): Promise<number>;
}

export class CallerGuard implements CallGuardPort {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly o: CallerGuardOptions,
  ) {
    if (!('hotlineGuardCheck' in redis)) {
      redis.defineCommand('hotlineGuardCheck', { numberOfKeys: 3, lua: CHECK_CALLER });
      redis.defineCommand('hotlineGuardSilent', { numberOfKeys: 1, lua: COUNT_SILENT });
    }
  }

  private get scripts(): GuardScripts {
    return this.redis as unknown as GuardScripts;
  }

  private key(...parts: string[]): string {
    return redisKey(this.prefix, 'guard', ...parts);
  }

  /** Count this call and say how to treat the caller. */
  async check(number: string, source: string): Promise<GuardVerdict> {
    if (!number || EXEMPT_SOURCES.has(source) || !/\d{5,}/.test(number)) return { action: 'ok' };
    const id = this.o.numberId(number);
    try {
      return await withTimeout(this.checkNow(id, number), this.o.timeoutMs ?? 300, 'caller guard');
    } catch {
      // A slow or absent Redis must not keep a citizen from being served.
      return { action: 'ok' };
    }
  }

  private async checkNow(id: string, number: string): Promise<GuardVerdict> {
    const legacy = legacyNumberId(number);
    const [isBlocked, count, silent, legacyEntry] = await this.scripts.hotlineGuardCheck(this.key('blocked'), this.key('calls', id), this.key('silent', id), id, legacy, this.o.windowSec);
    // An entry written before ids were keyed: moved to the keyed id now that the number is known.
    if (legacyEntry) await this.moveLegacy(legacy, id, legacyEntry);
    const blocked = Number(isBlocked) === 1 || !!legacyEntry;
    if (blocked) return { action: 'block', announce: 'caller-limit-notice' };
    if (silent >= this.o.maxSilent) return { action: 'limit', announce: 'silent-call-notice', priorityDelta: this.o.priorityDelta, reason: 'silent' };
    if (count > this.o.maxCalls) return { action: 'limit', announce: 'caller-limit-notice', priorityDelta: this.o.priorityDelta, reason: 'frequent' };
    return { action: 'ok' };
  }

  /** A call ended without a key press and without an agent: count it as silent. */
  async recordSilent(number: string, source: string): Promise<void> {
    if (!number || EXEMPT_SOURCES.has(source)) return;
    const k = this.key('silent', this.o.numberId(number));
    try {
      await withTimeout(this.scripts.hotlineGuardSilent(k, this.o.windowSec), this.o.timeoutMs ?? 300, 'caller guard');
    } catch {
      // best effort
    }
  }

  /** The block list's version: every block and unblock moves it (an admin's change names the one read). */
  async blockedVersion(): Promise<number> {
    return Number((await this.redis.get(this.key('blocked', 'version'))) ?? 0);
  }

  /**
   * Block a caller. With `expectedVersion` (the list version an admin read) only if nobody changed the
   * list meanwhile — checked in the script that writes: `{ ok: false, current }` and nothing changed.
   */
  async block(number: string, reason: string, by: string, now = Date.now(), expectedVersion?: number): Promise<BlockEntry & { version: number }> {
    const r = await this.blockIf(number, reason, by, now, expectedVersion);
    if (!r.ok) throw new StaleBlockList(r.current);
    return { ...r.entry, version: r.version };
  }

  async blockIf(number: string, reason: string, by: string, now: number, expectedVersion: number | undefined): Promise<{ ok: true; entry: BlockEntry; version: number } | { ok: false; current: number }> {
    const entry: BlockEntry = { id: this.o.numberId(number), masked: maskNumber(number), reason, by, at: now };
    const [ok, v] = (await this.redis.eval(BLOCK, 2, this.key('blocked', 'version'), this.key('blocked'), expectedVersion === undefined ? '' : String(expectedVersion), entry.id, JSON.stringify(entry), legacyNumberId(number))) as [number, number];
    return ok === 1 ? { ok: true, entry, version: v } : { ok: false, current: v };
  }

  private async moveLegacy(legacy: string, id: string, raw: string): Promise<void> {
    const entry = { ...(JSON.parse(raw) as BlockEntry), id };
    await this.redis.multi().hsetnx(this.key('blocked'), id, JSON.stringify(entry)).hdel(this.key('blocked'), legacy).exec();
  }

  async unblock(id: string): Promise<boolean> {
    const r = await this.unblockIf(id, undefined);
    return r.ok;
  }

  /** Unblock; with `expectedVersion`, only if the list is still at that version (`stale`, nothing changed). */
  async unblockIf(id: string, expectedVersion: number | undefined): Promise<{ ok: true; version: number } | { ok: false; stale: boolean; current: number }> {
    const [ok, v] = (await this.redis.eval(UNBLOCK, 2, this.key('blocked', 'version'), this.key('blocked'), expectedVersion === undefined ? '' : String(expectedVersion), id)) as [number, number];
    if (ok === 1) return { ok: true, version: v };
    return { ok: false, stale: ok === 0, current: v };
  }

  async blocked(): Promise<BlockEntry[]> {
    const all = await this.redis.hvals(this.key('blocked'));
    return all.map((v) => JSON.parse(v) as BlockEntry).sort((a, b) => b.at - a.at);
  }
}
