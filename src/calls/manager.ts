/**
 * The call manager: turns the telephony port's event stream into sessions.
 *
 * @remarks
 * Thin by design (see wazo-calld's stasis.py): it parses StasisStart
 * arguments, finds the session an event belongs to, and delegates. After every
 * (re)connect it resyncs from Asterisk's snapshot: sessions whose channel is
 * gone are finished (their record still becomes a ticket job), and caller
 * channels in our app that no session tracks — a server restart mid-call —
 * are adopted as recovered sessions so the caller is not abandoned.
 */
import type { Logger } from 'pino';
import type { AcdPort, Offer } from '../acd/port.js';
import type { ChannelInfo, LinkState, Telephony, TelephonyEvent, TelephonySnapshot } from '../telephony/port.js';
import type { CallRecord } from './record.js';
import { CallbackCall, endAdoptedCallback } from './callback.js';
import type { StoredCallback } from './durable-store.js';
import { CallSession, type CallParty, type SessionDeps, type SessionIndex } from './session.js';
import { callBridgeId, type CallState } from './state.js';

/** Calls of dead instances, as the durable store (calls/durable-store.ts) offers them for adoption. */
export interface CallAdoption {
  /** How often to look for calls of dead instances besides after each (re)connect (ms). */
  readonly checkEveryMs: number;
  orphans(): Promise<Array<{ callId: string; owner: string; state: CallState }>>;
  claim(callId: string, owner: string): Promise<CallState | undefined>;
  /** The instance that owns a stored call (alive or not). */
  ownerOf(callId: string): Promise<string | undefined>;
  /** Callback calls (calls/callback.ts): their progress, and those of dead instances to end. */
  saveCallback(cb: StoredCallback): Promise<void>;
  removeCallback(id: string): Promise<void>;
  callbackOwner(id: string): Promise<string | undefined>;
  callbackOrphans(): Promise<Array<{ id: string; owner: string }>>;
  claimCallback(id: string, owner: string): Promise<StoredCallback | undefined>;
}

export type ManagerDeps = Omit<SessionDeps, 'index' | 'onEnded' | 'log'> & {
  log: Logger;
  onEnded: (record: CallRecord) => void | Promise<unknown>;
  callback: { dialTemplate: string; ringSec: number };
  /** Admission control (src/admission) at a caller's entry: false = the call was shed (told busy, cleared). */
  admit?: (channel: ChannelInfo, args: string[]) => Promise<boolean>;
  /** A shed caller who pressed 1 for a callback, back in Stasis (`shed-callback`). */
  shedCallback?: (channel: ChannelInfo, args: string[]) => Promise<void>;
  /** Where calls of dead instances are found (absent: a call left in our app starts afresh). */
  adoption?: CallAdoption;
};

/** StasisStart arguments our own originations use; everything else is a caller. */
const OWN_LEG_ARGS = new Set(['agent-leg', 'handoff-leg', 'snoop', 'callback-leg']);

export class CallManager implements SessionIndex {
  private readonly sessions = new Map<string, CallSession>();
  private readonly byChannel = new Map<string, CallParty>();
  private readonly byPlayback = new Map<string, CallParty>();
  private readonly offs: Array<() => void> = [];
  private readonly log: Logger;
  private adopting: Promise<void> | undefined;
  /** Calls refused by the hop limit since start (routing loops; see routing/loops.ts). */
  loopsRefused = 0;

  constructor(private readonly deps: ManagerDeps) {
    this.log = deps.log.child({ component: 'calls' });
  }

  start(): void {
    const t: Telephony = this.deps.telephony;
    const adoption = this.deps.adoption;
    if (adoption) {
      // A peer that dies does not make us reconnect: look for its calls now and then.
      const timer = setInterval(() => void this.adoptNow(), adoption.checkEveryMs);
      timer.unref();
      this.offs.push(() => clearInterval(timer));
    }
    this.offs.push(t.onEvent((e) => void this.onEvent(e)));
    this.offs.push(t.onLinkState((s, snap) => void this.onLink(s, snap)));
    if (this.deps.acd) this.offs.push(this.deps.acd.onOffer((o) => void this.onOffer(o)));
  }

  /** Stop listening; live calls stay in Asterisk for the next instance to adopt, their sessions go quiet. */
  stop(): void {
    for (const off of this.offs.splice(0)) off();
    for (const s of this.sessions.values()) s.detach();
    this.sessions.clear();
  }

