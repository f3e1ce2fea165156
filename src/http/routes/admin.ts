/**
 * Admin API: routing tables (draft → validate → publish, versions, rollback,
 * test-dial) and seats (agents, seat groups). Every change is audited; an
 * invalid table is answered with every error and its field path, and the
 * published table stays as it was.
 */
import type { FastifyInstance } from 'fastify';
import type { AuditPort } from '../../access/audit.js';
import type { Acd } from '../../acd/service.js';
import type { CallFlow } from '../../calls/ports.js';
import type { RoutingStore } from '../../routing/store.js';
import type { PublishScheduler } from '../../routing/scheduler.js';
import { diffTables } from '../../routing/diff.js';
import { resolveCall } from '../../routing/resolve.js';
import type { RoutingTable } from '../../routing/model.js';
import type { CallerGuard } from '../../calls/abuse.js';
import { bodyOf, errors, oneOf, str } from '../errors.js';

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
  app.get('/api/admin/routing', READ, async () => {
    const p = await d.routing.getPublished();
    return { version: p?.version ?? 0, table: p?.table ?? d.current().table };
  });

  app.get('/api/admin/routing/versions', READ, async () => ({ versions: await d.routing.listVersions() }));

  app.get('/api/admin/routing/draft', READ, async () => {
    const draft = await d.routing.getDraft();
    return { draft: draft ?? null, errors: draft ? d.routing.check(draft.table) : [] };
  });

  app.put('/api/admin/routing/draft', WRITE, async (req) => {
    const b = bodyOf(req);
    if (b.table === undefined) throw errors.invalid('table', '必填 / is required');
    const r = await d.routing.saveDraft(b.table, req.user.username);
    return { draft: r.draft, errors: r.errors };
  });

  app.post('/api/admin/routing/publish', WRITE, async (req) => {
    const b = bodyOf(req);
    const comment = str(b, 'comment', { max: 200 });
    const expected = b.expectedVersion;
    if (expected !== undefined && (typeof expected !== 'number' || !Number.isInteger(expected) || expected < 0)) {
      throw errors.invalid('expectedVersion', '必须是非负整数 / must be a whole number');
    }
    const r = await d.routing.publish(req.user.username, { ...(comment ? { comment } : {}), ...(expected !== undefined ? { expectedVersion: expected as number } : {}) });
    if (!r.ok) {
      if (r.reason === 'invalid') {
        const first = r.errors[0];
        throw errors.invalid(first?.field ?? 'table', `路由表有 ${r.errors.length} 处错误，未发布 / ${r.errors.length} error(s), not published: ${first?.message ?? ''}`, r.errors);
      }
      if (r.reason === 'conflict') throw errors.conflict('version-conflict', `已有人发布了版本 ${r.current} / version ${r.current} was published meanwhile`);
      if (r.reason === 'no-draft') throw errors.invalid('draft', '没有草稿 / there is no draft to publish');
      throw errors.notFound('draft');
    }
    await d.audit.record({ actor: req.user.username, action: 'routing-changed', target: `routing:v${r.version.version}`, detail: comment ?? 'published' });
    return { version: r.version.version };
  });

  app.post('/api/admin/routing/rollback', WRITE, async (req) => {
    const b = bodyOf(req);
    const to = b.version;
    if (typeof to !== 'number' || !Number.isInteger(to) || to < 1) throw errors.invalid('version', '必须是正整数 / must be a positive whole number');
    const r = await d.routing.rollback(to, req.user.username);
    if (!r.ok) {
      if (r.reason === 'not-found') throw errors.invalid('version', `没有版本 ${to} / no version ${to}`);
      if (r.reason === 'invalid') throw errors.invalid('version', `版本 ${to} 不再有效 / version ${to} no longer validates`, r.errors);
      throw errors.conflict('version-conflict', 'rollback conflicted with another change');
    }
    await d.audit.record({ actor: req.user.username, action: 'routing-changed', target: `routing:v${r.version.version}`, detail: `rollback to v${to}` });
    return { version: r.version.version };
  });

  app.get('/api/admin/routing/diff', READ, async (req) => {
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
  });

  app.get('/api/admin/routing/schedule', READ, async () => ({ scheduled: (await d.scheduler.get()) ?? null }));

  app.post('/api/admin/routing/schedule', WRITE, async (req) => {
    const b = bodyOf(req);
    const atRaw = str(b, 'at', { required: true, max: 40 })!;
    const at = Date.parse(atRaw);
    if (Number.isNaN(at)) throw errors.invalid('at', '时间格式不正确 / must be an ISO date-time with offset, e.g. 2026-12-01T00:00:00+08:00');
    if (at <= Date.now()) throw errors.invalid('at', '必须是将来的时间 / must be in the future');
    const draft = await d.routing.getDraft();
    if (!draft) throw errors.invalid('draft', '没有草稿 / there is no draft to schedule');
    const errs = d.routing.check(draft.table);
    if (errs.length > 0) throw errors.invalid(errs[0]!.field, `草稿有 ${errs.length} 处错误 / the draft has ${errs.length} error(s): ${errs[0]!.message}`, errs);
    const comment = str(b, 'comment', { max: 200 }) ?? '';
    await d.scheduler.schedule({ at, table: draft.table, by: req.user.username, comment, createdAt: Date.now() });
    await d.audit.record({ actor: req.user.username, action: 'routing-changed', target: 'routing:scheduled', detail: `publish at ${new Date(at).toISOString()} ${comment}` });
    return { scheduled: { at, comment } };
  });

  app.delete('/api/admin/routing/schedule', WRITE, async (req) => {
    const cancelled = await d.scheduler.cancel();
    if (cancelled) await d.audit.record({ actor: req.user.username, action: 'routing-changed', target: 'routing:scheduled', detail: 'cancelled' });
    return { cancelled };
  });

  app.post('/api/admin/routing/test-dial', READ, async (req) => {
    const b = bodyOf(req);
    const number = str(b, 'number', { required: true, max: 20, pattern: /^[0-9*#+]{2,20}$/, what: 'digits' })!;
    const source = oneOf(b, 'source', ['carrier', 'linkage', 'subcenter'] as const, false) ?? 'carrier';
    const which = oneOf(b, 'table', ['published', 'draft'] as const, false) ?? 'published';
    const at = b.at === undefined ? new Date() : new Date(String(b.at));
    if (Number.isNaN(at.getTime())) throw errors.invalid('at', '时间格式不正确 / must be an ISO date-time');
    const lang = oneOf(b, 'lang', ['zh', 'en'] as const, false) ?? 'zh';
    const area = str(b, 'area', { max: 32, pattern: /^[a-z0-9-]+$/, what: 'an area id' });
    let table = d.current().table;
    let flow = d.flow;
    if (which === 'draft') {
      const draft = await d.routing.getDraft();
      if (!draft) throw errors.invalid('table', '没有草稿 / there is no draft');
      const errs = d.routing.check(draft.table);
      if (errs.length > 0) throw errors.invalid(errs[0]!.field, `草稿有 ${errs.length} 处错误 / the draft has ${errs.length} error(s): ${errs[0]!.message}`, errs);
      table = draft.table as RoutingTable;
      flow = d.flowFor(table);
    }
    const decision = resolveCall(table, { dialed: number, source, at, ...(area ? { area } : {}) });
    return { decision, ...firstSteps(flow, decision, lang, at.getTime()) };
  });

  // ---- caller block list (abuse) ------------------------------------------------------------

  app.get('/api/admin/blocklist', BLOCKLIST, async () => ({ blocked: await d.guard.blocked() }));

  app.post('/api/admin/blocklist', BLOCKLIST, async (req, reply) => {
    const b = bodyOf(req);
    const number = str(b, 'number', { required: true, max: 20, pattern: /^\+?\d{5,20}$/, what: 'a phone number' })!;
    const reason = str(b, 'reason', { required: true, max: 200 })!;
    if (reason.trim().length < 4) throw errors.invalid('reason', '请说明原因（至少 4 个字） / give a reason of at least 4 characters');
    const entry = await d.guard.block(number, reason, req.user.username);
    await d.audit.record({ actor: req.user.username, action: 'caller-blocked', target: `caller:${entry.id}`, detail: `${entry.masked} ${reason}` });
    return reply.code(201).send({ entry });
  });

  app.delete('/api/admin/blocklist/:id', BLOCKLIST, async (req) => {
    const { id } = req.params as { id: string };
    if (!/^[0-9a-f]{32}$/.test(id)) throw errors.invalid('id', '格式不正确 / malformed');
    const removed = await d.guard.unblock(id);
    if (!removed) throw errors.notFound(`屏蔽记录 ${id}`);
    await d.audit.record({ actor: req.user.username, action: 'caller-unblocked', target: `caller:${id}` });
    return { ok: true };
  });

  // ---- seats ---------------------------------------------------------------------------------

  app.get('/api/admin/seats', SEATS, async () => ({ groups: await d.acd.listGroups(), agents: await d.acd.listAgents() }));

  app.put('/api/admin/seats/groups/:id', SEATS, async (req) => {
    const r = await d.acd.upsertGroup({ ...bodyOf(req), id: (req.params as { id: string }).id });
    if (!r.ok) throw errors.invalid(r.errors[0]?.field ?? 'body', r.errors[0]?.message ?? 'invalid', r.errors);
    await d.audit.record({ actor: req.user.username, action: 'seats-changed', target: `group:${(req.params as { id: string }).id}` });
    return r;
  });

  app.put('/api/admin/seats/agents/:id', SEATS, async (req) => {
    const r = await d.acd.upsertAgent({ ...bodyOf(req), id: (req.params as { id: string }).id });
    if (!r.ok) throw errors.invalid(r.errors[0]?.field ?? 'body', r.errors[0]?.message ?? 'invalid', r.errors);
    await d.audit.record({ actor: req.user.username, action: 'seats-changed', target: `agent:${(req.params as { id: string }).id}` });
    return r;
  });

  app.delete('/api/admin/seats/agents/:id', SEATS, async (req) => {
    const r = await d.acd.removeAgent((req.params as { id: string }).id);
    if (!r.ok) throw errors.invalid(r.errors[0]?.field ?? 'id', r.errors[0]?.message ?? 'invalid', r.errors);
    await d.audit.record({ actor: req.user.username, action: 'seats-changed', target: `agent:${(req.params as { id: string }).id}`, detail: 'removed' });
    return r;
  });
}
