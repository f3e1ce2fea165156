/**
 * The routing store on a real Redis: two server instances (two stores, two
 * connections, one key prefix). Publishing and rolling back on one reaches the
 * other within 1 s; invalid tables and stale drafts change nothing.
 */
import { deletePrefixes } from '../../src/demo/own-redis.js';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { loadCatalogue } from '../../src/ivr/catalogue.js';
import type { MergedRoute, RoutingTable } from '../../src/routing/model.js';
import { loadPreset } from '../../src/routing/presets.js';
import { resolveCall } from '../../src/routing/resolve.js';
import { RoutingStore, type AuditEntry, type LiveRoutingTable, type PublishedVersion } from '../../src/routing/store.js';
import { eventually } from '../support/wait.js';

const url = inject('redisUrl');
const catalogue = loadCatalogue();
const validate = { prompts: catalogue, flows: ['hotline-zh', 'hotline-en', 'survey'] };

const opened: { clients: Redis[]; lives: LiveRoutingTable[]; prefixes: string[] } = { clients: [], lives: [], prefixes: [] };

afterEach(async () => {
  for (const l of opened.lives) await l.close();
  await deletePrefixes(url, opened.prefixes);
  for (const c of opened.clients) c.disconnect();
  opened.clients = [];
  opened.lives = [];
  opened.prefixes = [];
});

function newPrefix(): string {
  const p = `test:routing:${randomUUID()}:`;
  opened.prefixes.push(p);
  return p;
}

/** One "server instance": its own Redis connection and store on the shared prefix. */
function instance(prefix: string, audit?: (e: AuditEntry) => void): { store: RoutingStore; redis: Redis } {
  const redis = new Redis(url);
  opened.clients.push(redis);
  return { store: new RoutingStore({ redis, keyPrefix: prefix, validate, ...(audit ? { audit } : {}) }), redis };
}

async function watch(store: RoutingStore, onError?: (e: unknown) => void): Promise<LiveRoutingTable> {
  // A long poll so that only pub/sub can explain a sub-second update.
  const live = await store.watch({ pollMs: 60_000, ...(onError ? { onError } : {}) });
  opened.lives.push(live);
  return live;
}

/** Waits until `live` holds `version`; returns the elapsed ms. */
async function seen(live: LiveRoutingTable, version: number): Promise<number> {
  const t0 = Date.now();
  await eventually(() => expect(live.current()?.version).toBe(version), 1000, 5);
  return Date.now() - t0;
}

const yantai = (): RoutingTable => loadPreset('yantai');
const IN_WINDOW = new Date('2022-01-15T10:00:00+08:00');
const route = (t: RoutingTable, id: string): MergedRoute => t.routes.find((r) => r.id === id) as MergedRoute;

