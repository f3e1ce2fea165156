/**
 * One citizen call, from StasisStart to its ticket job: a thin driver around the pure call step.
 *
 * @remarks
 * The session holds the call's {@link CallState} (plain data, calls/state.ts), feeds every event to
 * the pure `step` (calls/step.ts and the phase handlers in calls/phases/), runs the commands it
 * returns through the effect executor (calls/effects.ts), feeds their results back as events, keeps
 * real timers and the manager's lookup tables in line with the state, and checkpoints each new state
 * to its {@link CallStateStore}. Any error of ours is recorded on the path and the caller is moved on
 * (to an agent or a polite goodbye) — never dropped, never left in silence.
 */
import type { Logger } from 'pino';
import type { AcdPort, Offer } from '../acd/port.js';
import type { HandoffKind, HandoffState, HandoffTarget } from '../handoff/machine.js';
import type { RecordingPort } from '../recording/service.js';
import type { ChannelInfo, Telephony, TelephonyEvent } from '../telephony/port.js';
import { isNotFound } from '../telephony/port.js';
import type { CallGuardPort } from './abuse-port.js';
import { runEffect, type EffectDeps, type EffectHost } from './effects.js';
import type { CallFlow, RouteDecision, TicketStatusLookup } from './ports.js';
import type { CallOutcome, CallRecord, CallSource } from './record.js';
import { initialCallState, type CallEvent, type CallPhase, type CallState, type Command } from './state.js';
import { createStep, type Step } from './step.js';
import type { QueueTuning } from '../controller/port.js';
import type { CallStateStore } from './store.js';

export { callBridgeId, HOTLINE_NUMBER, LOOP_ROUTE_ID } from './state.js';
export { failureOf } from './step.js';

export interface SessionDeps {
  telephony: Telephony;
  log: Logger;
  instanceId: string;
  flow: CallFlow;
  acd: AcdPort | undefined;
  lookupTicket: TicketStatusLookup;
  resolveRoute: (q: { dialed: string; source: CallSource; at: Date; area?: string }) => RouteDecision;
  /** Called exactly once when the call is over. */
  onEnded: (record: CallRecord) => void | Promise<unknown>;
  /** Called when a playback/bridge/agent leg starts or stops belonging to this session. */
  index: SessionIndex;
  now: () => number;
  /** Seconds between queue position announcements. */
  queueAnnounceEverySec: number;
  /** Seconds a hand-off target may ring before the hand-off fails. */
  handoffRingSec: number;
  /** Seconds in the queue after which a caller may press 1 for a callback (0 = never). */
  callbackOfferAfterSec: number;
  /** The answer-rate controller's tuning of a queue (src/controller/port.ts; absent: none). */
  tuning?: (skill: string) => QueueTuning | undefined;
  mohClass?: string;
  /** Tells the agent's console about a call event (hand-off failures …). */
  notifyAgent?: (agentId: string, callId: string, notice: { code: string; message: string; target?: string; unit?: string }) => void;
  /** Per-caller limits and the block list (absent: no limits). */
  guard?: CallGuardPort;
  /** Recording of the bridged segments (absent: nothing is recorded). */
  recording?: RecordingPort;
  /** An agent was connected to the call (the console pops it). */
  onAgentConnected?: (agentId: string, session: CallSession) => void;
  /**
   * The call rings an agent (`ringing`: the console pops it before the answer, so the agent sees who
   * calls while the softphone rings), or that ringing ended without an answer (`withdrawn`).
   */
  onAgentRinging?: (agentId: string, session: CallSession, change: 'ringing' | 'withdrawn') => void;
  /** A call was refused as a routing loop (hop limit); counted by the manager. */
  onLoopRefused?: (record: CallRecord) => void;
  /** Where each new state is checkpointed (absent: nowhere but this session). */
  store?: CallStateStore;
}

/** Anything that takes telephony events for the channels it owns (call sessions, callbacks). */
export interface CallParty {
  onEvent(e: TelephonyEvent): Promise<void>;
}

/** The manager's lookup tables, kept current by the sessions. */
export interface SessionIndex {
  bindPlayback(playbackId: string, party: CallParty): void;
  unbindPlayback(playbackId: string): void;
  bindChannel(channelId: string, party: CallParty): void;
  unbindChannel(channelId: string): void;
}

const RANK: Record<CallPhase, number> = { starting: 0, ivr: 0, queue: 0, agent: 0, handoff: 0, survey: 0, ending: 1, ended: 2 };