  /** Live sessions (for supervisors and tests). */
  get active(): CallSession[] {
    return [...this.sessions.values()];
  }

  session(callId: string): CallSession | undefined {
    return this.sessions.get(callId);
  }

  bindPlayback(id: string, s: CallParty): void {
    this.byPlayback.set(id, s);
  }
  unbindPlayback(id: string): void {
    this.byPlayback.delete(id);
  }
  bindChannel(id: string, s: CallParty): void {
    this.byChannel.set(id, s);
  }
  unbindChannel(id: string): void {
    this.byChannel.delete(id);
  }

  /** Calls that ended here lately (their channel may linger in a snapshot for a moment). */
  private readonly recentlyEnded = new Set<string>();

  private noteEnded(callId: string): void {
    this.recentlyEnded.add(callId);
    // Bounded: the oldest go first (a Set iterates in insertion order).
    if (this.recentlyEnded.size > 2000) this.recentlyEnded.delete(this.recentlyEnded.values().next().value!);
  }

  /** The durable store says another instance adopted this call: this one stops acting on it. */
  lost(callId: string): void {
    const s = this.sessions.get(callId);
    if (!s) return;
    s.detach();
    this.sessions.delete(callId);
  }

  private newSession(channel: ChannelInfo, args: string[], recovered: boolean, state?: CallState): CallSession {
    const s = new CallSession(
      {
        ...this.deps,
        index: this,
        onLoopRefused: (record) => {
          this.loopsRefused++;
          this.deps.onLoopRefused?.(record);
        },
        onEnded: (record) => {
          this.sessions.delete(record.callId);
          this.noteEnded(record.callId);
          return this.deps.onEnded(record);
        },
      },
      channel,
      args,
      { recovered, ...(state ? { state } : {}) },
    );
    this.sessions.set(channel.id, s);
    return s;
  }

  private async onEvent(e: TelephonyEvent): Promise<void> {
    try {
      if (e.type === 'StasisStart') {
        const own = e.args[0] !== undefined && OWN_LEG_ARGS.has(e.args[0]);
        if (own) {
          const owner = this.byChannel.get(e.channel.id) ?? (e.args[1] ? this.sessions.get(e.args[1]) : undefined);
          if (owner) return await owner.onEvent(e);
          // A leg whose call is gone (e.g. the caller hung up while it rang): release it.
          this.log.info({ channel: e.channel.id }, 'orphan leg entered Stasis; hanging up');
          return await this.deps.telephony.hangup(e.channel.id);
        }
        if (this.sessions.has(e.channel.id) || this.byChannel.has(e.channel.id)) return;
        if (e.args[0] === 'shed-callback') {
          if (this.deps.shedCallback) return await this.deps.shedCallback(e.channel, e.args);
          return await this.deps.telephony.hangup(e.channel.id);
        }
        if (this.deps.admit && !(await this.deps.admit(e.channel, e.args))) return;
        return await this.newSession(e.channel, e.args, false).begin();
      }
      const s = this.route(e);
      if (s) await s.onEvent(e);
    } catch (err) {
      this.log.error({ err: (err as Error).message, eventType: e.type }, 'call event handling failed');
    }
  }

  private route(e: TelephonyEvent): CallParty | undefined {
    switch (e.type) {
      case 'PlaybackFinished':
        return this.byPlayback.get(e.playbackId);
      case 'StasisEnd':
      case 'ChannelStateChange':
      case 'ChannelDtmfReceived':
      case 'ChannelHangupRequest':
      case 'ChannelDestroyed':
      case 'ChannelEnteredBridge':
      case 'ChannelLeftBridge':
        return this.byChannel.get(e.channel.id) ?? this.sessions.get(e.channel.id);
      case 'Dial':
        // The outcome of a leg we originated (peer = that leg): BUSY, NOANSWER, CHANUNAVAIL …
        return this.byChannel.get(e.peerId);
      default:
        return undefined;
    }
  }

