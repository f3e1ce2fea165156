/**
 * GET /api/supervisor/kpis: 接通率, 按时办结率, 满意率, 重办率 (and 问题解决率,
 * returns, overdue) from kpi.ts over the stored tickets (each carries its call
 * record, so the answer rate is computed from the same calls), per handling
 * unit with a ranking, plus today's live ACD counters.
 * `from` / `to`: ms or `YYYY-MM-DD` (Shanghai); tickets counted by receipt.
 * `format=csv`: the per-unit table with its ranking as a download (audited as an export).
 */
import type { FastifyInstance } from 'fastify';
import type { Acd } from '../../acd/service.js';
import { shanghaiInstant } from '../../tickets/calendar.js';
import type { AuditLog } from '../../access/audit.js';
import type { TicketClocks } from '../../tickets/clocks.js';
import { callKpis, KPI_DIMENSIONS, ticketKpis, ticketKpisBy, ticketKpisByUnit, type KpiCall, type Period, type Rate, type TicketKpis } from '../../tickets/kpi.js';
import type { Ticket } from '../../tickets/model.js';
import type { TicketStore } from '../../tickets/store.js';
import { errors, oneOf } from '../errors.js';
import * as S from '../schemas.js';

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

/** One CSV field: quoted when it holds a separator, a quote or a line break; formula-leading text defused. */
export function csvField(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const pct = (r: Rate) => (r.rate === null ? '' : (r.rate * 100).toFixed(2));

/** The per-unit KPI table as CSV (UTF-8 with BOM so spreadsheet programs read the Chinese unit names). */
export function kpiCsv(rows: ({ unit: string; rank: number } & TicketKpis)[], keyColumn: 'unit' | 'channel' | 'origin' = 'unit'): string {
  const head = ['rank', keyColumn, 'tickets', 'on_time_pct', 'on_time', 'due', 'satisfaction_pct', 'satisfied', 'rated', 'reopen_pct', 'urge_pct', 'repeat_pct', 'resolution_pct', 'returns', 'overdue_open'];
  const lines = rows.map((r) =>
    [r.rank, r.unit, r.tickets, pct(r.onTimeCompletion), r.onTimeCompletion.numerator, r.onTimeCompletion.denominator, pct(r.satisfaction), r.satisfaction.numerator, r.satisfaction.denominator, pct(r.reopen), pct(r.urge), pct(r.repeats), pct(r.resolution), r.returns, r.overdueOpen]
      .map(csvField)
      .join(','),
  );
  return `\ufeff${[head.join(','), ...lines].join('\r\n')}\r\n`;
}

export async function ticketKpiRoutes(app: FastifyInstance, d: { tickets: TicketStore; acd: Acd; now: () => number; clocks?: TicketClocks; audit?: AuditLog }): Promise<void> {
  const schema = S.route('reports', '工单与话务指标，按承办单位排名；format=csv 下载（留痕） / ticket and call KPIs per unit with a ranking; format=csv downloads the table (audited)', {
    querystring: S.query({
      from: S.string('起：YYYY-MM-DD（上海时间，含当天）或毫秒时间戳 / from: YYYY-MM-DD (Shanghai, inclusive) or epoch ms'),
      to: S.string('止：YYYY-MM-DD（含当天）或毫秒时间戳 / to: YYYY-MM-DD (inclusive) or epoch ms'),
      format: S.oneOf(['json', 'csv'], '格式 / format (default json)'),
      by: S.oneOf(KPI_DIMENSIONS, 'CSV 的分组：承办单位、受理渠道或来源平台（默认 unit） / what the CSV rows are: units, channels or origins (default unit)'),
    }),
  });
  app.get('/api/supervisor/kpis', { config: { access: { permission: 'monitor:read' } }, schema }, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const format = oneOf(q, 'format', ['json', 'csv'] as const, false) ?? 'json';
    const by = oneOf(q, 'by', KPI_DIMENSIONS, false) ?? 'unit';
    const now = d.now();
    const from = instant(q.from, 'from', false) ?? 0;
    const to = instant(q.to, 'to', true) ?? now + 1;
    if (to <= from) throw errors.invalid('to', '须晚于 from / must be after from');
    const period: Period = { from, to };
    const nos = await d.tickets.list({ from, to, limit: 100_000 });
    const stored = (await Promise.all(nos.map((n) => d.tickets.get(n)))).filter((t) => !!t);
    const tickets: Ticket[] = stored.flatMap((t) => (t.ticket ? [t.ticket] : []));
    const calls: KpiCall[] = stored.flatMap((t) => [t.record, ...t.callbacks]);
    const urged = new Set<string>();
    if (d.clocks) {
      const flags = await Promise.all(tickets.map(async (t) => [t.ticketNo, await d.clocks!.flags(t.ticketNo)] as const));
      for (const [no, f] of flags) if (f.reminded.length || f.replyOverdueAt !== undefined || f.finishOverdueAt !== undefined) urged.add(no);
    }
    const opts = { period, asOf: now, urged };
    const overall = ticketKpis(tickets, opts);
    const units = [...ticketKpisByUnit(tickets, opts)].map(([unit, k]) => ({ unit, ...k }));
    const score = (r: { rate: number | null }) => (r.rate === null ? -1 : r.rate);
    const ranked = [...units].sort((a, b) => score(b.onTimeCompletion) - score(a.onTimeCompletion) || score(b.satisfaction) - score(a.satisfaction) || a.unit.localeCompare(b.unit)).map((u, i) => ({ ...u, rank: i + 1 }));
    const ranking = ranked.map((u) => ({ rank: u.rank, unit: u.unit }));
    // Per channel (12345, web, wechat, …, upstream:<platform>) and per origin platform: each ticket once.
    const byChannel = [...ticketKpisBy(tickets, 'channel', opts)].map(([channel, k]) => ({ channel, ...k }));
    const byOrigin = [...ticketKpisBy(tickets, 'origin', opts)].map(([origin, k]) => ({ origin, ...k }));
    if (format === 'csv') {
      const rows =
        by === 'unit' ? ranked : (by === 'channel' ? byChannel.map((r) => ({ ...r, unit: r.channel })) : byOrigin.map((r) => ({ ...r, unit: r.origin }))).map((r, i) => ({ ...r, rank: i + 1 }));
      await d.audit?.record({ actor: req.user.username, action: 'kpi-export', target: `kpis:${from}-${to}`, detail: `${rows.length} ${by === 'unit' ? 'units' : by === 'channel' ? 'channels' : 'origins'}, csv`, ip: req.ip });
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="kpis-${by === 'unit' ? '' : `${by}-`}${from}-${to}.csv"`)
        .send(kpiCsv(rows, by));
    }
    const acdToday = (await d.acd.stats(now)).all;
    return {
      period,
      asOf: now,
      answerRate: callKpis(calls, { period }).answerRate,
      onTimeCompletion: overall.onTimeCompletion,
      satisfaction: overall.satisfaction,
      reopen: overall.reopen,
      urge: overall.urge,
      repeats: overall.repeats,
      resolution: overall.resolution,
      returns: overall.returns,
      overdueOpen: overall.overdueOpen,
      reviewOnTime: overall.reviewOnTime,
      dispatchOnTime: overall.dispatchOnTime,
      lateDispatch: overall.lateDispatch,
      tickets: overall.tickets,
      units,
      ranking,
      byChannel,
      byOrigin,
      acdToday,
    };
  });
}
