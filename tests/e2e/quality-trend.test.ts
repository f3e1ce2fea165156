/**
 * The quality page's score trend (issue 18, "charts … quality score trends") in a real headless
 * Chromium: five weeks of inspected calls of two seat groups and three agents, scored through the
 * quality service as inspectors score them; the page draws the average per week per seat group with
 * the target line (uPlot from our own origin), per agent and per day on demand, in zh-CN and English.
 * The API refuses bad input naming the field, and roles that may not read scores.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import '../support/log-capture.js';
import { useHarness } from '../support/harness.js';
import { loginAs } from '../support/route-audit.js';
import { eventually } from '../support/wait.js';
import { createUser, expectContains, expectText, login, openBrowser, PASSWORD, screenshot, startWebApp } from './support.js';

const h = useHarness();
const WEEK = 7 * 86_400_000;

/** General improves week by week; enterprise stays near 85. Index 0 = four weeks ago, 4 = this week. */
const GENERAL = [0.78, 0.82, 0.85, 0.88, 0.92];
const ENTERPRISE = [0.88, 0.86, 0.84, 0.86, 0.85];

/** Scores on the standard form giving a weighted total of exactly 100·f. */
const scoresOf = (f: number) => ({ greeting: 5 * f, accuracy: 10 * f, attitude: 10 * f, 'ticket-quality': 10 * f });

async function seed(app: App, now: number): Promise<void> {
  const calls: { callId: string; agentId: string; group: string; at: number; f: number }[] = [];
  for (let w = 0; w < 5; w++) {
    const base = now - (4 - w) * WEEK - 3_600_000;
    for (let i = 0; i < 2; i++) {
      calls.push({ callId: `qt-${w}-1001-${i}`, agentId: '1001', group: 'general', at: base - i * 60_000, f: GENERAL[w]! + 0.01 });
      calls.push({ callId: `qt-${w}-1002-${i}`, agentId: '1002', group: 'general', at: base - i * 60_000 - 1_000, f: GENERAL[w]! - 0.01 });
      calls.push({ callId: `qt-${w}-2001-${i}`, agentId: '2001', group: 'enterprise', at: base - i * 60_000 - 2_000, f: ENTERPRISE[w]! });
    }
  }
  for (const c of calls) await app.quality.noteCall({ callId: c.callId, agentId: c.agentId, group: c.group, at: c.at });
  const r = await app.quality.runSampling({ from: now - 5 * WEEK, to: now, ratePercent: 100 });
  expect(r.added).toBe(calls.length);
  for (const c of calls) await app.quality.submit({ callId: c.callId, scores: scoresOf(c.f), inspector: 'qa1' });
}

const legend = (page: import('playwright-core').Page) => page.$$eval('#trend-chart .u-legend .u-series .u-label', (ls) => ls.map((l) => (l as HTMLElement).innerText.trim()));

