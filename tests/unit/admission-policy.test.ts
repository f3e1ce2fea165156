/**
 * Admission control's pure decision (src/admission/policy.ts): which limit
 * sheds a call, in which order, which calls are never shed, and the smoothed
 * ARI latency it watches.
 */
import { describe, expect, it } from 'vitest';
import { admit, nextLatency, type AdmissionLimits, type AdmissionLoad } from '../../src/admission/policy.js';

const limits: AdmissionLimits = { maxCalls: 100, maxQueue: 20, maxWaitSec: 600, ariMaxLatencyMs: 1500, ariMaxBacklog: 32, maxPbxCalls: 400 };
const calm: AdmissionLoad = { source: 'carrier', calls: 10, queue: { skill: 'general', waiting: 2, expectedWaitSec: 60 }, ariLatencyMs: 20, ariBacklog: 0, pbxCalls: 30 };

describe('admit', () => {
  it('GIVEN a calm system WHEN a citizen calls THEN the call is admitted', () => {
    expect(admit(calm, limits)).toEqual({ admit: true });
  });

  it.each<[string, Partial<AdmissionLoad>, string]>([
    ['this instance is at its call limit', { calls: 100 }, 'calls'],
    ['the queue is full', { queue: { skill: 'general', waiting: 20, expectedWaitSec: 60 } }, 'queue'],
    ['the expected wait is too long', { queue: { skill: '12333', waiting: 5, expectedWaitSec: 601 } }, 'wait'],
    ['ARI is slow', { ariLatencyMs: 1500 }, 'ari-latency'],
    ['ARI requests back up', { ariBacklog: 32 }, 'ari-backlog'],
    ['Asterisk carries too many calls', { pbxCalls: 400 }, 'pbx-calls'],
  ])('GIVEN %s WHEN a citizen calls THEN the call is shed for that reason', (_what, change, reason) => {
    const d = admit({ ...calm, ...change }, limits);
    expect(d).toMatchObject({ admit: false, reason });
    if (!d.admit) expect(d.detail).toMatch(/limit/);
  });

  it('GIVEN several limits over THEN the PBX and the link are named first, then the instance, then the queue', () => {
    const all: AdmissionLoad = { source: 'carrier', calls: 500, queue: { skill: 'general', waiting: 99, expectedWaitSec: 9999 }, ariLatencyMs: 5000, ariBacklog: 99, pbxCalls: 999 };
    expect(admit(all, limits)).toMatchObject({ reason: 'ari-backlog' });
    expect(admit({ ...all, ariBacklog: 0 }, limits)).toMatchObject({ reason: 'ari-latency' });
    expect(admit({ ...all, ariBacklog: 0, ariLatencyMs: 0 }, limits)).toMatchObject({ reason: 'pbx-calls' });
    expect(admit({ ...all, ariBacklog: 0, ariLatencyMs: 0, pbxCalls: 0 }, limits)).toMatchObject({ reason: 'calls' });
    expect(admit({ ...all, ariBacklog: 0, ariLatencyMs: 0, pbxCalls: 0, calls: 0 }, limits)).toMatchObject({ reason: 'queue' });
  });

  it.each(['linkage', 'subcenter', 'agent', 'callback'])('GIVEN an overloaded system WHEN a %s call arrives THEN it is never shed', (source) => {
    expect(admit({ ...calm, source, calls: 1000, ariBacklog: 1000 }, limits)).toEqual({ admit: true });
  });

  it('GIVEN limits of 0 THEN they are off; an unknown queue or PBX load is not held against the caller', () => {
    const off: AdmissionLimits = { maxCalls: 0, maxQueue: 0, maxWaitSec: 0, ariMaxLatencyMs: 0, ariMaxBacklog: 0, maxPbxCalls: 0 };
    expect(admit({ ...calm, calls: 1e6, ariLatencyMs: 1e6, ariBacklog: 1e6, pbxCalls: 1e6 }, off)).toEqual({ admit: true });
    const { queue: _q, pbxCalls: _p, ...unknown } = calm;
    expect(admit(unknown, limits)).toEqual({ admit: true });
  });
});

describe('nextLatency', () => {
  it('GIVEN a run of slow requests THEN the smoothed latency climbs past the limit, and one slow request alone does not', () => {
    let l = { ms: 0, at: 0 };
    l = nextLatency(l, 5000, 1);
    expect(l.ms).toBeLessThan(1500);
    for (let i = 2; i < 30; i++) l = nextLatency(l, 5000, i);
    expect(l.ms).toBeGreaterThan(1500);
    for (let i = 30; i < 80; i++) l = nextLatency(l, 10, i);
    expect(l.ms).toBeLessThan(100);
  });
  it('GIVEN no request for longer than the idle time THEN the next sample starts afresh', () => {
    const l = nextLatency({ ms: 4000, at: 0 }, 20, 10_000);
    expect(l.ms).toBeCloseTo(2, 5);
  });
});
