/**
 * The pure decision core of the ACD: `(snapshot, now) → decisions`.
 *
 * @remarks
 * No I/O and no clock: the Redis layer builds a {@link RouterSnapshot} of the
 * global state (every instance's calls and every agent), asks {@link route}
 * for decisions, and applies each one with an atomic compare-and-set script
 * that refuses a decision whose call or agent changed in the meantime.
 *
 * Order of service: highest priority first, then earliest join time (a
 * callback keeps the caller's original join time), then call id.
 * Choice of agent, in tiers — the first tier with a free agent wins and within
 * a tier the longest-idle agent (smallest `idleSince`) is chosen:
 * 1. regular (non-peak) agents with the needed skill at or above the rule's level;
 * 2. after `fallbackAfterSec`: regular agents with one of the fallback skills;
 * 3. when the call overflows (waited `overflowAfterSec`, or more than
 *    `overflowQueueLength` calls wait for the skill): peak seats with the
 *    needed skill or one of the overflow skills, and seats of groups the
 *    answer-rate controller lent to the queue (`config.lend`).
 */
import { ruleFor, type QueueRule } from './model.js';

export interface WaitingCall {
  callId: string;
  skill: string;
  /** Overrides the rule's level (e.g. an expert question that needs level ≥ 3). */
  minLevel?: number;
  priority: number;
  /** Epoch ms; for callbacks, the original join time. */
  joinedAt: number;
  language?: string;
  /** Not offered before this time (callback retry delay). */
  notBefore?: number;
  /** Agents who missed this call, with the time of the miss. */
  missedBy?: Record<string, number>;
  callback?: boolean;
}

export interface RouterAgent {
  id: string;
  /** Only `available` agents are candidates; the others are listed for completeness. */
  available: boolean;
  /** Epoch ms since which the agent has been idle. */
  idleSince: number;
  skills: Record<string, number>;
  /** A peak-hour emergency seat: takes overflowed calls only. */
  peak: boolean;
  /** Seat group ids (for seats the answer-rate controller lends to a queue). */
  groups?: string[];
}

export interface RouterSnapshot {
  /** Calls waiting and not currently offered. */
  calls: WaitingCall[];
  agents: RouterAgent[];
  /** Calls waiting per skill, including those being offered (for the queue-length overflow). */
  queueLength: Record<string, number>;
  config: {
    rules: Record<string, QueueRule>;
    defaultRule: QueueRule;
    missExcludeSec: number;
    languageSkills: Record<string, string>;
    /**
     * Seat groups lent to a queue (skill) by the answer-rate controller: their seats take the
     * queue's overflowed calls like peak seats, when the rule's overflow skills include `general`
     * (general-knowledge calls); absent = none lent.
     */
    lend?: Record<string, string[]>;
  };
}

export type MatchTier = 'primary' | 'fallback' | 'overflow';

export interface Decision {
  callId: string;
  agentId: string;
  tier: MatchTier;
  /** The idleSince the decision was based on (the compare-and-set checks it). */
  agentIdleSince: number;
}

/** Orders calls for service: priority desc, join time asc, id asc. */
export function compareCalls(a: WaitingCall, b: WaitingCall): number {
  return b.priority - a.priority || a.joinedAt - b.joinedAt || (a.callId < b.callId ? -1 : a.callId > b.callId ? 1 : 0);
}

