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
import { acdConfigFor } from '../../src/acd/feature.js';
import { route, type RouterSnapshot } from '../../src/acd/router.js';
import { loadSeatFile, seatFileRules } from '../../src/acd/seat-files.js';
import { loadConfig } from '../../src/config/index.js';
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

  describe('queue rules of the seat files', () => {
    const env = { ARI_URL: 'http://127.0.0.1:8088', ARI_PASSWORD: 'x', AMI_SECRET: 'x', JWT_SECRET: 'j'.repeat(32) };
    /** The ACD configuration a server of `city` runs with (what acdFeature builds at start). */
    const configOf = (city: string) => {
      const config = loadConfig({ ...env, HOTLINE_CITY: city });
      return acdConfigFor(config, seatFileRules(loadSeatFile(config.city)).rules);
    };
    /** `waiting` general calls, the oldest `waitedSec` ago, and one idle peak seat: does the router give the peak seat a call? */
    const peakTakes = (cfg: ReturnType<typeof configOf>, waiting: number, waitedSec: number): boolean => {
      const now = 1_000_000_000;
      const snapshot: RouterSnapshot = {
        calls: Array.from({ length: waiting }, (_, i) => ({ callId: `c${i}`, skill: 'general', priority: 0, joinedAt: now - waitedSec * 1000 + i })),
        agents: [{ id: 'p1', available: true, idleSince: 0, skills: { general: 1 }, peak: true }],
        queueLength: { general: waiting },
        config: { rules: cfg.rules, defaultRule: cfg.defaultRule, missExcludeSec: 60, languageSkills: {} },
      };
      return route(snapshot, now).some((d) => d.agentId === 'p1' && d.tier === 'overflow');
    };

    it('GIVEN Zhengzhou WHEN the server builds its ACD configuration THEN the seat file\'s general rule (15 waiting / 60 s) is the one used', () => {
      const cfg = configOf('zhengzhou');
      expect(cfg.rules.general).toMatchObject({ overflowAfterSec: 60, overflowQueueLength: 15, overflowSkills: ['general'] });
      expect(cfg.rules['12333']).toMatchObject({ minLevel: 3, fallbackAfterSec: 45, overflowQueueLength: 8 });
      // 16 waiting for 10 s: beyond 15 → the peak seat takes one; 15 waiting for 59 s: not yet; 1 waiting for 60 s: by time.
      expect(peakTakes(cfg, 16, 10)).toBe(true);
      expect(peakTakes(cfg, 15, 59)).toBe(false);
      expect(peakTakes(cfg, 1, 60)).toBe(true);
    });

    it('GIVEN a city whose seat file sets no rules (Zaozhuang) WHEN built THEN the default general rule (20 waiting / 90 s) stays', () => {
      const cfg = configOf('zaozhuang');
      expect(cfg.rules.general).toMatchObject({ overflowAfterSec: 90, overflowQueueLength: 20 });
      expect(peakTakes(cfg, 16, 60)).toBe(false);
      expect(peakTakes(cfg, 21, 10)).toBe(true);
    });

    it('GIVEN every shipped seat file WHEN its rules are read THEN they are valid, and an invalid rule is named, not used', () => {
      for (const f of files) expect(seatFileRules(JSON.parse(readFileSync(new URL(f, SEATS), 'utf8'))).errors, f).toEqual([]);
      const bad = seatFileRules({ city: 'x', groups: [], agents: [], rules: { general: { minLevel: 9, fallbackSkills: [], fallbackAfterSec: 0, overflowSkills: [] } } });
      expect(bad.rules).toEqual({});
      expect(bad.errors.map((e) => e.field)).toContain('rules.general.minLevel');
    });
  });
});
