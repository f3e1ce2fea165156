/**
 * Routing and IVR: the city's routing table (preset, then published versions, live on every
 * instance), scheduled publishes, and the IVR flows calls run. Calls never wait on Redis for a
 * route: the resolver reads the table in memory.
 */
import type { Acd } from '../acd/service.js';
import { createDefaultParts, type DefaultParts } from '../calls/default-parts.js';
import type { CallFlow, RouteDecision } from '../calls/ports.js';
import type { CallSource } from '../calls/record.js';
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import type { KnowledgeServices } from '../knowledge/feature.js';

export interface RoutingServices {
  /** Routing store and the table in use, IVR flows. */
  readonly parts: DefaultParts;
  /** The flows calls run (the city's, or a test's own). */
  readonly flow: CallFlow;
  readonly resolveRoute: (q: { dialed: string; source: CallSource; at: Date; area?: string }) => RouteDecision;
  /** The handling unit a route names, if any (tickets take it as their unit). */
  routeUnit(routeId: string): string | undefined;
}

export function routingFeature(
  core: Core,
  deps: { acd: Pick<Acd, 'listGroups'>; knowledge: KnowledgeServices },
  own: { flow?: CallFlow; resolveRoute?: RoutingServices['resolveRoute'] } = {},
): RoutingServices & Feature {
  // Queue targets are checked against the ACD's seat groups on every draft save, publish and rollback.
  const parts = createDefaultParts(core.config, {
    redis: core.redis,
    log: core.log,
    seatGroups: async () => (await deps.acd.listGroups()).map((g) => g.id),
    // The flows' `article` nodes read the knowledge base's published answers, taken at call start.
    articles: (now) => deps.knowledge.knowledge.kb.ivrArticles(now),
  });
  return {
    name: 'routing',
    parts,
    flow: core.opts.flow ?? own.flow ?? parts.flow,
    resolveRoute: core.opts.resolveRoute ?? own.resolveRoute ?? parts.resolveRoute,
    routeUnit: (routeId) => parts.current().table.routes.find((r) => r.id === routeId)?.unit,
    async start() {
      await parts.start();
    },
    async stop(step) {
      await step('routing', parts.stop());
    },
  };
}
