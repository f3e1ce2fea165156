/**
 * The knowledge base's pure parts: Chinese tokenisation (ICU words + bigrams),
 * the index's ranking (the call's line and skill first, only current articles),
 * the editor's input checks (every problem names its field), the workflow, the
 * expiry reminders, and the IVR's `article` node.
 */
import { describe, expect, it } from 'vitest';
import { start, next } from '../../src/ivr/engine.js';
import type { Flow } from '../../src/ivr/types.js';
import { validateFlow } from '../../src/ivr/validate.js';
import { dueReminders, parseContent, transition, type Article, type LiveVersion } from '../../src/knowledge/model.js';
import { SearchIndex } from '../../src/knowledge/search-index.js';
import { terms } from '../../src/knowledge/segment.js';

const T0 = Date.parse('2026-12-01T00:00:00+08:00');
const DAY = 86_400_000;

function live(over: Partial<LiveVersion> = {}): LiveVersion {
  return {
    title: '', body: '', shortAnswer: '', shortAnswerEn: '', keywords: [], category: '', lines: [], skills: [], units: [], sourceDepartment: '', attachments: [],
    version: 3, publishedAt: T0 - 10 * DAY, publishedBy: 'sup', ...over,
  };
}

describe('Chinese tokenisation', () => {
  it('GIVEN officialese the ICU dictionary splits into single characters WHEN tokenised THEN its bigrams are terms too, single characters are not, numbers are words', () => {
    const t = terms('12333社保卡挂失补办');
    expect(t.has('12333')).toBe(true);
    expect(t.has('社保')).toBe(true);
    expect(t.has('保卡')).toBe(true);
    expect(t.has('社')).toBe(false);
    const words = terms('养老保险待遇怎么领取');
    expect(words.get('养老')).toBeGreaterThan(0.5); // a word and a bigram
    expect(words.has('领取')).toBe(true);
  });
});

describe('search index ranking', () => {
  const idx = new SearchIndex();
  idx.put({ id: 'pension-12333', ownerUnit: 'hrss', live: live({ title: '养老保险待遇领取', body: '达到法定退休年龄后，持社保卡到人社窗口办理养老保险待遇领取手续。', keywords: ['养老金', '退休'], lines: ['12333'], skills: ['12333'] }) });
  idx.put({ id: 'pension-general', ownerUnit: 'centre', live: live({ title: '城乡居民养老保险待遇领取', body: '城乡居民养老保险待遇领取流程。', keywords: ['养老金'] }) });
  idx.put({ id: 'water', ownerUnit: 'water', live: live({ title: '停水通知查询', body: '停水检修信息查询。', lines: ['12345'] }) });
  idx.put({ id: 'expired', ownerUnit: 'hrss', live: live({ title: '养老保险待遇领取（旧）', body: '旧政策', lines: ['12333'], validUntil: T0 - DAY }) });
  idx.put({ id: 'future', ownerUnit: 'hrss', live: live({ title: '养老保险待遇领取（新）', body: '新政策', lines: ['12333'], validFrom: T0 + DAY }) });

  it('GIVEN two pension articles WHEN a 12333 caller’s agent searches 养老金怎么领 THEN the 12333 one ranks first; the expired and not-yet-valid ones are never returned', () => {
    const hits = idx.search({ q: '养老金怎么领', line: '12333', skill: '12333', now: T0 });
    expect(hits.map((h) => h.id)).toEqual(['pension-12333', 'pension-general']);
    expect(hits[0]!.matched).toEqual(['line', 'skill', 'text']);
    const plain = idx.search({ q: '养老保险', now: T0 });
    expect(plain.map((h) => h.id)).not.toContain('expired');
    expect(plain.map((h) => h.id)).not.toContain('future');
    expect(idx.search({ q: '养老保险', now: T0 + 2 * DAY }).map((h) => h.id)).toContain('future');
  });

  it('GIVEN no words typed WHEN suggestions are asked for a 12333 call THEN the line’s current articles come back, others not', () => {
    expect(idx.search({ line: '12333', skill: '12333', now: T0 }).map((h) => h.id)).toEqual(['pension-12333']);
    expect(idx.search({ line: '12345', now: T0 }).map((h) => h.id)).toEqual(['water']);
  });

  it('GIVEN an article removed or replaced WHEN searched THEN the index follows (no stale terms)', () => {
    const i2 = new SearchIndex();
    i2.put({ id: 'a', ownerUnit: 'u', live: live({ title: '停车收费标准' }) });
    i2.put({ id: 'a', ownerUnit: 'u', live: live({ title: '公交线路调整' }) });
    expect(i2.search({ q: '停车', now: T0 })).toEqual([]);
    expect(i2.search({ q: '公交', now: T0 }).map((h) => h.id)).toEqual(['a']);
    i2.remove('a');
    expect(i2.size).toBe(0);
    expect(i2.search({ q: '公交', now: T0 })).toEqual([]);
  });
});

