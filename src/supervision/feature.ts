/**
 * Supervision (督办): supervision orders on tickets, the red/yellow/blue rankings of units and the
 * bulletins, computed daily by a job; an approved (reviewed) reply goes back to the higher platform
 * a work order came from (intake's push), or wherever the app's options send it.
 */
import type { AccessServices } from '../access/feature.js';
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import type { IntakeServices } from '../intake/feature.js';
import type { TicketServices } from '../tickets/feature.js';
import { createSupervision, pushReviewedReply, type Supervision } from './index.js';

export interface SupervisionServices {
  /** 督办单, 红黄蓝榜, bulletins. */
  readonly supervision: Supervision;
}

const DEFAULT_THRESHOLDS = { satisfactionMin: 0.9, onTimeMin: 0.9, redMin: 0.95, minSample: 5, orderWorkingDays: 3 };

export function supervisionFeature(
  core: Core,
  deps: {
    access: Pick<AccessServices, 'audit'>;
    tickets: Pick<TicketServices, 'tickets' | 'ticketClocks' | 'calendar' | 'policy'>;
    intake: IntakeServices;
  },
): SupervisionServices & Feature {
  const { config, log } = core;
  const sv = config.supervision ?? DEFAULT_THRESHOLDS;
  const upstream = deps.intake.intake.upstream;
  const reviewedReply = core.opts.reviewedReply ?? (upstream ? pushReviewedReply(upstream) : undefined);
  const supervision = createSupervision({
    redis: core.redis,
    prefix: core.prefix,
    connection: { ...core.redisOpts, maxRetriesPerRequest: null },
    tickets: deps.tickets.tickets,
    clocks: deps.tickets.ticketClocks,
    calendar: deps.tickets.calendar,
    audit: deps.access.audit,
    log,
    now: core.now,
    thresholds: sv,
    orderWorkingDays: sv.orderWorkingDays,
    title: `${deps.tickets.policy.name} 12345`,
    worker: core.workers,
    ...(reviewedReply ? { reviewedReply } : {}),
  });
  return {
    name: 'supervision',
    supervision,
    routes: (http) => supervision.routes(http),
    async start() {
      await supervision.start();
    },
    async stop(step) {
      await step('supervision jobs', supervision.close());
    },
  };
}
