/**
 * Vitest global setup: a real, throwaway redis-server for the whole run.
 *
 * If REDIS_URL is set we use that server instead. If neither REDIS_URL nor a
 * `redis-server` binary on PATH is available, the run fails with one clear line:
 * these tests never fall back to a mock.
 */
import { testWorkers } from './workers.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type {} from 'vitest';
import { freePort, waitForRedis } from '../../src/demo/own-redis.js';
import { AsteriskInstance, asteriskVersion, errorsOfOurs, INSTALL_HINT, REPO_ROOT, type AsteriskInfo } from './asterisk.js';
import { buildPrompts } from '../../prompts/build.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** A temporary directory for this run's files (outbox spools …), removed at the end. */
    runDir: string;
    /**
     * Real mode (HOTLINE_TEST_PBX=real): one throwaway Asterisk per test worker, indexed by
     * VITEST_POOL_ID - 1, so that files running at the same time never share Stasis apps,
     * channels or bridges. Empty in sim mode.
     */
    asterisks: AsteriskInfo[];
  }
}

/**
 * Test workers at once; the real mode starts one Asterisk for each. HOTLINE_TEST_WORKERS lowers it
 * (a developer running one file beside other work); vitest.config.ts reads the same value.
 */
export const MAX_WORKERS = testWorkers();

let child: ChildProcess | undefined;
let dir: string | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let url = process.env.REDIS_URL;
  if (!url) {
    const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
    if (which.status !== 0) {
      throw new Error(
        'tests need a real Redis: set REDIS_URL or install redis-server (apt-get install redis-server)',
      );
    }
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'hotline-redis-'));
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    url = `redis://127.0.0.1:${port}`;
  }
  await waitForRedis(url, 10_000);
  project.provide('redisUrl', url);
  const runDir = mkdtempSync(join(tmpdir(), 'hotline-run-'));
  project.provide('runDir', runDir);
  // Our prompts, built incrementally (espeak-ng + sox): played by the real Asterisk, and their
  // lengths are how long the simulated PBX plays them.
  const promptsDir = join(REPO_ROOT, 'sounds', 'build');
  await buildPrompts({ outDir: promptsDir, log: () => undefined });
  const startedAt = Date.now();
  // An Asterisk of the user's own (HOTLINE_TEST_ARI_URL) replaces the throwaway ones.
  const asterisks = process.env.HOTLINE_TEST_PBX === 'real' && !process.env.HOTLINE_TEST_ARI_URL ? await startAsterisks() : [];
  project.provide('asterisks', asterisks.map((a) => a.info));
  return async () => {
    reportAsteriskErrors(asterisks);
    await Promise.all(asterisks.map((a) => a.stop()));
    rmSync(runDir, { recursive: true, force: true });
    removeSpokenAnswers(promptsDir, startedAt);
    if (child) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * The knowledge base's spoken answers (`kb-<article>-v<n>.wav`) that this run's articles wrote where
 * Asterisk reads our prompts (the real Asterisk must find them there): removed at the end, so runs do
 * not pile them up in sounds/build. Older ones (a developer's own articles) are left alone.
 */
function removeSpokenAnswers(promptsDir: string, since: number): void {
  for (const lang of ['zh', 'en']) {
    const dir = join(promptsDir, lang, 'hotline');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!/^kb-.+\.wav$/.test(name)) continue;
      const file = join(dir, name);
      try {
        if (statSync(file).mtimeMs >= since - 1000) rmSync(file, { force: true });
      } catch {
        // gone already
      }
    }
  }
}

/** The real half: our prompts built (incrementally, into sounds/build), then one Asterisk per worker. */
async function startAsterisks(): Promise<AsteriskInstance[]> {
  const version = asteriskVersion();
  if (!version) throw new Error(`HOTLINE_TEST_PBX=real needs Asterisk 22: ${INSTALL_HINT}`);
  const promptsDir = join(REPO_ROOT, 'sounds', 'build');
  const started: AsteriskInstance[] = [];
  try {
    for (let i = 0; i < MAX_WORKERS; i++) {
      const rtp = 20000 + i * 2000;
      started.push(await AsteriskInstance.start({ promptsDir, label: `w${i + 1}-`, rtpPorts: [rtp, rtp + 1999] }));
    }
  } catch (err) {
    await Promise.all(started.map((a) => a.stop()));
    throw err;
  }
  console.log(`real PBX: ${version}, ${started.length} throwaway instances (${started.map((a) => a.info.ariUrl).join(', ')})`);
  return started;
}

/**
 * What the real Asterisk instances logged at ERROR during the run, apart from the start-up noise of
 * modules we do not configure: printed (counted by kind) so that a new one is seen. Some are expected
 * from the tests themselves (a transfer to a linkage trunk that has no address in the test set-up);
 * tests/integration/asterisk-start.test.ts is the assertion for our configuration.
 */
function reportAsteriskErrors(instances: AsteriskInstance[]): void {
  const counts = new Map<string, number>();
  for (const a of instances) {
    for (const line of errorsOfOurs(a.log())) {
      const kind = line.replace(/\d+(\.\d+)?/g, 'N').replace(/'[^']*'/g, "'…'");
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
  }
  if (counts.size === 0) return;
  console.log(`real PBX: ERROR lines during the run (by kind):\n${[...counts].map(([k, n]) => `  ${n} × ${k}`).join('\n')}`);
}
