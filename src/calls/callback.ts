/**
 * A fair callback (回拨): the ACD offers a caller who chose to hang up and keep
 * their place. The agent is rung first; once the agent answers, the citizen is
 * dialed through the platform (虚拟拨号: the agent never sees the number) and
 * the two are bridged when the citizen answers.
 *
 * @remarks
 * The callback is a new call with its own record (`source: 'callback'`,
 * `callbackOf` = the original call id); the ticket worker attaches it to the
 * original call's ticket instead of opening a new one.
 */
import { hopVariables } from '../routing/loops.js';
import type { Logger } from 'pino';
import type { AcdPort, Offer } from '../acd/port.js';
import type { Telephony, TelephonyEvent } from '../telephony/port.js';
import { isNotFound } from '../telephony/port.js';
import type { CallPathStep, CallRecord } from './record.js';
import type { StoredCallback } from './durable-store.js';
import type { CallParty, SessionIndex } from './session.js';

export interface CallbackDeps {
  telephony: Telephony;
  acd: AcdPort;
  log: Logger;
  index: SessionIndex;
  instanceId: string;
  /** Dial string of a citizen's number, `{number}` replaced (e.g. `PJSIP/{number}@carrier`). */
  dialTemplate: string;
  /** Seconds the citizen's phone may ring. */
  ringSec: number;
  now: () => number;
  onEnded: (record: CallRecord) => void | Promise<unknown>;
  /** Where its progress is kept, so that another instance can end it cleanly if this one dies (absent: nowhere). */
  store?: CallbackStore;
}

/** The durable store's callback part (calls/durable-store.ts). */
export interface CallbackStore {
  saveCallback(cb: StoredCallback): Promise<void>;
  removeCallback(id: string): Promise<void>;
}

type Phase = 'ringing-agent' | 'ringing-citizen' | 'talking' | 'ended';

export class CallbackCall implements CallParty {
  private phase: Phase = 'ringing-agent';
  private readonly agentLegId: string;
  private readonly citizenLegId: string;
  private readonly bridgeId: string;
  private agentAnswered = false;
  private citizenAnswered = false;
  private bridged = false;
  readonly record: CallRecord;
  private readonly log: Logger;
  /** The id of its stored state: its legs' common stem. */
  private readonly id: string;

  constructor(
    private readonly deps: CallbackDeps,
    private readonly offer: Offer & { callback: { number: string; attempt: number } },
  ) {
    const base = `${offer.callId}-cb${offer.callback.attempt}`.replace(/[^A-Za-z0-9._-]/g, '_');
    this.agentLegId = `${base}-a`;
    this.citizenLegId = `${base}-c`;
    this.bridgeId = `callback-${base}`;
    this.id = base;
    this.log = deps.log.child({ callId: offer.callId, callback: offer.callback.attempt });
    this.record = {
      callId: this.citizenLegId,
      channelName: '',
      caller: { number: offer.callback.number, name: '' },
      dialed: offer.callback.number,
      source: 'callback',
      callbackOf: offer.callId,
      language: 'zh',
      startedAt: deps.now(),
      path: [],
      agents: [],
      handoffs: [],
      recovered: false,
      instance: deps.instanceId,
    };
  }

  private step(kind: CallPathStep['kind'], detail: string): void {
    this.record.path.push({ at: this.deps.now(), kind, detail });
  }

  /** Checkpoint how far the callback got (a failed write is logged: the call itself goes on). */
  private checkpoint(): void {
    const store = this.deps.store;
    if (!store) return;
    const r = this.phase === 'ended'
      ? store.removeCallback(this.id)
      : store.saveCallback({
          id: this.id,
          callbackOf: this.offer.callId,
          agentId: this.offer.agentId,
          agentLegId: this.agentLegId,
          citizenLegId: this.citizenLegId,
          bridgeId: this.bridgeId,
          agentAnswered: this.agentAnswered,
          citizenAnswered: this.citizenAnswered,
          record: this.record,
        });
    r.catch((err: Error) => this.log.warn({ err: err.message }, 'callback state checkpoint failed'));
  }

  async start(): Promise<void> {
    const t = this.deps.telephony;
    this.deps.index.bindChannel(this.agentLegId, this);
    this.deps.index.bindChannel(this.citizenLegId, this);
    this.step('agent', `callback attempt ${this.offer.callback.attempt}: ringing ${this.offer.agentId}`);
    this.checkpoint();
    try {
      await t.originate({
        endpoint: this.offer.dialString,
        app: t.appName,
        appArgs: ['callback-leg', this.offer.callId, 'agent'],
        channelId: this.agentLegId,
        timeoutSec: this.offer.timeoutSec,
        callerId: '"12345 回拨" <12345>',
        variables: hopVariables(1),
      });
    } catch (err) {
      this.step('error', `agent leg: ${(err as Error).message}`);
      await this.deps.acd.offerFailed(this.offer.offerId, 'unreachable', this.deps.now());
      await this.end(undefined);
    }
  }

  async onEvent(e: TelephonyEvent): Promise<void> {
    if (this.phase === 'ended') return;
    if (e.type === 'StasisStart') {
      if (e.channel.id === this.agentLegId) return this.onAgentAnswered();
      if (e.channel.id === this.citizenLegId) return this.onCitizenAnswered();
      return;
    }
    if (e.type === 'ChannelDestroyed') {
      if (e.channel.id === this.agentLegId) return this.onAgentGone(e.cause);
      if (e.channel.id === this.citizenLegId) return this.onCitizenGone(e.cause);
    }
  }

