/**
 * The reviewed reply of a higher platform's work order: the unit's reply waits for the centre's
 * reviewer (审核); a refusal sends nothing upstream; the approval, made on the ticket desk's route,
 * reaches the platform's real HTTP receiver once for its version, with the reviewer and the
 * approved content (numbers masked). No call is placed: NO_PBX in vitest.config.ts.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useHarness } from '../support/harness.js';
import { leakedNumbers } from '../support/leaks.js';
import { userApi } from '../support/tickets.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const ZQT = 'zhengqitong-secret-0123456789';
const received: { key: string; body: string }[] = [];
let server: Server;
let url = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ key: String(req.headers['idempotency-key'] ?? ''), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/zqt`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('reviewed reply to the platform', () => {
  it('GIVEN a 政企通 work order WHEN the unit replies THEN nothing goes up until the reviewer approves; a refusal sends no reply; the approval goes up once', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'yantai', HOTLINE_AREA: 'laishan', UPSTREAM_SECRETS: `zhengqitong=${ZQT}`, UPSTREAM_URLS: `zhengqitong=${url}`, UPSTREAM_BACKOFF_MS: '30', TICKET_REPLY_REVIEW_HOURS: '24' });
    const body = JSON.stringify({ orderNo: 'ZQT-2026-000777', issuedAt: new Date(Date.now() - 3600_000).toISOString(), finishBy: '2027-03-31T18:00:00+08:00', requesterKind: 'enterprise', category: 'help', summary: '园区路灯损坏', phone: '13912345610', name: '王五' });
    const ts = Math.floor(Date.now() / 1000);
    const sig = `sha256=${createHmac('sha256', ZQT).update(`${ts}.${body}`).digest('hex')}`;
    const r = await app.http.inject({ method: 'POST', url: '/api/upstream/zhengqitong/orders', headers: { 'content-type': 'application/json', 'x-hotline-timestamp': String(ts), 'x-hotline-signature': sig }, payload: body });
    expect(r.statusCode, r.body).toBe(201);
    const no: string = r.json().ticketNo;

    const sup = await userApi(app, 'zqt-reviewer', ['supervisor']);
    const unit = await userApi(app, 'zqt-unit', ['unit'], { unitId: '莱山区住建局' });
    expect((await sup('POST', `/api/tickets/${no}/dispatch`, { units: ['莱山区住建局'] })).status).toBe(200);
    expect((await unit('POST', `/api/tickets/${no}/accept`, {})).status).toBe(200);
    const first = await unit('POST', `/api/tickets/${no}/reply`, { content: '已处理' });
    expect(first.body.ticket.ticket.state).toBe('reply-review');
    expect((await sup('POST', `/api/tickets/${no}/refuse-reply`, { reason: '未写明联系人、时间和电话' })).status).toBe(200);
    expect((await unit('POST', `/api/tickets/${no}/reply`, { content: '12月7日由张工电话13912345610联系企业，路灯已修复' })).status).toBe(200);
    const ok = await sup('POST', `/api/tickets/${no}/approve-reply`, { note: '符合模板' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const version = (await app.tickets.get(no))!.version;

    await eventually(() => expect(received.filter((x) => x.key.includes('-reply-')).map((x) => x.key)).toEqual([`${no}-reply-${version}`]), 20_000);
    // State pushes (received … reply-review, in-progress, replied) keep flowing; the reply went up once, for the approved version only.
    await eventually(() => expect(received.some((x) => x.key === `${no}-state-${version}`)).toBe(true), 20_000);
    await new Promise((res) => setTimeout(res, 500));
    const replies = received.filter((x) => x.key.includes('-reply-'));
    expect(replies).toHaveLength(1);
    const reply = JSON.parse(replies[0]!.body);
    expect(reply).toMatchObject({ event: 'order.reply', orderNo: 'ZQT-2026-000777', ticketNo: no, version, state: 'replied', reply: { unit: '莱山区住建局', reviewedBy: 'zqt-reviewer' } });
    expect(reply.reply.content).toContain('路灯已修复');
    expect(leakedNumbers(replies[0]!.body)).toEqual([]);
  });
});
