/**
 * Requests from other channels through the signed intake API (src/intake/), against the app's
 * real HTTP routes and Redis: a WeChat message and a web-column request become tickets with
 * their channel, the same dispatch rule and SLA rule a call with the same content gets, clocks
 * scheduled, the citizen indexed for repeat detection; a duplicate delivery is the same ticket,
 * another message under a used id is 409; bad signatures, stale timestamps and bad fields are
 * refused naming the header or field and create nothing; the public form posts through the same
 * path, idempotent by its form id and rate-limited per address; KPIs and exports carry the
 * channel. No call is placed: NO_PBX in vitest.config.ts.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { numberIds } from '../../src/access/number-id.js';
import { messageHash, parseIntakeMessage } from '../../src/intake/model.js';
import { clockInstants, clockJobId } from '../../src/tickets/clocks.js';
import { createTicketDomain } from '../../src/tickets/service.js';
import { TicketStore } from '../../src/tickets/store.js';
import { useHarness } from '../support/harness.js';
import { leakedNumbers } from '../support/leaks.js';
import { callRecord, ticketFromRecord, userApi } from '../support/tickets.js';

const h = useHarness();
const WECHAT = 'wechat-secret-0123456789abcdef';
const WEB = 'web-secret-0123456789abcdefgh';
const env = { INTAKE_SECRETS: `wechat=${WECHAT},web=${WEB}` };

/** Signs as a channel would: HMAC-SHA256 over "<timestamp>.<raw body>", written here independently of src/. */
function post(app: App, url: string, secret: string, body: object | string, o: { ts?: number; signature?: string; headers?: Record<string, string> } = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const ts = String(o.ts ?? Math.floor(Date.now() / 1000));
  const signature = o.signature ?? `sha256=${createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex')}`;
  return app.http.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', 'x-hotline-timestamp': ts, 'x-hotline-signature': signature, ...o.headers }, payload: raw });
}

const SHA = 'a'.repeat(64);
const message = (messageId: string, extra: object = {}) => ({
  messageId,
  category: 'complaint',
  summary: '小区旁工地夜间施工噪音，影响休息',
  phone: '139 1234 5601',
  name: '张三',
  attachments: [{ ref: 'https://mp.weixin.example/media/abc.jpg', sha256: SHA, mime: 'image/jpeg', size: 12345 }],
  ...extra,
});

/** Ticket records in Redis, with or without their domain ticket (a half-created one counts too). */
async function ticketCount(app: App): Promise<number> {
  const keys = await app.redis.keys(`${app.config.keyPrefix}:ticket:0632*`);
  return keys.filter((k) => /:ticket:\d+$/.test(k)).length;
}

