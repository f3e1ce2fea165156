/**
 * How a number is masked (seeds: 数据脱敏): one number (138****5678) and every number inside free
 * text — no notion of who reads it. Who sees what (full numbers for roles allowed them, records and
 * exports masked for the rest) is mask-for-role.ts, built on these.
 */

/** Mask a phone number: keep the first 3 and last 4 digits of long numbers, fewer of short ones. */
export function maskNumber(value: string | undefined | null): string {
  if (value === undefined || value === null) return '';
  const s = String(value);
  // Idempotent: a value masked already (redaction and text scrubbing both run) stays as it is.
  if (s.includes('*')) return s;
  const digits = s.replace(/\D/g, '');
  if (digits.length === 0) return s.length > 0 ? '****' : '';
  if (digits.length <= 4) return '*'.repeat(digits.length);
  if (digits.length <= 7) return `${digits.slice(0, 1)}${'*'.repeat(digits.length - 3)}${digits.slice(-2)}`;
  return `${digits.slice(0, 3)}****${digits.slice(-4)}`;
}

/**
 * Phone numbers as people write them in free text (summaries, notes, log lines):
 * - mobiles `13800138000`, `138 0013 8000`, `138-0013-8000`;
 * - landlines with an area code `0632-1234567`, `(0632) 1234 5678`, `010-8765-4321`;
 * - either after a country code `+86 `, `+86-`, `0086`, `(+86)` (landlines then without the 0: `+86 632 1234567`);
 * - local numbers split by a space `6717 5706`;
 * - any other bare run of 7–12 digits (local numbers; ticket numbers are longer and stay readable).
 * Not numbers: digits inside a hex token (a request id `…-90a3-17059415407e`), a decimal or an Asterisk
 * call id (`1795392646.5`), dates and times (`2026-11-23 10:00`: groups too short, no leading 0 or 1[3-9]).
 */
const COUNTRY = String.raw`(?:\+\s?86|0086|\(\+?86\))[ -]?`;
const MOBILE = String.raw`1[3-9]\d(?:[ -]?\d{4}){2}`;
const LANDLINE = String.raw`(?:\(0\d{2,3}\)\s?|0\d{2,3}[ -]?)[1-9]\d{2,3}[ -]?\d{4}`;
const LANDLINE_INTL = String.raw`(?:\([1-9]\d{1,2}\)\s?|[1-9]\d{1,2}[ -]?)[1-9]\d{2,3}[ -]?\d{4}`;
/** A local number split by a space (`6717 5706`); not by a dash, which is how year ranges (`2025-2026`) are written. */
const LOCAL_SPACED = String.raw`[2-9]\d{2,3} \d{4}`;
const NUMBER_IN_TEXT = new RegExp(
  String.raw`(?<![0-9A-Fa-f]|\d\.)(?:${COUNTRY}(?:${MOBILE}|${LANDLINE_INTL})|${MOBILE}|${LANDLINE}|${LOCAL_SPACED}|\d{7,12})(?![0-9A-Fa-f]|\.\d)`,
  'g',
);
const COUNTRY_AT_START = new RegExp(`^${COUNTRY}`);

/** Mask every phone number written in any common form in a free text (log messages, summaries in exports). */
export function maskNumbersInText(text: string): string {
  return text.replace(NUMBER_IN_TEXT, (m) => {
    const cc = COUNTRY_AT_START.exec(m)?.[0] ?? '';
    return cc + maskNumber(m.slice(cc.length));
  });
}
