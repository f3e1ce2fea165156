/**
 * Supervision on the whole app with a real Redis and a controllable clock:
 * reply review (审核) over HTTP with the reviewed reply handed to the upstream
 * port once; a unit below the 双率 requirement for 2 full weeks gets a 督办单
 * automatically, raised after the 3rd; an overdue ticket gets its own; the
 * 红黄蓝榜 of a week; the week's bulletin downloads and opens (parsed with
 * exceljs) with the ranking the KPIs give and no full number; orders'
 * refusals name the field and a stale version changes nothing; the daily
 * BullMQ job makes the bulletins of the periods that ended.
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import type { CallRecord } from '../../src/calls/record.js';
import { shanghaiInstant } from '../../src/tickets/calendar.js';
import type { Ticket } from '../../src/tickets/model.js';
import { SYSTEM } from '../../src/tickets/service.js';
import { logSink } from '../support/log-capture.js';
import { startPbx, testConfig, type PbxUnderTest } from '../support/pbx.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';
import { eventually } from '../support/wait.js';
import type { Api } from '../support/tickets.js';

let pbx: PbxUnderTest;
let app: App;
let clock = shanghaiInstant('2026-03-09', '10:00');
let seq = 0;
const sent: { ticketNo: string; version: number; content: unknown }[] = [];

const WATER = '市水务局';
const HOUSING = '市住建局';
const ROADS = '市交通运输局';
let sup: Api;
let waterUser: Api;
let housingUser: Api;
let aud: Api;

async function api(username: string): Promise<Api> {
  const { token } = await loginAs(app.http, username);
  return async (method, url, payload) => {
    const r = await app.http.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
    const json = r.headers['content-type']?.toString().includes('json');
    return { status: r.statusCode, body: json && r.body ? JSON.parse(r.body) : r.rawPayload };
  };
}

function record(number: string, at: number): CallRecord {
  return {
    callId: `sup-${++seq}.${at}`,
    channelName: 'PJSIP/carrier-0001',
    caller: { number, name: '' },
    dialed: '12345',
    source: 'carrier',
    language: 'zh',
    startedAt: at,
    endedAt: at + 60_000,
    agentAnsweredAt: at + 10_000,
    path: [{ at, kind: 'queue', detail: 'skill general' }],
    agents: ['S1'],
    handoffs: [],
    recovered: false,
    instance: 't',
  };
}

/** A call's ticket dispatched to `unit` at the current clock. */
async function ticketTo(unit: string, number = `1390000${String(1000 + seq).slice(-4)}`): Promise<string> {
  const r = record(number, clock);
  await app.tickets.saveForm(r.callId, { category: 'help', requesterKind: 'citizen', summary: '路灯不亮', unitSuggestion: unit, by: 'S1', at: clock });
  const { ticketNo } = await app.tickets.createFromCall(r);
  await eventually(async () => expect((await app.tickets.get(ticketNo))?.ticket?.units).toEqual([unit]));
  return ticketNo;
}

const H = 3_600_000;
const unitActor = (unit: string) => ({ id: `u-${unit}`, role: 'unit' as const, unit });
const supActor = { id: 'sv-sup', role: 'supervisor' as const };

/** Through the service: accepted, replied, approved in review and rated `rating`, an hour apart. */
async function handled(no: string, unit: string, rating: 1 | 4): Promise<Ticket> {
  const step = async (a: Parameters<App['ticketService']['act']>[1], actor: Parameters<App['ticketService']['act']>[2]) => {
    clock += H / 6;
    return (await app.ticketService.act(no, a, actor))!.ticket;
  };
  await step({ type: 'accept', unit }, unitActor(unit));
  await step({ type: 'reply', content: '已修复' }, unitActor(unit));
  await step({ type: 'approve-reply' }, supActor);
  return step({ type: 'rate', satisfaction: rating }, SYSTEM);
}

beforeAll(async () => {
  pbx = await startPbx();
  app = await buildApp(testConfig(pbx, { TICKET_REPLY_REVIEW_HOURS: '24', SUPERVISION_MIN_SAMPLE: '1' }), {
    logDestination: logSink,
    now: () => clock,
    reviewedReply: async (t, version) => {
      sent.push({ ticketNo: t.ticketNo, version, content: t.history.at(-1)?.data?.content });
    },
  });
  await app.start();
  await app.users.create({ username: 'sv-sup', roles: ['supervisor'], password: TEST_PASSWORD });
  await app.users.create({ username: 'sv-water', roles: ['unit'], unitId: WATER, password: TEST_PASSWORD });
  await app.users.create({ username: 'sv-housing', roles: ['unit'], unitId: HOUSING, password: TEST_PASSWORD });
  await app.users.create({ username: 'sv-aud', roles: ['auditor'], password: TEST_PASSWORD });
  sup = await api('sv-sup');
  waterUser = await api('sv-water');
  housingUser = await api('sv-housing');
  aud = await api('sv-aud');
});

