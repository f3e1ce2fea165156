/**
 * The answer-rate controller's pure core: `(observations, current actions, config, now) → (actions,
 * decision log entry)`. No I/O and no clock; the runner (runner.ts) and the bench feed it.
 *
 * @remarks
 * Forecast: Erlang-A (M/M/n+M) from the last minutes — arrival rate from the long window, with a
 * low and a high bound one Poisson standard deviation away (the low bound raised by a surge the short
 * window already shows), handle time = talk + wrap-up (bounded one standard error either way), patience =
 * waiting time per abandon (the exponential patience's maximum-likelihood estimate), each blended
 * with a prior worth a few calls so that a quiet window does not swing it.
 *
 * Decision per queue, with hysteresis in level and in time:
 * - engage / step up when the regular seats alone forecast below the target even at the low-load
 *   bound (so noise at a safe load does not pull peak seats in), to the level the
 *   shortfall calls for (< 1 pp → 1, < 3 pp → 2, else 3), or one level further when the observed
 *   short-window rate is still below target at the current level; at most one change per `upDwellSec`;
 * - release one step down only when the regular seats alone forecast at least target + releaseMargin
 *   at the high-load bound
 *   (and the observed rate is not below target) for `releaseHoldSec`, and the level has been held that long;
 * - otherwise hold. Switched off: every queue back to level 0 at once.
 * Supervisors are alerted (move agents to available) when even pooling every lendable seat forecasts
 * below target, or the top level is reached and the observed rate is still below.
 */
import { erlangA } from './erlang-a.js';
import {
  figures,
  LEVELS,
  type ControllerActions,
  type ControllerConfig,
  type DecisionLogEntry,
  type Forecast,
  type QueueAction,
  type QueueDecision,
  type QueueObservation,
} from './model.js';

/** Pseudo-calls of prior weight for the handle-time and patience estimates. */
const PRIOR_WEIGHT = 5;
/** The short window's rate is believed once it has this many calls. */
const SHORT_MIN_CALLS = 30;
/** Standard deviations of the Poisson count between the point estimate and the bounds. */
const Z = 1;
/** The short window has few calls: its surge must stand out by two deviations to count. */
const Z_SHORT = 2;

function answerRateOf(lambda: number, mu: number, theta: number, n: number): { answerRate: number; asa: number } {
  if (lambda <= 0) return { answerRate: 1, asa: 0 };
  if (n <= 0) return { answerRate: 0, asa: 0 };
  const r = erlangA({ lambda, mu, theta, n });
  return { answerRate: r.answerRate, asa: r.asa };
}

export function forecastQueue(obs: QueueObservation, cfg: ControllerConfig): Forecast {
  // Arrival rate: the long window's, bounded by one Poisson standard deviation either way; a surge
  // in the short window raises the optimistic bound once it has enough calls to be believed.
  const n = obs.long.offered;
  const lambda = n / cfg.longWindowSec;
  let lambdaLow = Math.max(0, n - Z * Math.sqrt(n)) / cfg.longWindowSec;
  const lambdaHigh = (n + Z * Math.sqrt(Math.max(n, 1))) / cfg.longWindowSec;
  const m = obs.short.offered;
  if (m >= SHORT_MIN_CALLS) lambdaLow = Math.max(lambdaLow, (m - Z_SHORT * Math.sqrt(m)) / cfg.shortWindowSec);
  const talkSec = (obs.long.talkMs / 1000 + PRIOR_WEIGHT * Math.max(1, cfg.priorHandleSec - cfg.wrapUpSec)) / (obs.long.ended + PRIOR_WEIGHT);
  const handleSec = talkSec + cfg.wrapUpSec;
  const waitedSec = (obs.long.waitAnsweredMs + obs.long.waitAbandonedMs) / 1000;
  const patienceSec = (waitedSec + PRIOR_WEIGHT * cfg.priorPatienceSec) / (obs.long.abandoned + PRIOR_WEIGHT);
  const mu = 1 / handleSec;
  const theta = 1 / patienceSec;
  // Handle time is an average of ~exponential talk times: its bounds one standard error away, so that
  // a run of long calls at a safe load is not taken for a higher load either.
  const se = Z / Math.sqrt(obs.long.ended + PRIOR_WEIGHT);
  const muHigh = 1 / (talkSec * Math.max(0.5, 1 - se) + cfg.wrapUpSec);
  const muLow = 1 / (talkSec * (1 + se) + cfg.wrapUpSec);
  const reg = answerRateOf(lambda, mu, theta, obs.regularStaffed);
  const pooled = answerRateOf(lambda, mu, theta, obs.regularStaffed + obs.lendableStaffed);
  return {
    arrivalsPerHour: round(lambda * 3600, 1),
    arrivalsPerHourLow: round(lambdaLow * 3600, 1),
    arrivalsPerHourHigh: round(lambdaHigh * 3600, 1),
    handleSec: round(handleSec, 1),
    patienceSec: round(patienceSec, 1),
    regularSeats: obs.regularStaffed,
    lendableSeats: obs.lendableStaffed,
    answerRateRegular: round(reg.answerRate, 5),
    answerRateRegularLowLoad: round(answerRateOf(lambdaLow, muHigh, theta, obs.regularStaffed).answerRate, 5),
    answerRateRegularHighLoad: round(answerRateOf(lambdaHigh, muLow, theta, obs.regularStaffed).answerRate, 5),
    answerRatePooled: round(pooled.answerRate, 5),
    asaRegularSec: round(reg.asa, 1),
    asaPooledSec: round(pooled.asa, 1),
  };
}

