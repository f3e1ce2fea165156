/**
 * Liveness and readiness. `/healthz` says the process is alive; `/readyz`
 * reports ARI, AMI and Redis each, and answers 503 until all needed links are up;
 * it also tells whether the working-day calendar covers the next 60 days (a warning only).
 */
import type { FastifyInstance } from 'fastify';
import * as S from '../schemas.js';

export interface HealthSources {
  ari: () => string;
  ami: () => string;
  redis: () => string;
  /** Ticket jobs waiting in the local outbox for Redis. */
  outboxPending: () => number;
  /** Whether the working-day calendar covers the next 60 days: a detail, never a reason for 503. */
  calendar?: () => { covered: boolean; warning?: string };
}

export async function healthRoutes(app: FastifyInstance, opts: { sources: HealthSources }): Promise<void> {
  const s = opts.sources;
  app.get('/healthz', { config: { access: 'public' }, schema: S.route('health', '进程存活 / the process is alive') }, async () => ({ status: 'alive' }));
  app.get('/readyz', { config: { access: 'public' }, schema: S.route('health', '就绪：ARI、AMI、Redis 各自状态，未就绪 503 / ready: ARI, AMI and Redis each; 503 until all needed links are up') }, async (_req, reply) => {
    const checks = {
      ari: s.ari(),
      ami: s.ami(),
      redis: s.redis(),
    };
    const ready = checks.ari === 'connected' && (checks.ami === 'connected' || checks.ami === 'disabled') && checks.redis === 'ready';
    reply.code(ready ? 200 : 503);
    // An uncovered calendar is a warning for an admin (deadlines use the statutory days), not unreadiness.
    return { status: ready ? 'ready' : 'not-ready', checks, ticketOutboxPending: s.outboxPending(), ...(s.calendar ? { calendar: s.calendar() } : {}) };
  });
}
