/**
 * The real pure parts for a city — its IVR flows, its routing table (the
 * seeds' preset, then whatever admins publish) and the ticket status lookup —
 * bound to the session's ports, with their lifecycle.
 *
 * @remarks
 * Calls never wait on Redis for routing: the resolver reads an in-memory table
 * that starts as the city preset and is swapped when a new version is
 * published (live reload over pub/sub). If Redis is unreachable at boot the
 * preset keeps routing calls.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { loadCatalogue, missingFlowPrompts } from '../ivr/catalogue.js';
import { validateFlows } from '../ivr/validate.js';
import type { FieldError } from '../routing/validate.js';
import { dialLoopProblem, OWN_STASIS_CONTEXTS, type LoopGuardOptions } from '../routing/loops.js';
import { ENGINE_PROMPTS } from '../ivr/engine.js';
import type { ArticlePrompt, Flow } from '../ivr/types.js';
import { buildDefaultFlows } from '../ivr/default-flow.js';
import type { RoutingTable } from '../routing/model.js';
import { loadPreset } from '../routing/presets.js';
import { resolveCall } from '../routing/resolve.js';
import { PublishScheduler } from '../routing/scheduler.js';
import { RoutingStore, type LiveRoutingTable } from '../routing/store.js';
import type { TicketStore } from '../tickets/store.js';
import { createCallFlow } from './flow-binding.js';
import type { CallFlow, RouteDecision, TicketStatusLookup } from './ports.js';
import type { CallSource } from './record.js';

/** Prompts the session itself plays (queue announcements, callbacks, caller limits). */
export const SESSION_PROMPTS = [
  'queue-position-before',
  'queue-position-after',
  'queue-wait-before',
  'queue-wait-minutes',
  'callback-offer',
  'callback-confirmed',
  'caller-limit-notice',
  'silent-call-notice',
] as const;

/** Every prompt the flows, the engine, the session and the routing table may play that has no catalogue entry. */
export function missingPromptsInUse(flows: Record<string, Flow>, table: RoutingTable, catalogue: Record<string, unknown>): string[] {
  const extra = new Set<string>([...ENGINE_PROMPTS, ...SESSION_PROMPTS]);
  for (const r of table.routes) for (const id of Object.values(r.prompts ?? {})) if (id) extra.add(id);
  return missingFlowPrompts(flows, catalogue as Parameters<typeof missingFlowPrompts>[1], extra);
}

/** The flows calls run with a table: the built-in ones, replaced by the table's own of the same id. */
export function flowsOf(defaults: Record<string, Flow>, table: { flows?: Record<string, unknown> }): Record<string, Flow> {
  return { ...defaults, ...((table.flows ?? {}) as Record<string, Flow>) };
}

/** The IVR side of a table's validation: its flows, and the flow ids its routes name. */
export function validateTableFlows(
  table: unknown,
  defaults: Record<string, Flow>,
  catalogue: Record<string, unknown>,
  loops: Pick<LoopGuardOptions, 'ownContexts' | 'carrierEndpoints'> = {},
): FieldError[] {
  const t = table as RoutingTable;
  const flows = flowsOf(defaults, t);
  const errors: FieldError[] = validateFlows(flows, { catalogue: catalogue as never }).map((e) => {
    const i = e.indexOf(': ');
    return { field: `flows.${e.slice(0, i)}`, message: e.slice(i + 2) };
  });
  // A flow's transfer node dials its target like a route's: it must not lead back into our own app.
  const guard: LoopGuardOptions = { ...loops, ownNumbers: t.routes.flatMap((r) => (r.mode === 'linkage' ? [] : r.numbers)), dialCodes: t.areas.flatMap((a) => (a.dialCode ? [a.dialCode] : [])) };
  for (const [flowId, flow] of Object.entries(t.flows ?? {})) {
    const nodes = (flow as { nodes?: Record<string, { type?: string; target?: unknown }> }).nodes ?? {};
    for (const [nodeId, node] of Object.entries(nodes)) {
      if (node?.type !== 'transfer' || typeof node.target !== 'string') continue;
      const problem = dialLoopProblem(node.target, guard);
      if (problem) errors.push({ field: `flows.${flowId}.nodes.${nodeId}.target`, message: `"${node.target}" ${problem}` });
    }
  }
  if (!flows[t.defaultFlow]) errors.push({ field: 'defaultFlow', message: `unknown flow "${t.defaultFlow}"` });
  t.routes.forEach((r, i) => {
    const id = (r as { flowId?: string }).flowId;
    if (id && !flows[id]) errors.push({ field: `routes[${i}].flowId`, message: `unknown flow "${id}"` });
  });
  return errors;
}

