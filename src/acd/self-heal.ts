/**
 * Self-healing ACD state: what Redis holds for this instance's calls
 * (queue entries, agents on its calls, callbacks) is reconciled against what
 * the instance knows is live — after every Redis or ARI reconnect, before the
 * next dispatch, and periodically.
 *
 * @remarks
 * Why: a call that ends while Redis is away cannot remove its queue entry or
 * free its agent (the writes fail); once Redis is back those entries were
 * offered to agents forever (the session is gone, the offer is rejected and
 * re-queued) and the agent stayed "on call". And when Redis lost data (a restart
 * without persistence, or the last second before an AOF fsync) or swept this
 * instance as dead while the link was down, live callers had no entry any more
 * and waited for nobody.
 *
 * The truth used is the sessions' own view of the ACD, recorded by
 * {@link TrackedAcd}, a decorator of the ACD port the call sessions talk to
 * (no session code changes): a call waits from `enqueue` until `leave`, an
 * agent is on a call from a successful `offerAnswered` until `callEnded`, a
 * callback is pending from a successful `requestCallback` until it is answered
 * or expires. The decision is the pure {@link healPlan}; {@link AcdHealer}
 * reads the state, applies the commands and counts them.
 */
import type { Logger } from 'pino';
import type { AcdPort, EnqueueRequest, LeaveReason, Offer, OfferFailure, QueuePosition } from './port.js';
import type { AgentRuntime, EntryRecord } from './redis-acd.js';
import type { Acd } from './service.js';

/** A waiting caller as its session enqueued it (`confirmed` once Redis took the entry). */
export interface TrackedWait {
  request: EnqueueRequest;
  confirmed: boolean;
}

/** A callback a caller was promised (Redis took it), until it is answered or expires. */
export interface TrackedCallback {
  request: EnqueueRequest;
  number: string;
  at: number;
  expiresAt: number;
}

export interface HealInput {
  instanceId: string;
  now: number;
  /** Every queue entry in Redis (only this instance's own are judged). */
  entries: EntryRecord[];
  agents: { id: string; rt: AgentRuntime }[];
  waiting: ReadonlyMap<string, TrackedWait>;
  /** callId → agents who answered it and whose end is not yet settled (a hand-off to a skill adds a second). */
  connected: ReadonlyMap<string, ReadonlySet<string>>;
  callbacks: ReadonlyMap<string, TrackedCallback>;
  /** Is this call's session still alive here? */
  isLive: (callId: string) => boolean;
}

export type HealCommand =
  /** An entry whose call is gone: it must never reach an agent. */
  | { kind: 'drop-entry'; callId: string }
  /** A live waiting caller without an entry (lost with Redis data, swept, or refused while Redis was away): back in the queue, with its original join time. */
  | { kind: 'requeue'; request: EnqueueRequest }
  /** A promised callback whose entry is gone: restored (its original join time kept). */
  | { kind: 'restore-callback'; callback: TrackedCallback }
  /** An agent held "on call" (or ringing) for a call of ours that is gone: settle it. */
  | { kind: 'free-agent'; agentId: string; callId: string; offerId?: string; state: 'on-call' | 'ringing' }
  /** Bookkeeping of a waiting call whose session is gone. */
  | { kind: 'forget'; callId: string };

/** The pure decision: Redis' view against the sessions' view → the commands that make them agree. */
export function healPlan(s: HealInput): HealCommand[] {
  const out: HealCommand[] = [];
  const inRedis = new Map(s.entries.map((e) => [e.callId, e] as const));
  for (const e of s.entries) {
    if (e.owner !== s.instanceId) continue; // other instances heal their own; dead ones are swept
    if (e.callback) continue; // a citizen waiting to be called back has no live call by design
    if (s.waiting.has(e.callId) && s.isLive(e.callId)) continue;
    out.push({ kind: 'drop-entry', callId: e.callId });
  }
  for (const [callId, w] of s.waiting) {
    if (!s.isLive(callId)) {
      out.push({ kind: 'forget', callId });
      continue;
    }
    if (w.confirmed && !inRedis.has(callId)) out.push({ kind: 'requeue', request: w.request });
  }
  for (const [callId, cb] of s.callbacks) {
    if (cb.expiresAt <= s.now) continue;
    if (!inRedis.has(callId)) out.push({ kind: 'restore-callback', callback: cb });
  }
  for (const { id, rt } of s.agents) {
    if (rt.owner !== s.instanceId || !rt.callId) continue;
    if (rt.state === 'on-call') {
      if (s.connected.get(rt.callId)?.has(id)) continue;
      // A callback being dialled is on its entry (state connecting), not on a session.
      const e = inRedis.get(rt.callId);
      if (e?.callback && e.agentId === id) continue;
      out.push({ kind: 'free-agent', agentId: id, callId: rt.callId, state: 'on-call' });
    } else if (rt.state === 'ringing') {
      // Ringing for a call whose session is gone (its entry is not waiting here any more).
      const e = inRedis.get(rt.callId);
      if (e?.callback) continue;
      if (s.waiting.has(rt.callId) && s.isLive(rt.callId)) continue;
      out.push({ kind: 'free-agent', agentId: id, callId: rt.callId, ...(rt.offerId ? { offerId: rt.offerId } : {}), state: 'ringing' });
    }
  }
  return out;
}

