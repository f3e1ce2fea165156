/**
 * Times on the pages are the city's (Asia/Shanghai), labelled, whatever the
 * browser's time zone (issue 18): a Chromium set to UTC reads the wallboard's
 * update time, the audit log, the quality page's days and the ticket desk's
 * times in 北京时间 — one formatter (common.js) for all of them.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { CallRecord } from '../../src/calls/record.js';
import '../support/log-capture.js';
import { useHarness } from '../support/harness.js';
import { eventually } from '../support/wait.js';
import { createUser, expectContains, expectVisible, login, openBrowser, screenshot, startWebApp } from './support.js';

const h = useHarness();

/** `YYYY-MM-DD HH:mm:ss` of `ms` in a zone: what the pages show (city) or would show in the browser's zone (UTC). */
function fmtIn(ms: number, timeZone: string): string {
  const p: Record<string, string> = {};
  const f = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  for (const x of f.formatToParts(new Date(ms))) p[x.type] = x.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}
const city = (ms: number) => fmtIn(ms, 'Asia/Shanghai');
const cityDay = (ms: number) => city(ms).slice(0, 10);

/** A ticket from a call answered by agent 1001, dispatched to a unit. */
async function ticket(app: App): Promise<{ ticketNo: string; receivedAt: number }> {
  const at = Date.now();
  const r: CallRecord = {
    callId: `tz-1.${at}`,
    channelName: 'PJSIP/carrier-0001',
    caller: { number: '13812345678', name: '王五' },
    dialed: '12345',
    source: 'carrier',
    language: 'zh',
    startedAt: at,
    endedAt: at + 120_000,
    agentAnsweredAt: at + 9_000,
    path: [{ at, kind: 'queue', detail: 'skill general' }],
    agents: ['1001'],
    handoffs: [],
    recovered: false,
    instance: 'e2e',
  };
  await app.tickets.saveForm(r.callId, { category: 'complaint', requesterKind: 'citizen', summary: '路灯不亮', unitSuggestion: '市城市管理局', by: '1001', at });
  const { ticketNo } = await app.tickets.createFromCall(r);
  const stored = await eventually(async () => {
    const s = await app.tickets.get(ticketNo);
    expect(s?.ticket?.units).toEqual(['市城市管理局']);
    return s!;
  });
  return { ticketNo, receivedAt: stored.ticket!.receivedAt };
}

describe('city time on every page (Chromium in UTC)', () => {
  it('GIVEN a browser whose time zone is UTC WHEN the wallboard, audit log, quality page and ticket desk are opened THEN every time shown is Shanghai time, labelled', async () => {
    const { app, base } = await startWebApp(h);
    await createUser(app, 'super1', ['supervisor'], { displayName: '班长' });
    await createUser(app, 'audit1', ['auditor'], { displayName: '审计员' });
    const tk = await ticket(app);

    const s = await openBrowser({ timezoneId: 'UTC' });
    const p = s.page;
    // The browser really is in UTC: its own clock would show another hour than the city's.
    expect(await p.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)).toBe('UTC');
    expect(city(tk.receivedAt)).not.toBe(fmtIn(tk.receivedAt, 'UTC'));

    // WHEN the supervisor opens the wallboard THEN "updated" is the city's time now, labelled 北京时间
    await login(s, base, 'super1', '/supervisor');
    const updated = await eventually(async () => {
      const text = (await p.locator('#updated').innerText()).trim();
      expect(text).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} 北京时间$/);
      return text;
    });
    const shown = Date.parse(`${updated.replace(' 北京时间', '').replace(' ', 'T')}+08:00`);
    expect(Math.abs(shown - Date.now())).toBeLessThan(30_000);
    await screenshot(p, 'city-time-wallboard');

    // AND the quality page's days are the city's: sampling defaults to the city's today
    await p.goto(`${base}/quality`);
    await expectVisible(p.locator('#sampling-card'));
    const today = cityDay(Date.now());
    await eventually(async () => expect(await p.inputValue('#s-day')).toBe(today));
    expect(await p.inputValue('#f-to')).toBe(today);
    expect(await p.inputValue('#f-from')).toBe(cityDay(Date.now() - 86_400_000));
    await expectContains(p.locator('#sampling-card'), '北京时间');

    // AND the ticket desk lists the ticket with its city time (list: MM-DD HH:mm, full time on hover)
    await p.goto(`${base}/tickets`);
    const row = p.locator(`#tickets tr[data-no="${tk.ticketNo}"] td.received`);
    await eventually(async () => expect(await row.getAttribute('title')).toBe(city(tk.receivedAt)));
    expect((await row.innerText()).trim()).toBe(city(tk.receivedAt).slice(5, 16));
    await expectContains(p.locator('#tickets thead'), '北京时间');
    await p.click(`#tickets tr[data-no="${tk.ticketNo}"]`);
    await expectContains(p.locator('#detail-card'), `${city(tk.receivedAt)} 北京时间`);
    await screenshot(p, 'city-time-tickets');

    // AND in English the label is UTC+8
    await p.click('#lang');
    await expectContains(p.locator('#tickets thead'), 'UTC+8');
    await p.click('#lang');

    // WHEN the auditor opens the audit log THEN each entry's time is the city's
    const a = await openBrowser({ timezoneId: 'UTC' });
    await login(a, base, 'audit1', '/audit');
    await eventually(async () => expect(await a.page.locator('#audit-table tbody tr[data-action="login"]').count()).toBeGreaterThanOrEqual(2));
    const rows = await a.page.$$eval('#audit-table tbody tr', (rs) => rs.map((r) => Array.from(r.querySelectorAll('td')).slice(0, 2).map((td) => td.textContent ?? '')));
    const entries = (await app.audit.page({ limit: 100 })).entries;
    expect(rows).toEqual(entries.map((e) => [city(e.at), e.actor]));
    await expectContains(a.page.locator('#audit-table thead'), '北京时间');
    await screenshot(a.page, 'city-time-audit');

    expect(s.errors).toEqual([]);
    expect(a.errors).toEqual([]);
  });
});
