/**
 * Quality inspection end to end over HTTP (real Redis, the real access
 * plugin): a supervisor runs the sampling of a day, an inspector opens a
 * sampled call, plays its recording (audited), scores it on the form, and the
 * agent's score appears in the supervisor's summary per agent and seat group.
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
import { callInfoFromTickets, qualityRoutes } from '../../src/http/routes/quality.js';
import { recordingRoutes } from '../../src/http/routes/recordings.js';
import { createLogger } from '../../src/log/logger.js';
import { recordingName } from '../../src/recording/model.js';
import { QualityService, shanghaiDayStart, type SampleCandidate } from '../../src/recording/quality.js';
import { RecordingService } from '../../src/recording/service.js';
import { RecordingStore } from '../../src/recording/store.js';
import type { StoredTicket } from '../../src/tickets/store.js';
import { logSink } from '../support/log-capture.js';
import { uniquePrefix } from '../support/pbx.js';
import { auditRoutes, loginAs, TEST_PASSWORD } from '../support/route-audit.js';

const log = createLogger({ level: 'info', destination: logSink });
const DAY0 = shanghaiDayStart(Date.UTC(2026, 2, 10, 4));
let redis: Redis;
let http: FastifyInstance;
let dir: string;
let audit: AuditLog;
let quality: QualityService;
const tokens: Record<string, string> = {};
const auth = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

const CALLER = '13912345678';

/** The ticket store as the inspectors' call view reads it: every call of the day has a ticket carrying the full number. */
const ticketsOfDay = {
  byCall: async (callId: string) => (day().some((c) => c.callId === callId) ? `06322026031000${String(day().findIndex((c) => c.callId === callId)).padStart(2, '0')}` : undefined),
  get: async (ticketNo: string) => {
    const c = day()[Number(ticketNo.slice(-2))]!;
    return {
      ticketNo, callId: c.callId, createdAt: c.at + 300_000, status: 'created', units: ['city-management'], callbacks: [], version: 0,
      record: { callId: c.callId, caller: { number: CALLER, name: '张三' }, dialed: '12345', source: 'carrier', route: { id: 'hotline', mode: 'hotline' }, startedAt: c.at - 30_000, agentAnsweredAt: c.at, endedAt: c.at + 185_000, agents: [c.agentId], handoffs: [], path: [], survey: { rating: 2, at: c.at + 190_000 } },
      form: { category: 'help', requesterKind: 'citizen', summary: `路灯损坏，请回电 ${CALLER}`, unitSuggestion: '', by: c.agentId, at: c.at + 60_000 },
    } as unknown as StoredTicket;
  },
};

/** A day of calls: agent 1001 (general) took 20, agent 2001 (enterprise) 5, one of them a complaint. */
function day(): SampleCandidate[] {
  const out: SampleCandidate[] = [];
  for (let i = 0; i < 20; i++) out.push({ callId: `q1001-${i}`, agentId: '1001', group: 'general', at: DAY0 + 3_600_000 + i * 60_000 });
  for (let i = 0; i < 5; i++) out.push({ callId: `q2001-${i}`, agentId: '2001', group: 'enterprise', at: DAY0 + 7_200_000 + i * 60_000, complaint: i === 0 });
  out.push({ callId: 'q1001-yesterday', agentId: '1001', group: 'general', at: DAY0 - 1, dissatisfied: true });
  return out;
}

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  const prefix = uniquePrefix('recqa');
  dir = mkdtempSync(join(tmpdir(), 'hotline-qa-'));
  audit = new AuditLog(redis, prefix);
  const store = new RecordingStore(redis, prefix);
  const recordings = new RecordingService({ telephony: { recordBridge: async () => undefined, stopRecording: async () => undefined }, store, log, recordingsDir: dir, audit });
  quality = new QualityService({ redis, prefix, ratePercent: 10, now: () => DAY0 + 86_400_000 + 3_600_000, source: { candidates: async (from, to) => day().filter((c) => c.at >= from && c.at < to) } });
  // Every call of the day has its recording.
  for (const c of day()) {
    const name = recordingName(c.callId, 1);
    await store.create({ name, callId: c.callId, segment: 1, bridgeId: `call-${c.callId}`, agentId: c.agentId, format: 'wav', state: 'done', announced: true, startedAt: c.at, legalHold: false });
    writeFileSync(join(dir, `${name}.wav`), Buffer.alloc(200, 1));
  }
  const users = new UserStore(redis, prefix);
  http = Fastify({ loggerInstance: log }) as unknown as FastifyInstance;
  http.setErrorHandler(errorHandler);
  await http.register(accessPlugin, { redis, keyPrefix: prefix, users, audit, jwtSecret: 'q'.repeat(40), cookieSecure: false, apiRatePerMinute: 10_000, lookupNumber: async () => undefined });
  await http.register(recordingRoutes, { service: recordings, audit });
  await http.register(qualityRoutes, { quality, audit, callInfo: callInfoFromTickets(ticketsOfDay) });
  await http.ready();
  for (const [username, role, agentId] of [['sup', 'supervisor'], ['qa', 'inspector'], ['ag', 'agent', '1001']] as const) {
    await users.create({ username, roles: [role], password: TEST_PASSWORD, ...(agentId ? { agentId } : {}) });
    tokens[username] = (await loginAs(http, username)).token;
  }
});