/**
 * The ACD port as the call sessions see it, recording what they believe is
 * live. Writes go through unchanged; their failures (Redis away) still reach
 * the session as before. Offers for calls that have no live session here are
 * refused and their entry dropped at once, before any session is asked.
 */
export class TrackedAcd implements AcdPort {
  readonly waiting = new Map<string, TrackedWait>();
  readonly connected = new Map<string, Set<string>>();
  readonly callbacks = new Map<string, TrackedCallback>();
  /** Offers handed to sessions, by id, until answered or failed (bounded by their ring time). */
  private readonly offers = new Map<string, { offer: Offer; at: number }>();
  private isLive: (callId: string) => boolean = () => true;

  constructor(
    readonly inner: Acd,
    private readonly opts: { now: () => number; callbackExpirySec: number; log: Logger; onDeadOffer?: () => void },
  ) {}

  /** Late-bound: the call manager is built with this port. */
  bindLiveness(isLive: (callId: string) => boolean): void {
    this.isLive = isLive;
  }

  liveness(callId: string): boolean {
    return this.isLive(callId);
  }

  async enqueue(e: EnqueueRequest): Promise<QueuePosition> {
    const w: TrackedWait = { request: { ...e }, confirmed: false };
    this.waiting.set(e.callId, w);
    try {
      return await this.inner.enqueue(e);
    } finally {
      // Settled either way: taken by Redis, or refused while it was away (then healing re-queues
      // the caller once it is back, if the session still waits). Only an enqueue in flight is left alone.
      w.confirmed = true;
    }
  }

  async leave(callId: string, reason: LeaveReason, at: number): Promise<void> {
    const w = this.waiting.get(callId);
    this.waiting.delete(callId);
    if (reason === 'answered') this.callbacks.delete(callId);
    if (reason === 'callback-requested' && w) {
      // requestCallback succeeded just before (the session asks for it first): keep the promise with its request.
      const cb = this.callbacks.get(callId);
      if (cb) cb.request = w.request;
    }
    await this.inner.leave(callId, reason, at);
  }

  position(callId: string): Promise<QueuePosition | undefined> {
    return this.inner.position(callId);
  }

  onOffer(listener: (offer: Offer) => void): () => void {
    return this.inner.onOffer((offer) => {
      if (!offer.callback && !this.waiting.has(offer.callId) && !this.isLive(offer.callId)) {
        // The call is gone (it ended while Redis was away): refuse the offer and drop the entry
        // instead of re-queueing it to be offered again and again.
        this.opts.onDeadOffer?.();
        const at = this.opts.now();
        void this.inner
          .offerFailed(offer.offerId, 'rejected', at)
          .then(() => this.inner.leave(offer.callId, 'abandoned', at))
          .catch((err: Error) => this.opts.log.warn({ err: err.message, callId: offer.callId }, 'dropping the entry of a gone call failed'));
        return;
      }
      this.offers.set(offer.offerId, { offer, at: this.opts.now() });
      listener(offer);
    });
  }

  async offerAnswered(offerId: string, at: number): Promise<boolean> {
    const o = this.offers.get(offerId);
    this.offers.delete(offerId);
    const ok = await this.inner.offerAnswered(offerId, at);
    if (ok && o) {
      // Answered: Redis dropped the entry; the call no longer waits (never re-queue it).
      this.waiting.delete(o.offer.callId);
      const set = this.connected.get(o.offer.callId) ?? new Set<string>();
      set.add(o.offer.agentId);
      this.connected.set(o.offer.callId, set);
    }
    return ok;
  }

