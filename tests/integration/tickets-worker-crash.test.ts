/**
 * A ticket worker killed mid-job, for real: a second server instance runs in a
 * child process (tests/support/ticket-worker-child.ts, the real buildApp on the
 * same Redis and key prefix) and takes the `call-ended` job of a call placed
 * through the simulated PBX, then holds it; the test SIGKILLs that process
 * while the job is active. The restarted server (its worker with a short
 * lock and stall interval, AppOptions.ticketWorkerLock) finds the job
 * stalled, runs it again and completes it: exactly one ticket for the call,
 * one ticket number drawn, the domain ticket built once, its clocks scheduled
 * once — whether the kill came between the two creation steps or after the
 * ticket existed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { clockInstants, clockJobId } from '../../src/tickets/clocks.js';
import { ticketJobId } from '../../src/tickets/queue.js';
import { shanghaiDate } from '../../src/tickets/store.js';
import { jobsForCall, useHarness } from '../support/harness.js';
import { logSink } from '../support/log-capture.js';
import { uniquePrefix } from '../support/pbx.js';
import { consoleAgent, talkAndFill, ticketOfCall } from '../support/tickets.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const LOCK = { lockDurationMs: 1000, stalledIntervalMs: 300 };

type Hold = 'before-domain' | 'after-ticket';
interface Child {
  proc: ChildProcess;
  held: Promise<{ held: Hold; ticketNo: string }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  // Only our own children, by their handle; normally each one was killed by its test already.
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/**
 * The environment of a server instance on the test Redis under `prefix`, with no PBX to talk to.
 * Its ACD runs the same router as the test's app over the shared Redis (whichever instance holds
 * the dispatch lock makes the offer), so it gets the same ACD settings as tests/support/pbx.ts.
 */
function serverEnv(prefix: string): Record<string, string> {
  return {
    AGENT_DIAL_TEMPLATE: 'Local/{ext}@hotline-test-agents',
    ACD_REQUIRE_REGISTRATION: 'false',
    ACD_NO_ANSWER_SEC: '3',
    ACD_WRAP_UP_SEC: '0',
    QUEUE_ANNOUNCE_EVERY_SEC: '0',
    CALLBACK_OFFER_AFTER_SEC: '1',
    CALLBACK_DIAL_TEMPLATE: 'Local/{number}@hotline-test-agents',
    ARI_URL: 'http://127.0.0.1:9',
    ARI_PASSWORD: 'unused',
    AMI_ENABLED: 'false',
    REDIS_URL: inject('redisUrl'),
    HOTLINE_KEY_PREFIX: prefix,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    HOTLINE_CITY: 'zaozhuang',
    LOG_LEVEL: 'info',
    HOTLINE_DATA_DIR: `${inject('runDir')}/crash-child-${prefix}`,
    RECORDINGS_DIR: `${inject('runDir')}/recordings`,
    JWT_SECRET: 'test-jwt-secret-test-jwt-secret-0123456789',
    COOKIE_SECURE: 'false',
  };
}

