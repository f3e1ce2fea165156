/**
 * Supervision over the stores: KPIs of a period from the stored tickets,
 * the automatic 督办 rules applied once per key, the orders' own escalation,
 * the ranking and the bulletins. The rules are model.ts's; this file reads,
 * writes and audits.
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../access/audit.js';
import { shanghaiDateOf, type WorkCalendar } from '../tickets/calendar.js';
import type { TicketClocks } from '../tickets/clocks.js';
import { callKpis, ticketKpis, ticketKpisByUnit, type KpiCall, type Period, type Rate, type TicketKpis } from '../tickets/kpi.js';
import type { Ticket } from '../tickets/model.js';
import type { TicketStore } from '../tickets/store.js';
import { bulletinXlsx, PERIOD_NAMES, type OverdueRow } from './bulletin.js';
import {
  applyOrder,
  lastFullPeriod,
  lastFullWeeks,
  newOrder,
  orderIntents,
  overdueOrders,
  periodOf,
  rankUnits,
  type NamedPeriod,
  type OrderAction,
  type OrderContext,
  type OrderLevel,
  type OrderResult,
  type OrderTarget,
  type PeriodKind,
  type RankingRow,
  type SupervisionOrder,
  type SupervisionThresholds,
} from './model.js';
import type { BulletinMeta, SupervisionStore } from './store.js';

export interface SupervisionServiceDeps {
  store: SupervisionStore;
  tickets: TicketStore;
  clocks?: TicketClocks;
  calendar: WorkCalendar;
  audit: AuditLog;
  log: Logger;
  now: () => number;
  thresholds: SupervisionThresholds;
  /** Working days a unit has to answer an order (and again after each escalation). */
  orderWorkingDays: number;
  /** The bulletins' heading, e.g. 枣庄市 12345 热线. */
  title: string;
}

/** A refusal of the order rules (bad input 400, a rule 409), with the field at fault. */
export class OrderRefused extends Error {
  constructor(readonly error: { field: string; message: string; code: 'invalid-input' | 'illegal-transition' }) {
    super(error.message);
  }
}

export interface PeriodKpis {
  period: Period;
  overall: TicketKpis;
  answerRate: Rate;
  byUnit: Map<string, TicketKpis>;
  ranking: RankingRow[];
  tickets: Ticket[];
}

const DAY = 86_400_000;

export class SupervisionService {
  constructor(readonly d: SupervisionServiceDeps) {}

  /** The domain tickets received in [from, to), their calls and the set urged (催办) by the clocks. */
  private async load(from: number, to: number): Promise<{ tickets: Ticket[]; calls: KpiCall[]; urged: Set<string> }> {
    const nos = await this.d.tickets.list({ from, to, limit: 100_000 });
    const stored = (await Promise.all(nos.map((n) => this.d.tickets.get(n)))).filter((t) => !!t);
    const tickets = stored.flatMap((t) => (t.ticket ? [t.ticket] : []));
    const calls: KpiCall[] = stored.flatMap((t) => [t.record, ...t.callbacks]);
    const urged = new Set<string>();
    if (this.d.clocks) {
      for (const t of tickets) {
        const f = await this.d.clocks.flags(t.ticketNo);
        if (f.reminded.length || f.replyOverdueAt !== undefined || f.finishOverdueAt !== undefined) urged.add(t.ticketNo);
      }
    }
    return { tickets, calls, urged };
  }

  /** KPIs, per unit and the 红黄蓝榜 of a period, as known now. */
  async periodKpis(period: Period): Promise<PeriodKpis> {
    const { tickets, calls, urged } = await this.load(period.from, period.to);
    const opts = { period, asOf: this.d.now(), urged };
    const byUnit = ticketKpisByUnit(tickets, opts);
    return { period, overall: ticketKpis(tickets, opts), answerRate: callKpis(calls, { period }).answerRate, byUnit, ranking: rankUnits(byUnit, this.d.thresholds), tickets };
  }

  // ------------------------------------------------------------ orders

  private ctx(by: string, role: OrderContext['role'], unit?: string): OrderContext {
    return { now: this.d.now(), by, role, ...(unit ? { unit } : {}), calendar: this.d.calendar, workingDays: this.d.orderWorkingDays };
  }

