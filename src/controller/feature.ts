/**
 * The answer-rate controller (接通率): one leader instance watches the queues' sliding windows and
 * tunes the queue rules (overflow, callback offers, announcements, lending seat groups) through the
 * port the ACD feature holds; its routes are the supervisor's panel.
 */
import type { AccessServices } from '../access/feature.js';
import type { AcdServices } from '../acd/feature.js';
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import { createController } from './index.js';
import { controllerRoutes } from './routes.js';
import type { ControllerRunner } from './runner.js';

export interface ControllerServices {
  /** The answer-rate controller's runner. */
  readonly controller: ControllerRunner;
}

export function controllerFeature(core: Core, deps: { acd: Pick<AcdServices, 'acd' | 'acdConfig' | 'tuning'>; access: Pick<AccessServices, 'audit'> }): ControllerServices & Feature {
  const { log } = core;
  const controller = createController({
    redis: core.redis,
    instanceId: core.instanceId,
    acd: deps.acd.acd,
    acdConfig: deps.acd.acdConfig,
    config: core.config.controller,
    logger: log,
    port: deps.acd.tuning,
  });
  return {
    name: 'controller',
    controller,
    async routes(http) {
      await http.register(controllerRoutes, { runner: controller, audit: deps.access.audit });
    },
    async start() {
      await controller.start().catch((err: Error) => log.error({ err: err.message }, 'answer-rate controller failed to start'));
    },
    async stop(step) {
      await step('controller', controller.stop());
    },
  };
}
