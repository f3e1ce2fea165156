/**
 * The shipped seat files (data/seats/*.json) load into the ACD on a real Redis:
 * every group and agent is stored, and Zhengzhou's plan (114 general + 25 peak
 * + 51 support seats) is what the ACD then lists.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { defaultAcdConfig } from '../../src/acd/model.js';
import { Acd } from '../../src/acd/service.js';
import { deletePrefixes } from '../../src/demo/own-redis.js';

const url = inject('redisUrl');
const opened: { clients: Redis[]; prefixes: string[] } = { clients: [], prefixes: [] };

afterEach(async () => {
  await deletePrefixes(url, opened.prefixes);
  for (const c of opened.clients) c.disconnect();
  opened.clients = [];
  opened.prefixes = [];
});

function newAcd(): Acd {
  const redis = new Redis(url);
  const prefix = `test:seats:${randomUUID()}:`;
  opened.clients.push(redis);
  opened.prefixes.push(prefix);
  return new Acd({ redis, keyPrefix: prefix, instanceId: 'seats-test', logger: pino({ level: 'silent' }), config: defaultAcdConfig({ dialTemplate: 'PJSIP/{ext}' }) });
}

const SEATS = new URL('../../data/seats/', import.meta.url);
const files = readdirSync(SEATS).filter((f) => f.endsWith('.json'));

describe('shipped seat files', () => {
  it.each(files)('GIVEN %s WHEN seeded into the ACD THEN every group and agent is stored', async (f) => {
    const data = JSON.parse(readFileSync(new URL(f, SEATS), 'utf8')) as { groups: unknown[]; agents: { id: string }[] };
    const acd = newAcd();
    expect(await acd.seed(data)).toEqual({ ok: true });
    expect((await acd.listGroups()).length).toBe(data.groups.length);
    expect((await acd.listAgents()).map((a) => a.id).sort()).toEqual(data.agents.map((a) => a.id).sort());
  });

  it('GIVEN Zhengzhou’s seat file WHEN seeded THEN the ACD lists 114 general, 25 peak and 51 support seats', async () => {
    const acd = newAcd();
    expect(await acd.seed(JSON.parse(readFileSync(new URL('zhengzhou.json', SEATS), 'utf8')))).toEqual({ ok: true });
    const agents = await acd.listAgents();
    const count = (g: string) => agents.filter((a) => a.groups.includes(g)).length;
    expect([count('general'), count('peak'), count('support')]).toEqual([114, 25, 51]);
  });
});
