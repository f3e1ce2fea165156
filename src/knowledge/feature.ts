/**
 * The knowledge base (知识库): articles with versions and review, the Chinese search index shared
 * across instances, the editor and public pages, the agents' suggestions (the calls feature's agent
 * routes read it) and the IVR's article answers (the routing feature's flows read it).
 */
import type { AccessServices } from '../access/feature.js';
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import { createKnowledge, type KnowledgeFeature } from './index.js';
import { knowledgeRoutes } from './routes.js';

export interface KnowledgeServices {
  /** The knowledge base (知识库). */
  readonly knowledge: KnowledgeFeature;
}

export function knowledgeFeature(core: Core, deps: { access: Pick<AccessServices, 'audit'> }): KnowledgeServices & Feature {
  const { config, log } = core;
  const knowledge = createKnowledge({ redis: core.redis, keyPrefix: core.prefix, log, audit: deps.access.audit, now: core.now, config: config.knowledge });
  return {
    name: 'knowledge',
    knowledge,
    async routes(http) {
      await http.register(knowledgeRoutes, { kb: knowledge.kb, publicRatePerMinute: config.knowledge.publicRatePerMinute });
    },
    async start() {
      await knowledge.start().catch((err: Error) => log.warn({ err: err.message }, 'knowledge base not loaded at start'));
    },
    async stop() {
      knowledge.stop();
    },
  };
}
