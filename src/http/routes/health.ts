/**
 * Liveness and readiness. `/healthz` says the process is alive; `/readyz`
 * reports ARI, AMI and Redis each, and answers 503 until all needed links are up.
 */
import type { FastifyInstance } from 'fastify';

export interface HealthSources {
  ari: () => string;
  ami: () => string;
  redis: () => string;
  /** Ticket jobs waiting in the local outbox for Redis. */
  outboxPending: () => number;
}

export async function healthRoutes(app: FastifyInstance, opts: { sources: HealthSources }): Promise<void> {
  const s = opts.sources;
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'alive' }));
  app.get('/readyz', { config: { access: 'public' } }, async (_req, reply) => {
    const checks = {
      ari: s.ari(),
      ami: s.ami(),
      redis: s.redis(),
    };
    const ready = checks.ari === 'connected' && (checks.ami === 'connected' || checks.ami === 'disabled') && checks.redis === 'ready';
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not-ready', checks, ticketOutboxPending: s.outboxPending() };
  });
}