  private async createOrder(key: string, target: OrderTarget, trigger: SupervisionOrder['trigger'], level: OrderLevel, reason: string, by: string, workingDays: number): Promise<{ order: SupervisionOrder; created: boolean }> {
    const now = this.d.now();
    let refused: OrderResult | undefined;
    const check = newOrder({ id: 'x', key, target, trigger, level, reason, by, now, workingDays, calendar: this.d.calendar });
    if (!check.ok) throw new OrderRefused(check.error);
    const r = await this.d.store.create(key, shanghaiDateOf(now).replaceAll('-', ''), (id) => {
      const made = newOrder({ id, key, target, trigger, level, reason, by, now, workingDays, calendar: this.d.calendar });
      if (!made.ok) refused = made;
      return (made as { order: SupervisionOrder }).order;
    });
    if (refused && !refused.ok) throw new OrderRefused(refused.error);
    if (r.created) await this.d.audit.record({ actor: by, action: 'supervision-order-created', target: `supervision:${r.order.id}`, detail: `${trigger} L${level} ${target.unit}${target.kind === 'ticket' ? ` ticket:${target.ticketNo}` : ''}` });
    return r;
  }

  /** A supervisor's 督办单 on a ticket (its lead unit) or on a unit. */
  async createManual(input: { ticketNo?: string; unit?: string; reason: string; workingDays?: number; level?: OrderLevel }, by: string): Promise<SupervisionOrder> {
    let target: OrderTarget;
    if (input.ticketNo) {
      const st = await this.d.tickets.get(input.ticketNo);
      if (!st?.ticket) throw new OrderRefused({ field: 'ticketNo', message: `ticketNo: 工单 ${input.ticketNo} 不存在 / no such ticket`, code: 'invalid-input' });
      const unit = input.unit ?? st.ticket.units[0];
      if (!unit) throw new OrderRefused({ field: 'unit', message: 'unit: 工单尚未派单，须指明单位 / the ticket has no unit yet: name one', code: 'invalid-input' });
      target = { kind: 'ticket', ticketNo: input.ticketNo, unit };
    } else if (input.unit) target = { kind: 'unit', unit: input.unit };
    else throw new OrderRefused({ field: 'ticketNo', message: 'ticketNo: 须指明工单或单位 / name a ticket or a unit', code: 'invalid-input' });
    const key = `manual:${by}:${this.d.now()}:${Math.random().toString(36).slice(2, 8)}`;
    return (await this.createOrder(key, target, 'manual', input.level ?? 1, input.reason, by, input.workingDays ?? this.d.orderWorkingDays)).order;
  }

  /** Apply an action to an order read at `version`; throws {@link OrderRefused} or returns undefined when not found, 'stale' with the current version. */
  async act(id: string, version: number, action: OrderAction, who: { by: string; role: OrderContext['role']; unit?: string }): Promise<SupervisionOrder | { stale: number } | undefined> {
    const cur = await this.d.store.get(id);
    if (!cur) return undefined;
    if (cur.version !== version) return { stale: cur.version };
    const r = applyOrder(cur, action, this.ctx(who.by, who.role, who.unit));
    if (!r.ok) throw new OrderRefused(r.error);
    const w = await this.d.store.put(version, r.order);
    if (!w.ok) return { stale: w.current };
    const note = action.type === 'respond' ? action.text : action.type === 'close' ? action.note : action.reason;
    await this.d.audit.record({ actor: who.by, action: `supervision-order-${action.type === 'respond' ? 'responded' : action.type === 'close' ? 'closed' : 'escalated'}`, target: `supervision:${id}`, detail: `L${r.order.level} ${r.order.state}${note ? `: ${note.slice(0, 200)}` : ''}` });
    return r.order;
  }

