/**
 * Admin API: routing tables (draft → validate → publish, versions, rollback,
 * test-dial) and seats (agents, seat groups). Every change is audited; an
 * invalid table is answered with every error and its field path, and the
 * published table stays as it was.
 */
import type { FastifyInstance } from 'fastify';
import type { AuditPort } from '../../access/audit.js';
import { GROUP_KINDS, validateAgent, validateGroup, type FieldError as SeatFieldError } from '../../acd/model.js';
import type { SeatWriteResult } from '../../acd/service.js';
import type { Acd } from '../../acd/service.js';
import type { CallFlow } from '../../calls/ports.js';
import type { RoutingStore } from '../../routing/store.js';
import type { PublishScheduler } from '../../routing/scheduler.js';
import { diffTables } from '../../routing/diff.js';
import { resolveCall } from '../../routing/resolve.js';
import type { RoutingTable } from '../../routing/model.js';
import type { CallerGuard } from '../../calls/abuse.js';
import { bodyOf, errors, oneOf, staleVersion, str, versionOf } from '../errors.js';
import * as S from '../schemas.js';
import { isoDateTimeProblem, parseIsoDateTime } from '../../util/datetime.js';

export interface AdminDeps {
  routing: RoutingStore;
  scheduler: PublishScheduler;
  current: () => { table: RoutingTable; version: number };
  flow: CallFlow;
  /** The IVR for another table (a draft's own flows). */
  flowFor: (table: RoutingTable) => CallFlow;
  acd: Acd;
  audit: AuditPort;
  guard: CallerGuard;
}

const BLOCKLIST = { config: { access: { roles: ['admin', 'supervisor'] as const } } };

const READ = { config: { access: { permission: 'routing:read' as const } } };
const WRITE = { config: { access: { permission: 'routing:write' as const } } };
const SEATS = { config: { access: { permission: 'seats:write' as const } } };

type Schema = ReturnType<typeof S.route>;
const routing = (summary: string, parts?: Parameters<typeof S.route>[2]): { schema: Schema } => ({ schema: S.route('routing', summary, parts) });

/** A scheduled publish (a cancellation date, the end of a transition window) is at most a year ahead. */
const SCHEDULE_HORIZON_MS = 366 * 86_400_000;

const VERSION_QUERY = S.string('版本号 / version number (digits)');
/** Optimistic concurrency: every admin write names the version it was based on (GET returns it). */
const WRITE_VERSION = (what: string) => S.integer(`必填：读取时的${what}版本（已被他人修改则 409，不做任何修改） / required: the version you read (409 version-conflict when someone changed it meanwhile; nothing is changed)`, { minimum: 0 });
const DRAFT_VERSION = WRITE_VERSION('草稿');
const SEATS_VERSION = WRITE_VERSION('座席');
const BLOCKLIST_VERSION = WRITE_VERSION('屏蔽名单');
const ID_PARAM = S.params({ id: S.string('编号 / id') });

/** What the caller hears first: run the flow, letting every prompt finish, until it waits for the caller or leaves the IVR. */
function firstSteps(flow: CallFlow, decision: Parameters<CallFlow['start']>[0]['decision'], lang: string, now: number) {
  const heard: string[] = [];
  const steps: string[] = [];
  let step = flow.start({ decision, language: lang, source: 'carrier', now });
  for (let i = 0; i < 20; i++) {
    const play = step.commands.find((c) => c.type === 'play');
    for (const c of step.commands) {
      if (c.type === 'play') heard.push(c.media.map((m) => (m.kind === 'prompt' ? m.id : `${m.kind}:${m.value}`)).join(' '));
      if (c.type === 'path') steps.push(`${c.node}: ${c.detail}`);
      if (c.type === 'queue') steps.push(`queue ${c.skill} (priority ${c.priority})`);
      if (c.type === 'transfer') steps.push(`transfer ${c.target}`);
      if (c.type === 'hangup') steps.push('hang up');
    }
    if (!play || step.commands.some((c) => c.type === 'start-timer')) break;
    step = flow.next(step.state, { type: 'playback-done', token: play.token }, now);
  }
  return { heard, steps };
}

