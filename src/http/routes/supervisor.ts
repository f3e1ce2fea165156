/**
 * The supervisor's live view: waiting calls per skill with the longest wait,
 * agents with state and time in state, today's answer rate, ASA and
 * abandonment per line and seat group; plus the calls in progress (masked).
 */
import type { FastifyInstance } from 'fastify';
import type { Acd } from '../../acd/service.js';
import type { CallManager } from '../../calls/manager.js';
import { errors } from '../errors.js';
import * as S from '../schemas.js';
import { callView } from './agent.js';

/** The day of the series (YYYY-MM-DD, a real date, not after today); undefined means today. */
function seriesDay(v: unknown, today: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  const bad = () => errors.invalid('day', '格式 YYYY-MM-DD 的真实日期，不晚于今天 / a real date as YYYY-MM-DD, not after today');
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) throw bad();
  const d = new Date(`${v}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v || v.replace(/-/g, '') > today) throw bad();
  return v;
}

export async function supervisorRoutes(app: FastifyInstance, d: { acd: Acd; calls: CallManager; calendar?: () => { covered: boolean; warning?: string } }): Promise<void> {
  const schema = S.route('supervisor', '实时监控：排队、座席、今日指标、进行中的通话（脱敏） / live view: queues, agents, today’s figures, calls in progress (masked)');
  app.get('/api/supervisor/overview', { config: { access: { permission: 'monitor:read' } }, schema }, async () => {
    const now = Date.now();
    const [queues, agents, stats] = await Promise.all([d.acd.queues(now), d.acd.agents(), d.acd.stats(now)]);
    return {
      at: now,
      queues,
      agents,
      stats,
      // Calls this instance refused as routing loops (hop limit) since it started.
      refused: { routingLoops: d.calls.loopsRefused },
      calls: d.calls.active.map((s) => ({ ...callView(s), agentId: s.connectedAgentId ?? null })),
      // The page shows a banner when the working-day calendar does not cover the next 60 days.
      ...(d.calendar ? { calendar: d.calendar() } : {}),
    };
  });

  app.get(
    '/api/supervisor/series',
    {
      config: { access: { permission: 'monitor:read' } },
      schema: S.route('supervisor', '按刻钟（15 分钟）的进线、接通、放弃、接通率（目标 98%）与最长排队，全中心及分热线（城市时间） / by quarter hour: offered, answered, abandoned, answer rate (target 98 %) and the largest queue, whole centre and per line (city time)', {
        querystring: S.query({ day: S.string('日期 YYYY-MM-DD（城市时间，默认今天，保留 10 天） / day, YYYY-MM-DD (city time; default today; kept 10 days)', 10) }),
      }),
    },
    async (req) => {
      const now = Date.now();
      const day = seriesDay((req.query as { day?: unknown }).day, d.acd.day(now));
      return d.acd.series(now, day);
    },
  );
}
