/**
 * Erlang-A (M/M/n+M, Palm 1946; Mandelbaum & Zeltyn): Poisson arrivals (rate λ), n servers with
 * exponential service (rate μ each), callers who abandon after an exponential patience (rate θ).
 *
 * The number of calls in the system is a birth–death process with birth rate λ and death rate
 * min(j, n)·μ + (j − n)⁺·θ; its stationary law is computed directly (log-space, truncated where the
 * tail is negligible). By PASTA an arrival sees that law. A caller who finds q others waiting is
 * served after q + 1 "moves" of the queue ahead of it (each move at rate n·μ + k·θ with k ahead), unless
 * its own patience (rate θ) runs out first; the time to be served within t is obtained for every q at
 * once by uniformization of that small absorbing chain.
 *
 * All times are in seconds; rates per second.
 */

export interface ErlangAInput {
  /** Arrival rate λ (calls per second). */
  lambda: number;
  /** Service rate μ per agent (1 / mean handle time). */
  mu: number;
  /** Abandonment rate θ (1 / mean patience); 0 gives Erlang C (then λ < n·μ is required). */
  theta: number;
  /** Number of agents n. */
  n: number;
  /** Service-level threshold in seconds (default 20). */
  slSec?: number;
}

export interface ErlangAResult {
  /** Probability an arrival has to wait (all agents busy). */
  pWait: number;
  /** Fraction of offered calls that abandon. */
  pAbandon: number;
  /** Fraction of offered calls that are answered (1 − pAbandon). */
  answerRate: number;
  /** Average speed of answer: mean wait of answered calls (s). */
  asa: number;
  /** Mean wait of all calls, abandoned ones counted until they hang up (s). */
  meanWaitAll: number;
  /** Fraction of offered calls answered within slSec. */
  serviceLevel: number;
  /** Mean number of calls waiting. */
  meanQueue: number;
  /** Agent occupancy (busy agents / n). */
  occupancy: number;
}

/** Stationary distribution π_j of the number in system (j = 0 … length−1). */
export function stationary(inp: ErlangAInput): number[] {
  const { lambda, mu, theta, n } = inp;
  if (theta <= 0 && lambda >= n * mu) throw new Error('Erlang C (θ = 0) needs λ < n·μ');
  const logp: number[] = [0];
  let max = 0;
  for (let j = 1; ; j++) {
    const death = Math.min(j, n) * mu + Math.max(0, j - n) * theta;
    const v = logp[j - 1]! + Math.log(lambda) - Math.log(death);
    logp.push(v);
    if (v > max) max = v;
    // Past the mode (j > n or the birth rate below the death rate) and 40 nats below the maximum: done.
    if (death > lambda && j > n && v < max - 40) break;
    if (j > 1_000_000) throw new Error('Erlang-A: state space too large');
  }
  let sum = 0;
  const p = logp.map((v) => {
    const x = Math.exp(v - max);
    sum += x;
    return x;
  });
  return p.map((x) => x / sum);
}

/** Poisson weights e^{-m} m^k / k! for k = 0 … until the tail is negligible. */
function poissonWeights(m: number): number[] {
  const w: number[] = [];
  // Computed in log space to survive large m.
  let logw = -m;
  let total = 0;
  for (let k = 0; ; k++) {
    if (k > 0) logw += Math.log(m) - Math.log(k);
    const v = Math.exp(logw);
    w.push(v);
    total += v;
    if (k > m && (v < 1e-16 || total > 1 - 1e-15)) break;
    if (k > 10 * m + 1000) break;
  }
  return w;
}

export function erlangA(inp: ErlangAInput): ErlangAResult {
  const { lambda, mu, theta, n } = inp;
  const t = inp.slSec ?? 20;
  const pi = stationary(inp);
  let pWait = 0;
  let meanQueue = 0;
  let busy = 0;
  for (let j = 0; j < pi.length; j++) {
    if (j >= n) pWait += pi[j]!;
    meanQueue += Math.max(0, j - n) * pi[j]!;
    busy += Math.min(j, n) * pi[j]!;
  }
  const qMax = Math.max(0, pi.length - n);
  // For an arrival who finds q waiting: P(served), E[wait · 1{served}], E[min(V, τ)].
  let pAbandon = 0;
  let waitServedSum = 0;
  let waitAllSum = 0;
  let pServedWaiting = 0;
  const served: number[] = new Array(qMax).fill(0);
  for (let q = 0; q < qMax; q++) {
    let prod = 1;
    let sumInv = 0;
    for (let k = 0; k <= q; k++) {
      const r = n * mu + k * theta;
      prod *= r / (r + theta);
      sumInv += 1 / (r + theta);
    }
    const w = pi[n + q]!;
    served[q] = prod;
    pServedWaiting += w * prod;
    pAbandon += w * (1 - prod);
    waitServedSum += w * prod * sumInv;
    // Time spent waiting until served or abandoned: a phase-type with exit at rate r_k + θ from each
    // stage; E = Σ_k (probability of reaching stage k) / (r_k + θ).
    let reach = 1;
    let e = 0;
    for (let k = q; k >= 0; k--) {
      const r = n * mu + k * theta;
      e += reach / (r + theta);
      reach *= r / (r + theta);
    }
    waitAllSum += w * e;
  }
  // Served within t, by uniformization of the tagged caller's chain: stages k = q … 0, from stage k
  // to k−1 (or "served" from 0) at rate r_k = nμ + kθ, to "abandoned" at rate θ.
  let slWaiting = 0;
  if (qMax > 0) {
    const L = n * mu + (qMax - 1) * theta + theta;
    const weights = poissonWeights(L * t);
    // u[k] = P(served within m jumps | start in stage k); updated jump by jump.
    let u = new Array<number>(qMax).fill(0);
    const withinT = new Array<number>(qMax).fill(0);
    for (let m = 0; m < weights.length; m++) {
      for (let k = 0; k < qMax; k++) withinT[k]! += weights[m]! * u[k]!;
      const next = new Array<number>(qMax);
      for (let k = 0; k < qMax; k++) {
        const r = n * mu + k * theta;
        const down = k === 0 ? 1 : u[k - 1]!;
        next[k] = (r / L) * down + (1 - (r + theta) / L) * u[k]!;
      }
      u = next;
    }
    for (let q = 0; q < qMax; q++) slWaiting += pi[n + q]! * withinT[q]!;
  }
  const answerRate = 1 - pAbandon;
  return {
    pWait,
    pAbandon,
    answerRate,
    asa: answerRate > 0 ? waitServedSum / answerRate : 0,
    meanWaitAll: waitAllSum,
    serviceLevel: 1 - pWait + slWaiting,
    meanQueue,
    occupancy: busy / n,
  };
}

/** Erlang C probability of waiting (M/M/n, a = λ/μ < n), via the Erlang B recursion. */
export function erlangC(n: number, a: number): number {
  let b = 1;
  for (let k = 1; k <= n; k++) b = (a * b) / (k + a * b);
  return (n * b) / (n - a * (1 - b));
}

/**
 * The largest arrival rate (calls per hour) whose answer rate is at least `target`, by bisection on
 * a monotone (or nearly monotone) function `answerRate(callsPerHour)`.
 */
export async function bisectVolume(
  answerRate: (callsPerHour: number) => number | Promise<number>,
  target: number,
  lo: number,
  hi: number,
  tolerance = 1,
): Promise<number> {
  if ((await answerRate(lo)) < target) return lo;
  while (hi - lo > tolerance) {
    const mid = (lo + hi) / 2;
    if ((await answerRate(mid)) >= target) lo = mid;
    else hi = mid;
  }
  return lo;
}