describe('editor input and workflow', () => {
  it('GIVEN bad fields WHEN parsed THEN every problem names its field', () => {
    const r = parseContent({ title: '   ', body: 'x', lines: ['12a33'], validFrom: '2027-02-30T00:00:00+08:00', validUntil: '2026-01-01', shortAnswer: 'y'.repeat(301), attachments: [{ name: 'a', url: 'ftp://x' }] });
    expect(r.ok).toBe(false);
    const fields = (r as { errors: { field: string }[] }).errors.map((e) => e.field).sort();
    expect(fields).toEqual(['attachments[0].url', 'lines[0]', 'shortAnswer', 'title', 'validFrom', 'validUntil'].sort());
    const order = parseContent({ title: 't', body: 'b', validFrom: '2026-12-02T00:00:00+08:00', validUntil: '2026-12-01T00:00:00+08:00' });
    expect((order as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(['validUntil']);
  });

  const art = (over: Partial<Article> = {}): Article => ({ ...live(), id: 'a1', ownerUnit: 'hrss', status: 'draft', version: 1, createdAt: T0, createdBy: 'u', updatedAt: T0, updatedBy: 'u', ...over });
  it('GIVEN a unit’s draft WHEN the unit submits and tries to publish, another unit acts, the centre publishes THEN only the unit submits and only the centre publishes', () => {
    const unit = { username: 'u', centre: false, unitId: 'hrss' };
    const other = { username: 'o', centre: false, unitId: 'water' };
    const centre = { username: 's', centre: true };
    expect(transition(art(), 'submit', unit)).toEqual({ ok: true, status: 'review' });
    expect(transition(art({ status: 'review' }), 'publish', unit)).toMatchObject({ ok: false, refusal: { code: 'kb-centre-only', field: 'action' } });
    expect(transition(art(), 'submit', other)).toMatchObject({ ok: false, refusal: { code: 'forbidden' } });
    expect(transition(art({ status: 'review' }), 'publish', centre)).toEqual({ ok: true, status: 'published' });
    expect(transition(art({ status: 'published' }), 'reject', centre)).toMatchObject({ ok: false, refusal: { code: 'kb-not-in-review' } });
  });

  it('GIVEN published articles ending soon WHEN reminders are due THEN only those within the window and not yet reminded', () => {
    const soon = art({ id: 'soon', status: 'published', live: live({ validUntil: T0 + 5 * DAY }) });
    const later = art({ id: 'later', status: 'published', live: live({ validUntil: T0 + 40 * DAY }) });
    const gone = art({ id: 'gone', status: 'published', live: live({ validUntil: T0 - DAY }) });
    expect(dueReminders([soon, later, gone], T0, 14, () => false).map((r) => r.article.id)).toEqual(['soon']);
    expect(dueReminders([soon], T0, 14, (k) => k === `soon@${T0 + 5 * DAY}`)).toEqual([]);
  });
});

describe('IVR article node', () => {
  const flow: Flow = {
    id: 'faq',
    start: 'a',
    nodes: { a: { type: 'article', articleId: 'pension', next: 'bye', onUnavailable: 'agent' }, bye: { type: 'hangup' }, agent: { type: 'queue', skill: 'general' } },
  };
  it('GIVEN the article is readable at call start WHEN entered THEN its answer prompt plays, then next', () => {
    const s = start(flow, { now: T0, articles: { pension: { promptId: 'kb-pension-v3', version: 3 } } });
    const play = s.commands.find((c) => c.type === 'play');
    expect(play).toMatchObject({ media: [{ kind: 'prompt', id: 'kb-pension-v3' }] });
    expect(s.commands).toContainEqual({ type: 'path', node: 'faq.a', detail: 'article pension v3' });
    const done = next(s.state, { type: 'playback-done', token: (play as { token: string }).token }, T0);
    expect(done.commands.map((c) => c.type)).toContain('hangup');
  });
  it('GIVEN the article is not readable (expired, retired) WHEN entered THEN nothing is played and the caller goes to onUnavailable', () => {
    const s = start(flow, { now: T0, articles: {} });
    expect(s.commands.some((c) => c.type === 'play')).toBe(false);
    expect(s.commands).toContainEqual({ type: 'queue', skill: 'general', priority: 0 });
  });
  it('GIVEN article nodes WHEN validated THEN ids and both exits are checked', () => {
    expect(validateFlow(flow)).toEqual([]);
    const bad = { ...flow, nodes: { ...flow.nodes, a: { type: 'article', articleId: 'Bad Id', next: 'bye', onUnavailable: 'nowhere' } } };
    expect(validateFlow(bad)).toEqual(expect.arrayContaining([expect.stringContaining('nodes.a.articleId'), 'nodes.a.onUnavailable: unknown node "nowhere"']));
  });
});
