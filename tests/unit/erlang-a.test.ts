import { describe, expect, it } from 'vitest';
import { erlangA, erlangC, stationary } from '../../bench/erlang-a.js';

describe('Erlang C (the θ → 0 limit)', () => {
  it('matches the textbook value C(3 agents, 2 Erlangs) = 4/9', () => {
    expect(erlangC(3, 2)).toBeCloseTo(4 / 9, 12);
  });

  it('matches the Erlang B recursion value C(10, 8) ≈ 0.4092', () => {
    // B(10, 8) = 0.12166; C = nB / (n − a(1 − B)).
    expect(erlangC(10, 8)).toBeCloseTo(0.40918, 4);
  });
});

describe('Erlang-A (M/M/n+M)', () => {
  it('GIVEN patience → ∞ THEN P(wait), ASA and service level converge to Erlang C', () => {
    const mu = 1 / 240;
    const n = 3;
    const lambda = 2 * mu; // 2 Erlangs
    const r = erlangA({ lambda, mu, theta: 1e-12, n, slSec: 20 });
    const c = 4 / 9;
    expect(r.pWait).toBeCloseTo(c, 6);
    expect(r.pAbandon).toBeLessThan(1e-6);
    const meanWq = c / (n * mu - lambda);
    expect(r.asa).toBeCloseTo(meanWq, 2);
    expect(r.serviceLevel).toBeCloseTo(1 - c * Math.exp(-(n * mu - lambda) * 20), 6);
  });

  it('GIVEN a large centre and long patience THEN it agrees with Erlang C on 114 agents', () => {
    const mu = 1 / 240;
    const n = 114;
    const lambda = 100 * mu;
    const r = erlangA({ lambda, mu, theta: 1e-12, n });
    const c = erlangC(n, 100);
    expect(r.pWait).toBeCloseTo(c, 6);
    expect(r.asa).toBeCloseTo(c / (n * mu - lambda), 2);
  });

  it('GIVEN θ = μ THEN the number in system is Poisson(λ/μ) (death rate j·μ in every state)', () => {
    const mu = 1 / 60;
    const lambda = 12 * mu;
    const pi = stationary({ lambda, mu, theta: mu, n: 10 });
    let p = Math.exp(-12);
    for (let j = 0; j < 30; j++) {
      if (j > 0) p *= 12 / j;
      expect(pi[j]).toBeCloseTo(p, 10);
    }
  });

  it('GIVEN any load THEN the abandonment seen by the tagged caller equals θ·E[queue]/λ (Little)', () => {
    for (const [lambdaPerHour, n] of [
      [1500, 139],
      [2100, 139],
      [3000, 139],
      [20, 2],
    ] as const) {
      const r = erlangA({ lambda: lambdaPerHour / 3600, mu: 1 / 240, theta: 1 / 60, n });
      expect(r.pAbandon).toBeCloseTo(((1 / 60) * r.meanQueue) / (lambdaPerHour / 3600), 8);
      expect(r.answerRate + r.pAbandon).toBeCloseTo(1, 12);
      expect(r.serviceLevel).toBeLessThanOrEqual(r.answerRate + 1e-12);
      expect(r.serviceLevel).toBeGreaterThanOrEqual(1 - r.pWait - 1e-12);
    }
  });

  it('GIVEN heavy overload THEN the served rate approaches n·μ (throughput capped by the agents)', () => {
    const mu = 1 / 240;
    const n = 50;
    const lambda = 10 * n * mu;
    const r = erlangA({ lambda, mu, theta: 1 / 60, n });
    expect(r.answerRate * lambda).toBeGreaterThan(0.99 * n * mu);
    expect(r.answerRate * lambda).toBeLessThanOrEqual(n * mu * (1 + 1e-9));
    expect(r.occupancy).toBeGreaterThan(0.99);
  });

  it('GIVEN a single agent with θ = μ THEN P(abandon) has the closed form 1 − (1 − e^{−a})/a', () => {
    // M/M/1+M with θ = μ: N ~ Poisson(a); served rate = μ·P(N ≥ 1) = μ(1 − e^{−a}); answer rate = that / λ.
    const mu = 1 / 100;
    const a = 1.5;
    const r = erlangA({ lambda: a * mu, mu, theta: mu, n: 1 });
    expect(r.answerRate).toBeCloseTo((1 - Math.exp(-a)) / a, 10);
  });
});
