/**
 * What a call session needs from the pure parts (IVR flows, routing, tickets),
 * as narrow types. The composition root binds them to the real modules.
 */

import type { IvrCommand, IvrInput, Media, StartContext, TicketLookupResult } from '../ivr/types.js';

export type FlowMedia = Media;
export type FlowCommand = IvrCommand;
export type FlowInput = IvrInput;
export type TicketStatusResult = TicketLookupResult;

export interface FlowStep {
  state: unknown;
  commands: FlowCommand[];
}

/** The IVR as the session drives it (bound to ivr/engine.ts by the composition root). */
export interface CallFlow {
  start(ctx: { decision: RouteDecision; language: string; source: string; now: number }): FlowStep;
  /** Inputs include `agent-hung-up`, which starts the satisfaction survey. */
  next(state: unknown, input: FlowInput, now: number): FlowStep;
}

export type { StartContext };

/** Where a call goes, as the routing resolver decides it (routing/resolve.ts). */
export type { RouteDecision } from '../routing/resolve.js';
import type { RouteDecision } from '../routing/resolve.js';

export type TicketStatusLookup = (ticketNo: string) => Promise<TicketStatusResult>;
