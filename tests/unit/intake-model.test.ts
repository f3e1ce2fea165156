/**
 * The pure parts of the intake (src/intake/model.ts, upstream.ts payloads, kpi.ts by channel,
 * config): field-by-field checks naming the field, phone normalisation, the canonical message
 * hash, the signature rule (constant-time, replay window), the push bodies, the channel as a KPI
 * dimension, and the configuration of secrets and push targets.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigErrors, describeConfig, loadConfig } from '../../src/config/index.js';
import { messageHash, normalizePhone, parseIntakeMessage, parseWorkOrder, signatureFault, signRequest } from '../../src/intake/model.js';
import { replyPayload, statePayload } from '../../src/intake/upstream.js';
import { ticketKpisBy } from '../../src/tickets/kpi.js';
import { channelDimension, newTicket, type Ticket } from '../../src/tickets/model.js';

const base = { messageId: 'm-1', summary: '路灯不亮', phone: '13912345678' };

describe('intake messages', () => {
  it('GIVEN a minimal message WHEN parsed THEN defaults are filled and the phone normalised', () => {
    const r = parseIntakeMessage({ ...base, phone: '+86 139-1234-5678' });
    expect(r).toEqual({ ok: true, value: { messageId: 'm-1', category: 'consult', requesterKind: 'citizen', urgency: 'normal', summary: '路灯不亮', phone: '13912345678', topics: [], attachments: [] } });
  });

  it.each([
    [{ ...base, messageId: undefined }, 'messageId'],
    [{ ...base, messageId: 'has space' }, 'messageId'],
    [{ ...base, summary: '' }, 'summary'],
    [{ ...base, summary: 'x'.repeat(2001) }, 'summary'],
    [{ ...base, phone: '110' }, 'phone'],
    [{ ...base, category: 'praise' }, 'category'],
    [{ ...base, requesterKind: 'robot' }, 'requesterKind'],
    [{ ...base, name: 'a\u0007b' }, 'name'],
    [{ ...base, topics: ['Bad Topic'] }, 'topics[0]'],
    [{ ...base, attachments: {} }, 'attachments'],
    [{ ...base, attachments: [{ ref: 'ftp://x/y', sha256: 'a'.repeat(64) }] }, 'attachments[0].ref'],
    [{ ...base, attachments: [{ ref: 'id-1', sha256: 'A'.repeat(64) }] }, 'attachments[0].sha256'],
    [{ ...base, attachments: [{ ref: 'id-1', sha256: 'a'.repeat(64), base64: 'eA==' }] }, 'attachments[0].data'],
    [{ ...base, attachments: [{ ref: 'id-1', sha256: 'a'.repeat(64), size: -1 }] }, 'attachments[0].size'],
    [[], 'body'],
  ])('GIVEN %j WHEN parsed THEN the fault names %s', (input, field) => {
    const r = parseIntakeMessage(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.field).toBe(field);
  });

  it('GIVEN phones as people write them WHEN normalised THEN mobiles and landlines with an area code pass, short numbers do not', () => {
    expect(normalizePhone('0535-6123456')).toBe('05356123456');
    expect(normalizePhone('(0632) 1234 5678')).toBe('063212345678');
    expect(normalizePhone('12345')).toBeUndefined();
    expect(normalizePhone('23912345678')).toBeUndefined();
  });

  it('GIVEN the same message in another key order WHEN hashed THEN the same hash; another summary THEN another', () => {
    const a = parseIntakeMessage(base);
    const b = parseIntakeMessage({ phone: base.phone, summary: base.summary, messageId: base.messageId });
    const c = parseIntakeMessage({ ...base, summary: '路灯又不亮' });
    if (!a.ok || !b.ok || !c.ok) throw new Error('parse');
    expect(messageHash(a.value)).toBe(messageHash(b.value));
    expect(messageHash(a.value)).not.toBe(messageHash(c.value));
  });

  it('GIVEN work orders WHEN parsed THEN deadlines are ISO with an offset and in order', () => {
    const ok = parseWorkOrder({ ...base, orderNo: 'P-1', issuedAt: '2026-12-01T09:00:00+08:00', replyBy: '2026-12-03T18:00:00+08:00', finishBy: '2026-12-18T18:00:00+08:00' });
    expect(ok.ok && ok.value).toMatchObject({ orderNo: 'P-1', issuedAt: Date.parse('2026-12-01T01:00:00Z'), replyBy: Date.parse('2026-12-03T10:00:00Z') });
    const fields = (b: object) => {
      const r = parseWorkOrder({ ...base, orderNo: 'P-1', issuedAt: '2026-12-01T09:00:00+08:00', finishBy: '2026-12-18T18:00:00+08:00', ...b });
      return r.ok ? undefined : r.field;
    };
    expect(fields({ orderNo: '' })).toBe('orderNo');
    expect(fields({ issuedAt: '2026-02-30T09:00:00+08:00' })).toBe('issuedAt');
    expect(fields({ finishBy: '2026-11-30T09:00:00+08:00' })).toBe('finishBy');
    expect(fields({ replyBy: '2026-12-19T09:00:00+08:00' })).toBe('replyBy');
  });
});

describe('signatures', () => {
  const secret = 'channel-secret-0123456789';
  const body = '{"messageId":"m-1"}';
  const now = Date.parse('2026-12-07T00:00:00Z');
  const ts = String(now / 1000);
  const ok = { secret, timestamp: ts, signature: signRequest(secret, ts, body), body, nowMs: now, windowSec: 300 };

  it('GIVEN the HMAC of timestamp and body WHEN checked THEN it passes; the formula is HMAC-SHA256(secret, ts + "." + body)', () => {
    expect(ok.signature).toBe(`sha256=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`);
    expect(signatureFault(ok)).toBeUndefined();
  });

  it.each([
    ['a changed body', { body: '{"messageId":"m-2"}' }, 'x-hotline-signature'],
    ['another secret', { secret: 'other-secret-0123456789' }, 'x-hotline-signature'],
    ['a malformed signature', { signature: 'abc' }, 'x-hotline-signature'],
    ['a timestamp 301 s old', { nowMs: now + 301_000 }, 'x-hotline-timestamp'],
    ['a timestamp 301 s ahead', { nowMs: now - 301_000 }, 'x-hotline-timestamp'],
    ['a timestamp in ms', { timestamp: String(now) }, 'x-hotline-timestamp'],
    ['no timestamp', { timestamp: undefined }, 'x-hotline-timestamp'],
  ])('GIVEN %s WHEN checked THEN refused naming %s', (_l, change, field) => {
    expect(signatureFault({ ...ok, ...change })?.field).toBe(field);
  });

  it('GIVEN a timestamp 300 s old WHEN checked THEN still inside the window', () => {
    expect(signatureFault({ ...ok, nowMs: now + 300_000 })).toBeUndefined();
  });
});

function order(no: string): Ticket {
  const t = newTicket({ ticketNo: no, cityId: 'yantai', channel: { kind: 'upstream', platform: 'zhengqitong', orderNo: 'Z-9' }, category: 'help', requesterKind: 'enterprise', summary: 's', callerNumber: '13912345678', callIds: [], receivedAt: 1_000, origin: 'zhengqitong', actor: { id: 'system', role: 'system' } });
  return { ...t, upstream: { platform: 'zhengqitong', orderNo: 'Z-9', issuedAt: 500, finishBy: 9_000_000 } };
}

describe('pushes and reporting by channel', () => {
  it('GIVEN a work order WHEN its state and reply are pushed THEN both numbers, both deadlines, and numbers in the reply text masked', () => {
    const t = order('053520261207000001');
    expect(statePayload(t, 1)).toMatchObject({ event: 'order.state', platform: 'zhengqitong', orderNo: 'Z-9', ticketNo: t.ticketNo, version: 1, state: 'received', deadlines: { platform: { finishBy: new Date(9_000_000).toISOString() } } });
    const replied: Ticket = { ...t, state: 'replied', units: ['U'], history: [...t.history, { type: 'replied', at: 2_000, actor: { id: 'u', role: 'unit', unit: 'U' }, data: { content: '已电话 13912345678 联系' } }] };
    const p = replyPayload(replied, 5, { reviewedBy: 'r1', reviewedAt: 3_000 });
    expect(p.reply).toEqual({ content: '已电话 139****5678 联系', unit: 'U', repliedAt: new Date(2_000).toISOString(), reviewedBy: 'r1', reviewedAt: new Date(3_000).toISOString() });
  });

  it('GIVEN tickets of several channels WHEN grouped THEN each counts once under its channel and origin', () => {
    const mk = (no: number, channel: Ticket['channel'], origin?: Ticket['origin']): Ticket =>
      newTicket({ ticketNo: String(no), cityId: 'c', channel, category: 'consult', requesterKind: 'citizen', summary: '', callerNumber: '1', callIds: [], receivedAt: no, ...(origin ? { origin } : {}), actor: { id: 's', role: 'system' } });
    const ts = [mk(1, { kind: '12345' }), mk(2, { kind: 'wechat', messageId: 'a' }), mk(3, { kind: 'wechat', messageId: 'b' }), mk(4, { kind: 'legacy-line', number: '12349' }), mk(5, { kind: 'upstream', platform: 'city', orderNo: 'c' }, 'city')];
    expect(channelDimension(ts[4]!.channel)).toBe('upstream:city');
    const byChannel = ticketKpisBy(ts, 'channel', { asOf: 10 });
    expect([...byChannel].map(([k, v]) => [k, v.tickets])).toEqual([['12345', 1], ['legacy-line', 1], ['upstream:city', 1], ['wechat', 2]]);
    const byOrigin = ticketKpisBy(ts, 'origin', { asOf: 10 });
    expect([...byOrigin].map(([k, v]) => [k, v.tickets])).toEqual([['city', 1], ['direct', 4]]);
  });
});

describe('configuration', () => {
  const valid = { ARI_URL: 'http://127.0.0.1:8088', ARI_PASSWORD: 'ari-secret-value', AMI_SECRET: 'ami-secret-value', REDIS_URL: 'redis://127.0.0.1:6379', JWT_SECRET: 'jwt-secret-value-jwt-secret-value-0123' };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ ...valid, ...env });
      return [];
    } catch (err) {
      return err instanceof ConfigErrors ? err.problems.map((p) => p.message) : [(err as Error).message];
    }
  };

  it('GIVEN secrets and push targets WHEN loaded THEN per channel and platform, and never in the logged description', () => {
    const c = loadConfig({ ...valid, INTAKE_SECRETS: 'web=web-secret-0123456789,wechat=wx-secret-0123456789', UPSTREAM_SECRETS: 'city=city-secret-0123456789', UPSTREAM_URLS: 'city=https://platform.example/push' });
    expect(c.intake.secrets).toEqual({ web: 'web-secret-0123456789', wechat: 'wx-secret-0123456789' });
    expect(c.intake.upstream.urls).toEqual({ city: 'https://platform.example/push' });
    const d = JSON.stringify(describeConfig(c));
    expect(d).not.toContain('web-secret-0123456789');
    expect(d).not.toContain('city-secret-0123456789');
  });

  it.each([
    [{ INTAKE_SECRETS: 'fax=fax-secret-0123456789' }, 'INTAKE_SECRETS'],
    [{ INTAKE_SECRETS: 'web=short' }, 'INTAKE_SECRETS'],
    [{ UPSTREAM_URLS: 'city=https://x.example' }, 'UPSTREAM_SECRETS'],
    [{ UPSTREAM_SECRETS: 'city=city-secret-0123456789', UPSTREAM_URLS: 'city=ftp://x' }, 'UPSTREAM_URLS'],
    [{ INTAKE_REPLAY_WINDOW_SEC: '5' }, 'INTAKE_REPLAY_WINDOW_SEC'],
  ])('GIVEN %j WHEN loaded THEN the problem names %s', (env, variable) => {
    const p = problems(env);
    expect(p).toHaveLength(1);
    expect(p[0]).toContain(variable);
  });
});
