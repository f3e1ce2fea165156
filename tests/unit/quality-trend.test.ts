import { describe, expect, it } from 'vitest';
import { bucketStart, scoreTrend, type Inspection } from '../../src/recording/quality.js';

// Monday 2026-03-02 00:00 in the city (UTC+8) = 2026-03-01 16:00 UTC.
const MON = Date.UTC(2026, 2, 1, 16);
const DAY = 86_400_000;
const WEEK = 7 * DAY;

const insp = (callId: string, agentId: string, group: string, at: number, total: number): Inspection => ({
  callId, agentId, group, at, total, formId: 'standard', scores: {}, inspector: 'qa', inspectedAt: at + DAY,
});

describe('quality score trend', () => {
  it('GIVEN times around the city\'s midnight WHEN bucketed THEN days and weeks start at the city\'s midnight and Monday', () => {
    expect(bucketStart(MON, 'week')).toBe(MON);
    expect(bucketStart(MON - 1, 'week')).toBe(MON - WEEK); // Sunday 23:59:59.999 belongs to the week before
    expect(bucketStart(MON + 6 * DAY + 23 * 3_600_000, 'week')).toBe(MON);
    expect(bucketStart(MON + 2 * DAY + 5, 'day')).toBe(MON + 2 * DAY);
    expect(bucketStart(MON - 1, 'day')).toBe(MON - DAY);
  });

  it('GIVEN scores over three weeks WHEN trended per seat group by week THEN each week averages its calls, a week without scores is null, calls outside the period are left out', () => {
    const list = [
      insp('a', '1001', 'general', MON + 3_600_000, 80),
      insp('b', '1002', 'general', MON + DAY, 90),
      insp('c', '2001', 'enterprise', MON + 2 * DAY, 70),
      // week 2: nothing; week 3:
      insp('d', '1001', 'general', MON + 2 * WEEK + DAY, 95),
      insp('late', '1001', 'general', MON + 3 * WEEK, 10),
      insp('early', '1001', 'general', MON - 1, 10),
    ];
    const tr = scoreTrend(list, { from: MON, to: MON + 3 * WEEK, bucket: 'week', by: 'group' });
    expect(tr.starts).toEqual([MON, MON + WEEK, MON + 2 * WEEK]);
    expect(tr.overall).toEqual({ average: [80, null, 95], count: [3, 0, 1] });
    expect(tr.series).toEqual([
      { id: 'enterprise', average: [70, null, null], count: [1, 0, 0] },
      { id: 'general', average: [85, null, 95], count: [2, 0, 1] },
    ]);
  });

  it('GIVEN a period starting mid-week WHEN trended per agent by day THEN buckets are whole city days from the one holding `from`', () => {
    const list = [insp('a', '1001', 'general', MON + DAY + 3_600_000, 88.333), insp('b', '1001', 'general', MON + DAY + 7_200_000, 90), insp('c', '1002', 'general', MON + 2 * DAY, 60)];
    const tr = scoreTrend(list, { from: MON + DAY + 1_000, to: MON + 3 * DAY, bucket: 'day', by: 'agent' });
    expect(tr.starts).toEqual([MON + DAY, MON + 2 * DAY]);
    expect(tr.series).toEqual([
      { id: '1001', average: [89.17, null], count: [2, 0] },
      { id: '1002', average: [null, 60], count: [0, 1] },
    ]);
  });
});
