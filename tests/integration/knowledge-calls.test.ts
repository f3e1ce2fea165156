/**
 * The knowledge base on real calls (both PBX modes):
 * - an agent answering a 12333 pension call gets the 12333 pension article as the first suggestion
 *   from the call's line and skill, and links it on the ticket (helped) — recorded on the ticket and
 *   in the article's usage;
 * - a caller in an FAQ menu (an `article` node in a flow published with the routing table) hears the
 *   article's short answer, built as a prompt at publish time;
 * - once the article is past its valid-until, the FAQ menu no longer reads it (the caller goes to an
 *   agent) and the agent's suggestions no longer show it.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { Flow } from '../../src/ivr/types.js';
import type { RoutingTable } from '../../src/routing/model.js';
import { sessionByCaller, useHarness } from '../support/harness.js';
import { nodes, prompts } from '../support/ivr-app.js';
import { PROMPTS_DIR } from '../support/pbx.js';
import { callWithForm, consoleAgent, TestClock, userApi, type Api } from '../support/tickets.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const HRSS = '市人力资源社会保障局';

const PENSION = {
  title: '养老保险待遇领取',
  body: '参保人员达到法定退休年龄且累计缴费满15年的，可持社保卡到人社服务窗口或通过网上办事大厅申请按月领取基本养老金。',
  shortAnswer: '缴费满十五年，到退休年龄后，可持社保卡到人社窗口申请领取养老金。',
  keywords: ['养老金', '退休'],
  category: '社会保障',
  lines: ['12333'],
  skills: ['12333'],
  units: [HRSS],
  sourceDepartment: HRSS,
};

async function publishedArticle(app: App, sup: Api, extra: Record<string, unknown> = {}): Promise<{ id: string; version: number }> {
  const created = await sup('POST', '/api/kb/articles', { ...PENSION, ownerUnit: HRSS, ...extra });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const pub = await sup('POST', `/api/kb/articles/${created.body.article.id}/publish`, { version: 1 });
  expect(pub.status, JSON.stringify(pub.body)).toBe(200);
  return { id: created.body.article.id, version: pub.body.article.live.version };
}

/** The 12345 flow replaced by an FAQ menu, published with the routing table (versioned with it). */
async function publishFaqFlow(app: App, articleId: string): Promise<void> {
  const flow: Flow = {
    id: 'hotline-zh',
    start: 'main',
    lang: 'zh',
    nodes: {
      main: { type: 'menu', prompt: ['menu-intro', 'menu-agent'], options: { '1': 'answer', '0': 'agent' }, timeoutMs: 8000, retries: 1, invalidPrompt: 'invalid', timeoutPrompt: 'timeout', onExhausted: 'agent' },
      answer: { type: 'article', articleId, next: 'bye', onUnavailable: 'agent' },
      bye: { type: 'hangup', prompt: 'thanks' },
      agent: { type: 'queue', skill: 'general' },
    },
  };
  const table = { ...app.parts.current().table, flows: { 'hotline-zh': flow } } as RoutingTable;
  const r = await app.parts.routing.publish('kb-test', { table, comment: 'FAQ menu', seatGroups: false });
  expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
  await eventually(() => expect((app.parts.current().table.flows as Record<string, Flow>)?.['hotline-zh']?.nodes.answer).toBeDefined());
}

