/**
 * How many test workers run at once: 6 by default (tests/run-real.sh sets 4 for the real half, one Asterisk each), fewer with
 * HOTLINE_TEST_WORKERS (a developer running a few files beside other work). Read by vitest.config.ts and
 * by the global set-up, so the forks and the Asterisk instances always match.
 */
export function testWorkers(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.HOTLINE_TEST_WORKERS;
  if (v === undefined || v === '') return 6;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 6) throw new Error(`HOTLINE_TEST_WORKERS must be an integer from 1 to 6, got '${v}'`);
  return n;
}
