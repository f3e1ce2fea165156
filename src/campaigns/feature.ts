/**
 * 回访 campaigns: a supervisor (or a rule: the closed tickets of a period, all or a sample) has the
 * server call citizens back within the allowed hours, play the satisfaction survey and write the
 * DTMF rating onto each ticket as a phone-verified rating (counted by the 满意率 KPI); busy and
 * unanswered calls are retried; every call audited. Runs on BullMQ (service.ts), plans with pure
 * functions (plan.ts), its routes under /api/campaigns.
 */
import type { AccessServices } from '../access/feature.js';
import type { CallServices } from '../calls/feature.js';
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import type { TelephonyServices } from '../telephony/feature.js';
import type { TicketServices } from '../tickets/feature.js';
import { campaignRoutes } from './routes.js';
import { CampaignService } from './service.js';

export interface CampaignServices {
  /** 回访 campaigns. */
  readonly campaigns: CampaignService;
}

export function campaignsFeature(
  core: Core,
  deps: {
    telephony: Pick<TelephonyServices, 'telephony'>;
    access: Pick<AccessServices, 'audit'>;
    tickets: Pick<TicketServices, 'tickets' | 'ticketService' | 'calendar'>;
    calls: Pick<CallServices, 'calls'>;
  },
): CampaignServices & Feature {
  const c = core.config;
  const campaigns = new CampaignService({
    redis: core.redis,
    prefix: core.prefix,
    connection: { ...core.redisOpts, maxRetriesPerRequest: null },
    tickets: deps.tickets.tickets,
    ticketService: deps.tickets.ticketService,
    calendar: deps.tickets.calendar,
    telephony: deps.telephony.telephony,
    index: deps.calls.calls,
    audit: deps.access.audit,
    log: core.log,
    now: core.now,
    defaults: { hours: c.campaigns.hours, retries: c.campaigns.retries, retryIntervalSec: c.campaigns.retryIntervalSec, concurrency: c.campaigns.concurrency },
    dialTemplate: c.acd.callbackDialTemplate,
    callerId: c.outbound.callerId,
    ringSec: c.acd.callbackRingSec,
    maxCalls: c.campaigns.maxCalls,
    worker: core.workers,
  });
  return {
    name: 'campaigns',
    campaigns,
    async routes(http) {
      await http.register(campaignRoutes, { service: campaigns });
    },
    async start() {
      await campaigns.start();
    },
    async stop(step) {
      await step('campaign jobs', campaigns.close());
    },
  };
}