describe('routing store on Redis', () => {
  it('GIVEN two instances WHEN one publishes a new version THEN the other routes by it within 1 s', async () => {
    const prefix = newPrefix();
    const a = instance(prefix);
    const b = instance(prefix);
    const v1 = await a.store.bootstrap(yantai(), 'boot');
    const liveB = await watch(b.store);
    expect(liveB.current()?.version).toBe(v1.version);
    expect(resolveCall(liveB.current()!.table, { dialed: '12317', source: 'carrier', at: IN_WINDOW }).announce).toEqual(['transition-generic']);

    // WHEN an admin on A ends the 12317 transition early and publishes
    const draft = structuredClone(v1.table) as RoutingTable;
    delete route(draft, 'line-12317').transition;
    const saved = await a.store.saveDraft(draft, 'admin-li');
    expect(saved.errors).toEqual([]);
    const r = await a.store.publish('admin-li', { comment: '12317 cancelled early' });
    expect(r.ok).toBe(true);
    const v2 = (r as { version: PublishedVersion }).version;
    expect(v2.version).toBe(v1.version + 1);
    expect(v2.table.version).toBe(v2.version);

    // THEN B has it within 1 s and routes by it
    expect(await seen(liveB, v2.version)).toBeLessThan(1000);
    const d = resolveCall(liveB.current()!.table, { dialed: '12317', source: 'carrier', at: IN_WINDOW });
    expect(d.announce).toEqual(['cancelled-generic']);
    expect(d.tableVersion).toBe(v2.version);
    expect(await a.store.getDraft()).toBeUndefined();
  });

  it('GIVEN three versions WHEN one instance rolls back to the first THEN the other has a new version equal to it within 1 s', async () => {
    const prefix = newPrefix();
    const a = instance(prefix);
    const b = instance(prefix);
    const v1 = await a.store.bootstrap(yantai(), 'boot');
    const changed = structuredClone(v1.table) as RoutingTable;
    route(changed, 'line-12301').afterCancel = 'release';
    const r2 = await a.store.publish('admin-li', { table: changed });
    expect(r2.ok).toBe(true);
    const liveA = await watch(a.store);
    expect(liveA.current()?.version).toBe(2);

    // WHEN an admin on B rolls back to version 1
    const rb = await b.store.rollback(1, 'admin-wang', { comment: 'release was a mistake' });
    expect(rb).toMatchObject({ ok: true, version: { version: 3, rollbackOf: 1, publishedBy: 'admin-wang' } });
    // THEN A follows within 1 s
    expect(await seen(liveA, 3)).toBeLessThan(1000);
    expect(route(liveA.current()!.table, 'line-12301').afterCancel).toBe('hotline');
    expect({ ...liveA.current()!.table, version: 1 }).toEqual(v1.table);

    const versions = await a.store.listVersions();
    expect(versions.map((v) => [v.version, v.rollbackOf])).toEqual([
      [3, 1],
      [2, undefined],
      [1, undefined],
    ]);
  });

  it('GIVEN a published table WHEN an invalid draft is published THEN it is rejected with the errors and every instance keeps the published version', async () => {
    const prefix = newPrefix();
    const audit: AuditEntry[] = [];
    const a = instance(prefix, (e) => audit.push(e));
    const b = instance(prefix);
    const v1 = await a.store.bootstrap(yantai(), 'boot');
    const liveB = await watch(b.store);

    const bad = structuredClone(v1.table) as RoutingTable;
    bad.routes[3]!.numbers = ['1233x'];
    route(bad, 'line-12317').transition = { from: '2022-05-01T00:00:00+08:00', until: '2021-11-01T00:00:00+08:00' };
    const saved = await a.store.saveDraft(bad, 'admin-li');
    expect(saved.errors.length).toBe(2);

    const r = await a.store.publish('admin-li');
    expect(r.ok).toBe(false);
    expect(r).toMatchObject({ reason: 'invalid' });
    const errors = (r as { errors: { field: string; message: string }[] }).errors;
    expect(errors.map((e) => `${e.field}: ${e.message}`)).toEqual(
      expect.arrayContaining(['routes[3].numbers[0]: "1233x" is not a dialable number']),
    );
    expect(await a.store.publishedVersion()).toBe(v1.version);
    expect((await a.store.getPublished())?.table).toEqual(v1.table);
    await new Promise((res) => setTimeout(res, 200));
    expect(liveB.current()?.version).toBe(v1.version);
    expect(await a.store.getDraft()).toBeDefined(); // the admin can fix it
    expect(audit.map((e) => e.action)).toEqual(['publish', 'draft-save', 'publish-rejected']);
    expect(audit[2]).toMatchObject({ who: 'admin-li', fromVersion: 1, errors: expect.arrayContaining(['routes[3].numbers[0]: "1233x" is not a dialable number']) });
  });

  it('GIVEN every change WHEN made THEN an audit entry says who, when and what (port and Redis log agree)', async () => {
    const prefix = newPrefix();
    const audit: AuditEntry[] = [];
    const a = instance(prefix, (e) => audit.push(e));
    const v1 = await a.store.bootstrap(yantai(), 'boot');
    const draft = structuredClone(v1.table) as RoutingTable;
    draft.routes = draft.routes.filter((r) => r.id !== 'line-6500120');
    route(draft, 'line-12316').afterCancel = 'release';
    await a.store.saveDraft(draft, 'admin-li');
    await a.store.publish('admin-li', { comment: 'drop 6500120' });
    await a.store.rollback(1, 'admin-wang');

    const last = audit.at(-2)!;
    expect(last).toMatchObject({ action: 'publish', who: 'admin-li', version: 2, fromVersion: 1, comment: 'drop 6500120' });
    expect(last.changes).toEqual({ table: [], added: [], removed: ['line-6500120'], changed: [{ id: 'line-12316', fields: ['afterCancel'] }] });
    expect(Number.isNaN(Date.parse(last.at))).toBe(false);
    expect(audit.at(-1)).toMatchObject({ action: 'rollback', who: 'admin-wang', version: 3, rollbackOf: 1, changes: { added: ['line-6500120'] } });
    const log = await a.store.auditLog();
    expect(log.map((e) => [e.action, e.version])).toEqual(audit.map((e) => [e.action, e.version]).reverse());
  });

  it('GIVEN a draft started from version 1 WHEN someone else publishes first THEN publishing the stale draft is a conflict and changes nothing', async () => {
    const prefix = newPrefix();
    const a = instance(prefix);
    const b = instance(prefix);
    const v1 = await a.store.bootstrap(yantai(), 'boot');
    await a.store.startDraft('admin-li');
    expect(await b.store.publish('admin-wang', { table: v1.table })).toMatchObject({ ok: true, version: { version: 2 } });
    expect(await a.store.publish('admin-li')).toEqual({ ok: false, reason: 'conflict', current: 2 });
    expect(await a.store.publishedVersion()).toBe(2);
  });

  it('GIVEN two instances booting at once WHEN both bootstrap the preset THEN exactly one version is published', async () => {
    const prefix = newPrefix();
    const a = instance(prefix);
    const b = instance(prefix);
    const [va, vb] = await Promise.all([a.store.bootstrap(yantai(), 'a'), b.store.bootstrap(yantai(), 'b')]);
    expect(va.version).toBe(1);
    expect(vb.version).toBe(1);
    expect(await a.store.listVersions()).toHaveLength(1);
  });

  it('GIVEN a call holding the table it started with WHEN a new version is published THEN its table is unchanged (and frozen)', async () => {
    const prefix = newPrefix();
    const a = instance(prefix);
    await a.store.bootstrap(yantai(), 'boot');
    const live = await watch(a.store);
    const held = live.current()!;
    const next = structuredClone(held.table) as RoutingTable;
    route(next, 'line-12301').afterCancel = 'release';
    await a.store.publish('admin-li', { table: next });
    await seen(live, 2);
    expect(route(held.table, 'line-12301').afterCancel).toBe('hotline');
    expect(Object.isFrozen(held.table.routes[0])).toBe(true);
  });

  it('GIVEN a watching instance WHEN its Redis becomes unreachable THEN the last published table stays in use', async () => {
    const prefix = newPrefix();
    const a = instance(prefix);
    const b = instance(prefix);
    await a.store.bootstrap(yantai(), 'boot');
    const errors: unknown[] = [];
    const live = await watch(b.store, (e) => errors.push(e));
    b.redis.disconnect(); // the command connection of instance B is gone
    await live.refresh();
    expect(errors.length).toBeGreaterThan(0);
    expect(live.current()?.version).toBe(1);
    expect(resolveCall(live.current()!.table, { dialed: '12345', source: 'carrier', at: IN_WINDOW }).action).toBe('hotline');
  });

  it('GIVEN an unknown version WHEN rolled back to THEN not-found and nothing changes', async () => {
    const prefix = newPrefix();
    const a = instance(prefix);
    await a.store.bootstrap(yantai(), 'boot');
    expect(await a.store.rollback(42, 'admin-li')).toEqual({ ok: false, reason: 'not-found' });
    expect(await a.store.publishedVersion()).toBe(1);
  });
});

describe('routing store without Redis', () => {
  it('GIVEN Redis unreachable at boot WHEN an instance starts watching THEN watch resolves promptly with no table instead of hanging', async () => {
    const redis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, retryStrategy: () => 200, maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    opened.clients.push(redis);
    const store = new RoutingStore({ redis, keyPrefix: newPrefix() });
    const t0 = Date.now();
    const live = await store.watch({ startTimeoutMs: 300, onError: () => undefined });
    opened.lives.push(live);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(live.current()).toBeUndefined();
  });
});
