/**
 * One citizen call, from StasisStart to its ticket job.
 *
 * @remarks
 * The session is the only place where the pure parts meet ARI: it asks the
 * routing resolver where the call goes, runs the IVR engine's commands on the
 * telephony port, hands the caller to the ACD, bridges the agent, runs the
 * survey when the agent hangs up first, and writes the call record. Any error
 * of ours is recorded on the path and the caller is moved on (to an agent or a
 * polite goodbye) — never dropped, never left in silence.
 */
import { hopVariables, HOPS_VARIABLE, MAX_HOPS, parseHops } from '../routing/loops.js';
import type { Logger } from 'pino';
import type { AcdPort, Offer } from '../acd/port.js';
import type { ChannelInfo, Telephony, TelephonyEvent } from '../telephony/port.js';
import { isNotFound, TelephonyError } from '../telephony/port.js';
import type { RecordingPort } from '../recording/service.js';
import type { CallGuardPort } from './abuse-port.js';
import type { CallOutcome, CallPathStep, CallRecord, CallSource } from './record.js';
import { mediaUri } from '../ivr/engine.js';
import type { CallFlow, FlowCommand, FlowInput, FlowMedia, RouteDecision, TicketStatusLookup } from './ports.js';
import {
  HandoffError,
  transition,
  type HandoffAction,
  type HandoffEvent,
  type HandoffFailure,
  type HandoffKind,
  type HandoffState,
  type HandoffTarget,
} from '../handoff/machine.js';

import { callbackOfferAfter, nextAnnouncementSec, type QueueTuning } from '../controller/port.js';

export interface SessionDeps {
  telephony: Telephony;
  log: Logger;
  instanceId: string;
  flow: CallFlow;
  acd: AcdPort | undefined;
  lookupTicket: TicketStatusLookup;
  resolveRoute: (q: { dialed: string; source: CallSource; at: Date; area?: string }) => RouteDecision;
  /** Called exactly once when the call is over. */
  onEnded: (record: CallRecord) => void;
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
}

/** The hotline's own number: the line of calls that came in on no legacy line. */
export const HOTLINE_NUMBER = '12345';

/** Route id of calls refused by the hop limit. */
export const LOOP_ROUTE_ID = 'routing-loop';

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

/** A failed hangup of the caller (ARI down) is retried this often before the record is closed anyway. */
const HANGUP_RETRIES = 30;
const HANGUP_RETRY_MS = 2_000;

type Phase = 'starting' | 'ivr' | 'queue' | 'ringing-agent' | 'agent' | 'handoff' | 'survey' | 'ending' | 'ended';

/** Derive a bridge id from the call id (resync can find it again after a restart). */
export function callBridgeId(callId: string): string {
  return `call-${callId}`;
}

export class CallSession {
  readonly record: CallRecord;
  private phase: Phase = 'starting';
  private flowState: unknown;
  private readonly playbackTokens = new Map<string, string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private announceTimer: NodeJS.Timeout | undefined;
  /** The queue (skill) the caller waits in, for the controller's tuning. */
  private queueSkill: string | undefined;
  private agentLeg: { channelId: string; offer: Offer; answered: boolean; dialStatus?: string } | undefined;
  private handoff: HandoffState = { phase: 'idle' };
  private targetLeg: { channelId: string; answered: boolean; dialStatus?: string } | undefined;
  private handoffSeq = 0;
  /** Agent that took the call last (hand-off notices go to them). */
  private lastAgentId: string | undefined;
  /** When the caller (last) joined the queue. */
  private queuedAt: number | undefined;
  /** The route's recording decision, and the bridge segment being recorded (0: none yet). */
  private recordEnabled = true;
  private segment = 0;
  private segmentOpen = false;
  private bridgeId: string | undefined;
  private readonly log: Logger;
  private language: string;
  private playSeq = 0;
  private surveyed = false;
  /** The caller got what they came for without an agent (a ticket status was read out). */
  private selfServed = false;
  private hangupTries = 0;
  /** Times this call had passed through our app when it arrived (0: straight from a trunk). */
  private hops = 0;
  /** Variables that came with the channel (ari.conf channelvars): no round trip to read them. */
  private readonly startVars: Record<string, string> | undefined;
  /** The dialplan answered before Stasis (citizens' calls do, see dialplan/extensions.conf): no ARI answer. */
  private readonly arrivedUp: boolean;

  constructor(
    private readonly deps: SessionDeps,
    channel: ChannelInfo,
    args: string[],
    opts: { recovered?: boolean } = {},
  ) {
    const dialed = args[0] || channel.dialplan.exten || '';
    const source = normaliseSource(args[1]);
    this.language = channel.language === 'en' ? 'en' : 'zh';
    this.record = {
      callId: channel.id,
      channelName: channel.name,
      caller: { number: channel.caller.number, name: channel.caller.name },
      dialed,
      source,
      ...(args[2] ? { linkageRef: sanitizeRef(args[2]) } : {}),
      language: this.language,
      startedAt: deps.now(),
      path: [],
      agents: [],
      handoffs: [],
      recovered: Boolean(opts.recovered),
      instance: deps.instanceId,
    };
    this.log = deps.log.child({ callId: channel.id, line: dialed, source });
    this.startVars = channel.variables;
    this.arrivedUp = channel.state === 'Up';
  }

  /** A channel variable: from the StasisStart channel when Asterisk sent it, otherwise asked for. */
  private variable(name: string): Promise<string | undefined> {
    const v = this.startVars;
    if (v && Object.hasOwn(v, name)) return Promise.resolve(v[name] || undefined);
    return this.deps.telephony.getVariable(this.callId, name);
  }