describe('knowledge base on calls', () => {
  it('GIVEN a published 12333 pension article WHEN an agent takes a 12333 call THEN it is the first suggestion for the call pop, and linking it puts it on the ticket as helpful', async () => {
    const app = await h.startApp({ KB_PROMPTS_DIR: PROMPTS_DIR });
    const sup = await userApi(app, 'kbc-sup', ['supervisor']);
    const other = await publishedArticle(app, sup, { title: '城乡居民养老保险缴费', lines: ['12345'], skills: [], keywords: ['养老'] });
    const { id, version } = await publishedArticle(app, sup);
    const agent = await consoleAgent(app, '7601', { '12333': 3, general: 3 });
    expect((await agent('POST', '/api/agent/state', { state: 'available' })).status).toBe(200);

    const caller = '13700007601';
    const call = await h.side.call('12333', caller);
    await call.answered();
    const s = await sessionByCaller(app, caller);
    // The 12333 line's forwarding notice plays first (its real length), then the call is offered.
    await eventually(() => expect(s.record.agents, JSON.stringify(s.record.path.slice(-6))).toEqual(['7601']), 60_000);
    const pop = (await agent('GET', '/api/agent/call')).body.call;
    expect(pop.line).toMatchObject({ number: '12333', skill: '12333' });
    const context = encodeURIComponent(pop.ivrPath.join(' '));
    const sugg = await agent('GET', `/api/kb/search?line=${pop.line.number}&skill=${pop.line.skill}&context=${context}`);
    expect(sugg.status).toBe(200);
    expect(sugg.body.results[0]).toMatchObject({ id, title: PENSION.title });
    // Typed words rank the line's article above the general one.
    const typed = await agent('GET', `/api/kb/search?q=${encodeURIComponent('养老金怎么领')}&line=12333&skill=12333`);
    expect(typed.body.results.map((x: { id: string }) => x.id)).toEqual([id, other.id]);

    const bad = await agent('POST', `/api/agent/calls/${s.callId}/ticket`, { category: 'consult', requesterKind: 'citizen', summary: '咨询养老金领取', knowledge: [{ articleId: 'no-such-article' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('knowledge[0].articleId');
    const saved = await agent('POST', `/api/agent/calls/${s.callId}/ticket`, { category: 'consult', requesterKind: 'citizen', summary: '咨询养老金领取', knowledge: [{ articleId: id, helped: true }] });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    await call.hangup();
    await call.ended();

    const no = await eventually(async () => {
      const n = await app.tickets.byCall(s.callId);
      expect(n).toBeTruthy();
      return n!;
    });
    const t = await agent('GET', `/api/tickets/${no}`);
    expect(t.status, JSON.stringify(t.body)).toBe(200);
    expect(t.body.ticket.form.knowledge).toEqual([{ articleId: id, version, title: PENSION.title, helped: true }]);
    expect(await app.knowledge.kb.store.usage(id)).toEqual({ linked: 1, helped: 1 });
  });

  it('GIVEN an FAQ menu reading the article WHEN a caller presses 1 THEN they hear its answer; past its valid-until the next caller goes to an agent and agents no longer see it', async () => {
    const clock = new TestClock(Date.now());
    const app = await h.startApp({ KB_PROMPTS_DIR: PROMPTS_DIR }, { now: clock.now });
    const sup = await userApi(app, 'kbc-sup2', ['supervisor']);
    const validUntil = new Date(clock.now() + 3600_000 + 8 * 3600_000).toISOString().slice(0, 19) + '+08:00';
    const { id, version } = await publishedArticle(app, sup, { validUntil });
    await publishFaqFlow(app, id);

    const call = await h.side.call('12345', '13700007602');
    await call.answered();
    const s = await sessionByCaller(app, '13700007602');
    await eventually(() => expect(nodes(s)).toContain('hotline-zh.main: menu'));
    await call.press('1');
    await eventually(() => expect(nodes(s)).toContain(`hotline-zh.answer: article ${id} v${version}`));
    await eventually(() => expect(prompts(s)).toContain(`kb-${id}-v${version}`));
    // The answer plays to its end (a missing or unreadable file would fail at once), then thanks and goodbye.
    await call.ended();
    expect(prompts(s).at(-1)).toBe('thanks');
    expect(s.record.path.some((p) => /playback failed|prompt failed/.test(p.detail))).toBe(false);

    clock.set(clock.now() + 2 * 3600_000);
    const agent = await userApi(app, 'kbc-agent2', ['agent'], { agentId: '7602' });
    expect((await agent('GET', '/api/kb/search?line=12333')).body.results).toEqual([]);
    const call2 = await h.side.call('12345', '13700007603');
    await call2.answered();
    const s2 = await sessionByCaller(app, '13700007603');
    await eventually(() => expect(nodes(s2)).toContain('hotline-zh.main: menu'));
    await call2.press('1');
    await eventually(() => expect(nodes(s2)).toContain(`hotline-zh.answer: article ${id} unavailable → agent`));
    await eventually(() => expect(s2.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('skill general'))).toBe(true));
    expect(prompts(s2).some((p) => p.includes(`kb-${id}`))).toBe(false);
    await call2.hangup();
    await call2.ended();
  });
});
