/**
 * How our synthesised prompts speak (espeak-ng): one table for the catalogue's build
 * (prompts/build.ts) and the knowledge base's spoken answers (knowledge/tts.ts).
 *
 * @remarks
 * Mandarin at espeak's default-like 150 words per minute comes out at about 2.4 characters a second,
 * well under a news reader's 4; every caller sat through a 45 s main menu and a 19 s busy notice, and
 * held a line that long. 220 gives about 3.5 characters a second: still slow enough to be clear on a
 * narrow-band phone line, and every Mandarin prompt is about a third shorter. English at 150 is already
 * an ordinary speaking pace.
 */
export const SPEECH = {
  zh: { voice: 'cmn', wpm: 220 },
  en: { voice: 'en', wpm: 150 },
} as const;
