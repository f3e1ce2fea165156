/**
 * The answer-rate controller's data: sliding-window counts, the forecast, the action levels, the
 * controller's configuration and its decision log entries. Plain data and pure helpers only.
 *
 * @remarks
 * The controller acts per queue (a skill: `general` is line 12345's queue, an expert line's queue is
 * named after its number), because the overflow rule it tunes is per skill. Each queue's target is
 * its line's (`targets`, default `target` = 98 %).
 *
 * Actions come as a ladder of levels, each bounded (thresholds are only ever lowered towards the
 * level's values, never below 0; `maxLevel` caps the ladder) and reversible (level 0 is the static
 * rule, nothing overridden):
 *
 * | level | overflow: more than N waiting / waited S s | callback offered after | announcements | support seats lent | supervisors asked |
 * |-------|------------------------------------------|------------------------|---------------|--------------------|-------------------|
 * | 0     | the static rule (e.g. 20 / 90 s)          | configured (60 s)      | full          | no                 | no                |
 * | 1     | 10 / 45 s                                 | 45 s                   | full          | no                 | no                |
 * | 2     | 4 / 20 s                                  | 30 s                   | short         | no                 | no                |
 * | 3     | 0 / 0 s (any call a regular seat cannot take now) | 20 s           | short         | yes                | yes               |
 */

/** Counters of one queue (or line, or group) over a window. Waits and talk times in ms. */
export interface WindowCounts {
  offered: number;
  answered: number;
  abandoned: number;
  waitAnsweredMs: number;
  waitAbandonedMs: number;
  /** Calls whose talk ended, and their talk time (handle time = talk + wrap-up). */
  ended: number;
  talkMs: number;
}

export const COUNT_FIELDS = ['offered', 'answered', 'abandoned', 'waitAnsweredMs', 'waitAbandonedMs', 'ended', 'talkMs'] as const;

export function emptyCounts(): WindowCounts {
  return { offered: 0, answered: 0, abandoned: 0, waitAnsweredMs: 0, waitAbandonedMs: 0, ended: 0, talkMs: 0 };
}

export function addCounts(a: WindowCounts, b: Partial<WindowCounts>): WindowCounts {
  const out = { ...a };
  for (const f of COUNT_FIELDS) out[f] += b[f] ?? 0;
  return out;
}

/** What the wallboard shows of a window. */
export interface WindowFigures {
  windowSec: number;
  offered: number;
  answered: number;
  abandoned: number;
  /** answered / (answered + abandoned); 1 when nothing settled. */
  answerRate: number;
  abandonRate: number;
  asaSec: number;
}

export function figures(c: WindowCounts, windowSec: number): WindowFigures {
  const settled = c.answered + c.abandoned;
  return {
    windowSec,
    offered: c.offered,
    answered: c.answered,
    abandoned: c.abandoned,
    answerRate: settled ? c.answered / settled : 1,
    abandonRate: settled ? c.abandoned / settled : 0,
    asaSec: c.answered ? Math.round(c.waitAnsweredMs / c.answered) / 1000 : 0,
  };
}

/** One controlled queue as the runner (or the bench) sees it at a tick. */
export interface QueueObservation {
  skill: string;
  /** The line whose target applies (`general` → 12345). */
  line: string;
  /** Counts over the short and the long window. */
  short: WindowCounts;
  long: WindowCounts;
  /** Regular seats with the skill that are staffed (logged in, registered, not paused). */
  regularStaffed: number;
  /** Staffed seats the controller can bring in: peak seats (and lent groups) able to take the skill. */
  lendableStaffed: number;
  /** Calls waiting now. */
  waiting: number;
}

export interface Forecast {
  arrivalsPerHour: number;
  /** One Poisson standard deviation below / above (the short window's surge raises the low bound). */
  arrivalsPerHourLow: number;
  arrivalsPerHourHigh: number;
  handleSec: number;
  patienceSec: number;
  regularSeats: number;
  lendableSeats: number;
  /** Erlang-A answer rate on the regular seats alone (the static rule's seats). */
  answerRateRegular: number;
  /** The same at the low and the high arrival bound: engaging needs the first short, releasing the second safe. */
  answerRateRegularLowLoad: number;
  answerRateRegularHighLoad: number;
  /** Erlang-A answer rate with the lendable seats pooled in (the most the ladder can buy). */
  answerRatePooled: number;
  asaRegularSec: number;
  asaPooledSec: number;
}