/** The level a shortfall (target − forecast on regular seats) calls for. */
export function levelForShortfall(shortfall: number): number {
  if (shortfall <= 0) return 0;
  if (shortfall < 0.01) return 1;
  if (shortfall < 0.03) return 2;
  return 3;
}

export interface DecideInput {
  now: number;
  queues: QueueObservation[];
  actions: ControllerActions;
  config: ControllerConfig;
}

export interface DecideOutput {
  actions: ControllerActions;
  entry: DecisionLogEntry;
}

export function targetOf(line: string, cfg: ControllerConfig): number {
  return cfg.targets[line] ?? cfg.target;
}

export function decide({ now, queues, actions, config: cfg }: DecideInput): DecideOutput {
  const maxLevel = Math.max(0, Math.min(cfg.maxLevel, LEVELS.length - 1));
  const next: Record<string, QueueAction> = {};
  const decisions: QueueDecision[] = [];
  const alerts: string[] = [];
  let changed = false;
  const seen = new Set<string>();
  for (const obs of queues) {
    seen.add(obs.skill);
    const target = targetOf(obs.line, cfg);
    const f = forecastQueue(obs, cfg);
    const cur = actions.queues[obs.skill];
    const before = Math.min(cur?.level ?? 0, maxLevel);
    const since = cur?.since ?? 0;
    const short = figures(obs.short, cfg.shortWindowSec);
    const settledShort = obs.short.answered + obs.short.abandoned;
    const observedLow = settledShort >= SHORT_MIN_CALLS && short.answerRate < target;
    let level = before;
    let safeSince: number | undefined;
    let why: string;
    if (!cfg.enabled) {
      level = 0;
      why = 'disabled';
    } else {
      // Engage only when even the low-load bound falls short; release only when the high-load bound is safe.
      const shortfall = target - f.answerRateRegularLowLoad;
      const trusted = obs.long.offered >= cfg.minCalls;
      let wanted = trusted ? levelForShortfall(shortfall) : 0;
      if (trusted && observedLow && before > 0 && wanted <= before) wanted = before + 1;
      wanted = Math.min(wanted, maxLevel);
      const safe = f.answerRateRegularHighLoad >= target + cfg.releaseMargin && !observedLow;
      if (wanted > before) {
        if (before === 0 || now - since >= cfg.upDwellSec * 1000) {
          level = wanted;
          why = before === 0 ? 'engage' : 'step-up';
        } else why = 'hold:dwell';
      } else if (before > 0 && safe) {
        safeSince = cur?.safeSince ?? now;
        const hold = cfg.releaseHoldSec * 1000;
        if (now - safeSince >= hold && now - since >= hold) {
          level = before - 1;
          // the next step down waits a full hold again
          safeSince = level > 0 ? now : undefined;
          why = 'release';
        } else why = 'hold:release-pending';
      } else {
        why = before > 0 ? 'hold' : trusted ? 'safe' : 'no-data';
      }
    }
    const alert =
      cfg.enabled &&
      obs.long.offered >= cfg.minCalls &&
      (f.answerRatePooled < target || (level === maxLevel && maxLevel > 0 && observedLow));
    if (alert) alerts.push(obs.skill);
    if (level !== before) changed = true;
    if (level > 0) {
      const a: QueueAction = { skill: obs.skill, level, since: level !== before ? now : since };
      if (safeSince !== undefined) a.safeSince = safeSince;
      next[obs.skill] = a;
    }
    decisions.push({
      skill: obs.skill,
      line: obs.line,
      target,
      inputs: {
        short,
        long: figures(obs.long, cfg.longWindowSec),
        waiting: obs.waiting,
        regularStaffed: obs.regularStaffed,
        lendableStaffed: obs.lendableStaffed,
      },
      forecast: f,
      levelBefore: before,
      levelAfter: level,
      alert,
      why,
    });
  }
  // A queue with an action but no observation (its skill no longer controlled): give its seats back.
  for (const [skill, a] of Object.entries(actions.queues)) {
    if (seen.has(skill) || a.level === 0) continue;
    changed = true;
    decisions.push({
      skill,
      line: skill,
      target: targetOf(skill, cfg),
      inputs: {
        short: figures({ offered: 0, answered: 0, abandoned: 0, waitAnsweredMs: 0, waitAbandonedMs: 0, ended: 0, talkMs: 0 }, cfg.shortWindowSec),
        long: figures({ offered: 0, answered: 0, abandoned: 0, waitAnsweredMs: 0, waitAbandonedMs: 0, ended: 0, talkMs: 0 }, cfg.longWindowSec),
        waiting: 0,
        regularStaffed: 0,
        lendableStaffed: 0,
      },
      forecast: {
        arrivalsPerHour: 0,
        arrivalsPerHourLow: 0,
        arrivalsPerHourHigh: 0,
        answerRateRegularLowLoad: 1,
        answerRateRegularHighLoad: 1,
        handleSec: 0,
        patienceSec: 0,
        regularSeats: 0,
        lendableSeats: 0,
        answerRateRegular: 1,
        answerRatePooled: 1,
        asaRegularSec: 0,
        asaPooledSec: 0,
      },
      levelBefore: a.level,
      levelAfter: 0,
      alert: false,
      why: 'not-controlled',
    });
  }
  alerts.sort();
  if (alerts.join(',') !== [...actions.alerts].sort().join(',')) changed = true;
  return {
    actions: { queues: next, alerts, updatedAt: now },
    entry: { at: now, enabled: cfg.enabled, changed, queues: decisions },
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