  get callId(): string {
    return this.record.callId;
  }

  /** The agent talking with the caller now, if any. */
  get connectedAgentId(): string | undefined {
    return this.agentLeg?.answered ? this.agentLeg.offer.agentId : undefined;
  }

  /** The agent whose softphone rings with this call now (offered, not answered yet), if any. */
  get ringingAgentId(): string | undefined {
    return this.agentLeg && !this.agentLeg.answered ? this.agentLeg.offer.agentId : undefined;
  }

  get isEnded(): boolean {
    return this.phase === 'ended';
  }

  private step(kind: CallPathStep['kind'], detail: string, lang?: string): void {
    this.record.path.push({ at: this.deps.now(), kind, detail, ...(lang ? { lang } : {}) });
  }

  /** Answer, route and start the IVR. */
  async begin(): Promise<void> {
    const t = this.deps.telephony;
    this.deps.index.bindChannel(this.callId, this);
    if (this.record.recovered) this.step('note', 'session recovered after reconnect/restart');
    try {
      if (!this.arrivedUp) await t.answer(this.callId);
      this.record.answeredAt = this.deps.now();
    } catch (err) {
      if (isNotFound(err)) return this.finish('caller', 'abandoned-ivr');
      this.fail('answer', err);
    }
    if ((this.record.source === 'linkage' || this.record.source === 'subcenter') && !this.record.linkageRef) {
      // No X-Hotline-Ref header: a partner may hand the reference over as a channel variable instead.
      try {
        const ref = await this.variable('HOTLINE_REF');
        if (ref) this.record.linkageRef = sanitizeRef(ref);
      } catch (err) {
        if (isNotFound(err)) return this.finish('caller', 'abandoned-ivr');
      }
    }
    // Trunks of several districts or cities share one server: the endpoint sets HOTLINE_AREA (pjsip set_var).
    // A leg we originated that came back into our app carries its hop count (routing/loops.ts).
    try {
      const [area, hops] = await Promise.all([this.variable('HOTLINE_AREA'), this.variable(HOPS_VARIABLE)]);
      if (area && /^[A-Za-z0-9_-]{1,32}$/.test(area)) this.record.area = area;
      this.hops = parseHops(hops);
    } catch (err) {
      if (isNotFound(err)) return this.finish('caller', 'abandoned-ivr');
    }
    if (this.hops > MAX_HOPS) return this.refuseLoop();
    let decision: RouteDecision;
    try {
      decision = this.deps.resolveRoute({
        dialed: this.record.dialed,
        source: this.record.source,
        at: new Date(this.deps.now()),
        ...(this.record.area ? { area: this.record.area } : {}),
      });
    } catch (err) {
      // A broken routing table must not cost the caller the call: fall back to the 12345 flow.
      this.fail('route', err);
      decision = {
        action: 'hotline',
        routeId: 'fallback',
        skill: 'general',
        priority: 0,
        announce: [],
        expertFirst: false,
        flowId: 'hotline-zh',
        record: true,
        tableVersion: 0,
        why: ['routing failed'],
      };
    }
    const verdict = this.deps.guard ? await this.deps.guard.check(this.record.caller.number, this.record.source) : { action: 'ok' as const };
    if (verdict.action === 'block') {
      this.step('route', 'caller on the block list: notice, then released');
      decision = { action: 'release', routeId: 'blocklist', announce: [verdict.announce], record: false, tableVersion: decision.tableVersion, why: ['caller on the block list'] };
    } else if (verdict.action === 'limit') {
      this.step('route', `caller limited (${verdict.reason}): notice, priority ${verdict.priorityDelta}`);
      decision = {
        ...decision,
        announce: [verdict.announce, ...decision.announce],
        ...(decision.action === 'hotline' ? { priority: decision.priority + verdict.priorityDelta } : {}),
      } as RouteDecision;
    }
    // A cancelled number that releases, or a blocked caller: the notice, then a polite end.
    if (decision.action === 'release') this.record.outcome = 'released';
    this.recordEnabled = decision.record;
    this.record.route = {
      id: decision.routeId,
      mode: decision.line?.mode ?? decision.action,
      ...(decision.line ? { line: decision.line.number } : {}),
      ...(decision.action === 'hotline' ? { skill: decision.skill } : {}),
    };
    this.step('route', `${decision.action} via ${decision.routeId}`);
    this.phase = 'ivr';
    const first = this.deps.flow.start({
      decision,
      language: this.language,
      source: this.record.source,
      now: this.deps.now(),
    });
    this.flowState = first.state;
    await this.run(first.commands);
  }

  /**
   * A call that has passed through our app more than {@link MAX_HOPS} times is a routing loop that
   * validation did not see: the caller hears that the system is busy and the call is released,
   * counted, and ends in its one ticket like any other; nothing is dialled from it.
   */
  private async refuseLoop(): Promise<void> {
    this.step('route', `routing loop: the call arrived after ${this.hops} hops through this server (limit ${MAX_HOPS}); refused`);
    this.log.warn({ hops: this.hops, dialed: this.record.dialed }, 'routing loop refused');
    this.deps.onLoopRefused?.(this.record);
    this.record.outcome = 'released';
    this.recordEnabled = false;
    this.record.route = { id: LOOP_ROUTE_ID, mode: 'release' };
    this.phase = 'ivr';
    const first = this.deps.flow.start({
      decision: { action: 'release', routeId: LOOP_ROUTE_ID, announce: ['system-busy'], record: false, tableVersion: 0, why: [`routing loop: ${this.hops} hops`] },
      language: this.language,
      source: this.record.source,
      now: this.deps.now(),
    });
    this.flowState = first.state;
    await this.run(first.commands);
  }

