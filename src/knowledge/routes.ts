/**
 * The knowledge base's HTTP API and pages: editors (a unit its own articles,
 * the centre all, review and publish), search for agents (and suggestions from
 * a call's line, skill and IVR path), and the public read-only page and API
 * (no login, rate-limited per address).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, bodyOf, errors, oneOf, str, versionOf } from '../http/errors.js';
import * as S from '../http/schemas.js';
import { ARTICLE_ACTIONS, ARTICLE_ID, ARTICLE_STATUSES, CENTRE_UNIT, isCurrent, type Article, type ArticleAction, type Editor } from './model.js';
import type { KnowledgeBase } from './service.js';

const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));

export interface KnowledgeRouteDeps {
  kb: KnowledgeBase;
  /** Public API requests per minute per address. */
  publicRatePerMinute: number;
}

const EDIT = { config: { access: { permission: 'kb:edit' as const } } };
const READ = { config: { access: { permission: 'kb:read' as const } } };
const ID_PARAM = S.params({ id: S.string('知识编号 / article id', 64) });

const CONTENT = {
  title: S.string('标题 / title', 120),
  body: S.string('正文 / body', 20_000),
  shortAnswer: S.optional(S.string('简答（语音导航播报，≤300 字） / short answer (spoken by the IVR, ≤ 300 characters)', 300)),
  shortAnswerEn: S.optional(S.string('英文简答 / English short answer', 300)),
  keywords: S.optional(S.array(S.string(undefined, 30), '关键词 / keywords')),
  category: S.optional(S.string('分类 / category', 40)),
  lines: S.optional(S.array(S.string(undefined, 8), '热线号码，如 12333 / service lines, e.g. 12333')),
  skills: S.optional(S.array(S.string(undefined, 40), '座席技能 / ACD skills')),
  units: S.optional(S.array(S.string(undefined, 40), '涉及的承办单位 / handling units concerned')),
  sourceDepartment: S.optional(S.string('来源部门 / source department', 100)),
  validFrom: S.optional(S.string('生效时间（带时区 ISO 8601） / valid from (ISO 8601 with offset)', 40)),
  validUntil: S.optional(S.string('失效时间（带时区 ISO 8601） / valid until (ISO 8601 with offset)', 40)),
  attachments: S.optional(S.array(S.object(undefined, { name: S.string(undefined, 100), url: S.string(undefined, 500) }), '附件链接 / attachment links')),
};

function editorOf(req: FastifyRequest): Editor {
  const u = req.user;
  const centre = u.roles.includes('supervisor') || u.roles.includes('admin');
  return { username: u.username, centre, ...(u.unitId ? { unitId: u.unitId } : {}) };
}

function idOf(req: FastifyRequest): string {
  const { id } = req.params as { id: string };
  if (!ARTICLE_ID.test(id)) throw errors.invalid('id', '格式不正确 / malformed article id');
  return id;
}

function limitOf(v: unknown, max: number): number {
  if (v === undefined || v === '') return 10;
  if (typeof v !== 'string' || !/^\d{1,3}$/.test(v) || Number(v) < 1 || Number(v) > max) throw errors.invalid('limit', `须为 1-${max} / must be 1 to ${max}`);
  return Number(v);
}

/** What the public sees of a published version: no editors, no internal units or skills. */
function publicView(a: { id: string; live: NonNullable<Article['live']> }) {
  const l = a.live;
  return {
    id: a.id,
    version: l.version,
    title: l.title,
    shortAnswer: l.shortAnswer,
    body: l.body,
    category: l.category,
    sourceDepartment: l.sourceDepartment,
    publishedAt: l.publishedAt,
    ...(l.validUntil !== undefined ? { validUntil: l.validUntil } : {}),
    attachments: l.attachments,
  };
}

