/**
 * Vitest global setup: a real, throwaway redis-server for the whole run.
 *
 * If REDIS_URL is set we use that server instead. If neither REDIS_URL nor a
 * `redis-server` binary on PATH is available, the run fails with one clear line:
 * these tests never fall back to a mock.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type {} from 'vitest';
import { freePort, waitForRedis } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** A temporary directory for this run's files (outbox spools …), removed at the end. */
    runDir: string;
  }
}

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
  return async () => {
    rmSync(runDir, { recursive: true, force: true });
    if (child) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}
