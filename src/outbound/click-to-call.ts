/**
 * The executor of one click-to-call (外呼) over the telephony port: ring the
 * user's own phone first, and once they answer dial the citizen from the
 * ticket's stored number with the hotline's caller id, play the citizen the
 * recording notice, bridge the two and record the bridge under the ticket.
 *
 * @remarks
 * Number privacy (虚拟拨号): the user's leg is originated before the citizen's
 * leg exists, with the hotline's number as caller id and the ticket number as
 * the name, so nothing on that leg carries the citizen's number; after the
 * bridge, Asterisk's connected-line update to the user's phone copies the
 * citizen leg's *caller* id, which is ours (12345), and agents' endpoints do
 * not take connected-line updates at all (pjsip.conf `send_connected_line = no`).
 * Legs enter our Stasis app as `callback-leg` (the call manager routes them
 * to the party bound to their channel id).
 */
import type { Logger } from 'pino';
import type { CallRecord } from '../calls/record.js';
import type { CallParty, SessionIndex } from '../calls/session.js';
import type { SegmentResult, SegmentStart } from '../recording/service.js';
import type { Telephony, TelephonyEvent } from '../telephony/port.js';
import { isNotFound } from '../telephony/port.js';
import { outcomeOf, type OutboundOutcome } from './policy.js';

export interface ClickToCallDeps {
  telephony: Telephony;
  index: SessionIndex;
  recording: {
    /** The notice prompt (`recording-notice`): the citizen hears it before being bridged, as callers do. */
    readonly announcementPrompt: string;
    segmentStarted(s: SegmentStart): Promise<SegmentResult>;
    segmentEnded(s: { callId: string; segment: number }): Promise<void>;
    callEnded(callId: string): Promise<void>;
  };
  log: Logger;
  instanceId: string;
  now: () => number;
}

export interface ClickToCallPlan {
  /** Our id of the attempt (`out-…`); the legs' and bridge's ids derive from it. */
  id: string;
  ticketNo: string;
  /** The ticket's call (its record's callId): the attempt's record attaches to that ticket. */
  ticketCallId: string;
  username: string;
  agentId?: string;
  /** Dial string of the user's phone. */
  userEndpoint: string;
  /** Dial string of the citizen (the only place the number is used). */
  citizenEndpoint: string;
  citizenNumber: string;
  /** Caller id the citizen sees (12345 or the line's number). */
  callerId: string;
  userRingSec: number;
  citizenRingSec: number;
}

export interface ClickToCallResult {
  id: string;
  ticketNo: string;
  username: string;
  outcome: OutboundOutcome;
  startedAt: number;
  endedAt: number;
  talkSec: number;
  recording?: string;
  /** The attempt's call record (present when the citizen answered). */
  record?: CallRecord;
}

export type ClickToCallPhase = 'ringing-user' | 'ringing-citizen' | 'talking' | 'ended';

export class ClickToCall implements CallParty {
  phase: ClickToCallPhase = 'ringing-user';
  readonly userLegId: string;
  readonly citizenLegId: string;
  readonly bridgeId: string;
  private userAnswered = false;
  private citizenAnswered = false;
  private citizenCause: number | undefined;
  private citizenDialStatus: string | undefined;
  private error = false;
  private bridged = false;
  private recordingName: string | undefined;
  private answeredAt: number | undefined;
  private noticePlayed = false;
  private readonly noticeId: string;
  readonly startedAt: number;
  private readonly log: Logger;

  constructor(
    private readonly deps: ClickToCallDeps,
    readonly plan: ClickToCallPlan,
    private readonly onDone: (r: ClickToCallResult) => void,
  ) {
    this.userLegId = `${plan.id}-u`;
    this.citizenLegId = `${plan.id}-c`;
    this.bridgeId = `outbound-${plan.id}`;
    this.noticeId = `${plan.id}-notice`;
    this.startedAt = deps.now();
    this.log = deps.log.child({ outbound: plan.id, ticketNo: plan.ticketNo });
  }

