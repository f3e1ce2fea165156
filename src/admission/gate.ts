/**
 * The dialplan gate: admission control's first line when the whole instance is over a limit.
 *
 * @remarks
 * Admission control (./control.ts) sheds a caller in Stasis: one ARI `continue`, then Asterisk answers
 * and plays the busy announcement. Above the PBX's capacity that is not enough: every shed call was
 * still set up, answered and played to, and at 200 calls/s on 2 cores the box collapsed (bench/ part
 * 5: 7,284 INVITE retransmissions, 359 channels stuck in the app). The gate turns such callers away
 * in the dialplan itself, before `Answer()` and before Stasis: `[from-carrier]` reads two globals,
 *
 *   HOTLINE_GATE_PCT    share of new citizens' calls refused, 0–100
 *   HOTLINE_GATE_UNTIL  Asterisk's clock (EPOCH, s) after which the gate is open whatever PCT says
 *
 * and refuses a call with probability PCT % while EPOCH < UNTIL: SIP 486 Busy Here (cause 17, the
 * carrier plays the busy tone) after an AMI `UserEvent(HotlineGated)`, from which the server makes
 * the call's `busy` record and ticket like any shed call's. The gate needs the AMI link for those
 * records; without it the gate stays open and admission control sheds as before.
 *
 * The share follows what admission control does to the calls that get through, every
 * {@link GATE_TICK_MS}: when it refused a share f of them for an instance-wide reason (ARI backlog
 * or latency, Asterisk's calls, this instance's calls — not a full queue, which concerns one skill),
 * the gate refuses p' = 1 − (1 − p)(1 − f) of all calls (exactly the over-limit share when the limit
 * is a rate); it holds for {@link GATE_HOLD_MS} after the last such refusal (no flapping at the limit),
 * then falls {@link GATE_DECAY} points a tick. The server renews UNTIL while the gate is closed: if it
 * dies or loses the PBX, the gate opens by itself within {@link GATE_EXPIRY_SEC} s. UNTIL is written on
 * Asterisk's clock (its ARI ping's timestamp), so a server whose clock is off cannot hold the gate shut.
 *
 * Linkage (110/119/120/122), sub-centres and agents enter through other contexts: never gated.
 */
import type { Logger } from 'pino';
import type { CallRecord } from '../calls/record.js';
import type { AdmissionDecision, ShedReason } from './policy.js';

/** How often the share is recomputed and the gate renewed (ms). */
export const GATE_TICK_MS = 500;
/** How long the share holds after the last instance-wide refusal before it decays (ms). */
export const GATE_HOLD_MS = 3000;
/**
 * Points the share then falls per tick (5 per 500 ms: from 90 % open in 9 s). Slow on purpose: a limit on
 * live calls lags the load by a call's length, and a gate that opens fast lets the load surge back
 * (bench/ part 5 at 200 calls/s: 10 points a tick oscillated between 0 and 35 % every 7 s).
 */
export const GATE_DECAY = 5;
/** How long a written gate lasts without renewal (s): a dead server's gate opens by itself. */
export const GATE_EXPIRY_SEC = 3;
/** The AMI user event the dialplan raises for every call it turns away. */
export const GATED_EVENT = 'HotlineGated';

/** Shed reasons that concern the whole instance (the gate reacts to these only). */
const INSTANCE_WIDE = new Set<ShedReason>(['ari-backlog', 'ari-latency', 'pbx-calls', 'calls']);

/** Counted between two ticks: calls admission control decided on, and those refused for an instance-wide reason. */
export interface GateTick {
  decided: number;
  refused: number;
}

/** The next share (percent) of new calls the gate refuses, `sinceRefusalMs` after the last refusal before this tick. Pure. */
export function nextGatePercent(p: number, t: GateTick, maxPercent: number, sinceRefusalMs: number): number {
  if (t.refused > 0 && t.decided > 0) {
    const f = Math.min(1, t.refused / t.decided);
    const next = Math.ceil(100 - (100 - p) * (1 - f));
    return Math.min(maxPercent, Math.max(p + 1, next));
  }
  if (sinceRefusalMs < GATE_HOLD_MS) return p;
  return Math.max(0, p - GATE_DECAY);
}

/** What the gate writes into the dialplan, or undefined when nothing needs writing now. Pure. */
export function gateWrite(prev: { percent: number; writtenAt: number }, percent: number, nowMs: number): { percent: number } | undefined {
  if (percent !== prev.percent) return { percent };
  // Renewed about once a second while closed (UNTIL lasts GATE_EXPIRY_SEC).
  if (percent > 0 && nowMs - prev.writtenAt >= 1000) return { percent };
  return undefined;
}

const known = (v: string | undefined): string => (v && v !== '<unknown>' ? v : '');

/** An AMI `UserEvent` as asterisk-manager delivers it (keys lower-cased). */
export type AmiUserEvent = Record<string, string | undefined>;

