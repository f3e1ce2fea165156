/**
 * Quality inspection over HTTP: forms, sampling, inspectors' scores and the
 * roll-ups shown on the supervisor page (`GET /api/quality/summary`).
 */
import type { FastifyInstance } from 'fastify';
import { maskNumbersInText } from '../../access/mask-numbers.js';
import { presentRecord } from '../../access/mask-for-role.js';
import { QualityError, type QualityService, type TrendBucket, type TrendBy } from '../../recording/quality.js';
import type { RecordingAudit } from '../../recording/service.js';
import type { StoredTicket } from '../../tickets/store.js';
import { AppError, bodyOf, errors, oneOf, str } from '../errors.js';
import * as S from '../schemas.js';

/**
 * What an inspector sees of a sampled call besides its recordings: the call
 * (caller masked) and the ticket the agent wrote (summary masked), so that
 * 工单质量 can be judged. Never a full number.
 */
export interface QualityCallInfo {
  /** Masked, e.g. 138****5678. */
  caller: string;
  dialed: string;
  route?: { id: string; mode: string; line?: string; skill?: string };
  startedAt: number;
  agentAnsweredAt?: number;
  endedAt?: number;
  endedBy?: string;
  agents: string[];
  handoffs: number;
  /** The caller's survey rating (1 very satisfied … 4 dissatisfied). */
  survey?: number;
  ticket?: { ticketNo: string; status: string; category?: string; requesterKind?: string; summary?: string; units: string[] };
}

export interface QualityRoutesOptions {
  quality: QualityService;
  audit: RecordingAudit;
  /** The call and ticket of a sampled call (bound to the ticket store by the composition root). */
  callInfo?: (callId: string) => Promise<QualityCallInfo | undefined>;
  /** Target average score drawn on the trend (QUALITY_TARGET_SCORE). */
  targetScore?: number;
}

/** {@link QualityRoutesOptions.callInfo} over the ticket store: masked as for any role without the full number. */
export function callInfoFromTickets(tickets: { byCall(callId: string): Promise<string | undefined>; get(ticketNo: string): Promise<StoredTicket | undefined> }) {
  return async (callId: string): Promise<QualityCallInfo | undefined> => {
    const no = await tickets.byCall(callId);
    const t = no ? await tickets.get(no) : undefined;
    if (!t) return undefined;
    const r = presentRecord(t.record);
    const summary = t.ticket?.summary ?? t.form?.summary;
    return {
      caller: r.caller.number,
      dialed: r.dialed,
      ...(r.route ? { route: r.route } : {}),
      startedAt: r.startedAt,
      ...(r.agentAnsweredAt !== undefined ? { agentAnsweredAt: r.agentAnsweredAt } : {}),
      ...(r.endedAt !== undefined ? { endedAt: r.endedAt } : {}),
      ...(r.endedBy ? { endedBy: r.endedBy } : {}),
      agents: r.agents,
      handoffs: r.handoffs.length,
      ...(r.survey ? { survey: r.survey.rating } : {}),
      ticket: {
        ticketNo: t.ticketNo,
        status: t.ticket?.state ?? t.status,
        ...((t.ticket?.category ?? t.form?.category) ? { category: t.ticket?.category ?? t.form?.category } : {}),
        ...((t.ticket?.requesterKind ?? t.form?.requesterKind) ? { requesterKind: t.ticket?.requesterKind ?? t.form?.requesterKind } : {}),
        ...(summary ? { summary: maskNumbersInText(summary) } : {}),
        units: t.ticket?.units ?? t.units,
      },
    };
  };
}

const CALL_ID = /^[A-Za-z0-9._-]{1,120}$/;

/** Epoch milliseconds as the route reads them (`ms`): a whole number, or its digits as a string. */
const epochMs = (description: string) => S.anyOf([S.integer(undefined, { minimum: 0 }), S.string()], description);
/** In a query every value is a string (as sent): the digits. */
const epochMsQuery = (zh: string, en: string) => S.string(`${zh}（毫秒时间戳） / ${en} (epoch ms)`);

/** A form as PUT: shapes only; ids, lengths, ranges, duplicates and the weights' sum are validateForm's (every error named). */
const FORM_BODY = S.body(
  {
    id: S.string('质检表编号，须与路径一致 / form id, the same as in the path'),
    name: S.string('名称 / name', 80),
    items: S.array(
      S.object(
        '评分项 / one item',
        {
          id: S.string('评分项编号（小写字母、数字、-） / item id (lower-case letters, digits, dashes)'),
          label: S.string('名称 / label', 60),
          weight: S.number('权重（百分比，合计 100） / weight in percent (the weights add up to 100)'),
          maxScore: S.integer('满分 / highest score'),
        },
        ['id', 'label', 'weight', 'maxScore'],
      ),
      '评分项（1-20 个） / the items (1-20)',
    ),
  },
  ['name', 'items'],
);

