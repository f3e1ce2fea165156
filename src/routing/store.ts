/**
 * Routing tables in Redis: one draft, validate-then-publish as immutable
 * numbered versions, history, rollback, an audit entry per change, and live
 * reload on every server instance through pub/sub.
 *
 * @remarks
 * Keys (all under `keyPrefix`): `draft` (JSON {version, table, baseVersion, …}),
 * `draft:seq` (draft revision counter: saves are compare-and-set on the revision),
 * `published` (current version number), `seq` (version counter), `v:<n>`
 * (a version document), `versions` (sorted set of numbers), `audit` (capped
 * list, newest first), and the pub/sub channel `events`.
 *
 * Publishing is one Lua script: check the expected current version, take the
 * next number, write the version, move `published`, append the audit entry,
 * publish the number. So a publish either happens completely or not at all,
 * and an invalid table never reaches Redis. Versions are append-only; a
 * rollback publishes a copy of an old version as a new number, so live tables
 * only ever move forward and history shows the rollback.
 *
 * Live reload: {@link RoutingStore.watch} keeps the published table in memory
 * (deep-frozen, so a call holding a reference keeps its version), refreshes on
 * each pub/sub message, after every reconnect and on a slow poll. If Redis is
 * unreachable the last table stays and routing goes on.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { diffTables, type TableDiff } from './diff.js';
import type { RoutingTable } from './model.js';
import { formatErrors, validateTable, type FieldError, type ValidateTableOptions } from './validate.js';

export type AuditAction = 'draft-save' | 'draft-discard' | 'publish' | 'publish-rejected' | 'rollback' | 'rollback-rejected';

/** Who did what, when. `changes` is the route-level diff against what it replaced. */
export interface AuditEntry {
  at: string;
  who: string;
  action: AuditAction;
  /** Version created (publish, rollback). */
  version?: number;
  /** Published version before the change. */
  fromVersion?: number;
  /** For a rollback: the version copied. */
  rollbackOf?: number;
  comment?: string;
  changes?: TableDiff;
  /** For rejected publishes/rollbacks: `field: message` lines. */
  errors?: string[];
}

export interface PublishedVersion {
  version: number;
  table: RoutingTable;
  publishedAt: string;
  publishedBy: string;
  comment?: string;
  rollbackOf?: number;
}

export type VersionSummary = Omit<PublishedVersion, 'table'> & { routes: number };

export interface Draft {
  /**
   * Revision of the draft (optimistic concurrency): taken from a counter that never goes back, so a
   * draft saved after a publish or discard never reuses a number an admin may still hold. 0: no draft.
   */
  version: number;
  /** As the admin saved it: may be invalid. */
  table: unknown;
  /** Published version the draft was started from (0: none). */
  baseVersion: number;
  updatedAt: string;
  updatedBy: string;
}

export type DraftSaved = { ok: true; errors: FieldError[]; draft: Draft };
/** Someone saved (or published, or discarded) the draft since the revision named. */
export type DraftConflict = { ok: false; reason: 'conflict'; current: number };

export type PublishResult =
  | { ok: true; version: PublishedVersion }
  | { ok: false; reason: 'invalid'; errors: FieldError[] }
  /** Someone published since the draft was based (or since `expectedVersion`). */
  | { ok: false; reason: 'conflict'; current: number }
  | { ok: false; reason: 'no-draft' }
  /** The draft was saved again since the revision the publisher named (`draftVersion`). */
  | { ok: false; reason: 'draft-conflict'; current: number }
  | { ok: false; reason: 'not-found' };

export interface RoutingStoreOptions {
  /** Command connection (not used for subscribing; `watch` duplicates it). */
  redis: Redis;
  /** e.g. `hotline:routing:zaozhuang:` */
  keyPrefix: string;
  /** Catalogues checked on publish and rollback (prompts, skills, groups, flows). */
  validate?: ValidateTableOptions;
  /**
   * The seat groups that exist now (the ACD's): queue targets and expert groups must name one. Checked on
   * every draft save, publish and rollback; not at bootstrap (a fresh install's preset comes before its seats).
   */
  seatGroups?: () => Promise<Iterable<string>>;
  /** Checks beyond the table's own (the IVR flows it carries); its errors block a publish like the others. */
  extraValidate?: (table: unknown) => FieldError[];
  /** Audit port: called after each change is committed (entries are also kept in Redis). */
  audit?: (entry: AuditEntry) => void | Promise<void>;
  /** An audit port failure does not undo a committed change; it is reported here. */
  onAuditError?: (err: unknown, entry: AuditEntry) => void;
  now?: () => number;
  /** Audit entries kept in Redis (default 1000). */
  auditLimit?: number;
}

