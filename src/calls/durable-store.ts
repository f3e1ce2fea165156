/**
 * Durable call state: every live call's {@link CallState} in Redis, owned by the instance that
 * drives it, so that when an instance dies its calls can be adopted — by its restart or by a peer
 * on the same Asterisk.
 *
 * @remarks
 * | key                         | type   | what                                                         |
 * | --------------------------- | ------ | ------------------------------------------------------------ |
 * | `P:callstate:<callId>`      | hash   | `owner` (instance id), `node` (cluster node the call is on), `state` (JSON), `at` (ms of the write) |
 * | `P:callstates`              | set    | call ids with a stored state                                 |
 * | `P:callstate-lease:<inst>`  | string | the instance's lease, renewed every `renewMs`, expires after `leaseMs` |
 * | `P:cbstate:<id>`            | hash   | a callback call in progress (calls/callback.ts): `owner`, `node`, `state` (JSON {@link StoredCallback}), `at` |
 * | `P:cbstates`                | set    | callback ids with a stored state                             |
 * | `P:callstate-flow:<sha1>`   | string | an IVR flow a stored state refers to (JSON), kept {@link FLOW_TTL_SEC} |
 *
 * A call's state carries the IVR flows it runs on (ivr/types.ts IvrState.flows), several KB that
 * are the same for every call: the stored state names each flow by the SHA1 of its JSON instead,
 * and the flow itself is written once (and every few minutes) — not with every step of every call.
 *
 * Writes are coalesced per call (only the newest state of a call is written) and ordered (one
 * write in flight). A write is refused by Redis when another instance owns the call (it adopted
 * it while this one was presumed dead): the session is then told to let go. A claim is one
 * script: the owner's lease must have expired (or the owner is this instance's own id, i.e. its
 * earlier life), so of two instances adopting at once exactly one gets each call.
 *
 * In a cluster every call also names its Asterisk node: only an instance driving that node (its own
 * server, or a peer that took the node over, src/cluster/) can continue it, so orphans are offered
 * per node. Outside a cluster the node is ''.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CallRecord } from './record.js';
import { CALL_STATE_VERSION, type CallState } from './state.js';
import type { CallStateStore } from './store.js';
import { redisKey } from '../util/redis-keys.js';

export interface DurableStoreOptions {
  /** A lease not renewed for this long is expired: the instance is presumed dead. */
  leaseMs?: number;
  /** How often the lease is renewed (and failed writes retried). */
  renewMs?: number;
  now?: () => number;
  /** This instance no longer owns the call (another adopted it): its session must stop acting. */
  onLost?: (callId: string) => void;
  /** The Asterisk node this store's calls are on (cluster); '' outside a cluster. */
  node?: string;
  /**
   * How long a checkpoint waits for more steps before it is written (ms; 0 = at once). A new call
   * takes three or four steps in its first milliseconds (begin, the guard's verdict, the route, the
   * IVR's first prompt), each a new state: waiting a moment writes the last of them only. A crash in
   * that moment adopts the call from the state before, as a crash before any asynchronous write would.
   */
  coalesceMs?: number;
}

/** Default {@link DurableStoreOptions.coalesceMs}: longer than a call's first steps take, short against a lease. */
export const CHECKPOINT_COALESCE_MS = 25;

export interface StoredCall {
  callId: string;
  owner: string;
  state: CallState;
}

const SAVE = `
local o = redis.call('HGET', KEYS[1], 'owner')
if o and o ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'state', ARGV[2], 'at', ARGV[3], 'node', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[4])
return 1
`;

const REMOVE = `
local o = redis.call('HGET', KEYS[1], 'owner')
if o and o ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1
`;

/** KEYS: state hash, lease key of the expected owner. ARGV: me, expected owner. */
const CLAIM = `
local o = redis.call('HGET', KEYS[1], 'owner')
if not o or o ~= ARGV[2] then return false end
if o ~= ARGV[1] and redis.call('EXISTS', KEYS[2]) == 1 then return false end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
return redis.call('HGET', KEYS[1], 'state')
`;

/**
 * A callback call in progress (calls/callback.ts), as much as another instance needs to end it
 * cleanly: its legs and bridge, the agent, how far it got, and its record (the ticket's callback).
 */
export interface StoredCallback {
  id: string;
  /** The call the citizen asked to be called back for. */
  callbackOf: string;
  agentId: string;
  agentLegId: string;
  citizenLegId: string;
  bridgeId: string;
  agentAnswered: boolean;
  citizenAnswered: boolean;
  record: CallRecord;
}

