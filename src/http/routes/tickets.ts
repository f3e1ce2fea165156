/**
 * Tickets over HTTP, scoped by role: supervisors and admins see any ticket, an
 * agent only the tickets of calls they took, a handling unit only its own.
 * Caller numbers are always masked here; the full number is the audited reveal.
 *
 * Lifecycle (受理 → 派单 → 签收 → 办理 → 答复 → 回访 → 评价 → 办结, 回退, 延期, 重办):
 * `POST /api/tickets/:ticketNo/<action>` applies the domain's `apply` with the
 * server's clock; refusals come back with the domain's code and the field at
 * fault (409 for rules such as the return window, 400 for bad input); every
 * accepted action is audited. Each action's request schema is built from the
 * same field declarations its parser reads ({@link ACTIONS}); the schema checks
 * the shape first, the parser stays the detailed validator.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../../access/audit.js';
import { maskNumber, maskNumbersInText } from '../../access/mask.js';
import { presentRecord } from '../../access/masking.js';
import { hasPermission, type Role } from '../../access/roles.js';
import type { TicketClocks } from '../../tickets/clocks.js';
import { ALLOWED, availableActions, decidedByReview, type TicketAction } from '../../tickets/lifecycle.js';
import { TICKET_STATES, type Actor, type Satisfaction, type Ticket, type TicketState } from '../../tickets/model.js';
import { TicketActionError, type TicketService } from '../../tickets/service.js';
import type { StoredTicket, TicketStore } from '../../tickets/store.js';
import { maskTicketNumbers } from '../../tickets/webhook.js';
import { AppError, bodyOf, errors, oneOf, str } from '../errors.js';
import type { SessionUser } from '../plugins/access.js';
import * as S from '../schemas.js';

export function canReadTicket(user: SessionUser, t: StoredTicket): boolean {
  if (hasPermission(user.roles, 'tickets:any')) return true;
  if (user.roles.includes('agent') && user.agentId && t.record.agents.includes(user.agentId)) return true;
  if (user.roles.includes('unit') && user.unitId && t.units.includes(user.unitId)) return true;
  return false;
}

export function presentDomainTicket(t: Ticket): Ticket {
  return maskTicketNumbers(t);
}

export function presentTicket(t: StoredTicket) {
  return {
    ...t,
    record: presentRecord(t.record),
    callbacks: t.callbacks.map(presentRecord),
    // The agent's form keeps the summary as typed: a number in it is masked like the ticket's own summary.
    ...(t.form ? { form: { ...t.form, summary: maskNumbersInText(t.form.summary) } } : {}),
    ...(t.ticket ? { ticket: presentDomainTicket(t.ticket) } : {}),
  };
}

export interface TicketRouteDeps {
  tickets: TicketStore;
  service?: TicketService;
  clocks?: TicketClocks;
  audit?: AuditLog;
}

const NO_RE = /^\d{8,30}$/;

function ticketNoOf(req: FastifyRequest): string {
  const { ticketNo } = req.params as { ticketNo: string };
  if (!NO_RE.test(ticketNo)) throw errors.invalid('ticketNo', '工单号为数字 / a ticket number is digits');
  return ticketNo;
}

/** Who acts, in the domain's terms (a unit user acts for their unit). */
function actorOf(user: SessionUser, allowed: readonly Role[]): Actor {
  if (user.roles.includes('supervisor') && allowed.includes('supervisor')) return { id: user.username, role: 'supervisor' };
  if (user.roles.includes('unit') && allowed.includes('unit')) {
    if (!user.unitId) throw errors.invalid('unitId', '该用户未关联承办单位 / this user belongs to no handling unit');
    return { id: user.username, role: 'unit', unit: user.unitId };
  }
  return { id: user.agentId ?? user.username, role: 'agent' };
}

function int(b: Record<string, unknown>, field: string): number {
  const v = b[field];
  if (v === undefined || v === null || v === '') throw errors.invalid(field, '必填 / is required');
  if (typeof v !== 'number' || !Number.isInteger(v)) throw errors.invalid(field, '必须是整数 / must be a whole number');
  return v;
}

