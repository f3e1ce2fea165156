/**
 * Recording playback over HTTP (app.inject, real Redis, the real access
 * plugin): range requests (200/206/416), every play and download audited,
 * agents limited to their own calls, legal hold for supervisors, gaps listed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { AuditLog } from '../../src/access/audit.js';
import { UserStore } from '../../src/access/users.js';
import { errorHandler } from '../../src/http/errors.js';
import { accessPlugin } from '../../src/http/plugins/access.js';
import { defaultCanPlay, recordingRoutes } from '../../src/http/routes/recordings.js';
import { createLogger } from '../../src/log/logger.js';
import { recordingName, type RecordingMeta } from '../../src/recording/model.js';
import { RecordingService } from '../../src/recording/service.js';
import { RecordingStore } from '../../src/recording/store.js';
import type { Telephony } from '../../src/telephony/port.js';
import { logSink } from '../support/log-capture.js';
import { uniquePrefix } from '../support/pbx.js';
import { auditRoutes, loginAs, TEST_PASSWORD } from '../support/route-audit.js';

let redis: Redis;
let http: FastifyInstance;
let dir: string;
let audit: AuditLog;
let store: RecordingStore;
let service: RecordingService;
const tokens: Record<string, string> = {};
const log = createLogger({ level: 'info', destination: logSink });
// No PBX here: playback only reads files and metadata. A start would be refused loudly.
const noTelephony: Pick<Telephony, 'recordBridge' | 'stopRecording'> = {
  recordBridge: async () => {
    throw new Error('not in this test');
  },
  stopRecording: async () => undefined,
};

const CALL = '1795336287.172503';
const NAME = recordingName(CALL, 1);
const AUDIO = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

function meta(over: Partial<RecordingMeta> = {}): RecordingMeta {
  return { name: NAME, callId: CALL, segment: 1, bridgeId: `call-${CALL}`, agentId: '1001', format: 'wav', state: 'done', announced: true, startedAt: Date.now(), legalHold: false, ...over };
}

const auth = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  const prefix = uniquePrefix('rechttp');
  dir = mkdtempSync(join(tmpdir(), 'hotline-rec-http-'));
  audit = new AuditLog(redis, prefix);
  store = new RecordingStore(redis, prefix);
  service = new RecordingService({ telephony: noTelephony, store, log, recordingsDir: dir, audit });
  const users = new UserStore(redis, prefix);
  http = Fastify({ loggerInstance: log }) as unknown as FastifyInstance;
  http.setErrorHandler(errorHandler);
  await http.register(accessPlugin, { redis, keyPrefix: prefix, users, audit, jwtSecret: 'r'.repeat(40), cookieSecure: false, apiRatePerMinute: 10_000, lookupNumber: async () => undefined });
  await http.register(recordingRoutes, { service, audit, canPlay: defaultCanPlay });
  await http.ready();
  const people: [string, NonNullable<Parameters<UserStore['create']>[0]>['roles'], string?][] = [
    ['sup', ['supervisor']],
    ['qa', ['inspector']],
    ['ag1', ['agent'], '1001'],
    ['ag2', ['agent'], '1002'],
    ['unit1', ['unit']],
  ];
  for (const [username, roles, agentId] of people) {
    await users.create({ username, roles, password: TEST_PASSWORD, ...(agentId ? { agentId } : {}), ...(roles.includes('unit') ? { unitId: 'u1' } : {}) });
    tokens[username] = (await loginAs(http, username)).token;
  }
  await store.create(meta());
  await store.linkTicket(CALL, '0632202601010009');
  writeFileSync(join(dir, `${NAME}.wav`), AUDIO);
  await service.fillFileInfo(NAME);
});

afterAll(async () => {
  await http?.close();
  redis?.disconnect();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function plays(action = 'recording-played') {
  return (await audit.query({ action, target: `call:${CALL}` })).length;
}

describe('recording playback', () => {
  it('every route refuses anonymous callers, forged tokens and roles it does not allow', async () => {
    const report = await auditRoutes(http, (r) => (r.url.includes(':name') ? { url: r.url.replace(':name', NAME) } : undefined));
    // the access plugin's own routes plus our six
    expect(report.checked).toBeGreaterThanOrEqual(6);
    expect(http.accessRoutes().filter((r) => r.url.startsWith('/api/recordings')).map((r) => `${r.method} ${r.url}`).sort()).toEqual([
      'DELETE /api/recordings/:name/legal-hold',
      'GET /api/recordings',
      'GET /api/recordings/:name',
      'GET /api/recordings/:name/audio',
      'GET /api/recordings/gaps',
      'PUT /api/recordings/:name/legal-hold',
    ]);
  });

  it('GIVEN a supervisor WHEN listing by call or ticket THEN the segment shows without server paths', async () => {
    for (const q of [`callId=${CALL}`, 'ticketNo=0632202601010009']) {
      const r = await http.inject({ url: `/api/recordings?${q}`, headers: auth('sup') });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json().recordings).toEqual([expect.objectContaining({ name: NAME, callId: CALL, ticketNo: '0632202601010009', size: 1000, sha256: expect.any(String), legalHold: false })]);
      expect(r.json().recordings[0].filePath).toBeUndefined();
    }
    const bad = await http.inject({ url: '/api/recordings', headers: auth('sup') });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('callId');
  });

  it('WHEN a supervisor plays the whole file THEN 200 with Accept-Ranges and one audit entry', async () => {
    const before = await plays();
    const r = await http.inject({ url: `/api/recordings/${NAME}/audio`, headers: auth('sup') });
    expect(r.statusCode).toBe(200);
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers['content-type']).toBe('audio/wav');
    expect(r.headers['content-length']).toBe('1000');
    expect(r.rawPayload.equals(AUDIO)).toBe(true);
    expect(await plays()).toBe(before + 1);
    const [entry] = await audit.query({ action: 'recording-played', target: `call:${CALL}`, limit: 1 });
    expect(entry).toMatchObject({ actor: 'sup', detail: 'seg1 ticket 0632202601010009 bytes 0-999/1000' });
  });

  it('WHEN an inspector seeks with Range THEN 206 with the right Content-Range and bytes, each request audited', async () => {
    const before = await plays();
    const cases: [string, number, number][] = [
      ['bytes=100-199', 100, 199],
      ['bytes=900-', 900, 999],
      ['bytes=-10', 990, 999],
      ['bytes=990-5000', 990, 999],
    ];
    for (const [range, start, end] of cases) {
      const r = await http.inject({ url: `/api/recordings/${NAME}/audio`, headers: { ...auth('qa'), range } });
      expect(r.statusCode, range).toBe(206);
      expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/1000`);
      expect(r.headers['content-length']).toBe(String(end - start + 1));
      expect(r.rawPayload.equals(AUDIO.subarray(start, end + 1)), range).toBe(true);
    }
    expect(await plays()).toBe(before + cases.length);
  });

  it('WHEN the range is unsatisfiable or malformed THEN 416 with bytes */size and nothing audited', async () => {
    const before = await plays();
    for (const range of ['bytes=1000-', 'bytes=500-100', 'bytes=abc']) {
      const r = await http.inject({ url: `/api/recordings/${NAME}/audio`, headers: { ...auth('qa'), range } });
      expect(r.statusCode, range).toBe(416);
      expect(r.headers['content-range']).toBe('bytes */1000');
      expect(r.json().error.code).toBe('range-not-satisfiable');
    }
    expect(await plays()).toBe(before);
  });

  it('WHEN downloaded THEN an attachment, audited as a download', async () => {
    const before = await plays('recording-downloaded');
    const r = await http.inject({ url: `/api/recordings/${NAME}/audio?download=1`, headers: auth('sup') });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-disposition']).toBe(`attachment; filename="${NAME}.wav"`);
    expect(await plays('recording-downloaded')).toBe(before + 1);
  });

  it('GIVEN two agents THEN only the one who took the call may list and play it', async () => {
    const before = await plays();
    const own = await http.inject({ url: `/api/recordings/${NAME}/audio`, headers: { ...auth('ag1'), range: 'bytes=0-9' } });
    expect(own.statusCode).toBe(206);
    expect(await plays()).toBe(before + 1);
    const other = await http.inject({ url: `/api/recordings/${NAME}/audio`, headers: auth('ag2') });
    expect(other.statusCode).toBe(403);
    expect((await http.inject({ url: `/api/recordings?callId=${CALL}`, headers: auth('ag2') })).json().recordings).toEqual([]);
    expect((await http.inject({ url: `/api/recordings/${NAME}`, headers: auth('ag2') })).statusCode).toBe(403);
    expect((await http.inject({ url: `/api/recordings/${NAME}/audio`, headers: auth('unit1') })).statusCode).toBe(403);
    expect(await plays()).toBe(before + 1);
  });

  it('refuses a recording still in progress (409), a missing file (404) and an unknown name (404)', async () => {
    const live = recordingName(CALL, 2);
    await store.create(meta({ name: live, segment: 2, state: 'recording' }));
    expect((await http.inject({ url: `/api/recordings/${live}/audio`, headers: auth('sup') })).statusCode).toBe(409);
    await store.update(live, { state: 'done' });
    const missing = await http.inject({ url: `/api/recordings/${live}/audio`, headers: auth('sup') });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('recording-file-missing');
    expect((await http.inject({ url: `/api/recordings/${recordingName('nobody', 1)}/audio`, headers: auth('sup') })).statusCode).toBe(404);
    expect((await http.inject({ url: '/api/recordings/..%2Fetc%2Fpasswd/audio', headers: auth('sup') })).statusCode).toBe(400);
  });

  it('GIVEN a supervisor WHEN legal hold is set and cleared THEN the flag follows, audited; inspectors and agents may not', async () => {
    expect((await http.inject({ method: 'PUT', url: `/api/recordings/${NAME}/legal-hold`, headers: auth('qa'), payload: { reason: '投诉复核取证' } })).statusCode).toBe(403);
    const short = await http.inject({ method: 'PUT', url: `/api/recordings/${NAME}/legal-hold`, headers: auth('sup'), payload: { reason: 'x' } });
    expect(short.statusCode).toBe(400);
    expect(short.json().error.field).toBe('reason');
    const set = await http.inject({ method: 'PUT', url: `/api/recordings/${NAME}/legal-hold`, headers: auth('sup'), payload: { reason: '信访争议，保全证据' } });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json().recording).toMatchObject({ legalHold: true, legalHoldBy: 'sup', legalHoldReason: '信访争议，保全证据' });
    expect(await audit.query({ action: 'recording-legal-hold-set', target: `call:${CALL}` })).toHaveLength(1);
    const cleared = await http.inject({ method: 'DELETE', url: `/api/recordings/${NAME}/legal-hold`, headers: auth('sup') });
    expect(cleared.json().recording.legalHold).toBe(false);
    expect(await audit.query({ action: 'recording-legal-hold-cleared', target: `call:${CALL}` })).toHaveLength(1);
  });

  it('GIVEN a gap WHEN a supervisor opens the gaps list THEN it shows with the counter', async () => {
    await service.gap({ callId: 'c-gap', segment: 1, name: recordingName('c-gap', 1), reason: 'start-failed: not-found: Bridge not found' });
    const r = await http.inject({ url: '/api/recordings/gaps', headers: auth('sup') });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ count: 1, gaps: [{ callId: 'c-gap', reason: expect.stringContaining('not-found') }] });
  });
});