export class CallSession implements CallParty {
  private current: CallState;
  private readonly stepFn: Step;
  private readonly log: Logger;
  private readonly effects: EffectDeps;
  private readonly host: EffectHost<CallSession>;
  private readonly timers = new Map<string, { at: number; handle: NodeJS.Timeout }>();
  private readonly channels = new Set<string>();
  private readonly playbacks = new Set<string>();
  private detached = false;

  constructor(
    private readonly deps: SessionDeps,
    channel: ChannelInfo,
    args: string[],
    opts: { recovered?: boolean; state?: CallState } = {},
  ) {
    this.current = opts.state ?? initialCallState(channel, args, { now: deps.now(), instanceId: deps.instanceId, recovered: Boolean(opts.recovered) });
    this.stepFn = createStep({
      flow: deps.flow,
      hasAcd: deps.acd !== undefined,
      hasRecording: deps.recording !== undefined,
      hasGuard: deps.guard !== undefined,
      queueAnnounceEverySec: deps.queueAnnounceEverySec,
      handoffRingSec: deps.handoffRingSec,
      callbackOfferAfterSec: deps.callbackOfferAfterSec,
      ...(deps.tuning ? { tuning: deps.tuning } : {}),
    });
    this.log = deps.log.child({ callId: this.current.callId, line: this.current.record.dialed, source: this.current.record.source });
    this.effects = deps;
    const self = this;
    this.host = {
      get state() {
        return self.current;
      },
      session: this,
      log: this.log,
      // Only a call that starts here has arrival facts; an adopted call's channel is long past them.
      ...(opts.state ? {} : { arrival: { up: channel.state === 'Up', variables: channel.variables } }),
      ...(deps.onAgentConnected ? { onAgentConnected: deps.onAgentConnected } : {}),
      ...(deps.onAgentRinging ? { onAgentRinging: deps.onAgentRinging } : {}),
    };
  }

  get callId(): string {
    return this.current.callId;
  }

  /** The call record as it stands (a new value after every step; final once the call ended). */
  get record(): CallRecord {
    return this.current.record;
  }

  /** The call's state as plain data. */
  get state(): CallState {
    return this.current;
  }

  /** The agent talking with the caller now, if any. */
  get connectedAgentId(): string | undefined {
    const leg = this.current.agentLeg;
    return leg?.answered ? leg.offer.agentId : undefined;
  }

  /** The agent whose softphone rings with this call now (offered, not answered yet), if any. */
  get ringingAgentId(): string | undefined {
    const leg = this.current.agentLeg;
    return leg && !leg.answered ? leg.offer.agentId : undefined;
  }

  get isEnded(): boolean {
    return this.detached || this.current.phase === 'ended';
  }

  get handoffPhase(): HandoffState['phase'] {
    return this.current.handoff.phase;
  }

  /** Answer, route and start the IVR. */
  async begin(): Promise<void> {
    this.sync();
    await this.dispatch({ type: 'begin' });
  }

  /** Telephony events that concern this call (routed by the manager). */
  async onEvent(e: TelephonyEvent): Promise<void> {
    await this.dispatch({ type: 'telephony', event: e });
  }

  /** The ACD offers our caller to an agent. */
  async onOffer(offer: Offer): Promise<void> {
    await this.dispatch({ type: 'offer', offer });
  }

  /** An agent asks for a hand-off (agent API). Throws {@link HandoffError} when it makes no sense now. */
  async requestHandoff(kind: HandoffKind, target: HandoffTarget): Promise<void> {
    await this.dispatch({ type: 'handoff-request', kind, target });
  }

  /** complete / merge / cancel / agent-leave of the hand-off in progress. */
  async handoffCommand(command: 'complete' | 'merge' | 'cancel' | 'agent-leave'): Promise<void> {
    await this.dispatch({ type: 'handoff-command', command });
  }

  /**
   * This instance adopted the call from a dead one (calls/durable-store.ts): continue it from what
   * Asterisk has now — the channels in our app and those in the call's bridge (null: no bridge).
   */
  async adopt(live: { channels: string[]; bridge: string[] | null }): Promise<void> {
    this.sync();
    await this.dispatch({ type: 'adopt', instanceId: this.deps.instanceId, channels: live.channels, bridge: live.bridge });
  }

  /** End of the call, observed once or many times: the record is submitted once. */
  async finish(by: 'caller' | 'system' | 'agent', outcome: CallOutcome): Promise<void> {
    await this.dispatch({ type: 'finish', by, outcome });
  }

