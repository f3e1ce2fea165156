/**
 * Supervision over HTTP: 督办单 (list, create, respond, close/销号, escalate),
 * the automatic rules on demand, the 红黄蓝榜 of a period and the bulletins
 * (generate on demand, list, download — every download audited as an export).
 * Supervisors (and admins) see everything; a handling unit sees and answers
 * only the orders on itself. Order writes name the `version` they read.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../access/audit.js';
import { dateToDayIndex, shanghaiDateOf } from '../tickets/calendar.js';
import { AppError, bodyOf, errors, oneOf, staleVersion, str, versionOf } from '../http/errors.js';
import * as S from '../http/schemas.js';
import { ORDER_LEVELS, ORDER_STATES, PERIOD_KINDS, periodOf, type OrderAction, type OrderLevel, type PeriodKind, type SupervisionOrder } from './model.js';
import { OrderRefused, type SupervisionService } from './service.js';
import type { SupervisionStore } from './store.js';

export interface SupervisionRouteDeps {
  service: SupervisionService;
  store: SupervisionStore;
  audit: AuditLog;
  now: () => number;
}

const CENTRE = { config: { access: { roles: ['supervisor', 'admin'] } } } as const;
const CENTRE_OR_UNIT = { config: { access: { roles: ['supervisor', 'admin', 'unit'] } } } as const;
const ID_PARAMS = S.params({ id: S.string('督办单编号 / order id') });
const VERSION = S.integer('读取时的版本 / the version you read (409 when changed meanwhile)', { minimum: 0 });

function refusal(e: OrderRefused): AppError {
  return new AppError(e.error.code, e.error.code === 'invalid-input' ? 400 : 409, e.error.message, e.error.field);
}

function dateParam(q: Record<string, unknown>, field: string, now: number): string {
  const v = q[field];
  if (v === undefined || v === '') return shanghaiDateOf(now);
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v) || dateToDayIndex(v) === undefined) throw errors.invalid(field, '须为有效日期 YYYY-MM-DD / must be a real date YYYY-MM-DD');
  return v;
}

const isCentre = (req: FastifyRequest) => req.user.roles.includes('supervisor') || req.user.roles.includes('admin');

export async function supervisionRoutes(app: FastifyInstance, d: SupervisionRouteDeps): Promise<void> {
  const visible = (req: FastifyRequest, o: SupervisionOrder) => isCentre(req) || (!!req.user.unitId && o.target.unit === req.user.unitId);

  app.get(
    '/api/supervision/orders',
    {
      ...CENTRE_OR_UNIT,
      schema: S.route('supervision', '督办单列表（承办单位只见本单位） / supervision orders (a unit sees its own)', {
        querystring: S.query({ state: S.oneOf(ORDER_STATES, '状态 / state'), unit: S.string('承办单位 / unit', 100) }),
      }),
    },
    async (req) => {
      const q = req.query as Record<string, unknown>;
      const state = oneOf(q, 'state', ORDER_STATES, false);
      const unit = isCentre(req) ? str(q, 'unit', { max: 100 }) : req.user.unitId;
      if (!isCentre(req) && !unit) throw errors.forbidden();
      const orders = (await d.store.list()).filter((o) => (!state || o.state === state) && (!unit || o.target.unit === unit) && visible(req, o));
      return { orders, now: d.now() };
    },
  );

  app.get('/api/supervision/orders/:id', { ...CENTRE_OR_UNIT, schema: S.route('supervision', '一张督办单 / one supervision order', { params: ID_PARAMS }) }, async (req) => {
    const o = await d.store.get((req.params as { id: string }).id);
    if (!o || !visible(req, o)) throw errors.notFound('督办单 / order');
    return { order: o };
  });

  app.post(
    '/api/supervision/orders',
    {
      ...CENTRE,
      schema: S.route('supervision', '下发督办单（工单或单位，留痕） / issue a supervision order on a ticket or a unit (audited)', {
        body: S.body(
          {
            ticketNo: S.string('工单号 / ticket number', 30),
            unit: S.string('承办单位（工单督办时默认牵头单位） / unit (for a ticket: its lead unit by default)', 100),
            reason: S.string('督办事由 / reason', 1000),
            workingDays: S.integer('办理时限（工作日） / working days to answer', { minimum: 1, maximum: 30 }),
            level: S.integer('级别 1 督办单、2 分管领导约谈、3 主要领导约谈 / level', { minimum: 1, maximum: 3 }),
          },
          ['reason'],
        ),
      }),
    },
    async (req, reply) => {
      const b = bodyOf(req);
      const ticketNo = str(b, 'ticketNo', { max: 30, pattern: /^\d{8,30}$/, what: '工单号为数字 / digits' });
      const unit = str(b, 'unit', { max: 100 });
      const reason = str(b, 'reason', { required: true, max: 1000 })!;
      const workingDays = b.workingDays === undefined ? undefined : (b.workingDays as number);
      const level = b.level === undefined ? undefined : (b.level as number);
      if (level !== undefined && !ORDER_LEVELS.includes(level as OrderLevel)) throw errors.invalid('level', 'must be 1, 2 or 3');
      try {
        const order = await d.service.createManual({ ...(ticketNo ? { ticketNo } : {}), ...(unit ? { unit } : {}), reason, ...(workingDays ? { workingDays } : {}), ...(level ? { level: level as OrderLevel } : {}) }, req.user.username);
        return reply.code(201).send({ order });
      } catch (err) {
        if (err instanceof OrderRefused) throw refusal(err);
        throw err;
      }
    },
  );

  const actRoute = (name: 'respond' | 'close' | 'escalate', roles: readonly string[], summary: string, fields: Record<string, S.JsonSchema>, required: string[], parse: (b: Record<string, unknown>) => OrderAction) => {
    app.post(
      `/api/supervision/orders/:id/${name}`,
      { config: { access: { roles: roles as never } }, schema: S.route('supervision', summary, { params: ID_PARAMS, body: S.body({ version: VERSION, ...fields }, ['version', ...required]) }) },
      async (req) => {
        const id = (req.params as { id: string }).id;
        const b = bodyOf(req);
        const version = versionOf(b.version);
        const action = parse(b);
        const cur = await d.store.get(id);
        if (!cur || !visible(req, cur)) throw errors.notFound('督办单 / order');
        const who = isCentre(req) ? { by: req.user.username, role: 'supervisor' as const } : { by: req.user.username, role: 'unit' as const, unit: req.user.unitId! };
        try {
          const r = await d.service.act(id, version, action, who);
          if (!r) throw errors.notFound('督办单 / order');
          if ('stale' in r) throw staleVersion(r.stale);
          return { order: r };
        } catch (err) {
          if (err instanceof OrderRefused) throw refusal(err);
          throw err;
        }
      },
    );
  };
  actRoute('respond', ['unit', 'supervisor'], '承办单位反馈办理情况 / the unit answers the order', { text: S.string('办理情况 / what was done', 2000) }, ['text'], (b) => ({ type: 'respond', text: str(b, 'text', { required: true, max: 2000 })! }));
  actRoute('close', ['supervisor'], '销号（留痕） / close the order (audited)', { note: S.string('销号说明 / note', 1000) }, [], (b) => {
    const note = str(b, 'note', { max: 1000 });
    return { type: 'close', ...(note ? { note } : {}) };
  });
  actRoute('escalate', ['supervisor'], '升级督办（留痕） / escalate one level (audited)', { reason: S.string('升级原因 / reason', 1000) }, ['reason'], (b) => ({ type: 'escalate', reason: str(b, 'reason', { required: true, max: 1000 })! }));

  app.post('/api/supervision/evaluate', { ...CENTRE, schema: S.route('supervision', '立即执行自动督办规则（超期、重复投诉、连续低“双率”） / run the automatic rules now') }, async () => d.service.evaluate());

  app.get(
    '/api/supervision/ranking',
    {
      ...CENTRE,
      schema: S.route('supervision', '红黄蓝榜：某日/周/月的单位排名 / the red/yellow/blue ranking of a day, week or month', {
        querystring: S.query({ period: S.oneOf(PERIOD_KINDS, '周期 / day, week or month (default week)'), date: S.string('周期内任一日 YYYY-MM-DD（默认今天） / any date in the period (default today)') }),
      }),
    },
    async (req) => {
      const q = req.query as Record<string, unknown>;
      const kind = (oneOf(q, 'period', PERIOD_KINDS, false) ?? 'week') as PeriodKind;
      const p = periodOf(kind, dateParam(q, 'date', d.now()));
      const k = await d.service.periodKpis(p);
      return { period: { kind, label: p.label, from: p.from, to: p.to }, thresholds: d.service.d.thresholds, ranking: k.ranking, overall: { ...k.overall, answerRate: k.answerRate } };
    },
  );

  app.get('/api/supervision/bulletins', { ...CENTRE, schema: S.route('supervision', '已生成的通报 / the bulletins generated') }, async () => ({ bulletins: await d.store.bulletins() }));

  app.post(
    '/api/supervision/bulletins',
    {
      ...CENTRE,
      schema: S.route('supervision', '立即生成通报（日报/周报/月报，XLSX，留痕） / generate a bulletin now (XLSX, audited)', {
        body: S.body({ kind: S.oneOf(PERIOD_KINDS, '日报 day / 周报 week / 月报 month'), date: S.string('周期内任一日 YYYY-MM-DD / any date in the period') }, ['kind', 'date']),
      }),
    },
    async (req, reply) => {
      const b = bodyOf(req);
      const kind = oneOf(b, 'kind', PERIOD_KINDS)! as PeriodKind;
      const date = dateParam(b, 'date', d.now());
      return reply.code(201).send({ bulletin: await d.service.generateBulletin(kind, date, req.user.username) });
    },
  );

  app.get(
    '/api/supervision/bulletins/:id/file',
    { ...CENTRE, schema: S.route('supervision', '下载通报 XLSX（号码脱敏，留痕） / download a bulletin (numbers masked, audited)', { params: S.params({ id: S.string('通报编号，如 week-2026-03-09 / bulletin id') }) }) },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      if (!/^(day|week|month)-[\d-]{7,10}$/.test(id)) throw errors.invalid('id', '形如 week-2026-03-09 / like week-2026-03-09');
      const f = await d.store.bulletinFile(id);
      if (!f) throw errors.notFound(`通报 ${id} / bulletin ${id}`);
      await d.audit.record({ actor: req.user.username, action: 'bulletin-export', target: `bulletin:${id}`, detail: `${f.meta.fileName} ${f.file.length} bytes`, ip: req.ip });
      return reply
        .type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
        .header('content-disposition', `attachment; filename="${f.meta.fileName}"`)
        .send(f.file);
    },
  );
}
