/**
 * The intake feature, registered by one call from the composition root: the signed channel and
 * work-order endpoints, the public form, and the pushes back to higher platforms (state on every
 * committed change of a work order's ticket; the reviewed reply through {@link UpstreamPort}).
 */
import type { ConnectionOptions } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { UpstreamPlatform } from '../tickets/model.js';
import type { StoredTicket, TicketStore } from '../tickets/store.js';
import { intakeRoutes } from './routes.js';
import { IntakeService } from './service.js';
import { UpstreamPush, type UpstreamPort, type UpstreamTarget } from './upstream.js';

export type { UpstreamPort, ReviewedReply } from './upstream.js';

export interface IntakeFeature {
  readonly service: IntakeService;
  /** Pushes to higher platforms; undefined when UPSTREAM_URLS names none. */
  readonly upstream: (UpstreamPort & { close(): Promise<void>; deadLetters: UpstreamPush['deadLetters']; queue: UpstreamPush['queue'] }) | undefined;
  close(): Promise<void>;
}

export interface IntakeDeps {
  http: FastifyInstance;
  config: Config['intake'];
  tickets: TicketStore;
  redis: Redis;
  prefix: string;
  connection: ConnectionOptions;
  log: Logger;
  now: () => number;
  instanceId: string;
  /** Run the push worker in this process (the app's `ticketWorker` option). */
  worker: boolean;
  /** The app's idempotent after-change work (repeat link, clocks, webhook), re-run on a repeated delivery. */
  resync?: (st: StoredTicket) => Promise<void>;
}

export async function registerIntake(d: IntakeDeps): Promise<IntakeFeature> {
  const service = new IntakeService({ tickets: d.tickets, now: d.now, instanceId: d.instanceId, ...(d.resync ? { resync: d.resync } : {}) });
  const up = d.config.upstream;
  const targets = new Map<UpstreamPlatform, UpstreamTarget>(Object.entries(up.urls).map(([p, url]) => [p as UpstreamPlatform, { url, secret: up.secrets[p]! }]));
  const upstream = targets.size
    ? new UpstreamPush({ connection: d.connection, prefix: d.prefix, targets, attempts: up.attempts, backoffMs: up.backoffMs, log: d.log, worker: d.worker, now: d.now })
    : undefined;
  if (upstream) {
    // Every committed state change of a work order goes back to its platform (idempotent per version).
    d.tickets.onChange(async (st, previous) => {
      if (st.ticket.upstream && (!previous || previous.state !== st.ticket.state)) await upstream.pushState(st.ticket, st.version);
    });
  }
  await d.http.register(intakeRoutes, {
    service,
    channelSecrets: d.config.secrets,
    platformSecrets: up.secrets,
    replayWindowSec: d.config.replayWindowSec,
    now: d.now,
    form: { enabled: d.config.formEnabled, perHour: d.config.formPerHour, redis: d.redis, prefix: d.prefix },
    ...(upstream ? { upstream } : {}),
  });
  return { service, upstream, close: async () => upstream?.close() };
}