export interface DialplanGateDeps {
  maxPercent: number;
  instanceId: string;
  log: Logger;
  now: () => number;
  /** Sets a global dialplan variable (ARI POST /asterisk/variable). */
  setGlobal: (name: string, value: string) => Promise<void>;
  /** Asterisk's clock now (ms), from its ARI ping. */
  pbxTime: () => Promise<number>;
  /** Whether gated calls can be recorded (the AMI link is up). */
  canRecord: () => boolean;
  /** A gated call's record: counted and handed to the ticket pipeline. */
  onGated: (record: CallRecord) => void;
  /** The share refused now, for the metrics. */
  onPercent?: (percent: number) => void;
}

export class DialplanGate {
  private tick: GateTick = { decided: 0, refused: 0 };
  private written = { percent: 0, writtenAt: 0 };
  private percentNow = 0;
  private lastRefusalAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  /** Asterisk's clock minus ours (ms), measured when the gate first closes and every minute while closed. */
  private offset: { ms: number; at: number } | undefined;
  private writing = false;
  private readonly log: Logger;
  /** Calls turned away by the gate since start. */
  gated = 0;

  constructor(private readonly deps: DialplanGateDeps) {
    this.log = deps.log.child({ component: 'admission-gate' });
  }

  /** The share of new citizens' calls refused now (percent). */
  get percent(): number {
    return this.percentNow;
  }

  start(): void {
    if (this.timer || this.deps.maxPercent <= 0) return;
    this.timer = setInterval(() => void this.step(), GATE_TICK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // Open the gate on the way out: the next instance (or this one restarted) starts from an open PBX.
    if (this.written.percent > 0) await this.deps.setGlobal('HOTLINE_GATE_PCT', '0').catch(() => undefined);
  }

  /** Every admission decision on a call that could be gated (a citizen's call from the carrier). */
  observe(d: AdmissionDecision): void {
    this.tick.decided++;
    if (!d.admit && INSTANCE_WIDE.has(d.reason)) this.tick.refused++;
  }

  /** One tick: the new share, written when it changed (or to renew it). Never throws. */
  async step(): Promise<void> {
    if (this.writing) return;
    const t = this.tick;
    this.tick = { decided: 0, refused: 0 };
    // Without the AMI link a gated call would leave no record: the gate stays open.
    const now = this.deps.now();
    const p = this.deps.canRecord() ? nextGatePercent(this.percentNow, t, this.deps.maxPercent, now - this.lastRefusalAt) : 0;
    if (t.refused > 0) this.lastRefusalAt = now;
    if (p !== this.percentNow) {
      this.log.warn({ from: this.percentNow, to: p, decided: t.decided, refused: t.refused }, p > this.percentNow ? 'admission gate closing: new callers refused in the dialplan' : 'admission gate opening');
      this.percentNow = p;
      this.deps.onPercent?.(p);
    }
    const w = gateWrite(this.written, p, now);
    if (!w) return;
    this.writing = true;
    try {
      if (p > 0) {
        if (!this.offset || now - this.offset.at > 60_000) this.offset = { ms: (await this.deps.pbxTime()) - this.deps.now(), at: now };
        const until = Math.floor((this.deps.now() + this.offset.ms) / 1000) + GATE_EXPIRY_SEC;
        await this.deps.setGlobal('HOTLINE_GATE_PCT', String(p));
        await this.deps.setGlobal('HOTLINE_GATE_UNTIL', String(until));
      } else {
        await this.deps.setGlobal('HOTLINE_GATE_PCT', '0');
      }
      this.written = { percent: p, writtenAt: this.deps.now() };
    } catch (err) {
      // Not written: tried again next tick. A gate that cannot be renewed opens by itself.
      this.log.warn({ percent: p, err: (err as Error).message }, 'admission gate not written');
    } finally {
      this.writing = false;
    }
  }

  /** The dialplan turned a call away (AMI UserEvent HotlineGated): its record. Never throws. */
  onUserEvent(evt: AmiUserEvent): void {
    if (evt.userevent !== GATED_EVENT) return;
    const callId = String(evt.uniqueid ?? '');
    if (!callId) return;
    this.gated++;
    const at = this.deps.now();
    try {
      this.deps.onGated({
        callId,
        channelName: String(evt.channel ?? ''),
        // Asterisk writes an unset caller id as <unknown>.
        caller: { number: known(evt.calleridnum), name: known(evt.calleridname) },
        dialed: String(evt.exten ?? ''),
        source: 'carrier',
        language: evt.language === 'en' ? 'en' : 'zh',
        startedAt: at,
        endedAt: at,
        endedBy: 'system',
        outcome: 'busy',
        path: [{ at, kind: 'note', detail: `admission: gated in the dialplan (${this.percentNow} % of new calls refused) — SIP 486 before answer` }],
        agents: [],
        handoffs: [],
        recovered: false,
        instance: this.deps.instanceId,
      });
    } catch (err) {
      this.log.error({ callId, err: (err as Error).message }, 'gated call not recorded');
    }
  }
}
