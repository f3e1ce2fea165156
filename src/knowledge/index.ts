/**
 * The knowledge-base feature (知识库) in one registration: its service and
 * routes on the app's HTTP server, with explicit dependencies.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { fileURLToPath } from 'node:url';
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

/** prompts/recorded relative to this module (src/knowledge → repo root): recorded answers win over TTS. */
const RECORDED_DIR = fileURLToPath(new URL('../../prompts/recorded', import.meta.url));

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
    recordedDir: RECORDED_DIR,
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