function boolField(b: Record<string, unknown>, field: string, required: boolean): boolean | undefined {
  const v = b[field];
  if (v === undefined || v === null) {
    if (required) throw errors.invalid(field, '必填 / is required');
    return undefined;
  }
  if (typeof v !== 'boolean') throw errors.invalid(field, '必须是 true 或 false / must be true or false');
  return v;
}

function unitsField(b: Record<string, unknown>, field: string): string[] {
  const v = b[field];
  if (!Array.isArray(v) || v.length === 0) throw errors.invalid(field, '至少一个承办单位 / at least one handling unit');
  v.forEach((u, i) => {
    if (typeof u !== 'string' || !u.trim() || u.length > 100) throw errors.invalid(`${field}[${i}]`, '必须是单位名称 / must be a unit name');
  });
  return v as string[];
}

function ratingField(b: Record<string, unknown>, field: string): Satisfaction | undefined {
  const raw = b[field];
  if (raw === undefined || raw === null) return undefined;
  if (raw === 1 || raw === 2 || raw === 3 || raw === 4) return raw;
  throw errors.invalid(field, '必须是 1–4 / must be 1 (very satisfied) … 4 (dissatisfied)');
}

/** The latest IVR survey rating on the ticket's calls (callbacks first, newest first). */
function surveyRating(st: StoredTicket): Satisfaction | undefined {
  const calls = [...st.callbacks].reverse().concat(st.record);
  return calls.find((c) => c.survey)?.survey?.rating;
}

// ---- the actions' bodies: each field declared once, for the request schema and for the parser ----

/**
 * One body field of an action: its property in the request schema (and the
 * OpenAPI document) and the reader that checks it in the route's own words.
 * Both come from one declaration, so the schema and the parser cannot drift:
 * a parser reads only the fields its action declares, with the declared
 * limits, and a required field is required by both.
 */
interface BodyField<V, R extends boolean> {
  required: R;
  schema: S.JsonSchema;
  read(b: Record<string, unknown>, name: string): V | undefined;
}

type Fields = Record<string, BodyField<unknown, boolean>>;

/** A declared field's value as its parser sees it (never undefined when the field is required). */
type Reader<F extends Fields> = <K extends keyof F & string>(name: K) => F[K] extends BodyField<infer V, infer R> ? (R extends true ? V : V | undefined) : never;

/** Text, `null` and `''` read as absent (the schema allows `null` unless required). */
function text(description: string, max: number): BodyField<string, false>;
function text(description: string, max: number, required: true): BodyField<string, true>;
function text(description: string, max: number, required = false): BodyField<string, boolean> {
  const schema = S.string(description, max);
  return { required, schema: required ? schema : S.optional(schema), read: (b, name) => str(b, name, { required, max }) };
}

/** A whole number, always required. */
function wholeNumber(description: string): BodyField<number, true> {
  return { required: true, schema: S.integer(description), read: int };
}

function flag(description: string): BodyField<boolean, false>;
function flag(description: string, required: true): BodyField<boolean, true>;
function flag(description: string, required = false): BodyField<boolean, boolean> {
  const schema = S.boolean(description);
  return { required, schema: required ? schema : S.optional(schema), read: (b, name) => boolField(b, name, required) };
}

function unitList(description: string): BodyField<string[], true> {
  return { required: true, schema: S.array(S.string(undefined, 100), description), read: unitsField };
}

function choice<V extends string>(values: readonly V[], description: string): BodyField<V, true> {
  return { required: true, schema: S.oneOf(values, description), read: (b, name) => oneOf(b, name, values) };
}

/** 1 very satisfied … 4 dissatisfied; optional (the parser may fall back to the caller's survey rating). */
function rating(description: string): BodyField<Satisfaction, false> {
  return { required: false, schema: S.optional(S.integer(description, { minimum: 1, maximum: 4 })), read: ratingField };
}

/** One `POST /api/tickets/:ticketNo/<action>` route: who may call it, its summary, its body schema and its parser. */
interface ActionSpec {
  roles: readonly Role[];
  summary: string;
  /** Built from the same fields {@link ActionSpec.parse} reads. */
  body: S.JsonSchema;
  parse: (b: Record<string, unknown>, user: SessionUser, st: StoredTicket) => TicketAction;
}

