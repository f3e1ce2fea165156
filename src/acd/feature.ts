/**
 * The ACD: seats, seat groups, agents' states and the queue, dispatched across instances through
 * Redis; the seat groups the city's shipped table names; and the agents' console event stream
 * (agent states here, call pops and hand-off notices from the calls feature).
 */
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import { ConsoleEvents } from '../http/events.js';
import type { AmiPbx } from '../telephony/ami-pbx.js';
import { defaultAcdConfig } from './model.js';
import { loadSeatFile } from './seat-files.js';
import { Acd } from './service.js';
import { migrateLegacyAcdKeys } from './key-migration.js';
import { keyNamespace } from '../util/redis-keys.js';

export interface AcdServices {
  readonly acd: Acd;
  /** What is pushed to the agent consoles. */
  readonly events: ConsoleEvents;
}

export function acdFeature(core: Core, deps: { ami: AmiPbx | undefined }): AcdServices & Feature {
  const { config, log, opts } = core;
  // `<prefix>:acd:…`; before, the prefix was glued to the name (`hotlineagent:1001`): migrated at start.
  const keyPrefix = keyNamespace(core.prefix, 'acd');
  const acd = new Acd({
    redis: core.redis,
    keyPrefix,
    instanceId: core.instanceId,
    logger: log,
    config: defaultAcdConfig({
      dialTemplate: config.acd.dialTemplate,
      requireRegistration: config.acd.requireRegistration,
      noAnswerSec: config.acd.noAnswerSec,
      wrapUpSec: config.acd.wrapUpSec,
      ...opts.acdOverrides,
    }),
  });
  if (deps.ami) acd.attachPbx(deps.ami);
  const events = new ConsoleEvents();
  acd.onAgentEvent((e) => {
    if (e.type === 'agent') events.publish({ type: 'agent-state', agentId: e.agentId, state: e.state, reason: e.reason, at: e.at });
  });
  return {
    name: 'acd',
    acd,
    events,
    async start() {
      await migrateLegacyAcdKeys(core.redis, core.prefix, keyPrefix)
        .then((m) => {
          if (m.renamed > 0) log.info({ renamed: m.renamed }, 'ACD keys moved to the <prefix>:acd: layout');
          if (m.kept.length > 0) log.warn({ kept: m.kept.slice(0, 20), count: m.kept.length }, 'old ACD keys left in place: their new names already hold data');
        })
        .catch((err: Error) => log.warn({ err: err.message }, 'ACD key migration not run; retried at the next start'));
      await acd.start().catch((err: Error) => log.error({ err: err.message }, 'ACD failed to start'));
      // The seat groups the city's shipped table names (data/seats/<city>.json), created once when missing.
      const seatFile = loadSeatFile(config.city);
      if (seatFile === undefined) return;
      await acd
        .ensureGroups(seatFile)
        .then((r) => (r.ok ? undefined : log.error({ errors: r.errors }, 'seat file invalid')))
        .catch((err: Error) => log.warn({ err: err.message }, 'seat groups not created'));
    },
    async stop(step) {
      await step('acd', acd.stop());
    },
  };
}
