/**
 * The ACD service: one per server instance, all sharing the state in Redis.
 *
 * @remarks
 * Dispatch: every instance runs the same loop, woken by pub/sub (`wake`) and a
 * short interval. A run takes a short Redis lock (so one router run at a time
 * sees the whole, global state: longest-idle is global), sweeps expired offers,
 * finished wrap-ups and dead instances, reads a snapshot, asks the pure router
 * for decisions and applies each with the atomic `match` script (a
 * compare-and-set on the call's and the agent's state and the agent's idle
 * time). An offer is pushed to the inbox of the instance that owns the call;
 * each instance hands only its own offers to its `onOffer` listeners.
 */
import { extensionOfEndpoint } from './sip-names.js';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ContactEvent, Pbx } from '../telephony/ami-pbx.js';

/** Where agents' registrations come from: the node's AMI, or the cluster's SIP proxy (cluster/registrations.ts). */
export type RegistrationSource = Pick<Pbx, 'linkState' | 'onLinkState' | 'onContact' | 'listContacts'>;
import {
  dialStringFor,
  ruleFor,
  validateAgent,
  validateGroup,
  validateSeatFile,
  type AcdConfig,
  type Agent,
  type AgentStateName,
  type FieldError,
  type SeatGroup,
} from './model.js';
import type { AcdPort, EnqueueRequest, LeaveReason, Offer, OfferFailure, QueuePosition } from './port.js';
import { RedisAcdStore, type AgentRuntime, type EntryRecord } from './redis-acd.js';
import { compareCalls, expectedWaitSec, positionOf, route, type RouterSnapshot, type WaitingCall } from './router.js';
import { applyTuning, type ControllerPort } from '../controller/port.js';
import { buildSeries, quarterOf, QUARTERS_PER_DAY, type DaySeries } from './series.js';

export interface AcdOptions {
  redis: Redis;
  keyPrefix: string;
  instanceId: string;
  logger: Logger;
  clock?: () => number;
  config: AcdConfig;
  /**
   * Serialise router runs across instances with a short Redis lock (default true). Correctness does
   * not depend on it — the match script refuses stale decisions — but it keeps the order of service
   * global and saves refused decisions. Tests turn it off to prove the scripts alone hold the line.
   */
  dispatchLock?: boolean;
  /** The answer-rate controller's tuning of the queue rules (absent: the static rules). */
  tuning?: ControllerPort;
}

/** Events pushed to consoles (agent and supervisor pages). Never carry phone numbers. */
export type AcdEvent =
  | { type: 'agent'; agentId: string; state: AgentStateName; reason: string; at: number }
  | { type: 'queue'; callId: string; skill: string; change: string; at: number; agentId?: string; waitMs?: number }
  | { type: 'instance'; instanceId: string; change: string; at: number };

export interface AgentView extends Agent {
  state: AgentStateName;
  reason: string;
  /** Epoch ms of the last state change. */
  since: number;
  idleSince: number;
  callId?: string;
  misses: number;
  loggedIn: boolean;
  registered: boolean;
  dialStringResolved: string;
}

export interface QueueView {
  skill: string;
  waiting: number;
  ringing: number;
  callbacks: number;
  longestWaitSec: number;
}

export interface Counters {
  /** Calls that entered the queue (the ACD's "offered" in call-centre terms). */
  offered: number;
  answered: number;
  /**
   * Calls the seats of a seat group answered, whichever queue they waited in (groups only; an
   * expert seat taking a general call counts here, while the call's offered/answered count in
   * the groups it was queued for).
   */
  handled: number;
  abandoned: number;
  /** Average speed of answer, seconds. */
  asaSec: number;
  /** abandoned / (answered + abandoned). */
  abandonRate: number;
  /** answered / (answered + abandoned); the target is ≥ 0.98. */
  answerRate: number;
  averageAbandonWaitSec: number;
  callbacksRequested: number;
  callbacksExpired: number;
  lost: number;
}

export interface AcdStats {
  day: string;
  all: Counters;
  lines: Record<string, Counters>;
  skills: Record<string, Counters>;
  groups: Record<string, Counters>;
}

export type AgentCommandResult = { ok: true; state: AgentStateName } | { ok: false; error: string };
export type AdminResult = { ok: true } | { ok: false; errors: FieldError[] };
/** An admin write of the seats: the new seats version, field errors, or the version found instead of the one named. */
export type SeatWriteResult = { ok: true; version: number } | { ok: false; errors: FieldError[] } | { ok: false; conflict: number };

const expected = (v: number | undefined): string => (v === undefined ? '' : String(v));