function action<F extends Fields>(roles: readonly Role[], summary: string, fields: F, parse: (read: Reader<F>, user: SessionUser, st: StoredTicket) => TicketAction): ActionSpec {
  const names = Object.keys(fields);
  const body = S.body(
    Object.fromEntries(names.map((n) => [n, fields[n]!.schema])),
    names.filter((n) => fields[n]!.required),
  );
  return { roles, summary, body, parse: (b, user, st) => parse(((name: string) => fields[name]!.read(b, name)) as Reader<F>, user, st) };
}

const UNIT = text('承办单位，默认为本用户所属单位 / handling unit (default: the user’s own)', 100);
const unitOf = (unit: string | undefined, user: SessionUser) => unit ?? user.unitId ?? (() => { throw errors.invalid('unit', '必填 / is required'); })();

const ACTIONS: Record<string, ActionSpec> = {
  'answer-directly': action(['agent', 'supervisor'], '直办：座席在通话中已答复，不派单 / answer directly: answered on the call, no unit', { answer: text('答复内容 / the answer given', 4000, true) }, (f) => ({
    type: 'answer-directly',
    answer: f('answer'),
  })),
  dispatch: action(
    ['agent', 'supervisor'],
    '派单（首次、回退后或研判后） / dispatch to handling units (first time, after a return or after review)',
    { units: unitList('承办单位 / handling units'), reason: text('派单说明 / reason', 500) },
    (f) => {
      const units = f('units');
      const reason = f('reason');
      return { type: 'dispatch', units, ...(reason ? { reason } : {}) };
    },
  ),
  accept: action(['unit', 'supervisor'], '签收 / accept (a handling unit)', { unit: UNIT }, (f, u) => ({ type: 'accept', unit: unitOf(f('unit'), u) })),
  return: action(
    ['unit'],
    '回退（派单后 1 个工作日内） / return (within 1 working day of dispatch)',
    { unit: UNIT, reason: text('回退原因 / reason', 1000, true), suggestedUnit: text('建议承办单位 / suggested unit', 100) },
    (f, u) => {
      const unit = unitOf(f('unit'), u);
      const reason = f('reason');
      const suggestedUnit = f('suggestedUnit');
      return { type: 'return', unit, reason, ...(suggestedUnit ? { suggestedUnit } : {}) };
    },
  ),
  start: action(['unit', 'supervisor'], '开始办理（已联系来电人） / start handling (the caller was contacted)', { note: text('办理说明 / note', 1000) }, (f) => {
    const note = f('note');
    return { type: 'start', ...(note ? { note } : {}) };
  }),
  reply: action(['unit', 'supervisor'], '答复：办理完毕并答复来电人 / reply: handled, and the caller answered', { content: text('答复内容 / the reply', 4000, true) }, (f) => ({
    type: 'reply',
    content: f('content'),
  })),
  extend: action(
    ['unit', 'supervisor'],
    '延期（须来电人同意，累计最多 10 个工作日） / extend (with the caller’s consent, at most 10 working days in total)',
    { workingDays: wholeNumber('延长的工作日数 / working days added'), reason: text('延期原因 / reason', 1000, true), callerConsent: flag('来电人已同意 / the caller agreed', true) },
    (f) => {
      const workingDays = f('workingDays');
      const reason = f('reason');
      return { type: 'extend', workingDays, reason, callerConsent: f('callerConsent') };
    },
  ),
  plan: action(
    ['unit', 'supervisor'],
    '列入计划（按自然日办理） / plan: handled over natural days',
    { naturalDays: wholeNumber('计划自然日数 / natural days planned'), reason: text('原因 / reason', 1000, true) },
    (f) => {
      const naturalDays = f('naturalDays');
      return { type: 'plan', naturalDays, reason: f('reason') };
    },
  ),
  callback: action(
    ['agent', 'supervisor'],
    '回访来电人 / call the caller back',
    { reached: flag('是否联系上 / whether the caller was reached', true), resolved: flag('问题是否解决 / whether it was resolved'), note: text('回访记录 / note', 1000) },
    (f) => {
      const resolved = f('resolved');
      const note = f('note');
      return { type: 'callback', reached: f('reached'), ...(resolved !== undefined ? { resolved } : {}), ...(note ? { note } : {}) };
    },
  ),
  rate: action(
    ['agent', 'supervisor'],
    '评价（缺省取来电的语音评价） / rate the handling (default: the caller’s IVR survey rating)',
    { satisfaction: rating('1 非常满意 … 4 不满意 / 1 very satisfied … 4 dissatisfied'), resolved: flag('问题是否解决 / whether it was resolved') },
    (f, _u, st) => {
      const satisfaction = f('satisfaction') ?? surveyRating(st);
      if (!satisfaction) throw errors.invalid('satisfaction', '必填（本工单的通话没有语音评价） / required: no IVR survey rating on this ticket’s calls');
      const resolved = f('resolved');
      return { type: 'rate', satisfaction, ...(resolved !== undefined ? { resolved } : {}) };
    },
  ),
  reopen: action(
    ['supervisor'],
    '重办 / reopen',
    { ground: choice(['dissatisfied', 'not-handled'] as const, '重办依据 / ground: dissatisfied or not handled'), reason: text('重办原因 / reason', 1000, true) },
    (f) => {
      const ground = f('ground');
      return { type: 'reopen', ground, reason: f('reason') };
    },
  ),
  'approve-reply': action(['supervisor'], '审核通过：答复发送来电人及上级平台 / review: approve the unit’s reply (it goes to the caller and upstream)', { note: text('审核意见 / note', 1000) }, (f) => {
    const note = f('note');
    return { type: 'approve-reply', ...(note ? { note } : {}) };
  }),
  'refuse-reply': action(['supervisor'], '审核退回：提出修改意见，退回承办单位重新办理 / review: refuse the reply, back to the unit with the changes asked for', { reason: text('修改意见 / the changes asked for', 1000, true) }, (f) => ({
    type: 'refuse-reply',
    reason: f('reason'),
  })),
  close: action(['agent', 'supervisor'], '办结 / close', { reason: text('办结说明 / reason', 1000) }, (f) => {
    const reason = f('reason');
    return { type: 'close', ...(reason ? { reason } : {}) };
  }),
};

