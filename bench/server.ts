/** The server under test (buildApp, as in production) and the floor: a bare ari-client app that only answers. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ari from 'ari-client';
import { buildApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import type { SimProcess } from './sim-client.js';
import { nullLog } from './stats.js';

let seq = 0;

/** ari-client's swagger loader prints a deprecation notice on stdout; keep the report clean. */
async function quiet<T>(f: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => undefined;
  try {
    return await f();
  } finally {
    console.log = log;
  }
}

export async function startServer(sim: SimProcess, redisUrl: string, overrides: Record<string, string> = {}): Promise<App> {
  const config = loadConfig({
    ARI_URL: sim.info.ariUrl,
    ARI_USER: sim.info.user,
    ARI_PASSWORD: sim.info.password,
    ARI_APP: 'hotline',
    AMI_ENABLED: 'false',
    REDIS_URL: redisUrl,
    HOTLINE_KEY_PREFIX: `bench${process.pid}x${++seq}`,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    HOTLINE_CITY: 'zhengzhou',
    LOG_LEVEL: 'info',
    HOTLINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'hotline-bench-app-')),
    JWT_SECRET: randomBytes(32).toString('hex'),
    COOKIE_SECURE: 'false',
    AGENT_DIAL_TEMPLATE: 'Local/{ext}@hotline-test-agents',
    ACD_REQUIRE_REGISTRATION: 'false',
    ACD_WRAP_UP_SEC: '0',
    // These parts measure the server's own capacity: no admission limits (bench/overload.ts measures those).
    ADMIT_MAX_CALLS: '0',
    ADMIT_MAX_QUEUE: '0',
    ADMIT_MAX_WAIT_SEC: '0',
    ADMIT_ARI_MAX_LATENCY_MS: '0',
    ADMIT_ARI_MAX_BACKLOG: '0',
    ...overrides,
  });
  // Logs at info, as in production, serialized and dropped.
  const app = await buildApp(config, { logDestination: nullLog });
  await quiet(async () => {
    await app.start();
    await app.telephony.whenConnected(10_000);
  });
  return app;
}

export interface FloorApp {
  stop(): Promise<void>;
}

/**
 * The floor for this stack: ari-client connected as `hotline`, answering every citizen's call and,
 * on a key press, hanging the channel up (one command per event, no state, no Redis, no logging).
 */
export async function startFloor(sim: SimProcess): Promise<FloorApp> {
  const client = (await quiet(() => ari.connect(sim.info.ariUrl, sim.info.user, sim.info.password))) as any;
  client.on('StasisStart', (event: any, channel: any) => {
    if (event.args?.[1] !== 'carrier') return;
    channel.answer().catch(() => undefined);
  });
  client.on('ChannelDtmfReceived', (_event: any, channel: any) => {
    channel.hangup().catch(() => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    client.once('WebSocketConnected', () => resolve());
    client.start('hotline').catch?.(reject);
    setTimeout(() => reject(new Error('floor app did not connect')), 10_000).unref();
  });
  return {
    async stop() {
      try {
        client.stop();
      } catch {
        /* already closed */
      }
      await new Promise((r) => setTimeout(r, 200));
    },
  };
}
