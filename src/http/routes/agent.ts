/**
 * The agent console's API: the agent's own state, the call they are on (caller
 * masked, legacy line, IVR path, earlier tickets), hand-offs, the ticket form,
 * and a WebSocket of live events for this agent only.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {} from '@fastify/websocket';
import type { Acd } from '../../acd/service.js';
import { maskNumber } from '../../access/mask.js';
import type { CallManager } from '../../calls/manager.js';
import type { CallSession } from '../../calls/session.js';
import { HandoffError, type HandoffKind, type HandoffTarget } from '../../handoff/machine.js';
import type { RoutingTable } from '../../routing/model.js';
import { handoffTarget } from '../../routing/resolve.js';
import { TICKET_CATEGORIES, REQUESTER_KINDS, type TicketForm, type TicketStore } from '../../tickets/store.js';
import { AppError, bodyOf, errors, oneOf, str } from '../errors.js';
import type { ConsoleEvents } from '../events.js';
import * as S from '../schemas.js';

export interface AgentRouteDeps {
  acd: Acd;
  calls: CallManager;
  tickets: TicketStore;
  events: ConsoleEvents;
  routingTable: () => RoutingTable;
  /** The knowledge base: resolves the article references an agent puts on a call's ticket and notes their use. */
  knowledge?: { linkCall(callId: string, refs: unknown): Promise<NonNullable<TicketForm['knowledge']>> };
}

const ACCESS = { config: { access: { permission: 'agent:console' as const } } };

const agentRoute = (summary: string, parts?: Parameters<typeof S.route>[2]) => ({ ...ACCESS, schema: S.route('agent', summary, parts) });

const HANDOFF_KINDS = ['blind', 'consult', 'three-way', 'linkage'] as const;
const HANDOFF_COMMANDS = ['complete', 'merge', 'cancel', 'agent-leave'] as const;

function agentIdOf(req: FastifyRequest): string {
  const id = req.user.agentId;
  if (!id) throw errors.invalid('agentId', '该用户不是座席 / this user is not an agent');
  return id;
}

function currentCall(calls: CallManager, agentId: string): CallSession | undefined {
  return calls.active.find((s) => s.connectedAgentId === agentId);
}

/** The call ringing this agent's softphone now (offered, not yet answered). */
function ringingCall(calls: CallManager, agentId: string): CallSession | undefined {
  return calls.active.find((s) => s.ringingAgentId === agentId && !s.isEnded);
}

/** The ACD's refusal words as the console shows them (zh-CN / English), naming the field. */
const STATE_REFUSALS: Record<string, string> = {
  unregistered: '软电话未注册：请先在“软电话”中注册，再示闲 / the softphone is not registered: register it first, then go available',
  'not-logged-in': '座席未签入 / the agent is not logged in',
  offline: '离线时不能示忙，请先示闲 / cannot pause while offline: go available first',
  'unknown-agent': '座席不存在 / no such agent',
};

export function callView(s: CallSession) {
  const r = s.record;
  return {
    callId: r.callId,
    caller: maskNumber(r.caller.number),
    dialed: r.dialed,
    source: r.source,
    line: r.route ? { id: r.route.id, mode: r.route.mode, number: r.route.line ?? null, skill: r.route.skill ?? null } : null,
    linkageRef: r.linkageRef ?? null,
    ivrPath: r.path.filter((p) => p.kind === 'ivr' || p.kind === 'route' || p.kind === 'queue').map((p) => p.detail),
    handoff: s.handoffPhase,
    startedAt: r.startedAt,
  };
}

/** A hand-off target named by number or route id in the routing table, or a seat-group skill. */
function resolveTarget(table: RoutingTable, raw: string): HandoffTarget {
  if (/^skill:[A-Za-z0-9_-]{1,40}$/.test(raw)) return { label: raw, dial: { kind: 'queue', skill: raw.slice(6) } };
  const found = handoffTarget(table, raw);
  if (!found) throw errors.invalid('target', `路由表中没有可转接的 ${raw} / no hand-off target ${raw} in the routing table`);
  const label = `${found.route.numbers[0] ?? found.route.id} ${found.route.name}`;
  const unit = found.route.unit ? { unit: found.route.unit } : {};
  const t = found.target;
  if (t.kind === 'dial') return { label, dial: { kind: 'dial', dialString: t.dialString }, ...unit };
  if (t.kind === 'queue') return { label, dial: { kind: 'queue', skill: t.group }, ...unit };
  throw errors.invalid('target', `${raw} 指向另一条路由，请直接选择该路由 / points to another route; pick that route`);
}