/** Start the worker process; resolves once its app is started and the hold is in place. */
async function startChild(prefix: string, hold: Hold): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'tests/support/ticket-worker-child.ts'], {
    cwd: REPO,
    env: { ...process.env, CHILD_ENV: JSON.stringify(serverEnv(prefix)), CHILD_HOLD: hold, CHILD_LOCK_MS: String(LOCK.lockDurationMs), CHILD_STALLED_MS: '500' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.push(proc);
  // The child's logs join this file's capture (checked for full numbers at the end).
  createInterface({ input: proc.stdout! }).on('line', (l) => logSink.write(`${l}\n`));
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const message = (pred: (m: any) => boolean, what: string, ms: number) =>
    new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker process: no ${what} within ${ms} ms; stderr: ${stderr}`)), ms);
      proc.on('message', (m) => {
        if (pred(m)) clearTimeout(timer), resolve(m);
      });
      void exited.then(({ code, signal }) => reject(new Error(`worker process exited (${code ?? signal}) before ${what}; stderr: ${stderr}`)));
    });
  const held = message((m) => typeof m?.held === 'string', 'held job', 30_000);
  held.catch(() => undefined);
  await message((m) => m?.ready === true, 'ready', 30_000);
  return { proc, held, exited };
}

describe('a ticket worker killed mid-job', () => {
  it.each<[Hold, string]>([
    ['before-domain', '13900001601'],
    ['after-ticket', '13900001602'],
  ])('GIVEN a worker process holding the job of a call (%s) WHEN it is SIGKILLed and the server restarts THEN the job completes with exactly one ticket for the call', async (hold, caller) => {
    const prefix = uniquePrefix(`crash${hold}`);
    // The instance taking calls has no ticket worker: the job is for the worker process.
    const producer = await h.startApp({ HOTLINE_KEY_PREFIX: prefix }, { ticketWorker: false });
    const agent = await consoleAgent(producer, '7601');
    const child = await startChild(prefix, hold);

    const { session } = await talkAndFill(h, producer, {
      number: '12345',
      caller,
      agentId: '7601',
      agent,
      form: { category: 'complaint', requesterKind: 'citizen', summary: '反映工地夜间施工噪音', unitSuggestion: '' },
    });
    const callId = session.callId;
    const { ticketNo } = await child.held;
    expect(await producer.tickets.byCall(callId)).toBe(ticketNo);
    const job = (await producer.ticketsQueue.getJob(ticketJobId(callId)))!;
    expect(await job.getState()).toBe('active');
    const before = (await producer.tickets.get(ticketNo))!;
    if (hold === 'before-domain') {
      // Step 1 done (number, record), step 2 (the domain ticket) not yet.
      expect(before.ticket).toBeUndefined();
      expect(before.version).toBe(0);
    } else {
      expect(before.ticket?.state).toBe('dispatched');
      expect(before.version).toBe(1);
    }

    child.proc.kill('SIGKILL');
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await job.getState(), 'the dead worker still holds it').toBe('active');
    await h.stopApp(producer);

    // The server comes back, with its own worker.
    const app = await h.startApp({ HOTLINE_KEY_PREFIX: prefix }, { ticketWorkerLock: LOCK });
    const st = await ticketOfCall(app, callId, 20_000);
    const done = (await app.ticketsQueue.getJob(ticketJobId(callId)))!;
    expect(done.returnvalue).toEqual({ ticketNo });
    expect(done.stalledCounter, 'picked up again as a stalled job').toBe(1);
    expect(done.failedReason ?? '').toBe('');
    expect(await jobsForCall(app, callId)).toHaveLength(1);

    // Nothing lost: the ticket of the call, with the agent's form applied.
    expect(st.ticketNo).toBe(ticketNo);
    expect(st.ticket).toMatchObject({ state: 'dispatched', units: ['市住房城乡建设局'], callIds: [callId], category: 'complaint' });
    expect(st.form).toMatchObject({ by: '7601', summary: '反映工地夜间施工噪音' });
    expect(st.record.callId).toBe(callId);
    // Nothing doubled: one ticket, one number drawn, the domain ticket written once, its clocks scheduled once.
    expect(await app.tickets.list()).toEqual([ticketNo]);
    expect(await app.redis.get(`${prefix}:ticket:seq:0632:${shanghaiDate(session.record.startedAt)}`)).toBe('1');
    expect(st.version).toBe(1);
    const clockJobs = (await app.ticketClocks.queue.getJobs(['delayed', 'waiting', 'active', 'completed', 'failed'])).filter((j) => j?.data?.ticketNo === ticketNo);
    expect(clockJobs.map((j) => j.id).sort()).toEqual(clockInstants(st.ticket).map(clockJobId).sort());
  });
});