/**
 * How long a stored flow outlives its last write (far longer than any call). Each process writes a
 * flow again every {@link FLOW_REFRESH_MS}, which also restores it soon after a Redis that lost
 * its data (a call adopted meanwhile whose flow is gone starts afresh, as one of another version).
 */
const FLOW_TTL_SEC = 7 * 24 * 3600;
const FLOW_REFRESH_MS = 10 * 60_000;

/** A flow in a stored state: the SHA1 of its JSON, the flow itself under `callstate-flow:<sha1>`. */
interface FlowRef {
  $flow: string;
}

const isFlowRef = (v: unknown): v is FlowRef => !!v && typeof v === 'object' && typeof (v as FlowRef).$flow === 'string';

/** The scripts a pipeline runs by SHA1 (ioredis loads them once per connection): not their text per write. */
interface ScriptedRedis {
  hotlineCallStateSave(stateKey: string, setKey: string, me: string, json: string, at: string, callId: string, node: string): Promise<number>;
  hotlineCallStateRemove(stateKey: string, setKey: string, me: string, callId: string): Promise<number>;
}

function withScripts(redis: Redis): void {
  if ('hotlineCallStateSave' in redis) return;
  redis.defineCommand('hotlineCallStateSave', { numberOfKeys: 2, lua: SAVE });
  redis.defineCommand('hotlineCallStateRemove', { numberOfKeys: 2, lua: REMOVE });
}