/** A hand-off request that makes no sense now is a 409 with the machine's code. */
async function asConflict(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof HandoffError) throw errors.conflict(err.code, err.message);
    throw err;
  }
}

export async function agentRoutes(app: FastifyInstance, d: AgentRouteDeps): Promise<void> {
  app.get('/api/agent/state', agentRoute('本座席状态 / this agent’s state'), async (req) => {
    const id = agentIdOf(req);
    const agent = (await d.acd.agents()).find((a) => a.id === id);
    if (!agent) throw errors.notFound(`座席 ${id}`);
    return { agent };
  });

  app.post(
    '/api/agent/state',
    agentRoute('示闲、示忙（须说明原因）、离线 / available, paused (with a reason) or offline', {
      body: S.body({ state: S.oneOf(['available', 'paused', 'offline'], '状态 / state'), reason: S.optional(S.string('示忙原因 / pause reason', 40)) }, ['state']),
    }),
    async (req) => {
      const id = agentIdOf(req);
      const b = bodyOf(req);
      const state = oneOf(b, 'state', ['available', 'paused', 'offline'] as const)!;
      const reason = str(b, 'reason', { max: 40 }) ?? '';
      if (state === 'paused' && !reason) throw errors.invalid('reason', '示忙须说明原因 / a pause needs a reason');
      if (state !== 'offline') await d.acd.login(id);
      const r = state === 'offline' ? await d.acd.logout(id) : await d.acd.setAgentState(id, state, reason);
      if (!r.ok) throw new AppError(`agent-${r.error}`, 409, `state: ${STATE_REFUSALS[r.error] ?? r.error}`, 'state');
      return r;
    },
  );

  app.get('/api/agent/call', agentRoute('当前通话（号码脱敏）及来电人以往工单 / the current call (caller masked) and the caller’s earlier tickets'), async (req) => {
    const id = agentIdOf(req);
    const connected = currentCall(d.calls, id);
    const s = connected ?? ringingCall(d.calls, id);
    if (!s) return { call: null };
    const earlier = await d.tickets.byCaller(s.record.caller.number, 5);
    return { call: { phase: connected ? 'connected' : 'ringing', ...callView(s), earlierTickets: earlier } };
  });

  app.get('/api/agent/handoff-targets', agentRoute('可转接的目标及各自允许的方式（座席组只能盲转） / hand-off targets and the kinds each allows (seat groups: blind only)'), async () => {
    const table = d.routingTable();
    const targets: { target: string; label: string; kinds: readonly string[] }[] = [];
    for (const r of table.routes) {
      if (!('target' in r) || !r.target || r.target.kind === 'route') continue;
      const seatGroup = r.target.kind === 'queue';
      targets.push({ target: r.numbers[0] ?? r.id, label: r.name, kinds: seatGroup ? ['blind'] : HANDOFF_KINDS.filter((k) => k !== 'linkage') });
    }
    for (const g of await d.acd.listGroups()) targets.push({ target: `skill:${g.id}`, label: g.name, kinds: ['blind'] });
    return { targets };
  });

  app.post(
    '/api/agent/call/handoff',
    agentRoute('转接：盲转、咨询、三方、联动 / hand-off: blind, consult, three-way, linkage', {
      body: S.body(
        {
          kind: S.oneOf(HANDOFF_KINDS, '方式 / kind'),
          target: S.string('路由表中的号码或路由编号，或 skill:<技能> / a number or route id of the routing table, or skill:<name>', 60),
        },
        ['kind', 'target'],
      ),
    }),
    async (req) => {
      const s = currentCall(d.calls, agentIdOf(req));
      if (!s) throw errors.conflict('no-call', '当前没有通话 / you are not on a call');
      const b = bodyOf(req);
      const kind = oneOf(b, 'kind', HANDOFF_KINDS)! as HandoffKind;
      const target = resolveTarget(d.routingTable(), str(b, 'target', { required: true, max: 60 })!);
      // A seat group (a sub-centre's seats inside 12345, skill:<name>) has no one to consult before the
      // caller is queued for it: only a blind transfer puts the caller in its queue (the console offers nothing else).
      if (target.dial.kind === 'queue' && kind !== 'blind') {
        throw errors.invalid('kind', `${target.label} 是座席组，只能盲转（转入该组排队） / ${target.label} is a seat group: blind transfer only (the caller queues for it)`);
      }
      await asConflict(() => s.requestHandoff(kind, target));
      return { ok: true, handoff: s.handoffPhase };
    },
  );

  app.post(
    '/api/agent/call/handoff/:command',
    agentRoute('转接进行中的操作 / a step of the hand-off in progress', { params: S.params({ command: S.oneOf(HANDOFF_COMMANDS, '操作 / command') }) }),
    async (req) => {
      const { command } = req.params as { command: string };
      if (!(HANDOFF_COMMANDS as readonly string[]).includes(command)) {
        throw errors.invalid('command', 'complete / merge / cancel / agent-leave');
      }
      const s = currentCall(d.calls, agentIdOf(req)) ?? d.calls.active.find((x) => x.record.agents.at(-1) === req.user.agentId && x.handoffPhase !== 'idle');
      if (!s) throw errors.conflict('no-call', '当前没有通话 / you are not on a call');
      await asConflict(() => s.handoffCommand(command as 'complete' | 'merge' | 'cancel' | 'agent-leave'));
      return { ok: true, handoff: s.handoffPhase };
    },
  );

  app.post(
    '/api/agent/calls/:callId/ticket',
    agentRoute('填写本人接听通话的工单 / the ticket form of a call this agent took', {
      params: S.params({ callId: S.string('通话编号 / call id', 120) }),
      body: S.body(
        {
          category: S.oneOf(TICKET_CATEGORIES, '诉求类别 / category'),
          requesterKind: S.oneOf(REQUESTER_KINDS, '诉求人类型 / requester kind'),
          summary: S.string('诉求内容 / summary', 2000),
          unitSuggestion: S.optional(S.string('建议承办单位 / suggested handling unit', 100)),
          knowledge: S.optional(
            S.array(
              S.object(undefined, { articleId: S.string('知识编号 / article id', 64), helped: S.optional(S.boolean('是否解决了问题（默认是） / whether it answered the question (default true)')) }, ['articleId']),
              '引用的知识库文章（最多 10 条） / knowledge-base articles used (at most 10)',
            ),
          ),
        },
        ['category', 'requesterKind', 'summary'],
      ),
    }),
    async (req) => {
      const { callId } = req.params as { callId: string };
      if (!/^[A-Za-z0-9._-]{1,120}$/.test(callId)) throw errors.invalid('callId', '格式不正确 / malformed');
      const agentId = agentIdOf(req);
      const live = d.calls.session(callId);
      const took = live ? live.record.agents.includes(agentId) : (await d.tickets.agentsOfCall(callId)).includes(agentId);
      if (!took) throw errors.forbidden();
      const b = bodyOf(req);
      const form = {
        category: oneOf(b, 'category', TICKET_CATEGORIES)!,
        requesterKind: oneOf(b, 'requesterKind', REQUESTER_KINDS)!,
        summary: str(b, 'summary', { required: true, max: 2000 })!,
        unitSuggestion: str(b, 'unitSuggestion', { max: 100 }) ?? '',
        ...(d.knowledge && b.knowledge !== undefined && b.knowledge !== null ? { knowledge: await d.knowledge.linkCall(callId, b.knowledge) } : {}),
        by: agentId,
        at: Date.now(),
      };
      await d.tickets.saveForm(callId, form);
      return { ok: true };
    },
  );

  app.get('/api/agent/events', { ...agentRoute('WebSocket：本座席的实时事件（来电弹屏、状态、转接） / WebSocket: live events for this agent (call pop, state, hand-offs)'), websocket: true }, (socket, req) => {
    const agentId = req.user.agentId;
    const off = d.events.subscribe((e) => {
      if (agentId && 'agentId' in e && e.agentId === agentId) socket.send(JSON.stringify(e));
    });
    socket.on('close', off);
  });
}
