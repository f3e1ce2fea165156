/**
 * Tickets over HTTP, scoped by role: supervisors and admins see any ticket, an
 * agent only the tickets of calls they took, a handling unit only its own.
 * Caller numbers are always masked here; the full number is the audited reveal.
 *
 * Lifecycle (受理 → 派单 → 签收 → 办理 → 答复 → 回访 → 评价 → 办结, 回退, 延期, 重办):
 * `POST /api/tickets/:ticketNo/<action>` applies the domain's `apply` with the
 * server's clock; refusals come back with the domain's code and the field at
 * fault (409 for rules such as the return window, 400 for bad input); every
 * accepted action is audited.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../../access/audit.js';
import { maskNumber } from '../../access/mask.js';
import { presentRecord } from '../../access/masking.js';
import { hasPermission, type Role } from '../../access/roles.js';
import type { TicketClocks } from '../../tickets/clocks.js';
import type { TicketAction } from '../../tickets/lifecycle.js';
import { TICKET_STATES, type Actor, type Satisfaction, type Ticket, type TicketState } from '../../tickets/model.js';
import { TicketActionError, type TicketService } from '../../tickets/service.js';
import type { StoredTicket, TicketStore } from '../../tickets/store.js';
import { maskTicketNumbers } from '../../tickets/webhook.js';
import { AppError, bodyOf, errors, oneOf, str } from '../errors.js';
import type { SessionUser } from '../plugins/access.js';

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

function unitsField(b: Record<string, unknown>): string[] {
  const v = b.units;
  if (!Array.isArray(v) || v.length === 0) throw errors.invalid('units', '至少一个承办单位 / at least one handling unit');
  v.forEach((u, i) => {
    if (typeof u !== 'string' || !u.trim() || u.length > 100) throw errors.invalid(`units[${i}]`, '必须是单位名称 / must be a unit name');
  });
  return v as string[];
}

/** The latest IVR survey rating on the ticket's calls (callbacks first, newest first). */
function surveyRating(st: StoredTicket): Satisfaction | undefined {
  const calls = [...st.callbacks].reverse().concat(st.record);
  return calls.find((c) => c.survey)?.survey?.rating;
}

type ActionSpec = { roles: readonly Role[]; parse: (b: Record<string, unknown>, user: SessionUser, st: StoredTicket) => TicketAction };

const unitOf = (b: Record<string, unknown>, user: SessionUser) => str(b, 'unit', { max: 100 }) ?? user.unitId ?? (() => { throw errors.invalid('unit', '必填 / is required'); })();

const ACTIONS: Record<string, ActionSpec> = {
  'answer-directly': { roles: ['agent', 'supervisor'], parse: (b) => ({ type: 'answer-directly', answer: str(b, 'answer', { required: true, max: 4000 })! }) },
  dispatch: { roles: ['agent', 'supervisor'], parse: (b) => ({ type: 'dispatch', units: unitsField(b), ...(str(b, 'reason', { max: 500 }) ? { reason: str(b, 'reason')! } : {}) }) },
  accept: { roles: ['unit', 'supervisor'], parse: (b, u) => ({ type: 'accept', unit: unitOf(b, u) }) },
  return: {
    roles: ['unit'],
    parse: (b, u) => ({ type: 'return', unit: unitOf(b, u), reason: str(b, 'reason', { required: true, max: 1000 })!, ...(str(b, 'suggestedUnit', { max: 100 }) ? { suggestedUnit: str(b, 'suggestedUnit')! } : {}) }),
  },
  start: { roles: ['unit', 'supervisor'], parse: (b) => ({ type: 'start', ...(str(b, 'note', { max: 1000 }) ? { note: str(b, 'note')! } : {}) }) },
  reply: { roles: ['unit', 'supervisor'], parse: (b) => ({ type: 'reply', content: str(b, 'content', { required: true, max: 4000 })! }) },
  extend: {
    roles: ['unit', 'supervisor'],
    parse: (b) => ({ type: 'extend', workingDays: int(b, 'workingDays'), reason: str(b, 'reason', { required: true, max: 1000 })!, callerConsent: boolField(b, 'callerConsent', true)! }),
  },
  plan: { roles: ['unit', 'supervisor'], parse: (b) => ({ type: 'plan', naturalDays: int(b, 'naturalDays'), reason: str(b, 'reason', { required: true, max: 1000 })! }) },
  callback: {
    roles: ['agent', 'supervisor'],
    parse: (b) => {
      const resolved = boolField(b, 'resolved', false);
      const note = str(b, 'note', { max: 1000 });
      return { type: 'callback', reached: boolField(b, 'reached', true)!, ...(resolved !== undefined ? { resolved } : {}), ...(note ? { note } : {}) };
    },
  },
  rate: {
    roles: ['agent', 'supervisor'],
    parse: (b, _u, st) => {
      const raw = b.satisfaction;
      let satisfaction: Satisfaction | undefined;
      if (raw === undefined || raw === null) {
        satisfaction = surveyRating(st);
        if (!satisfaction) throw errors.invalid('satisfaction', '必填（本工单的通话没有语音评价） / required: no IVR survey rating on this ticket’s calls');
      } else if (raw === 1 || raw === 2 || raw === 3 || raw === 4) satisfaction = raw;
      else throw errors.invalid('satisfaction', '必须是 1–4 / must be 1 (very satisfied) … 4 (dissatisfied)');
      const resolved = boolField(b, 'resolved', false);
      return { type: 'rate', satisfaction, ...(resolved !== undefined ? { resolved } : {}) };
    },
  },
  reopen: { roles: ['supervisor'], parse: (b) => ({ type: 'reopen', ground: oneOf(b, 'ground', ['dissatisfied', 'not-handled'] as const)!, reason: str(b, 'reason', { required: true, max: 1000 })! }) },
  close: { roles: ['agent', 'supervisor'], parse: (b) => ({ type: 'close', ...(str(b, 'reason', { max: 1000 }) ? { reason: str(b, 'reason')! } : {}) }) },
};

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

  app.get('/api/tickets/:ticketNo', { config: { access: { roles: ['supervisor', 'admin', 'agent', 'unit'] } } }, async (req) => {
    const t = await load(req);
    const flags = opts.clocks ? await opts.clocks.flags(t.ticketNo) : undefined;
    return { ticket: presentTicket(t), ...(flags ? { flags } : {}) };
  });

  // By unit, state, overdue; units are held to their own unit.
  app.get('/api/tickets', { config: { access: { roles: ['supervisor', 'admin', 'unit'] } } }, async (req) => {
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
    app.post(`/api/tickets/:ticketNo/${name}`, { config: { access: { roles: spec.roles } } }, async (req) => {
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
