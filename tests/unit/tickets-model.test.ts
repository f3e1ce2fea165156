import { describe, expect, it } from 'vitest';
import { shanghaiInstant as at } from '../../src/tickets/calendar.js';
import { categoryFromZh, formatTicketNo, newTicket, parseTicketNo } from '../../src/tickets/model.js';

describe('ticket numbers (city code + yyyymmdd + sequence, digits only)', () => {
  it('GIVEN Zaozhuang 0632, 2026-11-22 and sequence 123 WHEN formatted THEN 0632 20261122 000123', () => {
    expect(formatTicketNo('0632', '20261122', 123)).toBe('063220261122000123');
    expect(formatTicketNo('0632', at('2026-11-22', '23:30'), 123)).toBe('063220261122000123');
  });

  it('GIVEN 00:30 Shanghai (still the previous day in UTC) WHEN formatted THEN the Shanghai date is used', () => {
    expect(formatTicketNo('0535', at('2026-11-23', '00:30'), 1)).toBe('053520261123000001');
  });

  it('GIVEN a number read back in groups WHEN parsed THEN code, date and sequence come back', () => {
    expect(parseTicketNo('0632 20261122 000123')).toEqual({ cityCode: '0632', date: '20261122', seq: 123, dayStart: at('2026-11-22') });
    expect(parseTicketNo('010-20260101-999999')).toMatchObject({ cityCode: '010', date: '20260101', seq: 999999 });
  });

  it('GIVEN a formatted number WHEN parsed THEN it round-trips', () => {
    const no = formatTicketNo('0371', '20250228', 42);
    expect(parseTicketNo(no)).toMatchObject({ cityCode: '0371', date: '20250228', seq: 42 });
  });

  it.each([
    ['impossible date', '063220260230000001'],
    ['too short', '06322026112200012'.slice(0, 15)],
    ['too long', '0632202611220001234'],
    ['sequence 0', '063220261122000000'],
    ['letters', '0632202611220001X3'],
    ['no leading 0', '563220261122000123'],
  ])('GIVEN %s WHEN parsed THEN undefined', (_why, input) => {
    expect(parseTicketNo(input)).toBeUndefined();
  });

  it('GIVEN bad parts WHEN formatting THEN RangeError naming the part', () => {
    expect(() => formatTicketNo('632', '20261122', 1)).toThrow(/cityCode/);
    expect(() => formatTicketNo('0632', '20261131', 1)).toThrow(/date/);
    expect(() => formatTicketNo('0632', '20261122', 1_000_000)).toThrow(/seq/);
    expect(() => formatTicketNo('0632', '20261122', 0)).toThrow(/seq/);
  });
});

describe('ticket record', () => {
  it('GIVEN the seeds\' category words WHEN mapped THEN 咨询/求助/投诉/举报/建议 (and 意见建议) map to the five categories', () => {
    expect(['咨询', '求助', '投诉', '举报', '建议', '意见建议', '表扬'].map(categoryFromZh)).toEqual(['consult', 'help', 'complaint', 'report', 'suggestion', 'suggestion', undefined]);
  });

  it('GIVEN the form WHEN a ticket is created THEN it is received, with no unit, full caller number and one history entry', () => {
    const t = newTicket({
      ticketNo: '063220261122000123',
      cityId: 'zaozhuang',
      channel: { kind: 'legacy-line', number: '12349', unit: '市民政局' },
      category: 'help',
      requesterKind: 'citizen',
      summary: '咨询低保申请',
      callerNumber: '13912345678',
      callIds: ['c1'],
      receivedAt: 1000,
      actor: { id: 'agent-1', role: 'agent' },
    });
    expect(t).toMatchObject({ state: 'received', units: [], callerNumber: '13912345678', urgency: 'normal', returnCount: 0, extendedWorkingDays: 0 });
    expect(t.history).toEqual([{ type: 'received', at: 1000, actor: { id: 'agent-1', role: 'agent' } }]);
  });
});
