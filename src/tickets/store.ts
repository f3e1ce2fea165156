/**
 * Ticket storage in Redis. Creating the ticket of a call is idempotent: the
 * call id maps to exactly one ticket number, whatever the number of times the
 * job runs (BullMQ delivers at least once; a worker may crash mid-job).
 *
 * Creation has two steps, each idempotent: (1) a Lua script allocates the
 * number and stores the call record (by-call index: once per call); (2) the
 * domain ticket (model.ts: channel, category, units, deadlines, history) is
 * built by the injected {@link TicketDomain} and written only if the record has
 * none yet (compare-and-set on `version`). A crash between the steps leaves a
 * record without a domain ticket; the retried job finds the number and does
 * step 2. The agent's form may arrive before or after either step: whoever
 * comes second merges it (see {@link TicketStore.saveForm}).
 *
 * Every change of the domain ticket bumps `version` (the webhook's idempotency
 * key is ticket number + version) and is announced to {@link TicketStore.onChange}
 * listeners (clocks, webhook) after it is committed.
 */
import { createHash } from 'node:crypto';
import { legacyNumberId, type NumberId } from '../access/number-id.js';
import type { Redis } from 'ioredis';
import type { CallRecord } from '../calls/record.js';
import { REQUESTER_KINDS, TICKET_CATEGORIES, type AttachmentRef, type RequesterKind, type Ticket, type TicketCategory, type TicketChannel, type TicketOrigin, type UpstreamOrder, type Urgency } from './model.js';
import { redisKey } from '../util/redis-keys.js';

// One vocabulary: the domain model's (re-exported for the agent route's form validation).
export { REQUESTER_KINDS, TICKET_CATEGORIES };

