/**
 * One rule for free text on every route (issue 20, red-team finding): a NUL or
 * other control character in any string field of any request body is a 400
 * naming that field, and a required text field of only whitespace is too.
 * Driven from the OpenAPI document, so a new route is covered without a new test.
 */
import { describe, expect, it } from 'vitest';
import { ROLES } from '../../src/access/roles.js';
import { useHarness } from '../support/harness.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';

const h = useHarness();

type Schema = { type?: string; properties?: Record<string, Schema>; required?: string[]; anyOf?: Schema[] };
type Doc = { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: Schema }> } }>> };

describe('free text', () => {
  it('GIVEN every operation with a JSON body WHEN a string field holds NUL, ESC or DEL THEN 400 names the field; a required field of only spaces likewise', async () => {
    const app = await h.startApp();
    await app.users.create({ username: 'text-all', roles: [...ROLES], agentId: 'TX1', unitId: '市住建局', password: TEST_PASSWORD });
    const { token } = await loginAs(app.http, 'text-all');
    const doc = (await app.http.inject({ method: 'GET', url: '/docs/openapi.json', headers: { authorization: `Bearer ${token}` } })).json() as Doc;
    const send = (method: string, url: string, payload: object) =>
      app.http.inject({ method: method.toUpperCase() as 'POST', url, headers: { authorization: `Bearer ${token}` }, payload });
    let controlChecked = 0;
    let blankChecked = 0;
    const bad = ['a\u0000b', 'x\u001b[31m', 'del\u007f'];
    for (const [path, ops] of Object.entries(doc.paths)) {
      const url = path.replace(/\{[^}]+\}/g, 'x1');
      for (const [method, op] of Object.entries(ops)) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        if (!schema?.properties) continue;
        for (const [name, prop] of Object.entries(schema.properties)) {
          if (prop.type !== 'string') continue;
          const value = bad[controlChecked % bad.length]!;
          const res = await send(method, url, { [name]: value });
          expect(res.statusCode, `${method} ${path} ${name}`).toBe(400);
          expect(res.json().error.field, `${method} ${path} ${name}`).toBe(name);
          expect(res.json().error.message).toMatch(/control characters/);
          controlChecked++;
          if (schema.required?.includes(name)) {
            const blank = await send(method, url, { [name]: ' \t\n ' });
            expect(blank.statusCode, `${method} ${path} ${name} blank`).toBe(400);
            expect(blank.json().error.field, `${method} ${path} ${name} blank`).toBe(name);
            blankChecked++;
          }
        }
      }
    }
    expect(controlChecked).toBeGreaterThan(30);
    expect(blankChecked).toBeGreaterThan(10);
  });

  it('GIVEN nested free text (a dispatch rule, a routing table) WHEN it holds a control character THEN the nested field is named and nothing changes', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    await app.users.create({ username: 'text-admin', roles: ['admin'], password: TEST_PASSWORD });
    const { token } = await loginAs(app.http, 'text-admin');
    const put = (url: string, payload: object) => app.http.inject({ method: 'PUT', url, headers: { authorization: `Bearer ${token}` }, payload });
    const before = (await app.http.inject({ method: 'GET', url: '/api/admin/dispatch-rules', headers: { authorization: `Bearer ${token}` } })).json().rules;
    const r = await put('/api/admin/dispatch-rules', { rules: [{ id: 'noise', unit: '市住建局', keywords: ['噪音', 'ok\u0000'] }] });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.field).toBe('rules[0].keywords[1]');
    const blank = await put('/api/admin/dispatch-rules', { rules: [{ id: 'noise', unit: '   ', keywords: ['噪音'] }] });
    expect(blank.json().error.field).toBe('rules[0].unit');
    expect((await app.http.inject({ method: 'GET', url: '/api/admin/dispatch-rules', headers: { authorization: `Bearer ${token}` } })).json().rules).toEqual(before);
    const table = structuredClone(app.parts.current().table);
    table.routes[0]!.name = '热线\u0007';
    const d = await put('/api/admin/routing/draft', { table });
    expect(d.statusCode).toBe(400);
    expect(d.json().error.field).toBe('table.routes[0].name');
  });
});
