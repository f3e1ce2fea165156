import { describe, expect, it } from 'vitest';
import { csvField, kpiCsv } from '../../src/http/routes/ticket-kpis.js';
import { ticketKpis } from '../../src/tickets/kpi.js';
import { newTicket, type Ticket, type TicketCategory } from '../../src/tickets/model.js';
import { DAY_MS, findRepeatOf } from '../../src/tickets/repeat.js';

const T0 = Date.UTC(2026, 2, 2, 2); // Monday 2 March 2026, 10:00 Shanghai

function t(no: number, opts: { caller?: string; category?: TicketCategory; units?: string[]; at?: number; repeatOf?: string; dispatched?: boolean } = {}): Ticket {
  const base = newTicket({
    ticketNo: `0632202603020000${String(no).padStart(2, '0')}`,
    cityId: 'zaozhuang',
    channel: { kind: '12345' },
    category: opts.category ?? 'complaint',
    requesterKind: 'citizen',
    summary: '反映问题',
    callerNumber: opts.caller ?? '13800001111',
    callIds: [`call-${no}`],
    receivedAt: opts.at ?? T0,
    actor: { id: 'a1', role: 'agent' },
  });
  const units = opts.units ?? ['市市场监管局'];
  const history = opts.dispatched === false ? base.history : [...base.history, { type: 'dispatched' as const, at: base.receivedAt, actor: { id: 'system', role: 'system' as const }, data: { units } }];
  return { ...base, units, history, ...(opts.repeatOf ? { repeatOf: opts.repeatOf } : {}) };
}

describe('repeat requests (重复诉求)', () => {
  it('GIVEN an earlier ticket of the same caller, category and unit within the window THEN it is the original', () => {
    const first = t(1);
    const again = t(2, { at: T0 + 5 * DAY_MS });
    expect(findRepeatOf(again, [first], 30)).toBe(first.ticketNo);
  });

  it('GIVEN a chain WHEN a third request comes THEN it names the first, not the one before', () => {
    const first = t(1);
    const second = t(2, { at: T0 + DAY_MS, repeatOf: first.ticketNo });
    const third = t(3, { at: T0 + 2 * DAY_MS });
    expect(findRepeatOf(third, [second, first], 30)).toBe(first.ticketNo);
  });

  it('GIVEN a different caller, category, unit, a later ticket or one outside the window THEN no repeat', () => {
    const now = t(9, { at: T0 + 10 * DAY_MS });
    expect(findRepeatOf(now, [t(1, { caller: '13800002222' })], 30)).toBeUndefined();
    expect(findRepeatOf(now, [t(1, { category: 'consult' })], 30)).toBeUndefined();
    expect(findRepeatOf(now, [t(1, { units: ['市城市管理局'] })], 30)).toBeUndefined();
    expect(findRepeatOf(now, [t(10, { at: T0 + 11 * DAY_MS })], 30)).toBeUndefined();
    expect(findRepeatOf(now, [t(1)], 9)).toBeUndefined();
    expect(findRepeatOf(now, [t(1)], 10)).toBe(t(1).ticketNo);
    expect(findRepeatOf(now, [t(1)], 0)).toBeUndefined();
  });

  it('GIVEN a ticket not dispatched yet THEN it repeats nothing; units in common are enough when several are named', () => {
    expect(findRepeatOf(t(2, { units: [], at: T0 + DAY_MS }), [t(1)], 30)).toBeUndefined();
    expect(findRepeatOf(t(2, { units: ['市城市管理局', '市市场监管局'], at: T0 + DAY_MS }), [t(1)], 30)).toBe(t(1).ticketNo);
  });

  it('GIVEN two tickets received at the same instant THEN the lower number is the original, never both ways', () => {
    const a = t(1);
    const b = t(2);
    expect(findRepeatOf(b, [a], 30)).toBe(a.ticketNo);
    expect(findRepeatOf(a, [b], 30)).toBeUndefined();
  });
});

describe('urge and repeat rates', () => {
  it('GIVEN three dispatched tickets, one urged and one a repeat, and one not dispatched THEN urge 1/3 and repeats 1/4', () => {
    const first = t(1);
    const k = ticketKpis([first, t(2, { repeatOf: first.ticketNo, at: T0 + DAY_MS }), t(3, { caller: '13800003333' }), t(4, { dispatched: false, units: [] })], {
      asOf: T0 + 2 * DAY_MS,
      urged: new Set([first.ticketNo]),
    });
    expect(k.urge).toEqual({ numerator: 1, denominator: 3, rate: 1 / 3 });
    expect(k.repeats).toEqual({ numerator: 1, denominator: 4, rate: 0.25 });
  });

  it('GIVEN no urged set THEN the urge rate is 0 over the dispatched tickets', () => {
    expect(ticketKpis([t(1)], { asOf: T0 }).urge).toEqual({ numerator: 0, denominator: 1, rate: 0 });
  });
});

describe('CSV', () => {
  it('quotes separators, quotes and line breaks, and defuses formula-leading text', () => {
    expect(csvField('市市场监管局')).toBe('市市场监管局');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField(null)).toBe('');
    expect(csvField(3)).toBe('3');
  });

  it('writes the KPI table with a BOM, CRLF lines and empty cells for rates with nothing to count', () => {
    const k = ticketKpis([t(1)], { asOf: T0 });
    const csv = kpiCsv([{ unit: '市市场监管局', rank: 1, ...k }]);
    expect(csv.startsWith('\ufeffrank,unit,')).toBe(true);
    const row = csv.trim().split('\r\n')[1]!.split(',');
    expect(row.slice(0, 3)).toEqual(['1', '市市场监管局', '1']);
    expect(row[3]).toBe(''); // on-time: nothing due yet
    expect(row[10]).toBe('0.00'); // urge: 0 of 1
  });
});