const schemas = {
  forms: S.route('quality', '质检表 / the inspection forms'),
  saveForm: S.route('quality', '新建或替换质检表（留痕） / create or replace an inspection form (audited)', {
    params: S.params({ id: S.string('质检表编号 / form id') }),
    body: FORM_BODY,
  }),
  sampling: S.route('quality', '抽检某期间的通话（默认前一天，可重复执行） / sample the calls of a period (default: the previous day; repeatable)', {
    body: S.body({
      from: epochMs('起始（毫秒时间戳，含），须与 to 同时给出 / start, epoch ms (inclusive), given with to'),
      to: epochMs('截止（毫秒时间戳，不含） / end, epoch ms (exclusive)'),
      ratePercent: S.number('每名座席随机抽取的比例 0-100 / random share of each agent’s calls, 0-100', { minimum: 0, maximum: 100 }),
    }),
  }),
  samples: S.route('quality', '抽检通话列表（可按期间、座席、待评筛选） / the sampled calls (by period, agent, pending)', {
    querystring: S.query({
      from: epochMsQuery('通话时间起', 'calls from'),
      to: epochMsQuery('通话时间止（不含）', 'calls until (exclusive)'),
      agentId: S.string('座席工号 / agent id', 40),
      pending: S.string('1 或 true：仅待评 / 1 or true: not inspected yet only'),
    }),
  }),
  sample: S.route('quality', '一个抽检通话：抽样、已有评分、通话与工单（号码脱敏） / one sampled call: the sample, its score so far, the call and its ticket (numbers masked)', {
    params: S.params({ callId: S.string('通话编号 / call id') }),
  }),
  inspect: S.route('quality', '提交评分（再次提交即替换，留痕） / score a sampled call (a new score replaces the old; audited)', {
    body: S.body(
      {
        callId: S.string('通话编号 / call id', 120),
        formId: S.optional(S.string('质检表，默认 standard / form (default standard)', 40)),
        scores: {
          type: 'object',
          additionalProperties: S.optional(S.number()),
          description: '评分项 → 分数（0 至该项满分，每项必填） / item → score (0 to the item’s highest score; every item)',
        },
        comment: S.optional(S.string('评语 / comment', 500)),
      },
      ['callId', 'scores'],
    ),
  }),
  trend: S.route('quality', '质检得分趋势：按日或周、座席或座席组的平均分及目标分 / score trend: average per day or week and agent or seat group, with the target', {
    querystring: S.query({
      bucket: S.oneOf(['week', 'day'], '按周（周一起，北京时间）或按日，默认按周 / by week (from Monday, city time) or day; default week'),
      by: S.oneOf(['group', 'agent'], '按座席组或座席，默认座席组 / per seat group or agent; default group'),
      from: epochMsQuery('通话时间起（默认：按周 8 周前，按日 14 天前）', 'calls from (default: 8 weeks or 14 days back)'),
      to: epochMsQuery('通话时间止（不含，默认现在）', 'calls until (exclusive; default now)'),
    }),
  }),
  summary: S.route('quality', '质检汇总：按座席、座席组 / quality roll-up by agent and seat group', {
    querystring: S.query({ from: epochMsQuery('通话时间起', 'calls from'), to: epochMsQuery('通话时间止（不含）', 'calls until (exclusive)') }),
  }),
};

function toAppError(err: unknown): unknown {
  if (!(err instanceof QualityError)) return err;
  if (err.code === 'not-found') return new AppError('not-found', 404, err.message);
  if (err.code === 'conflict') return new AppError('conflict', 409, err.message);
  const first = err.errors[0];
  return errors.invalid(first?.field ?? 'body', first ? `${first.message}` : err.message, err.errors);
}

function ms(q: Record<string, unknown>, field: string): number | undefined {
  const v = q[field];
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) throw errors.invalid(field, '必须是毫秒时间戳 / must be epoch milliseconds');
  return Number(v);
}

