/**
 * 回访 campaigns over HTTP (supervisors and admins): create one from explicit closed tickets or a
 * rule (closed tickets of a period, all or a sample %), list them with their progress, one
 * campaign's tickets, and pause / resume / cancel naming the `version` read. No route takes or
 * returns a number: calls go to the tickets' stored numbers only.
 */
import type { FastifyInstance } from 'fastify';
import { AppError, bodyOf, errors, oneOf, staleVersion, str, versionOf } from '../http/errors.js';
import * as S from '../http/schemas.js';
import { CampaignInputError, type CampaignInput, type CampaignService } from './service.js';
import { CampaignConflict } from './store.js';

const CENTRE = { config: { access: { roles: ['supervisor', 'admin'] } } } as const;
const ID_PARAMS = S.params({ id: S.string('回访任务编号 / campaign id', 40) });
const ID_RE = /^cmp-[a-z]{4,30}$/;
const CREATE_FIELDS = new Set(['name', 'ticketNos', 'period', 'hours', 'retries', 'retryIntervalSec', 'concurrency', 'lang']);

function intField(b: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const v = b[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw errors.invalid(field, `须为 ${min}–${max} 的整数 / must be a whole number ${min}–${max}`);
  return v;
}

export async function campaignRoutes(app: FastifyInstance, o: { service: CampaignService }): Promise<void> {
  const idOf = (params: unknown) => {
    const id = (params as { id: string }).id;
    if (!ID_RE.test(id)) throw errors.invalid('id', '回访任务编号形如 cmp-abcd / a campaign id looks like cmp-abcd');
    return id;
  };

  app.post(
    '/api/campaigns',
    {
      ...CENTRE,
      schema: S.route('supervision', '新建回访任务：指定已办结工单，或按时段（全部或抽样）；在允许时段内外呼满意度调查（留痕） / start a 回访 campaign over given closed tickets or a period (all or a sample), surveyed by phone within the allowed hours (audited)', {
        body: S.body({
          name: S.string('名称 / name', 100),
          ticketNos: S.array(S.string('工单号 / ticket number', 30), '已办结工单号（与 period 二选一） / closed tickets (or period)'),
          period: S.object('时段规则：收件日期（北京时间，含首尾）与抽样比例 / rule: tickets received between these city dates, sampled', {
            from: S.string('开始日期 YYYY-MM-DD / from', 10),
            to: S.string('结束日期 YYYY-MM-DD / to', 10),
            percent: S.integer('抽样比例 % / sample %', { minimum: 1, maximum: 100 }),
          }, ['from', 'to']),
          hours: S.string('允许外呼时段（北京时间，工作日） / allowed hours, city time, working days: 09:00-12:00,14:00-20:00', 100),
          retries: S.integer('忙/未接重拨次数 / retries on busy or no answer', { minimum: 0, maximum: 10 }),
          retryIntervalSec: S.integer('重拨间隔（秒） / seconds between attempts', { minimum: 1, maximum: 86_400 }),
          concurrency: S.integer('同时外呼数 / calls at once', { minimum: 1, maximum: 200 }),
          lang: S.oneOf(['zh', 'en'], '语音语言 / prompt language'),
        }),
      }),
    },
    async (req, reply) => {
      const b = bodyOf(req);
      // No free-form numbers (nor any field not listed): the calls go to the tickets' stored numbers only.
      const extra = Object.keys(b).find((k) => !CREATE_FIELDS.has(k));
      if (extra !== undefined) throw errors.invalid(extra, '不接受该字段（回访只拨打工单登记的号码） / unknown field: campaigns call the tickets’ stored numbers only');
      const input: CampaignInput = {};
      const name = str(b, 'name', { max: 100 });
      if (name) input.name = name;
      if (b.ticketNos !== undefined) {
        if (!Array.isArray(b.ticketNos)) throw errors.invalid('ticketNos', '须为工单号数组 / must be an array of ticket numbers');
        input.ticketNos = b.ticketNos.map((v, i) => {
          if (typeof v !== 'string') throw errors.invalid(`ticketNos[${i}]`, '须为字符串 / must be a string');
          return v;
        });
        if (input.ticketNos.length > 10_000) throw errors.invalid('ticketNos', '最多 10000 张 / at most 10,000 tickets');
      }
      if (b.period !== undefined) {
        if (typeof b.period !== 'object' || b.period === null || Array.isArray(b.period)) throw errors.invalid('period', '须为对象 {from, to, percent} / must be an object {from, to, percent}');
        const p = b.period as Record<string, unknown>;
        const from = str(p, 'from', { required: true, max: 10 });
        const to = str(p, 'to', { required: true, max: 10 });
        const percent = intField(p, 'percent', 1, 100);
        input.period = { from: from!, to: to!, ...(percent !== undefined ? { percent } : {}) };
      }
      const hours = str(b, 'hours', { max: 100 });
      if (hours) input.hours = hours;
      const retries = intField(b, 'retries', 0, 10);
      if (retries !== undefined) input.retries = retries;
      const interval = intField(b, 'retryIntervalSec', 1, 86_400);
      if (interval !== undefined) input.retryIntervalSec = interval;
      const concurrency = intField(b, 'concurrency', 1, 200);
      if (concurrency !== undefined) input.concurrency = concurrency;
      const lang = oneOf(b, 'lang', ['zh', 'en'] as const, false);
      if (lang) input.lang = lang;
      try {
        const campaign = await o.service.create(input, req.user.username, req.ip);
        return reply.code(201).send({ campaign });
      } catch (err) {
        if (err instanceof CampaignInputError) throw errors.invalid(err.field, err.message);
        throw err;
      }
    },
  );

  app.get('/api/campaigns', { ...CENTRE, schema: S.route('supervision', '回访任务及进度 / campaigns and their progress') }, async () => ({ campaigns: await o.service.list() }));

  app.get('/api/campaigns/:id', { ...CENTRE, schema: S.route('supervision', '一个回访任务：进度与各工单结果（不含号码） / one campaign: progress and each ticket’s attempts (no numbers)', { params: ID_PARAMS }) }, async (req) => {
    const id = idOf(req.params);
    const campaign = await o.service.get(id);
    if (!campaign) throw errors.notFound('回访任务 / campaign');
    return { campaign, items: await o.service.items(id) };
  });

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    const label = { pause: '暂停 / pause', resume: '恢复 / resume', cancel: '取消（未拨打的工单不再拨打） / cancel (tickets not yet called are not called)' }[action];
    app.post(
      `/api/campaigns/:id/${action}`,
      {
        ...CENTRE,
        schema: S.route('supervision', `回访任务${label}（留痕） / audited`, {
          params: ID_PARAMS,
          body: S.body({ version: S.integer('读取时的版本 / the version you read (409 when changed meanwhile)', { minimum: 0 }) }, ['version']),
        }),
      },
      async (req) => {
        const id = idOf(req.params);
        const version = versionOf(bodyOf(req).version);
        try {
          const campaign = await o.service.setStatus(id, action, version, req.user.username, req.ip);
          if (!campaign) throw errors.notFound('回访任务 / campaign');
          return { campaign };
        } catch (err) {
          if (err instanceof CampaignConflict) throw staleVersion(err.current);
          if (err instanceof CampaignInputError) throw new AppError('campaign-state', 409, err.message, err.field);
          throw err;
        }
      },
    );
  }
}
