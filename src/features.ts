/**
 * Features: how the server is put together. Each area (access, telephony, acd, routing, tickets,
 * recording, calls, …) exposes one registration in `src/<area>/feature.ts`: a function taking its
 * dependencies explicitly (typed: the services of the features it needs) and returning its services
 * plus a {@link Feature} — its Fastify plugins, its start and its stop. `buildApp` (src/app.ts) lists
 * the features in order; this module runs them: routes and start in that order, stop in reverse.
 *
 * Adding a feature: write `src/<area>/feature.ts` exporting `xFeature(core, deps)`, and add one line
 * to the list in `buildApp` after the features it depends on. See ARCHITECTURE.md.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from './log/logger.js';
import { withTimeout } from './telephony/limits.js';

/** A bounded stop step: a part that hangs (a Redis that is gone) must not keep the process from stopping. */
export type StopStep = (what: string, work: Promise<unknown> | unknown) => Promise<void>;

export interface Feature {
  /** For logs and stop steps. */
  readonly name: string;
  /** Its Fastify plugins, registered when the app is built, in list order (the access feature's first of the routes). */
  routes?(http: FastifyInstance): Promise<void>;
  /** Load state, connect its stores, schedule its jobs; in list order. Errors it can survive are logged, not thrown. */
  start?(): Promise<void>;
  /** Open to the outside once every feature has started and listens (the PBX link); in list order. */
  open?(): Promise<void> | void;
  /** Stop taking work from the outside (calls, the PBX link); in reverse order, before any stop. */
  close?(step: StopStep): Promise<void>;
  /** Release what it holds, each part through `step`; in reverse order. */
  stop?(step: StopStep): Promise<void>;
}

/** Register every feature's routes, in list order. */
export async function registerRoutes(http: FastifyInstance, features: readonly Feature[]): Promise<void> {
  for (const f of features) await f.routes?.(http);
}

/** Start and stop a list of features: start (then open) in order, close (then stop) in reverse. Idempotent start. */
export function lifecycle(features: readonly Feature[], log: Logger, stepTimeoutMs = 3000): { start(): Promise<void>; stop(): Promise<void> } {
  let started = false;
  const step: StopStep = (what, work) =>
    withTimeout(Promise.resolve(work), stepTimeoutMs, what).then(
      () => undefined,
      (err: Error) => log.warn({ err: err.message }, 'stop step failed'),
    );
  return {
    async start() {
      if (started) return;
      started = true;
      for (const f of features) await f.start?.();
      for (const f of features) await f.open?.();
    },
    async stop() {
      const reversed = [...features].reverse();
      for (const f of reversed) await f.close?.(step);
      for (const f of reversed) await f.stop?.(step);
    },
  };
}
