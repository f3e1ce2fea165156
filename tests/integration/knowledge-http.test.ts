/**
 * The knowledge base over HTTP on two server instances sharing one Redis:
 * a unit writes its own article, the centre publishes it, every instance's
 * search finds it; concurrency, bad input, audit and history; expiry (search,
 * public API) and the reminder sent once across instances; the public API
 * without login, rate-limited per address.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { useHarness } from '../support/harness.js';
import { PROMPTS_DIR } from '../support/pbx.js';
import { TestClock, userApi, type Api } from '../support/tickets.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const HRSS = '市人力资源社会保障局';
const WATER = '市水务局';
const T0 = Date.parse('2026-12-01T09:00:00+08:00');

const PENSION = {
  title: '养老保险待遇领取',
  body: '参保人员达到法定退休年龄且累计缴费满15年的，可持社保卡到人社服务窗口或通过网上办事大厅申请按月领取基本养老金。',
  shortAnswer: '达到退休年龄且缴费满十五年，可持社保卡到人社窗口申请领取养老金。',
  keywords: ['养老金', '退休'],
  category: '社会保障',
  lines: ['12333'],
  skills: ['12333'],
  units: [HRSS],
  sourceDepartment: HRSS,
  validUntil: '2026-12-20T00:00:00+08:00',
};

async function twoInstances(env: Record<string, string> = {}) {
  const clock = new TestClock(T0);
  const shared = { HOTLINE_KEY_PREFIX: `kbhttp-${randomUUID().slice(0, 8)}`, KB_PROMPTS_DIR: PROMPTS_DIR, ...env };
  const a = await h.startApp(shared, { now: clock.now, instanceId: 'kb-a' });
  const b = await h.startApp(shared, { now: clock.now, instanceId: 'kb-b' });
  return { clock, a, b };
}

async function audited(app: App, id: string): Promise<string[]> {
  return (await app.audit.query({ target: `kb:${id}` })).map((e) => e.action).reverse();
}

describe('knowledge base editing and search across instances', () => {
  it('GIVEN a unit’s article WHEN the unit submits and the centre publishes on instance A THEN instance B’s search finds it first for a 12333 call; the unit cannot publish nor touch another unit’s article; every step is audited and versioned', async () => {
    const { a, b } = await twoInstances();
    const unit = await userApi(a, 'kb-hrss', ['unit'], { unitId: HRSS });
    const other = await userApi(a, 'kb-water', ['unit'], { unitId: WATER });
    const sup = await userApi(a, 'kb-sup', ['supervisor']);
    const agentB = await userApi(b, 'kb-agent', ['agent'], { agentId: '8801' });

    const created = await unit('POST', '/api/kb/articles', PENSION);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id: string = created.body.article.id;
    expect(created.body.article).toMatchObject({ ownerUnit: HRSS, status: 'draft', version: 1 });

    expect((await other('PUT', `/api/kb/articles/${id}`, { ...PENSION, version: 1 })).status).toBe(403);
    const early = await unit('POST', `/api/kb/articles/${id}/publish`, { version: 1 });
    expect(early.status).toBe(409);
    expect(early.body.error).toMatchObject({ code: 'kb-centre-only', field: 'action' });

    expect((await unit('POST', `/api/kb/articles/${id}/submit`, { version: 1 })).body.article.status).toBe('review');
    const pub = await sup('POST', `/api/kb/articles/${id}/publish`, { version: 2 });
    expect(pub.status, JSON.stringify(pub.body)).toBe(200);
    expect(pub.body.article.live).toMatchObject({ version: 3, promptId: `kb-${id}-v3` });
    // The spoken answer was built where Asterisk reads our prompts, in both languages.
    for (const lang of ['zh', 'en']) expect(existsSync(join(PROMPTS_DIR, lang, 'hotline', `kb-${id}-v3.wav`))).toBe(true);

    await eventually(async () => {
      const r = await agentB('GET', `/api/kb/search?q=${encodeURIComponent('养老金怎么领')}&line=12333&skill=12333`);
      expect(r.status).toBe(200);
      expect(r.body.results[0]).toMatchObject({ id, version: 3, title: PENSION.title, matched: ['line', 'skill', 'text'] });
    });
    // Suggestions without words: the call's line.
    expect((await agentB('GET', '/api/kb/search?line=12333')).body.results.map((x: { id: string }) => x.id)).toEqual([id]);

    // An edit goes back to draft; the published version stays searchable until the next publish.
    const edited = await unit('PUT', `/api/kb/articles/${id}`, { ...PENSION, title: '养老保险待遇领取（修订）', version: 3 });
    expect(edited.body.article).toMatchObject({ status: 'draft', version: 4, live: { version: 3 } });
    expect((await agentB('GET', `/api/kb/published/${id}`)).body.article.title).toBe(PENSION.title);

    const detail = await sup('GET', `/api/kb/articles/${id}`);
    expect(detail.body.history.map((e: { action: string; version: number }) => `${e.action}@${e.version}`)).toEqual(['created@1', 'submit@2', 'publish@3', 'edited@4']);
    expect((await sup('GET', `/api/kb/articles/${id}/versions/3`)).body.article.title).toBe(PENSION.title);
    expect(await audited(a, id)).toEqual(['kb-created', 'kb-submitted', 'kb-published', 'kb-edited']);
    // A unit sees only its own.
    expect((await other('GET', '/api/kb/articles')).body.articles).toEqual([]);
    expect((await other('GET', `/api/kb/articles/${id}`)).status).toBe(404);

    // Retired on B: gone from A's search too.
    const retired = await sup('POST', `/api/kb/articles/${id}/retire`, { version: 4 });
    expect(retired.body.article.status).toBe('retired');
    await eventually(async () => expect((await agentB('GET', '/api/kb/search?line=12333')).body.results).toEqual([]));
    expect(b.knowledge.kb.index.has(id)).toBe(false);
  });

  it('GIVEN an article WHEN a write names an old version, or a field is bad THEN 409/400 naming the field, and nothing changes', async () => {
    const { a } = await twoInstances();
    const unit = await userApi(a, 'kb-hrss2', ['unit'], { unitId: HRSS });
    const id: string = (await unit('POST', '/api/kb/articles', PENSION)).body.article.id;
    const before = await a.knowledge.kb.get(id);
    const stale = await unit('PUT', `/api/kb/articles/${id}`, { ...PENSION, version: 0 });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'version-conflict', field: 'version' });
    for (const [body, field] of [
      [{ ...PENSION, version: 1, validUntil: '2026-13-01T00:00:00+08:00' }, 'validUntil'],
      [{ ...PENSION, version: 1, lines: ['12a33'] }, 'lines[0]'],
      [{ ...PENSION, version: 1, title: '  ' }, 'title'],
      [{ ...PENSION, title: 'x' }, 'version'],
    ] as const) {
      const r = await unit('PUT', `/api/kb/articles/${id}`, body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.field).toBe(field);
      expect(r.body.error.message).toContain(field);
    }
    expect(await a.knowledge.kb.get(id)).toEqual(before);
    expect(await audited(a, id)).toEqual(['kb-created']);
  });

  it('GIVEN a published article valid until 12-20 WHEN the clock passes 12-06 THEN its unit is reminded once (two instances); past 12-20 it leaves search and the public API', async () => {
    const { a, b, clock } = await twoInstances({ KB_REMIND_DAYS: '14' });
    const unit = await userApi(a, 'kb-hrss3', ['unit'], { unitId: HRSS });
    const sup = await userApi(a, 'kb-sup3', ['supervisor']);
    const id: string = (await sup('POST', '/api/kb/articles', { ...PENSION, ownerUnit: HRSS })).body.article.id;
    expect((await sup('POST', `/api/kb/articles/${id}/publish`, { version: 1 })).status).toBe(200);
    await eventually(() => expect(b.knowledge.kb.index.has(id)).toBe(true));

    expect(await a.knowledge.kb.runReminders()).toBe(0); // 19 days ahead: not yet
    clock.set(Date.parse('2026-12-07T09:00:00+08:00'));
    const sent = (await Promise.all([a.knowledge.kb.runReminders(), b.knowledge.kb.runReminders()])).reduce((x, y) => x + y, 0);
    expect(sent).toBe(1);
    expect(await a.knowledge.kb.runReminders()).toBe(0);
    const reminders = await unit('GET', '/api/kb/reminders');
    expect(reminders.body.reminders).toEqual([expect.objectContaining({ articleId: id, validUntil: Date.parse(PENSION.validUntil) })]);
    expect(await audited(a, id)).toContain('kb-expiry-reminder');

    expect((await b.http.inject({ method: 'GET', url: `/api/public/kb/${id}` })).statusCode).toBe(200);
    clock.set(Date.parse('2026-12-20T00:00:01+08:00'));
    expect(JSON.parse((await b.http.inject({ method: 'GET', url: `/api/public/kb?q=${encodeURIComponent('养老金')}` })).body).results).toEqual([]);
    expect((await b.http.inject({ method: 'GET', url: `/api/public/kb/${id}` })).statusCode).toBe(404);
    expect(b.knowledge.kb.ivrArticles(clock.now())).toEqual({});
    const list = await unit('GET', '/api/kb/articles');
    expect(list.body.articles[0]).toMatchObject({ id, expired: true });
  });

  it('GIVEN the public API WHEN called without login THEN it answers published articles without editors’ data, and an address over its limit gets 429', async () => {
    const { a } = await twoInstances({ KB_PUBLIC_RATE_PER_MINUTE: '4' });
    const sup = await userApi(a, 'kb-sup4', ['supervisor']);
    const id: string = (await sup('POST', '/api/kb/articles', { ...PENSION, validUntil: undefined })).body.article.id;
    await sup('POST', `/api/kb/articles/${id}/publish`, { version: 1 });
    const page = await a.http.inject({ method: 'GET', url: '/kb/public' });
    expect(page.statusCode).toBe(200);
    const r = await a.http.inject({ method: 'GET', url: `/api/public/kb?q=${encodeURIComponent('社保卡')}` });
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body).results).toEqual([{ id, title: PENSION.title, shortAnswer: PENSION.shortAnswer, category: PENSION.category }]);
    const one = JSON.parse((await a.http.inject({ method: 'GET', url: `/api/public/kb/${id}` })).body).article;
    expect(one).not.toHaveProperty('units');
    expect(JSON.stringify(one)).not.toContain('kb-sup4');
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await a.http.inject({ method: 'GET', url: `/api/public/kb/${id}` })).statusCode);
    expect(codes.slice(0, 2)).toEqual([200, 200]);
    expect(codes.at(-1)).toBe(429);
  });

  it('GIVEN an instance that missed notifications (its subscriber gone) WHEN articles change THEN its counter check rebuilds the index', async () => {
    const { a, b } = await twoInstances();
    const sup = await userApi(a, 'kb-sup5', ['supervisor']);
    await (b.knowledge.kb as unknown as { sub: { unsubscribe(): Promise<unknown> } }).sub.unsubscribe();
    const id: string = (await sup('POST', '/api/kb/articles', PENSION)).body.article.id;
    await sup('POST', `/api/kb/articles/${id}/publish`, { version: 1 });
    await eventually(() => expect(b.knowledge.kb.index.has(id)).toBe(true), 15_000);
  });
});
