/**
 * The knowledge-base feature (知识库) in one registration: its service and
 * routes on the app's HTTP server, with explicit dependencies.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { join } from 'node:path';
import type { AuditPort } from '../access/audit.js';
import type { Config } from '../config/index.js';
import { knowledgeRoutes } from './routes.js';
import { KnowledgeBase } from './service.js';

export { KnowledgeBase } from './service.js';
export type { KnowledgeRef } from './service.js';

export interface KnowledgeFeature {
  readonly kb: KnowledgeBase;
  start(): Promise<void>;
  stop(): void;
}

export async function registerKnowledge(
  http: FastifyInstance,
  d: { redis: Redis; keyPrefix: string; log: Logger; audit: AuditPort; now: () => number; config: Config['knowledge'] },
): Promise<KnowledgeFeature> {
  const kb = new KnowledgeBase({
    redis: d.redis,
    prefix: `${d.keyPrefix}:kb`,
    log: d.log.child({ component: 'knowledge' }),
    audit: d.audit,
    now: d.now,
    promptsDir: d.config.promptsDir,
    // A recorded answer dropped at <dir>/recorded/<lang>/hotline/kb-<id>.wav wins over synthesis at publish.
    recordedDir: join(d.config.promptsDir, 'recorded'),
    remindDays: d.config.remindDays,
  });
  await http.register(knowledgeRoutes, { kb, publicRatePerMinute: d.config.publicRatePerMinute });
  return {
    kb,
    // Its own subscriber connection: a subscribed ioredis connection can do nothing else.
    start: () => kb.start(d.redis.duplicate()),
    stop: () => kb.close(),
  };
}
