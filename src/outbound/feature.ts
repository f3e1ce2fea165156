/**
 * Outbound: click-to-call (外呼) from a ticket — the user's own phone rings first, then the ticket's
 * citizen with the hotline's caller id, bridged and recorded; shared daily limits, audited, the
 * record goes into the tickets outbox like a call's. Its routes are the ticket's calls.
 */
import type { AccessServices } from '../access/feature.js';
import type { AcdServices } from '../acd/feature.js';
import type { CallServices } from '../calls/feature.js';
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import type { RecordingServices } from '../recording/feature.js';
import type { TelephonyServices } from '../telephony/feature.js';
import type { TicketServices } from '../tickets/feature.js';
import { createOutbound } from './index.js';
import type { OutboundService } from './service.js';

export interface OutboundServices {
  /** Click-to-call from tickets. */
  readonly outbound: OutboundService;
}

export function outboundFeature(
  core: Core,
  deps: {
    telephony: Pick<TelephonyServices, 'telephony'>;
    access: Pick<AccessServices, 'audit'>;
    acd: Pick<AcdServices, 'acd'>;
    tickets: Pick<TicketServices, 'tickets' | 'outbox'>;
    recording: Pick<RecordingServices, 'recordings'>;
    calls: Pick<CallServices, 'calls'>;
  },
): OutboundServices & Feature {
  const outbound = createOutbound({
    config: core.config,
    redis: core.redis,
    telephony: deps.telephony.telephony,
    calls: deps.calls.calls,
    acd: deps.acd.acd,
    recordings: deps.recording.recordings,
    tickets: deps.tickets.tickets,
    audit: deps.access.audit,
    log: core.log,
    instanceId: core.instanceId,
    now: core.now,
    submitRecord: (r) => deps.tickets.outbox.spool(r),
  });
  return { name: 'outbound', outbound: outbound.service, routes: (http) => outbound.routes(http) };
}