describe('intake from other channels', () => {
  it('GIVEN a signed WeChat message WHEN it arrives THEN it is a ticket with its channel, the dispatch and SLA rules a call gets, clocks scheduled, number masked in the export', async () => {
    const app = await h.startApp(env);
    const r = await post(app, '/api/intake/wechat', WECHAT, message('wx-msg-0001'));
    expect(r.statusCode, r.body).toBe(201);
    const res = r.json();
    expect(res).toMatchObject({ created: true, state: 'dispatched', units: ['市住房城乡建设局'] });
    expect(res).not.toHaveProperty('phone');
    const t = (await app.tickets.get(res.ticketNo))!.ticket!;
    expect(t.channel).toEqual({ kind: 'wechat', messageId: 'wx-msg-0001' });
    expect(t.callerNumber).toBe('13912345601');
    expect(t.contactName).toBe('张三');
    expect(t.attachments).toEqual([{ ref: 'https://mp.weixin.example/media/abc.jpg', sha256: SHA, mime: 'image/jpeg', size: 12345 }]);
    expect(t.deadlines, 'SLA clocks set at dispatch').toBeDefined();
    expect(res.deadlines.finishBy).toBe(new Date(t.deadlines!.finishBy).toISOString());

    // A call with the same content: same unit by the same keyword rule, same SLA rule.
    const call = await ticketFromRecord(app, callRecord('13912345699', Date.now()), { category: 'complaint', requesterKind: 'citizen', summary: '小区旁工地夜间施工噪音，影响休息', unitSuggestion: '' });
    expect(call.ticket.units).toEqual(t.units);
    expect(call.ticket.deadlines!.ruleIds).toEqual(t.deadlines!.ruleIds);
    expect(t.history.find((e) => e.type === 'dispatched')!.reason).toBe(call.ticket.history.find((e) => e.type === 'dispatched')!.reason);

    // The clocks (催办, overdue) are scheduled as for a call.
    const wanted = clockInstants(t);
    expect(wanted.length).toBeGreaterThan(0);
    for (const j of wanted) expect(await app.ticketClocks.queue.getJob(clockJobId(j)), clockJobId(j)).toBeTruthy();

    const sup = await userApi(app, 'sup-intake1', ['supervisor']);
    const day = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const exp = await sup('GET', `/api/tickets/export?from=${day}&to=${day}&format=json&channel=wechat`);
    expect(exp.status).toBe(200);
    expect(exp.body.rows).toHaveLength(1);
    expect(exp.body.rows[0]).toMatchObject({ ticketNo: res.ticketNo, channel: 'wechat', channelKind: 'wechat', origin: 'direct', caller: '139****5601', attachments: 1 });
    expect(leakedNumbers(JSON.stringify(exp.body))).toEqual([]);
  });

  it('GIVEN a delivered message WHEN the channel delivers it again (any key order) THEN the same ticket with 200; another body under the same id is 409 and creates nothing', async () => {
    const app = await h.startApp(env);
    const first = await post(app, '/api/intake/wechat', WECHAT, message('wx-dup-1'));
    expect(first.statusCode).toBe(201);
    const no = first.json().ticketNo;
    // The same message re-serialised: keys in another order, extra white space.
    const m = message('wx-dup-1');
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(m).reverse()), null, 2);
    const again = await post(app, '/api/intake/wechat', WECHAT, reordered);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ ticketNo: no, created: false });
    const before = await ticketCount(app);
    const other = await post(app, '/api/intake/wechat', WECHAT, message('wx-dup-1', { summary: '另一件事：路灯不亮' }));
    expect(other.statusCode).toBe(409);
    expect(other.json().error).toMatchObject({ code: 'message-id-reused', field: 'messageId', details: { ticketNo: no } });
    expect(await ticketCount(app)).toBe(before);
    expect((await app.tickets.get(no))!.ticket!.summary).toBe(m.summary);
    // The same id on another channel is another message.
    const web = await post(app, '/api/intake/web', WEB, message('wx-dup-1'));
    expect(web.statusCode).toBe(201);
    expect(web.json().ticketNo).not.toBe(no);
  });

  it('GIVEN a crash between numbering a request and building its ticket WHEN the channel retries THEN the retry finishes the same ticket (nothing lost, no second number)', async () => {
    const app = await h.startApp(env);
    const m = message('wx-crash-1');
    const parsed = parseIntakeMessage(m);
    if (!parsed.ok) throw new Error(parsed.message);
    // Step 1 only: a store without the domain numbers the request and stops, as a crash after it would.
    const bare = new TicketStore(app.redis, app.config.keyPrefix, '0632', numberIds(app.config.access.numberIdKey));
    const step1 = await bare.createFromIntake({
      channel: { kind: 'wechat', messageId: 'wx-crash-1' },
      category: parsed.value.category,
      requesterKind: parsed.value.requesterKind,
      urgency: parsed.value.urgency,
      topics: parsed.value.topics,
      summary: parsed.value.summary,
      phone: parsed.value.phone,
      name: parsed.value.name!,
      attachments: parsed.value.attachments,
      receivedAt: Date.now(),
      hash: messageHash(parsed.value),
    });
    expect(step1.created).toBe(true);
    expect((await app.tickets.get(step1.ticketNo))!.ticket).toBeUndefined();
    const retry = await post(app, '/api/intake/wechat', WECHAT, m);
    expect(retry.statusCode, retry.body).toBe(200);
    expect(retry.json()).toMatchObject({ ticketNo: step1.ticketNo, created: false, state: 'dispatched', units: ['市住房城乡建设局'] });
    expect((await app.tickets.get(step1.ticketNo))!.ticket!.channel).toEqual({ kind: 'wechat', messageId: 'wx-crash-1' });
    expect(await ticketCount(app)).toBe(1);

    // A crash after the commit, before the after-change work: a store with the domain but none of the
    // app's listeners writes the ticket, no clock is scheduled; the channel's retry runs that work.
    const m2 = message('wx-crash-2', { phone: '13912345607' });
    const p2 = parseIntakeMessage(m2);
    if (!p2.ok) throw new Error(p2.message);
    const noListeners = new TicketStore(app.redis, app.config.keyPrefix, '0632', numberIds(app.config.access.numberIdKey), createTicketDomain(app.ticketService.d));
    const { messageId: _id, ...rest } = p2.value;
    const committed = await noListeners.createFromIntake({ channel: { kind: 'wechat', messageId: 'wx-crash-2' }, ...rest, receivedAt: Date.now(), hash: messageHash(p2.value) });
    const t2 = (await app.tickets.get(committed.ticketNo))!.ticket!;
    expect(t2.deadlines).toBeDefined();
    const clocks = clockInstants(t2);
    expect(clocks.length).toBeGreaterThan(0);
    for (const j of clocks) expect(await app.ticketClocks.queue.getJob(clockJobId(j))).toBeFalsy();
    const retry2 = await post(app, '/api/intake/wechat', WECHAT, m2);
    expect(retry2.statusCode).toBe(200);
    expect(retry2.json()).toMatchObject({ ticketNo: committed.ticketNo, created: false });
    for (const j of clocks) expect(await app.ticketClocks.queue.getJob(clockJobId(j)), clockJobId(j)).toBeTruthy();
  });

  it('GIVEN bad signatures, stale timestamps, disabled channels and bad fields WHEN posted THEN each is refused naming the header or field, and nothing is created', async () => {
    const app = await h.startApp(env);
    const m = message('wx-bad-1');
    const cases: [string, Promise<{ statusCode: number; json(): any }>, number, string][] = [
      ['wrong secret', post(app, '/api/intake/wechat', 'not-the-secret-0123456789', m), 401, 'x-hotline-signature'],
      ['web secret on wechat', post(app, '/api/intake/wechat', WEB, m), 401, 'x-hotline-signature'],
      ['altered body', post(app, '/api/intake/wechat', WECHAT, m, { signature: `sha256=${createHmac('sha256', WECHAT).update(`${Math.floor(Date.now() / 1000)}.{}`).digest('hex')}` }), 401, 'x-hotline-signature'],
      ['replayed (10 min old)', post(app, '/api/intake/wechat', WECHAT, m, { ts: Math.floor(Date.now() / 1000) - 600 }), 401, 'x-hotline-timestamp'],
      ['no timestamp', post(app, '/api/intake/wechat', WECHAT, m, { headers: { 'x-hotline-timestamp': '' } }), 401, 'x-hotline-timestamp'],
      ['channel without a secret', post(app, '/api/intake/sms', WECHAT, m), 404, 'channel'],
      ['unknown channel', post(app, '/api/intake/fax', WECHAT, m), 400, 'channel'],
      ['bad phone', post(app, '/api/intake/wechat', WECHAT, { ...m, phone: '12345' }), 400, 'phone'],
      ['no summary', post(app, '/api/intake/wechat', WECHAT, { ...m, summary: '   ' }), 400, 'summary'],
      ['bad category', post(app, '/api/intake/wechat', WECHAT, { ...m, category: 'praise' }), 400, 'category'],
      ['attachment hash', post(app, '/api/intake/wechat', WECHAT, { ...m, attachments: [{ ref: 'media-1', sha256: 'xyz' }] }), 400, 'attachments[0].sha256'],
      ['attachment bytes', post(app, '/api/intake/wechat', WECHAT, { ...m, attachments: [{ ref: 'media-1', sha256: SHA, data: 'aGVsbG8=' }] }), 400, 'attachments[0].data'],
      ['bad message id', post(app, '/api/intake/wechat', WECHAT, { ...m, messageId: 'a b' }), 400, 'messageId'],
      ['not JSON', post(app, '/api/intake/wechat', WECHAT, '{"messageId":'), 400, 'body'],
    ];
    for (const [label, p, status, field] of cases) {
      const r = await p;
      expect(r.statusCode, label).toBe(status);
      expect(r.json().error.field, label).toBe(field);
      expect(r.json().error.message, label).toContain(field);
    }
    expect(await ticketCount(app)).toBe(0);
  });

  it('GIVEN a citizen who wrote before WHEN the same matter comes again through another channel THEN it is linked as a repeat (重复诉求), and the KPIs count it per channel', async () => {
    const app = await h.startApp(env);
    const a = (await post(app, '/api/intake/wechat', WECHAT, message('wx-rep-1'))).json();
    const b = await post(app, '/api/intake/web', WEB, message('web-rep-2', { phone: '+86 139-1234-5601', summary: '工地夜间施工噪音又开始了' }));
    expect(b.statusCode).toBe(201);
    const tb = (await app.tickets.get(b.json().ticketNo))!.ticket!;
    expect(tb.channel.kind).toBe('web');
    expect(tb.repeatOf).toBe(a.ticketNo);
    await ticketFromRecord(app, callRecord('13912345698', Date.now()), { category: 'consult', requesterKind: 'citizen', summary: '咨询办事地点', unitSuggestion: '' });

    const sup = await userApi(app, 'sup-intake4', ['supervisor']);
    const k = await sup('GET', '/api/supervisor/kpis');
    expect(k.status).toBe(200);
    const byChannel = Object.fromEntries(k.body.byChannel.map((r: any) => [r.channel, r]));
    expect(Object.keys(byChannel).sort()).toEqual(['12345', 'web', 'wechat']);
    expect(byChannel.web.tickets).toBe(1);
    expect(byChannel.web.repeats).toEqual({ numerator: 1, denominator: 1, rate: 1 });
    expect(byChannel.wechat.repeats.numerator).toBe(0);
    expect(k.body.byOrigin).toEqual([expect.objectContaining({ origin: 'direct', tickets: 3 })]);
    // The intake tickets are no calls: the answer rate counts the one call only.
    expect(k.body.answerRate.denominator).toBe(1);
    const csv = await app.http.inject({ method: 'GET', url: '/api/supervisor/kpis?format=csv&by=channel', headers: { authorization: (await loginHeader(app, 'sup-intake4')) } });
    expect(csv.statusCode).toBe(200);
    const lines = csv.body.replace(/^\ufeff/, '').trim().split('\r\n');
    expect(lines[0]!.split(',').slice(0, 3)).toEqual(['rank', 'channel', 'tickets']);
    expect(lines.slice(1).map((l) => l.split(',')[1]).sort()).toEqual(['12345', 'web', 'wechat']);
  });

  it('GIVEN the public form WHEN a citizen submits (twice, by a double click) THEN one web ticket; bad fields name the field; more than INTAKE_FORM_PER_HOUR posts from one address are 429', async () => {
    // 3 per hour: the two posts of the double click and the bad one use them up.
    const app = await h.startApp({ ...env, INTAKE_FORM_PER_HOUR: '3' });
    const page = await app.http.inject({ method: 'GET', url: '/request' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('网上诉求');
    const body = { formId: 'c0ffee00-1111-4222-8333-444455556666', category: 'help', summary: '小区停电一整天了', phone: '13912345602' };
    const one = await app.http.inject({ method: 'POST', url: '/api/public/requests', payload: body });
    expect(one.statusCode, one.body).toBe(201);
    const two = await app.http.inject({ method: 'POST', url: '/api/public/requests', payload: body });
    expect(two.statusCode).toBe(200);
    expect(two.json().ticketNo).toBe(one.json().ticketNo);
    const t = (await app.tickets.get(one.json().ticketNo))!.ticket!;
    expect(t.channel).toEqual({ kind: 'web', messageId: `form-${body.formId}` });
    expect(t.units, 'dispatched by the keyword rule, as a call would be').toEqual(['水电气热公共事业单位']);
    expect(t.deadlines?.finishBy).toBeGreaterThan(t.receivedAt);
    const bad = await app.http.inject({ method: 'POST', url: '/api/public/requests', payload: { ...body, formId: 'c0ffee00-2222', phone: 'abc' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('phone');
    const limited = await app.http.inject({ method: 'POST', url: '/api/public/requests', payload: { ...body, formId: 'c0ffee00-3333' } });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(await ticketCount(app)).toBe(1);
  });

  it('GIVEN INTAKE_FORM_ENABLED=false and no secrets WHEN anything is posted THEN nothing is served or created', async () => {
    const app = await h.startApp({ INTAKE_FORM_ENABLED: 'false' });
    expect((await app.http.inject({ method: 'GET', url: '/request' })).statusCode).toBe(404);
    expect((await app.http.inject({ method: 'POST', url: '/api/public/requests', payload: { formId: 'abcdefgh1', summary: 'x', phone: '13912345603' } })).statusCode).toBe(404);
    expect((await post(app, '/api/intake/web', WEB, message('w-1'))).statusCode).toBe(404);
    expect(await ticketCount(app)).toBe(0);
  });
});

async function loginHeader(app: App, username: string): Promise<string> {
  const { loginAs } = await import('../support/route-audit.js');
  return `Bearer ${(await loginAs(app.http, username)).token}`;
}
