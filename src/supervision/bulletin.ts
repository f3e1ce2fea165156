/**
 * The bulletin (通报/简报) of a day, week or month as an XLSX workbook built
 * with exceljs: what the seeds ask to publish (003 三·二是 “日调度、周通报、月分析”:
 * each unit's 解决率 and 满意率 weekly; monthly 数量、质量、满意率、超期率、重办率;
 * 004 三(四)8 定期通报 of 问题解决率 and 满意度; 001 13 红黄蓝榜).
 *
 * Sheets: 概况 (the centre's KPIs with numerator and denominator), 红黄蓝榜 (the
 * ranking with its bands; the rates carry in-cell data bars — exceljs writes no
 * native charts, so the bars are the chart), 督办 (orders of the period and those
 * still open), 超期工单 (overdue tickets, caller numbers masked: a bulletin is
 * circulated, so it never holds a full number).
 */
import type ExcelJS from 'exceljs';
import { maskNumber } from '../access/mask-numbers.js';
import { formatShanghai } from '../tickets/calendar.js';
import type { Rate, TicketKpis } from '../tickets/kpi.js';
import { BAND_LABELS, LEVEL_LABELS, type NamedPeriod, type RankingRow, type SupervisionOrder } from './model.js';

export const PERIOD_NAMES = { day: { zh: '日报', en: 'daily' }, week: { zh: '周报', en: 'weekly' }, month: { zh: '月报', en: 'monthly' } } as const;

export interface OverdueRow {
  ticketNo: string;
  unit: string;
  state: string;
  finishBy: number;
  /** Full number in; masked when written. */
  callerNumber: string;
}

export interface BulletinInput {
  title: string;
  period: NamedPeriod;
  generatedAt: number;
  kpis: TicketKpis;
  answerRate: Rate;
  ranking: RankingRow[];
  orders: SupervisionOrder[];
  overdue: OverdueRow[];
}

const INDICATORS: { key: keyof TicketKpis | 'answerRate'; zh: string; en: string }[] = [
  { key: 'answerRate', zh: '接通率', en: 'Answer rate' },
  { key: 'onTimeCompletion', zh: '按时办结率', en: 'On-time completion' },
  { key: 'satisfaction', zh: '满意率', en: 'Satisfaction' },
  { key: 'resolution', zh: '问题解决率', en: 'Resolution' },
  { key: 'reopen', zh: '重办率', en: 'Reopen rate' },
  { key: 'urge', zh: '催办率', en: 'Urge rate' },
  { key: 'repeats', zh: '重复诉求率', en: 'Repeat requests' },
  { key: 'reviewOnTime', zh: '审核及时率', en: 'Review on time' },
  { key: 'dispatchOnTime', zh: '交办及时率', en: 'Dispatch on time' },
];

const pct = (r: Rate) => (r.rate === null ? null : Math.round(r.rate * 10_000) / 100);
const BAND_FILL = { red: 'FFF4CCCC', yellow: 'FFFFF2CC', blue: 'FFCFE2F3', none: 'FFEEEEEE' } as const;

function header(ws: ExcelJS.Worksheet, cols: { header: string; key: string; width: number }[]): void {
  ws.columns = cols;
  const row = ws.getRow(1);
  row.font = { bold: true };
  row.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFD9E1F2' } };
  ws.views = [{ state: 'frozen', ySplit: 1 }];
}

/** Percent column cells as numbers with one data bar across the rows (the in-cell chart). */
function dataBar(ws: ExcelJS.Worksheet, col: string, rows: number, color: string): void {
  if (rows < 1) return;
  ws.addConditionalFormatting({
    ref: `${col}2:${col}${rows + 1}`,
    rules: [{ type: 'dataBar', priority: 1, cfvo: [{ type: 'num', value: 0 }, { type: 'num', value: 100 }], color: { argb: color }, gradient: false } as unknown as ExcelJS.ConditionalFormattingRule],
  });
}

/**
 * exceljs is loaded on the first bulletin, not with the server: it is the heaviest module we have (its
 * load costs several times fastify's), and every start — each instance, each test file — would pay it
 * for a document asked for a few times a week.
 */
async function loadExcel(): Promise<typeof ExcelJS> {
  return (await import('exceljs')).default;
}

