/**
 * Admission control at call entry: gathers the load (this instance's calls,
 * the queue the caller would join, ARI latency and backlog, Asterisk's own
 * calls), asks the pure {@link admit}, and sheds a caller it refuses — ARI
 * `continue` into the dialplan's `hotline-shed` context, where Asterisk plays
 * the busy announcement (zh, then en) and clears the call. The shed call is
 * counted (metric) and ends as a call record with outcome `busy`, which becomes
 * its ticket like every other call's.
 *
 * @remarks
 * Cheap on purpose: the decision reads only memory (the queue figures are
 * refreshed from Redis once a second, Asterisk's calls every two), and a shed
 * costs one ARI request and no Redis write on the call path, so overload
 * cannot make shedding itself slow. What is kept per call is nothing; the
 * counters are fixed-size.
 */
import type { Logger } from 'pino';
import type { CallRecord, CallSource } from '../calls/record.js';
import type { ChannelInfo, ContinueOptions } from '../telephony/port.js';
import { expectedWaitSec } from '../acd/router.js';
import type { DialplanGate } from './gate.js';
import { admit, nextLatency, type AdmissionDecision, type AdmissionLimits, type AdmissionLoad, type ShedReason } from './policy.js';

export const SHED_CONTEXT: Required<Pick<ContinueOptions, 'context' | 'extension' | 'priority'>> = { context: 'hotline-shed', extension: 's', priority: 1 };

export interface AdmissionDeps {
  limits: AdmissionLimits;
  instanceId: string;
  log: Logger;
  now: () => number;
  telephony: {
    readonly load: { inFlight: number; backlog: number };
    continueInDialplan(channelId: string, options?: ContinueOptions): Promise<void>;
    hangup(channelId: string, reason?: string): Promise<void>;
  };
  /** Live calls of this instance. */
  liveCalls: () => number;
  /** The skill a call to `dialed` from `source` would queue for (the routing table's decision), if any. */
  routeSkill: (dialed: string, source: string) => string | undefined;
  /** Queue figures (waiting per skill) and staffing (agents per skill). */
  queues: () => Promise<readonly { skill: string; waiting: number }[]>;
  agents: () => Promise<readonly { state: string; skills: Record<string, number> }[]>;
  averageHandleSec: number;
  /** Asterisk's calls in progress (AMI CoreStatus); absent = not watched. */
  pbxCalls?: () => Promise<number>;
  /** A shed call's record: count it and hand it to the ticket pipeline. */
  onShed: (record: CallRecord, reason: ShedReason) => void;
  /**
   * Register a shed caller's callback (a callback-only ACD entry; absent: no callbacks are offered).
   * The dialplan offers it (press 1) to callers with a dialable number.
   */
  registerCallback?: (req: { callId: string; number: string; skill: string; dialed: string; language: string; at: number }) => Promise<void>;
  refreshMs?: number;
  /** The dialplan gate, when there is one: told every decision on a citizen's call from the carrier. */
  dialplanGate?: DialplanGate;
}

/** A number the platform can dial back (as the queue's callback offer requires). */
const DIALABLE = /^\+?\d{5,20}$/;

const NORMAL_SOURCES = new Set<CallSource>(['carrier', 'linkage', 'subcenter', 'agent', 'callback']);

export class AdmissionControl {
  private latency = { ms: 0, at: 0 };
  private waiting = new Map<string, number>();
  private staffed = new Map<string, number>();
  private queuesAt = 0;
  private pbx: { calls: number; at: number } | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly log: Logger;
  /** Calls shed since start, by reason (fixed set of keys). */
  readonly shedCounts: Partial<Record<ShedReason, number>> = {};

  constructor(private readonly deps: AdmissionDeps) {
    this.log = deps.log.child({ component: 'admission' });
  }

  /** The dialplan gate, when configured (ADMIT_GATE_MAX_PERCENT > 0 and AMI watched). */
  get dialplanGate(): DialplanGate | undefined {
    return this.deps.dialplanGate;
  }