const TICKET_PARAMS = S.params({ ticketNo: S.string('工单号（数字） / ticket number (digits)') });

const ONE_SCHEMA = S.route('tickets', '一张工单（号码脱敏）及其超时标记 / one ticket (numbers masked) and its overdue flags', { params: TICKET_PARAMS });

const LIST_SCHEMA = S.route('tickets', '按单位、状态、超时筛选工单（号码脱敏；承办单位只见本单位） / tickets by unit, state, overdue (numbers masked; a unit sees its own only)', {
  querystring: S.query({
    unit: S.string('承办单位（承办单位用户固定为本单位） / handling unit (a unit user always gets their own)', 100),
    state: S.oneOf(TICKET_STATES, '工单状态 / ticket state'),
    overdue: S.string('true 或 1：仅超时工单 / true or 1: overdue tickets only'),
    limit: S.string('最多条数，1-500，默认 100 / at most this many, 1-500 (default 100)'),
  }),
});

/**
 * The lifecycle actions `user` may take on `t` now: those the ticket accepts
 * (lifecycle's {@link availableActions}) whose route lets one of the user's
 * roles in, each with the role the user acts as (see {@link actorOf}).
 */
export function offeredActions(user: SessionUser, t: Ticket): { action: string; as: Role }[] {
  const available = new Set<string>(availableActions(t));
  return Object.entries(ACTIONS).flatMap(([action, spec]) => {
    if (!available.has(action)) return [];
    const as = (['supervisor', 'unit', 'agent'] as const).find((r) => user.roles.includes(r) && spec.roles.includes(r));
    return as ? [{ action, as }] : [];
  });
}

/** The domain's refusal as an API error: bad input 400, a rule of the lifecycle 409; the field named without the `action.` path. */
function toAppError(e: TicketActionError): AppError {
  const field = e.error.field?.startsWith('action.') ? e.error.field.slice(7) : e.error.field === 'ctx.now' ? undefined : e.error.field;
  const message = e.error.field?.startsWith('action.') ? e.error.message.replace(/^action\./, '') : e.error.message.replace(/^ctx\.now: /, '');
  return new AppError(e.error.code, e.error.code === 'invalid-input' ? 400 : 409, message, field);
}

