/**
 * The shared date-time rule (issue 20, red-team finding): ISO 8601 with an
 * offset, a real date and time, a year 2000–2099 — used by scheduled publish,
 * test-dial and the routing table's transition windows.
 */
import { describe, expect, it } from 'vitest';
import { isoDateTimeProblem, parseIsoDateTime } from '../../src/util/datetime.js';
import { validateTable } from '../../src/routing/validate.js';
import { loadPreset } from '../../src/routing/presets.js';
import type { MergedRoute } from '../../src/routing/model.js';

describe('strict ISO 8601 date-times', () => {
  it.each([
    ['2026-12-01T00:00:00+08:00', Date.UTC(2026, 10, 30, 16)],
    ['2026-12-01T00:00+08:00', Date.UTC(2026, 10, 30, 16)],
    ['2028-02-29T12:30:15.250Z', Date.UTC(2028, 1, 29, 12, 30, 15, 250)],
    ['2026-06-01T23:59:59-05:30', Date.UTC(2026, 5, 2, 5, 29, 59)],
  ])('GIVEN %s WHEN parsed THEN it is the instant %d', (v, ms) => {
    expect(isoDateTimeProblem(v)).toBeUndefined();
    expect(parseIsoDateTime(v)).toBe(ms);
  });

  it.each([
    ['2027-02-30T00:00:00+08:00', /not a real date/],
    ['2027-02-29T00:00:00+08:00', /not a real date/],
    ['2026-13-01T00:00:00+08:00', /not a real date/],
    ['2026-12-01T00:00:00', /with offset/],
    ['2026-12-01', /with offset/],
    ['2026-12-01 00:00:00+08:00', /with offset/],
    ['9999-12-31T00:00:00+08:00', /year must be 2000–2099/],
    ['1970-01-01T00:00:00Z', /year must be 2000–2099/],
    ['2026-12-01T24:00:00+08:00', /not a real time/],
    ['2026-12-01T10:60:00+08:00', /not a real time/],
    ['2026-12-01T10:00:00+15:00', /offset must be within/],
    ['Tue, 01 Dec 2026 00:00:00 GMT', /with offset/],
    ['1795391734380', /with offset/],
  ])('GIVEN %s WHEN checked THEN it is refused (%s)', (v, why) => {
    expect(isoDateTimeProblem(v)).toMatch(why);
    expect(parseIsoDateTime(v)).toBeUndefined();
  });

  it('GIVEN a routing table whose transition window starts on 2027-02-30 or has no offset WHEN validated THEN the field is named', () => {
    const table = structuredClone(loadPreset('zaozhuang'));
    const i = table.routes.findIndex((r) => r.mode === 'merged');
    const r = table.routes[i] as MergedRoute;
    r.transition = { from: '2027-02-30T00:00:00+08:00', until: '2027-06-01T00:00:00' };
    r.keepNumber = false;
    r.prompts = { ...r.prompts, transition: r.prompts?.transition ?? 'transition-generic', cancel: r.prompts?.cancel ?? 'cancel-generic' };
    const errs = validateTable(table);
    expect(errs.find((e) => e.field === `routes[${i}].transition.from`)?.message).toMatch(/not a real date/);
    expect(errs.find((e) => e.field === `routes[${i}].transition.until`)?.message).toMatch(/with offset/);
  });
});
