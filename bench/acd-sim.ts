/**
 * A discrete-event simulation of the ACD on a virtual clock: Poisson arrivals, exponential handle
 * times, exponential caller patience. Every assignment is decided by the real router
 * (`src/acd/router.ts` `route`) with the real default queue rules (`defaultAcdConfig`), so peak
 * seats take overflow only, as in production.
 *
 * The simulation calls `route(snapshot, now)` after every event that can change a decision
 * (arrival, end of a call, abandonment) and at each waiting call's fallback/overflow thresholds.
 * Agents answer at once (no ring time) and the handle time includes wrap-up.
 */
import { seededRng } from '../src/util/random.js';
import { defaultAcdConfig, SKILL_GENERAL, type QueueRule } from '../src/acd/model.js';
import { route, type RouterAgent, type RouterSnapshot, type WaitingCall } from '../src/acd/router.js';
import { decide } from '../src/controller/controller.js';
import { addCounts, emptyCounts, noActions, type ControllerActions, type ControllerConfig, type WindowCounts } from '../src/controller/model.js';
import { applyTuning, tuningFor } from '../src/controller/port.js';

export interface AcdSimScenario {
  callsPerHour: number;
  /** Mean handle time (talk + wrap-up), seconds. */
  handleSec: number;
  /** Mean caller patience, seconds. */
  patienceSec: number;
  /** Regular answering seats. */
  regular: number;
  /** Peak-hour emergency seats (take overflow only, by the queue rule). */
  peak: number;
  /** Counted window, after the warm-up. */
  hours: number;
  warmupHours?: number;
  seed?: number;
  slSec?: number;
  /** Stop the clock here even if counted calls still wait (for conservation tests); seconds. */
  hardStopSec?: number;
  /** Queue rule for `general`; default the production rule. */
  rule?: QueueRule;
  /**
   * The answer-rate controller (src/controller), run every `controllerIntervalSec` of virtual time on
   * the simulation's own sliding windows; its level tunes the `general` rule as in production.
   */
  controller?: ControllerConfig;
  controllerIntervalSec?: number;
}

export interface AcdSimResult {
  offered: number;
  answered: number;
  abandoned: number;
  /** Counted calls still waiting when the clock stopped (only with hardStopSec). */
  waiting: number;
  answerRate: number;
  abandonRate: number;
  /** Mean wait of answered calls, seconds. */
  asa: number;
  /** Answered within slSec / offered. */
  serviceLevel: number;
  /** Calls answered by peak seats (overflow tier). */
  answeredByPeak: number;
  routeCalls: number;
  simulatedHours: number;
  /** Busy time of the peak seats in the counted window / (peak seats × counted time). */
  peakBusyShare: number;
  /** With a controller: share of the counted time spent at each level, and the level changes. */
  levelShare?: number[];
  levelChanges?: number;
}

/** The project's seeded PRNG (mulberry32). */
export const rng = (seed: number): (() => number) => seededRng(seed);

type Ev =
  | { t: number; kind: 'arrival' }
  | { t: number; kind: 'abandon'; callId: string }
  | { t: number; kind: 'done'; agent: RouterAgent }
  | { t: number; kind: 'recheck' }
  | { t: number; kind: 'tick' };

/** Binary min-heap on event time (ties: insertion order). */
class Heap {
  private a: { ev: Ev; seq: number }[] = [];
  private seq = 0;
  get size(): number {
    return this.a.length;
  }
  push(ev: Ev): void {
    const a = this.a;
    a.push({ ev, seq: this.seq++ });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(a[i]!, a[p]!)) {
        [a[i], a[p]] = [a[p]!, a[i]!];
        i = p;
      } else break;
    }
  }
  pop(): Ev | undefined {
    const a = this.a;
    if (!a.length) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top.ev;
  }
  private less(x: { ev: Ev; seq: number }, y: { ev: Ev; seq: number }): boolean {
    return x.ev.t < y.ev.t || (x.ev.t === y.ev.t && x.seq < y.seq);
  }
}

interface SimCall {
  call: WaitingCall;
  counted: boolean;
}

