/**
 * The PBX under test, in one of two modes with the same test code:
 * - default: the simulated PBX (sim-pbx/, top level), started in-process;
 * - real (HOTLINE_TEST_PBX=real): the throwaway Asterisk 22 the global set-up started for this
 *   worker with our asterisk/ and dialplan/ (tests/support/asterisk.ts); or an Asterisk of your
 *   own when HOTLINE_TEST_ARI_URL (+ HOTLINE_TEST_ARI_USER / HOTLINE_TEST_ARI_PASSWORD, and
 *   optionally HOTLINE_TEST_AMI_HOST/PORT/USER/SECRET) are set - then run one worker at a time.
 */
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.js';
import { configuredLanguage, SimPbx } from '../../sim-pbx/index.js';
import { REPO_ROOT, type AsteriskInfo } from './asterisk.js';
import { mediaTiming } from '../../sim-pbx/media.js';
import { join } from 'node:path';

/** Where the global set-up builds our prompts (both modes). */
export const PROMPTS_DIR = join(REPO_ROOT, 'sounds', 'build');

export interface PbxUnderTest {
  mode: 'sim' | 'real';
  ariUrl: string;
  user: string;
  password: string;
  ami?: { host: string; port: number; user: string; secret: string };
  /** Only in sim mode: fault injection and inspection. */
  sim?: SimPbx;
  /** Only in real mode with a throwaway instance: its ports, secrets and directory. */
  asterisk?: AsteriskInfo;
  carrierContext: string;
  /** Dialplan context whose extensions answer as agents through the test app. */
  agentContext: string;
  noAnswerContext: string;
  stop(): Promise<void>;
}

export const realMode = process.env.HOTLINE_TEST_PBX === 'real' || Boolean(process.env.HOTLINE_TEST_ARI_URL);

/** This worker's throwaway Asterisk (real mode without HOTLINE_TEST_ARI_URL). */
export function workerAsterisk(): AsteriskInfo {
  const all = inject('asterisks');
  const index = Number(process.env.VITEST_POOL_ID ?? '1') - 1;
  const info = all[index];
  if (!info) throw new Error(`no throwaway Asterisk for test worker ${index + 1} (${all.length} started; is HOTLINE_TEST_PBX=real set for the whole run?)`);
  return info;
}

const common = {
  carrierContext: 'from-carrier',
  agentContext: 'hotline-test-agents',
  noAnswerContext: 'hotline-test-noanswer',
};

/** A throwaway Asterisk as the PBX under test (the worker's, or one a test started itself). */
export function realPbx(a: AsteriskInfo): PbxUnderTest {
  return {
    mode: 'real',
    ariUrl: a.ariUrl,
    user: a.ariUser,
    password: a.ariPassword,
    ami: { host: a.amiHost, port: a.amiPort, user: a.amiUser, secret: a.amiSecret },
    asterisk: a,
    ...common,
    async stop() {},
  };
}

export async function startPbx(): Promise<PbxUnderTest> {
  if (realMode && !process.env.HOTLINE_TEST_ARI_URL) return realPbx(workerAsterisk());
  if (realMode) {
    const env = process.env;
    return {
      mode: 'real',
      ariUrl: env.HOTLINE_TEST_ARI_URL!.replace(/\/+$/, ''),
      user: env.HOTLINE_TEST_ARI_USER ?? 'hotline',
      password: env.HOTLINE_TEST_ARI_PASSWORD ?? '',
      ...(env.HOTLINE_TEST_AMI_HOST
        ? {
            ami: {
              host: env.HOTLINE_TEST_AMI_HOST,
              port: Number(env.HOTLINE_TEST_AMI_PORT ?? 5038),
              user: env.HOTLINE_TEST_AMI_USER ?? 'hotline',
              secret: env.HOTLINE_TEST_AMI_SECRET ?? '',
            },
          }
        : {}),
      ...common,
      async stop() {},
    };
  }
  // Media lasts as long as on a real Asterisk: our built prompts' lengths (the global set-up
  // builds them into sounds/build), Asterisk's installed sounds for the rest.
  // New channels get asterisk.conf's defaultlanguage (zh), as on the real Asterisk.
  const sim = await SimPbx.start({ playbackMs: mediaTiming({ soundsDirs: [PROMPTS_DIR, '/var/lib/asterisk/sounds'] }), language: configuredLanguage() });
  return {
    mode: 'sim',
    ariUrl: sim.ariUrl,
    user: sim.user,
    password: sim.password,
    ami: { host: '127.0.0.1', port: sim.amiPort, user: sim.amiUser, secret: sim.amiSecret },
    sim,
    ...common,
    stop: () => sim.stop(),
  };
}

let prefixSeq = 0;

/** A unique Redis key prefix per test (tests share one redis-server). */
export function uniquePrefix(name: string): string {
  return `t${process.pid}${name.replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}${++prefixSeq}${Date.now().toString(36)}`;
}

/** Server configuration pointing at the PBX under test and the test Redis. */
export function testConfig(pbx: PbxUnderTest, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ARI_URL: pbx.ariUrl,
    ARI_USER: pbx.user,
    ARI_PASSWORD: pbx.password,
    ARI_APP: 'hotline',
    ARI_REQUEST_TIMEOUT_MS: '3000',
    AMI_ENABLED: pbx.ami ? 'true' : 'false',
    ...(pbx.ami
      ? { AMI_HOST: pbx.ami.host, AMI_PORT: String(pbx.ami.port), AMI_USER: pbx.ami.user, AMI_SECRET: pbx.ami.secret }
      : {}),
    REDIS_URL: inject('redisUrl'),
    HOTLINE_KEY_PREFIX: uniquePrefix('app'),
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    HOTLINE_CITY: 'zaozhuang',
    LOG_LEVEL: 'info',
    HOTLINE_DATA_DIR: `${inject('runDir')}/app-${process.pid}-${++prefixSeq}`,
    JWT_SECRET: 'test-jwt-secret-test-jwt-secret-0123456789',
    RECORDINGS_DIR: `${inject('runDir')}/recordings`,
    COOKIE_SECURE: 'false',
    // scrypt at 2^10 instead of 2^15: the same code path, a millisecond per login instead of 100 ms of CPU
    // (hundreds of logins and users per run). The cost itself is checked in tests/unit/access-password.test.ts.
    PASSWORD_HASH_COST: '10',
    // Agents answer through Local channels into the dialplan's test context (both modes).
    AGENT_DIAL_TEMPLATE: `Local/{ext}@${'hotline-test-agents'}`,
    ACD_REQUIRE_REGISTRATION: 'false',
    ACD_NO_ANSWER_SEC: '3',
    ACD_WRAP_UP_SEC: '0',
    QUEUE_ANNOUNCE_EVERY_SEC: '0',
    HANDOFF_RING_SEC: '3',
    CALLBACK_OFFER_AFTER_SEC: '1',
    CALLBACK_DIAL_TEMPLATE: 'Local/{number}@hotline-test-agents',
    CALLBACK_RING_SEC: '5',
    // Six workers on two cores make ARI slow now and then for reasons that are not the PBX's load:
    // the latency guard is off here (tests/unit/admission-policy.test.ts covers it); the other limits stay.
    ADMIT_ARI_MAX_LATENCY_MS: '0',
    ...overrides,
  });
}