  /** A call adopted from a dead instance: its agent (if bridged) is this instance's to track now. */
  async adoptCall(callId: string, agentId: string | undefined, at: number): Promise<{ entry: boolean; agent: boolean }> {
    const r = await this.inner.adoptCall(callId, agentId, at);
    if (agentId && r.agent) {
      const set = this.connected.get(callId) ?? new Set<string>();
      set.add(agentId);
      this.connected.set(callId, set);
    }
    return r;
  }

  async offerFailed(offerId: string, reason: OfferFailure, at: number): Promise<void> {
    this.offers.delete(offerId);
    await this.inner.offerFailed(offerId, reason, at);
  }

  async callEnded(callId: string, agentId: string, at: number): Promise<void> {
    const set = this.connected.get(callId);
    set?.delete(agentId);
    if (set?.size === 0) this.connected.delete(callId);
    await this.inner.callEnded(callId, agentId, at);
  }

  async requestCallback(callId: string, number: string, at: number): Promise<void> {
    await this.inner.requestCallback(callId, number, at);
    const w = this.waiting.get(callId);
    const request: EnqueueRequest = w?.request ?? { callId, skill: 'general', priority: 0, joinedAt: at };
    this.callbacks.set(callId, { request, number, at, expiresAt: at + this.opts.callbackExpirySec * 1000 });
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  /** Drop bookkeeping that can no longer matter (memory stays bounded). */
  prune(now: number): void {
    for (const [id, cb] of this.callbacks) if (cb.expiresAt <= now) this.callbacks.delete(id);
    for (const [id, o] of this.offers) if (now - o.at > 10 * 60_000) this.offers.delete(id);
  }
}

export interface HealReport {
  commands: HealCommand[];
  failed: number;
}

/** Reads the ACD state, applies {@link healPlan}, counts what it did. */
export class AcdHealer {
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  /** What the last pass found stale (see the two strikes in healOnce). */
  private suspects = new Set<string>();
  private running: Promise<HealReport> | undefined;
  private readonly log: Logger;

  constructor(
    private readonly acd: TrackedAcd,
    private readonly opts: {
      instanceId: string;
      now: () => number;
      log: Logger;
      intervalMs: number;
      onHealed?: (kind: HealCommand['kind'], n: number) => void;
    },
  ) {
    this.log = opts.log.child({ component: 'acd-heal' });
  }

