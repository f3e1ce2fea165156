/**
 * The supervisor wallboard's ticket KPIs in a real headless Chromium: the
 * period's 按时办结率 / 满意率 / 重办率 / 催办率 / 重复诉求率 tiles and the ranking of
 * handling units, and the two downloads (KPI table, ticket register) — masked,
 * through the page's own session, each one audited.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { CallRecord } from '../../src/calls/record.js';
import '../support/log-capture.js';
import { useHarness } from '../support/harness.js';
import { eventually } from '../support/wait.js';
import { createUser, expectText, login, openBrowser, screenshot, startWebApp } from './support.js';

const h = useHarness();
const MARKET = '市市场监管局';
const CITY = '市城市管理局';
let seq = 0;

async function ticket(app: App, number: string, unit: string, summary: string): Promise<string> {
  const at = Date.now();
  const r: CallRecord = {
    callId: `kpi-${++seq}.${at}`,
    channelName: 'PJSIP/carrier-0001',
    caller: { number, name: '赵六' },
    dialed: '12345',
    source: 'carrier',
    language: 'zh',
    startedAt: at,
    endedAt: at + 90_000,
    agentAnsweredAt: at + 8_000,
    path: [{ at, kind: 'queue', detail: 'skill general' }],
    agents: ['1001'],
    handoffs: [],
    recovered: false,
    instance: 'e2e',
  };
  await app.tickets.saveForm(r.callId, { category: 'complaint', requesterKind: 'citizen', summary, unitSuggestion: unit, by: '1001', at });
  const { ticketNo } = await app.tickets.createFromCall(r);
  await eventually(async () => expect((await app.tickets.get(ticketNo))?.ticket?.units).toEqual([unit]));
  return ticketNo;
}

describe('supervisor ticket KPIs (Chromium)', () => {
  it('GIVEN tickets of two units and a repeat WHEN the supervisor opens the wallboard THEN the KPIs and the unit ranking show, and both downloads are masked and audited', async () => {
    const { app, base } = await startWebApp(h);
    await createUser(app, 'chen', ['supervisor'], { displayName: '陈班长' });
    const first = await ticket(app, '13755556666', MARKET, '商场电梯故障无人维修');
    const again = await ticket(app, '13755556666', MARKET, '商场电梯仍未维修，联系电话13755556666');
    await ticket(app, '13755557777', CITY, '小区门口占道经营');
    await eventually(async () => expect((await app.tickets.get(again))?.ticket?.repeatOf).toBe(first));

    const sup = await openBrowser();
    await login(sup, base, 'chen', '/supervisor');
    const card = sup.page.locator('#ticket-kpi-card');
    await expectText(card.locator('#tk-tickets .v'), '3');
    await expectText(card.locator('#tk-repeat .v'), '33.3%');
    await expectText(card.locator('#tk-repeat .l'), '重复诉求率');
    // Nothing has been replied or rated yet: those rates have nothing to count.
    await expectText(card.locator('#tk-satisfaction .v'), '–');
    const market = card.locator(`#tk-units tr[data-unit="${MARKET}"]`);
    await expectText(market.locator('td[data-col="tickets"]'), '2');
    await expectText(market.locator('td[data-col="repeats"]'), '50.0%');
    await expectText(card.locator(`#tk-units tr[data-unit="${CITY}"] td[data-col="repeats"]`), '0.0%');
    expect(await card.locator('#tk-units tbody tr').count()).toBe(2);
    await screenshot(sup.page, 'supervisor-ticket-kpis');

    // The downloads use the page's session cookie, as a click on the links does.
    const csvHref = await card.locator('#tk-csv').getAttribute('href');
    const kpiCsv = await sup.page.request.get(`${base}${csvHref}`);
    expect(kpiCsv.status()).toBe(200);
    expect(kpiCsv.headers()['content-type']).toMatch(/^text\/csv/);
    const kpiText = await kpiCsv.text();
    expect(kpiText).toContain(MARKET);
    expect(kpiText.trim().split('\r\n')).toHaveLength(3);

    const exportHref = await card.locator('#tk-export').getAttribute('href');
    const reg = await sup.page.request.get(`${base}${exportHref}`);
    expect(reg.status()).toBe(200);
    const regText = await reg.text();
    expect(regText).toContain(first);
    expect(regText).toContain(again);
    expect(regText).toContain('137****6666');
    expect(regText).not.toContain('13755556666');
    expect(regText).not.toContain('13755557777');

    const audit = await app.audit.query({ actor: 'chen' });
    expect(audit.map((e) => e.action).sort()).toEqual(expect.arrayContaining(['kpi-export', 'ticket-export']));
    expect(audit.find((e) => e.action === 'ticket-export')?.detail).toBe('3 rows, csv');

    // English on the same page.
    await sup.page.click('#lang');
    await expectText(card.locator('#tk-repeat .l'), 'Repeats');
    expect(sup.errors).toEqual([]);
  });
});