export async function knowledgeRoutes(app: FastifyInstance, d: KnowledgeRouteDeps): Promise<void> {
  const { kb } = d;

  for (const [url, file, summary] of [
    ['/kb', 'kb.html', '知识库编辑页面（承办单位、中心） / knowledge base editor page (units, the centre)'],
    ['/kb/public', 'kb-public.html', '公众知识库查询页面（免登录） / public knowledge base page (no login)'],
  ] as const) {
    app.get(url, { config: { access: 'public' }, schema: S.route('pages', summary) }, async (_req, reply) =>
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(await readFile(join(WEB_DIR, file), 'utf8')),
    );
  }

  // ---- editors ------------------------------------------------------------------------------

  app.get(
    '/api/kb/articles',
    { ...EDIT, schema: S.route('knowledge', '知识列表：承办单位看本单位的，中心看全部 / articles: a unit its own, the centre all', { querystring: S.query({ status: S.optional(S.oneOf(ARTICLE_STATUSES)), unit: S.optional(S.string('单位（中心） / unit (centre)', 64)) }) }) },
    async (req) => {
      const q = req.query as Record<string, unknown>;
      const status = oneOf(q, 'status', ARTICLE_STATUSES, false);
      const unit = str(q, 'unit', { max: 64 });
      const now = kb.now();
      const list = await kb.list(editorOf(req), { ...(status ? { status } : {}), ...(unit ? { unit } : {}) });
      return {
        articles: list.map((a) => ({
          id: a.id,
          title: a.title,
          ownerUnit: a.ownerUnit,
          status: a.status,
          version: a.version,
          liveVersion: a.live?.version ?? null,
          expired: a.live?.validUntil !== undefined && !isCurrent(a.live, now),
          validUntil: a.validUntil ?? null,
          updatedAt: a.updatedAt,
          updatedBy: a.updatedBy,
        })),
      };
    },
  );

  app.post(
    '/api/kb/articles',
    { ...EDIT, schema: S.route('knowledge', '新建知识（草稿，留痕） / create an article (a draft; audited)', { body: S.body({ ...CONTENT, ownerUnit: S.optional(S.string('负责单位（中心代建时） / owning unit (when the centre writes for a unit)', 64)) }, ['title', 'body']) }) },
    async (req, reply) => {
      const b = bodyOf(req);
      const e = editorOf(req);
      const owner = str(b, 'ownerUnit', { max: 64, pattern: /^[A-Za-z0-9_\-\u4e00-\u9fff]{1,64}$/, what: 'a unit id' });
      if (owner && !e.centre && owner !== e.unitId) throw errors.invalid('ownerUnit', '只能为本单位新建 / only for your own unit');
      const { ownerUnit: _o, ...content } = b;
      const a = await kb.create(e, content, owner ?? (e.centre ? CENTRE_UNIT : undefined));
      return reply.code(201).send({ article: a });
    },
  );

  app.get('/api/kb/articles/:id', { ...EDIT, schema: S.route('knowledge', '一条知识：最新版本、历史、使用情况 / an article: latest version, history, usage', { params: ID_PARAM }) }, async (req) => {
    const id = idOf(req);
    const a = await kb.get(id);
    const e = editorOf(req);
    if (!a || (!e.centre && a.ownerUnit !== e.unitId)) throw errors.notFound(`知识 ${id}`);
    return { article: a, history: await kb.store.history(id), usage: await kb.store.usage(id) };
  });

  app.get(
    '/api/kb/articles/:id/versions/:version',
    { ...EDIT, schema: S.route('knowledge', '知识的某一历史版本 / one version of an article', { params: S.params({ id: S.string('知识编号 / article id', 64), version: S.string('版本 / version', 10) }) }) },
    async (req) => {
      const id = idOf(req);
      const v = versionOf((req.params as { version: string }).version);
      const e = editorOf(req);
      const a = await kb.store.version(id, v);
      if (!a || (!e.centre && a.ownerUnit !== e.unitId)) throw errors.notFound(`知识 ${id} v${v}`);
      return { article: a };
    },
  );

  app.put(
    '/api/kb/articles/:id',
    { ...EDIT, schema: S.route('knowledge', '修改知识（退回草稿；已发布版本继续有效直至再次发布；留痕） / edit an article (back to draft; the published version stays until the next publish; audited)', { params: ID_PARAM, body: S.body({ ...CONTENT, version: S.integer('读取时的版本 / the version you read', { minimum: 0 }) }, ['version', 'title', 'body']) }) },
    async (req) => {
      const b = bodyOf(req);
      const version = versionOf(b.version);
      const { version: _v, ...content } = b;
      return { article: await kb.update(editorOf(req), idOf(req), version, content) };
    },
  );

  app.post(
    '/api/kb/articles/:id/:action',
    {
      ...EDIT,
      schema: S.route('knowledge', '流程：提交审核（单位）、发布/退回/下架（中心）；留痕 / workflow: submit (unit), publish / reject / retire (centre); audited', {
        params: S.params({ id: S.string('知识编号 / article id', 64), action: S.oneOf(ARTICLE_ACTIONS, '操作 / action') }),
        body: S.body({ version: S.integer('读取时的版本 / the version you read', { minimum: 0 }), note: S.optional(S.string('说明（退回须填） / note (required to send back)', 200)) }, ['version']),
      }),
    },
    async (req) => {
      const action = (req.params as { action: string }).action;
      if (!(ARTICLE_ACTIONS as readonly string[]).includes(action)) throw errors.invalid('action', ARTICLE_ACTIONS.join(' / '));
      const b = bodyOf(req);
      const version = versionOf(b.version);
      const note = str(b, 'note', { max: 200 })?.trim();
      return { article: await kb.act(editorOf(req), idOf(req), version, action as ArticleAction, note || undefined) };
    },
  );

  app.get(
    '/api/kb/reminders',
    { ...EDIT, schema: S.route('knowledge', '即将到期提醒（本单位；中心可指定单位） / expiry reminders (own unit; the centre may name one)', { querystring: S.query({ unit: S.optional(S.string('单位 / unit', 64)) }) }) },
    async (req) => {
      const e = editorOf(req);
      const unit = e.centre ? (str(req.query as Record<string, unknown>, 'unit', { max: 64 }) ?? CENTRE_UNIT) : e.unitId;
      if (!unit) throw errors.forbidden();
      return { unit, reminders: await kb.store.reminders(unit) };
    },
  );

  // ---- agents -------------------------------------------------------------------------------

  app.get(
    '/api/kb/search',
    {
      ...READ,
      schema: S.route('knowledge', '检索已发布且在有效期内的知识；不填 q 时按来电线路、技能、语音导航路径推荐 / search published, current articles; without q: suggestions from the call’s line, skill and IVR path', {
        querystring: S.query({
          q: S.optional(S.string('检索词 / words', 100)),
          line: S.optional(S.string('来电线路 / the call’s line', 8)),
          skill: S.optional(S.string('技能 / skill', 40)),
          context: S.optional(S.string('语音导航路径等 / IVR path words', 500)),
          limit: S.optional(S.string('条数 1-50 / results 1 to 50', 2)),
        }),
      }),
    },
    async (req) => {
      const q = req.query as Record<string, unknown>;
      const text = str(q, 'q', { max: 100 });
      const line = str(q, 'line', { max: 8, pattern: /^[0-9]{3,8}$/, what: 'a service number (digits)' });
      const skill = str(q, 'skill', { max: 40 });
      const context = str(q, 'context', { max: 500 });
      const limit = limitOf(q.limit, 50);
      return { results: kb.search({ ...(text ? { q: text } : {}), ...(line ? { line } : {}), ...(skill ? { skill } : {}), ...(context ? { context } : {}), limit }) };
    },
  );

  app.get('/api/kb/published/:id', { ...READ, schema: S.route('knowledge', '已发布知识全文 / a published article in full', { params: ID_PARAM }) }, async (req) => {
    const a = kb.published(idOf(req));
    if (!a) throw errors.notFound(`知识 ${idOf(req)}`);
    return { article: { ...publicView(a), lines: a.live.lines, skills: a.live.skills, units: a.live.units, keywords: a.live.keywords } };
  });

  // ---- the public ---------------------------------------------------------------------------

  // Public routes are not under the per-user API limit (access plugin): their own limit, per address.
  const limited = {
    config: {
      access: 'public' as const,
      rateLimit: { max: d.publicRatePerMinute, timeWindow: 60_000, allowList: () => false, keyGenerator: (req: FastifyRequest) => `kb-public:${req.ip}` },
    },
  };
  app.get(
    '/api/public/kb',
    { ...limited, schema: S.route('knowledge', '公众查询已发布知识（免登录，按地址限流） / the public’s search of published articles (no login, rate-limited per address)', { querystring: S.query({ q: S.optional(S.string('检索词 / words', 100)), limit: S.optional(S.string('条数 1-20 / results 1 to 20', 2)) }) }) },
    async (req) => {
      const q = req.query as Record<string, unknown>;
      const text = str(q, 'q', { max: 100 });
      const limit = limitOf(q.limit, 20);
      const hits = text ? kb.search({ q: text, limit }) : kb.index.all().filter((a) => kb.published(a.id)).sort((x, y) => y.live.publishedAt - x.live.publishedAt).slice(0, limit).map((a) => ({ id: a.id, title: a.live.title, shortAnswer: a.live.shortAnswer, category: a.live.category }));
      return { results: hits.map((h) => ({ id: h.id, title: h.title, shortAnswer: h.shortAnswer, category: h.category })) };
    },
  );

  app.get('/api/public/kb/:id', { ...limited, schema: S.route('knowledge', '公众查看一条已发布知识 / a published article for the public', { params: ID_PARAM }) }, async (req) => {
    const a = kb.published(idOf(req));
    if (!a) throw new AppError('not-found', 404, `知识 ${idOf(req)} 不存在或已失效 / article not found or no longer valid`);
    return { article: publicView(a) };
  });
}