  private async onAgentAnswered(): Promise<void> {
    this.agentAnswered = true;
    const ok = await this.deps.acd.offerAnswered(this.offer.offerId, this.deps.now());
    if (!ok) {
      this.step('agent', 'callback offer withdrawn');
      return this.end('system');
    }
    this.record.agents.push(this.offer.agentId);
    this.record.agentAnsweredAt = this.deps.now();
    const t = this.deps.telephony;
    this.phase = 'ringing-citizen';
    this.checkpoint();
    try {
      await t.createBridge(this.bridgeId, 'mixing', this.bridgeId);
      this.bridged = true;
      await t.addToBridge(this.bridgeId, [this.agentLegId]);
      this.step('queue', 'dialing the citizen');
      await t.originate({
        endpoint: this.deps.dialTemplate.replace('{number}', this.offer.callback.number),
        app: t.appName,
        appArgs: ['callback-leg', this.offer.callId, 'citizen'],
        channelId: this.citizenLegId,
        timeoutSec: this.deps.ringSec,
        callerId: '"12345" <12345>',
        // A callback leg that comes back into our app (a misrouted template) counts as a hop.
        variables: hopVariables(1),
      });
    } catch (err) {
      if (isNotFound(err)) return;
      this.step('error', `citizen leg: ${(err as Error).message}`);
      await this.deps.acd.offerFailed(this.offer.offerId, 'unreachable', this.deps.now());
      await this.end('system');
    }
  }

  private async onCitizenAnswered(): Promise<void> {
    this.citizenAnswered = true;
    this.phase = 'talking';
    this.record.answeredAt = this.deps.now();
    this.step('agent', `citizen answered; connected to ${this.offer.agentId}`);
    this.checkpoint();
    try {
      await this.deps.telephony.addToBridge(this.bridgeId, [this.citizenLegId]);
    } catch (err) {
      if (!isNotFound(err)) this.step('error', `bridge: ${(err as Error).message}`);
    }
    await this.deps.acd.leave(this.offer.callId, 'answered', this.deps.now());
  }

  private async onAgentGone(cause: number): Promise<void> {
    if (!this.agentAnswered) {
      this.step('agent', `${this.offer.agentId} did not answer the callback (cause ${cause})`);
      await this.deps.acd.offerFailed(this.offer.offerId, cause === 17 ? 'busy' : 'no-answer', this.deps.now());
      return this.end(undefined);
    }
    return this.end('agent');
  }

  private async onCitizenGone(cause: number): Promise<void> {
    if (!this.citizenAnswered) {
      // Not the agent's fault: the ACD retries the callback later (or lets it expire).
      this.step('queue', `citizen did not answer (cause ${cause})`);
      await this.deps.acd.offerFailed(this.offer.offerId, 'unreachable', this.deps.now());
      return this.end('system');
    }
    return this.end('caller');
  }

  private async end(by: 'caller' | 'agent' | 'system' | undefined): Promise<void> {
    if (this.phase === 'ended') return;
    const talked = this.citizenAnswered;
    this.phase = 'ended';
    this.checkpoint();
    const t = this.deps.telephony;
    this.deps.index.unbindChannel(this.agentLegId);
    this.deps.index.unbindChannel(this.citizenLegId);
    const cleanups: Promise<unknown>[] = [t.hangup(this.agentLegId), t.hangup(this.citizenLegId)];
    if (this.bridged) cleanups.push(t.destroyBridge(this.bridgeId));
    if (this.agentAnswered) cleanups.push(this.deps.acd.callEnded(this.offer.callId, this.offer.agentId, this.deps.now()));
    for (const r of await Promise.allSettled(cleanups)) {
      if (r.status === 'rejected') this.log.warn({ err: String(r.reason) }, 'callback cleanup failed');
    }
    // Only a callback that reached the citizen is a call of its own on the ticket.
    if (!talked) return;
    this.record.endedAt = this.deps.now();
    this.record.endedBy = by ?? 'system';
    this.record.outcome = 'answered';
    this.deps.onEnded(this.record);
  }
}

/**
 * A callback call of a dead instance, claimed by this one (calls/manager.ts). Its events went with
 * the dead instance, so it is ended, explicitly and cleanly: both legs hung up, its bridge gone, the
 * agent released for the ACD; a callback that reached the citizen becomes its record on the original
 * call's ticket (once: the job id is the citizen leg's id), one that did not is retried by the ACD
 * (the dead instance's sweep put the callback back in the queue).
 */
export async function endAdoptedCallback(
  deps: Pick<CallbackDeps, 'telephony' | 'acd' | 'log' | 'now' | 'onEnded' | 'instanceId'>,
  cb: StoredCallback,
  from: string,
): Promise<void> {
  const t = deps.telephony;
  const at = deps.now();
  const cleanups: Promise<unknown>[] = [t.hangup(cb.agentLegId), t.hangup(cb.citizenLegId), t.destroyBridge(cb.bridgeId)];
  if (cb.agentAnswered) cleanups.push(deps.acd.callEnded(cb.callbackOf, cb.agentId, at));
  for (const r of await Promise.allSettled(cleanups)) {
    if (r.status === 'rejected' && !isNotFound(r.reason)) deps.log.warn({ err: String(r.reason), callback: cb.id }, 'ending an adopted callback: cleanup failed');
  }
  deps.log.info({ callId: cb.callbackOf, callback: cb.id, from, talked: cb.citizenAnswered }, 'callback call of a dead instance ended');
  if (!cb.citizenAnswered) return;
  const record: CallRecord = {
    ...cb.record,
    path: [...cb.record.path, { at, kind: 'note', detail: `callback adopted by ${deps.instanceId} from ${from}: ended` }],
    recovered: true,
    instance: deps.instanceId,
    endedAt: at,
    endedBy: 'system',
    outcome: 'answered',
  };
  deps.onEnded(record);
}