function compareIdle(a: RouterAgent, b: RouterAgent): number {
  return a.idleSince - b.idleSince || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Whether the call has waited long enough to widen to fallback skills. */
export function isFallback(call: WaitingCall, rule: QueueRule, now: number): boolean {
  return rule.fallbackSkills.length > 0 && now - call.joinedAt >= rule.fallbackAfterSec * 1000;
}

/** Whether the call overflows to peak seats, by wait time or queue length. */
export function isOverflow(call: WaitingCall, rule: QueueRule, now: number, queueLength: number): boolean {
  if (rule.overflowAfterSec !== undefined && now - call.joinedAt >= rule.overflowAfterSec * 1000) return true;
  return rule.overflowQueueLength !== undefined && queueLength > rule.overflowQueueLength;
}

/** The tier at which an agent could take a call now, or undefined. */
export function tierFor(call: WaitingCall, agent: RouterAgent, snapshot: RouterSnapshot, now: number): MatchTier | undefined {
  const rule = ruleFor(snapshot.config, call.skill);
  const level = call.minLevel ?? rule.minLevel;
  const fallback = isFallback(call, rule, now);
  // A language skill (e.g. English) is required until the call widens.
  const langSkill = call.language ? snapshot.config.languageSkills[call.language] : undefined;
  if (langSkill && !fallback && !(agent.skills[langSkill] ?? 0)) return undefined;
  const hasPrimary = (agent.skills[call.skill] ?? 0) >= level;
  if (!agent.peak) {
    if (hasPrimary) return 'primary';
    if (fallback && rule.fallbackSkills.some((s) => (agent.skills[s] ?? 0) >= 1)) return 'fallback';
    const lent = snapshot.config.lend?.[call.skill];
    if (
      lent?.length &&
      rule.overflowSkills.includes('general') &&
      agent.groups?.some((g) => lent.includes(g)) &&
      isOverflow(call, rule, now, snapshot.queueLength[call.skill] ?? 0)
    ) {
      return 'overflow';
    }
    return undefined;
  }
  if (!isOverflow(call, rule, now, snapshot.queueLength[call.skill] ?? 0)) return undefined;
  if (hasPrimary || rule.overflowSkills.some((s) => (agent.skills[s] ?? 0) >= 1)) return 'overflow';
  return undefined;
}

const TIER_RANK: Record<MatchTier, number> = { primary: 0, fallback: 1, overflow: 2 };

/**
 * Decides which waiting call goes to which free agent. Each agent and each call appear at most once.
 * An agent who missed this call within `missExcludeSec` is skipped while another agent can take it.
 */
export function route(snapshot: RouterSnapshot, now: number): Decision[] {
  const free = snapshot.agents.filter((a) => a.available).sort(compareIdle);
  const taken = new Set<string>();
  const decisions: Decision[] = [];
  const calls = snapshot.calls.filter((c) => c.notBefore === undefined || c.notBefore <= now).sort(compareCalls);
  for (const call of calls) {
    if (taken.size === free.length) break;
    let best: { agent: RouterAgent; tier: MatchTier; missed: boolean } | undefined;
    for (const agent of free) {
      if (taken.has(agent.id)) continue;
      const tier = tierFor(call, agent, snapshot, now);
      if (!tier) continue;
      const missedAt = call.missedBy?.[agent.id];
      const missed = missedAt !== undefined && now - missedAt < snapshot.config.missExcludeSec * 1000;
      // `free` is sorted by idle time, so the first agent of a better rank wins.
      if (
        !best ||
        Number(missed) < Number(best.missed) ||
        (missed === best.missed && TIER_RANK[tier] < TIER_RANK[best.tier])
      ) {
        best = { agent, tier, missed };
      }
    }
    if (!best) continue;
    taken.add(best.agent.id);
    decisions.push({ callId: call.callId, agentId: best.agent.id, tier: best.tier, agentIdleSince: best.agent.idleSince });
  }
  return decisions;
}

/**
 * 1-based position of a call among the calls waiting for the same skill, in service order.
 * Calls currently being offered count as ahead of it.
 */
export function positionOf(callId: string, calls: WaitingCall[]): number | undefined {
  const me = calls.find((c) => c.callId === callId);
  if (!me) return undefined;
  return calls.filter((c) => c.skill === me.skill && compareCalls(c, me) <= 0).length;
}

/** Expected wait: position × average handling time spread over the staffed agents with the skill. */
export function expectedWaitSec(position: number, staffed: number, averageHandleSec: number): number {
  return Math.ceil((position * averageHandleSec) / Math.max(1, staffed));
}