  private async onOffer(offer: Offer): Promise<void> {
    try {
      if (offer.callback) {
        const acd = this.deps.acd;
        if (!acd) return;
        const cb = new CallbackCall(
          {
            telephony: this.deps.telephony,
            acd,
            log: this.log,
            index: this,
            instanceId: this.deps.instanceId,
            dialTemplate: this.deps.callback.dialTemplate,
            ringSec: this.deps.callback.ringSec,
            now: this.deps.now,
            onEnded: this.deps.onEnded,
            ...(this.deps.adoption ? { store: this.deps.adoption } : {}),
          },
          { ...offer, callback: offer.callback },
        );
        return await cb.start();
      }
      const s = this.sessions.get(offer.callId);
      if (!s) {
        await this.deps.acd?.offerFailed(offer.offerId, 'rejected', this.deps.now());
        return;
      }
      await s.onOffer(offer);
    } catch (err) {
      this.log.error({ err: (err as Error).message, callId: offer.callId }, 'offer handling failed');
    }
  }

  private async onLink(state: LinkState, snap?: TelephonySnapshot): Promise<void> {
    try {
      await this.resync(state, snap);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'resync after reconnect failed');
    }
  }

  private async resync(state: LinkState, snap?: TelephonySnapshot): Promise<void> {
    if (state !== 'connected' || !snap) return;
    const live = new Set(snap.appChannelIds);
    // Calls that ended while we were not listening.
    for (const s of [...this.sessions.values()]) {
      if (!live.has(s.callId)) {
        this.log.info({ callId: s.callId }, 'call ended while disconnected; settling it');
        await s.finish('caller', 'abandoned-ivr');
      }
    }
    // Calls whose instance died with their state stored: continue them where they are.
    await this.adoptStored(snap);
    // Adopting a dead instance's calls takes a while: what ended meanwhile must not be taken for a
    // call left without a state (seen with 50 calls on a real Asterisk), so look again.
    const now = await this.deps.telephony.snapshot().catch(() => snap);
    // Calls in our app that nobody tracks: a restart (or another instance's death) left them.
    const byId = new Map(now.channels.map((c) => [c.id, c] as const));
    for (const id of now.appChannelIds) {
      if (this.sessions.has(id) || this.byChannel.has(id) || this.recentlyEnded.has(id)) continue;
      const ch = byId.get(id);
      if (!ch) continue;
      // A call with a stored state belongs to its owner (a live peer on this Asterisk, or a dead
      // instance whose lease has not run out yet): adoption takes it over when the lease lapses.
      const callback = /^(.*-cb\d+)-[ac](;\d)?$/.exec(id);
      if (callback) {
        // A callback leg: a stored one is its owner's (or ended by whoever adopts it); one without is a leftover.
        if (this.byChannel.has(id.replace(/;\d$/, ''))) continue;
        if (this.deps.adoption && (await this.deps.adoption.callbackOwner(callback[1]!).catch(() => undefined)) !== undefined) continue;
        await this.deps.telephony.hangup(id);
        continue;
      }
      const callOf = isOwnLegName(ch) ? id.replace(/-(a[^-]+-.*|h\d+)$/, '') : id;
      if (this.deps.adoption && (await this.deps.adoption.ownerOf(callOf).catch(() => undefined)) !== undefined) continue;
      if (isOwnLegName(ch)) {
        // A leg (either half of its Local pair) of a call we track, adopted meanwhile: it stays.
        if ([...this.sessions.keys()].some((callId) => id.startsWith(`${callId}-`))) continue;
        // An agent/hand-off leg of a call we no longer know: it cannot be rejoined safely.
        await this.deps.telephony.hangup(id);
        continue;
      }
      this.log.info({ callId: id }, 'adopting a call left in our app (no stored state)');
      await this.newSession(ch, [ch.dialplan.exten, sourceOfContext(ch.dialplan.context)], true).begin();
    }
  }

  /**
   * Adopt the stored calls of dead instances (their lease ran out): each is claimed atomically (of two
   * instances adopting at once, one gets it), then continued from what Asterisk has now; a call whose
   * caller is gone is ended at once, so it still becomes its one ticket.
   */
  private async adoptNow(): Promise<void> {
    const adoption = this.deps.adoption;
    if (!adoption || this.adopting || this.deps.telephony.linkState !== 'connected') return;
    try {
      // The snapshot lists every channel on the PBX (hundreds under load, each turned into objects by
      // the ARI client): take it only when a dead instance did leave calls.
      if ((await adoption.orphans()).length === 0) return;
      await this.adoptStored(await this.deps.telephony.snapshot());
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'looking for calls to adopt failed');
    }
  }

  /** One adoption pass at a time; a resync waits for the pass in progress, then makes its own. */
  private async adoptStored(snap: TelephonySnapshot): Promise<void> {
    const prev = this.adopting;
    const run = (async () => {
      await prev?.catch(() => undefined);
      await this.adoptEach(snap);
    })();
    this.adopting = run;
    try {
      await run;
    } finally {
      if (this.adopting === run) this.adopting = undefined;
    }
  }

  private async adoptEach(snap: TelephonySnapshot): Promise<void> {
    const adoption = this.deps.adoption;
    if (!adoption) return;
    // Calls with an agent or target on the line first: their agents are on a call again for the
    // ACD before any queued caller is offered to them.
    const talking = (o: { state: CallState }) => o.state.phase === 'agent' || o.state.phase === 'handoff';
    const orphans = await adoption.orphans();
    const channels = [...new Set([...snap.appChannelIds, ...snap.channels.map((c) => c.id)])];
    const adoptOne = async (o: { callId: string; owner: string }) => {
      if (this.sessions.has(o.callId)) return;
      const state = await adoption.claim(o.callId, o.owner).catch((err: Error) => {
        this.log.warn({ callId: o.callId, err: err.message }, 'claiming a call failed');
        return undefined;
      });
      if (!state) return;
      this.log.info({ callId: o.callId, from: o.owner, phase: state.phase }, 'adopting a call of a dead instance');
      const bridge = snap.bridges.find((b) => b.id === callBridgeId(o.callId));
      const s = this.newSession(channelOf(state), [], true, state);
      await s.adopt({ channels, bridge: bridge ? bridge.channels : null }).catch((err: Error) => this.log.warn({ callId: o.callId, err: err.message }, 'adopting a call failed'));
    };
    // Several at a time: each adoption waits for its ARI requests (music, the IVR's prompt), and a
    // dead instance's 50 calls one after the other kept the last caller waiting half a minute.
    await inParallel(orphans.filter(talking), ADOPT_PARALLEL, adoptOne);
    await inParallel(orphans.filter((o) => !talking(o)), ADOPT_PARALLEL, adoptOne);
    // Callback calls in progress are not continued: each is ended cleanly (calls/callback.ts).
    const acd = this.deps.acd;
    if (!acd) return;
    for (const o of await adoption.callbackOrphans()) {
      const cb = await adoption.claimCallback(o.id, o.owner).catch((err: Error) => {
        this.log.warn({ callback: o.id, err: err.message }, 'claiming a callback call failed');
        return undefined;
      });
      if (!cb) continue;
      const deps = { telephony: this.deps.telephony, acd, log: this.log, now: this.deps.now, onEnded: this.deps.onEnded, instanceId: this.deps.instanceId };
      await endAdoptedCallback(deps, cb, o.owner).catch((err: Error) => this.log.warn({ callback: o.id, err: err.message }, 'ending an adopted callback failed'));
      await adoption.removeCallback(o.id).catch(() => undefined);
    }
  }
}