  /** Feed an input to the IVR engine and run what it says. */
  private async input(input: FlowInput): Promise<void> {
    if (this.phase !== 'ivr' && this.phase !== 'survey') return;
    let next: { state: unknown; commands: FlowCommand[] };
    try {
      next = this.deps.flow.next(this.flowState, input, this.deps.now());
    } catch (err) {
      this.fail('ivr', err);
      return this.toAgentAfterError();
    }
    this.flowState = next.state;
    await this.run(next.commands);
  }

  private async run(commands: FlowCommand[]): Promise<void> {
    for (const c of commands) {
      if (this.phase === 'ended' || this.phase === 'ending') return;
      try {
        await this.exec(c);
      } catch (err) {
        if (isNotFound(err)) return this.finish('caller', this.abandonOutcome());
        this.fail(c.type, err);
        if (c.type === 'play') {
          // The prompt could not play: carry on as if it had, so the flow never stalls.
          await this.input({ type: 'playback-done', token: c.token, failed: true });
        } else if (c.type === 'queue' || c.type === 'transfer') {
          return this.goodbye('failed');
        }
      }
    }
  }

  private async exec(c: FlowCommand): Promise<void> {
    const t = this.deps.telephony;
    switch (c.type) {
      case 'play': {
        const id = `${this.callId}-p${++this.playSeq}`;
        this.playbackTokens.set(id, c.token);
        this.deps.index.bindPlayback(id, this);
        const uris = c.media.map(mediaUri).filter((u): u is string => u !== undefined);
        this.step('prompt', c.media.map(describeMedia).join(' '), c.lang ?? this.language);
        if (uris.length === 0) {
          // Nothing playable (text without TTS): move on rather than wait for an event that never comes.
          this.playbackTokens.delete(id);
          this.deps.index.unbindPlayback(id);
          return this.input({ type: 'playback-done', token: c.token });
        }
        await t.play(this.callId, uris, { playbackId: id, lang: c.lang ?? this.language });
        return;
      }
      case 'stop-playback': {
        for (const [id, token] of this.playbackTokens) if (token === c.token) await t.stopPlayback(id);
        return;
      }
      case 'start-timer': {
        clearTimeout(this.timers.get(c.token));
        this.timers.set(
          c.token,
          setTimeout(() => {
            this.timers.delete(c.token);
            this.guard('timer', () => this.input({ type: 'timeout', token: c.token }));
          }, c.ms),
        );
        return;
      }
      case 'cancel-timer': {
        clearTimeout(this.timers.get(c.token));
        this.timers.delete(c.token);
        return;
      }
      case 'path':
        this.step('ivr', `${c.node}${c.detail ? `: ${c.detail}` : ''}`);
        return;
      case 'set-language':
        this.language = c.lang;
        this.record.language = c.lang;
        return;
      case 'lookup-ticket': {
        let result: Awaited<ReturnType<TicketStatusLookup>>;
        try {
          result = await this.deps.lookupTicket(c.ticketNo);
        } catch (err) {
          this.fail('lookup-ticket', err);
          result = { found: false };
        }
        if (result.found) this.selfServed = true;
        await this.input({ type: 'ticket-status', token: c.token, result });
        return;
      }
      case 'survey-rating':
        this.record.survey = { rating: c.rating, at: this.deps.now() };
        this.step('survey', `rating ${c.rating}`);
        return;
      case 'queue':
        return this.enqueue(c.skill, c.priority);
      case 'transfer':
        return this.transferOut(c.target);
      case 'hangup':
        return this.goodbye(this.phase === 'survey' ? 'answered' : this.record.agents.length ? 'answered' : 'self-service');
      default: {
        const never: never = c;
        throw new Error(`unknown flow command ${JSON.stringify(never)}`);
      }
    }
  }

  /** Telephony events that concern this call (routed by the manager). */
  async onEvent(e: TelephonyEvent): Promise<void> {
    if (this.phase === 'ended') return;
    switch (e.type) {
      case 'ChannelDtmfReceived':
        if (e.channel.id !== this.callId) return;
        this.step('dtmf', e.digit);
        if (this.phase === 'queue') return this.onQueueDigit(e.digit);
        return this.input({ type: 'dtmf', digit: e.digit });
      case 'PlaybackFinished': {
        const token = this.playbackTokens.get(e.playbackId);
        this.playbackTokens.delete(e.playbackId);
        this.deps.index.unbindPlayback(e.playbackId);
        if (token === undefined) return;
        if (e.state === 'failed') this.step('error', `prompt failed: ${e.mediaUri}`);
        if (token.startsWith('queue-announce')) return this.resumeMoh();
        if (token === 'callback-confirm') return this.hangupCaller('callback-requested');
        return this.input({ type: 'playback-done', token, failed: e.state === 'failed' });
      }
      case 'StasisStart':
        if (this.agentLeg && e.channel.id === this.agentLeg.channelId) return this.onAgentAnswered();
        if (this.targetLeg && e.channel.id === this.targetLeg.channelId) {
          this.targetLeg.answered = true;
          return this.applyHandoff({ type: 'target-answered', at: this.deps.now() });
        }
        return;
      case 'Dial':
        if (this.targetLeg && e.peerId === this.targetLeg.channelId && e.dialstatus) this.targetLeg.dialStatus = e.dialstatus;
        if (this.agentLeg && e.peerId === this.agentLeg.channelId && e.dialstatus) this.agentLeg.dialStatus = e.dialstatus;
        return;
      case 'ChannelDestroyed':
      case 'StasisEnd':
      case 'ChannelHangupRequest':
        if (e.channel.id === this.callId) {
          const cause = e.type === 'ChannelDestroyed' || e.type === 'ChannelHangupRequest' ? e.cause : undefined;
          if (cause !== undefined) this.record.hangupCause = cause;
          return this.finish('caller', this.abandonOutcome());
        }
        if (this.agentLeg && e.channel.id === this.agentLeg.channelId && e.type !== 'ChannelHangupRequest') {
          return this.onAgentGone(this.agentLeg.dialStatus, e.type === 'ChannelDestroyed' ? e.cause : undefined);
        }
        if (this.targetLeg && e.channel.id === this.targetLeg.channelId && e.type !== 'ChannelHangupRequest') {
          const leg = this.targetLeg;
          this.targetLeg = undefined;
          this.deps.index.unbindChannel(leg.channelId);
          const at = this.deps.now();
          return this.applyHandoff(
            leg.answered
              ? { type: 'target-hung-up', at }
              : { type: 'target-failed', reason: failureOf(leg.dialStatus, e.type === 'ChannelDestroyed' ? e.cause : undefined), at },
          );
        }
        return;
      default:
        return;
    }
  }

