/**
 * Intake: requests that do not come by phone — other channels' signed messages, the public form,
 * higher platforms' work orders — become tickets like calls do, and work orders' states and
 * reviewed replies are pushed back to their platforms.
 */
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import type { TicketServices } from '../tickets/feature.js';
import { createIntake, type IntakeFeature } from './index.js';

export interface IntakeServices {
  /** Other channels, the public form, higher platforms' work orders and the pushes back. */
  readonly intake: IntakeFeature;
}

export function intakeFeature(core: Core, deps: { tickets: Pick<TicketServices, 'tickets' | 'syncTicket'> }): IntakeServices & Feature {
  const intake = createIntake({
    config: core.config.intake,
    tickets: deps.tickets.tickets,
    redis: core.redis,
    prefix: core.prefix,
    connection: { ...core.redisOpts, maxRetriesPerRequest: null },
    log: core.log,
    now: core.now,
    instanceId: core.instanceId,
    worker: core.workers,
    // A repeated delivery re-runs the idempotent after-change work (repeat link, clocks, webhook).
    resync: (st) => deps.tickets.syncTicket(st),
  });
  return {
    name: 'intake',
    intake,
    routes: (http) => intake.routes(http),
    async stop(step) {
      await step('upstream push', intake.close());
    },
  };
}
