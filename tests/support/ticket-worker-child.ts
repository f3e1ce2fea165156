/**
 * A second server instance in its own process, for the worker-crash test
 * (tests/integration/tickets-worker-crash.test.ts): the real app
 * (`buildApp`, same Redis and key prefix as the test's app, its telephony
 * pointed at nowhere) whose ticket worker takes the next `call-ended` job and
 * then holds it until the process is killed:
 * - `CHILD_HOLD=before-domain`: after the ticket number is allocated and the
 *   record stored, before the domain ticket is built (step 1 done, step 2 not);
 * - `CHILD_HOLD=after-ticket`: after the ticket exists, in the app's
 *   after-ticket work (linking recordings), before the job completes.
 *
 * Control messages go over the IPC channel (`{ ready }`, `{ held, ticketNo }`);
 * logs go to stdout as JSON lines (the test feeds them to its log capture).
 * Config: the env of the server (JSON in CHILD_ENV); worker lock/stall timing
 * in CHILD_LOCK_MS / CHILD_STALLED_MS.
 */
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';

const send = (m: object) => process.send?.(m);
const hold = process.env.CHILD_HOLD;
if (hold !== 'before-domain' && hold !== 'after-ticket') throw new Error(`CHILD_HOLD must be before-domain or after-ticket, got ${hold}`);

const app = await buildApp(loadConfig(JSON.parse(process.env.CHILD_ENV ?? '{}') as Record<string, string>), {
  instanceId: `crash-child-${process.pid}`,
  ticketWorkerLock: { lockDurationMs: Number(process.env.CHILD_LOCK_MS ?? 1000), stalledIntervalMs: Number(process.env.CHILD_STALLED_MS ?? 500) },
});
// Never settles: the job stays active (its lock renewed) until the process dies.
const forever = new Promise<never>(() => undefined);
if (hold === 'before-domain') {
  app.tickets.ensureDomain = async (ticketNo: string) => {
    send({ held: hold, ticketNo });
    return forever;
  };
} else {
  app.recordings.linkTicket = async (_callId: string, ticketNo: string) => {
    send({ held: hold, ticketNo });
    return forever;
  };
}
await app.start();
send({ ready: true });
