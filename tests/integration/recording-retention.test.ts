/**
 * Retention with a controllable clock: the BullMQ scheduler runs the
 * retention job, which deletes recordings past retention (file + metadata,
 * audited) and keeps those on legal hold; files that appeared late get their
 * size and checksum on the same run.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { AuditLog } from '../../src/access/audit.js';
import { createLogger } from '../../src/log/logger.js';
import { createRecordingJobs, RETENTION_JOB, type RecordingJobs } from '../../src/recording/jobs.js';
import { recordingName, type RecordingMeta } from '../../src/recording/model.js';
import { RecordingService } from '../../src/recording/service.js';
import { RecordingStore } from '../../src/recording/store.js';
import { logSink } from '../support/log-capture.js';
import { uniquePrefix } from '../support/pbx.js';
import { eventually } from '../support/wait.js';

const DAY = 86_400_000;
const log = createLogger({ level: 'info', destination: logSink });
let redis: Redis;
let dir: string;
let jobs: RecordingJobs | undefined;

function connection() {
  const u = new URL(inject('redisUrl'));
  return { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
}

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
  dir = mkdtempSync(join(tmpdir(), 'hotline-rec-ret-'));
});

afterEach(async () => {
  await jobs?.close();
  jobs = undefined;
});

afterAll(() => {
  redis?.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

function setup(retentionDays = 30) {
  const prefix = uniquePrefix('recret');
  let clock = Date.UTC(2026, 0, 1);
  const store = new RecordingStore(redis, prefix);
  const audit = new AuditLog(redis, prefix);
  const service = new RecordingService({
    telephony: { recordBridge: async () => undefined, stopRecording: async () => undefined },
    store,
    log,
    recordingsDir: dir,
    retentionDays,
    audit,
    now: () => clock,
  });
  async function recording(callId: string, startedAt: number, file = true): Promise<RecordingMeta> {
    const m: RecordingMeta = { name: recordingName(callId, 1), callId, segment: 1, bridgeId: `call-${callId}`, agentId: '1001', format: 'wav', state: 'done', announced: true, startedAt, legalHold: false };
    expect(await store.create(m)).toBe(true);
    if (file) writeFileSync(join(dir, `${m.name}.wav`), `audio of ${callId}`);
    return m;
  }
  return {
    prefix,
    store,
    audit,
    service,
    recording,
    get clock() {
      return clock;
    },
    set clock(v: number) {
      clock = v;
    },
  };
}

describe('recording retention', () => {
  it('GIVEN recordings past retention WHEN the scheduled job runs THEN expired ones are deleted (file, metadata, audited) and held ones kept', async () => {
    const t = setup(30);
    const start = t.clock;
    const old = await t.recording(`old-${t.prefix}`, start);
    const held = await t.recording(`held-${t.prefix}`, start);
    await t.service.linkTicket(held.callId, '0632202601010042');
    expect(await t.service.setLegalHold(held.name, 'sup', '信访争议')).toBe('ok');
    const recent = await t.recording(`new-${t.prefix}`, start + 20 * DAY);

    // WHEN the clock passes 30 days for the first two (not the third) and the repeatable job fires
    t.clock = start + 31 * DAY;
    jobs = createRecordingJobs({ connection: connection(), prefix: t.prefix, service: t.service, log, now: () => t.clock, retentionSchedule: { everyMs: 200 } });
    await jobs.schedule();
    expect((await jobs.queue.getJobSchedulers()).map((s) => s.key)).toContain(RETENTION_JOB);

    // THEN
    await eventually(async () => expect(await t.store.get(old.name)).toBeUndefined(), 10_000);
    expect(existsSync(join(dir, `${old.name}.wav`))).toBe(false);
    expect(await t.service.byCall(old.callId)).toEqual([]);
    expect(await t.store.get(held.name)).toMatchObject({ legalHold: true, legalHoldBy: 'sup' });
    expect(existsSync(join(dir, `${held.name}.wav`))).toBe(true);
    expect(await t.store.get(recent.name)).toBeDefined();
    expect(existsSync(join(dir, `${recent.name}.wav`))).toBe(true);
    expect(await t.audit.query({ action: 'recording-deleted' })).toEqual([
      expect.objectContaining({ actor: 'system', target: `call:${old.callId}`, detail: 'seg1: retention 30 d' }),
    ]);

    // WHEN the hold is cleared THEN the next run deletes it, and its ticket no longer lists it
    expect(await t.service.clearLegalHold(held.name)).toBe('ok');
    await eventually(async () => expect(await t.store.get(held.name)).toBeUndefined(), 10_000);
    expect(existsSync(join(dir, `${held.name}.wav`))).toBe(false);
    expect(await t.service.byTicket('0632202601010042')).toEqual([]);
    expect(await t.store.get(recent.name)).toBeDefined();
  });

  it('GIVEN a finished recording whose file appears late WHEN the job runs THEN size and checksum are filled', async () => {
    const t = setup(30);
    const m = await t.recording(`late-${t.prefix}`, t.clock, false);
    await t.service.onEvent({ type: 'RecordingFinished', name: m.name, targetUri: `bridge:${m.bridgeId}`, durationSec: 42 });
    expect(await t.store.get(m.name)).toMatchObject({ state: 'done', durationSec: 42 });
    expect((await t.store.get(m.name))?.sha256).toBeUndefined();
    expect(await t.store.filePending()).toEqual([m.name]);

    writeFileSync(join(dir, `${m.name}.wav`), Buffer.alloc(321, 7));
    jobs = createRecordingJobs({ connection: connection(), prefix: t.prefix, service: t.service, log, now: () => t.clock });
    await jobs.runRetentionNow();

    await eventually(async () => expect(await t.store.get(m.name)).toMatchObject({ size: 321, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }), 10_000);
    expect(await t.store.filePending()).toEqual([]);
  });

  it('GIVEN a held recording WHEN deletion is attempted directly THEN it is refused; a deletion in progress cannot be put on hold', async () => {
    const t = setup(1);
    const m = await t.recording(`race-${t.prefix}`, t.clock);
    await t.service.setLegalHold(m.name, 'sup', '复核取证');
    expect(await t.service.deleteRecording((await t.store.get(m.name))!, 'sup', 'manual')).toBe('held');
    await t.service.clearLegalHold(m.name);
    expect(await t.store.claimForDeletion(m.name)).toBe('ok');
    expect(await t.service.setLegalHold(m.name, 'sup', '复核取证')).toBe('deleting');
    await t.store.releaseClaim(m.name);
    expect(await t.service.setLegalHold(m.name, 'sup', '复核取证')).toBe('ok');
  });

  it('with no retention configured nothing is ever deleted', async () => {
    const t = setup(0);
    const m = await t.recording(`keep-${t.prefix}`, t.clock);
    t.clock += 3650 * DAY;
    expect(await t.service.purgeExpired()).toEqual({ deleted: [], held: [], failed: [] });
    expect(await t.store.get(m.name)).toBeDefined();
  });
});
