/**
 * Ids derived from phone numbers (issue 20, red-team finding): block-list ids,
 * audit targets and the caller's ticket index are a keyed HMAC, so the masked
 * form's four hidden digits cannot be tried back; data written with the old
 * unkeyed hash is still honoured and moved to the keyed id.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { legacyNumberId, numberIds } from '../../src/access/number-id.js';
import { CallerGuard } from '../../src/calls/abuse.js';
import { describeConfig, loadConfig } from '../../src/config/index.js';
import { TicketStore } from '../../src/tickets/store.js';
import { useHarness } from '../support/harness.js';
import { deletePrefixes } from '../../src/demo/own-redis.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';

const h = useHarness();
const url = inject('redisUrl');
const prefixes: string[] = [];
afterAll(() => deletePrefixes(url, prefixes));

/** What an attacker holding an id and the masked number does: try the 10⁴ hidden digits with an unkeyed hash. */
function bruteForce(masked: string, id: string): string | undefined {
  const [head, tail] = masked.split('****') as [string, string];
  for (let i = 0; i < 10_000; i++) {
    const n = `${head}${String(i).padStart(4, '0')}${tail}`;
    if (createHash('sha256').update(`hotline-caller:${n}`).digest('hex').slice(0, 32) === id) return n;
    if (createHash('sha256').update(n).digest('hex').slice(0, 32) === id) return n;
  }
  return undefined;
}

describe('ids derived from numbers', () => {
  it('GIVEN a supervisor blocks a number WHEN an attacker tries the masked form against the entry id and the audit target THEN the number is not recovered; the id is the keyed HMAC', async () => {
    const app = await h.startApp();
    await app.users.create({ username: 'ids-sup', roles: ['supervisor'], password: TEST_PASSWORD });
    const sup = await loginAs(app.http, 'ids-sup');
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/admin/blocklist',
      headers: { authorization: `Bearer ${sup.token}` },
      payload: { number: '13955550104', reason: '多次恶意骚扰座席', version: (await app.http.inject({ method: 'GET', url: '/api/admin/blocklist', headers: { authorization: `Bearer ${sup.token}` } })).json().version },
    });
    expect(res.statusCode).toBe(201);
    const { id, masked } = res.json().entry as { id: string; masked: string };
    expect(masked).toBe('139****0104');
    const t0 = performance.now();
    expect(bruteForce(masked, id)).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(10_000);
    const audited = (await app.audit.query({ action: 'caller-blocked' }))[0]!;
    expect(audited.target).toBe(`caller:${id}`);
    expect(bruteForce(masked, String(audited.target).slice('caller:'.length))).toBeUndefined();
    // The id is the HMAC under the server's key, which is not JWT_SECRET itself.
    expect(app.config.access.numberIdKey).not.toBe(app.config.access.jwtSecret);
    expect(id).toBe(createHmac('sha256', app.config.access.numberIdKey).update('hotline-caller:13955550104').digest('hex').slice(0, 32));
    // No Redis key is named by the unkeyed hash.
    expect(await app.redis.keys(`*${legacyNumberId('13955550104')}*`)).toEqual([]);
  });

  it('GIVEN NUMBER_ID_SECRET WHEN the config is read THEN it is the key; a short one is refused naming the variable; the printed config hides it', async () => {
    const base = { ARI_URL: 'http://127.0.0.1:1', ARI_PASSWORD: 'x', AMI_SECRET: 'y', JWT_SECRET: 'j'.repeat(40) };
    const set = loadConfig({ ...base, NUMBER_ID_SECRET: 'k'.repeat(40) });
    expect(set.access.numberIdKey).toBe('k'.repeat(40));
    expect(JSON.stringify(describeConfig(set))).not.toContain('k'.repeat(40));
    const derivedA = loadConfig(base).access.numberIdKey;
    expect(derivedA).toMatch(/^[0-9a-f]{64}$/);
    expect(loadConfig({ ...base, JWT_SECRET: 'z'.repeat(40) }).access.numberIdKey).not.toBe(derivedA);
    expect(() => loadConfig({ ...base, NUMBER_ID_SECRET: 'short' })).toThrow(/NUMBER_ID_SECRET/);
  });

  it('GIVEN a block entry and a caller index written with the old unkeyed ids WHEN the number calls or its tickets are looked up THEN the block holds and both move to the keyed id', async () => {
    const redis = new Redis(url);
    const prefix = `ids-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    try {
      const numberId = numberIds('number-id-test-key-0123456789abcdef');
      const guard = new CallerGuard(redis, prefix, { maxCalls: 100, windowSec: 3600, maxSilent: 100, priorityDelta: -5, numberId });
      const number = '13955550105';
      const legacy = legacyNumberId(number);
      await redis.hset(`${prefix}:guard:blocked`, legacy, JSON.stringify({ id: legacy, masked: '139****0105', reason: '旧的屏蔽记录', by: 'old', at: 1 }));
      expect((await guard.check(number, 'carrier')).action).toBe('block');
      const entries = await guard.blocked();
      expect(entries.map((e) => e.id)).toEqual([numberId(number)]);
      expect(entries[0]!.reason).toBe('旧的屏蔽记录');
      expect((await guard.check(number, 'carrier')).action).toBe('block');

      const store = new TicketStore(redis, prefix, '0632', numberId);
      await redis.zadd(`${prefix}:ticket:by-caller:${legacy}`, 5, '0632202601010001');
      await redis.hset(`${prefix}:ticket:0632202601010001`, {
        ticketNo: '0632202601010001',
        callId: 'c1',
        createdAt: '5',
        status: 'created',
        record: JSON.stringify({ callId: 'c1', caller: { number } }),
        units: '[]',
        version: '0',
      });
      expect((await store.byCaller(number)).map((t) => t.ticketNo)).toEqual(['0632202601010001']);
      expect(await redis.exists(`${prefix}:ticket:by-caller:${legacy}`)).toBe(0);
      expect(await redis.zrange(`${prefix}:ticket:by-caller:${numberId(number)}`, 0, -1)).toEqual(['0632202601010001']);
    } finally {
      redis.disconnect();
    }
  });
});
