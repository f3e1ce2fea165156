/**
 * Request-schema failures through errorHandler, on a bare fastify compiled
 * as the app compiles (AJV_OPTIONS: no coercion, nothing dropped): the field is named as our
 * validators name it — nested paths, list items, missing properties,
 * querystring and path parameters, a body that is no object — with a
 * zh-CN / English message worded like theirs.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler, validationError } from '../../src/http/errors.js';
import * as S from '../../src/http/schemas.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify({ ajv: { customOptions: S.AJV_OPTIONS } });
  app.setErrorHandler(errorHandler);
  const echo = async (req: { body: unknown; query: unknown; params: unknown }) => ({ body: req.body ?? null, query: req.query, params: req.params });
  app.post(
    '/things/:id',
    {
      schema: {
        params: S.params({ id: S.oneOf(['a', 'b']) }),
        body: S.body(
          {
            name: S.string(undefined, 5),
            note: S.optional(S.string()),
            kind: S.optional(S.oneOf(['x', 'y'])),
            count: S.integer(undefined, { minimum: 1, maximum: 3 }),
            flag: S.boolean(),
            tags: S.array(S.string()),
            levels: { type: 'object', additionalProperties: S.integer() },
            rules: S.array(S.object(undefined, { unit: S.string(), words: S.array(S.string(undefined, 2)) }, ['unit'])),
            extra: { type: 'object', properties: {}, additionalProperties: false },
            when: S.anyOf([S.integer(undefined, { minimum: 0 }), S.string()]),
          },
          ['name'],
        ),
      },
    },
    echo,
  );
  app.get('/search', { schema: { querystring: S.query({ from: S.string(), format: S.oneOf(['json', 'csv']) }, ['from']) } }, echo);
  await app.ready();
});

afterAll(() => app.close());

async function post(payload: unknown, id = 'a') {
  const r = await app.inject({ method: 'POST', url: `/things/${id}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
  return { status: r.statusCode, json: r.json() as { error?: { code: string; field?: string; message: string }; body?: unknown } };
}

describe('schema failures name the field', () => {
  it.each([
    [{}, 'name', 'name: 必填 / is required'],
    [{ name: 5 }, 'name', 'name: 必须是字符串 / must be a string'],
    [{ name: 'abcdef' }, 'name', 'name: 最长 5 字符 / at most 5 characters'],
    [{ name: 'a', kind: 'z' }, 'kind', 'kind: 必须是 x, y 之一 / must be one of x, y'],
    [{ name: 'a', count: '2' }, 'count', 'count: 必须是整数 / must be a whole number'],
    [{ name: 'a', count: 9 }, 'count', 'count: 不能大于 3 / must be ≤ 3'],
    [{ name: 'a', count: 0 }, 'count', 'count: 不能小于 1 / must be ≥ 1'],
    [{ name: 'a', flag: 'true' }, 'flag', 'flag: 必须是 true 或 false / must be a boolean'],
    [{ name: 'a', tags: 'one' }, 'tags', 'tags: 必须是数组 / must be a list'],
    [{ name: 'a', tags: ['ok', 7] }, 'tags[1]', 'tags[1]: 必须是字符串 / must be a string'],
    [{ name: 'a', levels: { general: 'high' } }, 'levels.general', 'levels.general: 必须是整数 / must be a whole number'],
    [{ name: 'a', rules: [{ unit: 'u' }, { words: [] }] }, 'rules[1].unit', 'rules[1].unit: 必填 / is required'],
    [{ name: 'a', rules: [{ unit: 'u', words: ['ok', 'long'] }] }, 'rules[0].words[1]', 'rules[0].words[1]: 最长 2 字符 / at most 2 characters'],
    [{ name: 'a', extra: { surprise: 1 } }, 'extra.surprise', 'extra.surprise: 不支持的字段 / is not a known field'],
    [{ name: 'a', when: true }, 'when', 'when: 必须是整数 或 字符串 / must be a whole number or a string'],
    [{ name: 'a', when: 1.5 }, 'when', 'when: 必须是整数 或 字符串 / must be a whole number or a string'],
    [{ name: 'a', when: -1 }, 'when', 'when: 不能小于 0 / must be ≥ 0'],
    [[1, 2], 'body', 'body: 必须是 JSON 对象 / must be a JSON object'],
    ['text', 'body', 'body: 必须是 JSON 对象 / must be a JSON object'],
  ])('GIVEN body %j THEN 400 naming %s', async (payload, field, message) => {
    const r = await post(payload);
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({ code: 'invalid-input', field, message });
  });

  it('GIVEN a path parameter outside its enum THEN 400 naming it', async () => {
    const r = await post({ name: 'a' }, 'z');
    expect(r.json.error).toEqual({ code: 'invalid-input', field: 'id', message: 'id: 必须是 a, b 之一 / must be one of a, b' });
  });

  it('GIVEN query parameters THEN a missing, a repeated and an unknown value are named', async () => {
    const q = async (qs: string) => (await app.inject({ method: 'GET', url: `/search?${qs}` })).json().error;
    expect(await q('format=csv')).toEqual({ code: 'invalid-input', field: 'from', message: 'from: 必填 / is required' });
    expect((await q('from=1&from=2')).field).toBe('from');
    expect((await q('from=1&format=xml')).field).toBe('format');
  });

  it('GIVEN valid input THEN nothing is converted or dropped: null for optional fields, unknown fields and a missing body pass as sent', async () => {
    const ok = await post({ name: 'a', note: null, kind: null, count: 2, unknown: { kept: true } });
    expect(ok.status).toBe(200);
    expect(ok.json.body).toEqual({ name: 'a', note: null, kind: null, count: 2, unknown: { kept: true } });
    for (const when of [0, 1700000000000, '1700000000000']) expect((await post({ name: 'a', when })).json.body, JSON.stringify(when)).toEqual({ name: 'a', when });
    const none = await app.inject({ method: 'POST', url: '/things/a' });
    expect(none.statusCode).toBe(200);
    expect(none.json().body).toBeNull();
    const query = await app.inject({ method: 'GET', url: '/search?from=0012&other=x' });
    expect(query.json().query).toEqual({ from: '0012', other: 'x' });
  });
});

describe('validationError', () => {
  it('GIVEN no error or an unknown keyword THEN still a field-naming invalid-input', () => {
    expect(validationError([], 'querystring')).toMatchObject({ code: 'invalid-input', status: 400, field: 'querystring' });
    const e = validationError([{ keyword: 'uniqueItems', instancePath: '/tags', schemaPath: '#/properties/tags/uniqueItems', params: {}, message: 'must NOT have duplicate items' }]);
    expect(e).toMatchObject({ field: 'tags', message: 'tags: 格式不正确 / must NOT have duplicate items' });
    const escaped = validationError([{ keyword: 'type', instancePath: '/skills/a~1b', schemaPath: '', params: { type: 'integer' } }]);
    expect(escaped.field).toBe('skills.a/b');
  });
});
