/**
 * Conformance of the higher-platform link (src/intake/): a platform's signed work order becomes a
 * ticket that keeps the platform's number and deadline beside ours (Laishan: 政企通 3 working days
 * from dispatch, 当天交办), a repeated delivery is the same ticket; state changes and the reviewed
 * reply go back to a real node:http receiver on 127.0.0.1 that checks every signature
 * (HMAC-SHA256 over timestamp + "." + body, timestamp within 5 minutes) and answers 500 to the
 * first two tries of every idempotency key: each version arrives exactly once, the same bytes on
 * every try; a platform that never accepts gets exactly UPSTREAM_ATTEMPTS tries and the push is
 * in the admin's dead letters. No call is placed: NO_PBX in vitest.config.ts.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { useHarness } from '../support/harness.js';
import { leakedNumbers } from '../support/leaks.js';
import { userApi } from '../support/tickets.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const ZQT = 'zhengqitong-secret-0123456789';
const JSJB = 'jiesujiban-secret-0123456789a';

interface Try {
  path: string;
  key: string;
  body: string;
  status: number;
  signatureOk: boolean;
}

/** The platform's receiving end: checks signatures itself; `/flaky/…` fails twice per key, `/down` always. */
class Platform {
  readonly tries: Try[] = [];
  readonly stored = new Map<string, string>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '';
        const key = String(req.headers['idempotency-key'] ?? '');
        const ts = String(req.headers['x-hotline-timestamp'] ?? '');
        const sig = Buffer.from(String(req.headers['x-hotline-signature'] ?? ''));
        const want = Buffer.from(`sha256=${createHmac('sha256', ZQT).update(`${ts}.${body}`).digest('hex')}`);
        const signatureOk = /^\d+$/.test(ts) && Math.abs(Date.now() / 1000 - Number(ts)) <= 300 && sig.length === want.length && timingSafeEqual(sig, want);
        const before = this.tries.filter((t) => t.path === path && t.key === key).length;
        let status: number;
        if (!signatureOk) status = 401;
        else if (path === '/down' || before < 2) status = 500;
        else if (this.stored.has(`${path} ${key}`)) status = 409;
        else {
          status = 200;
          this.stored.set(`${path} ${key}`, body);
        }
        this.tries.push({ path, key, body, status, signatureOk });
        res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  of(path: string, key: string): Try[] {
    return this.tries.filter((t) => t.path === path && t.key === key);
  }

  keys(path: string): string[] {
    return [...this.stored.keys()].filter((k) => k.startsWith(`${path} `)).map((k) => k.slice(path.length + 1)).sort();
  }
}

const platform = new Platform();
beforeAll(() => platform.start());
afterAll(() => platform.stop());

const laishan = (path: string, extra: Record<string, string> = {}) => ({
  HOTLINE_CITY: 'yantai',
  HOTLINE_AREA: 'laishan',
  UPSTREAM_SECRETS: `zhengqitong=${ZQT},jiesujiban=${JSJB}`,
  UPSTREAM_URLS: `zhengqitong=${platform.url}${path}`,
  UPSTREAM_BACKOFF_MS: '30',
  UPSTREAM_ATTEMPTS: '5',
  ...extra,
});

function sendOrder(app: App, p: string, secret: string, body: object, ts = Math.floor(Date.now() / 1000)) {
  const raw = JSON.stringify(body);
  const sig = `sha256=${createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex')}`;
  return app.http.inject({ method: 'POST', url: `/api/upstream/${p}/orders`, headers: { 'content-type': 'application/json', 'x-hotline-timestamp': String(ts), 'x-hotline-signature': sig }, payload: raw });
}

const isoIn = (ms: number) => new Date(ms).toISOString();
const order = (orderNo: string, extra: object = {}) => ({
  orderNo,
  issuedAt: isoIn(Date.now() - 3600_000),
  finishBy: '2027-03-31T18:00:00+08:00',
  requesterKind: 'enterprise',
  category: 'help',
  summary: '企业反映园区道路破损影响货车通行，联系人电话 13912345610',
  phone: '13912345610',
  name: '李四',
  ...extra,
});