export interface WatchOptions {
  /** Safety-net poll in ms besides pub/sub (default 5000). */
  pollMs?: number;
  /** Refresh failures (Redis down): the last table stays in use. */
  onError?: (err: unknown) => void;
  /** How long `watch` waits for the first load before resolving without a table (default 2000 ms). */
  startTimeoutMs?: number;
}

/**
 * KEYS: seq, published, versions, audit, draft
 * ARGV: expected ('' = any), sentinel, version doc, audit entry, audit limit,
 *       channel, version key prefix, draft JSON to delete if unchanged ('' = keep)
 * Returns {1, n} or {0, current}.
 */
const PUBLISH_LUA = `
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= cur then return {0, cur} end
local n = redis.call('INCR', KEYS[1])
local doc = (string.gsub(ARGV[3], ARGV[2], tostring(n)))
redis.call('SET', ARGV[7] .. n, doc)
redis.call('ZADD', KEYS[3], n, tostring(n))
redis.call('SET', KEYS[2], n)
local entry = (string.gsub(ARGV[4], ARGV[2], tostring(n)))
redis.call('LPUSH', KEYS[4], entry)
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[5]) - 1)
if ARGV[8] ~= '' and redis.call('GET', KEYS[5]) == ARGV[8] then redis.call('DEL', KEYS[5]) end
redis.call('PUBLISH', ARGV[6], n)
return {1, n}
`;

/**
 * KEYS: draft, draft revision counter. ARGV: expected revision ('' = any), the draft JSON with its
 * version first as a placeholder, the placeholder. Returns {1, new revision} or {0, current revision}.
 * The revision is read from the document's head (`{"version":n,`): no JSON decoding of the table.
 */
const SAVE_DRAFT_LUA = `
local raw = redis.call('GET', KEYS[1])
local cur = 0
if raw then cur = tonumber(string.match(raw, '^{"version":(%d+),')) or 0 end
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= cur then return {0, cur} end
local n = redis.call('INCR', KEYS[2])
local plain = string.gsub(ARGV[3], '%p', '%%%0')
redis.call('SET', KEYS[1], (string.gsub(ARGV[2], plain, tostring(n), 1)))
return {1, n}
`;

function deepFreeze<T>(x: T): T {
  if (typeof x === 'object' && x !== null && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x)) deepFreeze(v);
  }
  return x;
}

export class RoutingStore {
  private readonly redis: Redis;
  private readonly p: string;
  private readonly now: () => number;
  private readonly auditLimit: number;

  constructor(private readonly o: RoutingStoreOptions) {
    this.redis = o.redis;
    this.p = o.keyPrefix;
    this.now = o.now ?? Date.now;
    this.auditLimit = o.auditLimit ?? 1000;
  }

  private key(k: string): string {
    return this.p + k;
  }