afterAll(async () => {
  await http?.close();
  redis?.disconnect();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('quality inspection', () => {
  it('every quality route refuses anonymous callers and roles it does not allow', async () => {
    const report = await auditRoutes(http);
    expect(report.checked).toBeGreaterThanOrEqual(13);
  });

  it('GIVEN a day of calls WHEN the supervisor runs the sampling THEN every flagged call plus 10% per agent is picked, reproducibly', async () => {
    const r = await http.inject({ method: 'POST', url: '/api/quality/sampling', headers: auth('sup'), payload: {} });
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    // default period: the previous Shanghai day
    expect([body.from, body.to]).toEqual([DAY0, DAY0 + 86_400_000]);
    const picks = body.samples as { callId: string; agentId: string; reasons: string[] }[];
    expect(picks.filter((p) => p.reasons.includes('complaint')).map((p) => p.callId)).toEqual(['q2001-0']);
    expect(picks.filter((p) => p.agentId === '1001')).toHaveLength(2); // ⌈10% of 20⌉
    expect(picks.filter((p) => p.agentId === '2001' && p.reasons[0] === 'random')).toHaveLength(1);
    expect(picks.some((p) => p.callId === 'q1001-yesterday')).toBe(false);
    expect(body.added).toBe(picks.length);

    const again = await http.inject({ method: 'POST', url: '/api/quality/sampling', headers: auth('sup'), payload: {} });
    expect(again.json().samples).toEqual(picks);
    expect(again.json().added).toBe(0);
    expect(await audit.query({ action: 'quality-sampled' })).toHaveLength(2);
  });

  it('GIVEN a sampled call WHEN an inspector plays and scores it THEN the score rolls up per agent and seat group on the supervisor summary', async () => {
    // the inspector opens the pending samples
    const list = await http.inject({ url: `/api/quality/samples?pending=1&from=${DAY0}&to=${DAY0 + 86_400_000}`, headers: auth('qa') });
    expect(list.statusCode).toBe(200);
    const sample = (list.json().samples as { callId: string; agentId: string }[]).find((s) => s.agentId === '1001')!;
    expect(sample).toBeDefined();

    // plays it (audited)
    const recs = await http.inject({ url: `/api/recordings?callId=${sample.callId}`, headers: auth('qa') });
    const name = recs.json().recordings[0].name as string;
    const play = await http.inject({ url: `/api/recordings/${name}/audio`, headers: { ...auth('qa'), range: 'bytes=0-' } });
    expect(play.statusCode).toBe(206);
    expect(await audit.query({ action: 'recording-played', actor: 'qa', target: `call:${sample.callId}` })).toHaveLength(1);

    // a wrong score names the field
    const bad = await http.inject({ method: 'POST', url: '/api/quality/inspections', headers: auth('qa'), payload: { callId: sample.callId, scores: { greeting: 9, accuracy: 10, attitude: 10, 'ticket-quality': 10 } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'invalid-input', field: 'scores.greeting' });
    const notSampled = await http.inject({ method: 'POST', url: '/api/quality/inspections', headers: auth('qa'), payload: { callId: 'never-sampled', scores: {} } });
    expect(notSampled.statusCode).toBe(404);

    // scores it
    const ok = await http.inject({ method: 'POST', url: '/api/quality/inspections', headers: auth('qa'), payload: { callId: sample.callId, scores: { greeting: 5, accuracy: 5, attitude: 8, 'ticket-quality': 6 }, comment: '答复不够完整' } });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().inspection).toMatchObject({ agentId: '1001', group: 'general', total: 67.5, inspector: 'qa' });

    // opened again: the sample, the score given, the call and its ticket — numbers masked
    const opened = await http.inject({ url: `/api/quality/samples/${sample.callId}`, headers: auth('qa') });
    expect(opened.statusCode, opened.body).toBe(200);
    expect(opened.json()).toMatchObject({
      sample: { callId: sample.callId, agentId: '1001', group: 'general', inspected: true },
      inspection: { total: 67.5, inspector: 'qa', comment: '答复不够完整' },
      call: { caller: '139****5678', dialed: '12345', route: { id: 'hotline', mode: 'hotline' }, agents: ['1001'], handoffs: 0, survey: 2, ticket: { category: 'help', requesterKind: 'citizen', summary: '路灯损坏，请回电 139****5678', units: ['city-management'] } },
    });
    expect(opened.body).not.toContain(CALLER);
    expect(opened.json().call.ticket.ticketNo).toMatch(/^06322026031000\d\d$/);
    // a pending sample has no score yet; unknown and malformed ids are refused, naming the field
    const other = (list.json().samples as { callId: string }[]).find((s) => s.callId !== sample.callId)!;
    expect((await http.inject({ url: `/api/quality/samples/${other.callId}`, headers: auth('qa') })).json()).toMatchObject({ sample: { inspected: false }, inspection: null });
    expect((await http.inject({ url: '/api/quality/samples/never-sampled', headers: auth('qa') })).statusCode).toBe(404);
    const malformed = await http.inject({ url: '/api/quality/samples/a%20b', headers: auth('qa') });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.field).toBe('callId');
    // the list shows the total of a scored call
    const listed = await http.inject({ url: `/api/quality/samples?from=${DAY0}&to=${DAY0 + 86_400_000}`, headers: auth('qa') });
    const rows = listed.json().samples as { callId: string; inspected: boolean; total?: number }[];
    expect(rows.find((r) => r.callId === sample.callId)).toMatchObject({ inspected: true, total: 67.5 });
    expect(rows.filter((r) => r.callId !== sample.callId).every((r) => !r.inspected && r.total === undefined)).toBe(true);

    // the supervisor page shows it
    const summary = await http.inject({ url: `/api/quality/summary?from=${DAY0}&to=${DAY0 + 86_400_000}`, headers: auth('sup') });
    expect(summary.statusCode).toBe(200);
    expect(summary.json()).toMatchObject({
      agents: [{ id: '1001', count: 1, average: 67.5, items: { greeting: 100, accuracy: 50, attitude: 80, 'ticket-quality': 60 } }],
      groups: [{ id: 'general', count: 1, average: 67.5 }],
      overall: { count: 1, average: 67.5 },
      pending: (list.json().samples as unknown[]).length - 1,
    });
    // agents do not see the inspection summary
    expect((await http.inject({ url: '/api/quality/summary', headers: auth('ag') })).statusCode).toBe(403);
  });

  it('GIVEN a supervisor WHEN a form is saved THEN it is validated with field-named errors and then offered to inspectors', async () => {
    const bad = await http.inject({ method: 'PUT', url: '/api/quality/forms/hotline-v2', headers: auth('sup'), payload: { name: '新表', items: [{ id: 'greeting', label: '规范用语', weight: 100, maxScore: 0 }] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('items[0].maxScore');
    const form = { name: '新表 / v2', items: [{ id: 'greeting', label: '规范用语', weight: 40, maxScore: 5 }, { id: 'accuracy', label: '答复准确', weight: 60, maxScore: 10 }] };
    const ok = await http.inject({ method: 'PUT', url: '/api/quality/forms/hotline-v2', headers: auth('sup'), payload: form });
    expect(ok.statusCode, ok.body).toBe(200);
    const forms = await http.inject({ url: '/api/quality/forms', headers: auth('qa') });
    expect((forms.json().forms as { id: string }[]).map((f) => f.id)).toEqual(['standard', 'hotline-v2']);
    expect((await http.inject({ method: 'PUT', url: '/api/quality/forms/hotline-v2', headers: auth('qa'), payload: form })).statusCode).toBe(403);
  });

  it('GIVEN calls noted by the ticket pipeline and flagged later WHEN sampling runs without an external source THEN it samples them', async () => {
    const own = new QualityService({ redis, prefix: uniquePrefix('recqa2'), ratePercent: 0 });
    await own.noteCall({ callId: 'n1', agentId: '3001', group: 'general', at: DAY0 + 1000 });
    await own.noteCall({ callId: 'n2', agentId: '3001', group: 'general', at: DAY0 + 2000, dissatisfied: true });
    await own.noteCall({ callId: 'n3', agentId: '3002', group: 'general', at: DAY0 + 3000 });
    expect(await own.flagCall('n3', 'reopened')).toBe(true);
    expect(await own.flagCall('unknown', 'complaint')).toBe(false);
    // a second note of the same call (job retried) keeps the flag
    await own.noteCall({ callId: 'n3', agentId: '3002', group: 'general', at: DAY0 + 3000 });

    const r = await own.runSampling({ from: DAY0, to: DAY0 + 86_400_000 });

    expect(r.samples.map((x) => [x.callId, x.reasons])).toEqual([
      ['n2', ['dissatisfied']],
      ['n3', ['reopened']],
    ]);
  });
});