  start(): void {
    const every = this.deps.refreshMs ?? 1000;
    void this.refreshQueues();
    this.timers.push(setInterval(() => void this.refreshQueues(), every));
    if (this.deps.pbxCalls && this.deps.limits.maxPbxCalls > 0) {
      void this.refreshPbx();
      this.timers.push(setInterval(() => void this.refreshPbx(), 2 * every));
    }
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  /** Every ARI request's duration (timeouts count in full): the PBX's load as we feel it. */
  observeAri(seconds: number): void {
    this.latency = nextLatency(this.latency, seconds * 1000, this.deps.now());
  }

  /** The load a call from `source` to `dialed` would meet now. */
  load(dialed: string, source: string): AdmissionLoad {
    const now = this.deps.now();
    const l: AdmissionLoad = {
      source,
      calls: this.deps.liveCalls(),
      ariLatencyMs: now - this.latency.at > 5000 ? 0 : this.latency.ms,
      ariBacklog: this.deps.telephony.load.backlog,
    };
    // Figures older than 10 s (Redis away) are not trusted either way.
    if (now - this.queuesAt <= 10_000) {
      let skill: string | undefined;
      try {
        skill = this.deps.routeSkill(dialed, source);
      } catch {
        skill = undefined;
      }
      if (skill) {
        const waiting = this.waiting.get(skill) ?? 0;
        const staffed = this.staffed.get(skill) ?? 0;
        // Nobody staffed (a shift starting, seats being set up): the wait is unknown, only the length counts.
        l.queue = { skill, waiting, expectedWaitSec: staffed > 0 ? expectedWaitSec(waiting + 1, staffed, this.deps.averageHandleSec) : 0 };
      }
    }
    if (this.pbx && now - this.pbx.at <= 10_000) l.pbxCalls = this.pbx.calls;
    return l;
  }

  decide(dialed: string, source: string): AdmissionDecision {
    return admit(this.load(dialed, source), this.deps.limits);
  }

  /**
   * At a caller's StasisStart: true = go on with the call; false = it was shed (told busy, cleared,
   * its record handed on). Never throws.
   */
  async gate(channel: ChannelInfo, args: string[]): Promise<boolean> {
    const dialed = args[0] || channel.dialplan.exten || '';
    const source = args[1] ?? 'carrier';
    const d = this.decide(dialed, source);
    if (source === 'carrier') this.deps.dialplanGate?.observe(d);
    if (d.admit) return true;
    this.shedCounts[d.reason] = (this.shedCounts[d.reason] ?? 0) + 1;
    const at = this.deps.now();
    this.log.warn({ callId: channel.id, line: dialed, reason: d.reason, detail: d.detail }, 'call shed: caller told busy');
    // Offered a callback when we can dial the caller back (the dialplan's cb<dialed> extension).
    const offerCallback = this.deps.registerCallback !== undefined && DIALABLE.test(channel.caller.number) && /^\d{1,20}$/.test(dialed);
    try {
      await this.deps.telephony.continueInDialplan(channel.id, offerCallback ? { ...SHED_CONTEXT, extension: `cb${dialed}` } : SHED_CONTEXT);
    } catch (err) {
      // The PBX could not even take the redirect: clear the call rather than hold it.
      this.log.warn({ callId: channel.id, err: (err as Error).message }, 'busy redirect failed; hanging up');
      await this.deps.telephony.hangup(channel.id, 'busy').catch(() => undefined);
    }
    const src = (NORMAL_SOURCES.has(source as CallSource) ? source : 'unknown') as CallSource;
    this.deps.onShed(
      {
        callId: channel.id,
        channelName: channel.name,
        caller: { number: channel.caller.number, name: channel.caller.name },
        dialed,
        source: src,
        language: channel.language === 'en' ? 'en' : 'zh',
        startedAt: at,
        endedAt: this.deps.now(),
        endedBy: 'system',
        outcome: 'busy',
        path: [
          { at, kind: 'note', detail: `admission: shed (${d.reason}) — ${d.detail}` },
          { at, kind: 'prompt', detail: 'overload-busy (dialplan hotline-shed)' },
          ...(offerCallback ? [{ at, kind: 'prompt' as const, detail: 'callback-offer (dialplan hotline-shed: press 1)' }] : []),
        ],
        agents: [],
        handoffs: [],
        recovered: false,
        instance: this.deps.instanceId,
      },
      d.reason,
    );
    return false;
  }

  /**
   * A shed caller pressed 1 for a callback and is back in Stasis (`shed-callback`, `cb<dialed>`): the
   * callback is registered and the caller hears it confirmed; if it cannot be (Redis away …) they are
   * told busy as before. Either way the channel leaves Stasis at once. Never throws.
   */
  async acceptCallback(channel: ChannelInfo, args: string[]): Promise<void> {
    const dialed = (args[1] ?? '').replace(/^cb/, '');
    const at = this.deps.now();
    let registered = false;
    if (this.deps.registerCallback && DIALABLE.test(channel.caller.number)) {
      let skill: string | undefined;
      try {
        skill = this.deps.routeSkill(dialed, 'carrier');
      } catch {
        skill = undefined;
      }
      try {
        const lang = channel.language === 'en' ? 'en' : 'zh';
        await this.deps.registerCallback({ callId: channel.id, number: channel.caller.number, skill: skill ?? 'general', dialed, language: lang, at });
        registered = true;
        this.log.info({ callId: channel.id, line: dialed }, 'shed caller asked for a callback: registered');
      } catch (err) {
        this.log.warn({ callId: channel.id, err: (err as Error).message }, 'shed caller asked for a callback: not registered; told busy');
      }
    }
    try {
      await this.deps.telephony.continueInDialplan(channel.id, registered ? { ...SHED_CONTEXT, extension: 'callback-ok' } : SHED_CONTEXT);
    } catch (err) {
      this.log.warn({ callId: channel.id, err: (err as Error).message }, 'after the callback request: redirect failed; hanging up');
      await this.deps.telephony.hangup(channel.id, 'busy').catch(() => undefined);
    }
  }

  private async refreshQueues(): Promise<void> {
    try {
      const [queues, agents] = await Promise.all([this.deps.queues(), this.deps.agents()]);
      const waiting = new Map<string, number>();
      for (const q of queues) waiting.set(q.skill, q.waiting);
      const staffed = new Map<string, number>();
      for (const a of agents) {
        if (a.state === 'offline') continue;
        for (const [skill, level] of Object.entries(a.skills)) if (level >= 1) staffed.set(skill, (staffed.get(skill) ?? 0) + 1);
      }
      this.waiting = waiting;
      this.staffed = staffed;
      this.queuesAt = this.deps.now();
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'queue figures not refreshed');
    }
  }

  private async refreshPbx(): Promise<void> {
    try {
      this.pbx = { calls: await this.deps.pbxCalls!(), at: this.deps.now() };
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'Asterisk calls not read');
    }
  }
}