/** The effect of one level on a queue. Undefined fields: the static configuration applies. */
export interface LevelEffect {
  overflowQueueLength?: number;
  overflowAfterSec?: number;
  callbackOfferAfterSec?: number;
  shortAnnouncements: boolean;
  lendGroups: boolean;
  alert: boolean;
}

export const LEVELS: readonly LevelEffect[] = [
  { shortAnnouncements: false, lendGroups: false, alert: false },
  { overflowQueueLength: 10, overflowAfterSec: 45, callbackOfferAfterSec: 45, shortAnnouncements: false, lendGroups: false, alert: false },
  { overflowQueueLength: 4, overflowAfterSec: 20, callbackOfferAfterSec: 30, shortAnnouncements: true, lendGroups: false, alert: false },
  { overflowQueueLength: 0, overflowAfterSec: 0, callbackOfferAfterSec: 20, shortAnnouncements: true, lendGroups: true, alert: true },
];
export const MAX_LEVEL = LEVELS.length - 1;

export interface ControllerConfig {
  enabled: boolean;
  /** Default target answer rate (0.98). */
  target: number;
  /** Per line target, e.g. `{ '12333': 0.95 }`. */
  targets: Record<string, number>;
  shortWindowSec: number;
  longWindowSec: number;
  /** Release only once the regular seats alone forecast at least target + this. */
  releaseMargin: number;
  /** … for this long (and the level held at least this long): one step down per hold. */
  releaseHoldSec: number;
  /** Least time between two steps up. */
  upDwellSec: number;
  /** The highest level the controller may take (0–3). */
  maxLevel: number;
  /** Below this many calls offered in the long window the forecast is not trusted for stepping up. */
  minCalls: number;
  /** Priors blended into the estimates (a handful of pseudo-calls), and the wrap-up added to talk time. */
  priorHandleSec: number;
  priorPatienceSec: number;
  wrapUpSec: number;
  /** Seat groups lent at level 3 (e.g. `support`): they take overflowed calls like peak seats. */
  lendGroups: string[];
}

export function defaultControllerConfig(overrides: Partial<ControllerConfig> = {}): ControllerConfig {
  return {
    enabled: true,
    target: 0.98,
    targets: {},
    shortWindowSec: 300,
    longWindowSec: 900,
    releaseMargin: 0.005,
    releaseHoldSec: 300,
    upDwellSec: 30,
    maxLevel: MAX_LEVEL,
    minCalls: 20,
    priorHandleSec: 210,
    priorPatienceSec: 60,
    wrapUpSec: 30,
    lendGroups: [],
    ...overrides,
  };
}

/** A queue's current action. */
export interface QueueAction {
  skill: string;
  level: number;
  /** Epoch ms the level was taken. */
  since: number;
  /** Epoch ms since which the release condition has held (absent: it does not). */
  safeSince?: number;
}

export interface ControllerActions {
  queues: Record<string, QueueAction>;
  /** Skills for which supervisors are asked to move agents to available. */
  alerts: string[];
  updatedAt: number;
}

export function noActions(now = 0): ControllerActions {
  return { queues: {}, alerts: [], updatedAt: now };
}

export interface QueueDecision {
  skill: string;
  line: string;
  target: number;
  inputs: {
    short: WindowFigures;
    long: WindowFigures;
    waiting: number;
    regularStaffed: number;
    lendableStaffed: number;
  };
  forecast: Forecast;
  levelBefore: number;
  levelAfter: number;
  alert: boolean;
  /** Why, in a word: engage, step-up, release, hold, disabled, no-data … */
  why: string;
}

export interface DecisionLogEntry {
  at: number;
  enabled: boolean;
  /** Whether any level or alert changed. */
  changed: boolean;
  queues: QueueDecision[];
}

/** The line whose target a queue follows: `general` is 12345's own queue; an expert queue is named after its line. */
export function lineOfSkill(skill: string): string {
  return skill === 'general' ? '12345' : skill;
}
