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

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`configuration error: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export const CITY_PRESETS = ['zaozhuang', 'yantai', 'luan', 'zhengzhou'] as const;
export type CityPreset = (typeof CITY_PRESETS)[number];

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
  };
  readonly ami: {
    readonly enabled: boolean;
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly secret: string;
  };
  readonly redisUrl: string;
  readonly keyPrefix: string;
  readonly http: { readonly host: string; readonly port: number };
  readonly city: CityPreset;
  readonly area: string;
  readonly logLevel: string;
  /** Directory for the ticket outbox spool (tickets waiting for Redis). */
  readonly dataDir: string;
  readonly defaultLanguage: 'zh' | 'en';
  /** Dialplan context that citizens' calls come from (used by test-dial and tests). */
  readonly carrierContext: string;
  readonly access: {
    readonly jwtSecret: string;
    /** Key of the ids derived from phone numbers (NUMBER_ID_SECRET, else derived from JWT_SECRET; see access/number-id.ts). */
    readonly numberIdKey: string;
    readonly tokenTtlSec: number;
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
  };
  readonly tickets: {
    /** SLA policy id (data/sla/<id>.json); empty = the city's own policy. */
    readonly slaPolicy: string;
    /** Same caller, unit and category within this many days = a repeat request (0 = off). */
    readonly repeatWindowDays: number;
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

/** The variables we read, with a one-line description (also rendered into .env.example docs). */
export const VARIABLES: Record<string, { description: string; default?: string; secret?: boolean }> = {
  ARI_URL: { description: 'Base URL of Asterisk ARI (http.conf), e.g. http://asterisk:8088' },
  ARI_USER: { description: 'ARI user from ari.conf', default: 'hotline' },
  ARI_PASSWORD: { description: 'ARI password from ari.conf', secret: true },
  ARI_APP: { description: 'Stasis application name used by the dialplan', default: 'hotline' },
  ARI_REQUEST_TIMEOUT_MS: { description: 'Timeout of every ARI request in ms', default: '5000' },
  ARI_MAX_IN_FLIGHT: { description: 'Maximum concurrent ARI requests (keep below http.conf sessionlimit)', default: '64' },
  AMI_ENABLED: { description: 'Connect to AMI for softphone registration and health (true/false)', default: 'true' },
  AMI_HOST: { description: 'AMI host', default: '127.0.0.1' },
  AMI_PORT: { description: 'AMI port (manager.conf)', default: '5038' },
  AMI_USER: { description: 'AMI user (manager.conf)', default: 'hotline' },
  AMI_SECRET: { description: 'AMI secret (manager.conf)', secret: true },
  REDIS_URL: { description: 'Redis URL, e.g. redis://redis:6379', default: 'redis://127.0.0.1:6379' },
  HOTLINE_KEY_PREFIX: { description: 'Prefix of every Redis key and BullMQ queue', default: 'hotline' },
  HTTP_HOST: { description: 'Address the HTTP server binds to', default: '127.0.0.1' },
  HTTP_PORT: { description: 'HTTP port', default: '8080' },
  HOTLINE_CITY: { description: `City preset: ${CITY_PRESETS.join(', ')}`, default: 'zaozhuang' },
  HOTLINE_AREA: { description: 'Area (city/district) code used when a call carries none', default: '' },
  LOG_LEVEL: { description: 'pino log level', default: 'info' },
  HOTLINE_DATA_DIR: { description: 'Directory for local durable state (ticket outbox spool)', default: './var' },
  HOTLINE_DEFAULT_LANGUAGE: { description: 'Default prompt language: zh or en', default: 'zh' },
  HOTLINE_CARRIER_CONTEXT: { description: 'Dialplan context of citizens’ calls', default: 'from-carrier' },
  JWT_SECRET: { description: 'Secret signing session tokens (at least 32 characters; the same on every instance)', secret: true },
  NUMBER_ID_SECRET: {
    description: 'Key of the ids derived from phone numbers (block list, caller index, audit targets; at least 32 characters, the same on every instance); empty = derived from JWT_SECRET',
    default: '',
    secret: true,
  },
  TOKEN_TTL_SEC: { description: 'Lifetime of a session token in seconds', default: '900' },
  COOKIE_SECURE: { description: 'Send the session cookie over HTTPS only (true behind TLS)', default: 'true' },
  LOGIN_MAX_FAILURES: { description: 'Failed logins per user before further attempts are refused for the window', default: '5' },
  LOGIN_WINDOW_SEC: { description: 'Window (and lock-out) of failed logins in seconds', default: '900' },
  API_RATE_PER_MINUTE: { description: 'API requests per minute per user (or address)', default: '600' },
  AUDIT_RETAIN: { description: 'Audit log entries kept (the oldest are trimmed)', default: '1000000' },
  HOTLINE_ADMIN_USER: { description: 'First admin user, created at start if no admin exists', default: '' },
  HOTLINE_ADMIN_PASSWORD: { description: 'Password of the first admin (at least 10 characters, letters and digits)', secret: true },
  RECORDINGS_DIR: { description: 'Asterisk’s recordings directory as this server sees it (a shared volume)', default: '/var/spool/asterisk/recording' },
  RECORDING_RETENTION_DAYS: { description: 'Days recordings are kept before scheduled deletion (0 = keep); legal holds are never deleted', default: '180' },
  QUALITY_SAMPLE_PERCENT: { description: 'Share of each agent’s calls sampled for quality inspection (plus every flagged call)', default: '5' },
  CALLER_MAX_CALLS: { description: 'Calls from one number within CALLER_WINDOW_SEC before a notice and lower priority', default: '20' },
  CALLER_WINDOW_SEC: { description: 'Window of the per-caller limits in seconds', default: '3600' },
  CALLER_MAX_SILENT: { description: 'Silent calls (no key, no agent) within the window before a notice and lower priority', default: '3' },
  CALLER_LIMIT_PRIORITY_DELTA: { description: 'Queue priority change for a limited caller (negative)', default: '-5' },
  SOFTPHONE_WS_URL: { description: 'SIP over WebSocket URL for the agent softphone (wss://asterisk:8089/ws in production)', default: 'ws://127.0.0.1:8088/ws' },
  SOFTPHONE_SIP_DOMAIN: { description: 'SIP domain agents register in', default: 'hotline.local' },
  SOFTPHONE_ICE_SERVERS: { description: 'Comma-separated STUN/TURN URLs for the softphone (empty: host candidates only)', default: '' },
  AGENT_DIAL_TEMPLATE: { description: 'Dial string of an agent’s softphone; {ext} is replaced by the extension', default: 'PJSIP/agent{ext}' },
  ACD_REQUIRE_REGISTRATION: { description: 'Offer calls only to agents whose softphone is registered (AMI ContactStatus)', default: 'true' },
  ACD_NO_ANSWER_SEC: { description: 'Seconds an agent may ring before the call goes to the next agent', default: '15' },
  ACD_WRAP_UP_SEC: { description: 'After-call work (话后处理) seconds before the agent is offered the next call', default: '30' },
  QUEUE_ANNOUNCE_EVERY_SEC: { description: 'Seconds between queue position announcements (0 = off)', default: '45' },
  HANDOFF_RING_SEC: { description: 'Seconds a hand-off target may ring before the hand-off fails', default: '30' },
  CALLBACK_OFFER_AFTER_SEC: { description: 'Seconds of waiting after which a caller may press 1 for a callback (0 = never)', default: '60' },
  CALLBACK_DIAL_TEMPLATE: { description: 'Dial string for calling citizens back; {number} is the citizen’s number', default: 'PJSIP/{number}@carrier' },
  CALLBACK_RING_SEC: { description: 'Seconds a citizen’s phone rings on a callback', default: '30' },
  TICKET_SLA_POLICY: { description: 'SLA policy of ticket deadlines (data/sla/<id>.json, e.g. yantai-laishan); empty = the city’s (or district’s) own. Every preset city has one; a city without must name one or the server refuses to start', default: '' },
  TICKET_REPEAT_WINDOW_DAYS: { description: 'Days within which the same caller, handling unit and category count as a repeat request (重复诉求); 0 = off', default: '30' },
  TICKET_WEBHOOK_URL: { description: 'URL of the city’s work-order system receiving tickets and state changes (empty = no delivery)', default: '' },
  TICKET_WEBHOOK_SECRET: { description: 'HMAC-SHA256 secret signing webhook bodies (x-hotline-signature); required with TICKET_WEBHOOK_URL, at least 16 characters', secret: true },
  TICKET_WEBHOOK_FULL_NUMBERS: { description: 'Send full caller numbers to the work-order system (false = masked 138****5678)', default: 'false' },
  TICKET_WEBHOOK_ATTEMPTS: { description: 'Delivery attempts per ticket version before it goes to the dead-letter list', default: '10' },
  TICKET_WEBHOOK_BACKOFF_MS: { description: 'First retry delay of webhook delivery in ms (doubles each attempt)', default: '2000' },
};

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, opts: { required?: boolean } = {}): string {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? VARIABLES[name]?.default : raw;
  if (value === undefined || (opts.required && value === '')) {
    throw new ConfigError(name, 'is required but not set');
  }
  if (/[\r\n\0]/.test(value)) throw new ConfigError(name, 'must be a single line');
  return value;
}

function int(env: Env, name: string, min: number, max: number): number {
  const value = str(env, name);
  if (!/^\d+$/.test(value)) throw new ConfigError(name, `must be a whole number (got "${value}")`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max} (got ${n})`);
  return n;
}

