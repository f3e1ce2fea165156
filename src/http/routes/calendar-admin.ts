/**
 * The working-day calendar's admin overrides (local 调休, a year's notice
 * entered before the package has it): list, add and remove day overrides,
 * confirm and withdraw years. Every change names the version it replaces
 * (optimistic concurrency: 409 when someone changed it meanwhile), is
 * validated field by field before anything is written, applied to this
 * instance's calendar at once (the others follow through pub/sub) and audited.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../../access/audit.js';
import { DAY_OVERRIDE_KINDS, validateDayOverride, validateYearConfirmation, type DayOverride } from '../../tickets/calendar.js';
import type { CalendarOverrides, CalendarOverridesStore, LiveWorkCalendar } from '../../tickets/calendar-store.js';
import { coverageWarning } from '../../tickets/calendar-store.js';
import type { FieldErrors } from '../../tickets/domain-errors.js';
import { AppError, bodyOf, errors, staleVersion, versionOf } from '../errors.js';
import * as S from '../schemas.js';

export interface CalendarAdminDeps {
  store: CalendarOverridesStore;
  calendar: LiveWorkCalendar;
  audit: AuditLog;
  /** The app's clock (tests move it). */
  now: () => number;
  /** Where the official data comes from (`chinese-days 1.5.7`, years 2004–2026). */
  source: { package: string; version: string; officialYears: number[] };
}

const READ = { config: { access: { roles: ['admin', 'supervisor'] } } } as const;
const WRITE = { config: { access: { roles: ['admin'] } } } as const;

const VERSION = S.integer('读取时的版本（防止覆盖他人修改） / the version you read (a change made meanwhile is refused with 409)', { minimum: 0 });
const DATE_PARAM = S.params({ date: S.string('日期 YYYY-MM-DD / the date, YYYY-MM-DD') });
const YEAR_PARAM = S.params({ year: S.string('年份 / the year (four digits)') });
const VERSION_QUERY = S.query({ version: S.string('读取时的版本 / the version you read') }, ['version']);

function refuse(errs: FieldErrors): never {
  throw new AppError('invalid-input', 400, errs[0]!.message, errs[0]!.field, errs);
}

