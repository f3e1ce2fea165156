/**
 * The ACD: seats, seat groups, agents' states and the queue, dispatched across instances through
 * Redis; the seat groups the city's shipped table names; and the agents' console event stream
 * (agent states here, call pops and hand-off notices from the calls feature).
 */
import type { Config } from '../config/index.js';
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import { ConsoleEvents } from '../http/events.js';
import type { AmiPbx } from '../telephony/ami-pbx.js';
import type { AriTelephony } from '../telephony/ari-telephony.js';
import { ControllerPortSlot } from '../controller/port.js';
import { defaultAcdConfig, type AcdConfig, type QueueRule } from './model.js';
import { createSelfHealingAcd, type TrackedAcd } from './self-heal.js';
import { loadSeatFile, seatFileRules } from './seat-files.js';
import { Acd } from './service.js';
import { migrateLegacyAcdKeys } from './key-migration.js';
import { keyNamespace } from '../util/redis-keys.js';
import { ProxyRegistrations } from '../cluster/registrations.js';

export interface AcdServices {
  readonly acd: Acd;
  /** What is pushed to the agent consoles. */
  readonly events: ConsoleEvents;
  /** The ACD's settings (configuration + test overrides). */
  readonly acdConfig: AcdConfig;
  /** The answer-rate controller's tuning, read by the router and the sessions; the controller feature attaches to it. */
  readonly tuning: ControllerPortSlot;
  /** The sessions' ACD port: what is live is recorded and reconciled after reconnects and periodically (self-heal.ts). */
  readonly sessionsPort: TrackedAcd;
  /** Which calls are live (the calls feature tells). */
  bindLiveness(fn: (callId: string) => boolean): void;
}

/**
 * The ACD's settings: the defaults, the configuration's, the city's seat-file queue rules (e.g.
 * Zhengzhou's general queue overflows to the peak seats after 60 s or beyond 15 waiting) over the
 * default rules skill by skill, then a test's overrides.
 */
export function acdConfigFor(config: Pick<Config, 'acd'>, seatRules: Record<string, QueueRule>, overrides: Partial<AcdConfig> = {}): AcdConfig {
  const base = defaultAcdConfig();
  return defaultAcdConfig({
    dialTemplate: config.acd.dialTemplate,
    requireRegistration: config.acd.requireRegistration,
    noAnswerSec: config.acd.noAnswerSec,
    wrapUpSec: config.acd.wrapUpSec,
    rules: { ...base.rules, ...seatRules },
    ...overrides,
  });
}

export function acdFeature(core: Core, deps: { ami: AmiPbx | undefined; telephony: Pick<AriTelephony, 'onLinkState'> }): AcdServices & Feature {
  const { config, log, opts, metrics } = core;
  // `<prefix>:acd:…`; before, the prefix was glued to the name (`hotlineagent:1001`): migrated at start.
  const keyPrefix = keyNamespace(core.prefix, 'acd');
  // The city's shipped seat table: its queue rules now, its groups at start (created when missing).
  const seatFile = loadSeatFile(config.city);
  const seat = seatFileRules(seatFile);
  if (seat.errors.length) log.error({ errors: seat.errors }, 'seat file invalid: its queue rules are not used');
  const acdConfig = acdConfigFor(config, seat.rules, {
    // Agents talking on a dead instance's stored call stay busy until it is adopted (calls/durable-store.ts).
    callStateKeyPrefix: keyNamespace(core.prefix, 'callstate'),
    ...opts.acdOverrides,
  });
  // The answer-rate controller's tuning, read by the ACD router and the sessions (src/controller).
  const tuning = new ControllerPortSlot();
  const acd = new Acd({ redis: core.redis, keyPrefix, instanceId: core.instanceId, logger: log, config: acdConfig, tuning });
  // Agents' registrations: from the cluster's SIP proxy when it is named (agents register there), else the node's AMI.
  const proxyRegs = config.cluster.registrationsUrl
    ? new ProxyRegistrations({ url: config.cluster.registrationsUrl, pollMs: config.cluster.registrationsPollMs, log: log.child({ component: 'proxy-registrations' }) })
    : undefined;
  if (proxyRegs) acd.attachPbx(proxyRegs);
  else if (deps.ami) acd.attachPbx(deps.ami);
  const events = new ConsoleEvents();
  acd.onAgentEvent((e) => {
    if (e.type === 'agent') events.publish({ type: 'agent-state', agentId: e.agentId, state: e.state, reason: e.reason, at: e.at });
  });
  // The sessions' ACD port, reconciled with the live calls after reconnects and periodically.
  const healing = createSelfHealingAcd({
    acd,
    instanceId: core.instanceId,
    log,
    now: core.now,
    intervalMs: config.acd.healSec * 1000,
    callbackExpirySec: defaultAcdConfig(opts.acdOverrides).callback.expirySec,
    redis: core.redis,
    telephony: deps.telephony,
    onHealed: (k, n) => metrics.acdHealedOf(k, n),
  });
  return {
    name: 'acd',
    acd,
    events,
    acdConfig,
    tuning,
    sessionsPort: healing.port,
    bindLiveness: (fn) => healing.bindLiveness(fn),
    async start() {
      await migrateLegacyAcdKeys(core.redis, core.prefix, keyPrefix)
        .then((m) => {
          if (m.renamed > 0) log.info({ renamed: m.renamed }, 'ACD keys moved to the <prefix>:acd: layout');
          if (m.kept.length > 0) log.warn({ kept: m.kept.slice(0, 20), count: m.kept.length }, 'old ACD keys left in place: their new names already hold data');
        })
        .catch((err: Error) => log.warn({ err: err.message }, 'ACD key migration not run; retried at the next start'));
      await acd.start().catch((err: Error) => log.error({ err: err.message }, 'ACD failed to start'));
      // The seat groups the city's shipped table names (data/seats/<city>.json), created once when missing.
      if (seatFile !== undefined) {
        await acd
          .ensureGroups(seatFile)
          .then((r) => (r.ok ? undefined : log.error({ errors: r.errors }, 'seat file invalid')))
          .catch((err: Error) => log.warn({ err: err.message }, 'seat groups not created'));
      }
    },
    // Healing starts with the calls (it judges the calls the call manager holds) and stops with them.
    open() {
      healing.start();
      proxyRegs?.start();
    },
    async close() {
      healing.stop();
      proxyRegs?.stop();
    },
    async stop(step) {
      await step('acd', acd.stop());
    },
  };
}