afterAll(async () => {
  await app?.stop();
  await pbx?.stop();
});

describe('reply review (审核) over HTTP', () => {
  it('GIVEN a unit’s reply WHEN the reviewer refuses it (reason required) THEN the unit replies again; WHEN approved THEN it is replied and handed upstream once', async () => {
    const no = await ticketTo(WATER, '13911112222');
    expect((await waterUser('POST', `/api/tickets/${no}/accept`, {})).status).toBe(200);
    const r1 = await waterUser('POST', `/api/tickets/${no}/reply`, { content: '已处理' });
    expect(r1.status, JSON.stringify(r1.body)).toBe(200);
    expect(r1.body.ticket.ticket.state).toBe('reply-review');

    const view = await sup('GET', `/api/tickets/${no}`);
    expect(view.body.actions.map((a: { action: string }) => a.action)).toEqual(['approve-reply', 'refuse-reply']);
    expect((await waterUser('GET', `/api/tickets/${no}`)).body.actions).toEqual([]);
    expect((await waterUser('POST', `/api/tickets/${no}/approve-reply`, {})).status).toBe(403);

    const noReason = await sup('POST', `/api/tickets/${no}/refuse-reply`, {});
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.field).toBe('reason');
    clock += H;
    const refused = await sup('POST', `/api/tickets/${no}/refuse-reply`, { reason: '未写明联系时间与电话' });
    expect(refused.status).toBe(200);
    expect(refused.body.ticket.ticket.state).toBe('in-progress');
    expect(sent).toEqual([]);

    clock += H;
    expect((await waterUser('POST', `/api/tickets/${no}/reply`, { content: '3月9日14时由王工电话联系来电人，路灯已修复' })).status).toBe(200);
    clock += H;
    const ok = await sup('POST', `/api/tickets/${no}/approve-reply`, { note: '符合模板' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.ticket.ticket.state).toBe('replied');
    const st = (await app.tickets.get(no))!;
    await eventually(() => expect(sent).toEqual([{ ticketNo: no, version: st.version, content: '3月9日14时由王工电话联系来电人，路灯已修复' }]));
    // A later change of the ticket (a rating) hands nothing upstream again.
    expect((await sup('POST', `/api/tickets/${no}/rate`, { satisfaction: 1 })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(sent).toHaveLength(1);
  });
});

describe('automatic 督办 and escalation of low 双率', () => {
  let lowOrderId = '';

  it('GIVEN housing rated dissatisfied in the weeks of 03-09 and 03-16 and water satisfied WHEN the rules run on 03-23 THEN housing gets one level-2 order (twice run: still one), water none; an overdue ticket gets its own', async () => {
    // Week of 2026-03-09 (the review test above already put one satisfied water ticket there).
    clock = shanghaiInstant('2026-03-10', '09:00');
    await handled(await ticketTo(HOUSING), HOUSING, 4);
    await handled(await ticketTo(WATER), WATER, 1);
    const overdueNo = await ticketTo(ROADS, '13955556666');
    // Week of 2026-03-16.
    clock = shanghaiInstant('2026-03-17', '09:00');
    await handled(await ticketTo(HOUSING), HOUSING, 4);
    await handled(await ticketTo(WATER), WATER, 1);

    clock = shanghaiInstant('2026-03-23', '09:00');
    // Two instances running the rules at once: each order is made once.
    const [a, b] = await Promise.all([sup('POST', '/api/supervision/evaluate', {}), app.supervision.service.evaluate()]);
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect([...a.body.created, ...b.created]).toHaveLength(2);
    const again = await sup('POST', '/api/supervision/evaluate', {});
    expect(again.body).toEqual({ created: [], escalated: [] });

    const list = (await sup('GET', '/api/supervision/orders')).body.orders as any[];
    const low = list.filter((o) => o.trigger === 'low-rates');
    expect(low.map((o) => [o.target, o.level, o.state])).toEqual([[{ kind: 'unit', unit: HOUSING }, 2, 'open']]);
    expect(low[0].reason).toContain('连续2周');
    lowOrderId = low[0].id;
    const overdue = list.filter((o) => o.trigger === 'overdue');
    expect(overdue.map((o) => o.target)).toEqual([{ kind: 'ticket', ticketNo: overdueNo, unit: ROADS }]);
    // Deadline on working days (the calendar's convention: the end of the 3rd working day after Monday 03-23).
    expect(low[0].dueBy).toBe(shanghaiInstant('2026-03-27') - 1);
    // A unit sees only its own orders.
    const mine = (await housingUser('GET', '/api/supervision/orders')).body.orders as any[];
    expect(mine.map((o) => o.id)).toEqual([lowOrderId]);
    expect((await waterUser('GET', `/api/supervision/orders/${lowOrderId}`)).status).toBe(404);
  });

  it('WHEN housing stays below in the week of 03-23 THEN on 03-30 the same order is raised to level 3 (主要领导约谈), audited', async () => {
    clock = shanghaiInstant('2026-03-24', '09:00');
    await handled(await ticketTo(HOUSING), HOUSING, 4);
    clock = shanghaiInstant('2026-03-30', '09:00');
    const run = await sup('POST', '/api/supervision/evaluate', {});
    expect(run.body.escalated).toContain(lowOrderId);
    const o = (await sup('GET', `/api/supervision/orders/${lowOrderId}`)).body.order;
    expect(o.level).toBe(3);
    expect(o.history.map((e: any) => [e.type, e.level])).toEqual([['created', 2], ['escalated', 3]]);
    const audit = await aud('GET', `/api/audit?target=${encodeURIComponent(`supervision:${lowOrderId}`)}`);
    expect(audit.body.entries.map((e: any) => e.action).sort()).toEqual(['supervision-order-created', 'supervision-order-escalated']);
  });

  it('orders by hand: refusals name the field; the unit answers; a stale version is 409 and changes nothing; 销号 closes it', async () => {
    const noReason = await sup('POST', '/api/supervision/orders', { unit: HOUSING });
    expect([noReason.status, noReason.body.error.field]).toEqual([400, 'reason']);
    const noTicket = await sup('POST', '/api/supervision/orders', { ticketNo: '0632209901010000001', reason: '催办' });
    expect([noTicket.status, noTicket.body.error.field]).toEqual([400, 'ticketNo']);
    const days = await sup('POST', '/api/supervision/orders', { unit: HOUSING, reason: '专题协调', workingDays: 0 });
    expect([days.status, days.body.error.field]).toEqual([400, 'workingDays']);
    expect((await housingUser('POST', '/api/supervision/orders', { unit: HOUSING, reason: 'x' })).status).toBe(403);

    const made = await sup('POST', '/api/supervision/orders', { unit: HOUSING, reason: '反映问题集中：老旧小区路灯' });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const o = made.body.order;
    expect(o).toMatchObject({ trigger: 'manual', level: 1, state: 'open', version: 1, createdBy: 'sv-sup' });
    expect((await waterUser('POST', `/api/supervision/orders/${o.id}/respond`, { version: 1, text: 'x' })).status).toBe(404);
    const empty = await housingUser('POST', `/api/supervision/orders/${o.id}/respond`, { version: 1, text: '   ' });
    expect([empty.status, empty.body.error.field]).toEqual([400, 'text']);
    const resp = await housingUser('POST', `/api/supervision/orders/${o.id}/respond`, { version: 1, text: '已排查12处路灯，3月31日前全部修复' });
    expect(resp.status).toBe(200);
    expect(resp.body.order).toMatchObject({ state: 'responded', version: 2 });
    const stale = await sup('POST', `/api/supervision/orders/${o.id}/close`, { version: 1 });
    expect([stale.status, stale.body.error.code, stale.body.error.field]).toEqual([409, 'version-conflict', 'version']);
    expect((await sup('GET', `/api/supervision/orders/${o.id}`)).body.order.state).toBe('responded');
    const closed = await sup('POST', `/api/supervision/orders/${o.id}/close`, { version: 2, note: '核实已修复' });
    expect(closed.body.order).toMatchObject({ state: 'closed', version: 3 });
    const again = await housingUser('POST', `/api/supervision/orders/${o.id}/respond`, { version: 3, text: '补充' });
    expect([again.status, again.body.error.code]).toEqual([409, 'illegal-transition']);
  });
});

describe('红黄蓝榜 and the bulletin', () => {
  it('the week of 03-09 (as of 03-30): water red, housing blue (satisfaction), roads blue (its ticket overdue); the week’s bulletin downloads, opens, shows the same ranking and KPIs, no full number; audited', async () => {
    const rank = await sup('GET', '/api/supervision/ranking?period=week&date=2026-03-11');
    expect(rank.status, JSON.stringify(rank.body)).toBe(200);
    expect(rank.body.period).toMatchObject({ kind: 'week', label: '2026-03-09' });
    const rows = rank.body.ranking as any[];
    expect(rows.map((r) => [r.rank, r.unit, r.band])).toEqual([
      [1, WATER, 'red'],
      [2, HOUSING, 'blue'],
      [3, ROADS, 'blue'],
    ]);
    expect(rows[0].satisfaction).toEqual({ numerator: 2, denominator: 2, rate: 1 });

    const bad = await sup('POST', '/api/supervision/bulletins', { kind: 'fortnight', date: '2026-03-11' });
    expect([bad.status, bad.body.error.field]).toEqual([400, 'kind']);
    const badDate = await sup('POST', '/api/supervision/bulletins', { kind: 'week', date: '2026-02-30' });
    expect([badDate.status, badDate.body.error.field]).toEqual([400, 'date']);
    const gen = await sup('POST', '/api/supervision/bulletins', { kind: 'week', date: '2026-03-11' });
    expect(gen.status, JSON.stringify(gen.body)).toBe(201);
    expect(gen.body.bulletin).toMatchObject({ id: 'week-2026-03-09', summary: { red: 1, blue: 2, units: 3 } });

    const file = await sup('GET', '/api/supervision/bulletins/week-2026-03-09/file');
    expect(file.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(file.body as never);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['概况 Summary', '红黄蓝榜 Ranking', '督办 Orders', '超期工单 Overdue']);
    const rankSheet = wb.getWorksheet('红黄蓝榜 Ranking')!;
    const sheetRows: unknown[][] = [];
    rankSheet.eachRow((row, n) => {
      if (n > 1) sheetRows.push([row.getCell(1).value, row.getCell(2).value, String(row.getCell(3).value).split(' ')[0], row.getCell(6).value]);
    });
    expect(sheetRows).toEqual(rows.map((r) => [r.rank, r.unit, { red: '红榜', yellow: '黄榜', blue: '蓝榜', none: '未评' }[r.band as string], r.satisfaction.rate === null ? null : r.satisfaction.rate * 100]));
    const summary = wb.getWorksheet('概况 Summary')!;
    const sat = summary.getRows(1, 20)!.find((r) => String(r.getCell(1).value).startsWith('满意率'))!;
    expect([sat.getCell(3).value, sat.getCell(4).value]).toEqual([rank.body.overall.satisfaction.numerator, rank.body.overall.satisfaction.denominator]);
    const overdueSheet = wb.getWorksheet('超期工单 Overdue')!;
    expect(overdueSheet.getRow(2).getCell(5).value).toBe('139****6666');
    // No full caller number anywhere in the file.
    const all: string[] = [];
    for (const ws of wb.worksheets) ws.eachRow((row) => row.eachCell((c) => all.push(String(c.value))));
    expect(all.join('\n')).not.toMatch(/139\d{8}/);

    const audit = await aud('GET', '/api/audit?target=bulletin:week-2026-03-09');
    expect(audit.body.entries.map((e: any) => e.action).sort()).toEqual(['bulletin-export', 'bulletin-generated']);
  });

  it('the daily BullMQ job (scheduled at 00:10 city time) makes yesterday’s bulletin, and on a Monday last week’s', async () => {
    const schedulers = await app.supervision.jobs.queue.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.pattern, s.tz])).toEqual([['daily', '10 0 * * *', 'Asia/Shanghai']]);
    clock = shanghaiInstant('2026-03-30', '00:10');
    const job = await app.supervision.jobs.queue.add('daily', {});
    const done = await eventually(async () => {
      // One read of the job's hash: finishedOn and returnvalue are written together when it completes
      // (a state asked after an earlier read of the job can be 'completed' while that read had no value).
      const j = await app.supervision.jobs.queue.getJob(job.id!);
      expect(j?.finishedOn).toBeTruthy();
      expect(j!.failedReason ?? '').toBe('');
      return j!.returnvalue as { bulletins: string[] };
    });
    expect(done.bulletins).toEqual(['day-2026-03-29', 'week-2026-03-23']);
    const list = (await sup('GET', '/api/supervision/bulletins')).body.bulletins as any[];
    expect(list.map((b) => b.id)).toEqual(expect.arrayContaining(['day-2026-03-29', 'week-2026-03-23', 'week-2026-03-09']));
  });
});