export async function bulletinXlsx(b: BulletinInput): Promise<Buffer> {
  const Excel = await loadExcel();
  const wb = new Excel.Workbook();
  wb.creator = '12345 hotline';
  wb.created = new Date(b.generatedAt);
  wb.title = b.title;

  const sum = wb.addWorksheet('概况 Summary');
  header(sum, [
    { header: '指标 Indicator', key: 'name', width: 28 },
    { header: '数值 % Value', key: 'value', width: 14 },
    { header: '分子 Numerator', key: 'num', width: 16 },
    { header: '分母 Denominator', key: 'den', width: 18 },
  ]);
  for (const i of INDICATORS) {
    const r = (i.key === 'answerRate' ? b.answerRate : b.kpis[i.key]) as Rate;
    sum.addRow({ name: `${i.zh} ${i.en}`, value: pct(r), num: r.numerator, den: r.denominator });
  }
  sum.addRow({ name: '工单量 Tickets', value: b.kpis.tickets });
  sum.addRow({ name: '回退次数 Returns', value: b.kpis.returns });
  sum.addRow({ name: '超期未办 Overdue open', value: b.kpis.overdueOpen });
  sum.addRow({ name: '超时交办 Late dispatch', value: b.kpis.lateDispatch });
  dataBar(sum, 'B', INDICATORS.length, 'FF5B9BD5');
  sum.addRow({});
  sum.addRow({ name: b.title });
  sum.addRow({ name: `统计期 Period: ${formatShanghai(b.period.from)} – ${formatShanghai(b.period.to - 1)}` });
  sum.addRow({ name: `生成时间 Generated: ${formatShanghai(b.generatedAt)}（北京时间 UTC+8）` });

  const rank = wb.addWorksheet('红黄蓝榜 Ranking');
  header(rank, [
    { header: '名次 Rank', key: 'rank', width: 10 },
    { header: '承办单位 Unit', key: 'unit', width: 28 },
    { header: '榜单 Band', key: 'band', width: 22 },
    { header: '工单 Tickets', key: 'tickets', width: 12 },
    { header: '按时办结率 % On time', key: 'onTime', width: 22 },
    { header: '满意率 % Satisfaction', key: 'sat', width: 22 },
    { header: '双率均值 % Score', key: 'score', width: 18 },
  ]);
  for (const r of b.ranking) {
    const row = rank.addRow({ rank: r.rank, unit: r.unit, band: `${BAND_LABELS[r.band].zh} ${BAND_LABELS[r.band].en}`, tickets: r.tickets, onTime: pct(r.onTimeCompletion), sat: pct(r.satisfaction), score: r.score === null ? null : Math.round(r.score * 10_000) / 100 });
    row.getCell('band').fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: BAND_FILL[r.band] } };
  }
  dataBar(rank, 'E', b.ranking.length, 'FF70AD47');
  dataBar(rank, 'F', b.ranking.length, 'FF5B9BD5');

  const ord = wb.addWorksheet('督办 Orders');
  header(ord, [
    { header: '编号 Id', key: 'id', width: 16 },
    { header: '对象 Target', key: 'target', width: 24 },
    { header: '承办单位 Unit', key: 'unit', width: 24 },
    { header: '级别 Level', key: 'level', width: 26 },
    { header: '状态 State', key: 'state', width: 12 },
    { header: '时限 Due', key: 'due', width: 20 },
    { header: '事由 Reason', key: 'reason', width: 60 },
  ]);
  for (const o of b.orders) {
    ord.addRow({ id: o.id, target: o.target.kind === 'ticket' ? o.target.ticketNo : '单位 unit', unit: o.target.unit, level: `${o.level} ${LEVEL_LABELS[o.level].zh}`, state: o.state, due: formatShanghai(o.dueBy), reason: o.reason });
  }

  const over = wb.addWorksheet('超期工单 Overdue');
  header(over, [
    { header: '工单号 Ticket', key: 'no', width: 22 },
    { header: '承办单位 Unit', key: 'unit', width: 24 },
    { header: '状态 State', key: 'state', width: 14 },
    { header: '办结时限 Finish by', key: 'due', width: 20 },
    { header: '来电号码 Caller', key: 'caller', width: 16 },
  ]);
  for (const o of b.overdue) over.addRow({ no: o.ticketNo, unit: o.unit, state: o.state, due: formatShanghai(o.finishBy), caller: maskNumber(o.callerNumber) });

  return Buffer.from(await wb.xlsx.writeBuffer());
}
