/**
 * Webhook delivery of tickets to the city's work-order system, against a real
 * node:http receiver on 127.0.0.1: it answers 500 to the first two tries of
 * every version, then 200 (and 409 to a version it already has). Each ticket
 * version arrives exactly once by its idempotency key, every try carries the
 * same body and an HMAC-SHA256 signature of it, caller numbers are masked
 * everywhere in the body unless TICKET_WEBHOOK_FULL_NUMBERS=true, and a
 * version that never gets through is listed in the admin's dead letters.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useHarness } from '../support/harness.js';
import { leakedNumbers } from '../support/leaks.js';
import { callRecord, ticketFromRecord, userApi } from '../support/tickets.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const SECRET = 'webhook-secret-0123456789abcdef';

interface Delivery {
  path: string;
  key: string;
  signature: string;
  body: string;
  status: number;
}

/**
 * The work-order system: under `/flaky/…` it fails twice per version then accepts; `/down` always
 * fails. Each test posts to its own path (apps of different tests number their tickets alike).
 */
class Receiver {
  readonly deliveries: Delivery[] = [];
  /** Accepted bodies by path and idempotency key (what the work-order system stored). */
  readonly stored = new Map<string, string[]>();
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
        const tries = this.tries(path, key).length;
        let status: number;
        if (path === '/down' || tries < 2) status = 500;
        else if (this.stored.has(`${path} ${key}`)) status = 409;
        else {
          status = 200;
          this.stored.set(`${path} ${key}`, [body]);
        }
        this.deliveries.push({ path, key, signature: String(req.headers['x-hotline-signature'] ?? ''), body, status });
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

  tries(path: string, key: string): Delivery[] {
    return this.deliveries.filter((d) => d.path === path && d.key === key);
  }

  /** What was stored under `path` with an idempotency key starting with `prefix`. */
  storedKeys(path: string, prefix: string): string[] {
    return [...this.stored.keys()].filter((k) => k.startsWith(`${path} ${prefix}`)).map((k) => k.slice(path.length + 1)).sort();
  }

  accepted(path: string, key: string): string[] | undefined {
    return this.stored.get(`${path} ${key}`);
  }
}

const receiver = new Receiver();
beforeAll(() => receiver.start());
afterAll(() => receiver.stop());

