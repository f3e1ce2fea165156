/**
 * Configuration: read once from the environment at start, validated, frozen.
 *
 * @remarks
 * A missing or malformed value stops the process with one line naming the
 * variable (see {@link ConfigError}); secrets are never part of any message.
 * Modules receive the pieces they need from the composition root; nothing
 * imports this module to read globals.
 */
import { deriveNumberIdKey } from '../access/number-id.js';
import { parseHours } from '../campaigns/plan.js';
import { CITY_PRESETS, ENV_VARIABLES, validateEnv, type CityPreset, type EnvValue } from './schema.js';

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`configuration error: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export interface RedisSentinelConfig {
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  /** The monitored primary's name (sentinel.conf `sentinel monitor <name> …`). */
  readonly master: string;
  /** Password of the Sentinels themselves (requirepass in sentinel.conf), if any. */
  readonly password?: string;
}

export { CITY_PRESETS, ENV_VARIABLES, type CityPreset, type VariableReader, type VariableSchema } from './schema.js';

export interface Config {
  readonly ari: {
    readonly url: string;
    readonly user: string;
    readonly password: string;
    readonly app: string;
    /** Every ARI request settles within this many ms. */
    readonly requestTimeoutMs: number;
    /** At most this many ARI requests in flight (keeps Asterisk's http sessionlimit safe). */
    readonly maxInFlight: number;
    readonly pingIntervalMs: number;
    /** Only one instance drives the Asterisk: one started beside it waits as a standby (telephony/link-lock.ts). */
    readonly exclusive: boolean;
  };
  readonly ami: {
    readonly enabled: boolean;
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly secret: string;
  };
  readonly redisUrl: string;
  /**
   * Redis behind Sentinel (absent = the single server of `redisUrl`). The data nodes' password, db and
   * TLS still come from `redisUrl`; its host and port are then not used.
   */
  readonly redisSentinel?: RedisSentinelConfig;
  /**
   * Replicas that must hold a spooled ticket job before the outbox deletes its file (Redis `WAIT`):
   * with Sentinel, a job acknowledged only by a primary that dies the next moment would be lost.
   */
  readonly redisReplicaAcks: { readonly count: number; readonly timeoutMs: number };
  readonly keyPrefix: string;
  /**
   * More than one machine (README "More than one machine"): the Asterisk nodes of the cluster and this
   * server's own. Empty `node` = no cluster (one Asterisk): no takeover, registrations from AMI.
   */
  readonly cluster: {
    /** This server's node (CLUSTER_NODE); '' outside a cluster. */
    readonly node: string;
    /** Every node's ARI URL by name (CLUSTER_NODES), this one's included; all share ARI_USER/ARI_PASSWORD/ARI_APP. */
    readonly nodes: Readonly<Record<string, string>>;
    /** The SIP proxy's jsonrpc URL whose registrations the ACD follows instead of AMI's ('' = AMI). */
    readonly registrationsUrl: string;
    /** How often the proxy's registrations are read (ms). */
    readonly registrationsPollMs: number;
  };
  readonly http: {
    readonly host: string;
    readonly port: number;
    /**
     * Serve pages and APIs over HTTPS (absent = plain HTTP). Browsers give the agent console the
     * microphone only in a secure context: HTTPS, or http://localhost.
     */
    readonly tls?: HttpTls;
  };
  readonly city: CityPreset;
  readonly area: string;
  readonly logLevel: string;
  /** Directory for the ticket outbox spool (tickets waiting for Redis). */
  readonly dataDir: string;
  /** TICKET_OUTBOX_LINGER_MS: the outbox's group-commit wait. */
  readonly outboxLingerMs: number;
  readonly defaultLanguage: 'zh' | 'en';
  /** Dialplan context that citizens' calls come from (used by test-dial and tests). */
  readonly carrierContext: string;
  readonly access: {
    readonly jwtSecret: string;
    /** Key of the ids derived from phone numbers (NUMBER_ID_SECRET, else derived from JWT_SECRET; see access/number-id.ts). */
    readonly numberIdKey: string;
    readonly tokenTtlSec: number;
    /** scrypt parameters of new password hashes (PASSWORD_HASH_COST = log2 N). */
    readonly passwordHash: { readonly N: number; readonly r: number; readonly p: number };
    readonly cookieSecure: boolean;
    readonly loginMaxFailures: number;
    readonly loginWindowSec: number;
    readonly apiRatePerMinute: number;
    readonly auditRetain: number;
    /** First admin, created at start if no admin exists. */
    readonly bootstrapAdmin?: { readonly username: string; readonly password: string };
  };
  readonly recording: {
    readonly dir: string;
    readonly retentionDays: number;
    readonly qualitySamplePercent: number;
    /** Target average score (0-100) drawn on the quality trend. */
    readonly qualityTargetScore: number;
  };
  /** Knowledge base (src/knowledge). */
  readonly knowledge: {
    /** Where published answers' prompts are written (Asterisk reads `<dir>/<lang>/hotline/`). */
    readonly promptsDir: string;
    readonly remindDays: number;
    readonly publicRatePerMinute: number;
  };
  readonly guard: {
    readonly maxCalls: number;
    readonly windowSec: number;
    readonly maxSilent: number;
    readonly priorityDelta: number;
  };
  readonly softphone: {
    /** SIP over WebSocket URL the agents' sip.js registers to (Asterisk http.conf /ws; wss:// in production). */
    readonly wsUrl: string;
    readonly sipDomain: string;
    /** STUN/TURN URLs for WebRTC; empty on an intranet without them (never a public default). */
    readonly iceServers: string[];
  };
  readonly acd: {
    /** Agent dial string; `{ext}` is the agent's extension. */
    readonly dialTemplate: string;
    readonly requireRegistration: boolean;
    readonly noAnswerSec: number;
    readonly wrapUpSec: number;
    readonly queueAnnounceEverySec: number;
    /** Seconds a hand-off target (sub-center, 110 …) may ring before the caller goes back to the agent. */
    readonly handoffRingSec: number;
    /** Seconds in the queue after which callers may press 1 for a callback (0 = never). */
    readonly callbackOfferAfterSec: number;
    /** Dial string for calling a citizen back; `{number}` is the citizen's number. */
    readonly callbackDialTemplate: string;
    readonly callbackRingSec: number;
    /** Seconds between reconciliations of the ACD state with live calls (0 = only after reconnects). */
    readonly healSec: number;
  };
  /** Durable call state (src/calls/durable-store.ts). */
  readonly callState: {
    /** An instance's lease on its calls: not renewed for this long, it is presumed dead and its calls are adopted. */
    readonly leaseMs: number;
  };
  /** Admission control (src/admission): limits beyond which new callers hear the busy announcement; 0 = off. */
  readonly admission: {
    readonly maxCalls: number;
    readonly maxQueue: number;
    readonly maxWaitSec: number;
    readonly ariMaxLatencyMs: number;
    readonly ariMaxBacklog: number;
    readonly maxPbxCalls: number;
    /** Most of the new citizens' calls the dialplan gate refuses (percent; 0 = no gate). */
    readonly gateMaxPercent: number;
  };
  /** Requests from other channels and higher platforms' work orders (src/intake/). */
  readonly intake: {
    /** Signing secret per channel kind; a channel without one is refused. */
    readonly secrets: Readonly<Record<string, string>>;
    readonly replayWindowSec: number;
    readonly formEnabled: boolean;
    readonly formPerHour: number;
    readonly upstream: {
      /** Secret per platform: verifies its work orders, signs our pushes. */
      readonly secrets: Readonly<Record<string, string>>;
      /** Push target per platform. */
      readonly urls: Readonly<Record<string, string>>;
      readonly attempts: number;
      readonly backoffMs: number;
    };
  };
  /** The answer-rate controller (src/controller). */
  readonly controller: {
    readonly enabled: boolean;
    readonly target: number;
    /** Per line targets, e.g. { '12333': 0.95 }. */
    readonly targets: Readonly<Record<string, number>>;
    readonly intervalSec: number;
    readonly maxLevel: number;
    readonly releaseHoldSec: number;
    /** Seat groups lent to general calls at the top level. */
    readonly lendGroups: readonly string[];
  };
  /** Outbound calls to citizens from a ticket (src/outbound/). */
  readonly outbound: {
    /** Caller id the citizen sees (the hotline's number). */
    readonly callerId: string;
    /** Softphone extensions of non-agent users (unit users): username → extension, dialled via AGENT_DIAL_TEMPLATE. */
    readonly userExtensions: Readonly<Record<string, string>>;
    readonly maxPerUserDay: number;
    readonly maxPerTicketDay: number;
    /** Seconds the user's own phone may ring before the attempt is given up. */
    readonly userRingSec: number;
  };
  /** 回访 campaigns' defaults (src/campaigns/): a supervisor may set each per campaign. */
  readonly campaigns: {
    /** Allowed hours, city time, on working days: `09:00-12:00,14:00-20:00`. */
    readonly hours: string;
    readonly retries: number;
    readonly retryIntervalSec: number;
    readonly concurrency: number;
    /** Survey calls one instance runs at once (all campaigns together). */
    readonly maxCalls: number;
  };
  /** GET /metrics: allowed with the bearer token (when set) or from these networks. */
  readonly metrics: { readonly token: string; readonly allow: readonly string[] };
  /** 督办 and 红黄蓝榜 (src/supervision): the district's 双率 requirement and the orders' deadline. */
  readonly supervision?: {
    /** 0..1 */
    readonly satisfactionMin: number;
    readonly onTimeMin: number;
    readonly redMin: number;
    readonly minSample: number;
    readonly orderWorkingDays: number;
  };
  readonly tickets: {
    /** SLA policy id (data/sla/<id>.json); empty = the city's own policy. */
    readonly slaPolicy: string;
    /** Same caller, unit and category within this many days = a repeat request (0 = off). */
    readonly repeatWindowDays: number;
    /** 审核: working hours the centre's reviewer has for a unit's reply (0 = replies are not reviewed). */
    readonly replyReviewHours?: number;
    /** Delivery to the city's work-order system; absent when no URL is set. */
    readonly webhook?: {
      readonly url: string;
      readonly secret: string;
      readonly fullNumbers: boolean;
      readonly attempts: number;
      readonly backoffMs: number;
    };
  };
}

/** The server's certificate (chain) and private key, read and checked at start. */
export interface HttpTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM: the server certificate first, then any intermediates. */
  readonly cert: string;
  /** PEM private key (never logged: {@link describeConfig}). */
  readonly key: string;
  /** The certificate's names (subjectAltName) and expiry, for the start-up log. */
  readonly names: string;
  readonly validTo: string;
}


type Env = Record<string, string | undefined>;

/** Several variables wrong at once: {@link ConfigError.variable} is the first, {@link problems} all of them. */
export class ConfigErrors extends ConfigError {
  constructor(readonly problems: readonly ConfigError[]) {
    super(problems[0]!.variable, problems.length === 1 ? problems[0]!.message.replace(/^configuration error: \S+ /, '') : `(and ${problems.length - 1} more)`);
    this.message = problems.map((p) => p.message).join('\n');
    this.name = 'ConfigErrors';
  }
}

/**
 * The schema's verdict ({@link validateEnv}: types, limits, patterns, required, defaults) plus the
 * problems only code can find (lists, files, rules across variables), so an operator fixes the whole
 * .env in one go. A variable that failed reads as a placeholder ('' / 0 / false) that is never used:
 * {@link loadConfig} throws once everything was read.
 */
class Reader {
  readonly problems: ConfigError[] = [];
  private readonly failed = new Set<string>();
  private readonly values: Record<string, EnvValue>;
  constructor(env: Env) {
    const { values, problems } = validateEnv(env);
    this.values = values;
    for (const p of problems) this.fail(new ConfigError(p.variable, p.problem));
  }

  fail(err: ConfigError): void {
    // One problem per variable: a missing value is not also "not a valid URL".
    if (this.failed.has(err.variable)) return;
    this.failed.add(err.variable);
    this.problems.push(err);
  }

  private value(name: string): EnvValue | undefined {
    // Reading a variable the schema does not declare is a programming error: it would be undocumented.
    if (!ENV_VARIABLES[name]) throw new Error(`${name} is not declared in src/config/schema.ts`);
    return this.failed.has(name) ? undefined : this.values[name];
  }

  str(name: string): string {
    const v = this.value(name);
    return v === undefined ? '' : String(v);
  }

  /** An `integer` variable. */
  int(name: string): number {
    return this.num(name);
  }

  /** A `number` (or `integer`) variable. */
  num(name: string): number {
    const v = this.value(name);
    return typeof v === 'number' ? v : 0;
  }

  bool(name: string): boolean {
    return this.value(name) === true;
  }

  /** A URL the schema accepted (`x-protocols`), without trailing slashes. */
  url(name: string): string {
    return this.str(name).replace(/\/+$/, '');
  }
}

/**
 * Read and validate the configuration. Every variable is read even after a
 * problem; throws {@link ConfigError} (one problem) or {@link ConfigErrors}
 * (several), each naming its variable.
 */
export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env);
  const city = r.str('HOTLINE_CITY') as CityPreset;
  const lang = r.str('HOTLINE_DEFAULT_LANGUAGE');
  const amiEnabled = r.bool('AMI_ENABLED');
  const logLevel = r.str('LOG_LEVEL');
  const config: Config = {
    ari: {
      url: r.url('ARI_URL'),
      user: r.str('ARI_USER'),
      password: r.str('ARI_PASSWORD'),
      app: r.str('ARI_APP'),
      requestTimeoutMs: r.int('ARI_REQUEST_TIMEOUT_MS'),
      maxInFlight: r.int('ARI_MAX_IN_FLIGHT'),
      pingIntervalMs: r.int('ARI_PING_INTERVAL_MS'),
      exclusive: r.bool('ARI_EXCLUSIVE'),
    },
    ami: {
      enabled: amiEnabled,
      host: r.str('AMI_HOST'),
      port: r.int('AMI_PORT'),
      user: r.str('AMI_USER'),
      secret: r.str('AMI_SECRET'),
    },
    redisUrl: r.url('REDIS_URL'),
    ...(() => {
      const sentinel = readRedisSentinel(r);
      return sentinel ? { redisSentinel: sentinel } : {};
    })(),
    redisReplicaAcks: { count: r.int('REDIS_REPLICA_ACKS'), timeoutMs: r.int('REDIS_REPLICA_ACK_TIMEOUT_MS') },
    keyPrefix: r.str('HOTLINE_KEY_PREFIX'),
    cluster: readCluster(r),
    http: (() => {
      const tls = readHttpTls(r, r.str('HTTP_TLS_CERT'), r.str('HTTP_TLS_KEY'));
      return { host: r.str('HTTP_HOST'), port: r.int('HTTP_PORT'), ...(tls ? { tls } : {}) };
    })(),
    city,
    area: r.str('HOTLINE_AREA'),
    logLevel,
    dataDir: r.str('HOTLINE_DATA_DIR'),
    outboxLingerMs: r.int('TICKET_OUTBOX_LINGER_MS'),
    defaultLanguage: lang === 'en' ? 'en' : 'zh',
    carrierContext: r.str('HOTLINE_CARRIER_CONTEXT'),
    access: (() => {
      const jwtSecret = r.str('JWT_SECRET');
      const numberIdSecret = r.str('NUMBER_ID_SECRET');
      const adminUser = r.str('HOTLINE_ADMIN_USER');
      const adminPassword = r.str('HOTLINE_ADMIN_PASSWORD');
      if (adminUser && (adminPassword.length < 10 || !/[A-Za-z]/.test(adminPassword) || !/\d/.test(adminPassword))) {
        r.fail(new ConfigError('HOTLINE_ADMIN_PASSWORD', 'must have at least 10 characters with letters and digits'));
      }
      return {
        jwtSecret,
        numberIdKey: numberIdSecret || deriveNumberIdKey(jwtSecret),
        tokenTtlSec: r.int('TOKEN_TTL_SEC'),
        passwordHash: { N: 2 ** r.int('PASSWORD_HASH_COST'), r: 8, p: 1 },
        cookieSecure: r.bool('COOKIE_SECURE'),
        loginMaxFailures: r.int('LOGIN_MAX_FAILURES'),
        loginWindowSec: r.int('LOGIN_WINDOW_SEC'),
        apiRatePerMinute: r.int('API_RATE_PER_MINUTE'),
        auditRetain: r.int('AUDIT_RETAIN'),
        ...(adminUser ? { bootstrapAdmin: { username: adminUser, password: adminPassword } } : {}),
      };
    })(),
    recording: {
      dir: r.str('RECORDINGS_DIR'),
      retentionDays: r.int('RECORDING_RETENTION_DAYS'),
      qualitySamplePercent: r.int('QUALITY_SAMPLE_PERCENT'),
      qualityTargetScore: r.int('QUALITY_TARGET_SCORE'),
    },
    knowledge: {
      promptsDir: r.str('KB_PROMPTS_DIR'),
      remindDays: r.int('KB_REMIND_DAYS'),
      publicRatePerMinute: r.int('KB_PUBLIC_RATE_PER_MINUTE'),
    },
    guard: {
      maxCalls: r.int('CALLER_MAX_CALLS'),
      windowSec: r.int('CALLER_WINDOW_SEC'),
      maxSilent: r.int('CALLER_MAX_SILENT'),
      priorityDelta: r.int('CALLER_LIMIT_PRIORITY_DELTA'),
    },
    softphone: {
      wsUrl: r.url('SOFTPHONE_WS_URL'),
      sipDomain: r.str('SOFTPHONE_SIP_DOMAIN'),
      iceServers: (() => {
        const raw = r.str('SOFTPHONE_ICE_SERVERS');
        const list = raw.split(',').map((x) => x.trim()).filter(Boolean);
        for (const u of list) {
          if (!/^(stun|turns?):[A-Za-z0-9.:-]+(\?transport=(udp|tcp))?$/.test(u)) r.fail(new ConfigError('SOFTPHONE_ICE_SERVERS', `has an invalid entry "${u}"`));
        }
        return list;
      })(),
    },
    acd: {
      dialTemplate: r.str('AGENT_DIAL_TEMPLATE'),
      requireRegistration: r.bool('ACD_REQUIRE_REGISTRATION'),
      noAnswerSec: r.int('ACD_NO_ANSWER_SEC'),
      wrapUpSec: r.int('ACD_WRAP_UP_SEC'),
      queueAnnounceEverySec: r.int('QUEUE_ANNOUNCE_EVERY_SEC'),
      handoffRingSec: r.int('HANDOFF_RING_SEC'),
      callbackOfferAfterSec: r.int('CALLBACK_OFFER_AFTER_SEC'),
      callbackDialTemplate: r.str('CALLBACK_DIAL_TEMPLATE'),
      callbackRingSec: r.int('CALLBACK_RING_SEC'),
      healSec: r.int('ACD_HEAL_SEC'),
    },
    callState: { leaseMs: r.int('CALL_STATE_LEASE_MS') },
    outbound: {
      callerId: r.str('OUTBOUND_CALLER_ID'),
      userExtensions: (() => {
        const out: Record<string, string> = {};
        for (const pair of r.str('OUTBOUND_USER_EXTENSIONS').split(',').map((x) => x.trim()).filter(Boolean)) {
          const m = /^([A-Za-z0-9_.-]{2,32}):([0-9A-Za-z_-]{1,32})$/.exec(pair);
          if (!m) r.fail(new ConfigError('OUTBOUND_USER_EXTENSIONS', `has "${pair}" (want username:extension, e.g. unit-wang:8801)`));
          else out[m[1]!] = m[2]!;
        }
        return out;
      })(),
      maxPerUserDay: r.int('OUTBOUND_MAX_PER_USER_DAY'),
      maxPerTicketDay: r.int('OUTBOUND_MAX_PER_TICKET_DAY'),
      userRingSec: r.int('OUTBOUND_USER_RING_SEC'),
    },
    campaigns: {
      hours: (() => {
        const v = r.str('CAMPAIGN_HOURS');
        const parsed = parseHours(v);
        if ('error' in parsed) r.fail(new ConfigError('CAMPAIGN_HOURS', parsed.error));
        return v;
      })(),
      retries: r.int('CAMPAIGN_RETRIES'),
      retryIntervalSec: r.int('CAMPAIGN_RETRY_INTERVAL_SEC'),
      concurrency: r.int('CAMPAIGN_CONCURRENCY'),
      maxCalls: r.int('CAMPAIGN_MAX_CALLS'),
    },
    admission: {
      maxCalls: r.int('ADMIT_MAX_CALLS'),
      maxQueue: r.int('ADMIT_MAX_QUEUE'),
      maxWaitSec: r.int('ADMIT_MAX_WAIT_SEC'),
      ariMaxLatencyMs: r.int('ADMIT_ARI_MAX_LATENCY_MS'),
      ariMaxBacklog: r.int('ADMIT_ARI_MAX_BACKLOG'),
      maxPbxCalls: r.int('ADMIT_MAX_PBX_CALLS'),
      gateMaxPercent: r.int('ADMIT_GATE_MAX_PERCENT'),
    },
    intake: (() => {
      const channels = ['web', 'wechat', 'mini-program', 'app', 'sms', 'mailbox'];
      const platforms = ['national', 'provincial', 'city', 'zhengqitong', 'jiesujiban'];
      const pairs = (name: string, keys: string[], value: (v: string) => string | undefined): Record<string, string> => {
        const out: Record<string, string> = {};
        const raw = (r.str(name) ?? '').trim();
        if (!raw) return out;
        for (const item of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
          const i = item.indexOf('=');
          const k = i > 0 ? item.slice(0, i) : '';
          if (!keys.includes(k)) {
            r.fail(new ConfigError(name, `has "${i > 0 ? k : item}": each entry must be <name>=<value> with a name among ${keys.join(', ')}`));
            continue;
          }
          const problem = value(item.slice(i + 1));
          if (problem) r.fail(new ConfigError(name, `${k}: ${problem}`));
          else out[k] = item.slice(i + 1);
        }
        return out;
      };
      const secret = (v: string) => (v.length >= 16 ? undefined : 'the secret must have at least 16 characters');
      const secrets = pairs('INTAKE_SECRETS', channels, secret);
      const upSecrets = pairs('UPSTREAM_SECRETS', platforms, secret);
      const urls = pairs('UPSTREAM_URLS', platforms, (v) => {
        try {
          return ['http:', 'https:'].includes(new URL(v).protocol) ? undefined : 'must be an http(s) URL';
        } catch {
          return 'is not a valid URL';
        }
      });
      for (const k of Object.keys(urls)) if (!upSecrets[k]) r.fail(new ConfigError('UPSTREAM_SECRETS', `${k}: a secret is required for the platform UPSTREAM_URLS pushes to`));
      return {
        secrets,
        replayWindowSec: r.int('INTAKE_REPLAY_WINDOW_SEC'),
        formEnabled: r.bool('INTAKE_FORM_ENABLED'),
        formPerHour: r.int('INTAKE_FORM_PER_HOUR'),
        upstream: { secrets: upSecrets, urls, attempts: r.int('UPSTREAM_ATTEMPTS'), backoffMs: r.int('UPSTREAM_BACKOFF_MS') },
      };
    })(),
    controller: (() => {
      const rate = (name: string, raw: string): number => {
        const v = Number(raw);
        if (raw.trim() === '' || !Number.isFinite(v) || v < 0.5 || v > 1) {
          r.fail(new ConfigError(name, `must be a rate from 0.5 to 1, e.g. 0.98 (got "${raw}")`));
          return 0.98;
        }
        return v;
      };
      const target = r.num('CONTROLLER_TARGET');
      const targets: Record<string, number> = {};
      for (const item of r.str('CONTROLLER_TARGETS').split(',').map((x) => x.trim()).filter(Boolean)) {
        const m = /^(\d{3,12})=(.+)$/.exec(item);
        if (!m) r.fail(new ConfigError('CONTROLLER_TARGETS', `has an invalid entry "${item}" (want line=rate, e.g. 12333=0.95)`));
        else targets[m[1]!] = rate('CONTROLLER_TARGETS', m[2]!);
      }
      const lendGroups = r.str('CONTROLLER_LEND_GROUPS').split(',').map((x) => x.trim()).filter(Boolean);
      for (const g of lendGroups) if (!/^[A-Za-z0-9_-]{1,32}$/.test(g)) r.fail(new ConfigError('CONTROLLER_LEND_GROUPS', `has an invalid group id "${g}"`));
      return {
        enabled: r.bool('CONTROLLER_ENABLED'),
        target,
        targets,
        intervalSec: r.int('CONTROLLER_INTERVAL_SEC'),
        maxLevel: r.int('CONTROLLER_MAX_LEVEL'),
        releaseHoldSec: r.int('CONTROLLER_RELEASE_HOLD_SEC'),
        lendGroups,
      };
    })(),
    metrics: (() => {
      const token = r.str('METRICS_TOKEN');
      const allow = r.str('METRICS_ALLOW').split(',').map((x) => x.trim()).filter(Boolean);
      for (const c of allow) if (!isCidr(c)) r.fail(new ConfigError('METRICS_ALLOW', `has an invalid network "${c}" (want e.g. 10.0.0.0/8 or ::1/128)`));
      return { token, allow };
    })(),
    tickets: (() => {
      const slaPolicy = r.str('TICKET_SLA_POLICY');
      const repeatWindowDays = r.int('TICKET_REPEAT_WINDOW_DAYS');
      const replyReviewHours = r.int('TICKET_REPLY_REVIEW_HOURS');
      const webhookUrl = r.str('TICKET_WEBHOOK_URL');
      const fullNumbers = r.bool('TICKET_WEBHOOK_FULL_NUMBERS');
      const attempts = r.int('TICKET_WEBHOOK_ATTEMPTS');
      const backoffMs = r.int('TICKET_WEBHOOK_BACKOFF_MS');
      if (!webhookUrl) return { slaPolicy, repeatWindowDays, replyReviewHours };
      const url0 = r.url('TICKET_WEBHOOK_URL');
      const secret = r.str('TICKET_WEBHOOK_SECRET');
      if (secret.length < 16) r.fail(new ConfigError('TICKET_WEBHOOK_SECRET', 'must have at least 16 characters when TICKET_WEBHOOK_URL is set'));
      return { slaPolicy, repeatWindowDays, replyReviewHours, webhook: { url: url0, secret, fullNumbers, attempts, backoffMs } };
    })(),
    supervision: (() => {
      const satisfactionMin = r.int('SUPERVISION_SATISFACTION_MIN_PCT') / 100;
      const onTimeMin = r.int('SUPERVISION_ON_TIME_MIN_PCT') / 100;
      const redMin = r.int('SUPERVISION_RED_MIN_PCT') / 100;
      if (redMin < Math.max(satisfactionMin, onTimeMin)) r.fail(new ConfigError('SUPERVISION_RED_MIN_PCT', 'must not be below SUPERVISION_SATISFACTION_MIN_PCT and SUPERVISION_ON_TIME_MIN_PCT'));
      return { satisfactionMin, onTimeMin, redMin, minSample: r.int('SUPERVISION_MIN_SAMPLE'), orderWorkingDays: r.int('SUPERVISION_ORDER_WORKING_DAYS') };
    })(),
  };
  if (r.problems.length > 0) throw r.problems.length === 1 ? r.problems[0]! : new ConfigErrors(r.problems);
  return deepFreeze(config);
}

/**
 * Load `.env` from the working directory into `process.env` (Node's own parser,
 * `process.loadEnvFile`): variables already set in the environment win, so
 * compose's `environment:` and a shell's exports override the file. A missing
 * file is normal (containers get their variables from compose).
 */
export function loadDotEnv(path = '.env'): boolean {
  try {
    process.loadEnvFile(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** For entry points: the configuration, or one line per bad variable on stderr and exit code 2. */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      // One line per problem, each naming its variable.
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/**
 * HTTP_TLS_CERT + HTTP_TLS_KEY: both or neither; each file readable and parseable PEM, the key the
 * certificate's own, the certificate not expired. Found at start rather than at the first browser's
 * handshake, each problem naming its variable.
 */
function readHttpTls(r: Reader, certFile: string, keyFile: string): HttpTls | undefined {
  if (!certFile && !keyFile) return undefined;
  if (!certFile) return void r.fail(new ConfigError('HTTP_TLS_CERT', 'is required when HTTP_TLS_KEY is set'));
  if (!keyFile) return void r.fail(new ConfigError('HTTP_TLS_KEY', 'is required when HTTP_TLS_CERT is set'));
  const read = (variable: string, file: string): string | undefined => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      r.fail(new ConfigError(variable, `cannot be read: ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`));
      return undefined;
    }
  };
  const cert = read('HTTP_TLS_CERT', certFile);
  const key = read('HTTP_TLS_KEY', keyFile);
  let x509: X509Certificate | undefined;
  if (cert !== undefined) {
    try {
      x509 = new X509Certificate(cert);
    } catch {
      r.fail(new ConfigError('HTTP_TLS_CERT', `is not a PEM certificate: ${certFile}`));
    }
  }
  let privateKey: ReturnType<typeof createPrivateKey> | undefined;
  if (key !== undefined) {
    try {
      privateKey = createPrivateKey(key);
    } catch {
      // Also an encrypted key: the server cannot ask for its passphrase at start.
      r.fail(new ConfigError('HTTP_TLS_KEY', `is not an unencrypted PEM private key: ${keyFile}`));
    }
  }
  if (!x509 || !privateKey || cert === undefined || key === undefined) return undefined;
  if (!x509.checkPrivateKey(privateKey)) {
    r.fail(new ConfigError('HTTP_TLS_KEY', `is not the private key of the certificate in HTTP_TLS_CERT (${keyFile})`));
    return undefined;
  }
  if (Date.parse(x509.validTo) < Date.now()) {
    r.fail(new ConfigError('HTTP_TLS_CERT', `expired on ${new Date(x509.validTo).toISOString()} (${certFile})`));
    return undefined;
  }
  return { certFile, keyFile, cert, key, names: x509.subjectAltName ?? x509.subject, validTo: new Date(x509.validTo).toISOString() };
}

function isCidr(c: string): boolean {
  const [addr, bits, extra] = c.split('/');
  if (extra !== undefined || !addr) return false;
  const v = isIP(addr);
  if (!v) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (v === 4 ? 32 : 128);
}

function deepFreeze<T>(o: T): T {
  for (const v of Object.values(o as object)) if (v && typeof v === 'object') deepFreeze(v);
  return Object.freeze(o);
}

/** The configuration with secrets replaced, for logging at start. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    ari: { ...config.ari, password: '[secret]' },
    ami: { ...config.ami, secret: '[secret]' },
    access: {
      ...config.access,
      jwtSecret: '[secret]',
      numberIdKey: '[secret]',
      ...(config.access.bootstrapAdmin ? { bootstrapAdmin: { username: config.access.bootstrapAdmin.username, password: '[secret]' } } : {}),
    },
    metrics: { ...config.metrics, token: config.metrics.token ? '[secret]' : '' },
    intake: {
      ...config.intake,
      secrets: Object.fromEntries(Object.keys(config.intake.secrets).map((k) => [k, '[secret]'])),
      upstream: { ...config.intake.upstream, secrets: Object.fromEntries(Object.keys(config.intake.upstream.secrets).map((k) => [k, '[secret]'])) },
    },
    tickets: { ...config.tickets, ...(config.tickets.webhook ? { webhook: { ...config.tickets.webhook, secret: '[secret]' } } : {}) },
    http: config.http.tls
      ? { ...config.http, tls: { certFile: config.http.tls.certFile, keyFile: config.http.tls.keyFile, names: config.http.tls.names, validTo: config.http.tls.validTo } }
      : config.http,
    redisUrl: config.redisUrl.replace(/\/\/[^@/]*@/, '//[secret]@'),
    ...(config.redisSentinel ? { redisSentinel: { ...config.redisSentinel, ...(config.redisSentinel.password ? { password: '[secret]' } : {}) } } : {}),
  };
}

/** CLUSTER_NODE, CLUSTER_NODES, SIP_PROXY_RPC_URL, SIP_PROXY_POLL_MS; each problem named. */
function readCluster(r: Reader): Config['cluster'] {
  const node = r.str('CLUSTER_NODE');
  const nodes: Record<string, string> = {};
  for (const item of r.str('CLUSTER_NODES').split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([a-z0-9][a-z0-9-]{0,31})=(.+)$/.exec(item);
    if (!m) {
      r.fail(new ConfigError('CLUSTER_NODES', `has an invalid entry "${item}" (want name=ARI URL, the name lower-case letters, digits, -)`));
      continue;
    }
    let url: URL | undefined;
    try {
      url = new URL(m[2]!);
    } catch {
      // named below
    }
    if (!url || !['http:', 'https:'].includes(url.protocol)) r.fail(new ConfigError('CLUSTER_NODES', `${m[1]}: "${m[2]}" is not an http(s) URL`));
    else if (nodes[m[1]!] !== undefined) r.fail(new ConfigError('CLUSTER_NODES', `names node "${m[1]}" twice`));
    else nodes[m[1]!] = m[2]!.replace(/\/+$/, '');
  }
  if (node && nodes[node] === undefined) r.fail(new ConfigError('CLUSTER_NODE', `"${node}" is not one of CLUSTER_NODES (${Object.keys(nodes).join(', ') || 'empty'})`));
  if (!node && Object.keys(nodes).length > 0) r.fail(new ConfigError('CLUSTER_NODE', 'is required when CLUSTER_NODES is set'));
  const registrationsUrl = r.str('SIP_PROXY_RPC_URL');
  if (registrationsUrl) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(registrationsUrl).protocol);
    } catch {
      // named below
    }
    if (!ok) r.fail(new ConfigError('SIP_PROXY_RPC_URL', `must be an http(s) URL (got "${registrationsUrl}")`));
  }
  return {
    node,
    nodes,
    registrationsUrl,
    registrationsPollMs: r.int('SIP_PROXY_POLL_MS'),
  };
}

/** `REDIS_SENTINELS=host:port,…` → the Sentinel set, or undefined when empty; each bad entry named. */
function readRedisSentinel(r: Reader): RedisSentinelConfig | undefined {
  const list = r.str('REDIS_SENTINELS');
  const master = r.str('REDIS_SENTINEL_MASTER');
  const password = r.str('REDIS_SENTINEL_PASSWORD');
  if (list.trim() === '') return undefined;
  const sentinels: { host: string; port: number }[] = [];
  for (const entry of list.split(',').map((e) => e.trim())) {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) {
      r.fail(new ConfigError('REDIS_SENTINELS', `entry "${entry}" must be host:port (port 1-65535)`));
      continue;
    }
    sentinels.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return { sentinels, master, ...(password ? { password } : {}) };
}