  // ---- queue and agents ----------------------------------------------------

  private async enqueue(skill: string, priority: number): Promise<void> {
    const acd = this.deps.acd;
    this.phase = 'queue';
    this.step('queue', `skill ${skill} priority ${priority}`);
    if (!acd) {
      this.step('error', 'no ACD configured');
      return this.goodbye('failed');
    }
    await this.deps.telephony.startMoh(this.callId, this.deps.mohClass);
    this.queuedAt = this.deps.now();
    this.queueSkill = skill;
    const pos = await acd.enqueue({
      callId: this.callId,
      skill,
      priority,
      joinedAt: this.deps.now(),
      // A call to 12345 itself has no legacy line: the statistics count it under 12345.
      lineNumber: this.record.route?.line ?? HOTLINE_NUMBER,
      language: this.language,
    });
    this.step('queue', `position ${pos.position}, expected wait ${pos.expectedWaitSec}s`);
    this.scheduleAnnouncement();
  }

  private scheduleAnnouncement(): void {
    clearTimeout(this.announceTimer);
    const waitedSec = this.queuedAt === undefined ? 0 : (this.deps.now() - this.queuedAt) / 1000;
    const inSec = nextAnnouncementSec(this.deps.queueAnnounceEverySec, callbackOfferAfter(this.deps.callbackOfferAfterSec, this.tuning()), waitedSec);
    if (inSec <= 0) return;
    this.announceTimer = setTimeout(() => this.guard('announce', () => this.announcePosition()), inSec * 1000);
  }

  private async announcePosition(): Promise<void> {
    if (this.phase !== 'queue' || !this.deps.acd) return;
    try {
      const pos = await this.deps.acd.position(this.callId);
      if (!pos || this.phase !== 'queue') return;
      // Under pressure the controller shortens announcements to the callback offer, or skips them.
      if (this.tuning()?.shortAnnouncements && !this.callbackAllowed()) return this.scheduleAnnouncement();
      await this.deps.telephony.stopMoh(this.callId);
      const id = `${this.callId}-p${++this.playSeq}`;
      this.playbackTokens.set(id, `queue-announce-${this.playSeq}`);
      this.deps.index.bindPlayback(id, this);
      const media: FlowMedia[] = this.tuning()?.shortAnnouncements ? [{ kind: 'prompt', id: 'callback-offer' }] : [
        { kind: 'prompt', id: 'queue-position-before' },
        { kind: 'number', value: Math.max(0, pos.position - 1) },
        { kind: 'prompt', id: 'queue-position-after' },
        { kind: 'prompt', id: 'queue-wait-before' },
        { kind: 'number', value: Math.max(1, Math.round(pos.expectedWaitSec / 60)) },
        { kind: 'prompt', id: 'queue-wait-minutes' },
        ...(this.callbackAllowed() ? [{ kind: 'prompt' as const, id: 'callback-offer' }] : []),
      ];
      this.step('prompt', media.map(describeMedia).join(' '), this.language);
      await this.deps.telephony.play(this.callId, media.map(mediaUri).filter((u): u is string => !!u), { playbackId: id, lang: this.language });
    } catch (err) {
      if (isNotFound(err)) return;
      this.fail('queue-announce', err);
      await this.resumeMoh();
    }
  }

  private async resumeMoh(): Promise<void> {
    if (this.phase !== 'queue') return;
    try {
      await this.deps.telephony.startMoh(this.callId, this.deps.mohClass);
    } catch (err) {
      if (!isNotFound(err)) this.fail('moh', err);
    }
    this.scheduleAnnouncement();
  }

  private tuning(): QueueTuning | undefined {
    return this.queueSkill === undefined ? undefined : this.deps.tuning?.(this.queueSkill);
  }

  /** May this caller ask for a callback now? After a wait, and only with a number we can dial. */
  private callbackAllowed(): boolean {
    const after = callbackOfferAfter(this.deps.callbackOfferAfterSec, this.tuning());
    return (
      after > 0 &&
      this.queuedAt !== undefined &&
      this.deps.now() - this.queuedAt >= after * 1000 &&
      /^\+?\d{5,20}$/.test(this.record.caller.number)
    );
  }

