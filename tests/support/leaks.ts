/**
 * A full mobile number standing alone: not inside a longer digit run (a ticket
 * number, a timestamp) nor inside a hex or base64 token (a request id such as
 * `…-90a3-17059415407e` holds eleven digits followed by a letter).
 */
const FULL_MOBILE = /(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])/g;

/** Full caller numbers found in a text (log output, exports). */
export function leakedNumbers(text: string): string[] {
  return [...new Set(text.match(FULL_MOBILE) ?? [])];
}
