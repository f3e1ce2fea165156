/**
 * The answer-rate controller: a port the ACD and the call path read from the start (the ACD
 * feature holds it), the runner once the ACD exists, and its routes. Wired by controller/feature.ts.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AcdConfig } from '../acd/model.js';
import type { Acd } from '../acd/service.js';
import type { Config } from '../config/index.js';
import { defaultControllerConfig } from './model.js';
import type { ControllerPortSlot } from './port.js';
import { ControllerRunner } from './runner.js';

export { ControllerPortSlot } from './port.js';

export interface ControllerDeps {
  redis: Redis;
  instanceId: string;
  acd: Acd;
  acdConfig: AcdConfig;
  config: Config['controller'];
  logger: Logger;
  port: ControllerPortSlot;
  clock?: () => number;
}

/** The runner, attached to the port the ACD and the sessions read. */
export function createController(d: ControllerDeps): ControllerRunner {
  const runner = new ControllerRunner({
    redis: d.redis,
    instanceId: d.instanceId,
    acd: d.acd,
    acdConfig: d.acdConfig,
    intervalSec: d.config.intervalSec,
    logger: d.logger,
    ...(d.clock ? { clock: d.clock } : {}),
    config: defaultControllerConfig({
      enabled: d.config.enabled,
      target: d.config.target,
      targets: { ...d.config.targets },
      maxLevel: d.config.maxLevel,
      releaseHoldSec: d.config.releaseHoldSec,
      lendGroups: [...d.config.lendGroups],
      wrapUpSec: d.acdConfig.wrapUpSec,
      priorHandleSec: d.acdConfig.averageHandleSec + d.acdConfig.wrapUpSec,
    }),
  });
  d.port.attach(runner);
  return runner;
}
