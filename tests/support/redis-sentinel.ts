/**
 * A real Redis replication set with Sentinel for failover tests: a primary and a replica
 * (redis-server, AOF on) and three Sentinels (Debian `redis-sentinel`), each on its own free
 * loopback port in a temporary directory. `killPrimary()` is the fault a machine's loss causes:
 * SIGKILL, no goodbye; the Sentinels then elect the replica.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitForRedis } from './redis-server.js';

export const SENTINEL_MASTER = 'hotline-primary';

interface Node {
  port: number;
  proc: ChildProcess;
}

export class SentinelSet {
  private readonly dir = mkdtempSync(join(tmpdir(), 'hotline-sentinel-'));
  private readonly nodes: Node[] = [];
  private readonly sentinelNodes: Node[] = [];

  private constructor(
    readonly primaryPort: number,
    readonly replicaPort: number,
  ) {}

  /** Start the set and wait until the Sentinels see the primary and its replica. */
  static async start(opts: { downAfterMs?: number } = {}): Promise<SentinelSet> {
    const set = new SentinelSet(await freePort(), await freePort());
    try {
      await set.startRedis(set.primaryPort);
      await set.startRedis(set.replicaPort, set.primaryPort);
      for (let i = 0; i < 3; i++) await set.startSentinel(opts.downAfterMs ?? 1000);
      await set.waitUntil(async (s) => {
        const replicas = (await s.call('SENTINEL', 'REPLICAS', SENTINEL_MASTER)) as string[][];
        return replicas.some((r) => r[r.indexOf('flags') + 1] === 'slave' && r[r.indexOf('master-link-status') + 1] === 'ok');
      }, 20_000, 'sentinels to see the replica');
      return set;
    } catch (err) {
      await set.stop();
      throw err;
    }
  }

  /** host:port,… for REDIS_SENTINELS. */
  get sentinels(): string {
    return this.sentinelNodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  /** The port the Sentinels currently name as primary. */
  async currentPrimaryPort(): Promise<number> {
    const s = new Redis({ port: this.sentinelNodes[0]!.port, host: '127.0.0.1', lazyConnect: true });
    try {
      await s.connect();
      const [, port] = (await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER)) as [string, string];
      return Number(port);
    } finally {
      s.disconnect();
    }
  }

  /** SIGKILL the current primary; resolves when the Sentinels have promoted the replica (ms taken). */
  async killPrimary(timeoutMs = 30_000): Promise<{ switchMs: number; newPrimaryPort: number }> {
    const old = await this.currentPrimaryPort();
    const node = this.nodes.find((n) => n.port === old)!;
    const t0 = Date.now();
    node.proc.kill('SIGKILL');
    await new Promise((r) => node.proc.once('exit', r));
    let next = old;
    await this.waitUntil(async () => {
      next = await this.currentPrimaryPort();
      if (next === old) return false;
      const r = new Redis({ port: next, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await r.connect();
        return ((await r.call('ROLE')) as string[])[0] === 'master';
      } catch {
        return false;
      } finally {
        r.disconnect();
      }
    }, timeoutMs, 'the replica to be promoted');
    return { switchMs: Date.now() - t0, newPrimaryPort: next };
  }

  /**
   * Start a killed node again on its port (its AOF is still there); the Sentinels turn it into a
   * replica of the current primary. Resolves once it replicates.
   */
  async restartNode(port: number, timeoutMs = 30_000): Promise<void> {
    const i = this.nodes.findIndex((n) => n.port === port);
    if (i < 0 || this.nodes[i]!.proc.exitCode === null && this.nodes[i]!.proc.signalCode === null) throw new Error(`node ${port} is not stopped`);
    this.nodes.splice(i, 1);
    await this.startRedis(port);
    await this.waitUntil(async (s) => {
      const replicas = (await s.call('SENTINEL', 'REPLICAS', SENTINEL_MASTER)) as string[][];
      return replicas.some((r) => Number(r[r.indexOf('port') + 1]) === port && r[r.indexOf('master-link-status') + 1] === 'ok' && !r[r.indexOf('flags') + 1]!.includes('down'));
    }, timeoutMs, `node ${port} to replicate the new primary`);
  }

  async stop(): Promise<void> {
    for (const n of [...this.sentinelNodes, ...this.nodes]) {
      if (n.proc.exitCode === null && n.proc.signalCode === null) {
        n.proc.kill('SIGKILL');
        await new Promise((r) => n.proc.once('exit', r));
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async startRedis(port: number, replicaOf?: number): Promise<void> {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', this.dir, '--appendfilename', `aof-${port}.aof`, '--appenddirname', `aof-${port}`, '--dbfilename', `dump-${port}.rdb`];
    if (replicaOf) args.push('--replicaof', '127.0.0.1', String(replicaOf));
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    this.nodes.push({ port, proc });
    await waitForRedis(`redis://127.0.0.1:${port}`, 10_000);
  }

  private async startSentinel(downAfterMs: number): Promise<void> {
    const port = await freePort();
    const conf = join(this.dir, `sentinel-${port}.conf`);
    // Sentinel rewrites its own file (it learns replicas and peers), so each gets a writable copy.
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${this.primaryPort} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER} ${downAfterMs}`,
        `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
        `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
        '',
      ].join('\n'),
    );
    const proc = spawn('redis-sentinel', [conf], { stdio: 'ignore' });
    this.sentinelNodes.push({ port, proc });
    await waitForRedis(`redis://127.0.0.1:${port}`, 10_000);
  }

  private async waitUntil(check: (sentinel: Redis) => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const s = new Redis({ port: this.sentinelNodes[0]!.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    s.on('error', () => undefined);
    const deadline = Date.now() + timeoutMs;
    try {
      await s.connect();
      while (Date.now() < deadline) {
        if (await check(s).catch(() => false)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      s.disconnect();
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}
