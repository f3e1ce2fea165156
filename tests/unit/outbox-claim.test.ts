/**
 * Who may claim a spool folder (src/tickets/outbox.ts): the pure rule, and two
 * outboxes on one root — live neighbours are left alone, a dead one's jobs move
 * exactly once, also when two instances claim at the same moment.
 */
import { mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { isOrphaned, OWNER_FILE, TicketOutbox, type JobSink } from '../../src/tickets/outbox.js';

const here = { host: 'h1', pidAlive: (pid: number) => pid === 100, leaseMs: 30_000 };
const quiet = pino({ level: 'silent' });

describe('isOrphaned', () => {
  it('GIVEN an owner on this host WHEN its pid lives and its lease is fresh THEN the folder is not orphaned, else it is', () => {
    expect(isOrphaned({ owner: { pid: 100, host: 'h1' }, ownerAgeMs: 1000, dirName: 'x', dirAgeMs: 1e9 }, here)).toBe(false);
    expect(isOrphaned({ owner: { pid: 101, host: 'h1' }, ownerAgeMs: 1000, dirName: 'x', dirAgeMs: 0 }, here)).toBe(true);
    // pid reused by another process: the lease has run out
    expect(isOrphaned({ owner: { pid: 100, host: 'h1' }, ownerAgeMs: 31_000, dirName: 'x', dirAgeMs: 0 }, here)).toBe(true);
  });
  it('GIVEN an owner on another host (shared volume) THEN only its lease counts', () => {
    expect(isOrphaned({ owner: { pid: 101, host: 'h2' }, ownerAgeMs: 1000, dirName: 'x', dirAgeMs: 0 }, here)).toBe(false);
    expect(isOrphaned({ owner: { pid: 100, host: 'h2' }, ownerAgeMs: 31_000, dirName: 'x', dirAgeMs: 0 }, here)).toBe(true);
  });
  it('GIVEN a folder without owner file (older versions) THEN the pid its name starts with decides, else its age', () => {
    expect(isOrphaned({ owner: undefined, ownerAgeMs: undefined, dirName: '101-ab12cd34', dirAgeMs: 0 }, here)).toBe(true);
    expect(isOrphaned({ owner: undefined, ownerAgeMs: undefined, dirName: '100-ab12cd34', dirAgeMs: 0 }, here)).toBe(false);
    expect(isOrphaned({ owner: undefined, ownerAgeMs: undefined, dirName: 'first', dirAgeMs: 1000 }, here)).toBe(false);
    expect(isOrphaned({ owner: undefined, ownerAgeMs: undefined, dirName: 'first', dirAgeMs: 31_000 }, here)).toBe(true);
  });
});

function sink(): JobSink & { ids: string[] } {
  const ids: string[] = [];
  return { ids, addBulk: async (jobs) => void ids.push(...jobs.map((j) => j.opts.jobId)) };
}

function deadFolder(root: string, name: string, jobs: string[]): void {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  // pid 2^22+1 is above Linux's pid_max: never a living process
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify({ pid: 4194305, host: hostname() }));
  for (const j of jobs) writeFileSync(join(dir, `${j}.json`), JSON.stringify({ record: { callId: j }, submittedAt: 1 }));
}

describe('claiming on one spool root', () => {
  it('GIVEN two live instances and a dead one WHEN both claim at once THEN the live folders are untouched and each dead job is delivered exactly once', async () => {
    const root = mkdtempSync(join(tmpdir(), 'outbox-claim-'));
    const s1 = sink();
    const s2 = sink();
    const a = new TicketOutbox({ dir: join(root, 'a'), sink: s1, logger: quiet });
    const b = new TicketOutbox({ dir: join(root, 'b'), sink: s2, logger: quiet });
    await a.init();
    await b.init();
    // b's own job, not yet delivered (as while Redis is away)
    writeFileSync(join(root, 'b', 'call-own.json'), JSON.stringify({ record: { callId: 'own' }, submittedAt: 1 }));
    const dead = Array.from({ length: 40 }, (_, i) => `call-${i}`);
    deadFolder(root, '4194305-deadbeef', dead);

    const [ca, cb] = await Promise.all([a.claimOrphans(), b.claimOrphans()]);
    expect(ca + cb).toBe(40);
    expect(readdirSync(root).sort()).toEqual(['a', 'b']);
    expect(readdirSync(join(root, 'b'))).toContain('call-own.json');
    await Promise.all([a.flush(), b.flush()]);
    expect([...s1.ids, ...s2.ids].filter((i) => i !== 'call-own').sort()).toEqual([...dead].sort());
    expect(s2.ids).toContain('call-own');
    expect(s1.ids).not.toContain('call-own');
  });

  it('GIVEN a live neighbour whose lease is renewed WHEN another instance looks THEN it is not claimed; once the lease runs out it is', async () => {
    const root = mkdtempSync(join(tmpdir(), 'outbox-lease-'));
    const s = sink();
    const live = new TicketOutbox({ dir: join(root, 'live'), sink: sink(), logger: quiet, leaseMs: 60_000 });
    await live.init();
    writeFileSync(join(root, 'live', 'call-x.json'), JSON.stringify({ record: { callId: 'x' }, submittedAt: 1 }));
    const other = new TicketOutbox({ dir: join(root, 'other'), sink: s, logger: quiet, leaseMs: 60_000 });
    await other.init();
    expect(await other.claimOrphans()).toBe(0);
    // The owner stopped renewing two minutes ago (a hung process whose pid is still there).
    const old = new Date(Date.now() - 120_000);
    utimesSync(join(root, 'live', OWNER_FILE), old, old);
    expect(await other.claimOrphans()).toBe(1);
    await other.flush();
    expect(s.ids).toEqual(['call-x']);
  });
});
