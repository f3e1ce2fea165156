/**
 * The audit log (谁管理、谁使用、谁负责): an append-only Redis stream
 * (`<prefix>:audit`). Logins, failed logins, user and role changes, password
 * changes, routing/flow/seat changes, full-number reveals, exports and
 * recording plays.
 *
 * @remarks
 * Entries name the ticket or call (`ticket:<no>`, `call:<id>`), never the
 * caller's number: free-text `detail` is scrubbed with {@link maskNumbersInText}
 * as a second line of defence. Nothing in the API can edit or delete entries;
 * the only removal is the retention trim (XADD MAXLEN ~ by count, XTRIM MINID by age).
 */
import type { Redis } from 'ioredis';
import { maskNumbersInText } from './mask-numbers.js';
import { redisKey } from '../util/redis-keys.js';

export const AUDIT_ACTIONS = [
  'login',
  'login-failed',
  'logout',
  'password-changed',
  'password-reset',
  'user-created',
  'user-updated',
  'user-role-changed',
  'user-disabled',
  'user-enabled',
  'number-revealed',
  'ticket-exported',
  'routing-changed',
  'flow-changed',
  'seats-changed',
  'webhook-changed',
  'recording-played',
  'recording-downloaded',
  'recording-deleted',
] as const;

/** Known actions; other modules may record their own kebab-case actions. */
export type AuditAction = (typeof AUDIT_ACTIONS)[number] | (string & {});

const ACTION = /^[a-z][a-z0-9-]{1,47}$/;

export interface AuditEntry {
  /** Stream id (`<ms>-<seq>`): a cursor for paging. */
  id?: string;
  /** ms since epoch */
  at: number;
  /** Username, or `system` / `cli`. */
  actor: string;
  action: AuditAction;
  /** What was acted on: `user:<name>`, `ticket:<no>`, `call:<id>`, `routing:<version>` … */
  target?: string;
  /** Free text (a reveal's reason, the fields changed); numbers are masked. */
  detail?: string;
  ip?: string;
}

export type AuditInput = Omit<AuditEntry, 'at' | 'id'> & { at?: number };

/** What other modules need: record an entry. */
export interface AuditPort {
  record(entry: AuditInput): Promise<void>;
}

export interface AuditQuery {
  /** ms since epoch, inclusive. */
  from?: number;
  /** ms since epoch, inclusive. */
  to?: number;
  action?: string;
  actor?: string;
  target?: string;
  /** Page backwards from before this entry id (exclusive): the `next` of the previous page. */
  before?: string;
  /** Default 100, at most 1000. */
  limit?: number;
}

/** Retention: a count (MAXLEN ~, approximate) and/or an age in days (MINID), whichever trims more. */
export type AuditRetention = number | { maxEntries?: number; maxAgeDays?: number };

export class AuditLog implements AuditPort {
  private readonly maxEntries: number | undefined;
  private readonly maxAgeMs: number | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    retention: AuditRetention = 1_000_000,
    private readonly now: () => number = Date.now,
  ) {
    const r = typeof retention === 'number' ? { maxEntries: retention } : retention;
    this.maxEntries = r.maxEntries && r.maxEntries > 0 ? Math.floor(r.maxEntries) : undefined;
    this.maxAgeMs = r.maxAgeDays && r.maxAgeDays > 0 ? r.maxAgeDays * 86_400_000 : undefined;
  }

  get key(): string {
    return redisKey(this.prefix, 'audit');
  }

  /** Append one entry. Rejects (and the caller must not proceed) if Redis does not take it. */
  async record(e: AuditInput): Promise<void> {
    if (!ACTION.test(e.action)) throw new Error(`audit: invalid action "${e.action}"`);
    const fields = ['at', String(e.at ?? this.now()), 'actor', clip(e.actor || 'unknown', 64), 'action', e.action];
    if (e.target) fields.push('target', clip(e.target, 200));
    if (e.detail) fields.push('detail', clip(maskNumbersInText(e.detail), 500));
    if (e.ip) fields.push('ip', clip(e.ip, 64));
    const p = this.redis.pipeline();
    if (this.maxEntries) p.xadd(this.key, 'MAXLEN', '~', String(this.maxEntries), '*', ...fields);
    else p.xadd(this.key, '*', ...fields);
    if (this.maxAgeMs) p.xtrim(this.key, 'MINID', String(this.now() - this.maxAgeMs)); // exact: usually nothing or one entry to drop
    const rows = (await p.exec()) ?? [];
    const err = rows.find(([error]) => error)?.[0];
    if (err) throw err;
  }

  /** Newest first, filtered by time range, action, actor and target. */
  async query(q: AuditQuery = {}): Promise<AuditEntry[]> {
    return (await this.page(q)).entries;
  }

  /** One page, newest first, with the cursor of the next (older) page when there may be more. */
  async page(q: AuditQuery = {}): Promise<{ entries: AuditEntry[]; next?: string }> {
    const start = q.from !== undefined ? String(q.from) : '-';
    const limit = Math.max(1, Math.min(q.limit ?? 100, 1000));
    let cursor = q.before ? previousId(q.before) : q.to !== undefined ? String(q.to) : '+';
    if (q.before && q.to !== undefined && compareIds(cursor, `${q.to}-${Number.MAX_SAFE_INTEGER}`) > 0) cursor = String(q.to);
    const out: AuditEntry[] = [];
    let last: string | undefined;
    // Page backwards until enough entries match the filters (bounded: at most 50 × 500 read).
    for (let page = 0; page < 50 && out.length < limit && cursor !== ''; page++) {
      const rows = (await this.redis.xrevrange(this.key, cursor, start, 'COUNT', 500)) as [string, string[]][];
      if (rows.length === 0) {
        last = undefined;
        break;
      }
      for (const [id, kv] of rows) {
        last = id;
        const e = toEntry(id, kv);
        if (q.action && e.action !== q.action) continue;
        if (q.actor && e.actor !== q.actor) continue;
        if (q.target && e.target !== q.target) continue;
        out.push(e);
        if (out.length >= limit) break;
      }
      cursor = previousId(last!);
      if (rows.length < 500 && out.length < limit) {
        last = undefined;
        break;
      }
    }
    return { entries: out, ...(last ? { next: last } : {}) };
  }
}

function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}

function toEntry(id: string, kv: string[]): AuditEntry {
  const m: Record<string, string> = {};
  for (let i = 0; i + 1 < kv.length; i += 2) m[kv[i]!] = kv[i + 1]!;
  return {
    id,
    at: Number(m.at ?? id.split('-')[0]),
    actor: m.actor ?? '',
    action: m.action ?? '',
    ...(m.target ? { target: m.target } : {}),
    ...(m.detail ? { detail: m.detail } : {}),
    ...(m.ip ? { ip: m.ip } : {}),
  };
}

/** The greatest stream id smaller than `id` ('' when there is none). */
function previousId(id: string): string {
  const [ms, seq] = id.split('-').map(Number) as [number, number | undefined];
  if (seq !== undefined && seq > 0) return `${ms}-${seq - 1}`;
  return ms > 0 ? `${ms - 1}-${Number.MAX_SAFE_INTEGER}` : '';
}

function compareIds(a: string, b: string): number {
  const [am, as = 0] = a.split('-').map(Number) as [number, number?];
  const [bm, bs = 0] = b.split('-').map(Number) as [number, number?];
  return am !== bm ? am - bm : as - bs;
}

/** Is this a well-formed stream id (for `before` given by clients)? */
export function isAuditCursor(x: unknown): x is string {
  return typeof x === 'string' && /^\d{1,15}-\d{1,19}$/.test(x);
}
