/**
 * Ticket reports on the whole app with a real Redis and a controllable clock:
 * repeat requests (重复诉求) linked and counted, the urge rate (催办率) from the
 * clocks, the KPI table as CSV, and the masked, audited ticket export.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import type { CallRecord } from '../../src/calls/record.js';
import { shanghaiInstant } from '../../src/tickets/calendar.js';
import type { TicketForm } from '../../src/tickets/store.js';
import { logSink } from '../support/log-capture.js';
import { startPbx, testConfig, type PbxUnderTest } from '../support/pbx.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';
import { eventually } from '../support/wait.js';

let pbx: PbxUnderTest;
let app: App;
// Monday 2 March 2026, 10:00 in Shanghai: an ordinary working day.
const T0 = shanghaiInstant('2026-03-02') + 10 * 3600_000;
let clock = T0;
let seq = 0;

const MARKET = '市市场监管局';

function record(number: string, at: number): CallRecord {
  return {
    callId: `rep-${++seq}.${at}`,
    channelName: 'PJSIP/carrier-0001',
    caller: { number, name: '李四' },
    dialed: '12345',
    source: 'carrier',
    language: 'zh',
    startedAt: at,
    endedAt: at + 60_000,
    agentAnsweredAt: at + 10_000,
    path: [{ at, kind: 'queue', detail: 'skill general' }],
    agents: ['R1'],
    handoffs: [],
    recovered: false,
    instance: 't',
  };
}

/** A call answered by agent R1 whose form sends it to `unit` as `category`. */
async function ticketOf(number: string, category: TicketForm['category'], unit: string, summary = '超市售卖过期食品'): Promise<string> {
  const r = record(number, clock);
  await app.tickets.saveForm(r.callId, { category, requesterKind: 'citizen', summary, unitSuggestion: unit, by: 'R1', at: clock });
  const { ticketNo } = await app.tickets.createFromCall(r);
  // Creation announces the ticket; the repeat link and the clocks follow from that change.
  await eventually(async () => expect((await app.tickets.get(ticketNo))?.ticket?.units).toEqual([unit]));
  return ticketNo;
}

beforeAll(async () => {
  pbx = await startPbx();
  app = await buildApp(testConfig(pbx, { TICKET_REPEAT_WINDOW_DAYS: '30' }), { logDestination: logSink, now: () => clock });
  await app.start();
  await app.users.create({ username: 'rep-sup', roles: ['supervisor'], password: TEST_PASSWORD });
  await app.users.create({ username: 'rep-agent', roles: ['agent'], agentId: 'R1', password: TEST_PASSWORD });
  await app.users.create({ username: 'rep-aud', roles: ['auditor'], password: TEST_PASSWORD });
});

afterAll(async () => {
  await app?.stop();
  await pbx?.stop();
});

describe('repeat requests', () => {
  it('GIVEN a caller’s complaint to a unit WHEN they complain to the same unit again within the window THEN the second ticket links to the first; another category, caller or unit does not', async () => {
    const first = await ticketOf('13700001111', 'complaint', MARKET);
    clock += 3 * 86_400_000;
    const second = await ticketOf('13700001111', 'complaint', MARKET, '同一超市仍在售卖过期食品');
    const consult = await ticketOf('13700001111', 'consult', MARKET, '咨询食品经营许可');
    const other = await ticketOf('13700002222', 'complaint', MARKET);
    const otherUnit = await ticketOf('13700001111', 'complaint', '市城市管理局', '店外占道经营');
    clock += 2 * 86_400_000;
    const third = await ticketOf('13700001111', 'complaint', MARKET, '第三次反映');

    await eventually(async () => expect((await app.tickets.get(second))?.ticket?.repeatOf).toBe(first));
    // A chain names its first request, not the one before.
    await eventually(async () => expect((await app.tickets.get(third))?.ticket?.repeatOf).toBe(first));
    for (const no of [first, consult, other, otherUnit]) expect((await app.tickets.get(no))?.ticket?.repeatOf).toBeUndefined();
  });

  it('GIVEN the window has passed WHEN the caller complains again THEN it is a new matter', async () => {
    const old = await ticketOf('13700003333', 'complaint', MARKET);
    clock += 31 * 86_400_000;
    const fresh = await ticketOf('13700003333', 'complaint', MARKET);
    // Give the change listener its turn, then look: still no link.
    await app.tickets.ensureDomain(fresh);
    expect((await app.tickets.get(fresh))?.ticket?.repeatOf).toBeUndefined();
    expect(old).not.toBe(fresh);
  });
});

describe('what a console may offer', () => {
  it('GIVEN a dispatched ticket WHEN its unit, a supervisor and the agent read it THEN each is told the actions they may take now and as whom', async () => {
    clock = T0 + 300 * 86_400_000;
    const no = await ticketOf('13700008888', 'help', MARKET, '食品包装无生产日期');
    await app.users.create({ username: 'rep-unit', roles: ['unit'], unitId: MARKET, password: TEST_PASSWORD });
    const read = async (user: string) => {
      const s = await loginAs(app.http, user);
      const r = await app.http.inject({ method: 'GET', url: `/api/tickets/${no}`, headers: { authorization: `Bearer ${s.token}` } });
      expect(r.statusCode, r.body).toBe(200);
      return r.json() as { actions: { action: string; as: string }[]; returnClosedByReview: boolean };
    };
    expect((await read('rep-unit')).actions).toEqual([
      { action: 'accept', as: 'unit' },
      { action: 'return', as: 'unit' },
    ]);
    expect((await read('rep-sup')).actions).toEqual([{ action: 'accept', as: 'supervisor' }]);
    const agentView = await read('rep-agent');
    expect(agentView.actions).toEqual([]);
    expect(agentView.returnClosedByReview).toBe(false);
  });
});