  /**
   * The server stops while the call goes on in Asterisk (another instance or the restarted server
   * adopts it): stop every timer and act no more; the record is submitted by whoever adopts the call.
   */
  detach(): void {
    if (this.isEnded) return;
    this.detached = true;
    for (const t of this.timers.values()) clearTimeout(t.handle);
    this.timers.clear();
  }

  /** Step the state with one event, keep the new state, run its commands. */
  private async dispatch(event: CallEvent): Promise<void> {
    if (this.detached) return;
    const r = this.stepFn(this.current, event, this.deps.now()); // throws only HandoffError, before any change
    if (r.state === this.current && r.commands.length === 0) return;
    if (r.state !== this.current) {
      this.current = r.state;
      this.sync();
      this.checkpoint(r.commands);
    }
    await this.execute(r.commands, r.state.phase);
  }

  private async execute(commands: Command[], emittedIn: CallPhase): Promise<void> {
    for (const c of commands) {
      if (this.detached) return;
      // Skip what the call outgrew while earlier commands ran (the caller hung up meanwhile …).
      const now = this.current.phase;
      if (c.when !== 'always' && RANK[now] > RANK[emittedIn] && (c.when === 'active' || now === 'ended')) continue;
      if (c.background) {
        void this.runOne(c);
        continue;
      }
      const ok = await this.runOne(c);
      if (!ok && c.onFail !== 'continue') return;
    }
  }

  /** Run one command and feed its result back; false when it failed (the failure went to the step). */
  private async runOne(c: Command): Promise<boolean> {
    let result: CallEvent | undefined;
    try {
      result = await runEffect(this.effects, this.host, c);
    } catch (err) {
      const notFound = isNotFound(err);
      const message = err instanceof Error ? err.message : String(err);
      if (c.do === 'hangup-caller' && !notFound) this.log.warn({ err: message }, 'hangup failed; retrying');
      else if (!notFound) this.log.warn({ where: c.why, err: message }, 'call step failed');
      if (c.when !== 'always') await this.guard(() => this.dispatch({ type: 'effect-failed', cmd: c, notFound, message }));
      return false;
    }
    await this.guard(async () => {
      if (result) await this.dispatch(result);
      if (c.then) await this.dispatch(c.then);
    });
    return true;
  }

  /** Errors of our own handling are logged, never left unhandled. */
  private async guard(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'call step failed');
    }
  }

  /** Real timers and the manager's lookup tables follow the state. */
  private sync(): void {
    const s = this.current;
    const ended = s.phase === 'ended';
    const wantTimers = ended || this.detached ? {} : s.timers;
    for (const [token, t] of this.timers) {
      if (wantTimers[token] !== t.at) {
        clearTimeout(t.handle);
        this.timers.delete(token);
      }
    }
    for (const [token, at] of Object.entries(wantTimers)) {
      if (this.timers.has(token)) continue;
      const handle = setTimeout(() => {
        this.timers.delete(token);
        if (this.current.timers[token] === at) void this.guard(() => this.dispatch({ type: 'timer', token }));
      }, Math.max(0, at - this.deps.now()));
      this.timers.set(token, { at, handle });
    }
    const channels = new Set<string>();
    if (!ended) {
      channels.add(s.callId);
      if (s.agentLeg) channels.add(s.agentLeg.channelId);
      if (s.targetLeg) channels.add(s.targetLeg.channelId);
    }
    for (const id of this.channels) if (!channels.has(id)) this.deps.index.unbindChannel(id);
    for (const id of channels) if (!this.channels.has(id)) this.deps.index.bindChannel(id, this);
    this.channels.clear();
    for (const id of channels) this.channels.add(id);
    const playbacks = Object.keys(s.playbacks);
    const want = new Set(playbacks);
    for (const id of this.playbacks) if (!want.has(id)) this.deps.index.unbindPlayback(id);
    for (const id of playbacks) if (!this.playbacks.has(id)) this.deps.index.bindPlayback(id, this);
    this.playbacks.clear();
    for (const id of playbacks) this.playbacks.add(id);
  }

  private checkpoint(commands: readonly Command[]): void {
    const store = this.deps.store;
    if (!store) return;
    const s = this.current;
    // A step that hands the record on ('ended') removes the state itself once the record is spooled.
    if (s.phase === 'ended' && commands.some((c) => c.do === 'ended')) return;
    try {
      const r = s.phase === 'ended' ? store.remove(s.callId) : store.save(s);
      if (r) r.catch((err: Error) => this.log.warn({ err: err.message }, 'call state checkpoint failed'));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'call state checkpoint failed');
    }
  }
}
