/** A full mobile number standing alone (not inside a longer digit run such as a ticket number or a timestamp). */
const FULL_MOBILE = /(?<!\d)1[3-9]\d{9}(?!\d)/g;

/** Full caller numbers found in a text (log output, exports). */
export function leakedNumbers(text: string): string[] {
  return [...new Set(text.match(FULL_MOBILE) ?? [])];
}