export async function qualityRoutes(app: FastifyInstance, o: QualityRoutesOptions): Promise<void> {
  const q = o.quality;

  app.get('/api/quality/forms', { config: { access: { permission: 'quality:score' } }, schema: schemas.forms }, async () => ({ forms: await q.forms() }));

  app.put('/api/quality/forms/:id', { config: { access: { roles: ['supervisor', 'admin'] } }, schema: schemas.saveForm }, async (req) => {
    const { id } = req.params as { id: string };
    const body = bodyOf(req);
    if (body.id !== undefined && body.id !== id) throw errors.invalid('id', '与路径不一致 / must match the path');
    try {
      const form = await q.saveForm({ ...body, id });
      await o.audit.record({ actor: req.user.username, action: 'quality-form-changed', target: `quality-form:${form.id}`, detail: form.items.map((i) => `${i.id}=${i.weight}%/${i.maxScore}`).join(' '), ip: req.ip });
      return { form };
    } catch (err) {
      throw toAppError(err);
    }
  });

  app.post('/api/quality/sampling', { config: { access: { roles: ['supervisor'] } }, schema: schemas.sampling }, async (req) => {
    const b = bodyOf(req);
    const from = ms(b, 'from');
    const to = ms(b, 'to');
    if ((from === undefined) !== (to === undefined)) throw errors.invalid(from === undefined ? 'from' : 'to', '须同时给出 from 与 to / give both from and to');
    if (from !== undefined && to! <= from) throw errors.invalid('to', '须晚于 from / must be after from');
    const rate = b.ratePercent;
    if (rate !== undefined && (typeof rate !== 'number' || !(rate >= 0 && rate <= 100))) throw errors.invalid('ratePercent', '须为 0-100 / must be 0-100');
    const r = await q.runSampling({ ...(from !== undefined ? { from, to: to! } : {}), ...(typeof rate === 'number' ? { ratePercent: rate } : {}) });
    await o.audit.record({ actor: req.user.username, action: 'quality-sampled', detail: `${r.from}-${r.to}: ${r.samples.length} picked, ${r.added} new`, ip: req.ip });
    return r;
  });

  app.get('/api/quality/samples', { config: { access: { permission: 'quality:score' } }, schema: schemas.samples }, async (req) => {
    const query = (req.query ?? {}) as Record<string, unknown>;
    const from = ms(query, 'from');
    const to = ms(query, 'to');
    const agentId = str(query, 'agentId', { max: 40, pattern: /^[A-Za-z0-9_-]+$/, what: 'an agent id' });
    const list = await q.samples({ ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), ...(agentId ? { agentId } : {}), pending: query.pending === '1' || query.pending === 'true' });
    // A scored call shows its total in the inspectors' list.
    return { samples: await Promise.all(list.map(async (s) => (s.inspected ? { ...s, total: (await q.inspection(s.callId))?.total ?? null } : s))) };
  });

  // One sampled call as the inspector opens it: the sample, the score given so far (a new one replaces it), the call and its ticket.
  app.get('/api/quality/samples/:callId', { config: { access: { permission: 'quality:score' } }, schema: schemas.sample }, async (req, reply) => {
    const { callId } = req.params as { callId: string };
    if (!CALL_ID.test(callId)) throw errors.invalid('callId', '不是通话编号 / not a call id');
    const sample = await q.sample(callId);
    if (!sample) throw errors.notFound(`抽检通话 ${callId}`);
    const [inspection, call] = await Promise.all([
      q.inspection(callId),
      o.callInfo ? o.callInfo(callId).catch((err: Error) => {
        req.log.warn({ err: err.message, callId }, 'call of a sample not loaded');
        return undefined;
      }) : undefined,
    ]);
    void reply.header('cache-control', 'no-store');
    return { sample, inspection: inspection ?? null, call: call ?? null };
  });

  app.post('/api/quality/inspections', { config: { access: { permission: 'quality:score' } }, schema: schemas.inspect }, async (req, reply) => {
    const b = bodyOf(req);
    const callId = str(b, 'callId', { required: true, max: 120, pattern: /^[A-Za-z0-9._-]+$/, what: 'a call id' })!;
    const formId = str(b, 'formId', { max: 40 });
    const comment = str(b, 'comment', { max: 500 });
    try {
      const inspection = await q.submit({ callId, scores: b.scores, inspector: req.user.username, ...(formId ? { formId } : {}), ...(comment ? { comment } : {}) });
      await o.audit.record({ actor: req.user.username, action: 'quality-scored', target: `call:${callId}`, detail: `agent ${inspection.agentId} total ${inspection.total}`, ip: req.ip });
      return reply.code(201).send({ inspection });
    } catch (err) {
      throw toAppError(err);
    }
  });

  // At most this many buckets in one trend: a year of weeks, a quarter of days.
  const MAX_BUCKETS: Record<TrendBucket, number> = { week: 53, day: 92 };
  app.get('/api/quality/trend', { config: { access: { roles: ['supervisor', 'admin', 'inspector'] } }, schema: schemas.trend }, async (req) => {
    const query = (req.query ?? {}) as Record<string, unknown>;
    const bucket: TrendBucket = oneOf(query, 'bucket', ['week', 'day'] as const, false) ?? 'week';
    const by: TrendBy = oneOf(query, 'by', ['group', 'agent'] as const, false) ?? 'group';
    const to = ms(query, 'to') ?? Date.now();
    const from = ms(query, 'from') ?? to - (bucket === 'week' ? 8 * 7 : 14) * 86_400_000;
    if (from >= to) throw errors.invalid('from', '须早于 to / must be before to');
    const span = Math.ceil((to - from) / ((bucket === 'week' ? 7 : 1) * 86_400_000));
    if (span > MAX_BUCKETS[bucket]) throw errors.invalid('from', `期间过长：最多 ${MAX_BUCKETS[bucket]} 个${bucket === 'week' ? '周' : '日'} / the period is too long: at most ${MAX_BUCKETS[bucket]} ${bucket === 'week' ? 'weeks' : 'days'}`);
    return { from, to, target: o.targetScore ?? 90, ...(await q.trend({ from, to, bucket, by })) };
  });

  app.get('/api/quality/summary', { config: { access: { roles: ['supervisor', 'admin', 'inspector'] } }, schema: schemas.summary }, async (req) => {
    const query = (req.query ?? {}) as Record<string, unknown>;
    const from = ms(query, 'from');
    const to = ms(query, 'to');
    return { from: from ?? null, to: to ?? null, ...(await q.summary(from, to)) };
  });
}