export async function calendarAdminRoutes(app: FastifyInstance, d: CalendarAdminDeps): Promise<void> {
  const view = () => {
    const overrides = d.calendar.overrides();
    const coverage = d.calendar.coverageReport(d.now());
    const warning = coverageWarning(coverage, d.source.version);
    return { ...overrides, source: d.source, coverage, ...(warning ? { warning } : {}) };
  };

  /** Write `next` if the stored version is still `expected`; apply here, audit, answer the new view. */
  const commit = async (req: FastifyRequest, expected: number, next: Omit<CalendarOverrides, 'version'>, audit: { action: string; target: string; detail?: string }) => {
    const r = await d.store.put(expected, next);
    if (!r.ok) throw staleVersion(r.current);
    d.calendar.apply(r.overrides);
    await d.audit.record({ actor: req.user.username, action: audit.action, target: audit.target, ...(audit.detail ? { detail: audit.detail } : {}), ip: req.ip });
    return view();
  };

  /** The overrides as this request must see them: the stored ones, so a version check compares like with like. */
  const fresh = async () => {
    await d.calendar.refresh();
    return d.calendar.overrides();
  };

  app.get('/api/admin/calendar', { ...READ, schema: S.route('calendar', '工作日历：数据来源、覆盖情况、调休覆盖 / the working-day calendar: source, coverage, overrides') }, async () => {
    await d.calendar.refresh();
    return view();
  });

  app.post(
    '/api/admin/calendar/days',
    {
      ...WRITE,
      schema: S.route('calendar', '新增一天调休覆盖（留痕） / add a day override (audited)', {
        body: S.body(
          {
            version: VERSION,
            date: S.string('日期 YYYY-MM-DD / the date, YYYY-MM-DD'),
            kind: S.oneOf(DAY_OVERRIDE_KINDS, 'holiday = 放假, workday = 上班'),
            name: S.string('名称（如 春节调休） / what it is for', 50),
            note: S.string('备注 / note', 200),
          },
          ['version', 'date', 'kind'],
        ),
      }),
    },
    async (req, reply) => {
      const b = bodyOf(req);
      const expected = versionOf(b.version);
      const day: DayOverride = { date: b.date as string, kind: b.kind as DayOverride['kind'], ...(b.name !== undefined ? { name: b.name as string } : {}), ...(b.note !== undefined ? { note: b.note as string } : {}) };
      const errs = validateDayOverride(day);
      if (errs.length) refuse(errs);
      const cur = await fresh();
      if (cur.version !== expected) throw staleVersion(cur.version);
      if (cur.days.some((x) => x.date === day.date)) throw new AppError('calendar-day-exists', 409, `date: ${day.date} 已有覆盖，请先删除 / ${day.date} already has an override; remove it first`, 'date');
      const out = await commit(req, expected, { days: [...cur.days, { ...day, by: req.user.username, at: d.now() }], years: cur.years }, {
        action: 'calendar-day-added',
        target: `calendar:${day.date}`,
        detail: `${day.kind}${day.name ? ` ${day.name}` : ''}`,
      });
      return reply.code(201).send(out);
    },
  );

  app.delete(
    '/api/admin/calendar/days/:date',
    { ...WRITE, schema: S.route('calendar', '删除一天调休覆盖（留痕） / remove a day override (audited)', { params: DATE_PARAM, querystring: VERSION_QUERY }) },
    async (req) => {
      const { date } = req.params as { date: string };
      const expected = versionOf((req.query as { version?: unknown }).version);
      const errs = validateDayOverride({ date, kind: 'holiday' });
      if (errs.length) refuse(errs);
      const cur = await fresh();
      if (cur.version !== expected) throw staleVersion(cur.version);
      const old = cur.days.find((x) => x.date === date);
      if (!old) throw errors.notFound(`日期 ${date} 的覆盖 / the override of ${date}`);
      return commit(req, expected, { days: cur.days.filter((x) => x.date !== date), years: cur.years }, { action: 'calendar-day-removed', target: `calendar:${date}`, detail: old.kind });
    },
  );

  app.put(
    '/api/admin/calendar/years/:year',
    {
      ...WRITE,
      schema: S.route('calendar', '确认某年调休已录入（留痕） / confirm a year’s days are entered (audited)', {
        params: YEAR_PARAM,
        body: S.body({ version: VERSION, source: S.string('依据的通知 / the notice the days come from', 200) }, ['version', 'source']),
      }),
    },
    async (req) => {
      const { year: yearText } = req.params as { year: string };
      const b = bodyOf(req);
      const expected = versionOf(b.version);
      const year = /^\d{4}$/.test(yearText) ? Number(yearText) : NaN;
      const errs = validateYearConfirmation({ year, source: b.source });
      if (errs.length) refuse(errs);
      const cur = await fresh();
      if (cur.version !== expected) throw staleVersion(cur.version);
      const source = (b.source as string).trim();
      return commit(req, expected, { days: cur.days, years: [...cur.years.filter((y) => y.year !== year), { year, source, by: req.user.username, at: d.now() }] }, { action: 'calendar-year-confirmed', target: `calendar:${year}`, detail: source });
    },
  );

  app.delete(
    '/api/admin/calendar/years/:year',
    { ...WRITE, schema: S.route('calendar', '撤销某年的确认（留痕） / withdraw a year’s confirmation (audited)', { params: YEAR_PARAM, querystring: VERSION_QUERY }) },
    async (req) => {
      const { year: yearText } = req.params as { year: string };
      const expected = versionOf((req.query as { version?: unknown }).version);
      const year = /^\d{4}$/.test(yearText) ? Number(yearText) : NaN;
      const errs = validateYearConfirmation({ year, source: 'x' });
      if (errs.length) refuse(errs);
      const cur = await fresh();
      if (cur.version !== expected) throw staleVersion(cur.version);
      if (!cur.years.some((y) => y.year === year)) throw errors.notFound(`${year} 年的确认 / the confirmation of ${year}`);
      return commit(req, expected, { days: cur.days, years: cur.years.filter((y) => y.year !== year) }, { action: 'calendar-year-unconfirmed', target: `calendar:${year}` });
    },
  );
}
