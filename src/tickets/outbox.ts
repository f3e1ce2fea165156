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
 *
 * Group commit: the submits that arrive while one group is being written (or in the linger before
 * the first, `lingerMs`) go together into the next group — one spool file, one fsync, one BullMQ
 * `addBulk` (a single pipelined round trip) for all of them. A submit still
 * resolves only after its job is durable on disk (and delivered, or kept for a
 * retry), so the guarantee per call is the one a file per job gave; only the
 * fsyncs are shared. Spools of the older one-file-per-job format are still
 * read by the flush.
 *
 * Orphans: each instance's folder carries an owner file (pid, host) renewed as a lease; whoever
 * starts next on the host (and running instances, now and then) claims dead instances' folders,
 * moving each spool file with one atomic rename.
 */
import { mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { CallRecord } from '../calls/record.js';
import { withTimeout } from '../telephony/limits.js';
import { CALL_ENDED_JOB, ticketJobId, type CallEndedJob } from './queue.js';

export interface BulkJob {
  name: string;
  data: CallEndedJob;
  opts: { jobId: string };
}

/** A sink's refusal that means: the jobs reached Redis, but not enough replicas hold them yet. */
export class UnconfirmedError extends Error {
  override readonly name = 'UnconfirmedError';
}

export interface JobSink {
  /** All or nothing is not required: ids make a repeated add a no-op, so a retry after a partial add is safe. */
  addBulk(jobs: BulkJob[]): Promise<unknown>;
}

export interface TicketOutboxOptions {
  dir: string;
  sink: JobSink;
  logger: Logger;
  addTimeoutMs?: number;
  retryMs?: number;
  /** Largest group written and enqueued at once. */
  maxGroup?: number;
  /**
   * How long the first submit of a quiet moment waits for others to share its group (ms, default 0):
   * PostgreSQL's commit_delay. At 100 calls/s each group of one cost a file, an fsync, an `addBulk`
   * round trip and a log line; 50 ms makes groups of about five.
   */
  lingerMs?: number;
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


interface Waiting {
  jobId: string;
  job: CallEndedJob;
  /** Called once the job is on disk. */
  durable: () => void;
  resolve: (r: 'queued' | 'spooled') => void;
  reject: (err: Error) => void;
}

/** A spool file and the jobs it holds. */
interface Entry {
  jobId: string;
  job: CallEndedJob;
}

const BATCH_SUFFIX = '.jsonl';
const LEGACY_SUFFIX = '.json';
const noop = (): void => undefined;

export class TicketOutbox {
  private timer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private lastClaim = 0;
  /** The last failed delivery reached Redis but too few replicas (not a reason to stop the round). */
  private lastUnconfirmed = false;
  private readonly leaseMs: number;
  private flushing: Promise<number> | undefined;
  private readonly log: Logger;
  private spooled = 0;
  /** Submits waiting for the next group commit. */
  private waiting: Waiting[] = [];
  private committing: Promise<void> | undefined;
  /** Spool files whose delivery is under way (the periodic flush leaves them alone). */
  private readonly inFlight = new Set<string>();
  private readonly deliveries = new Set<Promise<unknown>>();
  private seq = 0;

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
    let n = 0;
    for (const name of await this.files()) n += (await this.read(name))?.length ?? 1;
    this.spooled = n;
  }

  /**
   * Move the jobs of dead instances' folders (siblings under the same root) into ours.
   *
   * @remarks
   * Each spool file (one job, or a group) is moved with one rename, which is atomic: of two instances claiming the same
   * folder at once each file goes to exactly one. A job claimed from an owner that was in fact
   * alive (stalled past its lease) is at worst delivered twice, and delivery is idempotent (the
   * job id is the call's), so no ticket is doubled. Returns how many spool files were claimed.
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
      if ((n.endsWith(LEGACY_SUFFIX) || n.endsWith(BATCH_SUFFIX)) && n !== OWNER_FILE) {
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
    await this.committing;
    await Promise.allSettled([...this.deliveries]);
    await this.flushing;
  }

  /**
   * Record a call's end durably, then try to enqueue it. Resolves once the job is on disk (fsynced)
   * and Redis accepted it ('queued') or refused/timed out ('spooled': a later flush retries).
   * Rejects only when the spool cannot be written. Never throws for Redis trouble.
   */
  submit(record: CallRecord): Promise<'queued' | 'spooled'> {
    return new Promise((resolve, reject) => this.enqueue(record, { durable: noop, resolve, reject }));
  }

  /**
   * Record a call's end durably. Resolves as soon as the job is on disk (fsynced): from then on it
   * reaches Redis — now, or through a later flush, also after a restart — whatever happens to this
   * process, so a caller that only needs the call's end to be safe (the call path) does not wait for
   * Redis too. Rejects only when the spool cannot be written.
   */
  spool(record: CallRecord): Promise<void> {
    return new Promise((durable, reject) => this.enqueue(record, { durable, resolve: noop, reject }));
  }

  private enqueue(record: CallRecord, w: Pick<Waiting, 'durable' | 'resolve' | 'reject'>): void {
    this.waiting.push({ jobId: ticketJobId(record.callId), job: { record, submittedAt: Date.now() }, ...w });
    if (!this.committing) this.committing = this.commitGroups().finally(() => (this.committing = undefined));
  }

  /** Write the waiting submits group by group; each group's delivery overlaps the next group's write. */
  private async commitGroups(): Promise<void> {
    const max = this.opts.maxGroup ?? 500;
    const linger = this.opts.lingerMs ?? 0;
    if (linger > 0 && this.waiting.length < max) await new Promise((r) => setTimeout(r, linger));
    while (this.waiting.length) {
      const group = this.waiting.splice(0, max);
      // Names sort in submission order (time, then a sequence within this process).
      const name = `batch-${Date.now().toString().padStart(14, '0')}-${process.pid}-${String(++this.seq).padStart(9, '0')}${BATCH_SUFFIX}`;
      const file = join(this.opts.dir, name);
      try {
        await writeDurably(file, group.map((w) => JSON.stringify({ jobId: w.jobId, job: w.job } satisfies Entry)).join('\n') + '\n');
      } catch (err) {
        for (const w of group) w.reject(err as Error);
        continue;
      }
      this.spooled += group.length;
      for (const w of group) w.durable();
      this.inFlight.add(name);
      const d = this.deliver(file, group)
        .then((ok) => {
          for (const w of group) w.resolve(ok ? 'queued' : 'spooled');
        })
        .finally(() => {
          this.inFlight.delete(name);
          this.deliveries.delete(d);
        });
      this.deliveries.add(d);
    }
  }

  /** Try every spooled job once; returns how many are still waiting. */
  flush(): Promise<number> {
    if (!this.flushing) {
      // A spool folder that cannot be read (gone, replaced, a disk error) is logged and tried again
      // next round; it must never become an unhandled rejection of the periodic flush.
      this.flushing = this.flushOnce()
        .catch((err: Error) => {
          this.log.error({ dir: this.opts.dir, err: err.message }, 'ticket outbox spool unreadable; trying again next round');
          return this.spooled;
        })
        .finally(() => (this.flushing = undefined));
    }
    return this.flushing;
  }

  private async flushOnce(): Promise<number> {
    // Look for dead neighbours now and then (not only at start: a peer on this host may die while we run).
    if (Date.now() - this.lastClaim >= Math.min(this.leaseMs / 3, 10_000)) await this.claimOrphans();
    const names = (await this.files()).filter((n) => !this.inFlight.has(n));
    let left = 0;
    let redisAway = false;
    for (const name of names) {
      const entries = await this.read(name);
      if (entries === undefined) {
        left++;
        continue;
      }
      if (redisAway) {
        left += entries.length;
        continue;
      }
      if (!(await this.deliver(join(this.opts.dir, name), entries, false))) {
        // Redis refused one: the others would wait out the same timeout each; try them next round.
        redisAway = !this.lastUnconfirmed;
        left += entries.length;
      }
    }
    let inFlightJobs = 0;
    // Groups still being delivered by their submit are counted by it; add what they hold.
    for (const name of this.inFlight) inFlightJobs += (await this.read(name))?.length ?? 0;
    this.spooled = left + inFlightJobs;
    return left;
  }

  /** The jobs of a spool file; [] if it is gone; undefined if unreadable (kept for an operator). */
  private async read(name: string): Promise<Entry[] | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.opts.dir, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      this.log.error({ file: name, err: (err as Error).message }, 'unreadable outbox entry left in place');
      return undefined;
    }
    try {
      if (name.endsWith(LEGACY_SUFFIX)) return [{ jobId: name.slice(0, -LEGACY_SUFFIX.length), job: JSON.parse(text) as CallEndedJob }];
      return text
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Entry);
    } catch (err) {
      // A torn write cannot happen (rename is atomic); anything else is kept for an operator.
      this.log.error({ file: name, err: (err as Error).message }, 'unreadable outbox entry left in place');
      return undefined;
    }
  }

  private async deliver(file: string, entries: Entry[], counted = true): Promise<boolean> {
    if (entries.length) {
      try {
        await withTimeout(
          this.opts.sink.addBulk(entries.map((e) => ({ name: CALL_ENDED_JOB, data: e.job, opts: { jobId: e.jobId } }))),
          this.opts.addTimeoutMs ?? 3000,
          'enqueue ticket jobs',
        );
      } catch (err) {
        // Added but not yet held by enough replicas (REDIS_REPLICA_ACKS): Redis itself answers, so the
        // other spool files are still worth trying this round.
        this.lastUnconfirmed = err instanceof UnconfirmedError;
        this.log.warn({ jobs: entries.length, first: entries[0]!.jobId, err: (err as Error).message }, this.lastUnconfirmed ? 'ticket jobs kept in outbox until replicas hold them' : 'ticket jobs kept in outbox; Redis unavailable');
        return false;
      }
    }
    try {
      await unlink(file);
      if (counted) this.spooled = Math.max(0, this.spooled - entries.length);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // One line per group: a line per job cost more than the job at a few hundred calls a second.
    this.log.info({ jobs: entries.length, jobIds: entries.length <= 4 ? entries.map((e) => e.jobId) : undefined, first: entries[0]?.jobId, last: entries.at(-1)?.jobId }, 'ticket jobs enqueued');
    return true;
  }

  private async files(): Promise<string[]> {
    try {
      return (await readdir(this.opts.dir)).filter((n) => (n.endsWith(LEGACY_SUFFIX) || n.endsWith(BATCH_SUFFIX)) && n !== OWNER_FILE).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}

/**
 * Write a spool file so that it survives a crash of the process and of the machine: the content is
 * on disk before the rename makes it visible under its name (a reader never sees half a file).
 * fdatasync, not fsync: it flushes the data and what is needed to read it back (the size), not
 * timestamps — on this project's ext4 ≈ 1 ms instead of 3–4 ms per group, the same choice as
 * PostgreSQL's WAL on Linux.
 */
async function writeDurably(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(content);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
