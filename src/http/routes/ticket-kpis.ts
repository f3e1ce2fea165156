/**
 * GET /api/supervisor/kpis: 接通率, 按时办结率, 满意率, 重办率 (and 问题解决率,
 * returns, overdue) from kpi.ts over the stored tickets (each carries its call
 * record, so the answer rate is computed from the same calls), per handling
 * unit with a ranking, plus today's live ACD counters.
 * `from` / `to`: ms or `YYYY-MM-DD` (Shanghai); tickets counted by receipt.
 */
import type { FastifyInstance } from 'fastify';
import type { Acd } from '../../acd/service.js';
import { shanghaiInstant } from '../../tickets/calendar.js';
import { callKpis, ticketKpis, ticketKpisByUnit, type KpiCall, type Period } from '../../tickets/kpi.js';
import type { Ticket } from '../../tickets/model.js';
import type { TicketStore } from '../../tickets/store.js';
import { errors } from '../errors.js';

function instant(v: unknown, field: string, endOfDay: boolean): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) {
    try {
      return shanghaiInstant(v) + (endOfDay ? 86_400_000 : 0);
    } catch {
      throw errors.invalid(field, '不是有效日期 / not a real date');
    }
  }
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  throw errors.invalid(field, '须为 YYYY-MM-DD 或毫秒时间 / must be YYYY-MM-DD or an instant in ms');
}

export async function ticketKpiRoutes(app: FastifyInstance, d: { tickets: TicketStore; acd: Acd; now: () => number }): Promise<void> {
  app.get('/api/supervisor/kpis', { config: { access: { permission: 'monitor:read' } } }, async (req) => {
    const q = req.query as Record<string, unknown>;
    const now = d.now();
    const from = instant(q.from, 'from', false) ?? 0;
    const to = instant(q.to, 'to', true) ?? now + 1;
    if (to <= from) throw errors.invalid('to', '须晚于 from / must be after from');
    const period: Period = { from, to };
    const nos = await d.tickets.list({ from, to, limit: 100_000 });
    const stored = (await Promise.all(nos.map((n) => d.tickets.get(n)))).filter((t) => !!t);
    const tickets: Ticket[] = stored.flatMap((t) => (t.ticket ? [t.ticket] : []));
    const calls: KpiCall[] = stored.flatMap((t) => [t.record, ...t.callbacks]);
    const opts = { period, asOf: now };
    const overall = ticketKpis(tickets, opts);
    const units = [...ticketKpisByUnit(tickets, opts)].map(([unit, k]) => ({ unit, ...k }));
    const score = (r: { rate: number | null }) => (r.rate === null ? -1 : r.rate);
    const ranking = [...units].sort((a, b) => score(b.onTimeCompletion) - score(a.onTimeCompletion) || score(b.satisfaction) - score(a.satisfaction) || a.unit.localeCompare(b.unit)).map((u, i) => ({ rank: i + 1, unit: u.unit }));
    const acdToday = (await d.acd.stats(now)).all;
    return {
      period,
      asOf: now,
      answerRate: callKpis(calls, { period }).answerRate,
      onTimeCompletion: overall.onTimeCompletion,
      satisfaction: overall.satisfaction,
      reopen: overall.reopen,
      resolution: overall.resolution,
      returns: overall.returns,
      overdueOpen: overall.overdueOpen,
      tickets: overall.tickets,
      units,
      ranking,
      acdToday,
    };
  });
}
