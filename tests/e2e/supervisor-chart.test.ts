/**
 * The wallboard's chart and layout in a real headless Chromium (issue 18): today's
 * answer rate and queue length by quarter hour against the 98 % target, per line,
 * drawn by uPlot served from our own origin, its data from GET /api/supervisor/series;
 * plain 12345 calls counted under 12345; and the English wallboard fits a 1366×768
 * window (no table wider than its card).
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { CallRecord } from '../../src/calls/record.js';
import '../support/log-capture.js';
import { useHarness } from '../support/harness.js';
import { eventually } from '../support/wait.js';
import { createAgentSeat, createUser, expectContains, expectText, login, openBrowser, screenshot, startWebApp } from './support.js';

const h = useHarness();

/** Quarter hours of the city's day so far, including the current one. */
const quartersSoFar = (ms = Date.now()) => Math.floor((((ms + 8 * 3600_000) % 86_400_000) + 86_400_000) % 86_400_000 / 900_000) + 1;

/** Callers waiting in the ACD (as the call sessions would enqueue them), then answered or abandoned. */
async function traffic(app: App): Promise<void> {
  const calls = [
    { id: 'c1', skill: 'general', line: '12345', end: 'answered' },
    { id: 'c2', skill: 'general', line: '12345', end: 'answered' },
    { id: 'c3', skill: 'general', line: '12345', end: 'abandoned' },
    { id: 'c4', skill: '12333', line: '12333', end: 'answered' },
  ] as const;
  for (const c of calls) await app.acd.enqueue({ callId: `chart-${c.id}`, skill: c.skill, priority: 0, joinedAt: Date.now(), lineNumber: c.line });
  // The router notes the queue while they wait.
  await eventually(async () => {
    expect(Math.max(...(await app.acd.series()).all.queueMax)).toBe(4);
  });
  for (const c of calls) await app.acd.leave(`chart-${c.id}`, c.end, Date.now());
}

/** A ticket from a call answered by agent 3001 (this week's answer rate). */
async function answeredTicket(app: App): Promise<void> {
  const at = Date.now();
  const r: CallRecord = {
    callId: `chart-t.${at}`,
    channelName: 'PJSIP/carrier-0001',
    caller: { number: '13812345678', name: '王五' },
    dialed: '12345',
    source: 'carrier',
    language: 'zh',
    startedAt: at,
    endedAt: at + 60_000,
    agentAnsweredAt: at + 5_000,
    path: [{ at, kind: 'queue', detail: 'skill general' }],
    agents: ['3001'],
    handoffs: [],
    recovered: false,
    instance: 'e2e',
  };
  await app.tickets.saveForm(r.callId, { category: 'complaint', requesterKind: 'citizen', summary: '路灯不亮', unitSuggestion: '市城市管理局', by: '3001', at });
  const { ticketNo } = await app.tickets.createFromCall(r);
  await eventually(async () => expect((await app.tickets.get(ticketNo))?.ticket?.units).toEqual(['市城市管理局']));
}

