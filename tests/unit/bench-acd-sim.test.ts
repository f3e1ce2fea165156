/**
 * Smoke test of the benchmark's ACD discrete-event simulation: it runs, it drives the real router,
 * and every offered call is accounted for. Figures are not asserted here (they are reported by
 * `npm run bench`).
 */
import { describe, expect, it } from 'vitest';
import { simulateAcd } from '../../bench/acd-sim.js';

describe('ACD discrete-event simulation (bench)', () => {
  it('GIVEN a tiny overloaded centre stopped mid-run THEN offered = answered + abandoned + still waiting', () => {
    const r = simulateAcd({ callsPerHour: 120, handleSec: 240, patienceSec: 60, regular: 3, peak: 2, hours: 1, warmupHours: 0, hardStopSec: 2400, seed: 7 });
    expect(r.offered).toBeGreaterThan(0);
    expect(r.answered + r.abandoned + r.waiting).toBe(r.offered);
    expect(r.routeCalls).toBeGreaterThan(0);
  });

  it('GIVEN a run to completion THEN nothing is left waiting and the rates add up', () => {
    const r = simulateAcd({ callsPerHour: 60, handleSec: 120, patienceSec: 60, regular: 2, peak: 1, hours: 1, warmupHours: 0.1, seed: 3 });
    expect(r.waiting).toBe(0);
    expect(r.answered + r.abandoned).toBe(r.offered);
    expect(r.answerRate + r.abandonRate).toBeCloseTo(1, 12);
    expect(r.serviceLevel).toBeLessThanOrEqual(r.answerRate);
  });

  it('GIVEN the same seed THEN the run is reproducible', () => {
    const s = { callsPerHour: 200, handleSec: 240, patienceSec: 60, regular: 10, peak: 2, hours: 0.5, warmupHours: 0, seed: 11 };
    expect(simulateAcd(s)).toEqual(simulateAcd(s));
  });
});
