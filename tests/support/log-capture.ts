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

/**
 * A log destination of a test's own: it keeps the chunks written to it (one pino line each) and passes
 * them on to this file's capture, so they are checked for leaked numbers too.
 */
export function logTee(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, enc, cb) {
      lines.push(String(chunk));
      logSink.write(chunk, enc, cb);
    },
  });
  return { stream, lines };
}

/** Everything the apps of this file logged so far (pino JSON lines). */
export function capturedLog(): string {
  return chunks.join('');
}

afterAll(() => {
  const all = chunks.join('');
  expect(all.length, 'the apps of this file logged nothing: is the capture wired?').toBeGreaterThan(0);
  expect(leakedNumbers(all), 'full caller numbers in the logs').toEqual([]);
});