describe('KPI report and ticket export', () => {
  it('GIVEN tickets, a repeat and a fired reminder WHEN a supervisor asks for the KPIs THEN repeat and urge rates count them, and the CSV export is audited', async () => {
    clock = T0 + 100 * 86_400_000; // a fresh period: 10 June 2026
    const from = clock;
    const a = await ticketOf('13700004444', 'complaint', MARKET);
    clock += 20 * 60_000;
    const b = await ticketOf('13700004444', 'complaint', MARKET, '再次投诉');
    await ticketOf('13700005555', 'help', '市城市管理局', '路灯不亮');
    await eventually(async () => expect((await app.tickets.get(b))?.ticket?.repeatOf).toBe(a));
    // Move past the first reminder of ticket a and let the clocks fire it.
    const remindAt = (await app.tickets.get(a))!.ticket!.deadlines!.remindAt[0]!;
    clock = remindAt + 1;
    await app.ticketClocks.runDue();
    await eventually(async () => expect((await app.ticketClocks.flags(a)).reminded.length).toBeGreaterThan(0));

    const sup = await loginAs(app.http, 'rep-sup');
    const auth = { authorization: `Bearer ${sup.token}` };
    const q = `from=${from}&to=${clock + 1}`;
    const json = await app.http.inject({ method: 'GET', url: `/api/supervisor/kpis?${q}`, headers: auth });
    expect(json.statusCode, json.body).toBe(200);
    const k = json.json();
    expect(k.tickets).toBe(3);
    expect(k.repeats).toMatchObject({ numerator: 1, denominator: 3 });
    // a, b and the third were dispatched; the earliest reminder of b and the third may also be due by now.
    expect(k.urge.denominator).toBe(3);
    expect(k.urge.numerator).toBeGreaterThanOrEqual(1);
    const market = k.units.find((u: { unit: string }) => u.unit === MARKET);
    expect(market).toMatchObject({ tickets: 2, repeats: { numerator: 1, denominator: 2 } });

    const csv = await app.http.inject({ method: 'GET', url: `/api/supervisor/kpis?${q}&format=csv`, headers: auth });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="kpis-/);
    const lines = csv.body.replace(/^\ufeff/, '').trim().split('\r\n');
    expect(lines[0]).toBe('rank,unit,tickets,on_time_pct,on_time,due,satisfaction_pct,satisfied,rated,reopen_pct,urge_pct,repeat_pct,resolution_pct,returns,overdue_open');
    expect(lines).toHaveLength(3);
    const marketRow = lines.find((l) => l.includes(MARKET))!.split(',');
    expect(marketRow[2]).toBe('2');
    expect(marketRow[11]).toBe('50.00');

    const bad = await app.http.inject({ method: 'GET', url: `/api/supervisor/kpis?${q}&format=xlsx`, headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('format');

    const aud = await loginAs(app.http, 'rep-aud');
    const entries = (await app.http.inject({ method: 'GET', url: '/api/audit?action=kpi-export', headers: { authorization: `Bearer ${aud.token}` } })).json().entries;
    expect(entries.find((e: { actor: string }) => e.actor === 'rep-sup')).toMatchObject({ action: 'kpi-export', detail: '2 units, csv' });
  });

  it('GIVEN tickets WHEN a supervisor exports a period THEN a masked CSV of exactly those tickets, audited with the row count; agents may not export; bad filters name the field', async () => {
    clock = T0 + 200 * 86_400_000; // 18 September 2026
    const day = new Date(clock + 8 * 3600_000).toISOString().slice(0, 10);
    const x = await ticketOf('13700006666', 'report', MARKET, '举报无证经营，联系电话13700006666');
    const y = await ticketOf('13700007777', 'suggestion', '市城市管理局', '建议增设公交站');

    const sup = await loginAs(app.http, 'rep-sup');
    const get = (url: string, token = sup.token) => app.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    const res = await get(`/api/tickets/export?from=${day}&to=${day}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.body).not.toContain('13700006666');
    expect(res.body).not.toContain('13700007777');
    const lines = res.body.replace(/^\ufeff/, '').trim().split('\r\n');
    expect(lines[0]!.split(',').slice(0, 3)).toEqual(['ticketNo', 'receivedAt', 'channel']);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual([x, y]);
    expect(lines[1]).toContain('137****6666');
    expect(lines[1]).toContain('联系电话137****6666');

    const byUnit = await get(`/api/tickets/export?from=${day}&to=${day}&unit=${encodeURIComponent(MARKET)}&format=json`);
    expect(byUnit.json().rows.map((r: { ticketNo: string }) => r.ticketNo)).toEqual([x]);
    const byState = await get(`/api/tickets/export?from=${day}&to=${day}&state=closed&format=json`);
    expect(byState.json().rows).toEqual([]);

    const agent = await loginAs(app.http, 'rep-agent');
    expect((await get(`/api/tickets/export?from=${day}&to=${day}`, agent.token)).statusCode).toBe(403);
    const badFrom = await get(`/api/tickets/export?from=2026-13-01&to=${day}`);
    expect(badFrom.statusCode).toBe(400);
    expect(badFrom.json().error.field).toBe('from');
    const badState = await get(`/api/tickets/export?from=${day}&to=${day}&state=lost`);
    expect(badState.json().error.field).toBe('state');

    const aud = await loginAs(app.http, 'rep-aud');
    const entries = (await get('/api/audit?action=ticket-export', aud.token)).json().entries as { actor: string; detail: string }[];
    expect(entries.map((e) => e.detail)).toEqual(['0 rows, json, state closed', `1 rows, json, unit ${MARKET}`, '2 rows, csv']);
    expect(entries.every((e) => e.actor === 'rep-sup')).toBe(true);
  });
});