  private async onQueueDigit(digit: string): Promise<void> {
    // Fair callback: keep the place, hang up, be called back in turn when an agent is free.
    if (digit !== '1' || !this.deps.acd || !this.callbackAllowed()) return;
    await this.deps.acd.requestCallback(this.callId, this.record.caller.number, this.deps.now());
    this.step('queue', 'callback requested');
    this.record.outcome = 'callback-requested';
    this.phase = 'ending';
    clearTimeout(this.announceTimer);
    const id = `${this.callId}-p${++this.playSeq}`;
    this.playbackTokens.set(id, 'callback-confirm');
    this.deps.index.bindPlayback(id, this);
    // Hang up when the confirmation has played (or after a bound, should its end never come).
    this.timers.set('callback-confirm', setTimeout(() => this.guard('callback confirm', () => this.hangupCaller('callback-requested')), 15_000));
    try {
      await this.deps.telephony.stopMoh(this.callId);
      await this.deps.telephony.play(this.callId, ['sound:hotline/callback-confirmed'], { playbackId: id, lang: this.language });
    } catch (err) {
      if (!isNotFound(err)) this.fail('callback-confirm', err);
      await this.hangupCaller('callback-requested');
    }
  }

  /** The ACD offers our caller to an agent: ring the agent's dial string into our app. */
  async onOffer(offer: Offer): Promise<void> {
    if (this.phase !== 'queue' || this.agentLeg) {
      await this.deps.acd?.offerFailed(offer.offerId, 'rejected', this.deps.now());
      return;
    }
    const agentChannelId = `${this.callId}-a${offer.agentId}-${offer.offerId}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120);
    this.agentLeg = { channelId: agentChannelId, offer, answered: false };
    this.deps.index.bindChannel(agentChannelId, this);
    this.step('agent', `offered to ${offer.agentId}`);
    try {
      await this.deps.telephony.originate({
        endpoint: offer.dialString,
        app: this.deps.telephony.appName,
        appArgs: ['agent-leg', this.callId, offer.offerId],
        channelId: agentChannelId,
        timeoutSec: offer.timeoutSec,
        callerId: `"12345" <${this.record.dialed}>`,
        variables: { HOTLINE_CALL_ID: this.callId, HOTLINE_AGENT_ID: offer.agentId, ...hopVariables(this.hops + 1) },
      });
      // Still ours (not answered, hung up or withdrawn while the originate was in flight): pop it now.
      if (this.agentLeg?.offer.offerId === offer.offerId && !this.agentLeg.answered) this.deps.onAgentRinging?.(offer.agentId, this, 'ringing');
    } catch (err) {
      this.fail('originate-agent', err);
      this.deps.index.unbindChannel(agentChannelId);
      this.agentLeg = undefined;
      await this.deps.acd?.offerFailed(offer.offerId, 'unreachable', this.deps.now());
    }
  }

  private async onAgentAnswered(): Promise<void> {
    const leg = this.agentLeg;
    const acd = this.deps.acd;
    if (!leg || !acd) return;
    const ok = this.phase === 'queue' && (await acd.offerAnswered(leg.offer.offerId, this.deps.now()));
    if (!ok) {
      this.step('agent', `offer to ${leg.offer.agentId} withdrawn`);
      this.agentLeg = undefined;
      this.deps.onAgentRinging?.(leg.offer.agentId, this, 'withdrawn');
      this.deps.index.unbindChannel(leg.channelId);
      await this.deps.telephony.hangup(leg.channelId);
      return;
    }
    leg.answered = true;
    this.phase = 'agent';
    this.lastAgentId = leg.offer.agentId;
    clearTimeout(this.announceTimer);
    this.record.agentAnsweredAt = this.deps.now();
    this.record.agents.push(leg.offer.agentId);
    this.step('agent', `answered by ${leg.offer.agentId}`);
    this.deps.onAgentConnected?.(leg.offer.agentId, this);
    await acd.leave(this.callId, 'answered', this.deps.now());
    const t = this.deps.telephony;
    try {
      const bridgeId = await this.ensureBridge();
      await t.stopMoh(this.callId);
      await t.addToBridge(bridgeId, [this.callId, leg.channelId]);
      this.guard('recording', () => this.startSegment(leg.offer.agentId));
    } catch (err) {
      if (isNotFound(err)) return; // one side hung up meanwhile; its destroy event settles the call
      this.fail('bridge', err);
      await t.hangup(leg.channelId);
    }
  }

  private async onAgentGone(dialStatus: string | undefined, cause: number | undefined): Promise<void> {
    const leg = this.agentLeg;
    if (!leg) return;
    this.agentLeg = undefined;
    this.deps.index.unbindChannel(leg.channelId);
    const acd = this.deps.acd;
    if (!leg.answered) {
      // Rang and never answered. A busy Local leg ends with cause 0 and says BUSY only in its Dial
      // status (tests/fixtures/traces/o01), so the status is read first, as for hand-off legs.
      const failure = failureOf(dialStatus, cause);
      const reason = failure === 'hung-up' ? 'no-answer' : failure;
      this.step('agent', `${leg.offer.agentId} did not answer (${reason})`);
      this.deps.onAgentRinging?.(leg.offer.agentId, this, 'withdrawn');
      if (this.phase === 'queue') await acd?.offerFailed(leg.offer.offerId, reason, this.deps.now());
      return;
    }
    await acd?.callEnded(this.callId, leg.offer.agentId, this.deps.now());
    if (this.phase !== 'agent') return;
    if (this.handoff.phase !== 'idle') return this.agentLeftDuringHandoff();
    // The agent hung up first: the caller stays for the satisfaction survey.
    this.step('agent', `${leg.offer.agentId} hung up`);
    await this.startSurvey();
  }

  private async startSurvey(): Promise<void> {
    const t = this.deps.telephony;
    await this.endSegment();
    if (this.bridgeId) {
      await t.removeFromBridge(this.bridgeId, [this.callId]);
      await t.destroyBridge(this.bridgeId);
      this.bridgeId = undefined;
    }
    if (this.surveyed) return this.goodbye('answered');
    this.surveyed = true;
    this.phase = 'survey';
    await this.input({ type: 'agent-hung-up' });
  }

  /** The IVR sends the caller to a target (a sub-center's own seats): a blind hand-off without an agent. */
  private async transferOut(target: string): Promise<void> {
    this.phase = 'handoff';
    await this.applyHandoff({
      type: 'request',
      kind: 'blind',
      target: { label: target, dial: { kind: 'dial', dialString: target } },
      at: this.deps.now(),
    });
  }

  // ---- recording -------------------------------------------------------------

  /** Record the bridge from here on (one recording per segment); never blocks or fails the call. */
  private async startSegment(party: string | undefined): Promise<void> {
    const rec = this.deps.recording;
    if (!rec || !this.bridgeId) return;
    await this.endSegment();
    this.segment++;
    this.segmentOpen = true;
    try {
      const r = await rec.segmentStarted({
        callId: this.callId,
        bridgeId: this.bridgeId,
        segment: this.segment,
        ...(party ? { agentId: party } : {}),
        recordingEnabled: this.recordEnabled,
        // The welcome of the 12345 flow tells every caller the call is recorded.
        announce: this.record.path.some((p) => p.kind === 'prompt' && p.detail.includes(rec.announcementPrompt)),
      });
      if (r.status === 'gap') this.step('recording', `segment ${this.segment} not recorded: ${r.reason}`);
      else if (r.status !== 'off') this.step('recording', `segment ${this.segment}: ${r.name}`);
    } catch (err) {
      this.fail('recording', err);
    }
  }

  private async endSegment(): Promise<void> {
    if (!this.segmentOpen || !this.deps.recording) return;
    this.segmentOpen = false;
    try {
      await this.deps.recording.segmentEnded({ callId: this.callId, segment: this.segment });
    } catch (err) {
      this.fail('recording', err);
    }
  }

  // ---- hand-offs ------------------------------------------------------------

  /** An agent asks for a hand-off (agent API). Throws {@link HandoffError} when it makes no sense now. */
  async requestHandoff(kind: HandoffKind, target: HandoffTarget): Promise<void> {
    if (this.phase !== 'agent' || !this.agentLeg?.answered) {
      throw new HandoffError('handoff-not-allowed', '通话未接通座席 / the call is not connected to an agent');
    }
    await this.applyHandoff({ type: 'request', kind, target, at: this.deps.now() });
  }

  /** complete / merge / cancel / agent-leave of the hand-off in progress. */
  async handoffCommand(command: 'complete' | 'merge' | 'cancel' | 'agent-leave'): Promise<void> {
    await this.applyHandoff({ type: command, at: this.deps.now() });
  }

  get handoffPhase(): HandoffState['phase'] {
    return this.handoff.phase;
  }

  private async applyHandoff(event: HandoffEvent): Promise<void> {
    if (this.phase === 'ended' || this.phase === 'ending') return;
    const t = transition(this.handoff, event); // throws HandoffError for bad requests: nothing changed
    this.handoff = t.state;
    for (const a of t.actions) {
      if ((this.phase as Phase) === 'ended') return;
      try {
        await this.doHandoff(a);
      } catch (err) {
        if (isNotFound(err) && !this.targetLeg) continue;
        this.fail(`handoff ${a.do}`, err);
        if (a.do === 'dial-target') {
          await this.applyHandoff({ type: 'target-failed', reason: 'unreachable', at: this.deps.now() });
          return;
        }
      }
    }
  }

  /**
   * The call's mixing bridge, created on first use. The call may end while the
   * create is in flight (the caller hangs up just as the agent answers): the
   * cleanup in {@link finish} has then already run without a bridge to destroy,
   * so the late bridge is destroyed here and the step fails as not found.
   */
  private async ensureBridge(): Promise<string> {
    if (this.bridgeId) return this.bridgeId;
    const id = callBridgeId(this.callId);
    await this.deps.telephony.createBridge(id, 'mixing', id);
    if (this.phase === 'ended') {
      await this.deps.telephony.destroyBridge(id).catch(() => undefined);
      throw new TelephonyError('not-found', 'createBridge', `call ${this.callId} ended while its bridge was created`);
    }
    this.bridgeId = id;
    return id;
  }

  private async doHandoff(a: HandoffAction): Promise<void> {
    const t = this.deps.telephony;
    switch (a.do) {
      case 'hold-caller':
        if (this.bridgeId) await t.removeFromBridge(this.bridgeId, [this.callId]);
        await t.startMoh(this.callId, this.deps.mohClass);
        return;
      case 'unhold-caller': {
        await t.stopMoh(this.callId);
        const b = await this.ensureBridge();
        await t.addToBridge(b, [this.callId]);
        return;
      }
      case 'dial-target': {
        if (a.target.dial.kind !== 'dial') return;
        const n = ++this.handoffSeq;
        const channelId = `${this.callId}-h${n}`;
        this.targetLeg = { channelId, answered: false };
        this.deps.index.bindChannel(channelId, this);
        this.step('transfer', `dialing ${a.target.label}`);
        await t.originate({
          endpoint: a.target.dial.dialString,
          app: t.appName,
          appArgs: ['handoff-leg', this.callId, String(n)],
          channelId,
          timeoutSec: this.deps.handoffRingSec,
          callerId: `"12345" <${this.record.dialed}>`,
          variables: { HOTLINE_CALL_ID: this.callId, ...(this.record.linkageRef ? { HOTLINE_REF: this.record.linkageRef } : {}), ...hopVariables(this.hops + 1) },
        });
        return;
      }
      case 'hangup-target': {
        const leg = this.targetLeg;
        this.targetLeg = undefined;
        if (leg) {
          this.deps.index.unbindChannel(leg.channelId);
          await t.hangup(leg.channelId);
        }
        return;
      }
      case 'bridge-target': {
        if (!this.targetLeg) return;
        const b = await this.ensureBridge();
        await t.addToBridge(b, [this.targetLeg.channelId]);
        if (this.phase !== 'agent') this.phase = 'handoff';
        return;
      }
      case 'release-agent': {
        const leg = this.agentLeg;
        if (!leg) return;
        this.agentLeg = undefined;
        this.deps.index.unbindChannel(leg.channelId);
        this.phase = 'handoff';
        if (this.bridgeId) await t.removeFromBridge(this.bridgeId, [leg.channelId]);
        await t.hangup(leg.channelId);
        await this.deps.acd?.callEnded(this.callId, leg.offer.agentId, this.deps.now());
        this.step('agent', `${leg.offer.agentId} left the call`);
        return;
      }
      case 'requeue-caller': {
        await this.endSegment();
        if (this.bridgeId) {
          await t.removeFromBridge(this.bridgeId, [this.callId]);
          await t.destroyBridge(this.bridgeId);
          this.bridgeId = undefined;
        }
        // Back to an agent ahead of new callers: the hand-off failed through no fault of theirs.
        return this.enqueue(a.skill ?? this.record.route?.skill ?? 'general', 20);
      }
      case 'notify-agent':
        this.step('transfer', `${a.code}: ${a.message}`);
        if (this.lastAgentId) this.deps.notifyAgent?.(this.lastAgentId, this.callId, { code: a.code, message: a.message, ...(a.target ? { target: a.target } : {}), ...(a.unit ? { unit: a.unit } : {}) });
        return;
      case 'caller-alone':
        return this.startSurvey();
      case 'log':
        this.record.handoffs.push(a.entry);
        if (a.entry.result === 'completed' || a.entry.result === 'agent-left' || (a.entry.kind === 'blind' && a.entry.result === 'answered')) {
          // A new party set in the bridge: a new recording segment, linked to the same call.
          this.guard('recording', () => this.startSegment(a.entry.target));
        }
        this.step('transfer', `${a.entry.kind} ${a.entry.target}: ${a.entry.result}`);
        if (a.entry.result === 'completed' || a.entry.result === 'agent-left' || (a.entry.kind === 'blind' && a.entry.result === 'answered')) {
          this.record.outcome = 'transferred';
        }
        return;
    }
  }

  /** The agent hung up in the middle of a hand-off: the caller must not lose the target. */
  private async agentLeftDuringHandoff(): Promise<void> {
    const at = this.deps.now();
    const h = this.handoff;
    if (h.phase === 'consulting') return this.applyHandoff({ type: 'complete', at });
    if (h.phase === 'conference') return this.applyHandoff({ type: 'agent-leave', at });
    if (h.phase === 'dialing') {
      // Carry on as a blind transfer: the caller waits (with music) for the target.
      this.handoff = { ...h, kind: 'blind' };
      this.phase = 'handoff';
      if (this.bridgeId) await this.deps.telephony.removeFromBridge(this.bridgeId, [this.callId]);
      await this.deps.telephony.startMoh(this.callId, this.deps.mohClass);
    }
  }

  private async toAgentAfterError(): Promise<void> {
    this.phase = 'ivr';
    await this.enqueue('general', 1);
  }

  private abandonOutcome(): CallOutcome {
    switch (this.phase) {
      case 'queue':
      case 'ringing-agent':
        return 'abandoned-queue';
      case 'agent':
      case 'survey':
        return 'answered';
      case 'handoff':
        return this.record.agents.length ? 'answered' : 'transferred';
      case 'ending':
        return this.record.outcome ?? 'self-service';
      default:
        return this.selfServed ? 'self-service' : 'abandoned-ivr';
    }
  }

  private async goodbye(outcome: CallOutcome): Promise<void> {
    this.phase = 'ending';
    await this.hangupCaller(outcome);
  }

  private async hangupCaller(outcome: CallOutcome): Promise<void> {
    if (this.phase === 'ended') return;
    clearTimeout(this.timers.get('callback-confirm'));
    this.record.outcome ??= outcome;
    this.record.endedBy ??= 'system';
    try {
      await this.deps.telephony.hangup(this.callId);
    } catch (err) {
      if (!isNotFound(err) && this.hangupTries < HANGUP_RETRIES) {
        // ARI is down or timed out: the channel may still be up. Keep the session (resync leaves it
        // alone) and try again, so the caller is released rather than left in silence or adopted anew.
        this.hangupTries++;
        this.log.warn({ err: (err as Error).message, attempt: this.hangupTries }, 'hangup failed; retrying');
        this.timers.set('hangup-retry', setTimeout(() => this.guard('hangup retry', () => this.hangupCaller(outcome)), HANGUP_RETRY_MS));
        return;
      }
    }
    await this.finish('system', outcome);
  }

  /**
   * The server stops while the call goes on in Asterisk (another instance or
   * the restarted server adopts it): stop every timer and act no more; the
   * record is submitted by whoever adopts the call.
   */
  detach(): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    clearTimeout(this.announceTimer);
  }

  /** Run a step started from a timer or callback: errors are logged, never left unhandled. */
  private guard(what: string, fn: () => Promise<unknown> | undefined): void {
    fn()?.catch((err: unknown) => this.fail(what, err));
  }

  private fail(where: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.step('error', `${where}: ${message}`);
    this.log.warn({ where, err: message }, 'call step failed');
  }

  /** End of the call, observed once or many times: the record is submitted once. */
  async finish(by: 'caller' | 'system' | 'agent', outcome: CallOutcome): Promise<void> {
    if (this.phase === 'ended') return;
    const wasQueued = this.phase === 'queue';
    this.phase = 'ended';
    const h = this.handoff;
    if (h.phase === 'consulting' || h.phase === 'conference' || h.phase === 'handed-off') {
      // The call ended with the target still on it: close the hand-off's talk time.
      const at = this.deps.now();
      this.record.handoffs.push({ kind: h.phase === 'consulting' ? 'consult' : h.kind, target: h.target.label, at, result: 'call-ended', talkMs: at - h.answeredAt });
    }
    this.record.endedAt ??= this.deps.now();
    this.record.endedBy ??= by;
    this.record.outcome ??= outcome;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    clearTimeout(this.announceTimer);
    for (const id of this.playbackTokens.keys()) this.deps.index.unbindPlayback(id);
    this.playbackTokens.clear();
    this.deps.index.unbindChannel(this.callId);
    const t = this.deps.telephony;
    const acd = this.deps.acd;
    const leg = this.agentLeg;
    this.agentLeg = undefined;
    // Cleanup never blocks the record: each step is independent and tolerant.
    const cleanups: Promise<unknown>[] = [];
    if (leg) {
      this.deps.index.unbindChannel(leg.channelId);
      cleanups.push(t.hangup(leg.channelId));
      if (leg.answered) cleanups.push(acd?.callEnded(this.callId, leg.offer.agentId, this.deps.now()) ?? Promise.resolve());
      else {
        cleanups.push(acd?.offerFailed(leg.offer.offerId, 'rejected', this.deps.now()) ?? Promise.resolve());
        this.deps.onAgentRinging?.(leg.offer.agentId, this, 'withdrawn');
      }
    }
    const target = this.targetLeg;
    this.targetLeg = undefined;
    if (target) {
      this.deps.index.unbindChannel(target.channelId);
      cleanups.push(t.hangup(target.channelId));
    }
    if (wasQueued && acd) {
      cleanups.push(acd.leave(this.callId, this.record.outcome === 'callback-requested' ? 'callback-requested' : 'abandoned', this.deps.now()));
    }
    if (this.deps.recording && this.segment > 0) {
      // Stop the recording before the bridge goes, so its file is complete.
      await this.deps.recording.callEnded(this.callId).catch((err: Error) => this.log.warn({ err: err.message }, 'recording stop failed'));
    }
    if (this.bridgeId) cleanups.push(t.destroyBridge(this.bridgeId));
    const results = await Promise.allSettled(cleanups);
    for (const r of results) if (r.status === 'rejected') this.log.warn({ err: String(r.reason) }, 'cleanup after call failed');
    if (this.record.outcome === 'abandoned-ivr' && this.record.agents.length === 0 && !this.record.path.some((p) => p.kind === 'dtmf')) {
      this.guard('silent-call count', () => this.deps.guard?.recordSilent(this.record.caller.number, this.record.source));
    }
    this.log.info({ outcome: this.record.outcome, steps: this.record.path.length }, 'call ended');
    this.deps.onEnded(this.record);
  }
}

/**
 * Why a target leg that never answered failed. The Dial status comes first: on a real Asterisk an
 * originated Local channel whose far half runs Busy() reports `Dial` BUSY, while the leg we own is
 * destroyed with cause 0 (only the far half carries 17). The Q.850 cause is the fallback.
 */
export function failureOf(dialStatus: string | undefined, cause: number | undefined): HandoffFailure {
  switch (dialStatus) {
    case 'BUSY':
      return 'busy';
    case 'NOANSWER':
    case 'CANCEL':
      return 'no-answer';
    case 'CONGESTION':
    case 'CHANUNAVAIL':
    case 'INVALIDARGS':
      return 'unreachable';
    default:
      break;
  }
  switch (cause) {
    case 17:
      return 'busy';
    case 21:
      return 'rejected';
    case 18:
    case 19:
    case 16:
    case undefined:
      return 'no-answer';
    default:
      return 'unreachable';
  }
}

function normaliseSource(s: string | undefined): CallSource {
  switch (s) {
    case 'carrier':
    case 'linkage':
    case 'subcenter':
    case 'agent':
    case 'callback':
      return s;
    default:
      return 'unknown';
  }
}

/** A reference from a SIP header: keep it short and printable (it lands on the ticket). */
function sanitizeRef(ref: string): string {
  return ref.replace(/[^\w\-.:/#]/g, '').slice(0, 64);
}

function describeMedia(m: FlowMedia): string {
  return m.kind === 'prompt' ? m.id : `${m.kind}:${m.value}`;
}
