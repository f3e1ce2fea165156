/**
 * The audit log: an append-only Redis stream. Logins, failed logins, role
 * changes, routing/flow/seat changes, full-number reveals, exports and
 * recording plays. Entries name the ticket or call, never the number itself.
 */
import type { Redis } from 'ioredis';

export type AuditAction =
  | 'login'
  | 'login-failed'
  | 'logout'
  | 'password-changed'
  | 'user-created'
  | 'user-updated'
  | 'number-revealed'
  | 'ticket-exported'
  | 'routing-changed'
  | 'flow-changed'
  | 'seats-changed'
  | 'recording-played'
  | 'recording-downloaded'
  | 'recording-deleted';

export interface AuditEntry {
  id?: string;
  at: number;
  actor: string;
  action: AuditAction;
  target?: string;
  detail?: string;
  ip?: string;
}

export interface AuditPort {
  record(entry: Omit<AuditEntry, 'at' | 'id'> & { at?: number }): Promise<void>;
}

export class AuditLog implements AuditPort {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Entries kept (approximately, XADD MAXLEN ~). */
    private readonly retain = 1_000_000,
  ) {}

  private get key(): string {
    return `${this.prefix}:audit`;
  }

  async record(e: Omit<AuditEntry, 'at' | 'id'> & { at?: number }): Promise<void> {
    const fields = ['at', String(e.at ?? Date.now()), 'actor', e.actor, 'action', e.action];
    if (e.target) fields.push('target', e.target);
    if (e.detail) fields.push('detail', e.detail.slice(0, 500));
    if (e.ip) fields.push('ip', e.ip);
    await this.redis.xadd(this.key, 'MAXLEN', '~', String(this.retain), '*', ...fields);
  }

  /** Newest first, filtered by time range, action and actor. */
  async query(q: { from?: number; to?: number; action?: string; actor?: string; limit?: number } = {}): Promise<AuditEntry[]> {
    const end = q.to !== undefined ? String(q.to) : '+';
    const start = q.from !== undefined ? String(q.from) : '-';
    const limit = Math.min(q.limit ?? 100, 1000);
    const out: AuditEntry[] = [];
    let cursor = end;
    // Page backwards until enough entries match the filters.
    for (let page = 0; page < 50 && out.length < limit; page++) {
      const rows = (await this.redis.xrevrange(this.key, cursor, start, 'COUNT', 500)) as [string, string[]][];
      if (rows.length === 0) break;
      for (const [id, kv] of rows) {
        const m: Record<string, string> = {};
        for (let i = 0; i < kv.length; i += 2) m[kv[i]!] = kv[i + 1]!;
        const e: AuditEntry = {
          id,
          at: Number(m.at),
          actor: m.actor ?? '',
          action: m.action as AuditAction,
          ...(m.target ? { target: m.target } : {}),
          ...(m.detail ? { detail: m.detail } : {}),
          ...(m.ip ? { ip: m.ip } : {}),
        };
        if (q.action && e.action !== q.action) continue;
        if (q.actor && e.actor !== q.actor) continue;
        out.push(e);
        if (out.length >= limit) break;
      }
      const last = rows[rows.length - 1]![0];
      const [ms, seq] = last.split('-').map(Number) as [number, number];
      cursor = seq > 0 ? `${ms}-${seq - 1}` : `${ms - 1}`;
    }
    return out;
  }
}