  /** The pub/sub channel carrying published version numbers. */
  get channel(): string {
    return this.key('events');
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private async notifyAudit(entry: AuditEntry): Promise<void> {
    if (!this.o.audit) return;
    try {
      await this.o.audit(entry);
    } catch (err) {
      this.o.onAuditError?.(err, entry);
    }
  }

  private async appendAudit(entry: AuditEntry): Promise<void> {
    await this.redis.multi().lpush(this.key('audit'), JSON.stringify(entry)).ltrim(this.key('audit'), 0, this.auditLimit - 1).exec();
    await this.notifyAudit(entry);
  }

  /**
   * Every error of a table: its own (queue targets against the seat groups that exist now), then the
   * extra checks (only for a table that is itself valid).
   */
  async check(table: unknown, opts: { seatGroups?: boolean } = {}): Promise<FieldError[]> {
    const groups = opts.seatGroups !== false && this.o.seatGroups ? await this.o.seatGroups() : undefined;
    const own = validateTable(table, { ...this.o.validate, ...(groups ? { groups } : {}) });
    if (own.length > 0 || !this.o.extraValidate) return own;
    return this.o.extraValidate(table);
  }

  /** Current published version number (0: nothing published yet). */

  async publishedVersion(): Promise<number> {
    return Number((await this.redis.get(this.key('published'))) ?? 0);
  }

  async getVersion(n: number): Promise<PublishedVersion | undefined> {
    const raw = await this.redis.get(this.key(`v:${n}`));
    return raw ? (JSON.parse(raw) as PublishedVersion) : undefined;
  }

  async getPublished(): Promise<PublishedVersion | undefined> {
    const n = await this.publishedVersion();
    return n > 0 ? this.getVersion(n) : undefined;
  }

  /** Newest first. */
  async listVersions(limit = 50): Promise<VersionSummary[]> {
    const ns = await this.redis.zrevrange(this.key('versions'), 0, limit - 1);
    if (ns.length === 0) return [];
    const docs = await this.redis.mget(...ns.map((n) => this.key(`v:${n}`)));
    return docs.flatMap((raw) => {
      if (!raw) return [];
      const { table, ...meta } = JSON.parse(raw) as PublishedVersion;
      return [{ ...meta, routes: table.routes.length }];
    });
  }

  /** Newest first. */
  async auditLog(limit = 100): Promise<AuditEntry[]> {
    const raw = await this.redis.lrange(this.key('audit'), 0, limit - 1);
    return raw.map((r) => JSON.parse(r) as AuditEntry);
  }

  async getDraft(): Promise<Draft | undefined> {
    const raw = await this.redis.get(this.key('draft'));
    if (!raw) return undefined;
    const d = JSON.parse(raw) as Draft;
    // A draft saved before drafts had revisions counts as revision 0, like the script reads it.
    return { ...d, version: typeof d.version === 'number' ? d.version : 0 };
  }

  /** The draft's revision (0: no draft): what a save must name as `expectedVersion`. */
  async draftVersion(): Promise<number> {
    return (await this.getDraft())?.version ?? 0;
  }

  /**
   * Save the draft (it may be invalid, so an admin can save work in progress);
   * returns its current validation errors for inline display. With `expectedVersion` (the revision
   * the admin read, 0 for "no draft") the save is a compare-and-set in Redis: a draft saved
   * meanwhile, here or on another instance, is never overwritten (`conflict` with the current one).
   */
  async saveDraft(table: unknown, who: string): Promise<DraftSaved>;
  async saveDraft(table: unknown, who: string, expectedVersion: number | undefined): Promise<DraftSaved | DraftConflict>;
  async saveDraft(table: unknown, who: string, expectedVersion?: number): Promise<DraftSaved | DraftConflict> {
    const before = await this.getDraft();
    if (expectedVersion !== undefined && (before?.version ?? 0) !== expectedVersion) return { ok: false, reason: 'conflict', current: before?.version ?? 0 };
    const baseVersion = before?.baseVersion ?? (await this.publishedVersion());
    const beforeTable = before?.table ?? (await this.getVersion(baseVersion))?.table;
    const token = `__draft_version_${randomBytes(8).toString('hex')}__`;
    const draft = { version: token, table, baseVersion, updatedAt: this.iso(), updatedBy: who };
    const res = (await this.redis.eval(
      SAVE_DRAFT_LUA,
      2,
      this.key('draft'),
      this.key('draft:seq'),
      expectedVersion === undefined ? '' : String(expectedVersion),
      JSON.stringify(draft),
      JSON.stringify(token),
    )) as [number, number];
    if (res[0] === 0) return { ok: false, reason: 'conflict', current: res[1] };
    const saved: Draft = { ...draft, version: res[1] };
    await this.appendAudit({ at: saved.updatedAt, who, action: 'draft-save', fromVersion: baseVersion, changes: diffTables(beforeTable, table) });
    return { ok: true, errors: await this.check(table), draft: saved };
  }

  /** Start a draft from the published table (or `table`), replacing any draft. */
  async startDraft(who: string, table?: unknown): Promise<{ errors: FieldError[]; draft: Draft }> {
    await this.redis.del(this.key('draft'));
    const published = await this.getPublished();
    return this.saveDraft(table ?? published?.table ?? null, who);
  }

  async discardDraft(who: string): Promise<void> {
    const before = await this.getDraft();
    if (!before) return;
    await this.redis.del(this.key('draft'));
    await this.appendAudit({ at: this.iso(), who, action: 'draft-discard', fromVersion: before.baseVersion });
  }

  async validateDraft(): Promise<FieldError[] | undefined> {
    const d = await this.getDraft();
    return d ? this.check(d.table) : undefined;
  }

  /**
   * Validate and publish the draft (or `opts.table`) as a new version. An
   * invalid table is rejected with its errors and nothing published changes.
   * The draft is published only if nobody published since it was started
   * (`expectedVersion` overrides that check).
   */
  async publish(who: string, opts: { comment?: string; table?: unknown; expectedVersion?: number; draftVersion?: number; seatGroups?: boolean } = {}): Promise<PublishResult> {
    let table: unknown;
    let draftRaw = '';
    let expected: number | undefined = opts.expectedVersion;
    if (opts.table !== undefined) table = opts.table;
    else {
      draftRaw = (await this.redis.get(this.key('draft'))) ?? '';
      if (!draftRaw) return { ok: false, reason: 'no-draft' };
      const draft = JSON.parse(draftRaw) as Draft;
      // The table published is the one read here; its revision must be the one the publisher saw.
      const revision = typeof draft.version === 'number' ? draft.version : 0;
      if (opts.draftVersion !== undefined && revision !== opts.draftVersion) return { ok: false, reason: 'draft-conflict', current: revision };
      table = draft.table;
      expected ??= draft.baseVersion;
    }
    return this.commit(who, table, { action: 'publish', ...(opts.comment ? { comment: opts.comment } : {}), expected, draftRaw, seatGroups: opts.seatGroups !== false });
  }

  /** Publish a copy of version `to` as a new version. */
  async rollback(to: number, who: string, opts: { comment?: string; expectedVersion?: number } = {}): Promise<PublishResult> {
    const old = await this.getVersion(to);
    if (!old) return { ok: false, reason: 'not-found' };
    return this.commit(who, old.table, {
      action: 'rollback',
      rollbackOf: to,
      ...(opts.comment ? { comment: opts.comment } : {}),
      expected: opts.expectedVersion ?? (await this.publishedVersion()),
      draftRaw: '',
      seatGroups: true,
    });
  }

  /**
   * At boot: publish `table` (a city preset) if nothing is published yet;
   * otherwise keep what is there. Safe when several instances start at once.
   */
  async bootstrap(table: RoutingTable, who = 'system'): Promise<PublishedVersion> {
    const existing = await this.getPublished();
    if (existing) return existing;
    const r = await this.publish(who, { table, expectedVersion: 0, comment: `initial preset ${table.cityId}`, seatGroups: false });
    if (r.ok) return r.version;
    if (r.reason === 'invalid') throw new Error(`preset ${table.cityId} is invalid:\n  ${formatErrors(r.errors).join('\n  ')}`);
    const now = await this.getPublished();
    if (!now) throw new Error(`bootstrap of ${table.cityId} failed: ${r.reason}`);
    return now;
  }

  private async commit(
    who: string,
    table: unknown,
    c: { action: 'publish' | 'rollback'; comment?: string; rollbackOf?: number; expected: number | undefined; draftRaw: string; seatGroups: boolean },
  ): Promise<PublishResult> {
    const at = this.iso();
    const current = await this.publishedVersion();
    const currentTable = current > 0 ? (await this.getVersion(current))?.table : undefined;
    const meta = { ...(c.comment ? { comment: c.comment } : {}), ...(c.rollbackOf !== undefined ? { rollbackOf: c.rollbackOf } : {}) };
    const errors = await this.check(table, { seatGroups: c.seatGroups });
    if (errors.length > 0) {
      await this.appendAudit({
        at,
        who,
        action: c.action === 'publish' ? 'publish-rejected' : 'rollback-rejected',
        fromVersion: current,
        ...meta,
        errors: formatErrors(errors),
      });
      return { ok: false, reason: 'invalid', errors };
    }
    // The version number is taken inside the script; a random token marks where it goes.
    const token = `__routing_version_${randomBytes(8).toString('hex')}__`;
    const sentinel = JSON.stringify(token);
    const doc = { version: token, table: { ...(table as RoutingTable), version: token }, publishedAt: at, publishedBy: who, ...meta };
    const entry: AuditEntry = { at, who, action: c.action, fromVersion: current, ...meta, changes: diffTables(currentTable, table) };
    const res = (await this.redis.eval(
      PUBLISH_LUA,
      5,
      this.key('seq'),
      this.key('published'),
      this.key('versions'),
      this.key('audit'),
      this.key('draft'),
      c.expected === undefined ? '' : String(c.expected),
      sentinel,
      JSON.stringify(doc),
      JSON.stringify({ ...entry, version: token }),
      String(this.auditLimit),
      this.channel,
      this.key('v:'),
      c.draftRaw,
    )) as [number, number];
    if (res[0] === 0) return { ok: false, reason: 'conflict', current: res[1] };
    const version = await this.getVersion(res[1]);
    if (!version) throw new Error(`routing version ${res[1]} vanished after publish`);
    await this.notifyAudit({ ...entry, version: res[1] });
    return { ok: true, version };
  }

  /**
   * Keep the published table in memory and follow publishes. Resolves once the
   * current version (if any) is loaded; if Redis is down at that moment it
   * resolves empty and keeps trying.
   */
  async watch(opts: WatchOptions = {}): Promise<LiveRoutingTable> {
    const live = new LiveRoutingTable(this, this.redis.duplicate(), opts);
    await live.start();
    return live;
  }
}

/** The published table of one store, kept current on this instance. */
export class LiveRoutingTable {
  private cur: PublishedVersion | undefined;
  private readonly listeners = new Set<(v: PublishedVersion) => void>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly store: RoutingStore,
    private readonly sub: Redis,
    private readonly opts: WatchOptions,
  ) {}