describe('quality score trend (Chromium)', () => {
  it('GIVEN five weeks of scores WHEN an inspector opens /quality THEN the weekly average per seat group is drawn against the target, per agent and per day on demand, in zh-CN and English', async () => {
    const { app, base } = await startWebApp(h);
    await createUser(app, 'qa1', ['inspector'], { displayName: '质检员小李' });
    await createUser(app, 'ag1', ['agent'], { agentId: '1001' });
    const now = Date.now();
    await seed(app, now);

    // ---- the API: defaults, bad input named, roles
    const qa = await loginAs(app.http, 'qa1', PASSWORD);
    const get = (url: string, token = qa.token) => app.http.inject({ url, headers: { authorization: `Bearer ${token}` } });
    const week = await get('/api/quality/trend');
    expect(week.statusCode, week.body).toBe(200);
    const body = week.json() as { bucket: string; by: string; target: number; starts: number[]; overall: { average: (number | null)[]; count: number[] }; series: { id: string; average: (number | null)[] }[] };
    expect([body.bucket, body.by, body.target]).toEqual(['week', 'group', 90]);
    expect(body.starts).toHaveLength(9); // the week holding "8 weeks ago" … this week
    expect(body.series.map((s) => s.id)).toEqual(['enterprise', 'general']);
    expect(body.series.find((s) => s.id === 'general')!.average.slice(-5)).toEqual([78, 82, 85, 88, 92]);
    expect(body.overall.average.slice(0, 4)).toEqual([null, null, null, null]);
    expect(body.overall.count.at(-1)).toBe(6);
    expect(body.overall.average.at(-1)).toBe(89.67);
    const bad = await get('/api/quality/trend?bucket=month');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('bucket');
    const tooLong = await get(`/api/quality/trend?bucket=day&from=${now - 200 * 86_400_000}&to=${now}`);
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error.field).toBe('from');
    const backwards = await get(`/api/quality/trend?from=${now}&to=${now - 1}`);
    expect(backwards.json().error.field).toBe('from');
    expect((await get('/api/quality/trend', (await loginAs(app.http, 'ag1', PASSWORD)).token)).statusCode).toBe(403);
    expect((await app.http.inject({ url: '/api/quality/trend' })).statusCode).toBe(401);

    // ---- the page
    const s = await openBrowser();
    await login(s, base, 'qa1', '/quality');
    const chart = s.page.locator('#trend-chart');
    await eventually(async () => expect(await chart.getAttribute('data-series')).toBe('enterprise,general'));
    expect(await chart.getAttribute('data-points')).toBe('9');
    // uPlot (served from our origin) drew into a canvas of the card's width.
    const canvas = await s.page.$eval('#trend-chart canvas', (c) => ({ w: (c as HTMLCanvasElement).width, h: (c as HTMLCanvasElement).height }));
    expect(canvas.w).toBeGreaterThan(600);
    expect(canvas.h).toBeGreaterThan(200);
    expect(await s.page.evaluate(() => typeof (window as unknown as { uPlot?: unknown }).uPlot)).toBe('function');
    expect(await legend(s.page)).toEqual(['周（周一，北京时间）', '全部', '目标', 'enterprise', 'general']);
    await expectText(s.page.locator('#trend-summary'), /^\d{4}-\d{2}-\d{2} 起：全部 89\.67 分（6 通），目标 90 分，未达标。$/);
    await expectContains(s.page.locator('#trend-note'), '红色虚线为目标 90 分');
    await s.page.locator('#trend-card').scrollIntoViewIfNeeded();
    await screenshot(s.page, 'quality-trend-weeks-groups');

    // Per agent.
    await s.page.selectOption('#t-by', 'agent');
    await eventually(async () => expect(await chart.getAttribute('data-series')).toBe('1001,1002,2001'));
    expect(await legend(s.page)).toEqual(['周（周一，北京时间）', '全部', '目标', '1001', '1002', '2001']);
    // Per day: the last 14 days and today.
    await s.page.selectOption('#t-bucket', 'day');
    await eventually(async () => expect(await chart.getAttribute('data-points')).toBe('15'));
    expect((await legend(s.page))[0]).toBe('日期（北京时间）');

    // English on the same page.
    await s.page.selectOption('#t-bucket', 'week');
    await eventually(async () => expect(await chart.getAttribute('data-points')).toBe('9'));
    await s.page.click('#lang');
    await eventually(async () => expect(await legend(s.page)).toEqual(['Week of (Monday, UTC+8)', 'All', 'Target', '1001', '1002', '2001']));
    await expectText(s.page.locator('#trend-summary'), /^From \d{4}-\d{2}-\d{2}: all 89\.67 \(6 calls\), target 90: not met\.$/);
    await expectText(s.page.locator('#trend-h'), 'Quality score trend');
    await s.page.locator('#trend-card').scrollIntoViewIfNeeded();
    await screenshot(s.page, 'quality-trend-weeks-agents-en');
    expect(s.errors).toEqual([]);
  }, 90_000);
});