export async function ticketRoutes(app: FastifyInstance, opts: TicketRouteDeps): Promise<void> {
  const load = async (req: FastifyRequest) => {
    const no = ticketNoOf(req);
    const t = await opts.tickets.get(no);
    if (!t) throw errors.notFound(`工单 ${no}`);
    if (!canReadTicket(req.user, t)) throw errors.forbidden();
    return t;
  };

  app.get('/api/tickets/:ticketNo', { config: { access: { roles: ['supervisor', 'admin', 'agent', 'unit'] } }, schema: ONE_SCHEMA }, async (req) => {
    const t = await load(req);
    const flags = opts.clocks ? await opts.clocks.flags(t.ticketNo) : undefined;
    return {
      ticket: presentTicket(t),
      ...(flags ? { flags } : {}),
      // What this user may do with the ticket now, so that consoles offer no more than the server accepts.
      actions: t.ticket ? offeredActions(req.user, t.ticket) : [],
      returnClosedByReview: !!t.ticket && decidedByReview(t.ticket) && ALLOWED[t.ticket.state].includes('return'),
    };
  });

  // By unit, state, overdue; units are held to their own unit.
  app.get('/api/tickets', { config: { access: { roles: ['supervisor', 'admin', 'unit'] } }, schema: LIST_SCHEMA }, async (req) => {
    const q = req.query as Record<string, unknown>;
    const user = req.user;
    const any = hasPermission(user.roles, 'tickets:any');
    const unit = any ? str(q, 'unit', { max: 100 }) : user.unitId;
    if (!any && !unit) throw errors.forbidden();
    const state = oneOf(q, 'state', TICKET_STATES, false) as TicketState | undefined;
    const overdue = q.overdue === 'true' || q.overdue === '1';
    const limit = Math.min(500, Math.max(1, Number(q.limit ?? 100) || 100));
    const overdueSet = overdue && opts.clocks ? new Set(await opts.clocks.overdue()) : undefined;
    const nos = await opts.tickets.list({ ...(unit ? { unit } : {}), limit: 2000 });
    const out = [];
    for (const no of nos) {
      if (out.length >= limit) break;
      if (overdueSet && !overdueSet.has(no)) continue;
      const t = await opts.tickets.get(no);
      if (!t?.ticket) continue;
      if (unit && !t.ticket.units.includes(unit)) continue;
      if (state && t.ticket.state !== state) continue;
      out.push({
        ticketNo: no,
        state: t.ticket.state,
        category: t.ticket.category,
        units: t.ticket.units,
        receivedAt: t.ticket.receivedAt,
        finishBy: t.ticket.deadlines?.finishBy ?? null,
        caller: maskNumber(t.ticket.callerNumber),
      });
    }
    return { tickets: out };
  });

  const service = opts.service;
  if (!service) return;
  for (const [name, spec] of Object.entries(ACTIONS)) {
    const schema = S.route('tickets', spec.summary, { params: TICKET_PARAMS, body: spec.body });
    app.post(`/api/tickets/:ticketNo/${name}`, { config: { access: { roles: spec.roles } }, schema }, async (req) => {
      const st = await load(req);
      if (!st.ticket) throw errors.conflict('ticket-not-ready', '工单尚在生成中，请稍后 / the ticket is still being created, retry shortly');
      const action = spec.parse(bodyOf(req), req.user, st);
      const actor = actorOf(req.user, spec.roles);
      let res;
      try {
        res = await service.act(st.ticketNo, action, actor);
      } catch (err) {
        if (err instanceof TicketActionError) throw toAppError(err);
        throw err;
      }
      const b = bodyOf(req);
      const why = ['reason', 'note', 'content', 'answer'].map((f) => b[f]).find((v) => typeof v === 'string') as string | undefined;
      await opts.audit?.record({ actor: req.user.username, action: `ticket-${name}`, target: `ticket:${st.ticketNo}`, detail: `${res!.ticket.state}${why ? `: ${why.slice(0, 200)}` : ''}`, ip: req.ip });
      return { ticket: presentTicket(res!) };
    });
  }
}
