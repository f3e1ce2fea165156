/**
 * The OpenAPI 3 document of the HTTP API, generated from the routes as
 * registered (@fastify/swagger, dynamic mode), and the two routes that serve
 * it: `GET /docs/openapi.json` and our own page `GET /docs`.
 *
 * @remarks
 * Who may call an operation is not written per route: {@link transformRoute}
 * derives it from the route's `config.access` (the same rule the access
 * plugin enforces) into the operation's `x-access` extension, its
 * description and its `security`. Routes without a tag are tagged by URL;
 * routes that declare no request schema yet are listed with
 * `x-request-schema: false`.
 *
 * Access: the page is a static shell like every page (public); the document
 * needs a login (any role). It lists every endpoint of the city's intranet
 * API and who may call it — nothing a logged-in integrator or colleague may
 * not know, but not for anonymous visitors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { ROLES, type Role } from '../access/roles.js';
import { ANY_USER, rolesAllowed, type RouteAccess } from './plugins/access.js';
import { TAGS, type JsonSchema, type Tag } from './schemas.js';

const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));

/** The project's package.json (src/http → root; dist/src/http → root in the image). */
function packageInfo(): { name: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'hotline12345') return { name: pkg.name, version: pkg.version ?? '0.0.0' };
    }
    const up = dirname(dir);
    if (up === dir) return { name: 'hotline12345', version: '0.0.0' };
    dir = up;
  }
}

/** What `x-access` says of an operation: the declared rule and the roles it lets in. */
export interface AccessDoc {
  /** `public`, `roles` or `permission`: the kind of rule in `config.access` (`undeclared`: refused to everyone). */
  rule: 'public' | 'roles' | 'permission' | 'undeclared';
  /** The permission named by the rule (see access/roles.ts). */
  permission?: string;
  /** The roles that may call it (every role for public routes, which also need no login). */
  roles: Role[];
  /** Whether a session is needed (false only for public routes). */
  login: boolean;
}

export function accessDoc(access: RouteAccess | undefined): AccessDoc {
  // The access plugin refuses such a route at registration; one registered before it answers 500 to everyone.
  if (access === undefined) return { rule: 'undeclared', roles: [], login: true };
  if (access === 'public') return { rule: 'public', roles: [...ROLES], login: false };
  if ('permission' in access) return { rule: 'permission', permission: access.permission, roles: rolesAllowed(access), login: true };
  return { rule: 'roles', roles: rolesAllowed(access), login: true };
}

/** The access rule in words, zh-CN / English, for the operation's description. */
export function accessText(a: AccessDoc): string {
  if (!a.login) return '访问权限 / Access: 公开，无需登录 / public, no login';
  if (a.roles.length === 0) return '访问权限 / Access: 未声明，拒绝所有请求 / undeclared, refused to everyone';
  const roles = a.roles.join(', ');
  if (a.roles.length === ROLES.length) return `访问权限 / Access: 任意已登录用户 / any logged-in user (${roles})`;
  const rule = a.permission ? `权限 / permission \`${a.permission}\`: ` : '';
  return `访问权限 / Access: ${rule}${roles}`;
}

