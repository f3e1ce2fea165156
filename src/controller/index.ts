/**
 * The answer-rate controller as a feature: a port the ACD and the call path read from the start, the
 * runner once the ACD exists, and its routes. `buildApp` wires it in a few lines.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuditLog } from '../access/audit.js';
import type { AcdConfig } from '../acd/model.js';
import type { Acd } from '../acd/service.js';
import type { Config } from '../config/index.js';
import { defaultControllerConfig } from './model.js';
import type { ControllerPort, QueueTuning } from './port.js';
import { controllerRoutes } from './routes.js';
import { ControllerRunner } from './runner.js';

/** The port handed to the ACD and the sessions before the runner exists; forwards to it afterwards. */
export class ControllerPortSlot implements ControllerPort {
  private target: ControllerPort | undefined;
  attach(p: ControllerPort): void {
    this.target = p;
  }
  tuning(skill: string): QueueTuning | undefined {
    return this.target?.tuning(skill);
  }
}

export interface ControllerFeatureDeps {
  http: FastifyInstance;
  redis: Redis;
  instanceId: string;
  acd: Acd;
  acdConfig: AcdConfig;
  config: Config['controller'];
  audit: AuditLog;
  logger: Logger;
  port: ControllerPortSlot;
  clock?: () => number;
}

export async function registerController(d: ControllerFeatureDeps): Promise<ControllerRunner> {
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
  await d.http.register(controllerRoutes, { runner, audit: d.audit });
  return runner;
}
