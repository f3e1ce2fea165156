/**
 * Start and SIGKILL a server instance in a child process (tests/support/server-child.ts)
 * on the PBX under test: the pattern of tests/integration/tickets-worker-crash.test.ts,
 * for any test that needs a server to die without a chance to clean up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { logSink } from './log-capture.js';
import type { PbxUnderTest } from './pbx.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerChild {
  proc: ChildProcess;
  instanceId: string;
  pid: number;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (a clean stop: server-child.ts stops the app), and wait until it is gone. */
  terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The environment of a server on the PBX under test, as tests/support/pbx.ts testConfig sets it (AMI off). */
export function childServerEnv(pbx: PbxUnderTest, overrides: Record<string, string>): Record<string, string> {
  return {
    ARI_URL: pbx.ariUrl,
    ARI_USER: pbx.user,
    ARI_PASSWORD: pbx.password,
    ARI_APP: 'hotline',
    ARI_REQUEST_TIMEOUT_MS: '3000',
    AMI_ENABLED: 'false',
    REDIS_URL: inject('redisUrl'),
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    HOTLINE_CITY: 'zaozhuang',
    LOG_LEVEL: 'info',
    JWT_SECRET: 'test-jwt-secret-test-jwt-secret-0123456789',
    RECORDINGS_DIR: `${inject('runDir')}/recordings`,
    COOKIE_SECURE: 'false',
    PASSWORD_HASH_COST: '10',
    AGENT_DIAL_TEMPLATE: 'Local/{ext}@hotline-test-agents',
    ACD_REQUIRE_REGISTRATION: 'false',
    ACD_NO_ANSWER_SEC: '3',
    ACD_WRAP_UP_SEC: '0',
    QUEUE_ANNOUNCE_EVERY_SEC: '0',
    HANDOFF_RING_SEC: '3',
    CALLBACK_OFFER_AFTER_SEC: '1',
    CALLBACK_DIAL_TEMPLATE: 'Local/{number}@hotline-test-agents',
    CALLBACK_RING_SEC: '5',
    ADMIT_ARI_MAX_LATENCY_MS: '0', // as tests/support/pbx.ts testConfig
    ...overrides,
  };
}

const children: ChildProcess[] = [];

/** Kill what is left (only our own children, by their handle). */
export function killChildren(): void {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

export async function startServerChild(env: Record<string, string>, instanceId?: string, clockAt?: number): Promise<ServerChild> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'tests/support/server-child.ts'], {
    cwd: REPO,
    env: { ...process.env, CHILD_ENV: JSON.stringify(env), ...(instanceId ? { CHILD_INSTANCE: instanceId } : {}), ...(clockAt !== undefined ? { CHILD_CLOCK_AT: String(clockAt) } : {}) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.push(proc);
  createInterface({ input: proc.stdout! }).on('line', (l) => logSink.write(`${l}\n`));
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const ready = await new Promise<{ instanceId: string; pid: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server process: not ready within 40 s; stderr: ${stderr}`)), 40_000);
    proc.on('message', (m: any) => {
      if (m?.ready === true) clearTimeout(timer), resolve(m);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server process exited (${code ?? signal}) before ready; stderr: ${stderr}`));
    });
  });
  return {
    proc,
    instanceId: ready.instanceId,
    pid: ready.pid,
    async kill() {
      proc.kill('SIGKILL');
      return exited;
    },
    async terminate() {
      proc.kill('SIGTERM');
      return exited;
    },
  };
}
