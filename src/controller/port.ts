/**
 * What the ACD router and the call path read of the controller's actions: one small port, consulted
 * synchronously at each decision (the router run, a caller's callback offer and announcement). The
 * runner keeps an in-memory copy fresh on every instance; without a controller the port is absent and
 * the static configuration applies.
 */
import type { QueueRule } from '../acd/model.js';
import { LEVELS, type ControllerActions } from './model.js';

/** The controller's tuning of one queue. Every field only ever makes the static rule more generous. */
export interface QueueTuning {
  level: number;
  overflowQueueLength?: number;
  overflowAfterSec?: number;
  /** Seat groups whose seats may take this queue's overflowed calls (like peak seats). */
  lendGroups: string[];
  callbackOfferAfterSec?: number;
  /** Position announcements reduced to the callback offer (or skipped when none may be offered). */
  shortAnnouncements: boolean;
}

export interface ControllerPort {
  /** The tuning of a queue (skill), undefined when the static rule applies. */
  tuning(skill: string): QueueTuning | undefined;
}

/** The tuning of a queue under the given actions. */
export function tuningFor(actions: ControllerActions, skill: string, lendGroups: readonly string[]): QueueTuning | undefined {
  const a = actions.queues[skill];
  if (!a || a.level <= 0) return undefined;
  const effect = LEVELS[Math.min(a.level, LEVELS.length - 1)]!;
  const t: QueueTuning = { level: a.level, lendGroups: effect.lendGroups ? [...lendGroups] : [], shortAnnouncements: effect.shortAnnouncements };
  if (effect.overflowQueueLength !== undefined) t.overflowQueueLength = effect.overflowQueueLength;
  if (effect.overflowAfterSec !== undefined) t.overflowAfterSec = effect.overflowAfterSec;
  if (effect.callbackOfferAfterSec !== undefined) t.callbackOfferAfterSec = effect.callbackOfferAfterSec;
  return t;
}

/**
 * The rule the router uses under a tuning: thresholds lowered to the tuning's (never raised, never
 * below 0). A rule without overflow (no peak seats for that skill) gets it only from the tuning.
 */
export function applyTuning(rule: QueueRule, t: QueueTuning | undefined): QueueRule {
  if (!t) return rule;
  const out: QueueRule = { ...rule };
  const lower = (cur: number | undefined, v: number | undefined): number | undefined =>
    v === undefined ? cur : Math.max(0, cur === undefined ? v : Math.min(cur, v));
  const oa = lower(rule.overflowAfterSec, t.overflowAfterSec);
  const oq = lower(rule.overflowQueueLength, t.overflowQueueLength);
  if (oa !== undefined) out.overflowAfterSec = oa;
  if (oq !== undefined) out.overflowQueueLength = oq;
  return out;
}

/** The earlier of the configured callback offer and the tuning's (0 configured = never: stays never). */
export function callbackOfferAfter(configured: number, t: QueueTuning | undefined): number {
  if (configured <= 0 || t?.callbackOfferAfterSec === undefined) return configured;
  return Math.max(1, Math.min(configured, t.callbackOfferAfterSec));
}

/**
 * Seconds until a waiting caller's next position announcement: the configured interval, except that
 * an announcement falls exactly when the callback offer becomes allowed (earlier under the
 * controller), so the caller hears the offer then. 0 = announcements off.
 */
export function nextAnnouncementSec(everySec: number, callbackAfterSec: number, waitedSec: number): number {
  if (everySec <= 0) return 0;
  if (callbackAfterSec > 0 && waitedSec < callbackAfterSec && callbackAfterSec < waitedSec + everySec) {
    return Math.max(1, callbackAfterSec - waitedSec);
  }
  return everySec;
}