describe('wallboard chart and layout (Chromium)', () => {
  it('GIVEN calls on 12345 and 12333 today WHEN a supervisor opens the wallboard THEN the chart shows every quarter hour so far against the 98 % target, per line, and 12345 is in the by-line table', async () => {
    const { app, base } = await startWebApp(h);
    await createAgentSeat(app, '3001');
    expect(await app.acd.upsertGroup({ id: 'expert-12333', name: '人社专家座席', kind: 'expert', lineNumber: '12333' })).toEqual({ ok: true });
    await createUser(app, 'super1', ['supervisor'], { displayName: '班长' });
    await traffic(app);
    await answeredTicket(app);

    const s = await openBrowser({ viewport: { width: 1366, height: 768 } });
    const p = s.page;
    await login(s, base, 'super1', '/supervisor');

    // THEN uPlot (from our origin) draws a canvas with the quarters so far
    const chart = p.locator('#trend-chart');
    await eventually(async () => expect(await p.locator('#trend-chart canvas').count()).toBeGreaterThan(0));
    await eventually(async () => expect(Number(await chart.getAttribute('data-points'))).toBe(quartersSoFar()));
    await expectContains(p.locator('#trend-chart .u-legend'), '接通率（本刻钟）');
    await expectContains(p.locator('#trend-chart .u-legend'), '目标 98%');
    // (the day's figures so far: the test may straddle a quarter hour)
    await expectContains(p.locator('#trend-summary'), '今日累计 75.0%（目标 98%）');
    const scripts = await p.$$eval('script[src], link[rel="stylesheet"]', (els) => els.map((e) => (e as HTMLScriptElement).src || (e as HTMLLinkElement).href));
    for (const src of scripts) expect(new URL(src).origin).toBe(base);

    // AND the data is the API's: one value per quarter so far
    const api = await p.evaluate(async () => (await fetch('/api/supervisor/series')).json());
    expect(api.quarters).toBe(Number(await chart.getAttribute('data-points')));
    expect(api.all.offered).toHaveLength(api.quarters);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(api.all.offered)).toBe(4);
    expect(sum(api.all.answered)).toBe(3);
    expect(Math.max(...api.all.queueMax)).toBe(4);
    expect(Math.max(...api.lines['12345'].queueMax)).toBe(3);
    expect(api.lines['12345'].answerRateSoFar[api.quarters - 1]).toBeCloseTo(2 / 3, 6);
    expect(api.target).toBe(0.98);
    // AND a day that does not exist is refused, naming the field
    const bad = await p.evaluate(async () => { const r = await fetch('/api/supervisor/series?day=2026-02-30'); return { status: r.status, body: await r.json() }; });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('day');

    // WHEN the line 12333 is chosen THEN the chart shows that line
    await p.selectOption('#trend-line', '12333');
    await eventually(async () => expect(await chart.getAttribute('data-line')).toBe('12333'));
    await expectContains(p.locator('#trend-summary'), '今日累计 100.0%');
    expect(await p.$$eval('#trend-line option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(['all', '12333', '12345']);
    await p.selectOption('#trend-line', 'all');

    // AND the ticket KPIs over the last 8 weeks are a line chart too, this week's values as the panel computes them
    await eventually(async () => expect(await p.locator('#weeks-chart canvas').count()).toBeGreaterThan(0));
    expect(await p.locator('#weeks-chart').getAttribute('data-points')).toBe('8');
    await expectContains(p.locator('#weeks-chart .u-legend'), '按时办结率');
    await expectContains(p.locator('#weeks-summary'), '接通率 100.0%');

    // AND by line lists 12345; seat group general adds up (3 offered = 2 answered + 1 abandoned)
    await expectText(p.locator('#by-line tr[data-key="12345"] td:nth-child(2)'), '3');
    await expectText(p.locator('#by-group tr[data-key="general"] td:nth-child(2)'), '3');
    await expectText(p.locator('#by-group tr[data-key="general"] td:nth-child(3)'), '2');
    await expectText(p.locator('#by-group tr[data-key="general"] td:nth-child(4)'), '1');
    await screenshot(p, 'wallboard-chart-zh');

    // WHEN the page is read in English at 1366×768 THEN nothing is wider than the window or its card
    await p.click('#lang');
    await expectContains(p.locator('#trend-chart .u-legend'), 'Answer rate (quarter)');
    await expectText(p.locator('#by-line thead th:nth-child(7)'), 'Abandon rate');
    const widths = await p.evaluate(() => ({
      doc: document.documentElement.scrollWidth,
      over: Array.from(document.querySelectorAll('section.card')).flatMap((card) =>
        Array.from(card.querySelectorAll('table, canvas')).filter((t) => t.getBoundingClientRect().right > card.getBoundingClientRect().right + 0.5).map((t) => t.id || card.id || t.tagName)),
    }));
    await screenshot(p, 'wallboard-chart-en-1366');
    expect(widths.doc).toBeLessThanOrEqual(1366);
    expect(widths.over).toEqual([]);
    expect(s.errors).toEqual([]);
  });
});
