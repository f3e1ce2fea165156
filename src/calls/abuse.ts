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
import { maskNumber } from '../access/mask.js';
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

export type { GuardVerdict };

export interface BlockEntry {
  id: string;
  masked: string;
  reason: string;
  by: string;
  at: number;
}

const EXEMPT_SOURCES = new Set(['linkage', 'subcenter', 'callback', 'agent']);

export class CallerGuard implements CallGuardPort {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly o: CallerGuardOptions,
  ) {}

  private key(...parts: string[]): string {
    return [this.prefix, 'guard', ...parts].join(':');
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
    const calls = this.key('calls', id);
    const legacy = legacyNumberId(number);
    const res = await this.redis
      .multi()
      .hexists(this.key('blocked'), id)
      .incr(calls)
      .expire(calls, this.o.windowSec, 'NX')
      .get(this.key('silent', id))
      .hget(this.key('blocked'), legacy)
      .exec();
    const legacyEntry = res?.[4]?.[1] as string | null | undefined;
    // An entry written before ids were keyed: moved to the keyed id now that the number is known.
    if (legacyEntry) await this.moveLegacy(legacy, id, legacyEntry);
    const blocked = Number(res?.[0]?.[1] ?? 0) === 1 || !!legacyEntry;
    const count = Number(res?.[1]?.[1] ?? 0);
    const silent = Number(res?.[3]?.[1] ?? 0);
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
      await withTimeout(this.redis.multi().incr(k).expire(k, this.o.windowSec, 'NX').exec(), this.o.timeoutMs ?? 300, 'caller guard');
    } catch {
      // best effort
    }
  }

  async block(number: string, reason: string, by: string, now = Date.now()): Promise<BlockEntry> {
    const entry: BlockEntry = { id: this.o.numberId(number), masked: maskNumber(number), reason, by, at: now };
    await this.redis.multi().hset(this.key('blocked'), entry.id, JSON.stringify(entry)).hdel(this.key('blocked'), legacyNumberId(number)).exec();
    return entry;
  }

  private async moveLegacy(legacy: string, id: string, raw: string): Promise<void> {
    const entry = { ...(JSON.parse(raw) as BlockEntry), id };
    await this.redis.multi().hsetnx(this.key('blocked'), id, JSON.stringify(entry)).hdel(this.key('blocked'), legacy).exec();
  }

  async unblock(id: string): Promise<boolean> {
    return (await this.redis.hdel(this.key('blocked'), id)) === 1;
  }

  async blocked(): Promise<BlockEntry[]> {
    const all = await this.redis.hvals(this.key('blocked'));
    return all.map((v) => JSON.parse(v) as BlockEntry).sort((a, b) => b.at - a.at);
  }
}