/** yyyymmdd in China Standard Time (UTC+8, no DST), whatever the machine's TZ. */
export function shanghaiDate(ms: number): string {
  const d = new Date(ms + 8 * 3600_000);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

/** What the agent fills in during or after the call (咨询/求助/投诉/举报/建议, 市民/企业 …). */
export interface TicketForm {
  category: TicketCategory;
  requesterKind: RequesterKind;
  summary: string;
  /** The agent's choice of handling unit (empty: the dispatch suggestion decides). */
  unitSuggestion: string;
  urgency?: Urgency;
  /** Topic classes matched by SLA rules (`utility-outage`, `safety-hazard` …). */
  topics?: string[];
  /** Knowledge-base articles the agent used on the call, and whether each helped (问题解决率, gaps in the knowledge base). */
  knowledge?: { articleId: string; version: number; title: string; helped: boolean }[];
  by: string;
  at: number;
}

/**
 * A request that did not come by phone (src/intake/): a channel's message or a higher platform's
 * work order, as accepted, kept on the ticket record so that step 2 of creation (the domain
 * ticket) can be redone after a crash exactly as for a call.
 */
export interface IntakeRecord {
  channel: Exclude<TicketChannel, { kind: '12345' } | { kind: 'legacy-line' }>;
  origin?: TicketOrigin;
  category: TicketCategory;
  requesterKind: RequesterKind;
  urgency: Urgency;
  topics: string[];
  summary: string;
  phone: string;
  name?: string;
  attachments: AttachmentRef[];
  receivedAt: number;
  upstream?: UpstreamOrder;
  /** Hash of the accepted message (the same id with another body is refused). */
  hash: string;
}

/** Builds the domain ticket of a call (pure: same inputs, same ticket). */
export interface TicketDomain {
  /**
   * @param at the instant the ticket is (re)built: a dispatch found here happens at it
   */
  build(ticketNo: string, record: CallRecord, form: TicketForm | undefined, at: number): Ticket;
  /** The domain ticket of a non-phone request (same dispatch rules and clocks as a call's). */
  buildIntake?(ticketNo: string, intake: IntakeRecord, at: number): Ticket;
  now(): number;
}

export type TicketChangeListener = (t: StoredTicket & { ticket: Ticket }, previous: Ticket | undefined) => void | Promise<void>;

export interface StoredTicket {
  ticketNo: string;
  callId: string;
  createdAt: number;
  status: string;
  record: CallRecord;
  /** Callbacks made for this ticket's call (虚拟拨号 through the platform). */
  callbacks: CallRecord[];
  /** Handling units the ticket is dispatched to. */
  units: string[];
  form?: TicketForm;
  /** The domain ticket (absent only between the two creation steps, or without a domain). */
  ticket?: Ticket;
  /** Bumped on every change of `ticket` (0 before the first). */
  version: number;
  /** The request as accepted, for tickets that came through the intake API (no call). */
  intake?: IntakeRecord;
}

// KEYS[1] ticket hash, KEYS[2] all-tickets index, KEYS[3..] per-unit indexes
// ARGV[1] expected version, ARGV[2] ticket json, ARGV[3] state, ARGV[4] units json, ARGV[5] score, ARGV[6] ticket no
const WRITE_TICKET = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if v ~= tonumber(ARGV[1]) then return -1 end
redis.call('HSET', KEYS[1], 'ticket', ARGV[2], 'status', ARGV[3], 'units', ARGV[4], 'version', v + 1)
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
for i = 3, #KEYS do redis.call('ZADD', KEYS[i], ARGV[5], ARGV[6]) end
return v + 1
`;

/** A concurrent writer changed the ticket between read and write: the caller re-reads and retries. */
export class TicketConflictError extends Error {
  constructor(ticketNo: string) {
    super(`ticket ${ticketNo} changed concurrently`);
    this.name = 'TicketConflictError';
  }
}

function unitKey(unit: string): string {
  return createHash('sha256').update(`hotline-unit:${unit}`).digest('hex').slice(0, 24);
}

// Creates the tickets of several ended calls in one call (the worker's concurrent jobs share it).
// Per call i (0-based), KEYS[5i+1] by-call index, KEYS[5i+2] daily sequence, KEYS[5i+3] ticket hash prefix (used as a
// string), KEYS[5i+4] caller index, KEYS[5i+5] the agent's form of the call; ARGV[4i+1] ticket number prefix,
// ARGV[4i+2] json record, ARGV[4i+3] now, ARGV[4i+4] call id.
// Returns per call {ticket no, 1 = created, the form (when created) or false}: with it the worker builds the domain
// ticket without reading back what it just wrote.
const CREATE_FROM_CALLS = `
local out = {}
for i = 0, #KEYS / 5 - 1 do
  local k, a = i * 5, i * 4
  local existing = redis.call('GET', KEYS[k + 1])
  if existing then
    out[#out + 1] = {existing, 0, false}
  else
    local seq = redis.call('INCR', KEYS[k + 2])
    -- The day's counter expires two days after its first ticket (not renewed by every ticket: one write less each).
    if seq == 1 then redis.call('EXPIRE', KEYS[k + 2], 172800) end
    local no = ARGV[a + 1] .. string.format('%06d', seq)
    redis.call('SET', KEYS[k + 1], no)
    redis.call('HSET', KEYS[k + 3] .. no, 'ticketNo', no, 'callId', ARGV[a + 4], 'createdAt', ARGV[a + 3], 'status', 'received', 'record', ARGV[a + 2])
    redis.call('ZADD', KEYS[k + 4], ARGV[a + 3], no)
    out[#out + 1] = {no, 1, redis.call('GET', KEYS[k + 5])}
  end
end
return out
`;

// KEYS[1] by-call index (of the request's synthetic call id), KEYS[2] daily sequence, KEYS[3] ticket hash prefix, KEYS[4] caller index
// ARGV[1] ticket number prefix, ARGV[2] json record, ARGV[3] now, ARGV[4] call id, ARGV[5] intake json, ARGV[6] message hash
// Returns {ticket no, 1 = created, hash of the message that made it}.
const CREATE_FROM_INTAKE = `
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 0, redis.call('HGET', KEYS[3] .. existing, 'intakeHash') or ''} end
local seq = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 172800)
local no = ARGV[1] .. string.format('%06d', seq)
redis.call('SET', KEYS[1], no)
redis.call('HSET', KEYS[3] .. no, 'ticketNo', no, 'callId', ARGV[4], 'createdAt', ARGV[3], 'status', 'received', 'record', ARGV[2], 'intake', ARGV[5], 'intakeHash', ARGV[6])
redis.call('ZADD', KEYS[4], ARGV[3], no)
return {no, 1, ARGV[6]}
`;

/**
 * The call id a non-phone request is indexed under: `intake-<channel>-<hash of its id>` (or
 * `upstream-<platform>-…` for a work order). Kept out of Asterisk's id space (`<epoch>.<seq>`).
 */
export function intakeCallId(channel: IntakeRecord['channel']): string {
  const [space, id] = channel.kind === 'upstream' ? [`upstream-${channel.platform}`, channel.orderNo] : [`intake-${channel.kind}`, channel.messageId];
  return `${space}-${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}

/**
 * The record a non-phone request keeps where a call keeps its call record: no PBX events, no
 * queue, no agent — so call KPIs (接通率) never count it — and the citizen's number where the
 * audited reveal and the repeat look-up find a caller's.
 */
export function intakeCallRecord(intake: IntakeRecord, instance: string): CallRecord {
  return {
    callId: intakeCallId(intake.channel),
    channelName: intake.channel.kind === 'upstream' ? `upstream/${intake.channel.platform}` : `intake/${intake.channel.kind}`,
    caller: { number: intake.phone, name: '' },
    dialed: intake.channel.kind,
    source: 'unknown',
    language: 'zh',
    startedAt: intake.receivedAt,
    endedAt: intake.receivedAt,
    path: [],
    agents: [],
    handoffs: [],
    recovered: false,
    instance,
  };
}

// KEYS[1] by-call index of the callback, KEYS[2] the ticket's callback list; ARGV[1] ticket no, ARGV[2] record
const ATTACH_CALLBACK = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
`;

const SCRIPT_SHAS = new Map<string, string>();
/** Most creations in one script call (a bound on the time Redis spends in it). */
const MAX_CREATE_BATCH = 64;

export class TicketStore {
  private readonly listeners = new Set<TicketChangeListener>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Digits that start every ticket number of this city (its telephone area code). */
    private readonly cityCode: string,
    /** Index key of a caller's tickets: a keyed HMAC of the number (access/number-id.ts), so no number appears in key names. */
    private readonly callerKey: NumberId,
    /** Builds domain tickets; without it the store keeps call records only (legacy behaviour). */
    private domain?: TicketDomain,
  ) {}

  /** Set the domain after construction (the composition root needs the routing table first). */
  setDomain(domain: TicketDomain): void {
    this.domain = domain;
  }

  /** Called after every committed change of a domain ticket. Returns an unsubscribe function. */
  onChange(listener: TicketChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Run one of this module's Lua scripts by its SHA1 (EVALSHA: the script text is not sent with every
   * ticket), loading it with EVAL when Redis does not have it (first use, after a restart or FLUSH).
   */
  private async script(lua: string, keys: number, ...args: string[]): Promise<unknown> {
    let sha = SCRIPT_SHAS.get(lua);
    if (!sha) SCRIPT_SHAS.set(lua, (sha = createHash('sha1').update(lua).digest('hex')));
    try {
      return await this.redis.evalsha(sha, keys, ...args);
    } catch (err) {
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      return this.redis.eval(lua, keys, ...args);
    }
  }

  private key(...parts: string[]): string {
    return redisKey(this.prefix, ...parts);
  }

  /**
   * Create the ticket of an ended call, or return the one it already has. A
   * callback is attached to the ticket of the call it calls back.
   */
  async createFromCall(record: CallRecord, now = this.domain?.now() ?? Date.now()): Promise<{ ticketNo: string; created: boolean }> {
    if (record.callbackOf) {
      const original = await this.byCall(record.callbackOf);
      if (original) {
        const res = (await this.script(
          ATTACH_CALLBACK,
          2,
          this.key('ticket', 'by-call', record.callId),
          this.key('ticket', original, 'callbacks'),
          original,
          JSON.stringify(record),
        )) as number;
        return { ticketNo: original, created: res === 1 };
      }
      // The original's ticket is not there yet (its job is still queued): retried by BullMQ.
      throw new Error(`ticket of call ${record.callbackOf} not created yet`);
    }
    const [ticketNo, created, form] = await this.createRecord(record, now);
    // Without a domain there is nothing to build (ensureDomain would only read the ticket back).
    if (this.domain) {
      if (created === 1) {
        // Just written by the script: the stored ticket is known without reading it back (its callback
        // list does not enter the build, and a callback's record comes minutes after its call's ticket).
        const fresh: StoredTicket = { ticketNo, callId: record.callId, createdAt: now, status: 'received', record, callbacks: [], units: [], version: 0, ...(form ? { form: JSON.parse(form) as TicketForm } : {}) };
        await this.ensureDomain(ticketNo, fresh);
      } else await this.ensureDomain(ticketNo);
    }
    return { ticketNo, created: created === 1 };
  }

  /** Creations waiting for the next batch (see {@link createRecord}). */
  private creating: Array<{ record: CallRecord; now: number; resolve: (r: [string, number, string | null | false]) => void; reject: (err: Error) => void }> = [];

  /**
   * Step 1 of a call's ticket: its number and stored record, in a batch with the creations asked for in
   * the same turn of the event loop (the worker's concurrent jobs): one script and one round trip for all.
   * Each call's creation is the same idempotent step it would be alone.
   */
  private createRecord(record: CallRecord, now: number): Promise<[string, number, string | null | false]> {
    return new Promise((resolve, reject) => {
      if (this.creating.push({ record, now, resolve, reject }) === 1) setImmediate(() => void this.createBatch());
    });
  }

  private async createBatch(): Promise<void> {
    const batch = this.creating.splice(0, MAX_CREATE_BATCH);
    if (this.creating.length) setImmediate(() => void this.createBatch());
    const keys: string[] = [];
    const args: string[] = [];
    try {
      for (const { record, now } of batch) {
        const day = shanghaiDate(record.startedAt);
        keys.push(
          this.key('ticket', 'by-call', record.callId),
          this.key('ticket', 'seq', this.cityCode, day),
          this.key('ticket', ''),
          this.key('ticket', 'by-caller', this.callerKey(record.caller.number)),
          this.key('ticket', 'form', record.callId),
        );
        args.push(`${this.cityCode}${day}`, JSON.stringify(record), String(now), record.callId);
      }
      const res = (await this.script(CREATE_FROM_CALLS, keys.length, ...keys, ...args)) as Array<[string, number, string | null | false]>;
      batch.forEach((c, i) => c.resolve(res[i]!));
    } catch (err) {
      for (const c of batch) c.reject(err as Error);
    }
  }

  /**
   * Create the ticket of a non-phone request, or find the one its id already made
   * (`created: false`; `sameMessage` tells a repeated delivery from another message under a
   * used id). Same two idempotent steps as a call's: a crash between them is finished by the
   * channel's retry.
   */
  async createFromIntake(intake: IntakeRecord, instance = 'intake', now = this.domain?.now() ?? Date.now()): Promise<{ ticketNo: string; created: boolean; sameMessage: boolean }> {
    const record = intakeCallRecord(intake, instance);
    const day = shanghaiDate(intake.receivedAt);
    const res = (await this.redis.eval(
      CREATE_FROM_INTAKE,
      4,
      this.key('ticket', 'by-call', record.callId),
      this.key('ticket', 'seq', this.cityCode, day),
      this.key('ticket', ''),
      this.key('ticket', 'by-caller', this.callerKey(intake.phone)),
      `${this.cityCode}${day}`,
      JSON.stringify(record),
      String(now),
      record.callId,
      JSON.stringify(intake),
      intake.hash,
    )) as [string, number, string];
    const sameMessage = res[2] === intake.hash;
    if (sameMessage) await this.ensureDomain(res[0]);
    return { ticketNo: res[0], created: res[1] === 1, sameMessage };
  }

  /**
   * Step 2 of creation: build and write the domain ticket if the record has
   * none (idempotent; a no-op when it exists or there is no domain). `known`: the stored ticket
   * as its creator just wrote it, used for the first try instead of reading it back (a concurrent writer
   * makes that try fail on the version, and the next one reads).
   */
  async ensureDomain(ticketNo: string, known?: StoredTicket): Promise<StoredTicket | undefined> {
    if (!this.domain) return this.get(ticketNo);
    for (let i = 0; i < 10; i++) {
      const st = i === 0 && known ? known : await this.get(ticketNo);
      if (!st || st.ticket) return st;
      const at = Math.max(st.createdAt, st.record.startedAt);
      const ticket = st.intake && this.domain.buildIntake ? this.domain.buildIntake(ticketNo, st.intake, at) : this.domain.build(ticketNo, st.record, st.form, at);
      try {
        return await this.write(st, ticket);
      } catch (err) {
        if (!(err instanceof TicketConflictError)) throw err;
      }
    }
    throw new TicketConflictError(ticketNo);
  }

  /**
   * Change a domain ticket: `fn` gets the current state and returns the new
   * ticket (or undefined for no change). Optimistic: re-read and retried when
   * another writer got there first. Listeners run after the commit.
   */
  async update(ticketNo: string, fn: (st: StoredTicket & { ticket: Ticket }) => Ticket | undefined): Promise<(StoredTicket & { ticket: Ticket }) | undefined> {
    for (let i = 0; i < 10; i++) {
      const st = (await this.get(ticketNo)) ?? undefined;
      if (!st) return undefined;
      if (!st.ticket) {
        await this.ensureDomain(ticketNo);
        continue;
      }
      const next = fn(st as StoredTicket & { ticket: Ticket });
      if (!next) return st as StoredTicket & { ticket: Ticket };
      try {
        return await this.write(st, next);
      } catch (err) {
        if (!(err instanceof TicketConflictError)) throw err;
      }
    }
    throw new TicketConflictError(ticketNo);
  }

  private async write(st: StoredTicket, ticket: Ticket): Promise<StoredTicket & { ticket: Ticket }> {
    const units = ticket.units;
    const res = (await this.script(
      WRITE_TICKET,
      2 + units.length,
      this.key('ticket', st.ticketNo),
      this.key('ticket', 'all'),
      ...units.map((u) => this.key('ticket', 'by-unit', unitKey(u))),
      String(st.version),
      JSON.stringify(ticket),
      ticket.state,
      JSON.stringify(units),
      String(st.createdAt),
      st.ticketNo,
    )) as number;
    if (res === -1) throw new TicketConflictError(st.ticketNo);
    if (res === -2) throw new Error(`ticket ${st.ticketNo} does not exist`);
    const next = { ...st, ticket, units, status: ticket.state, version: res };
    for (const l of this.listeners) {
      try {
        await l(next, st.ticket);
      } catch {
        // Listeners (clocks, webhook) are re-run by the worker's sync; a failure here must not undo the commit.
      }
    }
    return next;
  }

  /** Ticket numbers, newest first: all, or those ever dispatched to a unit. */
  async list(opts: { unit?: string; from?: number; to?: number; limit?: number } = {}): Promise<string[]> {
    const key = opts.unit ? this.key('ticket', 'by-unit', unitKey(opts.unit)) : this.key('ticket', 'all');
    const max = opts.to === undefined ? '+inf' : `(${opts.to}`;
    const min = opts.from === undefined ? '-inf' : String(opts.from);
    return this.redis.zrevrangebyscore(key, max, min, 'LIMIT', 0, opts.limit ?? 1000);
  }

  async byCall(callId: string): Promise<string | undefined> {
    return (await this.redis.get(this.key('ticket', 'by-call', callId))) ?? undefined;
  }

  /** The agent's form for a call; kept by call id so it can be saved before the ticket exists. */
  async saveForm(callId: string, form: TicketForm): Promise<void> {
    await this.redis.set(this.key('ticket', 'form', callId), JSON.stringify(form), 'EX', 90 * 24 * 3600);
    // The form may arrive after the ticket was created: merge it while nobody but the system acted on it.
    const no = await this.byCall(callId);
    if (no && this.domain) await this.mergeForm(no);
  }

  /**
   * Rebuild the domain ticket with the agent's (latest) form, when the
   * ticket is still untouched by people (only the system and the agent who
   * took the call acted): category, requester kind, summary, units and clocks
   * then follow the form. Later forms only update the stored form.
   */
  async mergeForm(ticketNo: string): Promise<void> {
    const domain = this.domain;
    if (!domain) return;
    await this.ensureDomain(ticketNo);
    await this.update(ticketNo, (st) => {
      if (!st.form) return undefined;
      const untouched = st.ticket.history.every((h) => h.actor.role === 'system' || (h.type === 'received' && h.actor.id === st.form!.by));
      if (!untouched) return undefined;
      const next = domain.build(ticketNo, st.record, st.form, Math.max(domain.now(), st.ticket.history.at(-1)!.at));
      return JSON.stringify(next) === JSON.stringify(st.ticket) ? undefined : next;
    });
  }

  /** Agents who talked on a (finished) call, from its ticket. */
  async agentsOfCall(callId: string): Promise<string[]> {
    const no = await this.byCall(callId);
    const t = no ? await this.get(no) : undefined;
    return t?.record.agents ?? [];
  }

  /** The caller's latest tickets (numbers and states only), newest first. */
  async byCaller(number: string, limit = 5): Promise<{ ticketNo: string; status: string; createdAt: number }[]> {
    if (!number) return [];
    const key = this.key('ticket', 'by-caller', this.callerKey(number));
    // An index written before ids were keyed: merged into the keyed one now that the number is known.
    const legacy = this.key('ticket', 'by-caller', legacyNumberId(number));
    if ((await this.redis.exists(legacy)) === 1) await this.redis.multi().zunionstore(key, 2, key, legacy, 'AGGREGATE', 'MAX').del(legacy).exec();
    const nos = await this.redis.zrevrange(key, 0, limit - 1);
    const out = await Promise.all(nos.map((n) => this.get(n)));
    return out.filter((t): t is StoredTicket => !!t).map((t) => ({ ticketNo: t.ticketNo, status: t.status, createdAt: t.createdAt }));
  }

  async get(ticketNo: string): Promise<StoredTicket | undefined> {
    const [h, callbacks] = await Promise.all([
      this.redis.hgetall(this.key('ticket', ticketNo)),
      this.redis.lrange(this.key('ticket', ticketNo, 'callbacks'), 0, -1),
    ]);
    if (!h.ticketNo) return undefined;
    const form = await this.redis.get(this.key('ticket', 'form', h.callId ?? ''));
    return {
      version: Number(h.version ?? 0),
      ...(h.ticket ? { ticket: JSON.parse(h.ticket) as Ticket } : {}),
      ticketNo: h.ticketNo,
      callId: h.callId ?? '',
      createdAt: Number(h.createdAt),
      status: h.status ?? 'received',
      record: JSON.parse(h.record ?? '{}') as CallRecord,
      callbacks: callbacks.map((c) => JSON.parse(c) as CallRecord),
      units: JSON.parse(h.units ?? '[]') as string[],
      ...(form ? { form: JSON.parse(form) as TicketForm } : {}),
      ...(h.intake ? { intake: JSON.parse(h.intake) as IntakeRecord } : {}),
    };
  }
}