// Seat writes (KEYS[1] the seats version; ARGV[1] the expected version, '' = any). Each returns
// {1, new version} or {0, current version}; the version moves on every write.
const CHECK_VERSION = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= cur then return {0, cur} end
`;
/** KEYS version, groups; ARGV expected, id, group JSON. */
const PUT_GROUP = `${CHECK_VERSION}
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return {1, redis.call('INCR', KEYS[1])}`;
/** KEYS version, agents, extension → agent, agent ids; ARGV expected, id, agent JSON, extension. {-1, owner}: extension taken. */
const PUT_AGENT = `${CHECK_VERSION}
local owner = redis.call('HGET', KEYS[3], ARGV[4])
if owner and owner ~= ARGV[2] then return {-1, owner} end
local old = redis.call('HGET', KEYS[2], ARGV[2])
if old then
  local prev = cjson.decode(old).extension
  if prev and prev ~= ARGV[4] then redis.call('HDEL', KEYS[3], prev) end
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[4], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[2])
return {1, redis.call('INCR', KEYS[1])}`;
/** KEYS version, agents, extension → agent, agent ids, the agent's runtime hash; ARGV expected, id. {-1}: unknown agent. */
const DELETE_AGENT = `${CHECK_VERSION}
local old = redis.call('HGET', KEYS[2], ARGV[2])
if not old then return {-1, cur} end
local prev = cjson.decode(old).extension
redis.call('HDEL', KEYS[2], ARGV[2])
if prev then redis.call('HDEL', KEYS[3], prev) end
redis.call('SREM', KEYS[4], ARGV[2])
redis.call('DEL', KEYS[5])
return {1, redis.call('INCR', KEYS[1])}`;

const LOCK = 'lock:dispatch';

export class Acd implements AcdPort {
  readonly store: RedisAcdStore;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly config: AcdConfig;
  private readonly instanceId: string;
  private subscriber: Redis | undefined;
  /** The AMI port once attached: registrations are re-checked there when a seat's extension changes. */
  private pbx: RegistrationSource | undefined;
  private timers: NodeJS.Timeout[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private started = false;
  private readonly offerListeners = new Set<(o: Offer) => void>();
  private readonly eventListeners = new Set<(e: AcdEvent) => void>();
  /** The largest queue lengths this instance wrote for the current quarter (`queueStamp`). */
  private readonly queueMaxSeen = new Map<string, number>();
  private queueStamp = '';
  /** Run before each router run (the self-healing check after a reconnect, src/acd/self-heal.ts). */
  private beforeDispatch: (() => Promise<void>) | undefined;

  constructor(private readonly opts: AcdOptions) {
    this.store = new RedisAcdStore(opts.redis, opts.keyPrefix);
    this.clock = opts.clock ?? Date.now;
    this.config = opts.config;
    this.instanceId = opts.instanceId;
    this.log = opts.logger.child({ component: 'acd', instanceId: opts.instanceId });
  }

  private now(): number {
    return Math.floor(this.clock());
  }

  /** Local calendar day (yyyymmdd) of an instant, for the statistics keys. */
  day(at: number): string {
    return new Date(at + this.config.utcOffsetMin * 60_000).toISOString().slice(0, 10).replace(/-/g, '');
  }

  /** The scripts get the local day and, after a slash, the local quarter hour (their per-quarter series). */
  private run(name: Parameters<RedisAcdStore['run']>[0], at: number, ...args: (string | number)[]): Promise<unknown> {
    return this.store.run(name, at, `${this.day(at)}/${quarterOf(at, this.config.utcOffsetMin)}`, ...args);
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const hbMs = Math.round(this.config.heartbeatTtlSec * 1000);
    await this.store.heartbeat(this.instanceId, hbMs);
    const sub = this.opts.redis.duplicate();
    this.subscriber = sub;
    sub.on('error', (err: Error) => this.log.warn({ err }, 'ACD subscriber error'));
    const wake = this.store.key('wake');
    const inbox = this.store.key(`inbox:${this.instanceId}`);
    const events = this.store.key('events');
    sub.on('message', (channel: string, message: string) => {
      if (channel === wake) this.schedule();
      else if (channel === inbox) void this.drainInbox();
      else if (channel === events) this.emitEvent(message);
    });
    await sub.subscribe(wake, inbox, events);
    this.timers.push(
      setInterval(() => {
        this.store.heartbeat(this.instanceId, hbMs).catch((err: unknown) => this.log.warn({ err }, 'heartbeat failed'));
      }, Math.max(20, Math.floor(hbMs / 3))),
      setInterval(() => this.schedule(), this.config.dispatchIntervalMs),
    );
    this.schedule();
  }

  /**
   * Stops the loops. Graceful (default): the heartbeat is removed so that any
   * instance reclaims this instance's agents and drops its callers at once.
   * `{ graceful: false }` only stops — as a crash would — and is for tests.
   */
  async stop(opts: { graceful?: boolean } = {}): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    clearTimeout(this.retryTimer);
    const sub = this.subscriber;
    this.subscriber = undefined;
    if (sub) sub.disconnect();
    // let a run in progress finish before the caller closes the connection
    for (let i = 0; i < 100 && this.running; i++) await new Promise((r) => setTimeout(r, 10));
    if (opts.graceful !== false) {
      await this.store.clearHeartbeat(this.instanceId);
      await this.run('sweep', this.now(), this.instanceId, this.config.autoPauseAfterMisses, this.config.callStateKeyPrefix);
    }
  }

  // ───────────────────────────── call side (AcdPort) ─────────────────────────────

  async enqueue(e: EnqueueRequest): Promise<QueuePosition> {
    const at = this.now();
    await this.run(
      'enqueue',
      at,
      e.callId,
      e.skill,
      e.minLevel ?? 0,
      e.priority,
      Math.floor(e.joinedAt),
      this.instanceId,
      e.lineNumber ?? '',
      e.language ?? '',
    );
    if (e.callback) await this.requestCallback(e.callId, e.callback.number, at);
    return (await this.position(e.callId)) ?? { position: 1, expectedWaitSec: 0 };
  }

  async leave(callId: string, reason: LeaveReason, at: number): Promise<void> {
    const changed = await this.run('leave', at, callId, reason);
    if (changed && reason === 'abandoned') this.log.info({ callId }, 'caller abandoned the queue');
  }

  async position(callId: string): Promise<QueuePosition | undefined> {
    const me = await this.store.entry(callId);
    if (!me) return undefined;
    const calls = (await this.store.entriesOfSkill(me.skill)).map(toWaiting);
    const position = positionOf(callId, calls) ?? 1;
    const agents = await this.loadAgents();
    const staffed = agents.filter(
      ({ agent, rt }) => rt.loggedIn && rt.state !== 'offline' && (agent.skills[me.skill] ?? 0) >= 1,
    ).length;
    return { position, expectedWaitSec: expectedWaitSec(position, staffed, this.config.averageHandleSec) };
  }

  onOffer(listener: (offer: Offer) => void): () => void {
    this.offerListeners.add(listener);
    return () => this.offerListeners.delete(listener);
  }

  async offerAnswered(offerId: string, at: number): Promise<boolean> {
    return (await this.run('answered', at, offerId)) === 1;
  }

  async offerFailed(offerId: string, reason: OfferFailure, at: number): Promise<void> {
    const cb = this.config.callback;
    await this.run('failed', at, offerId, reason, this.config.autoPauseAfterMisses, cb.maxAttempts, Math.round(cb.retryDelaySec * 1000));
    this.schedule();
  }

  async adoptCall(callId: string, agentId: string | undefined, at: number): Promise<{ entry: boolean; agent: boolean }> {
    const [entry, agent] = (await this.run('adopt', at, callId, this.instanceId, agentId ?? '')) as [number, number];
    this.schedule();
    return { entry: Number(entry) === 1, agent: Number(agent) === 1 };
  }

  async callEnded(callId: string, agentId: string, at: number): Promise<void> {
    const cb = this.config.callback;
    await this.run(
      'callEnded',
      at,
      callId,
      agentId,
      Math.round(this.config.wrapUpSec * 1000),
      cb.maxAttempts,
      Math.round(cb.retryDelaySec * 1000),
    );
  }

  async requestCallback(callId: string, number: string, at: number): Promise<void> {
    const expiresAt = at + Math.round(this.config.callback.expirySec * 1000);
    await this.run('requestCallback', at, callId, number, expiresAt);
  }

  // ───────────────────────────── agent side ─────────────────────────────

  async login(agentId: string): Promise<AgentCommandResult> {
    return this.agentCommand(agentId, 'login');
  }

  async logout(agentId: string): Promise<AgentCommandResult> {
    return this.agentCommand(agentId, 'logout');
  }

  /** From the console: `available` (also ends wrap-up early) or `paused` with a reason (示忙); `offline` logs out. */
  async setAgentState(agentId: string, state: 'available' | 'paused' | 'offline', reason = ''): Promise<AgentCommandResult> {
    if (state === 'offline') return this.logout(agentId);
    return this.agentCommand(agentId, state, reason);
  }

  /** A softphone registration change seen through AMI (ContactStatus). */
  async onContact(event: ContactEvent): Promise<void> {
    const exts = [event.aor, event.endpoint].map(extensionOfEndpoint).filter((x): x is string => x !== undefined);
    if (exts.length === 0) return;
    const ids = await this.opts.redis.hmget(this.store.key('cfg:ext'), ...exts);
    const agentId = ids.find((x): x is string => typeof x === 'string');
    if (!agentId) return;
    const r = await this.agentCommand(agentId, event.registered ? 'registered' : 'unregistered');
    if (r.ok) this.log.info({ agentId, registered: event.registered, state: r.state }, 'softphone registration changed');
  }

  /**
   * Aligns registrations with the PBX's contact list (after an AMI (re)connect: Asterisk does not
   * replay the ContactStatus events we missed). Agents absent from the list are unregistered.
   */
  async syncRegistrations(contacts: ContactEvent[]): Promise<void> {
    const registered = new Set<string>();
    for (const c of contacts) {
      if (!c.registered) continue;
      for (const name of [c.aor, c.endpoint]) {
        const ext = extensionOfEndpoint(name);
        if (ext) registered.add(ext);
      }
    }
    const agents = await this.loadAgents();
    for (const { agent, rt } of agents) {
      const now = registered.has(agent.extension);
      if (now !== rt.registered) await this.agentCommand(agent.id, now ? 'registered' : 'unregistered');
    }
  }

  /** Wires the AMI port: ContactStatus events, and a full resync each time the link comes up. */
  attachPbx(pbx: RegistrationSource): () => void {
    this.pbx = pbx;
    const resync = (): void => {
      pbx
        .listContacts()
        .then((list) => this.syncRegistrations(list))
        .catch((err: unknown) => this.log.warn({ err }, 'registration resync failed'));
    };
    const offContact = pbx.onContact((e) => {
      this.onContact(e).catch((err: unknown) => this.log.warn({ err }, 'registration update failed'));
    });
    const offLink = pbx.onLinkState((state) => {
      if (state === 'connected') resync();
    });
    if (pbx.linkState === 'connected') resync();
    return () => {
      offContact();
      offLink();
      if (this.pbx === pbx) this.pbx = undefined;
    };
  }

  /**
   * Looks the registration of these agents up again in the PBX's contact list (a seat's extension
   * changed: whatever was registered under the old one says nothing about the new one). Without a
   * reachable AMI the registration is unknown, so it counts as not registered until a ContactStatus
   * event or the next resync says otherwise.
   */
  private async recheckRegistrations(ids: string[]): Promise<void> {
    // Without the requirement a registration decides nothing (login counts as registered).
    if (!this.config.requireRegistration) return;
    let registered: Set<string> | undefined;
    if (this.pbx && this.pbx.linkState === 'connected') {
      try {
        registered = new Set(
          (await this.pbx.listContacts()).filter((c) => c.registered).flatMap((c) => [c.aor, c.endpoint].map(extensionOfEndpoint)).filter((x): x is string => x !== undefined),
        );
      } catch (err) {
        this.log.warn({ err }, 'registration re-check failed; counted as not registered');
      }
    }
    const agents = (await this.loadAgents()).filter(({ agent }) => ids.includes(agent.id));
    for (const { agent, rt } of agents) {
      const now = registered?.has(agent.extension) ?? false;
      if (now !== rt.registered) {
        const r = await this.agentCommand(agent.id, now ? 'registered' : 'unregistered');
        this.log.info({ agentId: agent.id, extension: agent.extension, registered: now, state: r.ok ? r.state : r.error }, 'registration re-checked after an extension change');
      }
    }
  }

  private async agentCommand(agentId: string, cmd: string, reason = ''): Promise<AgentCommandResult> {
    const res = String(
      await this.run('agent', this.now(), agentId, cmd, reason, this.config.requireRegistration ? '0' : '1'),
    );
    if (res.startsWith('error:')) return { ok: false, error: res.slice(6) };
    this.schedule();
    return { ok: true, state: res as AgentStateName };
  }

  /** Agents with their state, for the supervisor page. */
  async agents(): Promise<AgentView[]> {
    return (await this.loadAgents()).map(({ agent, rt }) => {
      const v: AgentView = {
        ...agent,
        state: rt.state as AgentStateName,
        reason: rt.reason,
        since: rt.since,
        idleSince: rt.idleSince,
        misses: rt.misses,
        loggedIn: rt.loggedIn,
        registered: rt.registered,
        dialStringResolved: dialStringFor(agent, this.config.dialTemplate),
      };
      if (rt.callId) v.callId = rt.callId;
      return v;
    });
  }

  /** Waiting calls per skill, for the supervisor page. */
  async queues(now = this.now()): Promise<QueueView[]> {
    const bySkill = new Map<string, QueueView>();
    for (const e of await this.store.entries()) {
      const q = bySkill.get(e.skill) ?? { skill: e.skill, waiting: 0, ringing: 0, callbacks: 0, longestWaitSec: 0 };
      q.waiting++;
      if (e.state !== 'queued') q.ringing++;
      if (e.callback) q.callbacks++;
      q.longestWaitSec = Math.max(q.longestWaitSec, Math.floor((now - e.joinedAt) / 1000));
      bySkill.set(e.skill, q);
    }
    return [...bySkill.values()].sort((a, b) => (a.skill < b.skill ? -1 : 1));
  }

  /**
   * The queue length per line for the wallboard's chart: every router run sees all entries, so
   * it notes the largest length of the quarter hour. Only a new largest value is written.
   */
  private async sampleQueues(entries: EntryRecord[], now: number): Promise<void> {
    const counts = new Map<string, number>([['all', 0]]);
    for (const e of entries) {
      if (e.callback) continue; // the citizen hung up and waits for a call back
      counts.set('all', counts.get('all')! + 1);
      if (e.line) counts.set(`line:${e.line}`, (counts.get(`line:${e.line}`) ?? 0) + 1);
    }
    const stamp = `${this.day(now)}/${quarterOf(now, this.config.utcOffsetMin)}`;
    if (this.queueStamp !== stamp) {
      this.queueStamp = stamp;
      this.queueMaxSeen.clear();
    }
    const pairs: (string | number)[] = [];
    for (const [dim, n] of counts) {
      if (n > (this.queueMaxSeen.get(dim) ?? 0)) {
        pairs.push(dim, n);
        this.queueMaxSeen.set(dim, n);
      }
    }
    if (pairs.length > 0) await this.run('queueMax', now, ...pairs);
  }

  /** Today's (or a past day's) figures by quarter hour, for the whole centre and per line. `day` is YYYY-MM-DD, local. */
  async series(now = this.now(), day?: string): Promise<DaySeries> {
    const today = this.day(now);
    const key = day ? day.replace(/-/g, '') : today;
    const off = this.config.utcOffsetMin * 60_000;
    const from = Date.UTC(Number(key.slice(0, 4)), Number(key.slice(4, 6)) - 1, Number(key.slice(6, 8))) - off;
    const quarters = key === today ? quarterOf(now, this.config.utcOffsetMin) + 1 : key < today ? QUARTERS_PER_DAY : 0;
    const raw = await this.store.seriesHash(key);
    return buildSeries(raw, { day: `${key.slice(0, 4)}-${key.slice(4, 6)}-${key.slice(6, 8)}`, from, quarters });
  }

  /** Today's counters per line, skill queue and seat group. */
  async stats(now = this.now()): Promise<AcdStats> {
    const day = this.day(now);
    const raw = await this.store.statsHash(day);
    const acc = new Map<string, Record<string, number>>();
    for (const [k, v] of Object.entries(raw)) {
      const [field, dim] = k.split('|');
      if (!field || !dim) continue;
      const m = acc.get(dim) ?? {};
      m[field] = Number(v);
      acc.set(dim, m);
    }
    const out: AcdStats = { day, all: counters({}), lines: {}, skills: {}, groups: {} };
    for (const [dim, m] of acc) {
      const c = counters(m);
      if (dim === 'all') out.all = c;
      else if (dim.startsWith('line:')) out.lines[dim.slice(5)] = c;
      else if (dim.startsWith('skill:')) out.skills[dim.slice(6)] = c;
      else if (dim.startsWith('group:')) out.groups[dim.slice(6)] = c;
    }
    return out;
  }

  onAgentEvent(listener: (e: AcdEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  private emitEvent(message: string): void {
    let e: AcdEvent;
    try {
      e = JSON.parse(message) as AcdEvent;
    } catch {
      return;
    }
    for (const l of this.eventListeners) {
      try {
        l(e);
      } catch (err) {
        this.log.warn({ err }, 'ACD event listener failed');
      }
    }
  }

  // ───────────────────────────── admin data ─────────────────────────────

  async listGroups(): Promise<SeatGroup[]> {
    const h = await this.opts.redis.hgetall(this.store.key('cfg:groups'));
    return Object.values(h).map((v) => JSON.parse(v) as SeatGroup).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async listAgents(): Promise<Agent[]> {
    const h = await this.opts.redis.hgetall(this.store.key('cfg:agents'));
    return Object.values(h).map((v) => JSON.parse(v) as Agent).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /**
   * The version of the seat configuration (groups and agents together): every write bumps it. An admin
   * write names the version it read ({@link putGroup}, {@link putAgent}, {@link deleteAgent}) and is
   * refused when someone changed the seats meanwhile — checked in the same Redis script that writes, so
   * two instances can never both win, and the checks made before writing (known groups, the extension's
   * owner) saw the state that is replaced.
   */
  async seatsVersion(): Promise<number> {
    return Number((await this.opts.redis.get(this.store.key('cfg:version'))) ?? 0);
  }

  async upsertGroup(input: unknown): Promise<AdminResult> {
    const r = await this.putGroup(input);
    return r.ok ? { ok: true } : { ok: false, errors: 'errors' in r ? r.errors : [] };
  }

  /** Create or replace a group; with `expectedVersion`, only if the seats are still at that version. */
  async putGroup(input: unknown, expectedVersion?: number): Promise<SeatWriteResult> {
    const r = validateGroup(input);
    if (!r.ok) return r;
    const res = (await this.opts.redis.eval(PUT_GROUP, 2, this.store.key('cfg:version'), this.store.key('cfg:groups'), expected(expectedVersion), r.value.id, JSON.stringify(r.value))) as [number, number];
    return res[0] === 1 ? { ok: true, version: res[1] } : { ok: false, conflict: res[1] };
  }

  /**
   * Creates the groups of a seat file that do not exist yet (never replaces one an admin edited, never adds
   * agents): the city's shipped table names these groups, and a queue target must name an existing group.
   */
  async ensureGroups(input: unknown): Promise<AdminResult> {
    const r = validateSeatFile(input);
    if (!r.ok) return r;
    let created = 0;
    for (const g of r.value.groups) created += await this.opts.redis.hsetnx(this.store.key('cfg:groups'), g.id, JSON.stringify(g));
    // A change an admin may not have seen: their next write from an older read is refused.
    if (created > 0) await this.opts.redis.incr(this.store.key('cfg:version'));
    return { ok: true };
  }

    /** Removes a group unless agents still belong to it. */
  async removeGroup(id: string): Promise<AdminResult> {
    const users = (await this.listAgents()).filter((a) => a.groups.includes(id));
    if (users.length > 0) {
      return { ok: false, errors: [{ field: 'id', message: `group ${id} still has agents: ${users.map((a) => a.id).join(', ')}` }] };
    }
    await this.opts.redis.multi().hdel(this.store.key('cfg:groups'), id).incr(this.store.key('cfg:version')).exec();
    return { ok: true };
  }

  async upsertAgent(input: unknown, opts: { recheck?: boolean } = {}): Promise<AdminResult> {
    const r = await this.putAgent(input, undefined, opts);
    return r.ok ? { ok: true } : { ok: false, errors: 'errors' in r ? r.errors : [] };
  }

  /**
   * Create or replace an agent; with `expectedVersion`, only if the seats are still at that version.
   * A new agent or a changed extension has its registration looked up again (unless `recheck: false`).
   */
  async putAgent(input: unknown, expectedVersion?: number, opts: { recheck?: boolean } = {}): Promise<SeatWriteResult> {
    if (expectedVersion !== undefined) {
      const cur = await this.seatsVersion();
      if (cur !== expectedVersion) return { ok: false, conflict: cur };
    }
    const groups = new Set((await this.listGroups()).map((g) => g.id));
    const r = validateAgent(input, groups);
    if (!r.ok) return r;
    const agent = r.value;
    const k = (x: string) => this.store.key(x);
    const old = await this.opts.redis.hget(k('cfg:agents'), agent.id);
    const res = (await this.opts.redis.eval(
      PUT_AGENT,
      4,
      k('cfg:version'),
      k('cfg:agents'),
      k('cfg:ext'),
      k('agents'),
      expected(expectedVersion),
      agent.id,
      JSON.stringify(agent),
      agent.extension,
    )) as [number, number | string];
    if (res[0] === -1) return { ok: false, errors: [{ field: 'extension', message: `extension ${agent.extension} belongs to agent ${String(res[1])}` }] };
    if (res[0] !== 1) return { ok: false, conflict: Number(res[1]) };
    const moved = !old || (JSON.parse(old) as Agent).extension !== agent.extension;
    if (moved && opts.recheck !== false) await this.recheckRegistrations([agent.id]);
    return { ok: true, version: Number(res[1]) };
  }

  /** Logs the agent out (a call in progress finishes) and deletes it. */
  async removeAgent(id: string): Promise<AdminResult> {
    const r = await this.deleteAgent(id);
    return r.ok ? { ok: true } : { ok: false, errors: 'errors' in r ? r.errors : [] };
  }

  /**
   * Logs the agent out and deletes it; with `expectedVersion`, only if the seats are still at that
   * version (checked before the log-out too, so a stale request changes nothing).
   */
  async deleteAgent(id: string, expectedVersion?: number): Promise<SeatWriteResult> {
    const redis = this.opts.redis;
    if (expectedVersion !== undefined) {
      const cur = await this.seatsVersion();
      if (cur !== expectedVersion) return { ok: false, conflict: cur };
    }
    const old = await redis.hget(this.store.key('cfg:agents'), id);
    if (!old) return { ok: false, errors: [{ field: 'id', message: `unknown agent ${id}` }] };
    const rt = (await this.store.agentRuntimes([id])).get(id);
    if (rt && (rt.state === 'ringing' || rt.state === 'on-call')) {
      return { ok: false, errors: [{ field: 'id', message: `agent ${id} is ${rt.state}; log out first` }] };
    }
    await this.logout(id);
    const k = (x: string) => this.store.key(x);
    const res = (await redis.eval(DELETE_AGENT, 5, k('cfg:version'), k('cfg:agents'), k('cfg:ext'), k('agents'), k(`agent:${id}`), expected(expectedVersion), id)) as [number, number];
    if (res[0] === -1) return { ok: false, errors: [{ field: 'id', message: `unknown agent ${id}` }] };
    return res[0] === 1 ? { ok: true, version: res[1] } : { ok: false, conflict: res[1] };
  }

  /** Loads a seat file (`data/seats/<city>.json`): groups first, then agents. */
  async seed(input: unknown): Promise<AdminResult> {
    const r = validateSeatFile(input);
    if (!r.ok) return r;
    for (const g of r.value.groups) await this.upsertGroup(g);
    const errors: FieldError[] = [];
    const moved: string[] = [];
    const before = new Map((await this.listAgents()).map((a) => [a.id, a.extension]));
    for (const [i, a] of r.value.agents.entries()) {
      const res = await this.upsertAgent(a, { recheck: false });
      if (!res.ok) errors.push(...res.errors.map((e) => ({ field: `agents[${i}].${e.field}`, message: e.message })));
      else if (before.get(a.id) !== a.extension) moved.push(a.id);
    }
    // One look at the contact list for the whole file, not one per seat.
    if (moved.length) await this.recheckRegistrations(moved);
    return errors.length ? { ok: false, errors } : { ok: true };
  }

  // ───────────────────────────── dispatch ─────────────────────────────

  /** Coalesces wake-ups: at most one run at a time on this instance, plus one more if woken meanwhile. */
  schedule(): void {
    if (!this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.dispatchLoop();
  }

  private async dispatchLoop(): Promise<void> {
    try {
      do {
        this.again = false;
        const ran = await this.dispatchOnce();
        if (!ran && this.started) {
          // another instance holds the lock; look again shortly so this wake-up is not lost
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => this.schedule(), 25);
        }
      } while (this.again && this.started);
    } catch (err) {
      this.log.error({ err }, 'ACD dispatch failed');
    } finally {
      this.running = false;
    }
    await this.drainInbox();
  }

  /** The average handling time the expected waits are computed with (admission control uses it too). */
  get averageHandleSec(): number {
    return this.config.averageHandleSec;
  }

  setBeforeDispatch(fn: () => Promise<void>): void {
    this.beforeDispatch = fn;
  }

  /** Renew this instance's heartbeat now (after a Redis reconnect, before anything sweeps). */
  heartbeat(): Promise<void> {
    return this.store.heartbeat(this.instanceId, Math.round(this.config.heartbeatTtlSec * 1000));
  }

  /** One router run under the dispatch lock. Returns false when another instance holds the lock. */
  async dispatchOnce(): Promise<boolean> {
    await this.beforeDispatch?.();
    const token = `${this.instanceId}:${randomUUID()}`;
    const locking = this.opts.dispatchLock !== false;
    if (locking && !(await this.store.tryLock(LOCK, token, 5000))) return false;
    try {
      await this.run('sweep', this.now(), this.instanceId, this.config.autoPauseAfterMisses, this.config.callStateKeyPrefix);
      const [entries, agents] = await Promise.all([this.store.entries(), this.loadAgents()]);
      // The decision's clock is read after the state: an entry re-queued while this run was reading
      // (a callback retry due "now") is not judged against an earlier instant and passed over.
      const now = this.now();
      await this.sampleQueues(entries, now);
      const snapshot = this.snapshot(entries, agents);
      const decisions = route(snapshot, now);
      if (decisions.length === 0) return true;
      const byId = new Map(agents.map((a) => [a.agent.id, a.agent]));
      const expiresAt = now + Math.round((this.config.noAnswerSec + this.config.offerGraceSec) * 1000);
      const results = await Promise.all(
        decisions.map((d) => {
          const agent = byId.get(d.agentId)!;
          return this.run(
            'match',
            now,
            d.callId,
            d.agentId,
            randomUUID(),
            String(d.agentIdleSince),
            expiresAt,
            dialStringFor(agent, this.config.dialTemplate),
            this.config.noAnswerSec,
          );
        }),
      );
      results.forEach((r, i) => {
        const d = decisions[i]!;
        if (r === 'ok') this.log.debug({ callId: d.callId, agentId: d.agentId, tier: d.tier }, 'call offered');
        else this.log.debug({ callId: d.callId, agentId: d.agentId, result: r }, 'decision refused');
      });
      return true;
    } finally {
      if (locking) await this.store.unlock(LOCK, token);
    }
  }

  private snapshot(entries: EntryRecord[], agents: { agent: Agent; rt: AgentRuntime; peak: boolean }[]): RouterSnapshot {
    const queueLength: Record<string, number> = {};
    for (const e of entries) queueLength[e.skill] = (queueLength[e.skill] ?? 0) + 1;
    return {
      calls: entries.filter((e) => e.state === 'queued').map(toWaiting),
      agents: agents.map(({ agent, rt, peak }) => ({
        id: agent.id,
        available: rt.state === 'available' && rt.loggedIn && rt.registered,
        idleSince: rt.idleSince,
        skills: agent.skills,
        peak,
        groups: agent.groups,
      })),
      queueLength,
      config: this.routerConfig(Object.keys(queueLength)),
    };
  }

  /** The queue rules for a router run, as the answer-rate controller tunes them now. */
  private routerConfig(skills: string[]): RouterSnapshot['config'] {
    const base: RouterSnapshot['config'] = {
      rules: this.config.rules,
      defaultRule: this.config.defaultRule,
      missExcludeSec: this.config.missExcludeSec,
      languageSkills: this.config.languageSkills,
    };
    const port = this.opts.tuning;
    if (!port) return base;
    const rules = { ...base.rules };
    const lend: Record<string, string[]> = {};
    for (const skill of skills) {
      const t = port.tuning(skill);
      if (!t) continue;
      rules[skill] = applyTuning(ruleFor(this.config, skill), t);
      if (t.lendGroups.length > 0) lend[skill] = t.lendGroups;
    }
    return { ...base, rules, lend };
  }

  private async loadAgents(): Promise<{ agent: Agent; rt: AgentRuntime; peak: boolean }[]> {
    const [agents, groups] = await Promise.all([this.listAgents(), this.listGroups()]);
    const peakGroups = new Set(groups.filter((g) => g.kind === 'peak').map((g) => g.id));
    const rts = await this.store.agentRuntimes(agents.map((a) => a.id));
    return agents.map((agent) => ({
      agent,
      rt: rts.get(agent.id)!,
      // a peak seat belongs only to peak groups: it takes overflow, not the regular queue
      peak: agent.groups.length > 0 && agent.groups.every((g) => peakGroups.has(g)),
    }));
  }

  private draining = false;
  private drainAgain = false;

  /** Hands this instance's new offers to the session. */
  private async drainInbox(): Promise<void> {
    if (!this.started) return;
    if (this.draining) {
      this.drainAgain = true; // an offer pushed after our last empty pop must not wait for the next tick
      return;
    }
    this.draining = true;
    try {
      for (;;) {
        this.drainAgain = false;
        const ids = await this.store.popInbox(this.instanceId);
        if (ids.length === 0 && !this.drainAgain) break;
        for (const id of ids) {
          const o = await this.store.offer(id);
          // gone already: withdrawn or expired before we saw it
          if (!o || o.answered || o.owner !== this.instanceId) continue;
          const offer: Offer = {
            offerId: o.offerId,
            callId: o.callId,
            agentId: o.agentId,
            dialString: o.dialString,
            timeoutSec: o.timeoutSec,
          };
          if (o.callback) offer.callback = { number: o.callback, attempt: o.attempt + 1 };
          for (const l of this.offerListeners) {
            try {
              l(offer);
            } catch (err) {
              this.log.error({ err, callId: o.callId }, 'offer listener failed');
            }
          }
        }
      }
    } catch (err) {
      this.log.warn({ err }, 'draining the offer inbox failed');
    } finally {
      this.draining = false;
    }
  }
}

function toWaiting(e: EntryRecord): WaitingCall {
  const c: WaitingCall = { callId: e.callId, skill: e.skill, priority: e.priority, joinedAt: e.joinedAt };
  if (e.minLevel > 0) c.minLevel = e.minLevel;
  if (e.language) c.language = e.language;
  if (e.notBefore !== undefined) c.notBefore = e.notBefore;
  if (e.missedBy) c.missedBy = e.missedBy;
  if (e.callback) c.callback = true;
  return c;
}

function counters(m: Record<string, number>): Counters {
  const answered = m.answered ?? 0;
  const abandoned = m.abandoned ?? 0;
  const settled = answered + abandoned;
  return {
    offered: m.offered ?? 0,
    answered,
    handled: m.handled ?? 0,
    abandoned,
    asaSec: answered ? Math.round((m.waitAnsweredMs ?? 0) / answered) / 1000 : 0,
    abandonRate: settled ? abandoned / settled : 0,
    answerRate: settled ? answered / settled : 1,
    averageAbandonWaitSec: abandoned ? Math.round((m.waitAbandonedMs ?? 0) / abandoned) / 1000 : 0,
    callbacksRequested: m.callbackRequested ?? 0,
    callbacksExpired: m.callbackExpired ?? 0,
    lost: m.lost ?? 0,
  };
}

// Exported for the supervisor page and tests.
export { compareCalls, ruleFor };