function bool(env: Env, name: string): boolean {
  const value = str(env, name).toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(name, `must be true or false (got "${value}")`);
}

function url(env: Env, name: string, protocols: string[]): string {
  const value = str(env, name, { required: true });
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')} (got ${parsed.protocol})`);
  }
  return value.replace(/\/+$/, '');
}

function name(env: Env, varName: string, pattern: RegExp, what: string, allowEmpty = false): string {
  const value = str(env, varName, { required: !allowEmpty });
  if (!pattern.test(value)) throw new ConfigError(varName, `must be ${what} (got "${value}")`);
  return value;
}

/** Read and validate the configuration; throws {@link ConfigError} naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const city = str(env, 'HOTLINE_CITY');
  if (!(CITY_PRESETS as readonly string[]).includes(city)) {
    throw new ConfigError('HOTLINE_CITY', `must be one of ${CITY_PRESETS.join(', ')} (got "${city}")`);
  }
  const lang = str(env, 'HOTLINE_DEFAULT_LANGUAGE');
  if (lang !== 'zh' && lang !== 'en') throw new ConfigError('HOTLINE_DEFAULT_LANGUAGE', `must be zh or en (got "${lang}")`);
  const amiEnabled = bool(env, 'AMI_ENABLED');
  const logLevel = str(env, 'LOG_LEVEL');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of fatal, error, warn, info, debug, trace, silent (got "${logLevel}")`);
  }
  const config: Config = {
    ari: {
      url: url(env, 'ARI_URL', ['http:', 'https:']),
      user: name(env, 'ARI_USER', /^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . -'),
      password: str(env, 'ARI_PASSWORD', { required: true }),
      app: name(env, 'ARI_APP', /^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ -'),
      requestTimeoutMs: int(env, 'ARI_REQUEST_TIMEOUT_MS', 100, 120_000),
      maxInFlight: int(env, 'ARI_MAX_IN_FLIGHT', 1, 1000),
    },
    ami: {
      enabled: amiEnabled,
      host: str(env, 'AMI_HOST'),
      port: int(env, 'AMI_PORT', 1, 65535),
      user: str(env, 'AMI_USER'),
      secret: amiEnabled ? str(env, 'AMI_SECRET', { required: true }) : (env.AMI_SECRET ?? ''),
    },
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    keyPrefix: name(env, 'HOTLINE_KEY_PREFIX', /^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ -'),
    http: { host: str(env, 'HTTP_HOST'), port: int(env, 'HTTP_PORT', 0, 65535) },
    city: city as CityPreset,
    area: name(env, 'HOTLINE_AREA', /^[A-Za-z0-9_-]{0,32}$/, 'letters, digits, _ - (or empty)', true),
    logLevel,
    dataDir: str(env, 'HOTLINE_DATA_DIR'),
    defaultLanguage: lang,
    carrierContext: name(env, 'HOTLINE_CARRIER_CONTEXT', /^[A-Za-z0-9_-]{1,64}$/, 'a dialplan context name'),
    access: (() => {
      const jwtSecret = str(env, 'JWT_SECRET', { required: true });
      if (jwtSecret.length < 32) throw new ConfigError('JWT_SECRET', 'must have at least 32 characters');
      const numberIdSecret = str(env, 'NUMBER_ID_SECRET');
      if (numberIdSecret && numberIdSecret.length < 32) throw new ConfigError('NUMBER_ID_SECRET', 'must have at least 32 characters (or be empty)');
      const adminUser = str(env, 'HOTLINE_ADMIN_USER');
      const adminPassword = env.HOTLINE_ADMIN_PASSWORD ?? '';
      if (adminUser && !/^[A-Za-z0-9_.-]{2,32}$/.test(adminUser)) throw new ConfigError('HOTLINE_ADMIN_USER', 'must be 2-32 letters, digits, _ . -');
      if (adminUser && (adminPassword.length < 10 || !/[A-Za-z]/.test(adminPassword) || !/\d/.test(adminPassword))) {
        throw new ConfigError('HOTLINE_ADMIN_PASSWORD', 'must have at least 10 characters with letters and digits');
      }
      return {
        jwtSecret,
        numberIdKey: numberIdSecret || deriveNumberIdKey(jwtSecret),
        tokenTtlSec: int(env, 'TOKEN_TTL_SEC', 60, 86_400),
        cookieSecure: bool(env, 'COOKIE_SECURE'),
        loginMaxFailures: int(env, 'LOGIN_MAX_FAILURES', 1, 100),
        loginWindowSec: int(env, 'LOGIN_WINDOW_SEC', 10, 86_400),
        apiRatePerMinute: int(env, 'API_RATE_PER_MINUTE', 1, 100_000),
        auditRetain: int(env, 'AUDIT_RETAIN', 1000, 100_000_000),
        ...(adminUser ? { bootstrapAdmin: { username: adminUser, password: adminPassword } } : {}),
      };
    })(),
    recording: {
      dir: str(env, 'RECORDINGS_DIR'),
      retentionDays: int(env, 'RECORDING_RETENTION_DAYS', 0, 36_500),
      qualitySamplePercent: int(env, 'QUALITY_SAMPLE_PERCENT', 0, 100),
    },
    guard: {
      maxCalls: int(env, 'CALLER_MAX_CALLS', 1, 100_000),
      windowSec: int(env, 'CALLER_WINDOW_SEC', 60, 7 * 86_400),
      maxSilent: int(env, 'CALLER_MAX_SILENT', 1, 1000),
      priorityDelta: (() => {
        const v = str(env, 'CALLER_LIMIT_PRIORITY_DELTA');
        if (!/^-\d{1,3}$|^0$/.test(v)) throw new ConfigError('CALLER_LIMIT_PRIORITY_DELTA', `must be 0 or a negative whole number (got "${v}")`);
        return Number(v);
      })(),
    },
    softphone: {
      wsUrl: url(env, 'SOFTPHONE_WS_URL', ['ws:', 'wss:']),
      sipDomain: name(env, 'SOFTPHONE_SIP_DOMAIN', /^[A-Za-z0-9.-]{1,100}$/, 'a domain name'),
      iceServers: (() => {
        const raw = str(env, 'SOFTPHONE_ICE_SERVERS');
        const list = raw.split(',').map((x) => x.trim()).filter(Boolean);
        for (const u of list) {
          if (!/^(stun|turns?):[A-Za-z0-9.:-]+(\?transport=(udp|tcp))?$/.test(u)) throw new ConfigError('SOFTPHONE_ICE_SERVERS', `has an invalid entry "${u}"`);
        }
        return list;
      })(),
    },
    acd: {
      dialTemplate: name(env, 'AGENT_DIAL_TEMPLATE', /^[A-Za-z]+\/[A-Za-z0-9_.@{}-]*\{ext\}[A-Za-z0-9_.@{}-]*$/, 'a dial string containing {ext}, e.g. PJSIP/agent{ext}'),
      requireRegistration: bool(env, 'ACD_REQUIRE_REGISTRATION'),
      noAnswerSec: int(env, 'ACD_NO_ANSWER_SEC', 3, 120),
      wrapUpSec: int(env, 'ACD_WRAP_UP_SEC', 0, 600),
      queueAnnounceEverySec: int(env, 'QUEUE_ANNOUNCE_EVERY_SEC', 0, 600),
      handoffRingSec: int(env, 'HANDOFF_RING_SEC', 3, 300),
      callbackOfferAfterSec: int(env, 'CALLBACK_OFFER_AFTER_SEC', 0, 3600),
      callbackDialTemplate: name(env, 'CALLBACK_DIAL_TEMPLATE', /^[A-Za-z]+\/[A-Za-z0-9_.@{}-]*\{number\}[A-Za-z0-9_.@{}-]*$/, 'a dial string containing {number}, e.g. PJSIP/{number}@carrier'),
      callbackRingSec: int(env, 'CALLBACK_RING_SEC', 5, 120),
    },
    tickets: (() => {
      const slaPolicy = name(env, 'TICKET_SLA_POLICY', /^[a-z0-9-]{0,40}$/, 'a policy id like yantai-laishan (or empty)', true);
      const repeatWindowDays = int(env, 'TICKET_REPEAT_WINDOW_DAYS', 0, 365);
      const webhookUrl = str(env, 'TICKET_WEBHOOK_URL');
      const fullNumbers = bool(env, 'TICKET_WEBHOOK_FULL_NUMBERS');
      const attempts = int(env, 'TICKET_WEBHOOK_ATTEMPTS', 1, 100);
      const backoffMs = int(env, 'TICKET_WEBHOOK_BACKOFF_MS', 10, 3_600_000);
      if (!webhookUrl) return { slaPolicy, repeatWindowDays };
      const url0 = url(env, 'TICKET_WEBHOOK_URL', ['http:', 'https:']);
      const secret = env.TICKET_WEBHOOK_SECRET ?? '';
      if (secret.length < 16) throw new ConfigError('TICKET_WEBHOOK_SECRET', 'must have at least 16 characters when TICKET_WEBHOOK_URL is set');
      return { slaPolicy, repeatWindowDays, webhook: { url: url0, secret, fullNumbers, attempts, backoffMs } };
    })(),
  };
  return deepFreeze(config);
}

/** For entry points: the configuration, or one line on stderr naming the bad variable and exit code 2. */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
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
    tickets: { ...config.tickets, ...(config.tickets.webhook ? { webhook: { ...config.tickets.webhook, secret: '[secret]' } } : {}) },
    redisUrl: config.redisUrl.replace(/\/\/[^@/]*@/, '//[secret]@'),
  };
}