export function simulateAcd(s: AcdSimScenario): AcdSimResult {
  const rand = rng(s.seed ?? 12345);
  const exp = (mean: number) => -Math.log(1 - rand()) * mean;
  const base = defaultAcdConfig();
  const staticRule = s.rule ?? base.rules[SKILL_GENERAL] ?? base.defaultRule;
  let rule = staticRule;
  const config: RouterSnapshot['config'] = {
    rules: { [SKILL_GENERAL]: rule },
    defaultRule: base.defaultRule,
    missExcludeSec: base.missExcludeSec,
    languageSkills: base.languageSkills,
  };
  const agents: RouterAgent[] = [];
  for (let i = 0; i < s.regular; i++) agents.push({ id: `R${String(i).padStart(4, '0')}`, available: true, idleSince: 0, skills: { general: 3 }, peak: false });
  for (let i = 0; i < s.peak; i++) agents.push({ id: `P${String(i).padStart(4, '0')}`, available: true, idleSince: 0, skills: { general: 3 }, peak: true });
  const byId = new Map(agents.map((a) => [a.id, a]));

  const warmMs = (s.warmupHours ?? 0.5) * 3600_000;
  const endMs = warmMs + s.hours * 3600_000;
  const hardStop = s.hardStopSec !== undefined ? s.hardStopSec * 1000 : Infinity;
  const meanGapMs = 3600_000 / s.callsPerHour;
  const slMs = (s.slSec ?? 20) * 1000;

  const waiting = new Map<string, SimCall>();
  let countedWaiting = 0;
  const heap = new Heap();
  heap.push({ t: exp(meanGapMs), kind: 'arrival' });
  let seq = 0;
  let offered = 0;
  let answered = 0;
  let abandoned = 0;
  let answeredInSl = 0;
  let answeredByPeak = 0;
  let waitSum = 0;
  let routeCalls = 0;
  let now = 0;
  let free = agents.length;

  // Busy time of peak seats within the counted window.
  const busyFrom = new Map<string, number>();
  let peakBusyMs = 0;
  const clip = (a: number, b: number) => Math.max(0, Math.min(b, endMs) - Math.max(a, warmMs));

  // The controller's sliding windows: counts per minute of virtual time.
  const ctl = s.controller;
  const tickMs = (s.controllerIntervalSec ?? 15) * 1000;
  const buckets = new Map<number, WindowCounts>();
  const note = (c: Partial<WindowCounts>) => {
    if (!ctl) return;
    const m = Math.floor(now / 60_000);
    buckets.set(m, addCounts(buckets.get(m) ?? emptyCounts(), c));
  };
  const windowOf = (sec: number): WindowCounts => {
    let c = emptyCounts();
    const last = Math.floor(now / 60_000);
    for (let m = last - Math.ceil(sec / 60) + 1; m <= last; m++) c = addCounts(c, buckets.get(m) ?? {});
    return c;
  };
  let actions: ControllerActions = noActions();
  let level = 0;
  let levelAt = 0;
  let levelChanges = 0;
  const levelMs = [0, 0, 0, 0];
  const setLevelTime = (until: number) => {
    levelMs[level]! += clip(levelAt, until);
    levelAt = until;
  };
  if (ctl) heap.push({ t: tickMs, kind: 'tick' });

  const dispatch = () => {
    if (free === 0 || waiting.size === 0) return;
    routeCalls++;
    const calls: WaitingCall[] = [];
    for (const w of waiting.values()) calls.push(w.call);
    const snapshot: RouterSnapshot = { calls, agents, queueLength: { [SKILL_GENERAL]: waiting.size }, config };
    for (const d of route(snapshot, now)) {
      const w = waiting.get(d.callId)!;
      const agent = byId.get(d.agentId)!;
      waiting.delete(d.callId);
      agent.available = false;
      free--;
      busyFrom.set(agent.id, now);
      note({ answered: 1, waitAnsweredMs: now - w.call.joinedAt });
      if (w.counted) {
        countedWaiting--;
        answered++;
        const wait = now - w.call.joinedAt;
        waitSum += wait;
        if (wait <= slMs) answeredInSl++;
        if (agent.peak) answeredByPeak++;
      }
      heap.push({ t: now + exp(s.handleSec * 1000), kind: 'done', agent });
    }
  };

  for (;;) {
    const ev = heap.pop();
    if (!ev) break;
    if (ev.t > hardStop) break;
    now = ev.t;
    if (now >= endMs && countedWaiting === 0) break;
    switch (ev.kind) {
      case 'arrival': {
        const counted = now >= warmMs && now < endMs;
        const callId = `c${String(++seq).padStart(9, '0')}`;
        const call: WaitingCall = { callId, skill: SKILL_GENERAL, priority: 0, joinedAt: now };
        waiting.set(callId, { call, counted });
        note({ offered: 1 });
        if (counted) {
          offered++;
          countedWaiting++;
        }
        heap.push({ t: now + exp(s.patienceSec * 1000), kind: 'abandon', callId });
        if (rule.overflowAfterSec !== undefined) heap.push({ t: now + rule.overflowAfterSec * 1000, kind: 'recheck' });
        if (rule.fallbackSkills.length) heap.push({ t: now + rule.fallbackAfterSec * 1000, kind: 'recheck' });
        heap.push({ t: now + exp(meanGapMs), kind: 'arrival' });
        break;
      }
      case 'abandon': {
        const w = waiting.get(ev.callId);
        if (!w) break; // already answered
        waiting.delete(ev.callId);
        note({ abandoned: 1, waitAbandonedMs: now - w.call.joinedAt });
        if (w.counted) {
          countedWaiting--;
          abandoned++;
        }
        break;
      }
      case 'done': {
        const from = busyFrom.get(ev.agent.id);
        if (from !== undefined) {
          if (ev.agent.peak) peakBusyMs += clip(from, now);
          busyFrom.delete(ev.agent.id);
        }
        note({ ended: 1, talkMs: now - (from ?? now) });
        ev.agent.available = true;
        ev.agent.idleSince = now;
        free++;
        break;
      }
      case 'recheck':
        break;
      case 'tick': {
        const out = decide({
          now,
          actions,
          config: ctl!,
          queues: [
            {
              skill: SKILL_GENERAL,
              line: '12345',
              short: windowOf(ctl!.shortWindowSec),
              long: windowOf(ctl!.longWindowSec),
              regularStaffed: s.regular,
              lendableStaffed: s.peak,
              waiting: waiting.size,
            },
          ],
        });
        actions = out.actions;
        const t = tuningFor(actions, SKILL_GENERAL, []);
        const newLevel = t?.level ?? 0;
        if (newLevel !== level) {
          setLevelTime(now);
          if (now >= warmMs && now < endMs) levelChanges++;
          level = newLevel;
          rule = applyTuning(staticRule, t);
          config.rules = { [SKILL_GENERAL]: rule };
          // calls already waiting reach the new wait threshold at their own time
          if (rule.overflowAfterSec !== undefined) {
            for (const w of waiting.values()) {
              const at = w.call.joinedAt + rule.overflowAfterSec * 1000;
              if (at > now) heap.push({ t: at, kind: 'recheck' });
            }
          }
        }
        if (now < endMs || countedWaiting > 0) heap.push({ t: now + tickMs, kind: 'tick' });
        break;
      }
    }
    dispatch();
  }
  for (const [id, from] of busyFrom) if (byId.get(id)!.peak) peakBusyMs += clip(from, now);
  setLevelTime(now);
  const countedMs = Math.max(1, Math.min(now, endMs) - warmMs);
  const result: AcdSimResult = {
    offered,
    answered,
    abandoned,
    waiting: countedWaiting,
    answerRate: offered ? answered / offered : 0,
    abandonRate: offered ? abandoned / offered : 0,
    asa: answered ? waitSum / answered / 1000 : 0,
    serviceLevel: offered ? answeredInSl / offered : 0,
    answeredByPeak,
    routeCalls,
    simulatedHours: now / 3600_000,
    peakBusyShare: s.peak > 0 ? peakBusyMs / (s.peak * countedMs) : 0,
  };
  if (ctl) {
    result.levelShare = levelMs.map((ms) => ms / countedMs);
    result.levelChanges = levelChanges;
  }
  return result;
}