/** The area of a route without its own tag, by URL. */
export function tagOf(url: string): Tag {
  const rules: [RegExp, Tag][] = [
    [/^\/api\/auth\//, 'auth'],
    [/^\/api\/admin\/users/, 'users'],
    [/^\/api\/audit/, 'audit'],
    [/^\/api\/numbers\//, 'numbers'],
    [/^\/(healthz|readyz)$/, 'health'],
    [/^\/api\/admin\/routing/, 'routing'],
    [/^\/api\/admin\/blocklist/, 'blocklist'],
    [/^\/api\/admin\/seats/, 'seats'],
    [/^\/api\/admin\/(dispatch-rules|ticket-webhook)/, 'ticket-admin'],
    [/^\/api\/(supervisor\/kpis|tickets\/export)/, 'reports'],
    [/^\/api\/supervision\//, 'supervision'],
    [/^\/api\/agent\//, 'agent'],
    [/^\/api\/supervisor\//, 'supervisor'],
    [/^\/api\/tickets/, 'tickets'],
    [/^\/api\/recordings/, 'recordings'],
    [/^\/api\/quality/, 'quality'],
    [/^\/api\/demo/, 'demo'],
    [/^\/docs/, 'docs'],
  ];
  return rules.find(([re]) => re.test(url))?.[1] ?? 'pages';
}

const SECURITY = [{ bearer: [] as string[] }, { session: [] as string[] }];

/**
 * Every operation, centrally: `x-access` and the access line of the
 * description from `config.access`, `security` to match, a tag by URL when the
 * route has none, and `x-request-schema` saying whether the route declared its
 * inputs.
 */
export function transformRoute({ schema, url, route }: { schema: unknown; url: string; route: RouteOptions }): { schema: Record<string, unknown>; url: string } {
  const s = (schema ?? {}) as Record<string, unknown>;
  const a = accessDoc((route.config as { access?: RouteAccess } | undefined)?.access);
  // @fastify/websocket hides its routes from the document (adding `schema: { hide: true }`); ours are listed, marked as WebSocket upgrades.
  const websocket = (route as { websocket?: boolean }).websocket === true;
  const declared = route.schema !== undefined && Object.keys(route.schema).some((k) => k !== 'hide');
  const { hide: _hide, ...rest } = s;
  const description = [
    accessText(a),
    websocket ? 'WebSocket：以 GET 升级连接，服务端推送 JSON 消息 / WebSocket: upgrade with GET; the server pushes JSON messages' : undefined,
    typeof s.description === 'string' ? s.description : undefined,
    declared ? undefined : '尚未声明请求校验 / no request schema declared yet',
  ]
    .filter(Boolean)
    .join('\n\n');
  return {
    url,
    schema: {
      ...(websocket ? rest : s),
      ...(websocket ? { 'x-websocket': true } : {}),
      tags: Array.isArray(s.tags) && s.tags.length > 0 ? s.tags : [tagOf(url)],
      description,
      security: a.login ? SECURITY : [],
      'x-access': a,
      'x-request-schema': declared,
    },
  };
}

type Operation = { requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> } };

/**
 * A body schema is nullable when the route accepts a request without a body
 * (see schemas.ts `body`): say so as an optional request body instead.
 */
export function transformDocument({ openapiObject }: { openapiObject: Record<string, unknown> }): Record<string, unknown> {
  const paths = (openapiObject.paths ?? {}) as Record<string, Record<string, Operation>>;
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      const rb = op?.requestBody;
      if (!rb?.content) continue;
      const media = Object.values(rb.content);
      if (media.length > 0 && media.every((m) => m.schema?.nullable === true)) {
        rb.required = false;
        for (const m of media) delete m.schema!.nullable;
      }
    }
  }
  return openapiObject;
}

export function openapiOptions(o: { sessionCookie: string }): FastifyDynamicSwaggerOptions {
  const pkg = packageInfo();
  return {
    mode: 'dynamic',
    openapi: {
      openapi: '3.0.3',
      info: {
        title: '12345 政务服务便民热线 话务平台接口 / 12345 Government Service Hotline telephony API',
        version: pkg.version,
        description: [
          '每个接口都声明访问权限（见 `x-access` 与说明）。错误统一为 `{ "error": { "code", "message", "field" } }`，message 为中文 / English 并指明字段。',
          'Every operation declares who may call it (`x-access` and its description). Errors are `{ "error": { "code", "message", "field" } }`; the message is zh-CN / English and names the field.',
          'API 客户端用 `Authorization: Bearer <token>`（`POST /api/auth/login`）；页面用会话 Cookie，写操作带 `x-csrf-token`。 / API clients send `Authorization: Bearer <token>` from `POST /api/auth/login`; pages use the session cookie and send `x-csrf-token` on writes.',
        ].join('\n\n'),
      },
      tags: (Object.entries(TAGS) as [Tag, string][]).map(([name, description]) => ({ name, description })),
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'POST /api/auth/login → token' },
          session: { type: 'apiKey', in: 'cookie', name: o.sessionCookie, description: '页面会话 / page session (writes need x-csrf-token)' },
        },
      },
    },
    transform: transformRoute as unknown as FastifyDynamicSwaggerOptions['transform'],
    transformObject: transformDocument as unknown as FastifyDynamicSwaggerOptions['transformObject'],
  };
}

/** `GET /docs` (our page, public like every page) and `GET /docs/openapi.json` (any logged-in user). */
export async function docsRoutes(app: FastifyInstance): Promise<void> {
  app.get('/docs', { config: { access: 'public' }, schema: { tags: ['docs'], summary: '接口文档页面 / API documentation page' } }, async (_req, reply) => {
    const html = await readFile(join(WEB_DIR, 'docs.html'), 'utf8');
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
  });
  app.get(
    '/docs/openapi.json',
    { config: { access: ANY_USER }, schema: { tags: ['docs'], summary: 'OpenAPI 3 文档 / the OpenAPI 3 document' } },
    async (_req, reply) => {
      void reply.header('cache-control', 'no-store');
      return app.swagger();
    },
  );
}
