/**
 * The supervisor's live view: waiting calls per skill with the longest wait,
 * agents with state and time in state, today's answer rate, ASA and
 * abandonment per line and seat group; plus the calls in progress (masked).
 */
import type { FastifyInstance } from 'fastify';
import type { Acd } from '../../acd/service.js';
import type { CallManager } from '../../calls/manager.js';
import { callView } from './agent.js';

export async function supervisorRoutes(app: FastifyInstance, d: { acd: Acd; calls: CallManager }): Promise<void> {
  app.get('/api/supervisor/overview', { config: { access: { permission: 'monitor:read' } } }, async () => {
    const now = Date.now();
    const [queues, agents, stats] = await Promise.all([d.acd.queues(now), d.acd.agents(), d.acd.stats(now)]);
    return {
      at: now,
      queues,
      agents,
      stats,
      calls: d.calls.active.map((s) => ({ ...callView(s), agentId: s.connectedAgentId ?? null })),
    };
  });
}
