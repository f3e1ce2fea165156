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

/** Who reads a variable: this server, Asterisk's entrypoint (asterisk/docker-entrypoint.sh) or docker compose itself. */
export type VariableReader = 'server' | 'asterisk' | 'sipproxy' | 'compose';

export interface VariableSpec {
  /** One line, rendered into .env.example and the README table (src/config/docs.ts). */
  readonly description: string;
  /** Value when unset or empty; absent = required (for the server's variables). */
  readonly default?: string;
  /** Never logged and never given a value in .env.example. */
  readonly secret?: boolean;
  /** Default 'server'. */
  readonly readBy?: readonly VariableReader[];
  /** Value shown in .env.example for a required variable without default. */
  readonly example?: string;
}

/**
 * Every variable of the deployment, declared once: what the server reads
 * (validated in {@link loadConfig}) and what docker-compose.yml passes to
 * Asterisk's entrypoint or interpolates itself. `.env.example` and the README's
 * configuration table are rendered from this list (`npm run config:docs`) and a
 * test fails when they differ or when compose uses a variable not listed here.
 */
export const VARIABLES: Record<string, VariableSpec> = {
  ARI_URL: { description: 'Base URL of Asterisk ARI (http.conf), e.g. http://asterisk:8088', example: 'http://asterisk:8088' },
  ARI_USER: { description: 'ARI user from ari.conf', default: 'hotline' },
  ARI_PASSWORD: { description: 'ARI password from ari.conf (also rendered into Asterisk’s ari.conf by the entrypoint)', secret: true, readBy: ['server', 'asterisk'] },
  ARI_APP: { description: 'Stasis application name used by the dialplan', default: 'hotline' },
  ARI_REQUEST_TIMEOUT_MS: { description: 'Timeout of every ARI request in ms', default: '5000' },
  ARI_EXCLUSIVE: {
    description: 'One instance drives the Asterisk at a time (a Redis lock with the call-state lease): an instance started beside it waits as a standby and takes over when it stops or dies (true/false)',
    default: 'false',
  },
  ARI_MAX_IN_FLIGHT: { description: 'Maximum concurrent ARI requests (keep below http.conf sessionlimit)', default: '64' },
  AMI_ENABLED: { description: 'Connect to AMI for softphone registration and health (true/false)', default: 'true' },
  AMI_HOST: { description: 'AMI host', default: '127.0.0.1' },
  AMI_PORT: { description: 'AMI port (manager.conf)', default: '5038' },
  AMI_USER: { description: 'AMI user (manager.conf)', default: 'hotline' },
  AMI_SECRET: { description: 'AMI secret (manager.conf; also rendered into Asterisk’s manager.conf by the entrypoint)', secret: true, readBy: ['server', 'asterisk'] },
  REDIS_URL: { description: 'Redis URL, e.g. redis://redis:6379 (with REDIS_SENTINELS: only its password, db and rediss: are used)', default: 'redis://127.0.0.1:6379' },
  REDIS_SENTINELS: {
    description: 'Redis Sentinel addresses host:port,host:port,… (empty = the single Redis of REDIS_URL); the server and every job queue follow the primary through failovers',
    default: '',
  },
  REDIS_SENTINEL_MASTER: { description: 'Name of the primary the Sentinels monitor (sentinel monitor <name> …)', default: 'mymaster' },
  REDIS_SENTINEL_PASSWORD: { description: 'Password of the Sentinels themselves (empty = none)', default: '', secret: true },
  REDIS_REPLICA_ACKS: {
    description: 'Replicas that must confirm a spooled ticket job (Redis WAIT) before the outbox deletes its file; 1 with Sentinel so that a failover loses no ticket, 0 for a single Redis',
    default: '0',
  },
  REDIS_REPLICA_ACK_TIMEOUT_MS: { description: 'How long the outbox waits for REDIS_REPLICA_ACKS replicas before keeping the job and retrying', default: '1000' },
  HOTLINE_KEY_PREFIX: { description: 'Prefix of every Redis key and BullMQ queue', default: 'hotline' },
  HTTP_HOST: { description: 'Address the HTTP server binds to', default: '127.0.0.1' },
  HTTP_PORT: { description: 'HTTP port (HTTPS when HTTP_TLS_CERT is set)', default: '8080' },
  HTTP_TLS_CERT: {
    description: 'PEM certificate file (server certificate first, then intermediates) to serve pages and APIs over HTTPS; required with HTTP_TLS_KEY; empty = plain HTTP (agents outside localhost need HTTPS for the microphone)',
    default: '',
  },
  HTTP_TLS_KEY: { description: 'PEM private key file of HTTP_TLS_CERT; required with HTTP_TLS_CERT', default: '' },
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
  HOTLINE_ADMIN_PASSWORD: { description: 'Password of the first admin (at least 10 characters, letters and digits); required with HOTLINE_ADMIN_USER', secret: true, default: '' },
  RECORDINGS_DIR: { description: 'Asterisk’s recordings directory as this server sees it (a shared volume)', default: '/var/spool/asterisk/recording' },
  RECORDING_RETENTION_DAYS: { description: 'Days recordings are kept before scheduled deletion (0 = keep); legal holds are never deleted', default: '180' },
  QUALITY_SAMPLE_PERCENT: { description: 'Share of each agent’s calls sampled for quality inspection (plus every flagged call)', default: '5' },
  KB_PROMPTS_DIR: { description: 'Prompt root the server writes published knowledge-base answers into (<dir>/<lang>/hotline/kb-*.wav; the folder Asterisk plays our prompts from)', default: './sounds/build' },
  KB_REMIND_DAYS: { description: 'Days before a knowledge-base article’s valid-until that its unit’s editors are reminded', default: '14' },
  KB_PUBLIC_RATE_PER_MINUTE: { description: 'Requests per minute per address to the public knowledge-base API (/api/public/kb)', default: '60' },
  CALLER_MAX_CALLS: { description: 'Calls from one number within CALLER_WINDOW_SEC before a notice and lower priority', default: '20' },
  CALLER_WINDOW_SEC: { description: 'Window of the per-caller limits in seconds', default: '3600' },
  CALLER_MAX_SILENT: { description: 'Silent calls (no key, no agent) within the window before a notice and lower priority', default: '3' },
  CALLER_LIMIT_PRIORITY_DELTA: { description: 'Queue priority change for a limited caller (negative)', default: '-5' },
  SOFTPHONE_WS_URL: { description: 'SIP over WebSocket URL for the agent softphone (wss://asterisk:8089/ws in production)', default: 'ws://127.0.0.1:8088/ws' },
  SOFTPHONE_SIP_DOMAIN: { description: 'SIP domain agents register in', default: 'hotline.local' },
  SOFTPHONE_ICE_SERVERS: { description: 'Comma-separated STUN/TURN URLs for the softphone (empty: host candidates only)', default: '' },
  AGENT_DIAL_TEMPLATE: {
    description: 'Dial string of an agent’s softphone; {ext} is replaced by the extension. Behind the cluster’s SIP proxy: PJSIP/carrier/sip:agent{ext}@<proxy>:<port> (any node reaches any agent)',
    default: 'PJSIP/agent{ext}',
  },
  ACD_REQUIRE_REGISTRATION: { description: 'Offer calls only to agents whose softphone is registered (AMI ContactStatus)', default: 'true' },
  ACD_NO_ANSWER_SEC: { description: 'Seconds an agent may ring before the call goes to the next agent', default: '15' },
  ACD_WRAP_UP_SEC: { description: 'After-call work (话后处理) seconds before the agent is offered the next call', default: '30' },
  QUEUE_ANNOUNCE_EVERY_SEC: { description: 'Seconds between queue position announcements (0 = off)', default: '45' },
  HANDOFF_RING_SEC: { description: 'Seconds a hand-off target may ring before the hand-off fails', default: '30' },
  CALLBACK_OFFER_AFTER_SEC: { description: 'Seconds of waiting after which a caller may press 1 for a callback (0 = never)', default: '60' },
  CALLBACK_DIAL_TEMPLATE: { description: 'Dial string for calling citizens back; {number} is the citizen’s number', default: 'PJSIP/{number}@carrier' },
  CALLBACK_RING_SEC: { description: 'Seconds a citizen’s phone rings on a callback', default: '30' },
  OUTBOUND_CALLER_ID: { description: 'Caller id citizens see on outbound calls from a ticket (click-to-call)', default: '12345' },
  OUTBOUND_USER_EXTENSIONS: { description: 'Softphone extensions of users who are not agents (unit users) for click-to-call: username:ext pairs, comma-separated (dialled via AGENT_DIAL_TEMPLATE)', default: '' },
  OUTBOUND_MAX_PER_USER_DAY: { description: 'Outbound calls one user may place per city day', default: '40' },
  OUTBOUND_MAX_PER_TICKET_DAY: { description: 'Outbound calls to one ticket’s citizen per city day (all users together)', default: '3' },
  OUTBOUND_USER_RING_SEC: { description: 'Seconds the user’s own phone rings on click-to-call before the attempt is given up', default: '20' },
  CONTROLLER_ENABLED: { description: 'Answer-rate controller on at start (true/false); supervisors switch it at run time on /supervisor, which wins once set', default: 'true' },
  CONTROLLER_TARGET: { description: 'Target answer rate of every line (0.5–1), e.g. 0.98', default: '0.98' },
  CONTROLLER_TARGETS: { description: 'Per line targets overriding CONTROLLER_TARGET, e.g. 12333=0.95,12345=0.98 (empty = none)', default: '' },
  CONTROLLER_INTERVAL_SEC: { description: 'Seconds between two decisions of the answer-rate controller (one instance decides, by a Redis lock)', default: '15' },
  CONTROLLER_MAX_LEVEL: { description: 'Highest action level of the controller: 0 = watch only, 1–3 = lower the overflow thresholds further (3 also lends CONTROLLER_LEND_GROUPS and alerts supervisors)', default: '3' },
  CONTROLLER_RELEASE_HOLD_SEC: { description: 'Seconds the forecast must stay safe before the controller gives back one level', default: '300' },
  CONTROLLER_LEND_GROUPS: { description: 'Seat groups (comma-separated ids, e.g. support) whose seats take overflowed general calls at level 3 (empty = none)', default: '' },
  CALL_STATE_LEASE_MS: {
    description: 'Lease (ms) of an instance on its live calls, renewed every third of it: an instance silent this long is presumed dead and its calls are adopted by its restart or a peer',
    default: '15000',
  },
  ACD_HEAL_SEC: { description: 'Seconds between reconciliations of queue entries, offers, callbacks and agent states with the live calls (also after every Redis or ARI reconnect); 0 = only after reconnects', default: '15' },
  ADMIT_MAX_CALLS: { description: 'Calls one instance handles at once; callers beyond it hear the busy announcement and are cleared (0 = no limit)', default: '500' },
  ADMIT_MAX_QUEUE: { description: 'Callers waiting for one skill; a new caller for a fuller queue hears the busy announcement (0 = no limit)', default: '200' },
  ADMIT_MAX_WAIT_SEC: { description: 'Expected wait (seconds) of a skill’s queue beyond which new callers for it hear the busy announcement (0 = no limit)', default: '1800' },
  ADMIT_ARI_MAX_LATENCY_MS: { description: 'Recent ARI request latency (ms, smoothed; timeouts count in full) beyond which new calls are shed: Asterisk or the link is saturated (0 = off)', default: '1500' },
  ADMIT_ARI_MAX_BACKLOG: { description: 'ARI requests waiting for the in-flight cap (ARI_MAX_IN_FLIGHT) beyond which new calls are shed (0 = off)', default: '64' },
  ADMIT_MAX_PBX_CALLS: { description: 'Calls in progress on the whole Asterisk (AMI CoreStatus CoreCurrentCalls, polled every 2 s) beyond which new calls are shed (0 = off)', default: '0' },
  TICKET_SLA_POLICY: { description: 'SLA policy of ticket deadlines (data/sla/<id>.json, e.g. yantai-laishan); empty = the city’s (or district’s) own. Every preset city has one; a city without must name one or the server refuses to start', default: '' },
  TICKET_REPEAT_WINDOW_DAYS: { description: 'Days within which the same caller, handling unit and category count as a repeat request (重复诉求); 0 = off', default: '30' },
  TICKET_REPLY_REVIEW_HOURS: { description: 'Working hours the centre’s reviewer has to approve or refuse a unit’s reply before it goes to the caller or upstream (审核; 24 = one working day); 0 = replies are not reviewed', default: '0' },
  SUPERVISION_SATISFACTION_MIN_PCT: { description: '满意率 below this (percent) fails the district’s 双率 requirement (blue list; 2 and 3 weeks in a row → automatic 督办单 and escalation). The seeds leave the figure to the district', default: '90' },
  SUPERVISION_ON_TIME_MIN_PCT: { description: '按时办结率 below this (percent) fails the 双率 requirement, as SUPERVISION_SATISFACTION_MIN_PCT', default: '90' },
  SUPERVISION_RED_MIN_PCT: { description: 'Red list (红榜): both rates meet the requirement and their mean reaches this (percent)', default: '95' },
  SUPERVISION_MIN_SAMPLE: { description: 'A unit’s rate is judged (ranking, 双率) only over at least this many tickets', default: '5' },
  SUPERVISION_ORDER_WORKING_DAYS: { description: 'Working days a unit has to answer a 督办单 (again after each escalation)', default: '3' },
  TICKET_WEBHOOK_URL: { description: 'URL of the city’s work-order system receiving tickets and state changes (empty = no delivery)', default: '' },
  TICKET_WEBHOOK_SECRET: { description: 'HMAC-SHA256 secret signing webhook bodies (x-hotline-signature); required with TICKET_WEBHOOK_URL, at least 16 characters', secret: true, default: '' },
  TICKET_WEBHOOK_FULL_NUMBERS: { description: 'Send full caller numbers to the work-order system (false = masked 138****5678)', default: 'false' },
  TICKET_WEBHOOK_ATTEMPTS: { description: 'Delivery attempts per ticket version before it goes to the dead-letter list', default: '10' },
  TICKET_WEBHOOK_BACKOFF_MS: { description: 'First retry delay of webhook delivery in ms (doubles each attempt)', default: '2000' },
  INTAKE_SECRETS: { description: 'Signing secrets of the intake channels, channel=secret comma-separated (web, wechat, mini-program, app, sms, mailbox; each at least 16 characters); a channel without one is not accepted', secret: true, default: '' },
  INTAKE_REPLAY_WINDOW_SEC: { description: 'Seconds a signed intake or work-order request’s x-hotline-timestamp may differ from the server’s clock (older = refused as a replay)', default: '300' },
  INTAKE_FORM_ENABLED: { description: 'Serve the public request form (/request) and its POST /api/public/requests (true/false)', default: 'true' },
  INTAKE_FORM_PER_HOUR: { description: 'Requests per hour one address may submit through the public form', default: '5' },
  UPSTREAM_SECRETS: { description: 'Secrets of the higher platforms, platform=secret comma-separated (national, provincial, city, zhengqitong, jiesujiban; each at least 16 characters): they sign the work orders they send and we sign our pushes with them', secret: true, default: '' },
  UPSTREAM_URLS: { description: 'Where state changes and reviewed replies are pushed, platform=URL comma-separated (a platform listed needs a secret in UPSTREAM_SECRETS; empty = no pushes)', default: '' },
  UPSTREAM_ATTEMPTS: { description: 'Push attempts per ticket version before it goes to the upstream dead-letter list', default: '10' },
  UPSTREAM_BACKOFF_MS: { description: 'First retry delay of upstream pushes in ms (doubles each attempt)', default: '2000' },
  METRICS_TOKEN: { description: 'Bearer token Prometheus sends to GET /metrics (at least 24 characters; empty = only METRICS_ALLOW networks)', secret: true, default: '' },
  METRICS_ALLOW: { description: 'Networks (CIDR, comma-separated) that may scrape GET /metrics without the token; empty = token only', default: '127.0.0.1/32,::1/128' },
  // --- read by asterisk/docker-entrypoint.sh (passed by docker-compose.yml) ---
  HOTLINE_ENV: { description: 'Asterisk entrypoint mode: production (refuses missing, placeholder or short secrets) or development', default: 'production', readBy: ['asterisk'] },
  AMI_PERMIT: { description: 'Networks (CIDR, comma-separated) allowed to log in to AMI; compose’s internal network by default', default: '172.30.12.0/24', readBy: ['asterisk'] },
  AGENT_SIP_PASSWORDS: { description: 'Agents’ SIP passwords for Asterisk, e.g. agent1001:pw1,agent1002:pw2 (each at least 12 characters in production); in a cluster the SIP proxy authenticates agents’ registrations with the same list', secret: true, readBy: ['asterisk', 'sipproxy'] },
  ASTERISK_SYSTEM_NAME: {
    description: 'asterisk.conf systemname: prefixes channel ids; REQUIRED and distinct on every node of a cluster (calls and their tickets are named by channel ids, which collide between nodes otherwise)',
    default: '',
    readBy: ['asterisk'],
  },
  SIP_PROXY_LISTEN: { description: 'Cluster only: address:port the SIP proxy (kamailio/run.sh) listens on for carriers, agents and its /RPC', default: '', readBy: ['sipproxy'] },
  SIP_PROXY_NODES: { description: 'Cluster only: the Asterisk nodes behind the SIP proxy, space-separated sip:host:port (OPTIONS-probed, round robin)', default: '', readBy: ['sipproxy'] },
  SIP_PROXY_REALM: { description: 'Cluster only: digest realm of agents’ registrations at the SIP proxy', default: 'hotline', readBy: ['sipproxy'] },
  AGENT_MEDIA_ADDRESS: { description: 'Address Asterisk announces in agents’ SDP (media_address) when agents reach it through NAT (empty = its own)', default: '', readBy: ['asterisk'] },
  ASTERISK_HTTP_PORT: { description: 'Port of Asterisk’s HTTP server (ARI and SIP over WebSocket for softphones)', default: '8088', readBy: ['asterisk'] },
  ASTERISK_HTTPS_PORT: { description: 'TLS port of Asterisk’s HTTP server: wss://…:8089/ws for agents’ softphones (with ASTERISK_TLS_CERT/KEY)', default: '8089', readBy: ['asterisk'] },
  ASTERISK_TLS_CERT: {
    description: 'PEM certificate file (as the Asterisk container sees it, e.g. /etc/hotline/tls/hotline.crt) for HTTPS and SIP over WSS on ASTERISK_HTTPS_PORT (8089); required with ASTERISK_TLS_KEY; empty = no WSS',
    default: '',
    readBy: ['asterisk'],
  },
  ASTERISK_TLS_KEY: { description: 'PEM private key file of ASTERISK_TLS_CERT (unencrypted); required with ASTERISK_TLS_CERT', default: '', readBy: ['asterisk'] },
  ASTERISK_AMI_PORT: { description: 'Port of Asterisk’s AMI', default: '5038', readBy: ['asterisk'] },
  ASTERISK_SIP_BIND: { description: 'Address Asterisk’s SIP/UDP transport (trunks) binds to', default: '0.0.0.0', readBy: ['asterisk'] },
  ASTERISK_SIP_PORT: { description: 'Port of Asterisk’s SIP/UDP transport (trunks)', default: '5060', readBy: ['asterisk'] },
  RTP_PORT_START: { description: 'First RTP port (with RTP_PORT_END; empty = rtp.conf’s 10000-12999; keep the firewall and compose in step)', default: '', readBy: ['asterisk'] },
  RTP_PORT_END: { description: 'Last RTP port (with RTP_PORT_START)', default: '', readBy: ['asterisk'] },
  RTP_ICE_PERMIT: { description: 'Networks (CIDR, comma-separated) whose addresses Asterisk offers as ICE host candidates (empty = all)', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_CARRIER: { description: 'IPv4 addresses/CIDRs (comma-separated) of the carrier trunk delivering citizens’ calls (empty = trunk never matches)', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_LINKAGE_110: { description: 'Addresses of the 110 (police) linkage trunk (empty = trunk never matches)', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_LINKAGE_119: { description: 'Addresses of the 119 (fire) linkage trunk', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_LINKAGE_120: { description: 'Addresses of the 120 (ambulance) linkage trunk', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_LINKAGE_122: { description: 'Addresses of the 122 (traffic police) linkage trunk', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_SUBCENTER_12366: { description: 'Addresses of the 12366 (tax) sub-center trunk', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_SUBCENTER_12369: { description: 'Addresses of the 12369 (environment) sub-center trunk', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_SUBCENTER_12367: { description: 'Addresses of the 12367 (immigration) sub-center trunk (Zhengzhou)', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_SUBCENTER_12313: { description: 'Addresses of the 12313 (tobacco monopoly) sub-center trunk (Zhengzhou)', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_SUBPLATFORM_12333: { description: 'Addresses of the 12333 (human resources and social security) sub-platform trunk (Zhengzhou)', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_SUBPLATFORM_12329: { description: 'Addresses of the 12329 (housing provident fund) sub-platform trunk (Zhengzhou)', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_SUBPLATFORM_12320: { description: 'Addresses of the 12320 (public health) sub-platform trunk (Zhengzhou)', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_SUBPLATFORM_12315: { description: 'Addresses of the 12315 (market regulation) sub-platform trunk (Zhengzhou)', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_SUBPLATFORM_12319: { description: 'Addresses of the 12319 (digital city management) sub-platform trunk (Zhengzhou)', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_SUBPLATFORM_12393: { description: 'Addresses of the 12393 (medical insurance) sub-platform trunk (Zhengzhou)', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_SUBPLATFORM_12328: { description: 'Addresses of the 12328 (transport service) sub-platform trunk (Zhengzhou)', default: '', readBy: ['asterisk'] },
  SIP_TRUNK_TRANSFER_12333: { description: 'Addresses of the 12333 (human resources) transfer trunk (Yantai, Lu’an)', default: '', readBy: ['asterisk'] },
  // --- interpolated by docker compose itself ---
  TLS_DIR: { description: 'Host folder compose mounts read-only at /etc/hotline/tls in the app and Asterisk (certificate and key named by HTTP_TLS_* and ASTERISK_TLS_*)', default: './tls', readBy: ['compose'] },
  PUBLISH_ADDR: { description: 'Host address compose publishes SIP, ARI/WS, RTP and the app on (a private interface on a real site; never the internet)', default: '127.0.0.1', readBy: ['compose'] },
  APP_PUBLISH_PORT: { description: 'Host port compose publishes the app’s HTTP port 8080 on', default: '8080', readBy: ['compose'] },
  ASTERISK_IMAGE: { description: 'Asterisk 22 container image', default: 'andrius/asterisk:22', readBy: ['compose'] },
  KAMAILIO_IMAGE: { description: 'Cluster profile: Kamailio 5.6 container image (Debian-based, with /bin/sh) running kamailio/run.sh', default: 'kamailio/kamailio:5.6.3-bookworm', readBy: ['compose'] },
  APP_B_PUBLISH_PORT: { description: 'Cluster profile: host port of the second server instance (app-b)', default: '8081', readBy: ['compose'] },
};

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
 * Reads variables and records every problem instead of stopping at the first,
 * so an operator fixes the whole .env in one go. A failed read returns a
 * placeholder (the default, '' or 0) that is never used: {@link loadConfig}
 * throws once all variables were read.
 */
class Reader {
  readonly problems: ConfigError[] = [];
  private readonly failed = new Set<string>();
  constructor(private readonly env: Env) {}

  fail(err: ConfigError): void {
    // One problem per variable: a missing value is not also "not a valid URL".
    if (this.failed.has(err.variable)) return;
    this.failed.add(err.variable);
    this.problems.push(err);
  }

  raw(name: string): string | undefined {
    return this.env[name];
  }

  str(name: string, opts: { required?: boolean } = {}): string {
    const raw = this.env[name];
    const value = raw === undefined || raw === '' ? VARIABLES[name]?.default : raw;
    if (value === undefined || (opts.required && value === '')) {
      this.fail(new ConfigError(name, 'is required but not set'));
      return '';
    }
    if (/[\r\n\0]/.test(value)) {
      this.fail(new ConfigError(name, 'must be a single line'));
      return '';
    }
    return value;
  }

  int(name: string, min: number, max: number): number {
    const value = this.str(name);
    if (!/^\d+$/.test(value)) {
      this.fail(new ConfigError(name, `must be a whole number (got "${value}")`));
      return min;
    }
    const n = Number(value);
    if (n < min || n > max) this.fail(new ConfigError(name, `must be between ${min} and ${max} (got ${n})`));
    return n;
  }

  bool(name: string): boolean {
    const value = this.str(name).toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(value)) return true;
    if (['false', '0', 'no', 'off'].includes(value)) return false;
    this.fail(new ConfigError(name, `must be true or false (got "${value}")`));
    return false;
  }

  url(name: string, protocols: string[]): string {
    const value = this.str(name, { required: true });
    if (value === '') return '';
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      this.fail(new ConfigError(name, 'is not a valid URL'));
      return '';
    }
    if (!protocols.includes(parsed.protocol)) {
      this.fail(new ConfigError(name, `must use ${protocols.join(' or ')} (got ${parsed.protocol})`));
    }
    return value.replace(/\/+$/, '');
  }

  name(varName: string, pattern: RegExp, what: string, allowEmpty = false): string {
    const value = this.str(varName, { required: !allowEmpty });
    if (value === '' && !allowEmpty) return '';
    if (!pattern.test(value)) this.fail(new ConfigError(varName, `must be ${what} (got "${value}")`));
    return value;
  }
}

/**
 * Read and validate the configuration. Every variable is read even after a
 * problem; throws {@link ConfigError} (one problem) or {@link ConfigErrors}
 * (several), each naming its variable.
 */
export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env);
  const city = r.str('HOTLINE_CITY');
  if (!(CITY_PRESETS as readonly string[]).includes(city)) {
    r.fail(new ConfigError('HOTLINE_CITY', `must be one of ${CITY_PRESETS.join(', ')} (got "${city}")`));
  }
  const lang = r.str('HOTLINE_DEFAULT_LANGUAGE');
  if (lang !== 'zh' && lang !== 'en') r.fail(new ConfigError('HOTLINE_DEFAULT_LANGUAGE', `must be zh or en (got "${lang}")`));
  const amiEnabled = r.bool('AMI_ENABLED');
  const logLevel = r.str('LOG_LEVEL');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    r.fail(new ConfigError('LOG_LEVEL', `must be one of fatal, error, warn, info, debug, trace, silent (got "${logLevel}")`));
  }
  const config: Config = {
    ari: {
      url: r.url('ARI_URL', ['http:', 'https:']),
      user: r.name('ARI_USER', /^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . -'),
      password: r.str('ARI_PASSWORD', { required: true }),
      app: r.name('ARI_APP', /^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ -'),
      requestTimeoutMs: r.int('ARI_REQUEST_TIMEOUT_MS', 100, 120_000),
      maxInFlight: r.int('ARI_MAX_IN_FLIGHT', 1, 1000),
      exclusive: r.bool('ARI_EXCLUSIVE'),
    },
    ami: {
      enabled: amiEnabled,
      host: r.str('AMI_HOST'),
      port: r.int('AMI_PORT', 1, 65535),
      user: r.str('AMI_USER'),
      secret: amiEnabled ? r.str('AMI_SECRET', { required: true }) : (r.raw('AMI_SECRET') ?? ''),
    },
    redisUrl: r.url('REDIS_URL', ['redis:', 'rediss:']),
    ...(() => {
      const sentinel = readRedisSentinel(r);
      return sentinel ? { redisSentinel: sentinel } : {};
    })(),
    redisReplicaAcks: { count: r.int('REDIS_REPLICA_ACKS', 0, 16), timeoutMs: r.int('REDIS_REPLICA_ACK_TIMEOUT_MS', 10, 60_000) },
    keyPrefix: r.name('HOTLINE_KEY_PREFIX', /^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ -'),
    http: (() => {
      const tls = readHttpTls(r, r.str('HTTP_TLS_CERT'), r.str('HTTP_TLS_KEY'));
      return { host: r.str('HTTP_HOST'), port: r.int('HTTP_PORT', 0, 65535), ...(tls ? { tls } : {}) };
    })(),
    city: city as CityPreset,
    area: r.name('HOTLINE_AREA', /^[A-Za-z0-9_-]{0,32}$/, 'letters, digits, _ - (or empty)', true),
    logLevel,
    dataDir: r.str('HOTLINE_DATA_DIR'),
    defaultLanguage: lang === 'en' ? 'en' : 'zh',
    carrierContext: r.name('HOTLINE_CARRIER_CONTEXT', /^[A-Za-z0-9_-]{1,64}$/, 'a dialplan context name'),
    access: (() => {
      const jwtSecret = r.str('JWT_SECRET', { required: true });
      if (jwtSecret.length < 32) r.fail(new ConfigError('JWT_SECRET', 'must have at least 32 characters'));
      const numberIdSecret = r.str('NUMBER_ID_SECRET');
      if (numberIdSecret && numberIdSecret.length < 32) r.fail(new ConfigError('NUMBER_ID_SECRET', 'must have at least 32 characters (or be empty)'));
      const adminUser = r.str('HOTLINE_ADMIN_USER');
      const adminPassword = r.raw('HOTLINE_ADMIN_PASSWORD') ?? '';
      if (adminUser && !/^[A-Za-z0-9_.-]{2,32}$/.test(adminUser)) r.fail(new ConfigError('HOTLINE_ADMIN_USER', 'must be 2-32 letters, digits, _ . -'));
      if (adminUser && (adminPassword.length < 10 || !/[A-Za-z]/.test(adminPassword) || !/\d/.test(adminPassword))) {
        r.fail(new ConfigError('HOTLINE_ADMIN_PASSWORD', 'must have at least 10 characters with letters and digits'));
      }
      return {
        jwtSecret,
        numberIdKey: numberIdSecret || deriveNumberIdKey(jwtSecret),
        tokenTtlSec: r.int('TOKEN_TTL_SEC', 60, 86_400),
        cookieSecure: r.bool('COOKIE_SECURE'),
        loginMaxFailures: r.int('LOGIN_MAX_FAILURES', 1, 100),
        loginWindowSec: r.int('LOGIN_WINDOW_SEC', 10, 86_400),
        apiRatePerMinute: r.int('API_RATE_PER_MINUTE', 1, 100_000),
        auditRetain: r.int('AUDIT_RETAIN', 1000, 100_000_000),
        ...(adminUser ? { bootstrapAdmin: { username: adminUser, password: adminPassword } } : {}),
      };
    })(),
    recording: {
      dir: r.str('RECORDINGS_DIR'),
      retentionDays: r.int('RECORDING_RETENTION_DAYS', 0, 36_500),
      qualitySamplePercent: r.int('QUALITY_SAMPLE_PERCENT', 0, 100),
    },
    knowledge: {
      promptsDir: r.str('KB_PROMPTS_DIR'),
      remindDays: r.int('KB_REMIND_DAYS', 1, 365),
      publicRatePerMinute: r.int('KB_PUBLIC_RATE_PER_MINUTE', 1, 100_000),
    },
    guard: {
      maxCalls: r.int('CALLER_MAX_CALLS', 1, 100_000),
      windowSec: r.int('CALLER_WINDOW_SEC', 60, 7 * 86_400),
      maxSilent: r.int('CALLER_MAX_SILENT', 1, 1000),
      priorityDelta: (() => {
        const v = r.str('CALLER_LIMIT_PRIORITY_DELTA');
        if (!/^-\d{1,3}$|^0$/.test(v)) r.fail(new ConfigError('CALLER_LIMIT_PRIORITY_DELTA', `must be 0 or a negative whole number (got "${v}")`));
        return Number(v);
      })(),
    },
    softphone: {
      wsUrl: r.url('SOFTPHONE_WS_URL', ['ws:', 'wss:']),
      sipDomain: r.name('SOFTPHONE_SIP_DOMAIN', /^[A-Za-z0-9.-]{1,100}$/, 'a domain name'),
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
      dialTemplate: r.name('AGENT_DIAL_TEMPLATE', /^[A-Za-z]+\/[A-Za-z0-9_.@{}:\/-]*\{ext\}[A-Za-z0-9_.@{}:\/-]*$/, 'a dial string containing {ext}, e.g. PJSIP/agent{ext} (or PJSIP/carrier/sip:agent{ext}@proxy:5060 behind the cluster\'s SIP proxy)'),
      requireRegistration: r.bool('ACD_REQUIRE_REGISTRATION'),
      noAnswerSec: r.int('ACD_NO_ANSWER_SEC', 3, 120),
      wrapUpSec: r.int('ACD_WRAP_UP_SEC', 0, 600),
      queueAnnounceEverySec: r.int('QUEUE_ANNOUNCE_EVERY_SEC', 0, 600),
      handoffRingSec: r.int('HANDOFF_RING_SEC', 3, 300),
      callbackOfferAfterSec: r.int('CALLBACK_OFFER_AFTER_SEC', 0, 3600),
      callbackDialTemplate: r.name('CALLBACK_DIAL_TEMPLATE', /^[A-Za-z]+\/[A-Za-z0-9_.@{}-]*\{number\}[A-Za-z0-9_.@{}-]*$/, 'a dial string containing {number}, e.g. PJSIP/{number}@carrier'),
      callbackRingSec: r.int('CALLBACK_RING_SEC', 5, 120),
      healSec: r.int('ACD_HEAL_SEC', 0, 3600),
    },
    callState: { leaseMs: r.int('CALL_STATE_LEASE_MS', 1000, 300_000) },
    outbound: {
      callerId: r.name('OUTBOUND_CALLER_ID', /^\d{3,20}$/, 'digits, e.g. 12345'),
      userExtensions: (() => {
        const out: Record<string, string> = {};
        for (const pair of r.str('OUTBOUND_USER_EXTENSIONS').split(',').map((x) => x.trim()).filter(Boolean)) {
          const m = /^([A-Za-z0-9_.-]{2,32}):([0-9A-Za-z_-]{1,32})$/.exec(pair);
          if (!m) r.fail(new ConfigError('OUTBOUND_USER_EXTENSIONS', `has "${pair}" (want username:extension, e.g. unit-wang:8801)`));
          else out[m[1]!] = m[2]!;
        }
        return out;
      })(),
      maxPerUserDay: r.int('OUTBOUND_MAX_PER_USER_DAY', 1, 10_000),
      maxPerTicketDay: r.int('OUTBOUND_MAX_PER_TICKET_DAY', 1, 100),
      userRingSec: r.int('OUTBOUND_USER_RING_SEC', 5, 120),
    },
    admission: {
      maxCalls: r.int('ADMIT_MAX_CALLS', 0, 100_000),
      maxQueue: r.int('ADMIT_MAX_QUEUE', 0, 100_000),
      maxWaitSec: r.int('ADMIT_MAX_WAIT_SEC', 0, 86_400),
      ariMaxLatencyMs: r.int('ADMIT_ARI_MAX_LATENCY_MS', 0, 120_000),
      ariMaxBacklog: r.int('ADMIT_ARI_MAX_BACKLOG', 0, 100_000),
      maxPbxCalls: r.int('ADMIT_MAX_PBX_CALLS', 0, 1_000_000),
    },
    intake: (() => {
      const channels = ['web', 'wechat', 'mini-program', 'app', 'sms', 'mailbox'];
      const platforms = ['national', 'provincial', 'city', 'zhengqitong', 'jiesujiban'];
      const pairs = (name: string, keys: string[], value: (v: string) => string | undefined): Record<string, string> => {
        const out: Record<string, string> = {};
        const raw = (r.raw(name) ?? '').trim();
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
        replayWindowSec: r.int('INTAKE_REPLAY_WINDOW_SEC', 10, 3600),
        formEnabled: r.bool('INTAKE_FORM_ENABLED'),
        formPerHour: r.int('INTAKE_FORM_PER_HOUR', 1, 10_000),
        upstream: { secrets: upSecrets, urls, attempts: r.int('UPSTREAM_ATTEMPTS', 1, 100), backoffMs: r.int('UPSTREAM_BACKOFF_MS', 10, 3_600_000) },
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
      const target = rate('CONTROLLER_TARGET', r.str('CONTROLLER_TARGET'));
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
        intervalSec: r.int('CONTROLLER_INTERVAL_SEC', 1, 600),
        maxLevel: r.int('CONTROLLER_MAX_LEVEL', 0, 3),
        releaseHoldSec: r.int('CONTROLLER_RELEASE_HOLD_SEC', 0, 7200),
        lendGroups,
      };
    })(),
    metrics: (() => {
      const token = r.raw('METRICS_TOKEN') ?? '';
      if (token && token.length < 24) r.fail(new ConfigError('METRICS_TOKEN', 'must have at least 24 characters (or be empty)'));
      const allow = r.str('METRICS_ALLOW').split(',').map((x) => x.trim()).filter(Boolean);
      for (const c of allow) if (!isCidr(c)) r.fail(new ConfigError('METRICS_ALLOW', `has an invalid network "${c}" (want e.g. 10.0.0.0/8 or ::1/128)`));
      return { token, allow };
    })(),
    tickets: (() => {
      const slaPolicy = r.name('TICKET_SLA_POLICY', /^[a-z0-9-]{0,40}$/, 'a policy id like yantai-laishan (or empty)', true);
      const repeatWindowDays = r.int('TICKET_REPEAT_WINDOW_DAYS', 0, 365);
      const replyReviewHours = r.int('TICKET_REPLY_REVIEW_HOURS', 0, 720);
      const webhookUrl = r.str('TICKET_WEBHOOK_URL');
      const fullNumbers = r.bool('TICKET_WEBHOOK_FULL_NUMBERS');
      const attempts = r.int('TICKET_WEBHOOK_ATTEMPTS', 1, 100);
      const backoffMs = r.int('TICKET_WEBHOOK_BACKOFF_MS', 10, 3_600_000);
      if (!webhookUrl) return { slaPolicy, repeatWindowDays, replyReviewHours };
      const url0 = r.url('TICKET_WEBHOOK_URL', ['http:', 'https:']);
      const secret = r.raw('TICKET_WEBHOOK_SECRET') ?? '';
      if (secret.length < 16) r.fail(new ConfigError('TICKET_WEBHOOK_SECRET', 'must have at least 16 characters when TICKET_WEBHOOK_URL is set'));
      return { slaPolicy, repeatWindowDays, replyReviewHours, webhook: { url: url0, secret, fullNumbers, attempts, backoffMs } };
    })(),
    supervision: (() => {
      const satisfactionMin = r.int('SUPERVISION_SATISFACTION_MIN_PCT', 0, 100) / 100;
      const onTimeMin = r.int('SUPERVISION_ON_TIME_MIN_PCT', 0, 100) / 100;
      const redMin = r.int('SUPERVISION_RED_MIN_PCT', 0, 100) / 100;
      if (redMin < Math.max(satisfactionMin, onTimeMin)) r.fail(new ConfigError('SUPERVISION_RED_MIN_PCT', 'must not be below SUPERVISION_SATISFACTION_MIN_PCT and SUPERVISION_ON_TIME_MIN_PCT'));
      return { satisfactionMin, onTimeMin, redMin, minSample: r.int('SUPERVISION_MIN_SAMPLE', 1, 10_000), orderWorkingDays: r.int('SUPERVISION_ORDER_WORKING_DAYS', 1, 30) };
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

/** `REDIS_SENTINELS=host:port,…` → the Sentinel set, or undefined when empty; each bad entry named. */
function readRedisSentinel(r: Reader): RedisSentinelConfig | undefined {
  const list = r.str('REDIS_SENTINELS');
  const master = r.name('REDIS_SENTINEL_MASTER', /^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . -');
  const password = r.raw('REDIS_SENTINEL_PASSWORD') ?? '';
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