  start(): void {
    if (this.timer || this.opts.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.heal('periodic').catch(() => undefined), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A link came back: heal before the next dispatch (see {@link beforeDispatch}) and right away. */
  linkRestored(what: 'redis' | 'ari'): void {
    this.dirty = true;
    void this.heal(`${what} reconnect`).catch(() => undefined);
  }

  /** The ACD calls this before each router run: stale state never reaches an agent after a reconnect. */
  async beforeDispatch(): Promise<void> {
    if (this.dirty) await this.heal('before dispatch');
  }

  heal(why: string): Promise<HealReport> {
    if (!this.running) {
      this.running = this.healOnce(why).finally(() => (this.running = undefined));
    }
    return this.running;
  }

  private async healOnce(why: string): Promise<HealReport> {
    const inner = this.acd.inner;
    const now = this.opts.now();
    const [entries, agentList] = await Promise.all([inner.store.entries(), inner.listAgents()]);
    const rts = await inner.store.agentRuntimes(agentList.map((a) => a.id));
    this.dirty = false;
    this.acd.prune(now);
    let commands = healPlan({
      instanceId: this.opts.instanceId,
      now,
      entries,
      agents: agentList.map((a) => ({ id: a.id, rt: rts.get(a.id)! })).filter((a) => a.rt),
      waiting: this.acd.waiting,
      connected: this.acd.connected,
      callbacks: this.acd.callbacks,
      isLive: (id) => this.acd.liveness(id),
    });
    // A periodic pass only acts on what the previous pass found as well (two strikes): an entry or
    // agent state written a moment ago by something other than a session (an admin tool, a test) is
    // not taken for stale. After a reconnect every finding is acted on at once.
    const key = (c: HealCommand) => (c.kind === 'drop-entry' ? `e:${c.callId}` : c.kind === 'free-agent' ? `a:${c.agentId}:${c.callId}` : undefined);
    const found = new Set(commands.map(key).filter((k): k is string => !!k));
    if (why === 'periodic') {
      const previous = this.suspects;
      commands = commands.filter((c) => {
        const k = key(c);
        return !k || previous.has(k);
      });
    }
    this.suspects = found;
    let failed = 0;
    for (const c of commands) {
      try {
        await this.apply(c, now);
      } catch (err) {
        failed++;
        this.dirty = true; // try again before the next dispatch
        this.log.warn({ err: (err as Error).message, command: c.kind }, 'healing step failed');
      }
    }
    const counts = new Map<HealCommand['kind'], number>();
    for (const c of commands) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
    for (const [kind, n] of counts) if (kind !== 'forget') this.opts.onHealed?.(kind, n);
    if (commands.some((c) => c.kind !== 'forget')) this.log.warn({ why, healed: Object.fromEntries(counts), failed }, 'ACD state reconciled with live calls');
    return { commands, failed };
  }

  private async apply(c: HealCommand, now: number): Promise<void> {
    const inner = this.acd.inner;
    switch (c.kind) {
      case 'drop-entry':
        // The caller hung up while waiting: counted as the abandon it was.
        return inner.leave(c.callId, 'abandoned', now);
      case 'forget':
        this.acd.waiting.delete(c.callId);
        return;
      case 'requeue':
        await inner.enqueue(c.request);
        return;
      case 'restore-callback':
        await inner.enqueue({ ...c.callback.request, callId: c.callback.request.callId });
        await inner.requestCallback(c.callback.request.callId, c.callback.number, c.callback.at);
        return;
      case 'free-agent':
        if (c.state === 'on-call') return inner.callEnded(c.callId, c.agentId, now);
        if (c.offerId) return inner.offerFailed(c.offerId, 'rejected', now);
        return;
    }
  }
}

/** What {@link createSelfHealingAcd} needs from the app: explicit, so the wiring stays a few lines. */
export interface SelfHealingDeps {
  acd: Acd;
  instanceId: string;
  log: Logger;
  now: () => number;
  intervalMs: number;
  callbackExpirySec: number;
  /** Emits 'ready' on every (re)connect (an ioredis client). */
  redis: { on(event: 'ready', fn: () => void): unknown };
  telephony: { onLinkState(fn: (state: string) => void): () => void };
  onHealed?: (kind: string, n: number) => void;
}

/**
 * The ACD port for the call sessions, healed after every Redis or ARI reconnect, before the next
 * dispatch, and every `intervalMs`. `bindLiveness` tells it which calls are live (the call manager).
 */
export function createSelfHealingAcd(d: SelfHealingDeps): { port: TrackedAcd; healer: AcdHealer; bindLiveness(fn: (callId: string) => boolean): void; start(): void; stop(): void } {
  const port = new TrackedAcd(d.acd, { now: d.now, callbackExpirySec: d.callbackExpirySec, log: d.log, onDeadOffer: () => d.onHealed?.('dead-offer', 1) });
  const healer = new AcdHealer(port, { instanceId: d.instanceId, now: d.now, log: d.log, intervalMs: d.intervalMs, ...(d.onHealed ? { onHealed: d.onHealed } : {}) });
  d.acd.setBeforeDispatch(() => healer.beforeDispatch());
  let redisSeen = false;
  let ariSeen = false;
  let started = false;
  d.redis.on('ready', () => {
    if (redisSeen && started) {
      // Our heartbeat first: a peer's (or our own) sweep must not take us for dead after a long outage.
      void d.acd.heartbeat().catch(() => undefined);
      healer.linkRestored('redis');
    }
    redisSeen = true;
  });
  const offLink = d.telephony.onLinkState((state) => {
    if (state !== 'connected') return;
    // After the call manager's resync has settled the calls that ended while the link was down.
    if (ariSeen && started) setTimeout(() => healer.linkRestored('ari'), 500).unref();
    ariSeen = true;
  });
  return {
    port,
    healer,
    bindLiveness: (fn) => port.bindLiveness(fn),
    start() {
      started = true;
      healer.start();
    },
    stop() {
      started = false;
      healer.stop();
      offLink();
    },
  };
}