/** Calls adopted at once (each has a few ARI requests in flight; ARI_MAX_IN_FLIGHT caps the rest). */
const ADOPT_PARALLEL = 8;

/** Run `fn` over `items`, at most `n` at a time (`fn` handles its own failures). */
async function inParallel<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** A channel as the session constructor wants it, for a call known only from its stored state. */
function channelOf(state: CallState): ChannelInfo {
  const r = state.record;
  return {
    id: r.callId,
    name: r.channelName,
    state: 'Up',
    caller: r.caller,
    connected: { number: '', name: '' },
    dialplan: { context: '', exten: r.dialed, priority: 1 },
    creationtime: '',
    language: r.language,
  };
}

/** Legs we originate have ids we derive from the call id (`<callId>-a<agent>-…`); click-to-call legs are `out-<id>-u|c` (src/outbound/). */
function isOwnLegName(ch: ChannelInfo): boolean {
  return /-a[^-]+-/.test(ch.id) || /-h\d+$/.test(ch.id) || /^(out|svy)-[a-z]+-[uc](;\d)?$/.test(ch.id);
}

/** Our dialplan's inbound contexts name the source (see dialplan/extensions.conf). */
function sourceOfContext(context: string): string {
  const m = /^from-(carrier|linkage|subcenter|agents?)$/.exec(context);
  if (!m) return 'carrier';
  return m[1] === 'agents' ? 'agent' : m[1]!;
}
