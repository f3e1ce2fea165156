/**
 * Helpers to run real redis-server processes in tests (the shared one from
 * global setup, and private ones for tests that stop and restart Redis).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForRedis(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    try {
      await r.connect();
      if ((await r.ping()) === 'PONG') {
        r.disconnect();
        return;
      }
    } catch (err) {
      lastError = err;
    }
    r.disconnect();
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`redis at ${url} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

/** A private redis-server a test may stop and start again on the same port. */
export class OwnRedis {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'hotline-own-redis-'));
  constructor(readonly port: number) {}

  static async create(): Promise<OwnRedis> {
    const own = new OwnRedis(await freePort());
    await own.start();
    return own;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', this.dir],
      { stdio: 'ignore' },
    );
    await waitForRedis(this.url, 10_000);
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null) return;
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));
  }

  /**
   * Stop it the way an operator or a crash-restart would: the SHUTDOWN command (`NOSAVE` skips the
   * RDB snapshot; the append-only file is kept either way), and wait until the process is gone.
   */
  async shutdown(mode: 'SAVE' | 'NOSAVE'): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    const admin = new Redis(this.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    admin.on('error', () => undefined);
    // The server closes the connection instead of answering.
    await admin.call('SHUTDOWN', mode).catch(() => undefined);
    admin.disconnect();
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Delete every key under the given prefixes (tests share one redis-server; each cleans up its own). */
export async function deletePrefixes(url: string, prefixes: readonly string[]): Promise<void> {
  const admin = new Redis(url);
  try {
    for (const p of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${p}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length) await admin.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    admin.disconnect();
  }
}
