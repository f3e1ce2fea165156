/**
 * The one rule for date-times accepted from outside (API bodies, routing
 * tables): ISO 8601 `YYYY-MM-DDTHH:MM[:SS[.fff]]` with an explicit offset
 * (`Z` or `±HH:MM`), a real calendar date and clock time, and a year in
 * {@link MIN_YEAR}–{@link MAX_YEAR}.
 *
 * @remarks
 * `Date.parse` is not a validator: it reads `2027-02-30` as 2 March, an
 * offset-less time in the server's own zone, and year 9999 as a real instant.
 * A date-time without an offset means different instants on different
 * machines, so it is refused rather than guessed.
 */

export const MIN_YEAR = 2000;
export const MAX_YEAR = 2099;

const ISO_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|([+-])(\d{2}):(\d{2}))$/;

/** zh-CN / English description of the accepted form, for error messages. */
export const ISO_DATETIME_HINT = '须为带时区的 ISO 8601 时间，如 2026-12-01T00:00:00+08:00 / must be an ISO 8601 date-time with offset, e.g. 2026-12-01T00:00:00+08:00';

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Why `v` is not an accepted date-time (zh-CN / English), or undefined when it is.
 */
export function isoDateTimeProblem(v: unknown): string | undefined {
  if (typeof v !== 'string') return ISO_DATETIME_HINT;
  const m = ISO_DATETIME.exec(v);
  if (!m) return ISO_DATETIME_HINT;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  if (year < MIN_YEAR || year > MAX_YEAR) return `年份须在 ${MIN_YEAR}–${MAX_YEAR} 之间 / the year must be ${MIN_YEAR}–${MAX_YEAR}`;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return `${m[1]}-${m[2]}-${m[3]} 不是有效日期 / is not a real date`;
  if (hour > 23 || minute > 59 || second > 59) return `${m[4]}:${m[5]} 不是有效时刻 / is not a real time of day`;
  if (m[8] !== 'Z') {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 14 || om > 59 || (oh === 14 && om > 0)) return '时区偏移须在 ±14:00 以内 / the offset must be within ±14:00';
  }
  return undefined;
}

/** Epoch ms of an accepted date-time, or undefined when it is not one (see {@link isoDateTimeProblem}). */
export function parseIsoDateTime(v: unknown): number | undefined {
  return isoDateTimeProblem(v) === undefined ? Date.parse(v as string) : undefined;
}
