/**
 * The supervisor's live view: waiting calls per skill with the longest wait,
 * agents with state and time in state, today's answer rate, ASA and
 * abandonment per line and seat group; plus the calls in progress (masked).
 */
import type { FastifyInstance } from 'fastify';
import type { Acd } from '../../acd/service.js';
import type { CallManager } from '../../calls/manager.js';
import * as S from '../schemas.js';
import { callView } from './agent.js';

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
}
