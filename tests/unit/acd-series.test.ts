/**
 * The wallboard chart's day by quarter hour (src/acd/series.ts), pure: quarters are
 * the city's, rates per quarter and so far, fields beyond "now" ignored.
 */
import { describe, expect, it } from 'vitest';
import { buildSeries, quarterOf } from '../../src/acd/series.js';

describe('quarter hours of the city day', () => {
  it('GIVEN instants in UTC THEN the quarter is counted from Shanghai midnight', () => {
    expect(quarterOf(Date.parse('2026-12-01T00:00:00+08:00'), 480)).toBe(0);
    expect(quarterOf(Date.parse('2026-12-01T09:29:59+08:00'), 480)).toBe(37);
    expect(quarterOf(Date.parse('2026-12-01T23:59:59+08:00'), 480)).toBe(95);
    // 16:10 UTC is 00:10 the next day in the city, not quarter 64 of the UTC day
    expect(quarterOf(Date.parse('2026-12-01T16:10:00Z'), 480)).toBe(0);
  });
});

describe('series from the raw hash', () => {
  const raw = {
    'offered|all|3': '4',
    'answered|all|3': '3',
    'abandoned|all|3': '1',
    'queue|all|3': '2',
    'offered|line:12345|3': '2',
    'answered|line:12345|3': '1',
    'abandoned|line:12345|3': '1',
    'answered|all|5': '1',
    'offered|all|9': '7', // after "now": ignored
    'bogus': '1',
  };

  it('GIVEN counts in quarters 3 and 5 WHEN six quarters have passed THEN arrays of six, rates per quarter and so far', () => {
    const s = buildSeries(raw, { day: '2026-12-01', from: 0, quarters: 6 });
    expect(s.quarters).toBe(6);
    expect(s.target).toBe(0.98);
    expect(s.all.offered).toEqual([0, 0, 0, 4, 0, 0]);
    expect(s.all.queueMax).toEqual([0, 0, 0, 2, 0, 0]);
    expect(s.all.answerRate).toEqual([null, null, null, 0.75, null, 1]);
    expect(s.all.answerRateSoFar).toEqual([null, null, null, 0.75, 0.75, 0.8]);
    expect(s.lines['12345']!.answerRate[3]).toBe(0.5);
    expect(Object.keys(s.lines)).toEqual(['12345']);
  });

  it('GIVEN a day still to come THEN no quarters', () => {
    expect(buildSeries(raw, { day: '2026-12-02', from: 0, quarters: 0 }).all.offered).toEqual([]);
  });
});