export class RedisCallStateStore implements CallStateStore {
  private readonly pending = new Map<string, CallState | null>();
  /**
   * The JSON last written for each live call: a step that changed nothing the state holds (a
   * playback started, a repeated event) is not written again — at 100 set-ups/s most steps are.
   */
  private readonly written = new Map<string, string>();
  /** SHA1 of each flow object's JSON (flows are shared, immutable values: hashed once per object). */
  private readonly flowShas = new WeakMap<object, { sha: string; json: string }>();
  /** When this process last wrote each flow. */
  private readonly flowsWritten = new Map<string, number>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  /** How often a live instance looks for calls of dead ones (calls/manager.ts). */
  readonly checkEveryMs: number;
  private readonly now: () => number;
  /** The Asterisk node of this store's calls ('' outside a cluster). */
  readonly node: string;
  /** States this instance wrote before this moment are of its earlier life (a restart with the same id). */
  private startedAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly instanceId: string,
    private readonly log: Logger,
    private readonly o: DurableStoreOptions = {},
  ) {
    this.leaseMs = o.leaseMs ?? 15_000;
    this.renewMs = o.renewMs ?? Math.max(100, Math.floor(this.leaseMs / 3));
    this.checkEveryMs = this.renewMs;
    this.now = o.now ?? Date.now;
    this.node = o.node ?? '';
    withScripts(redis);
  }

  private key(...parts: string[]): string {
    return redisKey(this.prefix, ...parts);
  }

  private stateKey(callId: string): string {
    return this.key('callstate', callId);
  }

  private leaseKey(instanceId: string): string {
    return this.key('callstate-lease', instanceId);
  }

  /** Take the lease and keep renewing it. */
  async start(): Promise<void> {
    this.startedAt = this.now();
    await this.renew();
    this.timer = setInterval(() => void this.renew(), this.renewMs);
    this.timer.unref();
  }

  /**
   * Stop renewing. `release`: give the lease up now (a clean stop: the next instance adopts at
   * once); otherwise it runs out as after a crash.
   */
  async stop(opts: { release: boolean }): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    if (opts.release) await this.redis.del(this.leaseKey(this.instanceId)).catch(() => undefined);
  }

  private async renew(): Promise<void> {
    try {
      await this.redis.set(this.leaseKey(this.instanceId), String(this.now()), 'PX', this.leaseMs);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'call state lease not renewed');
    }
    if (this.pending.size > 0) this.kick();
  }

  save(state: CallState): void {
    this.pending.set(state.callId, state);
    this.kick();
  }

  remove(callId: string): void {
    this.pending.set(callId, null);
    this.kick();
  }

  /** Everything saved so far is written (or failed and kept for the next try). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size > 0) {
      this.kick();
      await this.flushing;
    }
  }

  private kick(): void {
    if (this.flushing) return;
    const wait = this.o.coalesceMs ?? CHECKPOINT_COALESCE_MS;
    const run = wait > 0 ? new Promise<void>((r) => setTimeout(r, wait)).then(() => this.writeAll()) : this.writeAll();
    this.flushing = run.finally(() => {
      this.flushing = undefined;
    });
  }

  private async writeAll(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = [...this.pending];
      this.pending.clear();
      const writes: [string, string | null][] = [];
      const flows = new Map<string, string>();
      for (const [callId, state] of batch) {
        if (!state) {
          writes.push([callId, null]);
          continue;
        }
        const json = JSON.stringify(this.pack(state, flows));
        if (this.written.get(callId) !== json) writes.push([callId, json]);
      }
      if (writes.length === 0) continue;
      try {
        const pipe = this.redis.pipeline() as unknown as ReturnType<Redis['pipeline']> & ScriptedRedis;
        // The flows first: a state is never stored before the flows it names.
        for (const [sha, json] of flows) pipe.set(this.flowKey(sha), json, 'EX', FLOW_TTL_SEC);
        for (const [callId, json] of writes) {
          if (json !== null) pipe.hotlineCallStateSave(this.stateKey(callId), this.key('callstates'), this.instanceId, json, String(this.now()), callId, this.node);
          else pipe.hotlineCallStateRemove(this.stateKey(callId), this.key('callstates'), this.instanceId, callId);
        }
        const all = (await pipe.exec()) ?? [];
        for (const [err] of all.slice(0, flows.size)) if (err) throw err;
        const at = this.now();
        for (const sha of flows.keys()) this.flowsWritten.set(sha, at);
        const results = all.slice(flows.size);
        results.forEach(([err, ok], i) => {
          const [callId, json] = writes[i]!;
          if (err) throw err;
          if (json === null) this.written.delete(callId);
          else if (Number(ok) === 0) {
            this.written.delete(callId);
            this.log.warn({ callId }, 'call adopted by another instance; letting it go');
            this.o.onLost?.(callId);
          } else this.written.set(callId, json);
        });
      } catch (err) {
        // Redis away: keep what was not superseded meanwhile, retry with the next lease renewal.
        for (const [callId, state] of batch) if (!this.pending.has(callId)) this.pending.set(callId, state);
        this.log.warn({ err: (err as Error).message, calls: batch.length }, 'call state not checkpointed; will retry');
        return;
      }
    }
  }

  private flowKey(sha: string): string {
    return this.key('callstate-flow', sha);
  }

  /**
   * The state as stored: its IVR flows replaced by references; the flows this process has not
   * written lately are added to `flows` (sha → JSON) for the same pipeline.
   */
  private pack(state: CallState, flows: Map<string, string>): CallState {
    const ivr = state.ivr as { flows?: Record<string, object> } | null;
    if (!ivr?.flows || typeof ivr.flows !== 'object') return state;
    const refs: Record<string, FlowRef> = {};
    const now = this.now();
    for (const [id, flow] of Object.entries(ivr.flows)) {
      let h = this.flowShas.get(flow);
      if (!h) {
        const json = JSON.stringify(flow);
        h = { sha: createHash('sha1').update(json).digest('hex'), json };
        this.flowShas.set(flow, h);
      }
      refs[id] = { $flow: h.sha };
      if (now - (this.flowsWritten.get(h.sha) ?? -Infinity) >= FLOW_REFRESH_MS) flows.set(h.sha, h.json);
    }
    return { ...state, ivr: { ...ivr, flows: refs } };
  }

  /** The state as the session had it: flow references replaced by the stored flows (undefined if one is gone). */
  private async unpack(json: string): Promise<CallState | undefined> {
    const state = JSON.parse(json) as CallState;
    const ivr = state.ivr as { flows?: Record<string, unknown> } | null;
    if (!ivr?.flows || typeof ivr.flows !== 'object') return state;
    const refs = Object.entries(ivr.flows).filter((e): e is [string, FlowRef] => isFlowRef(e[1]));
    if (refs.length === 0) return state;
    const bodies = await this.redis.mget(refs.map(([, r]) => this.flowKey(r.$flow)));
    const flows: Record<string, unknown> = { ...ivr.flows };
    for (const [i, [id]] of refs.entries()) {
      const body = bodies[i];
      if (!body) return undefined;
      flows[id] = JSON.parse(body);
    }
    return { ...state, ivr: { ...ivr, flows } };
  }

  /** The stored state of a call (tests, supervisors). */
  async load(callId: string): Promise<StoredCall | undefined> {
    const h = await this.redis.hgetall(this.stateKey(callId));
    if (!h.owner || !h.state) return undefined;
    const state = await this.unpack(h.state);
    if (!state) {
      this.log.warn({ callId }, 'stored call state names an IVR flow that is gone');
      return undefined;
    }
    return { callId, owner: h.owner, state };
  }

  /** The instance that owns a stored call, if any (alive or not). */
  async ownerOf(callId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.stateKey(callId), 'owner')) ?? undefined;
  }

  /**
   * Stored calls on this store's node whose owner's lease has run out, or that name this instance's id
   * (its earlier life). A call on another node is not ours to continue: its channels are not on our Asterisk.
   */
  async orphans(): Promise<StoredCall[]> {
    const ids = await this.redis.smembers(this.key('callstates'));
    const out: StoredCall[] = [];
    if (ids.length === 0) return out;
    // Every live call of every instance is in the set: their owners in one round trip, not one each.
    const pipe = this.redis.pipeline();
    for (const callId of ids) pipe.hmget(this.stateKey(callId), 'owner', 'at', 'node');
    const rows = (await pipe.exec()) ?? [];
    const alive = new Map<string, boolean>();
    for (const [i, callId] of ids.entries()) {
      const [err, row] = rows[i] ?? [new Error('no reply')];
      if (err) throw err;
      const [owner, at, node] = row as [string | null, string | null, string | null];
      if (!owner) {
        await this.redis.srem(this.key('callstates'), callId);
        continue;
      }
      if ((node ?? '') !== this.node) continue;
      // Our own calls of this life are driven by our sessions.
      if (owner === this.instanceId && Number(at) >= this.startedAt) continue;
      if (!alive.has(owner)) alive.set(owner, owner !== this.instanceId && (await this.redis.exists(this.leaseKey(owner))) === 1);
      if (alive.get(owner)) continue;
      const stored = await this.load(callId);
      if (stored) out.push(stored);
    }
    return out;
  }

  /**
   * Take a call over from `owner` (whose lease must have run out). Returns its state, or
   * undefined when another instance was first, the owner is alive, or the state is of another
   * schema version (then the call is adopted afresh).
   */
  async claim(callId: string, owner: string): Promise<CallState | undefined> {
    const json = (await this.redis.eval(CLAIM, 2, this.stateKey(callId), this.leaseKey(owner), this.instanceId, owner)) as string | null;
    if (!json) return undefined;
    const state = await this.unpack(json);
    if (!state) {
      this.log.warn({ callId }, 'stored call state names an IVR flow that is gone; adopting the call afresh');
      return undefined;
    }
    if (state.v !== CALL_STATE_VERSION) {
      this.log.warn({ callId, v: state.v }, 'stored call state of another version; adopting the call afresh');
      return undefined;
    }
    return state;
  }

  // ---- callback calls (calls/callback.ts): written directly, they change a few times per call ----

  /** A callback call's progress (its owner is this instance). */
  async saveCallback(cb: StoredCallback): Promise<void> {
    await (this.redis as unknown as ScriptedRedis).hotlineCallStateSave(this.key('cbstate', cb.id), this.key('cbstates'), this.instanceId, JSON.stringify(cb), String(this.now()), cb.id, this.node);
  }

  /** The callback call is over (or was ended by the instance that adopted it). */
  async removeCallback(id: string): Promise<void> {
    await (this.redis as unknown as ScriptedRedis).hotlineCallStateRemove(this.key('cbstate', id), this.key('cbstates'), this.instanceId, id);
  }

  /** The owner of a stored callback call, if any (alive or not). */
  async callbackOwner(id: string): Promise<string | undefined> {
    return (await this.redis.hget(this.key('cbstate', id), 'owner')) ?? undefined;
  }

  /** Stored callback calls on this store's node whose owner's lease has run out (or of this instance's earlier life). */
  async callbackOrphans(): Promise<Array<{ id: string; owner: string }>> {
    const out: Array<{ id: string; owner: string }> = [];
    for (const id of await this.redis.smembers(this.key('cbstates'))) {
      const [owner, at, node] = await this.redis.hmget(this.key('cbstate', id), 'owner', 'at', 'node');
      if (!owner) {
        await this.redis.srem(this.key('cbstates'), id);
        continue;
      }
      // Its legs are on that node's Asterisk: only whoever drives that node can end them.
      if ((node ?? '') !== this.node) continue;
      if (owner === this.instanceId && Number(at) >= this.startedAt) continue;
      if (owner !== this.instanceId && (await this.redis.exists(this.leaseKey(owner))) === 1) continue;
      out.push({ id, owner });
    }
    return out;
  }

  /** Take a callback call over from its dead owner (of two instances, one gets it). */
  async claimCallback(id: string, owner: string): Promise<StoredCallback | undefined> {
    const json = (await this.redis.eval(CLAIM, 2, this.key('cbstate', id), this.leaseKey(owner), this.instanceId, owner)) as string | null;
    return json ? (JSON.parse(json) as StoredCallback) : undefined;
  }
}