  /** The table calls should use now (frozen: hold on to it for the whole call). */
  current(): PublishedVersion | undefined {
    return this.cur;
  }

  /** Called with each newer version; returns an unsubscribe function. */
  onChange(fn: (v: PublishedVersion) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async start(): Promise<void> {
    this.sub.on('message', (channel: string, msg: string) => {
      if (channel === this.store.channel) void this.refresh(Number(msg));
    });
    // ioredis re-subscribes after a reconnect; messages missed meanwhile are caught here.
    this.sub.on('ready', () => void this.refresh());
    this.sub.on('error', (err: unknown) => this.opts.onError?.(err));
    // Neither subscribing nor the first load may hold up boot when Redis is down:
    // ioredis queues commands until it reconnects, and the 'ready' refresh catches up.
    const subscribed = this.sub.subscribe(this.store.channel).catch((err: unknown) => this.opts.onError?.(err));
    let timeout: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((r) => {
      timeout = setTimeout(r, this.opts.startTimeoutMs ?? 2000);
    });
    await Promise.race([Promise.all([subscribed, this.refresh()]), waited]);
    clearTimeout(timeout);
    this.timer = setInterval(() => void this.refresh(), this.opts.pollMs ?? 5000);
    this.timer.unref();
  }

  /** Load `hint` (or the published number) if newer than what we hold. */
  refresh(hint?: number): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.closed) return;
      try {
        const n = hint ?? (await this.store.publishedVersion());
        if (n <= (this.cur?.version ?? 0)) return;
        const v = await this.store.getVersion(n);
        if (!v || v.version <= (this.cur?.version ?? 0)) return;
        this.cur = deepFreeze(v);
        for (const fn of this.listeners) fn(v);
      } catch (err) {
        this.opts.onError?.(err);
      }
    };
    // Serialize refreshes so an older fetch never overwrites a newer one.
    const p = (this.refreshing ?? Promise.resolve()).then(run);
    this.refreshing = p;
    return p;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.listeners.clear();
    this.sub.disconnect();
  }
}
