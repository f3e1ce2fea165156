/**
 * Log capture for integration tests: apps built in a test file log here, and
 * when the file is done its whole log is checked for full caller numbers
 * (mainland mobile numbers, as every test caller uses). Importing this module
 * registers that check for the importing file.
 */
import { Writable } from 'node:stream';
import { afterAll, expect } from 'vitest';
import { leakedNumbers } from './leaks.js';

const chunks: string[] = [];

export const logSink = new Writable({
  write(chunk, _enc, cb) {
    chunks.push(String(chunk));
    cb();
  },
});

/** Everything the apps of this file logged so far (pino JSON lines). */
export function capturedLog(): string {
  return chunks.join('');
}

afterAll(() => {
  const all = chunks.join('');
  expect(all.length, 'the apps of this file logged nothing: is the capture wired?').toBeGreaterThan(0);
  expect(leakedNumbers(all), 'full caller numbers in the logs').toEqual([]);
});
