/**
 * The real pure parts for a city: its IVR flows, its routing table and the
 * ticket status lookup, bound to the session's ports.
 */
import type { AppParts } from '../app.js';
import type { Config } from '../config/index.js';
import { buildDefaultFlows } from '../ivr/default-flow.js';
import type { TicketStore } from '../tickets/store.js';
import { createCallFlow } from './flow-binding.js';
import type { RouteDecision } from './ports.js';

export async function defaultCallFlow(config: Config, tickets: TicketStore): Promise<AppParts> {
  const flows = buildDefaultFlows();
  return {
    flow: createCallFlow({ flows }),
    resolveRoute: ({ dialed }): RouteDecision => ({
      action: 'hotline',
      routeId: `${config.city}:12345`,
      skill: 'general',
      priority: 0,
      announce: [],
      expertFirst: false,
      why: [`${dialed}: routing table not loaded yet; 12345 flow`],
    }),
    lookupTicket: async (ticketNo) => {
      const t = await tickets.get(ticketNo);
      if (!t) return { found: false };
      return { found: true, status: t.status, unitName: '' };
    },
  };
}
