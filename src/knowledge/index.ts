/**
 * The knowledge base (知识库): its service with explicit dependencies; the feature
 * (knowledge/feature.ts) adds its routes and lifecycle.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { join } from 'node:path';
import type { AuditPort } from '../access/audit.js';
import type { Config } from '../config/index.js';
import { redisKey } from '../util/redis-keys.js';
import { KnowledgeBase } from './service.js';

export { KnowledgeBase } from './service.js';
export type { KnowledgeRef } from './service.js';

export interface KnowledgeFeature {
  readonly kb: KnowledgeBase;
  start(): Promise<void>;
  stop(): void;
}

export function createKnowledge(d: { redis: Redis; keyPrefix: string; log: Logger; audit: AuditPort; now: () => number; config: Config['knowledge'] }): KnowledgeFeature {
  const kb = new KnowledgeBase({
    redis: d.redis,
    // `<prefix>:kb:…`, the names it shipped with.
    prefix: redisKey(d.keyPrefix, 'kb'),
    log: d.log.child({ component: 'knowledge' }),
    audit: d.audit,
    now: d.now,
    promptsDir: d.config.promptsDir,
    // A recorded answer dropped at <dir>/recorded/<lang>/hotline/kb-<id>.wav wins over synthesis at publish.
    recordedDir: join(d.config.promptsDir, 'recorded'),
    remindDays: d.config.remindDays,
  });
  return {
    kb,
    // Its own subscriber connection: a subscribed ioredis connection can do nothing else.
    start: () => kb.start(d.redis.duplicate()),
    stop: () => kb.close(),
  };
}
