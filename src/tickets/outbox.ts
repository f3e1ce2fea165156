/**
 * The ticket outbox: a call's end is written to a local spool before it is
 * handed to BullMQ, and removed only once Redis has accepted the job.
 *
 * @remarks
 * This is what makes "nothing lost" hold when Redis is down or restarting, and
 * when the server itself is restarted before Redis came back: the spool is
 * flushed on start and every few seconds. Enqueueing is idempotent (the job id
 * derives from the call id), so a flush that races a submit, or a job that
 * reached Redis just before a timeout, never makes a second ticket.
 */
import { mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { CallRecord } from '../calls/record.js';
import { withTimeout } from '../telephony/limits.js';
import { CALL_ENDED_JOB, ticketJobId, type CallEndedJob } from './queue.js';

export interface JobSink {
  add(name: string, data: CallEndedJob, opts: { jobId: string }): Promise<unknown>;
}

export interface TicketOutboxOptions {
  dir: string;
  sink: JobSink;
  logger: Logger;
  addTimeoutMs?: number;
  retryMs?: number;
  /**
   * How long an instance's folder stays its own without the owner renewing it (ms, default 30 s).
   * Past it — or at once when the owner's pid is gone on this host — any instance sharing the
   * spool root claims the folder's jobs.
   */
  leaseMs?: number;
}

/** The owner file of a spool folder: who writes there, renewed (its mtime) while that process lives. */
export const OWNER_FILE = 'owner.json';

interface OwnerInfo {
  pid: number;
  host: string;
  instanceId?: string;
}

/**
 * Whether a sibling spool folder is abandoned. Pure: the facts are read by the caller.
 * Live = its owner is this host's living process (pid answers) and renewed its lease in time,
 * or it is another host's and its lease is fresh (a shared volume). A folder without an owner
 * file (written by an older version, or a process that died before writing one) is judged by
 * the pid its name starts with (`<pid>-<random>`) and else by its age.
 */
export function isOrphaned(
  f: { owner: OwnerInfo | undefined; ownerAgeMs: number | undefined; dirName: string; dirAgeMs: number },
  here: { host: string; pidAlive: (pid: number) => boolean; leaseMs: number },
): boolean {
  if (f.owner) {
    if (f.ownerAgeMs !== undefined && f.ownerAgeMs > here.leaseMs) return true;
    if (f.owner.host === here.host) return !here.pidAlive(f.owner.pid);
    return false;
  }
  const pid = /^(\d+)-/.exec(f.dirName)?.[1];
  if (pid && !here.pidAlive(Number(pid))) return true;
  return f.dirAgeMs > here.leaseMs;
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class TicketOutbox {
  private timer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<number> | undefined;
  private readonly log: Logger;
  private spooled = 0;
  private lastClaim = 0;
  private readonly leaseMs: number;

  constructor(private readonly opts: TicketOutboxOptions) {
    this.log = opts.logger.child({ component: 'ticket-outbox' });
    this.leaseMs = opts.leaseMs ?? 30_000;
  }

  /** Jobs written to the spool and not yet accepted by Redis (as of the last submit/flush). */
  get pending(): number {
    return this.spooled;
  }

  async init(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    const owner: OwnerInfo = { pid: process.pid, host: hostname(), instanceId: basename(this.opts.dir) };
    await writeFile(join(this.opts.dir, OWNER_FILE), JSON.stringify(owner));
    await this.claimOrphans();
    this.spooled = (await this.files()).length;
  }

  /**
   * Move the jobs of dead instances' folders (siblings under the same root) into ours.
   *
   * @remarks
   * Each job file is moved with one rename, which is atomic: of two instances claiming the same
   * folder at once each file goes to exactly one. A job claimed from an owner that was in fact
   * alive (stalled past its lease) is at worst delivered twice, and delivery is idempotent (the
   * job id is the call's), so no ticket is doubled. Returns how many jobs were claimed.
   */
  async claimOrphans(): Promise<number> {
    this.lastClaim = Date.now();
    const root = dirname(this.opts.dir);
    const own = basename(this.opts.dir);
    let names: string[];
    try {
      names = await readdir(root);
    } catch {
      return 0;
    }
    let claimed = 0;
    for (const name of names) {
      if (name === own) continue;
      const dir = join(root, name);
      try {
        const facts = await this.folderFacts(dir, name);
        if (!facts) continue;
        if (!isOrphaned(facts, { host: hostname(), pidAlive, leaseMs: this.leaseMs })) continue;
        const moved = await this.claimFolder(dir);
        if (moved > 0) this.log.warn({ from: name, jobs: moved }, 'claimed ticket jobs of a dead instance');
        claimed += moved;
      } catch (err) {
        this.log.warn({ folder: name, err: (err as Error).message }, 'could not claim an outbox folder');
      }
    }
    return claimed;
  }

  private async renewLease(): Promise<void> {
    const now = new Date();
    await utimes(join(this.opts.dir, OWNER_FILE), now, now).catch(() => undefined);
  }

  private async folderFacts(dir: string, dirName: string) {
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) return undefined;
    const now = Date.now();
    let owner: OwnerInfo | undefined;
    let ownerAgeMs: number | undefined;
    try {
      const file = join(dir, OWNER_FILE);
      owner = JSON.parse(await readFile(file, 'utf8')) as OwnerInfo;
      ownerAgeMs = now - (await stat(file)).mtimeMs;
    } catch {
      owner = undefined;
    }
    return { owner, ownerAgeMs, dirName, dirAgeMs: now - st.mtimeMs };
  }

  private async claimFolder(dir: string): Promise<number> {
    let moved = 0;
    for (const n of await readdir(dir)) {
      if (n.endsWith('.json') && n !== OWNER_FILE) {
        try {
          await rename(join(dir, n), join(this.opts.dir, n));
          moved++;
        } catch (err) {
          // Another instance took it first.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      } else if (n.endsWith('.tmp')) {
        // A write the dead process never completed (its call's end was never acknowledged as spooled).
        await unlink(join(dir, n)).catch(() => undefined);
      }
    }
    await unlink(join(dir, OWNER_FILE)).catch(() => undefined);
    await rmdir(dir).catch(() => undefined);
    return moved;
  }

  start(): void {
    if (this.timer) return;
    const every = this.opts.retryMs ?? 2000;
    this.timer = setInterval(() => void this.flush(), every);
    this.timer.unref();
    // The lease is renewed on its own timer: a flush may take long while Redis is away.
    this.leaseTimer = setInterval(() => void this.renewLease(), Math.max(50, Math.floor(this.leaseMs / 4)));
    this.leaseTimer.unref();
    void this.flush();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.leaseTimer);
    this.timer = undefined;
    this.leaseTimer = undefined;
    await this.flushing;
  }

  /** Record a call's end durably, then try to enqueue it. Never throws for Redis trouble. */
  async submit(record: CallRecord): Promise<'queued' | 'spooled'> {
    const jobId = ticketJobId(record.callId);
    const job: CallEndedJob = { record, submittedAt: Date.now() };
    const file = join(this.opts.dir, `${jobId}.json`);
    await writeDurably(file, JSON.stringify(job));
    this.spooled++;
    return (await this.deliver(file, jobId, job)) ? 'queued' : 'spooled';
  }

  /** Try every spooled job once; returns how many are still waiting. */
  flush(): Promise<number> {
    if (!this.flushing) {
      this.flushing = this.flushOnce().finally(() => (this.flushing = undefined));
    }
    return this.flushing;
  }

  private async flushOnce(): Promise<number> {
    // Look for dead neighbours now and then (not only at start: a peer on this host may die while we run).
    if (Date.now() - this.lastClaim >= Math.min(this.leaseMs / 3, 10_000)) await this.claimOrphans();
    const names = await this.files();
    let left = 0;
    let redisAway = false;
    for (const name of names) {
      const file = join(this.opts.dir, name);
      let job: CallEndedJob;
      try {
        job = JSON.parse(await readFile(file, 'utf8')) as CallEndedJob;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        // A torn write cannot happen (rename is atomic); anything else is kept for an operator.
        this.log.error({ file: name, err: (err as Error).message }, 'unreadable outbox entry left in place');
        left++;
        continue;
      }
      if (redisAway) {
        left++;
        continue;
      }
      if (!(await this.deliver(file, name.replace(/\.json$/, ''), job))) {
        // Redis refused one: the others would wait out the same timeout each; try them next round.
        redisAway = true;
        left++;
      }
    }
    this.spooled = left;
    return left;
  }

  private async deliver(file: string, jobId: string, job: CallEndedJob): Promise<boolean> {
    try {
      await withTimeout(this.opts.sink.add(CALL_ENDED_JOB, job, { jobId }), this.opts.addTimeoutMs ?? 3000, 'enqueue ticket job');
    } catch (err) {
      this.log.warn({ jobId, err: (err as Error).message }, 'ticket job kept in outbox; Redis unavailable');
      return false;
    }
    try {
      await unlink(file);
      this.spooled = Math.max(0, this.spooled - 1);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.log.info({ jobId }, 'ticket job enqueued');
    return true;
  }

  private async files(): Promise<string[]> {
    try {
      return (await readdir(this.opts.dir)).filter((n) => n.endsWith('.json') && n !== OWNER_FILE).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}

async function writeDurably(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
