/**
 * Masking of personal numbers (seeds: 数据脱敏). A caller number is shown as
 * 138****5678 to every role that is not allowed the full number, in every log
 * line, export and webhook unless configured otherwise.
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
 * Phone-like digit runs (7–12 digits, optional +86; ticket numbers are longer and stay readable) anywhere in
 * a free text. Asterisk's channel ids — our call ids — are `<epoch seconds>.<sequence>` (`1790009972.4`):
 * a run followed by `.<digit>` or preceded by `<digit>.` is part of such an id, not a number, and stays
 * readable so that one call's log lines can be found by its id.
 */
const NUMBER_IN_TEXT = /(?:\+?86[- ]?)?(?<!\d)(?<!\d\.)\d{7,12}(?!\d)(?!\.\d)/g;

/** Mask every phone-like run of digits in a free text (log messages, summaries in exports). */
export function maskNumbersInText(text: string): string {
  return text.replace(NUMBER_IN_TEXT, (m) => maskNumber(m));
}
