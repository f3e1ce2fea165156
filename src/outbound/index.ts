/**
 * Outbound calls (外呼 from a ticket): the service over its explicit dependencies, its routes, and
 * the restart clean-up of our click-to-call legs. Wired by outbound/feature.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Acd } from '../acd/service.js';
import type { AuditLog } from '../access/audit.js';
import type { CallManager } from '../calls/manager.js';
import type { CallRecord } from '../calls/record.js';
import type { Config } from '../config/index.js';
import type { RecordingService } from '../recording/service.js';
import type { Telephony } from '../telephony/port.js';
import type { TicketStore } from '../tickets/store.js';
import { outboundRoutes } from './routes.js';
import { OutboundService } from './service.js';

export interface OutboundDeps {
  config: Config;
  redis: Redis;
  telephony: Telephony;
  calls: CallManager;
  acd: Acd;
  recordings: RecordingService;
  tickets: TicketStore;
  audit: AuditLog;
  log: Logger;
  instanceId: string;
  now: () => number;
  submitRecord: (record: CallRecord) => Promise<void>;
}

export interface Outbound {
  readonly service: OutboundService;
  /** Its Fastify routes. */
  routes(http: FastifyInstance): Promise<void>;
}

export function createOutbound(d: OutboundDeps): Outbound {
  const c = d.config;
  const service = new OutboundService({
    redis: d.redis,
    prefix: c.keyPrefix,
    telephony: d.telephony,
    index: d.calls,
    recording: d.recordings,
    audit: d.audit,
    log: d.log,
    instanceId: d.instanceId,
    now: d.now,
    limits: { maxPerUserDay: c.outbound.maxPerUserDay, maxPerTicketDay: c.outbound.maxPerTicketDay },
    userDialTemplate: c.acd.dialTemplate,
    citizenDialTemplate: c.acd.callbackDialTemplate,
    callerId: c.outbound.callerId,
    userExtensions: c.outbound.userExtensions,
    userRingSec: c.outbound.userRingSec,
    citizenRingSec: c.acd.callbackRingSec,
    agentExtension: async (agentId) => (await d.acd.listAgents()).find((a) => a.id === agentId)?.extension,
    agentState: async (agentId) => {
      const a = (await d.acd.agents()).find((x) => x.id === agentId);
      return a ? { state: a.state, reason: a.reason } : undefined;
    },
    setAgentState: (agentId, state, reason) => d.acd.setAgentState(agentId, state, reason),
    submitRecord: d.submitRecord,
  });
  d.telephony.onLinkState((state, snap) => {
    if (state === 'connected' && snap) void service.resync(snap.bridges.map((b) => b.id)).catch((err: Error) => d.log.warn({ err: err.message }, 'outbound resync failed'));
  });
  return { service, routes: async (http) => void (await http.register(outboundRoutes, { service, tickets: d.tickets })) };
}
