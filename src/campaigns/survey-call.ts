/**
 * One 回访 survey call over the telephony port: originate the citizen from the ticket's stored
 * number with the hotline's caller id, and once they answer run the satisfaction survey — the same
 * flow and prompts the inbound survey uses (ivr/default-flow.ts `surveyFlow`), after a short
 * introduction — on the pure IVR engine; the DTMF rating (1–4) is the result. An invalid key or
 * silence is asked again once, then the citizen is thanked and released (never dead air). Busy, no
 * answer and failures come from the leg's Dial status or hang-up cause, as click-to-call's do.
 *
 * @remarks
 * The leg enters our Stasis app as `callback-leg`; the call manager routes its events (and its
 * playbacks') here by id. Its id (`svy-<letters>-c`) is one the manager treats as our own leg after
 * a restart: hung up, never adopted as a caller.
 */
import type { Logger } from 'pino';
import type { CallParty, SessionIndex } from '../calls/session.js';
import { surveyFlow, withAnnouncements } from '../ivr/default-flow.js';
import { mediaUri, next, start } from '../ivr/engine.js';
import type { IvrCommand, IvrInput, IvrState, Lang, SurveyRating } from '../ivr/types.js';
import { outcomeOf } from '../outbound/policy.js';
import type { Telephony, TelephonyEvent } from '../telephony/port.js';
import { isNotFound } from '../telephony/port.js';

/** Longest an answered survey call may last before it is hung up (a lost playback event must not keep the line). */
const MAX_SURVEY_MS = 180_000;

/** Played before the survey question: who calls and why. */
export const CAMPAIGN_INTRO_PROMPT = 'campaign-intro';

/** The survey flow of a campaign call: the introduction, then the inbound survey's question and thanks. */
export function campaignSurveyFlow() {
  return withAnnouncements(surveyFlow(), [CAMPAIGN_INTRO_PROMPT]);
}

export interface SurveyCallPlan {
  /** `svy-<letters>`; the leg is `<id>-c`. */
  id: string;
  ticketNo: string;
  /** Dial string of the citizen (the only place the number is used). */
  endpoint: string;
  callerId: string;
  ringSec: number;
  lang: Lang;
}

export type SurveyCallOutcome = 'rated' | 'no-rating' | 'busy' | 'no-answer' | 'failed';

export interface SurveyCallResult {
  id: string;
  callId: string;
  outcome: SurveyCallOutcome;
  rating?: SurveyRating;
  startedAt: number;
  answeredAt?: number;
  endedAt: number;
  /** What the citizen went through (IVR path), for logs. */
  path: string[];
}

export type SurveyCallPhase = 'ringing' | 'intro' | 'asking' | 'closing' | 'ended';

export class SurveyCall implements CallParty {
  phase: SurveyCallPhase = 'ringing';
  readonly legId: string;
  readonly startedAt: number;
  private ivr: IvrState | undefined;
  private answeredAt: number | undefined;
  private rating: SurveyRating | undefined;
  private cause: number | undefined;
  private dialStatus: string | undefined;
  private error = false;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly playbacks = new Map<string, string>();
  private readonly path: string[] = [];
  private readonly log: Logger;
  private done!: (r: SurveyCallResult) => void;
  /** Resolves when the call has ended (whatever the outcome). */
  readonly result: Promise<SurveyCallResult>;

  constructor(
    private readonly deps: { telephony: Telephony; index: SessionIndex; log: Logger; now: () => number },
    readonly plan: SurveyCallPlan,
  ) {
    this.legId = `${plan.id}-c`;
    this.startedAt = deps.now();
    this.log = deps.log.child({ survey: plan.id, ticketNo: plan.ticketNo });
    this.result = new Promise((resolve) => (this.done = resolve));
  }