describe('higher platforms: work orders in, state and reviewed replies back', () => {
  it('GIVEN a signed 政企通 work order WHEN received, handled and its reply reviewed THEN both numbers and deadlines are kept and every state and the reply reach the platform exactly once per version, signed, after two 500s', async () => {
    const path = '/flaky/zqt';
    const app = await h.startApp(laishan(path));
    const o = order('ZQT-2026-000123');
    const r = await sendOrder(app, 'zhengqitong', ZQT, o);
    expect(r.statusCode, r.body).toBe(201);
    const res = r.json();
    expect(res.upstream).toEqual({ platform: 'zhengqitong', orderNo: 'ZQT-2026-000123', finishBy: '2027-03-31T10:00:00.000Z' });
    const no: string = res.ticketNo;
    expect(no).toMatch(/^0535\d{14}$/);
    expect(res.state, 'no keyword rule in Yantai: the 89000 centre dispatches').toBe('received');
    expect(res.deadlines.dispatchBy, '当天交办').toBeDefined();

    // A second delivery of the same order (the platform retries, newly signed): the same ticket, no new number.
    const same = await sendOrder(app, 'zhengqitong', ZQT, o);
    expect(same.statusCode, same.body).toBe(200);
    expect(same.json()).toMatchObject({ ticketNo: no, created: false });
    expect(await app.redis.keys(`${app.config.keyPrefix}:ticket:0535*`)).toEqual([`${app.config.keyPrefix}:ticket:${no}`]);

    const sup = { id: 'sup-up1', role: 'supervisor' as const };
    await app.ticketService.act(no, { type: 'dispatch', units: ['莱山区住建局'] }, sup);
    const t2 = (await app.tickets.get(no))!.ticket!;
    expect(t2.origin).toBe('zhengqitong');
    expect(t2.deadlines!.ruleIds.finish, 'our SLA: the 政企通 rule (3 working days)').toBe('laishan-zhengqitong');
    expect(t2.upstream!.finishBy, 'theirs kept as sent').toBe(Date.parse('2027-03-31T18:00:00+08:00'));
    expect(t2.upstream!.orderNo).toBe('ZQT-2026-000123');
    const unit = { id: 'zj', role: 'unit' as const, unit: '莱山区住建局' };
    await app.ticketService.act(no, { type: 'accept', unit: '莱山区住建局' }, unit);
    const replied = await app.ticketService.act(no, { type: 'reply', content: '已于 12 月 7 日电话 13912345610 联系企业，道路已修复' }, unit);
    expect(replied!.version).toBe(4);

    // The reviewer (审核) approves the reply: the port is called — twice, as a retried review would.
    const port = app.intake.upstream!;
    expect(await port.pushReply(replied!.ticket, replied!.version, { reviewedBy: 'reviewer1', reviewedAt: Date.now() })).toBe(true);
    await port.pushReply(replied!.ticket, replied!.version, { reviewedBy: 'reviewer1', reviewedAt: Date.now() });

    const keys = [`${no}-reply-4`, `${no}-state-1`, `${no}-state-2`, `${no}-state-3`, `${no}-state-4`].sort();
    await eventually(() => expect(platform.keys(path)).toEqual(keys), 20_000);
    await new Promise((res) => setTimeout(res, 500));
    for (const key of keys) {
      const tries = platform.of(path, key);
      expect(tries.map((x) => x.status), key).toEqual([500, 500, 200]);
      expect(tries.every((x) => x.signatureOk), `${key} signed`).toBe(true);
      expect(new Set(tries.map((x) => x.body)).size, `${key}: same body on every try`).toBe(1);
    }
    const states = keys.filter((k) => k.includes('-state-')).map((k) => JSON.parse(platform.stored.get(`${path} ${k}`)!));
    expect(states.map((s) => s.state)).toEqual(['received', 'dispatched', 'accepted', 'replied']);
    expect(states[1]).toMatchObject({ event: 'order.state', platform: 'zhengqitong', orderNo: 'ZQT-2026-000123', ticketNo: no, units: ['莱山区住建局'] });
    expect(states[1].deadlines.platform.finishBy).toBe('2027-03-31T10:00:00.000Z');
    expect(states[1].deadlines.centre.finishBy).toBe(new Date(t2.deadlines!.finishBy).toISOString());
    const reply = JSON.parse(platform.stored.get(`${path} ${no}-reply-4`)!);
    expect(reply).toMatchObject({ event: 'order.reply', orderNo: 'ZQT-2026-000123', ticketNo: no, version: 4, reply: { unit: '莱山区住建局', reviewedBy: 'reviewer1' } });
    expect(reply.reply.content).toContain('道路已修复');
    for (const k of keys) expect(leakedNumbers(platform.stored.get(`${path} ${k}`)!), k).toEqual([]);

    const admin = await userApi(app, 'admin-up1', ['admin']);
    expect((await admin('GET', '/api/admin/upstream/dead-letters')).body).toEqual({ enabled: true, deadLetters: [] });
  });

  it('GIVEN a platform that always fails WHEN the attempts are used up THEN exactly UPSTREAM_ATTEMPTS tries and the push is a dead letter (admins only)', async () => {
    const path = '/down';
    const app = await h.startApp(laishan(path, { UPSTREAM_ATTEMPTS: '3' }));
    const r = await sendOrder(app, 'zhengqitong', ZQT, order('ZQT-2026-000999'));
    expect(r.statusCode).toBe(201);
    const key = `${r.json().ticketNo}-state-1`;
    const admin = await userApi(app, 'admin-up2', ['admin']);
    const dead = await eventually(async () => {
      const d = await admin('GET', '/api/admin/upstream/dead-letters');
      expect(d.body.deadLetters).toHaveLength(1);
      return d.body;
    }, 15_000);
    expect(dead).toEqual({ enabled: true, deadLetters: [{ key, platform: 'zhengqitong', attempts: 3, error: 'platform zhengqitong answered 500' }] });
    await new Promise((res) => setTimeout(res, 300));
    expect(platform.of(path, key).map((x) => x.status)).toEqual([500, 500, 500]);
    const sup = await userApi(app, 'sup-up2', ['supervisor']);
    expect((await sup('GET', '/api/admin/upstream/dead-letters')).status).toBe(403);
  });

  it('GIVEN orders signed wrong, from a platform without a secret, with bad deadlines or a reused number WHEN received THEN refused naming the header or field, nothing created; 接诉即办 orders get their own rule', async () => {
    const app = await h.startApp(laishan('/flaky/refused'));
    const cases: [string, ReturnType<typeof sendOrder>, number, string][] = [
      ['another platform’s secret', sendOrder(app, 'zhengqitong', JSJB, order('ZQT-1')), 401, 'x-hotline-signature'],
      ['stale', sendOrder(app, 'zhengqitong', ZQT, order('ZQT-1'), Math.floor(Date.now() / 1000) - 3600), 401, 'x-hotline-timestamp'],
      ['no secret for the platform', sendOrder(app, 'national', ZQT, order('GOV-1')), 404, 'platform'],
      ['no orderNo', sendOrder(app, 'zhengqitong', ZQT, order('')), 400, 'orderNo'],
      ['deadline without offset', sendOrder(app, 'zhengqitong', ZQT, order('ZQT-2', { finishBy: '2027-03-31T18:00:00' })), 400, 'finishBy'],
      ['deadline before issue', sendOrder(app, 'zhengqitong', ZQT, order('ZQT-3', { finishBy: '2020-01-01T00:00:00+08:00' })), 400, 'finishBy'],
      ['reply deadline after finish', sendOrder(app, 'zhengqitong', ZQT, order('ZQT-4', { replyBy: '2027-04-30T00:00:00+08:00' })), 400, 'replyBy'],
    ];
    for (const [label, p, status, field] of cases) {
      const r = await p;
      expect(r.statusCode, `${label}: ${r.body}`).toBe(status);
      expect(r.json().error.field, label).toBe(field);
    }
    expect(await app.redis.keys(`${app.config.keyPrefix}:ticket:0535*`)).toEqual([]);

    const j = await sendOrder(app, 'jiesujiban', JSJB, order('JSJB-7', { replyBy: '2027-03-10T18:00:00+08:00' }));
    expect(j.statusCode, j.body).toBe(201);
    const no = j.json().ticketNo;
    const reused = await sendOrder(app, 'jiesujiban', JSJB, order('JSJB-7', { summary: '另一件事' }));
    expect(reused.statusCode).toBe(409);
    expect(reused.json().error).toMatchObject({ code: 'message-id-reused', field: 'orderNo' });
    await app.ticketService.act(no, { type: 'dispatch', units: ['莱山区商务局'] }, { id: 's', role: 'supervisor' });
    const t = (await app.tickets.get(no))!.ticket!;
    expect(t.deadlines!.ruleIds).toEqual({ reply: 'laishan-jiesujiban', finish: 'laishan-jiesujiban' });
    expect(t.upstream).toMatchObject({ platform: 'jiesujiban', orderNo: 'JSJB-7', replyBy: Date.parse('2027-03-10T18:00:00+08:00') });
    // No push target for 接诉即办 here: the port says so and sends nothing.
    expect(await app.intake.upstream!.pushState(t, 2)).toBe(false);
  });
});