export interface DefaultParts {
  flow: CallFlow;
  resolveRoute: (q: { dialed: string; source: CallSource; at: Date; area?: string }) => RouteDecision;
  lookupTicket: TicketStatusLookup;
  routing: RoutingStore;
  scheduler: PublishScheduler;
  /** The table calls are routed by now, and its version (0: the preset, not yet published). */
  current(): { table: RoutingTable; version: number };
  /** A flow binding for any table (test-dial of a draft). */
  flowFor(table: RoutingTable): CallFlow;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createDefaultParts(
  config: Config,
  deps: {
    redis: Redis;
    tickets: TicketStore;
    log: Logger;
    seatGroups?: () => Promise<Iterable<string>>;
    /** Knowledge-base answers the flows' `article` nodes may read (published, current). */
    articles?: (now: number) => Record<string, ArticlePrompt>;
  },
): DefaultParts {
  const log = deps.log.child({ component: 'routing' });
  const preset = loadPreset(config.city);
  const catalogue = loadCatalogue();
  const loops = { ownContexts: [...new Set([...OWN_STASIS_CONTEXTS, config.carrierContext])] };
  let table: RoutingTable = preset;
  let version = 0;
  let live: LiveRoutingTable | undefined;
  const routing = new RoutingStore({
    redis: deps.redis,
    // Published tables may only name prompts that exist (a missing prompt would be silence),
    // and the flows they carry must validate as the built-in ones do.
    // A target into any context that reaches our app is a loop, the configured carrier context included.
    validate: { prompts: catalogue, loops },
    extraValidate: (t) => validateTableFlows(t, flows, catalogue, loops),
    ...(deps.seatGroups ? { seatGroups: deps.seatGroups } : {}),
    keyPrefix: `${config.keyPrefix}:routing:${config.city}:`,
    onAuditError: (err) => log.warn({ err: String(err) }, 'routing audit failed'),
  });
  const flows = buildDefaultFlows();
  const scheduler = new PublishScheduler({ redis: deps.redis, keyPrefix: `${config.keyPrefix}:routing:${config.city}:`, store: routing, log });
  // Checked at start: a prompt without a catalogue entry has no sound file, and a caller would hear silence.
  const missing = missingPromptsInUse(flows, preset, catalogue);
  if (missing.length > 0) log.error({ missing }, 'prompts used by flows or routes are missing from the catalogue');
  return {
    flow: createCallFlow({ flows: () => flowsOf(flows, table), ...(deps.articles ? { articles: deps.articles } : {}) }),
    flowFor: (t) => createCallFlow({ flows: flowsOf(flows, t), ...(deps.articles ? { articles: deps.articles } : {}) }),
    // The call's area (from its inbound trunk) selects the list; the configured area is the default.
    resolveRoute: ({ dialed, source, at, area }) =>
      resolveCall(table, { dialed, source, at, ...((area ?? config.area) ? { area: area ?? config.area } : {}) }),
    lookupTicket: async (ticketNo) => {
      const t = await deps.tickets.get(ticketNo);
      if (!t) return { found: false };
      return { found: true, status: t.status, unitName: '' };
    },
    routing,
    scheduler,
    current: () => ({ table, version }),
    async start() {
      try {
        const published = await routing.bootstrap(preset);
        table = published.table;
        version = published.version;
        live = await routing.watch({ onError: (err) => log.warn({ err: String(err) }, 'routing refresh failed; keeping the last table') });
        live.onChange((v) => {
          table = v.table;
          version = v.version;
          log.info({ version: v.version }, 'routing table reloaded');
        });
        log.info({ version }, 'routing table loaded');
        scheduler.start();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'routing store unavailable at start; routing by the city preset');
      }
    },
    async stop() {
      scheduler.stop();
      await live?.close();
    },
  };
}