  async start(): Promise<SurveyCallResult> {
    const t = this.deps.telephony;
    this.deps.index.bindChannel(this.legId, this);
    try {
      await t.originate({
        endpoint: this.plan.endpoint,
        app: t.appName,
        appArgs: ['callback-leg', this.plan.id, 'citizen'],
        channelId: this.legId,
        timeoutSec: this.plan.ringSec,
        callerId: `"12345" <${this.plan.callerId}>`,
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'survey call not originated');
      this.error = true;
      await this.end();
    }
    return this.result;
  }

  async onEvent(e: TelephonyEvent): Promise<void> {
    if (this.phase === 'ended') return;
    switch (e.type) {
      case 'StasisStart':
        if (e.channel.id === this.legId) await this.onAnswered();
        return;
      case 'Dial':
        if (e.peerId === this.legId && e.dialstatus) this.dialStatus = e.dialstatus;
        return;
      case 'ChannelDtmfReceived':
        if (e.channel.id === this.legId && this.ivr) await this.feed({ type: 'dtmf', digit: e.digit });
        return;
      case 'PlaybackFinished': {
        const token = this.playbacks.get(e.playbackId);
        if (token === undefined) return;
        this.playbacks.delete(e.playbackId);
        this.deps.index.unbindPlayback(e.playbackId);
        await this.feed({ type: 'playback-done', token, ...(e.state === 'failed' ? { failed: true } : {}) });
        return;
      }
      case 'ChannelDestroyed':
        if (e.channel.id !== this.legId) return;
        if (this.answeredAt === undefined) this.cause = e.cause;
        await this.end();
        return;
      default:
        return;
    }
  }

  private async onAnswered(): Promise<void> {
    this.answeredAt = this.deps.now();
    this.phase = 'intro';
    // A survey takes well under a minute; should an event be lost, the citizen is released anyway.
    const cap = setTimeout(() => void this.deps.telephony.hangup(this.legId).catch(() => undefined), MAX_SURVEY_MS);
    cap.unref();
    this.timers.set('cap', cap);
    const first = start(campaignSurveyFlow(), { lang: this.plan.lang, now: this.deps.now() });
    this.ivr = first.state;
    await this.run(first.commands);
  }

  private async feed(input: IvrInput): Promise<void> {
    if (!this.ivr || this.phase === 'ended') return;
    const step = next(this.ivr, input, this.deps.now());
    this.ivr = step.state;
    await this.run(step.commands);
  }

  /** Carry out the engine's commands, in order. */
  private async run(commands: readonly IvrCommand[]): Promise<void> {
    for (const c of commands) {
      if (this.phase === 'ended') return;
      await this.exec(c);
    }
    if (this.ivr?.phase.kind === 'survey' && this.phase === 'intro') this.phase = 'asking';
  }

  private async exec(c: IvrCommand): Promise<void> {
    const t = this.deps.telephony;
    switch (c.type) {
      case 'play': {
        const media = c.media.map(mediaUri).filter((m): m is string => m !== undefined);
        if (media.length === 0) return this.feed({ type: 'playback-done', token: c.token });
        const playbackId = `${this.plan.id}-${c.token}`;
        this.playbacks.set(playbackId, c.token);
        this.deps.index.bindPlayback(playbackId, this);
        try {
          await t.play(this.legId, media, { playbackId, lang: c.lang });
        } catch (err) {
          this.playbacks.delete(playbackId);
          this.deps.index.unbindPlayback(playbackId);
          if (isNotFound(err)) return; // the citizen hung up meanwhile: ChannelDestroyed ends the call
          this.log.warn({ err: (err as Error).message }, 'survey prompt not played');
          return this.feed({ type: 'playback-done', token: c.token, failed: true });
        }
        return;
      }
      case 'stop-playback': {
        const id = `${this.plan.id}-${c.token}`;
        if (!this.playbacks.has(id)) return;
        await t.stopPlayback(id).catch(() => undefined);
        return;
      }
      case 'start-timer': {
        const h = setTimeout(() => {
          this.timers.delete(c.token);
          void this.feed({ type: 'timeout', token: c.token }).catch((err: Error) => this.log.warn({ err: err.message }, 'survey timeout not handled'));
        }, c.ms);
        h.unref();
        this.timers.set(c.token, h);
        return;
      }
      case 'cancel-timer': {
        clearTimeout(this.timers.get(c.token));
        this.timers.delete(c.token);
        return;
      }
      case 'survey-rating':
        this.rating = c.rating;
        this.phase = 'closing';
        return;
      case 'path':
        this.path.push(c.detail);
        return;
      case 'set-language':
        return;
      case 'hangup':
      case 'queue':
      case 'transfer':
      case 'lookup-ticket':
        // The survey flow ends with its thanks and a hang-up; anything else (an engine fallback) ends politely too.
        this.phase = 'closing';
        await t.hangup(this.legId).catch(() => undefined);
        return;
    }
  }

  private async end(): Promise<void> {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    for (const h of this.timers.values()) clearTimeout(h);
    this.timers.clear();
    for (const id of this.playbacks.keys()) this.deps.index.unbindPlayback(id);
    this.playbacks.clear();
    this.deps.index.unbindChannel(this.legId);
    await this.deps.telephony.hangup(this.legId).catch(() => undefined);
    const answered = this.answeredAt !== undefined;
    let outcome: SurveyCallOutcome;
    if (answered) outcome = this.rating !== undefined ? 'rated' : 'no-rating';
    else {
      const o = outcomeOf({ userAnswered: true, citizenAnswered: false, ...(this.cause !== undefined ? { citizenCause: this.cause } : {}), ...(this.dialStatus ? { citizenDialStatus: this.dialStatus } : {}), error: this.error });
      outcome = o === 'citizen-busy' ? 'busy' : o === 'citizen-no-answer' ? 'no-answer' : 'failed';
    }
    this.done({
      id: this.plan.id,
      callId: this.legId,
      outcome,
      ...(this.rating !== undefined ? { rating: this.rating } : {}),
      startedAt: this.startedAt,
      ...(this.answeredAt !== undefined ? { answeredAt: this.answeredAt } : {}),
      endedAt: this.deps.now(),
      path: this.path,
    });
  }
}