  async start(): Promise<void> {
    const t = this.deps.telephony;
    this.deps.index.bindChannel(this.userLegId, this);
    this.deps.index.bindChannel(this.citizenLegId, this);
    try {
      await t.originate({
        endpoint: this.plan.userEndpoint,
        app: t.appName,
        appArgs: ['callback-leg', this.plan.id, 'user'],
        channelId: this.userLegId,
        timeoutSec: this.plan.userRingSec,
        // The user sees which ticket the call is for, and the hotline's number: never the citizen's.
        callerId: `"工单${this.plan.ticketNo}" <${this.plan.callerId}>`,
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'user leg not originated');
      this.error = true;
      await this.end();
    }
  }

  async onEvent(e: TelephonyEvent): Promise<void> {
    if (this.phase === 'ended') return;
    if (e.type === 'StasisStart') {
      if (e.channel.id === this.userLegId) return this.onUserAnswered();
      if (e.channel.id === this.citizenLegId) return this.onCitizenAnswered();
      return;
    }
    if (e.type === 'PlaybackFinished') {
      if (e.playbackId === this.noticeId && this.citizenAnswered) return this.bridgeCitizen();
      return;
    }
    if (e.type === 'Dial') {
      if (e.peerId === this.citizenLegId && e.dialstatus) this.citizenDialStatus = e.dialstatus;
      return;
    }
    if (e.type === 'ChannelDestroyed') {
      if (e.channel.id === this.userLegId) return this.end();
      if (e.channel.id === this.citizenLegId) {
        if (!this.citizenAnswered) this.citizenCause = e.cause;
        return this.end();
      }
    }
  }

  private async onUserAnswered(): Promise<void> {
    this.userAnswered = true;
    this.phase = 'ringing-citizen';
    const t = this.deps.telephony;
    try {
      await t.createBridge(this.bridgeId, 'mixing', this.bridgeId);
      this.bridged = true;
      await t.addToBridge(this.bridgeId, [this.userLegId]);
      // The user hears ringback while the citizen's phone rings.
      await t.startBridgeMoh(this.bridgeId).catch(() => undefined);
      await t.originate({
        endpoint: this.plan.citizenEndpoint,
        app: t.appName,
        appArgs: ['callback-leg', this.plan.id, 'citizen'],
        channelId: this.citizenLegId,
        timeoutSec: this.plan.citizenRingSec,
        callerId: `"12345" <${this.plan.callerId}>`,
      });
    } catch (err) {
      if (isNotFound(err)) return;
      this.log.warn({ err: (err as Error).message }, 'citizen leg not originated');
      this.error = true;
      await this.end();
    }
  }

  private async onCitizenAnswered(): Promise<void> {
    this.citizenAnswered = true;
    this.answeredAt = this.deps.now();
    // The citizen is told the call is recorded before the user is connected (the same notice callers hear).
    this.deps.index.bindPlayback(this.noticeId, this);
    try {
      await this.deps.telephony.play(this.citizenLegId, [`sound:hotline/${this.deps.recording.announcementPrompt}`], { playbackId: this.noticeId, lang: 'zh' });
      this.noticePlayed = true;
    } catch (err) {
      if (isNotFound(err)) return;
      this.log.warn({ err: (err as Error).message }, 'recording notice not played; connecting without it');
      await this.bridgeCitizen();
    }
  }

  private async bridgeCitizen(): Promise<void> {
    if (this.phase !== 'ringing-citizen') return;
    this.deps.index.unbindPlayback(this.noticeId);
    this.phase = 'talking';
    const t = this.deps.telephony;
    try {
      await t.stopBridgeMoh(this.bridgeId).catch(() => undefined);
      await t.addToBridge(this.bridgeId, [this.citizenLegId]);
    } catch (err) {
      if (!isNotFound(err)) this.log.warn({ err: (err as Error).message }, 'citizen not bridged');
      return;
    }
    const r = await this.deps.recording.segmentStarted({
      callId: this.citizenLegId,
      bridgeId: this.bridgeId,
      segment: 1,
      ...(this.plan.agentId ? { agentId: this.plan.agentId } : {}),
      recordingEnabled: true,
      announce: this.noticePlayed,
    });
    if (r.status !== 'off') this.recordingName = r.name;
  }

  private async end(): Promise<void> {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    const t = this.deps.telephony;
    this.deps.index.unbindChannel(this.userLegId);
    this.deps.index.unbindChannel(this.citizenLegId);
    this.deps.index.unbindPlayback(this.noticeId);
    if (this.citizenAnswered) {
      await this.deps.recording.segmentEnded({ callId: this.citizenLegId, segment: 1 });
      await this.deps.recording.callEnded(this.citizenLegId);
    }
    const cleanups: Promise<unknown>[] = [t.hangup(this.userLegId), t.hangup(this.citizenLegId)];
    if (this.bridged) cleanups.push(t.destroyBridge(this.bridgeId));
    for (const r of await Promise.allSettled(cleanups)) {
      if (r.status === 'rejected') this.log.warn({ err: String(r.reason) }, 'outbound cleanup failed');
    }
    const endedAt = this.deps.now();
    const outcome = outcomeOf({
      userAnswered: this.userAnswered,
      citizenAnswered: this.citizenAnswered,
      ...(this.citizenCause !== undefined ? { citizenCause: this.citizenCause } : {}),
      ...(this.citizenDialStatus ? { citizenDialStatus: this.citizenDialStatus } : {}),
      error: this.error,
    });
    const talkSec = this.answeredAt ? Math.max(0, Math.round((endedAt - this.answeredAt) / 1000)) : 0;
    this.onDone({
      id: this.plan.id,
      ticketNo: this.plan.ticketNo,
      username: this.plan.username,
      outcome,
      startedAt: this.startedAt,
      endedAt,
      talkSec,
      ...(this.recordingName ? { recording: this.recordingName } : {}),
      ...(this.citizenAnswered ? { record: this.callRecord(endedAt) } : {}),
    });
  }

  /** The attempt as a call of the ticket (source `callback`, attached to the ticket's call). */
  private callRecord(endedAt: number): CallRecord {
    return {
      callId: this.citizenLegId,
      channelName: '',
      caller: { number: this.plan.citizenNumber, name: '' },
      dialed: this.plan.citizenNumber,
      source: 'callback',
      callbackOf: this.plan.ticketCallId,
      outbound: { kind: 'click-to-call', by: this.plan.username },
      language: 'zh',
      startedAt: this.startedAt,
      ...(this.answeredAt ? { answeredAt: this.answeredAt, agentAnsweredAt: this.answeredAt } : {}),
      endedAt,
      endedBy: 'system',
      outcome: 'answered',
      path: [
        { at: this.startedAt, kind: 'agent', detail: `click-to-call by ${this.plan.username} (ticket ${this.plan.ticketNo})` },
        ...(this.noticePlayed && this.answeredAt ? [{ at: this.answeredAt, kind: 'prompt' as const, detail: `play ${this.deps.recording.announcementPrompt}`, lang: 'zh' }] : []),
      ],
      agents: this.plan.agentId ? [this.plan.agentId] : [],
      handoffs: [],
      recovered: false,
      instance: this.deps.instanceId,
    };
  }
}