  /**
   * The automatic rules at `now`: overdue tickets and repeat complaints still
   * open (tickets received in the last 90 days), units below the 双率
   * requirement over the last full weeks, and orders left unanswered past their
   * deadline. Idempotent: a rule's order is created once per key, raised only
   * to a higher level.
   */
  async evaluate(): Promise<{ created: string[]; escalated: string[] }> {
    const now = this.d.now();
    const created: string[] = [];
    const escalated: string[] = [];
    const recent = await this.load(now - 90 * DAY, now + 1);
    const weeks = lastFullWeeks(now, 3);
    const weekly = new Map<string, { week: NamedPeriod; kpis: TicketKpis }[]>();
    const perWeek = weeks.map((w) => ({ week: w, byUnit: ticketKpisByUnit(recent.tickets, { period: w, asOf: now, urged: recent.urged }) }));
    const units = new Set(perWeek.flatMap((w) => [...w.byUnit.keys()]));
    const empty = ticketKpis([], { asOf: now });
    for (const u of units) weekly.set(u, perWeek.map((w) => ({ week: w.week, kpis: w.byUnit.get(u) ?? empty })));
    for (const i of orderIntents({ tickets: recent.tickets, weekly, now, thresholds: this.d.thresholds })) {
      const existing = await this.d.store.byKey(i.key);
      if (!existing) {
        const r = await this.createOrder(i.key, i.target, i.trigger, i.level, i.reason, 'system', this.d.orderWorkingDays);
        if (r.created) created.push(r.order.id);
        continue;
      }
      if (existing.state !== 'closed' && existing.level < i.level) {
        const r = await this.act(existing.id, existing.version, { type: 'escalate', reason: i.reason, to: i.level }, { by: 'system', role: 'system' });
        if (r && 'id' in r) escalated.push(r.id);
      }
    }
    for (const o of overdueOrders(await this.d.store.list(), now)) {
      const r = await this.act(o.id, o.version, { type: 'escalate', reason: '逾期未反馈，升级督办 / not answered by its deadline: escalated' }, { by: 'system', role: 'system' });
      if (r && 'id' in r) escalated.push(r.id);
    }
    if (created.length || escalated.length) this.d.log.info({ created, escalated }, 'supervision orders from the rules');
    return { created, escalated };
  }

  // ------------------------------------------------------------ bulletins

  /** Build and store the bulletin of the period of `kind` containing `date` (a later run replaces it). */
  async generateBulletin(kind: PeriodKind, date: string, by: string): Promise<BulletinMeta> {
    const period = periodOf(kind, date);
    const k = await this.periodKpis(period);
    const now = this.d.now();
    const orders = (await this.d.store.list()).filter((o) => (o.createdAt >= period.from && o.createdAt < period.to) || (o.state !== 'closed' && o.createdAt < period.to));
    const overdue: OverdueRow[] = k.tickets
      .filter((t) => t.deadlines && now > t.deadlines.finishBy && ['dispatched', 'accepted', 'in-progress', 'reopened', 'reply-review'].includes(t.state))
      .map((t) => ({ ticketNo: t.ticketNo, unit: t.units[0] ?? '', state: t.state, finishBy: t.deadlines!.finishBy, callerNumber: t.callerNumber }));
    const title = `${this.d.title} ${PERIOD_NAMES[kind].zh} ${period.label} / ${PERIOD_NAMES[kind].en} bulletin`;
    const file = await bulletinXlsx({ title, period, generatedAt: now, kpis: k.overall, answerRate: k.answerRate, ranking: k.ranking, orders, overdue });
    const count = (b: string) => k.ranking.filter((r) => r.band === b).length;
    const meta: BulletinMeta = {
      id: `${kind}-${period.label}`,
      kind,
      label: period.label,
      from: period.from,
      to: period.to,
      generatedAt: now,
      generatedBy: by,
      fileName: `bulletin-${kind}-${period.label}.xlsx`,
      bytes: file.length,
      summary: { tickets: k.overall.tickets, units: k.ranking.length, red: count('red'), yellow: count('yellow'), blue: count('blue'), ordersOpen: orders.filter((o) => o.state !== 'closed').length },
    };
    await this.d.store.saveBulletin(meta, file);
    await this.d.audit.record({ actor: by, action: 'bulletin-generated', target: `bulletin:${meta.id}`, detail: `${meta.summary.tickets} tickets, ${meta.summary.units} units` });
    return meta;
  }

  /**
   * The daily run (just after midnight, city time): the rules, yesterday's
   * daily bulletin, last week's on Mondays, last month's on the 1st.
   */
  async daily(): Promise<{ bulletins: string[]; created: string[]; escalated: string[] }> {
    const now = this.d.now();
    const r = await this.evaluate();
    const bulletins: string[] = [];
    const today = shanghaiDateOf(now);
    const yesterday = lastFullPeriod('day', now);
    bulletins.push((await this.generateBulletin('day', yesterday.label, 'system')).id);
    if (periodOf('week', today).from === periodOf('day', today).from) bulletins.push((await this.generateBulletin('week', lastFullPeriod('week', now).label, 'system')).id);
    if (today.endsWith('-01')) bulletins.push((await this.generateBulletin('month', `${lastFullPeriod('month', now).label}-01`, 'system')).id);
    return { bulletins, ...r };
  }
}
