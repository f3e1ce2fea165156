/**
 * Health and metrics: /healthz and /readyz (the PBX links, Redis, the outbox, the calendar's
 * coverage) and the Prometheus registry behind GET /metrics, fed from the other features.
 */
import type { AcdServices } from '../acd/feature.js';
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import { healthRoutes } from '../http/routes/health.js';
import { metricsRoutes } from '../http/routes/metrics.js';
import type { RecordingServices } from '../recording/feature.js';
import type { TelephonyServices } from '../telephony/feature.js';
import type { TicketServices } from '../tickets/feature.js';
import type { IntakeServices } from '../intake/feature.js';

export function metricsFeature(
  core: Core,
  deps: {
    telephony: TelephonyServices;
    acd: Pick<AcdServices, 'acd'>;
    tickets: Pick<TicketServices, 'outbox' | 'ticketsQueue' | 'ticketClocks' | 'ticketWebhook' | 'calendarCoverage'>;
    recording: Pick<RecordingServices, 'recordingJobs'>;
    intake: IntakeServices;
  },
): Feature {
  const { config, metrics, redis } = core;
  const { telephony, ami } = deps.telephony;
  const { acd } = deps.acd;
  const { outbox, ticketsQueue, ticketClocks, ticketWebhook } = deps.tickets;
  const { upstream } = deps.intake.intake;
  metrics.attach({
    queues: () => acd.queues(),
    agents: () => acd.agents(),
    today: async () => {
      const st = await acd.stats();
      return { all: st.all, lines: st.lines };
    },
    outboxPending: () => outbox.pending,
    ariConnected: () => telephony.linkState === 'connected',
    jobQueues: () => ({
      tickets: () => ticketsQueue.getJobCounts(),
      'ticket-clocks': () => ticketClocks.queue.getJobCounts(),
      ...(ticketWebhook ? { 'ticket-webhook': () => ticketWebhook.queue.getJobCounts() } : {}),
      recordings: () => deps.recording.recordingJobs.queue.getJobCounts(),
      ...(upstream ? { 'upstream-push': () => upstream.queue.getJobCounts() } : {}),
    }),
    overdueTickets: async () => (await ticketClocks.overdue()).length,
  });
  return {
    name: 'metrics',
    async routes(http) {
      await http.register(healthRoutes, {
        sources: {
          ari: () => telephony.linkState,
          ami: () => (ami ? ami.linkState : 'disabled'),
          redis: () => redis.status,
          outboxPending: () => outbox.pending,
          calendar: deps.tickets.calendarCoverage,
        },
      });
      await http.register(metricsRoutes, { metrics, token: config.metrics.token, allow: config.metrics.allow });
    },
  };
}