const sign = (body: string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
const webhookEnv = (path: string, extra: Record<string, string> = {}) => ({
  TICKET_WEBHOOK_URL: `${receiver.url}${path}`,
  TICKET_WEBHOOK_SECRET: SECRET,
  TICKET_WEBHOOK_BACKOFF_MS: '30',
  TICKET_WEBHOOK_ATTEMPTS: '5',
  ...extra,
});

describe('ticket webhook', () => {
  it('GIVEN a receiver failing twice per version WHEN a ticket is created and changed THEN each version arrives exactly once, signed, same bytes on every try, caller number masked', async () => {
    const path = '/flaky/masked';
    const app = await h.startApp(webhookEnv(path));
    const caller = '13912340001';
    const st = await ticketFromRecord(app, callRecord(caller, Date.now()), {
      category: 'complaint',
      requesterKind: 'citizen',
      summary: `工地夜间施工噪音，请回电 ${caller}`,
      unitSuggestion: '',
    });
    const no = st.ticketNo;
    expect(st.version).toBe(1);
    const unit = { id: 'zj-user', role: 'unit' as const, unit: '市住房城乡建设局' };
    await app.ticketService.act(no, { type: 'accept', unit: '市住房城乡建设局' }, unit);
    await app.ticketService.act(no, { type: 'reply', content: `已电话联系来电人 ${caller}，工地已停工` }, unit);
    const keys = [`${no}-1`, `${no}-2`, `${no}-3`];

    await eventually(() => expect(receiver.storedKeys(path, no)).toEqual(keys), 15_000);
    // Give late duplicates (the worker's sync re-enqueues version 1; retries) the time to show up: none do.
    await new Promise((r) => setTimeout(r, 500));
    for (const [i, key] of keys.entries()) {
      const tries = receiver.tries(path, key);
      expect(tries.map((d) => d.status), key).toEqual([500, 500, 200]);
      expect(receiver.accepted(path, key), key).toHaveLength(1);
      expect(new Set(tries.map((d) => d.body)).size, 'same body on every try').toBe(1);
      for (const d of tries) expect(d.signature).toBe(sign(d.body));
      const payload = JSON.parse(tries[0]!.body);
      expect(payload).toMatchObject({ event: i === 0 ? 'ticket.created' : 'ticket.updated', ticketNo: no, version: i + 1 });
      expect(payload.ticket.callerNumber).toBe('139****0001');
      expect(payload.ticket.summary).toContain('139****0001');
      expect(leakedNumbers(tries[0]!.body), `${key}: full numbers in the body`).toEqual([]);
      expect(tries[0]!.body).not.toContain(caller);
    }
    expect(JSON.parse(receiver.accepted(path, keys[2]!)![0]!).state).toBe('replied');

    const admin = await userApi(app, 'admin-wh1', ['admin']);
    expect((await admin('GET', '/api/admin/ticket-webhook/dead-letters')).body).toEqual({ enabled: true, deadLetters: [] });
  });

  it('GIVEN TICKET_WEBHOOK_FULL_NUMBERS=true WHEN a ticket is delivered THEN the work-order system gets the full caller number', async () => {
    const path = '/flaky/full';
    const app = await h.startApp(webhookEnv(path, { TICKET_WEBHOOK_FULL_NUMBERS: 'true' }));
    const caller = '13912340002';
    const st = await ticketFromRecord(app, callRecord(caller, Date.now()), { category: 'consult', requesterKind: 'enterprise', summary: '咨询企业开办流程', unitSuggestion: '市行政审批服务局' });
    const key = `${st.ticketNo}-1`;
    await eventually(() => expect(receiver.accepted(path, key)).toHaveLength(1), 15_000);
    const body = receiver.accepted(path, key)![0]!;
    const payload = JSON.parse(body);
    expect(payload.ticket.callerNumber).toBe(caller);
    expect(payload.ticket.units).toEqual(['市行政审批服务局']);
    expect(receiver.tries(path, key).map((d) => d.status)).toEqual([500, 500, 200]);
    expect(receiver.tries(path, key)[2]!.signature).toBe(sign(body));
  });

  it('GIVEN a receiver that always fails WHEN the attempts are used up THEN the version is in the dead-letter list (admin only), after exactly TICKET_WEBHOOK_ATTEMPTS tries', async () => {
    const path = '/down';
    const app = await h.startApp(webhookEnv(path, { TICKET_WEBHOOK_ATTEMPTS: '3' }));
    const st = await ticketFromRecord(app, callRecord('13912340003', Date.now()), { category: 'help', requesterKind: 'citizen', summary: '小区停电', unitSuggestion: '' });
    const key = `${st.ticketNo}-1`;
    const admin = await userApi(app, 'admin-wh3', ['admin']);
    const supervisor = await userApi(app, 'sup-wh3', ['supervisor']);
    const dead = await eventually(async () => {
      const r = await admin('GET', '/api/admin/ticket-webhook/dead-letters');
      expect(r.status).toBe(200);
      expect(r.body.deadLetters).toHaveLength(1);
      return r.body;
    }, 15_000);
    expect(dead).toEqual({ enabled: true, deadLetters: [{ key, attempts: 3, error: 'work-order system answered 500' }] });
    expect(receiver.tries(path, key).map((d) => d.status)).toEqual([500, 500, 500]);
    expect((await supervisor('GET', '/api/admin/ticket-webhook/dead-letters')).status).toBe(403);
    // No further tries after the last attempt.
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.tries(path, key)).toHaveLength(3);
  });
});
