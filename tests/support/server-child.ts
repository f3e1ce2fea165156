/**
 * A server instance in its own process, for tests that kill it for real
 * (SIGKILL): the real app (`buildApp` + `start`) from the environment in
 * CHILD_ENV (JSON), with the instance id in CHILD_INSTANCE when given.
 * It sends `{ ready: true }` over the IPC channel once started and connected
 * to ARI; logs go to stdout as JSON lines (the test feeds them to its capture).
 */
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';

const env = JSON.parse(process.env.CHILD_ENV ?? '{}') as Record<string, string>;
const app = await buildApp(loadConfig(env), {
  ...(process.env.CHILD_INSTANCE ? { instanceId: process.env.CHILD_INSTANCE } : {}),
  ariBackoff: { initialMs: 50, maxMs: 500 },
  outboxRetryMs: 200,
  acdOverrides: { dispatchIntervalMs: 100 },
  // CHILD_CLOCK_AT: the app's clock starts at this instant (ms) and runs at real speed (as TestClock).
  ...(process.env.CHILD_CLOCK_AT ? { now: ((offset: number) => () => Date.now() + offset)(Number(process.env.CHILD_CLOCK_AT) - Date.now()) } : {}),
});
await app.start();
await app.telephony.whenConnected(20_000);
process.send?.({ ready: true, instanceId: app.instanceId, pid: process.pid });
// SIGTERM: a clean stop, as src/main.ts does (tests of rolling restarts); SIGKILL stays a crash.
process.once('SIGTERM', () => {
  void app.stop().finally(() => process.exit(0));
});