export async function adminRoutes(app: FastifyInstance, d: AdminDeps): Promise<void> {
  app.get('/api/admin/routing', { ...READ, ...routing('已发布的路由表 / the published routing table') }, async () => {
    const p = await d.routing.getPublished();
    return { version: p?.version ?? 0, table: p?.table ?? d.current().table };
  });

  app.get('/api/admin/routing/versions', { ...READ, ...routing('已发布的版本 / published versions') }, async () => ({ versions: await d.routing.listVersions() }));

  app.get('/api/admin/routing/draft', { ...READ, ...routing('草稿、其版本（保存时回传）及校验错误 / the draft, its version (send it back when saving) and its validation errors') }, async () => {
    const draft = await d.routing.getDraft();
    return { draft: draft ?? null, version: draft?.version ?? 0, errors: draft ? await d.routing.check(draft.table) : [] };
  });

  app.put(
    '/api/admin/routing/draft',
    {
      ...WRITE,
      ...routing('保存草稿（可含错误，发布前须修正） / save the draft (errors are reported, publishing needs none)', {
        body: S.body(
          {
            version: DRAFT_VERSION,
            table: S.object('整张路由表 / the whole routing table (areas, routes, flows); checked by the routing validator, every error named'),
          },
          ['table'],
        ),
      }),
    },
    async (req) => {
      const b = bodyOf(req);
      if (b.table === undefined) throw errors.invalid('table', '必填 / is required');
      const expected = versionOf(b.version);
      const r = await d.routing.saveDraft(b.table, req.user.username, expected);
      if (!r.ok) throw staleVersion(r.current);
      return { draft: r.draft, version: r.draft.version, errors: r.errors };
    },
  );

  app.post(
    '/api/admin/routing/publish',
    {
      ...WRITE,
      ...routing('发布草稿 / publish the draft', {
        body: S.body({
          comment: S.optional(S.string('说明 / comment', 200)),
          expectedVersion: S.integer('预期当前版本（防并发覆盖） / the version expected to be current (optimistic lock)', { minimum: 0 }),
          draftVersion: S.integer('所发布草稿的版本（草稿已被他人修改则 409） / the draft version you publish (409 when someone saved the draft meanwhile)', { minimum: 0 }),
        }),
      }),
    },
    async (req) => {
      const b = bodyOf(req);
      const comment = str(b, 'comment', { max: 200 });
      const expected = b.expectedVersion;
      if (expected !== undefined && (typeof expected !== 'number' || !Number.isInteger(expected) || expected < 0)) {
        throw errors.invalid('expectedVersion', '必须是非负整数 / must be a whole number');
      }
      const draftVersion = b.draftVersion === undefined ? undefined : versionOf(b.draftVersion, 'draftVersion');
      const r = await d.routing.publish(req.user.username, {
        ...(comment ? { comment } : {}),
        ...(expected !== undefined ? { expectedVersion: expected as number } : {}),
        ...(draftVersion !== undefined ? { draftVersion } : {}),
      });
      if (!r.ok) {
        if (r.reason === 'invalid') {
          const first = r.errors[0];
          throw errors.invalid(first?.field ?? 'table', `路由表有 ${r.errors.length} 处错误，未发布 / ${r.errors.length} error(s), not published: ${first?.message ?? ''}`, r.errors);
        }
        if (r.reason === 'conflict') throw staleVersion(r.current, 'expectedVersion');
        if (r.reason === 'draft-conflict') throw staleVersion(r.current, 'draftVersion');
        if (r.reason === 'no-draft') throw errors.invalid('draft', '没有草稿 / there is no draft to publish');
        throw errors.notFound('draft');
      }
      await d.audit.record({ actor: req.user.username, action: 'routing-changed', target: `routing:v${r.version.version}`, detail: comment ?? 'published' });
      return { version: r.version.version };
    },
  );

  app.post(
    '/api/admin/routing/rollback',
    {
      ...WRITE,
      ...routing('回滚到某一版本（作为新版本发布） / roll back to a version (published as a new one)', {
        body: S.body(
          {
            version: S.integer('回滚到的版本号 / the version to roll back to', { minimum: 1 }),
            expectedVersion: S.integer('读取时的当前版本（其后有人发布则 409） / the current version you read (409 when someone published meanwhile)', { minimum: 0 }),
          },
          ['version'],
        ),
      }),
    },
    async (req) => {
      const b = bodyOf(req);
      const to = b.version;
      if (typeof to !== 'number' || !Number.isInteger(to) || to < 1) throw errors.invalid('version', '必须是正整数 / must be a positive whole number');
      const expected = b.expectedVersion === undefined ? undefined : versionOf(b.expectedVersion, 'expectedVersion');
      const r = await d.routing.rollback(to, req.user.username, expected !== undefined ? { expectedVersion: expected } : {});
      if (!r.ok) {
        if (r.reason === 'not-found') throw errors.invalid('version', `没有版本 ${to} / no version ${to}`);
        if (r.reason === 'invalid') throw errors.invalid('version', `版本 ${to} 不再有效 / version ${to} no longer validates`, r.errors);
        if (r.reason === 'conflict') throw staleVersion(r.current, 'expectedVersion');
        throw errors.conflict('version-conflict', 'rollback conflicted with another change');
      }
      await d.audit.record({ actor: req.user.username, action: 'routing-changed', target: `routing:v${r.version.version}`, detail: `rollback to v${to}` });
      return { version: r.version.version };
    },
  );

  app.get(
    '/api/admin/routing/diff',
    { ...READ, ...routing('两个版本的差异 / the difference of two versions', { querystring: S.query({ from: VERSION_QUERY, to: VERSION_QUERY }, ['from', 'to']) }) },
    async (req) => {
      const q = req.query as Record<string, string | undefined>;
      const version = (field: 'from' | 'to'): number => {
        const v = q[field];
        if (!v || !/^\d+$/.test(v)) throw errors.invalid(field, '必须是版本号 / must be a version number');
        return Number(v);
      };
      const [a, b] = await Promise.all([d.routing.getVersion(version('from')), d.routing.getVersion(version('to'))]);
      if (!a) throw errors.invalid('from', `没有版本 ${q.from} / no version ${q.from}`);
      if (!b) throw errors.invalid('to', `没有版本 ${q.to} / no version ${q.to}`);
      return { from: a.version, to: b.version, diff: diffTables(a.table, b.table) };
    },
  );

  app.get('/api/admin/routing/schedule', { ...READ, ...routing('定时发布计划 / the scheduled publish') }, async () => ({ scheduled: (await d.scheduler.get()) ?? null }));

  app.post(
    '/api/admin/routing/schedule',
    {
      ...WRITE,
      ...routing('定时发布草稿（如撤并日期） / schedule publishing the draft (e.g. a line’s cancellation date)', {
        body: S.body(
          {
            version: DRAFT_VERSION,
            at: S.string('将来的时间，ISO 8601 含时区 / a future ISO 8601 date-time with offset (at most a year ahead), e.g. 2026-12-01T00:00:00+08:00', 40),
            comment: S.optional(S.string('说明 / comment', 200)),
          },
          ['at'],
        ),
      }),
    },
    async (req) => {
      const b = bodyOf(req);
      const atRaw = str(b, 'at', { required: true, max: 40 })!;
      const at = parseIsoDateTime(atRaw);
      if (at === undefined) throw errors.invalid('at', isoDateTimeProblem(atRaw)!);
      if (at <= Date.now()) throw errors.invalid('at', '必须是将来的时间 / must be in the future');
      if (at > Date.now() + SCHEDULE_HORIZON_MS) throw errors.invalid('at', '最多提前一年定时发布 / at most one year ahead');
      const expected = versionOf(b.version);
      const draft = await d.routing.getDraft();
      if (!draft) throw errors.invalid('draft', '没有草稿 / there is no draft to schedule');
      // The table scheduled is the one read here: it is the revision the admin saw, or nothing is scheduled.
      if (draft.version !== expected) throw staleVersion(draft.version);
      const errs = await d.routing.check(draft.table);
      if (errs.length > 0) throw errors.invalid(errs[0]!.field, `草稿有 ${errs.length} 处错误 / the draft has ${errs.length} error(s): ${errs[0]!.message}`, errs);
      const comment = str(b, 'comment', { max: 200 }) ?? '';
      await d.scheduler.schedule({ at, table: draft.table, by: req.user.username, comment, createdAt: Date.now() });
      await d.audit.record({ actor: req.user.username, action: 'routing-changed', target: 'routing:scheduled', detail: `publish at ${new Date(at).toISOString()} ${comment}` });
      return { scheduled: { at, comment } };
    },
  );

  app.delete('/api/admin/routing/schedule', { ...WRITE, ...routing('取消定时发布 / cancel the scheduled publish') }, async (req) => {
    const cancelled = await d.scheduler.cancel();
    if (cancelled) await d.audit.record({ actor: req.user.username, action: 'routing-changed', target: 'routing:scheduled', detail: 'cancelled' });
    return { cancelled };
  });

  app.post(
    '/api/admin/routing/test-dial',
    {
      ...READ,
      ...routing('试拨：某号码在某时会走哪条路由、听到什么 / test-dial: the route a number takes at a time, and what the caller hears first', {
        body: S.body(
          {
            number: S.string('被叫号码 / dialed digits (0-9 * # +, 2-20)', 20),
            source: S.optional(S.oneOf(['carrier', 'linkage', 'subcenter'], '来源 / where the call comes from (default carrier)')),
            table: S.optional(S.oneOf(['published', 'draft'], '用哪张表 / which table (default published)')),
            at: S.optional(S.string('时间，ISO 8601 含时区（默认现在） / ISO 8601 date-time with offset (default now)', 40)),
            lang: S.optional(S.oneOf(['zh', 'en'], '语言 / language (default zh)')),
            area: S.optional(S.string('区县编号 / area id (lower-case letters, digits, -)', 32)),
          },
          ['number'],
        ),
      }),
    },
    async (req) => {
      const b = bodyOf(req);
      const number = str(b, 'number', { required: true, max: 20, pattern: /^[0-9*#+]{2,20}$/, what: 'digits' })!;
      const source = oneOf(b, 'source', ['carrier', 'linkage', 'subcenter'] as const, false) ?? 'carrier';
      const which = oneOf(b, 'table', ['published', 'draft'] as const, false) ?? 'published';
      let at = new Date();
      if (b.at !== undefined && b.at !== null) {
        const ms = parseIsoDateTime(b.at);
        if (ms === undefined) throw errors.invalid('at', isoDateTimeProblem(b.at)!);
        at = new Date(ms);
      }
      const lang = oneOf(b, 'lang', ['zh', 'en'] as const, false) ?? 'zh';
      const area = str(b, 'area', { max: 32, pattern: /^[a-z0-9-]+$/, what: 'an area id' });
      let table = d.current().table;
      let flow = d.flow;
      if (which === 'draft') {
        const draft = await d.routing.getDraft();
        if (!draft) throw errors.invalid('table', '没有草稿 / there is no draft');
        const errs = await d.routing.check(draft.table);
        if (errs.length > 0) throw errors.invalid(errs[0]!.field, `草稿有 ${errs.length} 处错误 / the draft has ${errs.length} error(s): ${errs[0]!.message}`, errs);
        table = draft.table as RoutingTable;
        flow = d.flowFor(table);
      }
      const decision = resolveCall(table, { dialed: number, source, at, ...(area ? { area } : {}) });
      return { decision, ...firstSteps(flow, decision, lang, at.getTime()) };
    },
  );

  // ---- caller block list (abuse) ------------------------------------------------------------

  app.get('/api/admin/blocklist', { ...BLOCKLIST, schema: S.route('blocklist', '屏蔽名单（号码脱敏）及其版本（修改时回传） / blocked callers (masked) and the list version (send it back with a change)') }, async () => {
    const version = await d.guard.blockedVersion();
    return { version, blocked: await d.guard.blocked() };
  });

  app.post(
    '/api/admin/blocklist',
    {
      ...BLOCKLIST,
      schema: S.route('blocklist', '屏蔽来电号码（留痕） / block a caller (audited)', {
        body: S.body(
          { number: S.string('来电号码 / phone number (digits, optional +, 5-20)', 20), reason: S.string('原因，至少 4 个字 / reason, at least 4 characters', 200), version: BLOCKLIST_VERSION },
          ['number', 'reason'],
        ),
      }),
    },
    async (req, reply) => {
      const b = bodyOf(req);
      const number = str(b, 'number', { required: true, max: 20, pattern: /^\+?\d{5,20}$/, what: 'a phone number' })!;
      const reason = str(b, 'reason', { required: true, max: 200 })!;
      if (reason.trim().length < 4) throw errors.invalid('reason', '请说明原因（至少 4 个字） / give a reason of at least 4 characters');
      const r = await d.guard.blockIf(number, reason, req.user.username, Date.now(), versionOf(b.version));
      if (!r.ok) throw staleVersion(r.current);
      const entry = r.entry;
      await d.audit.record({ actor: req.user.username, action: 'caller-blocked', target: `caller:${entry.id}`, detail: `${entry.masked} ${reason}` });
      return reply.code(201).send({ entry, version: r.version });
    },
  );

  app.delete(
    '/api/admin/blocklist/:id',
    {
      ...BLOCKLIST,
      schema: S.route('blocklist', '解除屏蔽（留痕） / unblock (audited)', {
        params: S.params({ id: S.string('屏蔽记录编号（32 位十六进制） / entry id (32 hex digits)') }),
        querystring: S.query({ version: S.string('必填：读取时的名单版本 / required: the list version you read') }),
      }),
    },
    async (req) => {
      const { id } = req.params as { id: string };
      if (!/^[0-9a-f]{32}$/.test(id)) throw errors.invalid('id', '格式不正确 / malformed');
      const r = await d.guard.unblockIf(id, versionOf((req.query as { version?: unknown }).version));
      if (!r.ok && r.stale) throw staleVersion(r.current);
      if (!r.ok) throw errors.notFound(`屏蔽记录 ${id}`);
      await d.audit.record({ actor: req.user.username, action: 'caller-unblocked', target: `caller:${id}` });
      return { ok: true, version: r.version };
    },
  );

  // ---- seats ---------------------------------------------------------------------------------

  app.get('/api/admin/seats', { ...SEATS, schema: S.route('seats', '座席组与座席，及其版本（修改时回传） / seat groups and agents, and their version (send it back with a change)') }, async () => {
    // The version first: a write named with it is refused if anything changed after this read.
    const version = await d.acd.seatsVersion();
    return { version, groups: await d.acd.listGroups(), agents: await d.acd.listAgents() };
  });

  /** A seat write's answer: field errors (400), a stale version (409), or the new version. */
  const seatResult = (r: SeatWriteResult, fallbackField: string): { ok: true; version: number } => {
    if (r.ok) return r;
    if ('conflict' in r) throw staleVersion(r.conflict);
    throw seatErrors(r.errors, fallbackField);
  };
  const seatErrors = (errs: SeatFieldError[], fallbackField: string) => errors.invalid(errs[0]?.field || fallbackField, errs[0]?.message ?? 'invalid', errs);

  app.put(
    '/api/admin/seats/groups/:id',
    {
      ...SEATS,
      schema: S.route('seats', '新建或修改座席组 / create or replace a seat group', {
        params: ID_PARAM,
        body: S.body({
          name: S.string('名称 / name', 64),
          kind: S.oneOf(GROUP_KINDS, '类型 / kind'),
          lineNumber: S.optional(S.string('专家组、分中心的原热线号码 / the legacy line of an expert or sub-center group (3-12 digits)')),
          department: S.optional(S.string('部门 / department', 64)),
          version: SEATS_VERSION,
        }),
      }),
    },
    async (req) => {
      const { version, ...b } = bodyOf(req);
      const input = { ...b, id: (req.params as { id: string }).id };
      const checked = validateGroup(input);
      if (!checked.ok) throw seatErrors(checked.errors, 'body');
      const r = seatResult(await d.acd.putGroup(input, versionOf(version)), 'body');
      await d.audit.record({ actor: req.user.username, action: 'seats-changed', target: `group:${(req.params as { id: string }).id}` });
      return r;
    },
  );

  app.put(
    '/api/admin/seats/agents/:id',
    {
      ...SEATS,
      schema: S.route('seats', '新建或修改座席 / create or replace an agent', {
        params: ID_PARAM,
        body: S.body({
          name: S.string('姓名 / name', 64),
          extension: S.string('分机 / extension'),
          dialString: S.optional(S.string('呼叫串 / dial string, e.g. PJSIP/8001', 128)),
          skills: { type: 'object', additionalProperties: S.integer('技能等级 / level', { minimum: 1, maximum: 5 }), description: '技能 → 等级 1-5 / skill → level 1-5' },
          groups: S.array(S.string(), '所属座席组 / seat group ids'),
          version: SEATS_VERSION,
        }),
      }),
    },
    async (req) => {
      const { version, ...b } = bodyOf(req);
      const input = { ...b, id: (req.params as { id: string }).id };
      // Field errors first (the groups named are checked against the stored ones when writing).
      const checked = validateAgent(input);
      if (!checked.ok) throw seatErrors(checked.errors, 'body');
      const r = seatResult(await d.acd.putAgent(input, versionOf(version)), 'body');
      await d.audit.record({ actor: req.user.username, action: 'seats-changed', target: `agent:${(req.params as { id: string }).id}` });
      return r;
    },
  );

  app.delete(
    '/api/admin/seats/agents/:id',
    { ...SEATS, schema: S.route('seats', '删除座席 / remove an agent', { params: ID_PARAM, querystring: S.query({ version: S.string('必填：读取时的座席版本 / required: the seats version you read') }) }) },
    async (req) => {
      const expectedVersion = versionOf((req.query as { version?: unknown }).version);
      const r = seatResult(await d.acd.deleteAgent((req.params as { id: string }).id, expectedVersion), 'id');
      await d.audit.record({ actor: req.user.username, action: 'seats-changed', target: `agent:${(req.params as { id: string }).id}`, detail: 'removed' });
      return r;
    },
  );
}
