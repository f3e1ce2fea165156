/**
 * GET /api/tickets/export: the tickets received in a period (optionally of one
 * unit or state) as CSV or JSON for the supervision office (督办) and reports.
 * Caller numbers are always masked here, whoever exports — a full number is
 * the audited reveal, one ticket at a time — and every export is audited with
 * its filter and row count.
 */
import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../../access/audit.js';
import { maskNumber, maskNumbersInText } from '../../access/mask.js';
import { shanghaiInstant } from '../../tickets/calendar.js';
import { channelDimension, TICKET_CHANNEL_DIMENSIONS, TICKET_ORIGINS, TICKET_STATES, type Ticket, type TicketState } from '../../tickets/model.js';
import type { TicketStore } from '../../tickets/store.js';
import { errors, oneOf, str } from '../errors.js';
import * as S from '../schemas.js';
import { csvField } from './ticket-kpis.js';

const MAX_ROWS = 50_000;

function day(v: unknown, field: string, endOfDay: boolean): number {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) throw errors.invalid(field, '必填，格式 YYYY-MM-DD / required, as YYYY-MM-DD');
  try {
    return shanghaiInstant(v) + (endOfDay ? 86_400_000 : 0);
  } catch {
    throw errors.invalid(field, '不是有效日期 / not a real date');
  }
}

export interface ExportRow {
  ticketNo: string;
  receivedAt: string;
  channel: string;
  category: string;
  requesterKind: string;
  urgency: string;
  state: string;
  units: string;
  finishBy: string;
  caller: string;
  summary: string;
  returns: number;
  extendedWorkingDays: number;
  satisfaction: number | '';
  repeatOf: string;
  /** Added with the intake: the channel as a KPI dimension, the origin platform, the platform's number and deadline. */
  channelKind: string;
  origin: string;
  upstreamOrderNo: string;
  upstreamFinishBy: string;
  attachments: number;
}

const iso = (ms: number | undefined) => (ms === undefined ? '' : new Date(ms).toISOString());

/** One ticket as an export row, masked. */
export function exportRow(t: Ticket): ExportRow {
  return {
    ticketNo: t.ticketNo,
    receivedAt: iso(t.receivedAt),
    // The column as it always read for calls (the dialed line); other channels by their kind.
    channel: t.channel.kind === 'legacy-line' ? t.channel.number : channelDimension(t.channel),
    category: t.category,
    requesterKind: t.requesterKind,
    urgency: t.urgency,
    state: t.state,
    units: t.units.join('|'),
    finishBy: iso(t.deadlines?.finishBy),
    caller: maskNumber(t.callerNumber),
    summary: maskNumbersInText(t.summary),
    returns: t.returnCount,
    extendedWorkingDays: t.extendedWorkingDays,
    satisfaction: t.satisfaction ?? '',
    repeatOf: t.repeatOf ?? '',
    channelKind: channelDimension(t.channel),
    origin: t.origin ?? 'direct',
    upstreamOrderNo: t.upstream?.orderNo ?? '',
    upstreamFinishBy: iso(t.upstream?.finishBy),
    attachments: t.attachments?.length ?? 0,
  };
}

export function exportCsv(rows: ExportRow[]): string {
  const head = Object.keys(exportRow({ ...EMPTY })) as (keyof ExportRow)[];
  const lines = rows.map((r) => head.map((k) => csvField(r[k])).join(','));
  return `\ufeff${[head.join(','), ...lines].join('\r\n')}\r\n`;
}

const EMPTY: Ticket = {
  ticketNo: '',
  cityId: '',
  channel: { kind: '12345' },
  category: 'consult',
  requesterKind: 'citizen',
  urgency: 'normal',
  topics: [],
  summary: '',
  callerNumber: '',
  units: [],
  callIds: [],
  receivedAt: 0,
  state: 'received',
  returnCount: 0,
  extendedWorkingDays: 0,
  history: [],
};

export async function ticketExportRoutes(app: FastifyInstance, d: { tickets: TicketStore; audit: AuditLog }): Promise<void> {
  const schema = S.route('reports', '导出某期间受理的工单（号码脱敏，留痕） / tickets received in a period, numbers masked (audited)', {
    querystring: S.query(
      {
        from: S.string('起始日 YYYY-MM-DD（上海时间） / first day, YYYY-MM-DD (Shanghai)'),
        to: S.string('截止日 YYYY-MM-DD，最多一年 / last day, YYYY-MM-DD, at most a year after from'),
        unit: S.string('承办单位 / handling unit', 100),
        state: S.oneOf(TICKET_STATES, '工单状态 / ticket state'),
        format: S.oneOf(['csv', 'json'], '格式 / format (default csv)'),
        channel: S.oneOf(TICKET_CHANNEL_DIMENSIONS, '受理渠道 / channel'),
        origin: S.oneOf(TICKET_ORIGINS, '来源平台 / origin platform'),
      },
      ['from', 'to'],
    ),
  });
  app.get('/api/tickets/export', { config: { access: { permission: 'tickets:export' } }, schema }, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const from = day(q.from, 'from', false);
    const to = day(q.to, 'to', true);
    if (to <= from) throw errors.invalid('to', '须不早于 from / must not be before from');
    if (to - from > 366 * 86_400_000) throw errors.invalid('to', '一次最多导出一年 / at most one year per export');
    const unit = str(q, 'unit', { max: 100 });
    const state = oneOf(q, 'state', TICKET_STATES, false) as TicketState | undefined;
    const format = oneOf(q, 'format', ['csv', 'json'] as const, false) ?? 'csv';
    const channel = oneOf(q, 'channel', TICKET_CHANNEL_DIMENSIONS, false);
    const origin = oneOf(q, 'origin', TICKET_ORIGINS, false);
    const nos = await d.tickets.list({ ...(unit ? { unit } : {}), from, to, limit: MAX_ROWS });
    const rows: ExportRow[] = [];
    for (const no of nos) {
      const t = (await d.tickets.get(no))?.ticket;
      if (!t || (unit && !t.units.includes(unit)) || (state && t.state !== state)) continue;
      if ((channel && channelDimension(t.channel) !== channel) || (origin && (t.origin ?? 'direct') !== origin)) continue;
      rows.push(exportRow(t));
    }
    rows.reverse(); // oldest first, as a register reads
    await d.audit.record({
      actor: req.user.username,
      action: 'ticket-export',
      target: `tickets:${String(q.from)}..${String(q.to)}`,
      detail: `${rows.length} rows, ${format}${unit ? `, unit ${unit}` : ''}${state ? `, state ${state}` : ''}${channel ? `, channel ${channel}` : ''}${origin ? `, origin ${origin}` : ''}`,
      ip: req.ip,
    });
    if (format === 'json') return { rows };
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="tickets-${String(q.from)}-${String(q.to)}.csv"`)
      .send(exportCsv(rows));
  });
}
