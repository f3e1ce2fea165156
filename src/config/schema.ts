/**
 * The deployment's variables, declared once as a JSON Schema and checked with ajv
 * (the validator fastify already uses for every request body, so no second schema
 * dialect in the code base).
 *
 * @remarks
 * Each property is one variable: its type and limits (checked by {@link validateEnv}), its
 * default, and the annotations the documentation is rendered from (`description`,
 * `x-secret`, `x-readBy`, `x-example`; src/config/docs.ts). `.env.example` and the README's
 * configuration table come from here (`npm run config:docs`), and tests/unit/env-example.test.ts
 * fails when a variable is declared without a description, when the committed files differ from
 * the rendering, or when docker-compose.yml or the Asterisk entrypoint use an undeclared variable.
 * What a schema cannot say (lists of pairs, certificate files, rules across variables) stays in
 * loadConfig (src/config/index.ts), which reads only the values validated here.
 */
import { Ajv, type ErrorObject } from 'ajv';

export const CITY_PRESETS = ['zaozhuang', 'yantai', 'luan', 'zhengzhou'] as const;
export type CityPreset = (typeof CITY_PRESETS)[number];

/** Who reads a variable: this server, Asterisk's entrypoint (asterisk/docker-entrypoint.sh), the cluster's SIP proxy or docker compose itself. */
export type VariableReader = 'server' | 'asterisk' | 'sipproxy' | 'compose';

/** One variable: a JSON Schema of its (converted) value plus our documentation annotations. */
export interface VariableSchema {
  readonly type: 'string' | 'integer' | 'number' | 'boolean';
  /** One line, rendered into .env.example and the README table. */
  readonly description: string;
  /** Value when unset or empty; absent = required (for the server's variables; see {@link ENV_SCHEMA}). */
  readonly default?: string | number | boolean;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
  /** A URL with one of these protocols (an empty value passes: `required` says whether one is needed). */
  readonly 'x-protocols'?: readonly string[];
  /** What the value must be, in words, for every failure but a missing value (e.g. "must be letters, digits, _ -"). */
  readonly 'x-message'?: string;
  /** Never logged, never echoed in an error, never given a value in .env.example. */
  readonly 'x-secret'?: boolean;
  /** Default ['server']; the first reader decides the section it is documented in. */
  readonly 'x-readBy'?: readonly VariableReader[];
  /** Value shown in .env.example for a required variable without default. */
  readonly 'x-example'?: string;
}

/**
 * Every variable of the deployment: what the server reads (validated at start) and what
 * docker-compose.yml passes to Asterisk's entrypoint and the SIP proxy or interpolates itself.
 */
export const ENV_VARIABLES: Record<string, VariableSchema> = {
  ARI_URL: { type: 'string', 'x-protocols': ['http:', 'https:'], 'x-example': 'http://asterisk:8088', description: 'Base URL of Asterisk ARI (http.conf), e.g. http://asterisk:8088' },
  ARI_USER: { type: 'string', default: 'hotline', pattern: '^[A-Za-z0-9_.-]{1,64}$', 'x-message': 'must be letters, digits, _ . -', description: 'ARI user from ari.conf' },
  ARI_PASSWORD: { type: 'string', 'x-secret': true, 'x-readBy': ['server', 'asterisk'], description: 'ARI password from ari.conf (also rendered into Asterisk’s ari.conf by the entrypoint)' },
  ARI_APP: { type: 'string', default: 'hotline', pattern: '^[A-Za-z0-9_-]{1,64}$', 'x-message': 'must be letters, digits, _ -', description: 'Stasis application name used by the dialplan' },
  ARI_REQUEST_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 120_000, default: 5000, description: 'Timeout of every ARI request in ms' },
  ARI_EXCLUSIVE: { type: 'boolean', default: false, description: 'One instance drives the Asterisk at a time (a Redis lock with the call-state lease): an instance started beside it waits as a standby and takes over when it stops or dies (true/false)' },
  ARI_MAX_IN_FLIGHT: { type: 'integer', minimum: 1, maximum: 1000, default: 64, description: 'Maximum concurrent ARI requests, and kept-alive connections to ARI (keep below http.conf sessionlimit)' },
  ARI_PING_INTERVAL_MS: { type: 'integer', minimum: 100, maximum: 120_000, default: 15_000, description: 'How often the ARI events socket is pinged; a socket with no pong by the next ping is closed and the server reconnects (finds a link that died without a close)' },
  AMI_ENABLED: { type: 'boolean', default: true, description: 'Connect to AMI for softphone registration and health (true/false)' },
  AMI_HOST: { type: 'string', default: '127.0.0.1', description: 'AMI host' },
  AMI_PORT: { type: 'integer', minimum: 1, maximum: 65535, default: 5038, description: 'AMI port (manager.conf)' },
  AMI_USER: { type: 'string', default: 'hotline', description: 'AMI user (manager.conf)' },
  AMI_SECRET: { type: 'string', 'x-secret': true, 'x-readBy': ['server', 'asterisk'], description: 'AMI secret (manager.conf; also rendered into Asterisk’s manager.conf by the entrypoint)' },
  REDIS_URL: { type: 'string', default: 'redis://127.0.0.1:6379', 'x-protocols': ['redis:', 'rediss:'], description: 'Redis URL, e.g. redis://redis:6379 (with REDIS_SENTINELS: only its password, db and rediss: are used)' },
  REDIS_SENTINELS: { type: 'string', default: '', description: 'Redis Sentinel addresses host:port,host:port,… (empty = the single Redis of REDIS_URL); the server and every job queue follow the primary through failovers' },
  REDIS_SENTINEL_MASTER: { type: 'string', default: 'mymaster', pattern: '^[A-Za-z0-9_.-]{1,64}$', 'x-message': 'must be letters, digits, _ . -', description: 'Name of the primary the Sentinels monitor (sentinel monitor <name> …)' },
  REDIS_SENTINEL_PASSWORD: { type: 'string', default: '', 'x-secret': true, description: 'Password of the Sentinels themselves (empty = none)' },
  REDIS_REPLICA_ACKS: { type: 'integer', minimum: 0, maximum: 16, default: 0, description: 'Replicas that must confirm a spooled ticket job (Redis WAIT) before the outbox deletes its file; 1 with Sentinel so that a failover loses no ticket, 0 for a single Redis' },
  CLUSTER_NODE: { type: 'string', default: '', description: 'Cluster only: the name of the Asterisk node this server drives (one of CLUSTER_NODES); empty = no cluster' },
  CLUSTER_NODES: { type: 'string', default: '', description: 'Cluster only: every Asterisk node as name=ARI URL, comma-separated (e.g. node-a=http://10.0.0.1:8088,node-b=http://10.0.0.2:8088); all nodes share ARI_USER, ARI_PASSWORD and ARI_APP. A peer takes a node over when its server dies and hands it back when it returns' },
  CALL_STATE_LEASE_MS: { type: 'integer', minimum: 1000, maximum: 300000, default: 15000, description: 'Lease (ms) of an instance on its live calls, renewed every third of it: an instance silent this long is presumed dead and its calls are adopted by its restart, a standby (ARI_EXCLUSIVE) or, in a cluster, the peer that takes its node over. Shorter = faster switch-over, but a server stalled that long loses its calls' },
  SIP_PROXY_RPC_URL: { type: 'string', default: '', description: 'Cluster only: the SIP proxy’s jsonrpc URL (kamailio/, e.g. http://10.0.0.10:5060/RPC); the ACD then takes agents’ registrations from the proxy (ul.dump, polled) instead of AMI, so ACD_REQUIRE_REGISTRATION=true works in the cluster. Empty = AMI' },
  SIP_PROXY_POLL_MS: { type: 'integer', minimum: 200, maximum: 60000, default: 2000, description: 'How often the SIP proxy’s registrations are read (ms)' },
  REDIS_REPLICA_ACK_TIMEOUT_MS: { type: 'integer', minimum: 10, maximum: 60_000, default: 1000, description: 'How long the outbox waits for REDIS_REPLICA_ACKS replicas before keeping the job and retrying' },
  HOTLINE_KEY_PREFIX: { type: 'string', default: 'hotline', pattern: '^[A-Za-z0-9_-]{1,32}$', 'x-message': 'must be letters, digits, _ -', description: 'Prefix of every Redis key and BullMQ queue' },
  HTTP_HOST: { type: 'string', default: '127.0.0.1', description: 'Address the HTTP server binds to' },
  HTTP_PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 8080, description: 'HTTP port (HTTPS when HTTP_TLS_CERT is set)' },
  HTTP_TLS_CERT: { type: 'string', default: '', description: 'PEM certificate file (server certificate first, then intermediates) to serve pages and APIs over HTTPS; required with HTTP_TLS_KEY; empty = plain HTTP (agents outside localhost need HTTPS for the microphone)' },
  HTTP_TLS_KEY: { type: 'string', default: '', description: 'PEM private key file of HTTP_TLS_CERT; required with HTTP_TLS_CERT' },
  HOTLINE_CITY: { type: 'string', default: 'zaozhuang', enum: CITY_PRESETS, description: `City preset: ${CITY_PRESETS.join(', ')}` },
  HOTLINE_AREA: { type: 'string', default: '', pattern: '^[A-Za-z0-9_-]{0,32}$', 'x-message': 'must be letters, digits, _ - (or empty)', description: 'Area (city/district) code used when a call carries none' },
  LOG_LEVEL: { type: 'string', default: 'info', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], description: 'pino log level' },
  HOTLINE_DATA_DIR: { type: 'string', default: './var', description: 'Directory for local durable state (ticket outbox spool)' },
  TICKET_OUTBOX_LINGER_MS: { type: 'integer', minimum: 0, maximum: 1000, default: 50, description: 'How long an ended call’s record waits for others to share one spool write, fsync and enqueue of the ticket outbox (group commit; 0 = none). The call’s state is kept until its record is spooled' },
  HOTLINE_DEFAULT_LANGUAGE: { type: 'string', default: 'zh', enum: ['zh', 'en'], description: 'Default prompt language: zh or en' },
  HOTLINE_CARRIER_CONTEXT: { type: 'string', default: 'from-carrier', pattern: '^[A-Za-z0-9_-]{1,64}$', 'x-message': 'must be a dialplan context name', description: 'Dialplan context of citizens’ calls' },
  JWT_SECRET: { type: 'string', minLength: 32, 'x-secret': true, description: 'Secret signing session tokens (at least 32 characters; the same on every instance)' },
  NUMBER_ID_SECRET: { type: 'string', default: '', pattern: '^(|.{32,})$', 'x-message': 'must have at least 32 characters (or be empty)', 'x-secret': true, description: 'Key of the ids derived from phone numbers (block list, caller index, audit targets; at least 32 characters, the same on every instance); empty = derived from JWT_SECRET' },
  TOKEN_TTL_SEC: { type: 'integer', minimum: 60, maximum: 86_400, default: 900, description: 'Lifetime of a session token in seconds' },
  PASSWORD_HASH_COST: { type: 'integer', minimum: 10, maximum: 20, default: 15, description: 'scrypt cost of stored passwords as log2(N), r=8, p=1: 15 is about 32 MiB and 100 ms of one core per login; raise it on faster machines (older hashes are upgraded at the next login); values under 15 only for tests' },
  COOKIE_SECURE: { type: 'boolean', default: true, description: 'Send the session cookie over HTTPS only (true behind TLS)' },
  LOGIN_MAX_FAILURES: { type: 'integer', minimum: 1, maximum: 100, default: 5, description: 'Failed logins per user before further attempts are refused for the window' },
  LOGIN_WINDOW_SEC: { type: 'integer', minimum: 10, maximum: 86_400, default: 900, description: 'Window (and lock-out) of failed logins in seconds' },
  API_RATE_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 100_000, default: 600, description: 'API requests per minute per user (or address)' },
  AUDIT_RETAIN: { type: 'integer', minimum: 1000, maximum: 100_000_000, default: 1000000, description: 'Audit log entries kept (the oldest are trimmed)' },
  HOTLINE_ADMIN_USER: { type: 'string', default: '', pattern: '^(|[A-Za-z0-9_.-]{2,32})$', 'x-message': 'must be 2-32 letters, digits, _ . -', description: 'First admin user, created at start if no admin exists' },
  HOTLINE_ADMIN_PASSWORD: { type: 'string', default: '', 'x-secret': true, description: 'Password of the first admin (at least 10 characters, letters and digits); required with HOTLINE_ADMIN_USER' },
  RECORDINGS_DIR: { type: 'string', default: '/var/spool/asterisk/recording', description: 'Asterisk’s recordings directory as this server sees it (a shared volume)' },
  RECORDING_RETENTION_DAYS: { type: 'integer', minimum: 0, maximum: 36_500, default: 180, description: 'Days recordings are kept before scheduled deletion (0 = keep); legal holds are never deleted' },
  QUALITY_SAMPLE_PERCENT: { type: 'integer', minimum: 0, maximum: 100, default: 5, description: 'Share of each agent’s calls sampled for quality inspection (plus every flagged call)' },
  QUALITY_TARGET_SCORE: { type: 'integer', minimum: 0, maximum: 100, default: 90, description: 'Target average quality score (0-100, weighted total of the inspection form): the line drawn on the quality page’s score trend' },
  KB_PROMPTS_DIR: { type: 'string', default: './sounds/build', description: 'Prompt root the server writes published knowledge-base answers into (<dir>/<lang>/hotline/kb-*.wav; the folder Asterisk plays our prompts from)' },
  KB_REMIND_DAYS: { type: 'integer', minimum: 1, maximum: 365, default: 14, description: 'Days before a knowledge-base article’s valid-until that its unit’s editors are reminded' },
  KB_PUBLIC_RATE_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 100_000, default: 60, description: 'Requests per minute per address to the public knowledge-base API (/api/public/kb)' },
  CALLER_MAX_CALLS: { type: 'integer', minimum: 1, maximum: 100_000, default: 20, description: 'Calls from one number within CALLER_WINDOW_SEC before a notice and lower priority' },
  CALLER_WINDOW_SEC: { type: 'integer', minimum: 60, maximum: 604_800, default: 3600, description: 'Window of the per-caller limits in seconds' },
  CALLER_MAX_SILENT: { type: 'integer', minimum: 1, maximum: 1000, default: 3, description: 'Silent calls (no key, no agent) within the window before a notice and lower priority' },
  CALLER_LIMIT_PRIORITY_DELTA: { type: 'integer', minimum: -999, maximum: 0, default: -5, 'x-message': 'must be 0 or a negative whole number', description: 'Queue priority change for a limited caller (negative)' },
  SOFTPHONE_WS_URL: { type: 'string', default: 'ws://127.0.0.1:8088/ws', 'x-protocols': ['ws:', 'wss:'], description: 'SIP over WebSocket URL for the agent softphone (wss://asterisk:8089/ws in production)' },
  SOFTPHONE_SIP_DOMAIN: { type: 'string', default: 'hotline.local', pattern: '^[A-Za-z0-9.-]{1,100}$', 'x-message': 'must be a domain name', description: 'SIP domain agents register in' },
  SOFTPHONE_ICE_SERVERS: { type: 'string', default: '', description: 'Comma-separated STUN/TURN URLs for the softphone (empty: host candidates only)' },
  AGENT_DIAL_TEMPLATE: { type: 'string', default: 'PJSIP/agent{ext}', pattern: '^[A-Za-z]+/[A-Za-z0-9_.@{}:/-]*\\{ext\\}[A-Za-z0-9_.@{}:/-]*$', 'x-message': 'must be a dial string containing {ext}, e.g. PJSIP/agent{ext} (or PJSIP/carrier/sip:agent{ext}@proxy:5060 behind the cluster\'s SIP proxy)', description: 'Dial string of an agent’s softphone; {ext} is replaced by the extension. Behind the cluster’s SIP proxy: PJSIP/carrier/sip:agent{ext}@<proxy>:<port> (any node reaches any agent)' },
  ACD_REQUIRE_REGISTRATION: { type: 'boolean', default: true, description: 'Offer calls only to agents whose softphone is registered (AMI ContactStatus)' },
  ACD_NO_ANSWER_SEC: { type: 'integer', minimum: 3, maximum: 120, default: 15, description: 'Seconds an agent may ring before the call goes to the next agent' },
  ACD_WRAP_UP_SEC: { type: 'integer', minimum: 0, maximum: 600, default: 30, description: 'After-call work (话后处理) seconds before the agent is offered the next call' },
  QUEUE_ANNOUNCE_EVERY_SEC: { type: 'integer', minimum: 0, maximum: 600, default: 45, description: 'Seconds between queue position announcements (0 = off)' },
  HANDOFF_RING_SEC: { type: 'integer', minimum: 3, maximum: 300, default: 30, description: 'Seconds a hand-off target may ring before the hand-off fails' },
  CALLBACK_OFFER_AFTER_SEC: { type: 'integer', minimum: 0, maximum: 3600, default: 60, description: 'Seconds of waiting after which a caller may press 1 for a callback (0 = never)' },
  CALLBACK_DIAL_TEMPLATE: { type: 'string', default: 'PJSIP/{number}@carrier', pattern: '^[A-Za-z]+/[A-Za-z0-9_.@{}-]*\\{number\\}[A-Za-z0-9_.@{}-]*$', 'x-message': 'must be a dial string containing {number}, e.g. PJSIP/{number}@carrier', description: 'Dial string for calling citizens back; {number} is the citizen’s number' },
  CALLBACK_RING_SEC: { type: 'integer', minimum: 5, maximum: 120, default: 30, description: 'Seconds a citizen’s phone rings on a callback' },
  OUTBOUND_CALLER_ID: { type: 'string', default: '12345', pattern: '^\\d{3,20}$', 'x-message': 'must be digits, e.g. 12345', description: 'Caller id citizens see on outbound calls from a ticket (click-to-call)' },
  OUTBOUND_USER_EXTENSIONS: { type: 'string', default: '', description: 'Softphone extensions of users who are not agents (unit users) for click-to-call: username:ext pairs, comma-separated (dialled via AGENT_DIAL_TEMPLATE)' },
  OUTBOUND_MAX_PER_USER_DAY: { type: 'integer', minimum: 1, maximum: 10_000, default: 40, description: 'Outbound calls one user may place per city day' },
  OUTBOUND_MAX_PER_TICKET_DAY: { type: 'integer', minimum: 1, maximum: 100, default: 3, description: 'Outbound calls to one ticket’s citizen per city day (all users together)' },
  OUTBOUND_USER_RING_SEC: { type: 'integer', minimum: 5, maximum: 120, default: 20, description: 'Seconds the user’s own phone rings on click-to-call before the attempt is given up' },
  CAMPAIGN_HOURS: { type: 'string', default: '09:00-12:00,14:00-20:00', description: '回访 campaigns: hours survey calls may be placed, city time (Asia/Shanghai), on working days of the tickets’ calendar (weekends and holidays off, 调休 days on): HH:MM-HH:MM windows, comma-separated' },
  CAMPAIGN_RETRIES: { type: 'integer', minimum: 0, maximum: 10, default: 2, description: '回访 campaigns: further attempts after a busy, unanswered or failed survey call (default per campaign)' },
  CAMPAIGN_RETRY_INTERVAL_SEC: { type: 'integer', minimum: 1, maximum: 86400, default: 1800, description: '回访 campaigns: seconds from the end of a failed attempt to the next one (moved into the allowed hours)' },
  CAMPAIGN_CONCURRENCY: { type: 'integer', minimum: 1, maximum: 200, default: 5, description: '回访 campaigns: survey calls of one campaign in progress at once (default per campaign)' },
  CAMPAIGN_MAX_CALLS: { type: 'integer', minimum: 1, maximum: 500, default: 20, description: '回访 campaigns: survey calls one server instance runs at once, all campaigns together' },
  CONTROLLER_ENABLED: { type: 'boolean', default: true, description: 'Answer-rate controller on at start (true/false); supervisors switch it at run time on /supervisor, which wins once set' },
  CONTROLLER_TARGET: { type: 'number', minimum: 0.5, maximum: 1, default: 0.98, 'x-message': 'must be a rate from 0.5 to 1, e.g. 0.98', description: 'Target answer rate of every line (0.5–1), e.g. 0.98' },
  CONTROLLER_TARGETS: { type: 'string', default: '', description: 'Per line targets overriding CONTROLLER_TARGET, e.g. 12333=0.95,12345=0.98 (empty = none)' },
  CONTROLLER_INTERVAL_SEC: { type: 'integer', minimum: 1, maximum: 600, default: 15, description: 'Seconds between two decisions of the answer-rate controller (one instance decides, by a Redis lock)' },
  CONTROLLER_MAX_LEVEL: { type: 'integer', minimum: 0, maximum: 3, default: 3, description: 'Highest action level of the controller: 0 = watch only, 1–3 = lower the overflow thresholds further (3 also lends CONTROLLER_LEND_GROUPS and alerts supervisors)' },
  CONTROLLER_RELEASE_HOLD_SEC: { type: 'integer', minimum: 0, maximum: 7200, default: 300, description: 'Seconds the forecast must stay safe before the controller gives back one level' },
  CONTROLLER_LEND_GROUPS: { type: 'string', default: '', description: 'Seat groups (comma-separated ids, e.g. support) whose seats take overflowed general calls at level 3 (empty = none)' },
  ACD_HEAL_SEC: { type: 'integer', minimum: 0, maximum: 3600, default: 15, description: 'Seconds between reconciliations of queue entries, offers, callbacks and agent states with the live calls (also after every Redis or ARI reconnect); 0 = only after reconnects' },
  ADMIT_MAX_CALLS: { type: 'integer', minimum: 0, maximum: 100_000, default: 500, description: 'Calls one instance handles at once; callers beyond it hear the busy announcement and are cleared (0 = no limit)' },
  ADMIT_MAX_QUEUE: { type: 'integer', minimum: 0, maximum: 100_000, default: 200, description: 'Callers waiting for one skill; a new caller for a fuller queue hears the busy announcement (0 = no limit)' },
  ADMIT_MAX_WAIT_SEC: { type: 'integer', minimum: 0, maximum: 86_400, default: 1800, description: 'Expected wait (seconds) of a skill’s queue beyond which new callers for it hear the busy announcement (0 = no limit)' },
  ADMIT_ARI_MAX_LATENCY_MS: { type: 'integer', minimum: 0, maximum: 120_000, default: 1500, description: 'Recent ARI request latency (ms, smoothed; timeouts count in full) beyond which new calls are shed: Asterisk or the link is saturated (0 = off)' },
  ADMIT_ARI_MAX_BACKLOG: { type: 'integer', minimum: 0, maximum: 100_000, default: 64, description: 'ARI requests waiting for the in-flight cap (ARI_MAX_IN_FLIGHT) beyond which new calls are shed (0 = off)' },
  ADMIT_GATE_MAX_PERCENT: { type: 'integer', minimum: 0, maximum: 100, default: 90, description: 'Most of the new citizens’ calls the dialplan refuses (SIP 486 before answer, recorded via AMI) while admission control sheds for an instance-wide limit (calls, ARI latency/backlog, Asterisk’s calls); the share follows the overload and decays when it ends (0 = no gate: shed callers are answered and told busy in Stasis only)' },
  ADMIT_MAX_PBX_CALLS: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0, description: 'Calls in progress on the whole Asterisk (AMI CoreStatus CoreCurrentCalls, polled every 2 s) beyond which new calls are shed (0 = off)' },
  TICKET_SLA_POLICY: { type: 'string', default: '', pattern: '^[a-z0-9-]{0,40}$', 'x-message': 'must be a policy id like yantai-laishan (or empty)', description: 'SLA policy of ticket deadlines (data/sla/<id>.json, e.g. yantai-laishan); empty = the city’s (or district’s) own. Every preset city has one; a city without must name one or the server refuses to start' },
  TICKET_REPEAT_WINDOW_DAYS: { type: 'integer', minimum: 0, maximum: 365, default: 30, description: 'Days within which the same caller, handling unit and category count as a repeat request (重复诉求); 0 = off' },
  TICKET_REPLY_REVIEW_HOURS: { type: 'integer', minimum: 0, maximum: 720, default: 0, description: 'Working hours the centre’s reviewer has to approve or refuse a unit’s reply before it goes to the caller or upstream (审核; 24 = one working day); 0 = replies are not reviewed' },
  SUPERVISION_SATISFACTION_MIN_PCT: { type: 'integer', minimum: 0, maximum: 100, default: 90, description: '满意率 below this (percent) fails the district’s 双率 requirement (blue list; 2 and 3 weeks in a row → automatic 督办单 and escalation). The seeds leave the figure to the district' },
  SUPERVISION_ON_TIME_MIN_PCT: { type: 'integer', minimum: 0, maximum: 100, default: 90, description: '按时办结率 below this (percent) fails the 双率 requirement, as SUPERVISION_SATISFACTION_MIN_PCT' },
  SUPERVISION_RED_MIN_PCT: { type: 'integer', minimum: 0, maximum: 100, default: 95, description: 'Red list (红榜): both rates meet the requirement and their mean reaches this (percent)' },
  SUPERVISION_MIN_SAMPLE: { type: 'integer', minimum: 1, maximum: 10_000, default: 5, description: 'A unit’s rate is judged (ranking, 双率) only over at least this many tickets' },
  SUPERVISION_ORDER_WORKING_DAYS: { type: 'integer', minimum: 1, maximum: 30, default: 3, description: 'Working days a unit has to answer a 督办单 (again after each escalation)' },
  TICKET_WEBHOOK_URL: { type: 'string', default: '', 'x-protocols': ['http:', 'https:'], description: 'URL of the city’s work-order system receiving tickets and state changes (empty = no delivery)' },
  TICKET_WEBHOOK_SECRET: { type: 'string', default: '', 'x-secret': true, description: 'HMAC-SHA256 secret signing webhook bodies (x-hotline-signature); required with TICKET_WEBHOOK_URL, at least 16 characters' },
  TICKET_WEBHOOK_FULL_NUMBERS: { type: 'boolean', default: false, description: 'Send full caller numbers to the work-order system (false = masked 138****5678)' },
  TICKET_WEBHOOK_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 100, default: 10, description: 'Delivery attempts per ticket version before it goes to the dead-letter list' },
  TICKET_WEBHOOK_BACKOFF_MS: { type: 'integer', minimum: 10, maximum: 3_600_000, default: 2000, description: 'First retry delay of webhook delivery in ms (doubles each attempt)' },
  INTAKE_SECRETS: { type: 'string', default: '', 'x-secret': true, description: 'Signing secrets of the intake channels, channel=secret comma-separated (web, wechat, mini-program, app, sms, mailbox; each at least 16 characters); a channel without one is not accepted' },
  INTAKE_REPLAY_WINDOW_SEC: { type: 'integer', minimum: 10, maximum: 3600, default: 300, description: 'Seconds a signed intake or work-order request’s x-hotline-timestamp may differ from the server’s clock (older = refused as a replay)' },
  INTAKE_FORM_ENABLED: { type: 'boolean', default: true, description: 'Serve the public request form (/request) and its POST /api/public/requests (true/false)' },
  INTAKE_FORM_PER_HOUR: { type: 'integer', minimum: 1, maximum: 10_000, default: 5, description: 'Requests per hour one address may submit through the public form' },
  UPSTREAM_SECRETS: { type: 'string', default: '', 'x-secret': true, description: 'Secrets of the higher platforms, platform=secret comma-separated (national, provincial, city, zhengqitong, jiesujiban; each at least 16 characters): they sign the work orders they send and we sign our pushes with them' },
  UPSTREAM_URLS: { type: 'string', default: '', description: 'Where state changes and reviewed replies are pushed, platform=URL comma-separated (a platform listed needs a secret in UPSTREAM_SECRETS; empty = no pushes)' },
  UPSTREAM_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 100, default: 10, description: 'Push attempts per ticket version before it goes to the upstream dead-letter list' },
  UPSTREAM_BACKOFF_MS: { type: 'integer', minimum: 10, maximum: 3_600_000, default: 2000, description: 'First retry delay of upstream pushes in ms (doubles each attempt)' },
  METRICS_TOKEN: { type: 'string', default: '', pattern: '^(|.{24,})$', 'x-message': 'must have at least 24 characters (or be empty)', 'x-secret': true, description: 'Bearer token Prometheus sends to GET /metrics (at least 24 characters; empty = only METRICS_ALLOW networks)' },
  METRICS_ALLOW: { type: 'string', default: '127.0.0.1/32,::1/128', description: 'Networks (CIDR, comma-separated) that may scrape GET /metrics without the token; empty = token only' },
  // --- read by asterisk/docker-entrypoint.sh (passed by docker-compose.yml) ---
  HOTLINE_ENV: { type: 'string', default: 'production', 'x-readBy': ['asterisk'], description: 'Asterisk entrypoint mode: production (refuses missing, placeholder or short secrets) or development' },
  AMI_PERMIT: { type: 'string', default: '172.30.12.0/24', 'x-readBy': ['asterisk'], description: 'Networks (CIDR, comma-separated) allowed to log in to AMI; compose’s internal network by default' },
  AGENT_SIP_PASSWORDS: { type: 'string', 'x-secret': true, 'x-readBy': ['asterisk', 'sipproxy'], description: 'Agents’ SIP passwords for Asterisk, e.g. agent1001:pw1,agent1002:pw2 (each at least 12 characters in production); in a cluster the SIP proxy authenticates agents’ registrations with the same list' },
  ASTERISK_SYSTEM_NAME: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'asterisk.conf systemname: prefixes channel ids; REQUIRED and distinct on every node of a cluster (calls and their tickets are named by channel ids, which collide between nodes otherwise)' },
  SIP_PROXY_LISTEN: { type: 'string', default: '', 'x-readBy': ['sipproxy'], description: 'Cluster only: address:port the SIP proxy (kamailio/run.sh) listens on for carriers, agents and its /RPC' },
  SIP_PROXY_NODES: { type: 'string', default: '', 'x-readBy': ['sipproxy'], description: 'Cluster only: the Asterisk nodes behind the SIP proxy, space-separated sip:host:port (OPTIONS-probed, round robin)' },
  SIP_PROXY_REALM: { type: 'string', default: 'hotline', 'x-readBy': ['sipproxy'], description: 'Cluster only: digest realm of agents’ registrations at the SIP proxy' },
  SIP_PROXY_TLS_PORT: { type: 'string', default: '', 'x-readBy': ['sipproxy'], description: 'Cluster only: TLS port of the SIP proxy for agents’ browsers (wss://<proxy>:<port>/ws, set SOFTPHONE_WS_URL to it); with SIP_PROXY_TLS_CERT and SIP_PROXY_TLS_KEY; empty = ws:// on SIP_PROXY_LISTEN only' },
  SIP_PROXY_TLS_CERT: { type: 'string', default: '', 'x-readBy': ['sipproxy'], description: 'Cluster only: PEM certificate of the SIP proxy’s wss:// (as the proxy container sees it, e.g. /etc/hotline/tls/hotline.crt)' },
  SIP_PROXY_TLS_KEY: { type: 'string', default: '', 'x-readBy': ['sipproxy'], description: 'Cluster only: PEM private key of SIP_PROXY_TLS_CERT' },
  SIP_PROXY_RPC_ALLOW: { type: 'string', default: '127.0.0.0/8', 'x-readBy': ['sipproxy'], description: 'Cluster only: networks (CIDR, comma-separated) allowed to call the SIP proxy’s /RPC, where the servers read agents’ registrations; keep carriers out' },
  AGENT_MEDIA_ADDRESS: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Address Asterisk announces in agents’ SDP (media_address) when agents reach it through NAT (empty = its own)' },
  ASTERISK_HTTP_PORT: { type: 'string', default: '8088', 'x-readBy': ['asterisk'], description: 'Port of Asterisk’s HTTP server (ARI and SIP over WebSocket for softphones)' },
  ASTERISK_HTTPS_PORT: { type: 'string', default: '8089', 'x-readBy': ['asterisk'], description: 'TLS port of Asterisk’s HTTP server: wss://…:8089/ws for agents’ softphones (with ASTERISK_TLS_CERT/KEY)' },
  ASTERISK_TLS_CERT: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'PEM certificate file (as the Asterisk container sees it, e.g. /etc/hotline/tls/hotline.crt) for HTTPS and SIP over WSS on ASTERISK_HTTPS_PORT (8089); required with ASTERISK_TLS_KEY; empty = no WSS' },
  ASTERISK_TLS_KEY: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'PEM private key file of ASTERISK_TLS_CERT (unencrypted); required with ASTERISK_TLS_CERT' },
  ASTERISK_AMI_PORT: { type: 'string', default: '5038', 'x-readBy': ['asterisk'], description: 'Port of Asterisk’s AMI' },
  ASTERISK_SIP_BIND: { type: 'string', default: '0.0.0.0', 'x-readBy': ['asterisk'], description: 'Address Asterisk’s SIP/UDP transport (trunks) binds to' },
  ASTERISK_SIP_PORT: { type: 'string', default: '5060', 'x-readBy': ['asterisk'], description: 'Port of Asterisk’s SIP/UDP transport (trunks)' },
  RTP_PORT_START: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'First RTP port (with RTP_PORT_END; empty = rtp.conf’s 10000-12999; keep the firewall and compose in step)' },
  RTP_PORT_END: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Last RTP port (with RTP_PORT_START)' },
  RTP_ICE_PERMIT: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Networks (CIDR, comma-separated) whose addresses Asterisk offers as ICE host candidates (empty = all)' },
  SIP_TRUNK_CARRIER: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'IPv4 addresses/CIDRs (comma-separated) of the carrier trunk delivering citizens’ calls (empty = trunk never matches)' },
  SIP_TRUNK_LINKAGE_110: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 110 (police) linkage trunk (empty = trunk never matches)' },
  SIP_TRUNK_LINKAGE_119: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 119 (fire) linkage trunk' },
  SIP_TRUNK_LINKAGE_120: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 120 (ambulance) linkage trunk' },
  SIP_TRUNK_LINKAGE_122: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 122 (traffic police) linkage trunk' },
  SIP_TRUNK_SUBCENTER_12366: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 12366 (tax) sub-center trunk' },
  SIP_TRUNK_SUBCENTER_12369: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 12369 (environment) sub-center trunk' },
  SIP_TRUNK_SUBCENTER_12367: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 12367 (immigration) sub-center trunk (Zhengzhou)' },
  SIP_TRUNK_SUBCENTER_12313: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 12313 (tobacco monopoly) sub-center trunk (Zhengzhou)' },
  SIP_TRUNK_SUBPLATFORM_12333: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 12333 (human resources and social security) sub-platform trunk (Zhengzhou)' },
  SIP_TRUNK_SUBPLATFORM_12329: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 12329 (housing provident fund) sub-platform trunk (Zhengzhou)' },
  SIP_TRUNK_SUBPLATFORM_12320: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 12320 (public health) sub-platform trunk (Zhengzhou)' },
  SIP_TRUNK_SUBPLATFORM_12315: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 12315 (market regulation) sub-platform trunk (Zhengzhou)' },
  SIP_TRUNK_SUBPLATFORM_12319: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 12319 (digital city management) sub-platform trunk (Zhengzhou)' },
  SIP_TRUNK_SUBPLATFORM_12393: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 12393 (medical insurance) sub-platform trunk (Zhengzhou)' },
  SIP_TRUNK_SUBPLATFORM_12328: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 12328 (transport service) sub-platform trunk (Zhengzhou)' },
  SIP_TRUNK_TRANSFER_12333: { type: 'string', default: '', 'x-readBy': ['asterisk'], description: 'Addresses of the 12333 (human resources) transfer trunk (Yantai, Lu’an)' },
  // --- interpolated by docker compose itself ---
  TLS_DIR: { type: 'string', default: './tls', 'x-readBy': ['compose'], description: 'Host folder compose mounts read-only at /etc/hotline/tls in the app and Asterisk (certificate and key named by HTTP_TLS_* and ASTERISK_TLS_*)' },
  PUBLISH_ADDR: { type: 'string', default: '127.0.0.1', 'x-readBy': ['compose'], description: 'Host address compose publishes SIP, ARI/WS, RTP and the app on (a private interface on a real site; never the internet)' },
  APP_PUBLISH_PORT: { type: 'string', default: '8080', 'x-readBy': ['compose'], description: 'Host port compose publishes the app’s HTTP port 8080 on' },
  ASTERISK_IMAGE: { type: 'string', default: 'andrius/asterisk:22', 'x-readBy': ['compose'], description: 'Asterisk 22 container image' },
  KAMAILIO_IMAGE: { type: 'string', default: 'kamailio/kamailio:5.6.3-bookworm', 'x-readBy': ['compose'], description: 'Cluster profile: Kamailio 5.6 container image (Debian-based, with /bin/sh) running kamailio/run.sh' },
  APP_B_PUBLISH_PORT: { type: 'string', default: '8081', 'x-readBy': ['compose'], description: 'Cluster profile: host port of the second server instance (app-b)' },
};

export function readersOf(v: VariableSchema): readonly VariableReader[] {
  return v['x-readBy'] ?? ['server'];
}

/**
 * Required only in some configurations (JSON Schema `if`/`then`): the AMI secret only while AMI
 * is enabled. Listed here so that {@link ENV_SCHEMA}'s plain `required` leaves them out.
 */
const CONDITIONAL = [{ if: { properties: { AMI_ENABLED: { const: true } } }, then: { required: ['AMI_SECRET'] } }] as const;

/**
 * The whole environment as one JSON Schema object, built from {@link ENV_VARIABLES} when asked
 * (so a test that adds a variable sees it): the server's variables without a default are
 * required, the others optional; values are the converted ones of {@link prepareEnv}.
 */
export function envSchema(): Record<string, unknown> {
  const conditional = new Set<string>(CONDITIONAL.flatMap((c) => c.then.required));
  const required = Object.entries(ENV_VARIABLES)
    .filter(([name, v]) => readersOf(v).includes('server') && v.default === undefined && !conditional.has(name))
    .map(([name]) => name);
  return { type: 'object', properties: ENV_VARIABLES, required, allOf: CONDITIONAL };
}

/** One problem with one variable; the message never carries a secret's value. */
export interface EnvProblem {
  readonly variable: string;
  /** Words after the variable's name, e.g. "must be a whole number (got "x")". */
  readonly problem: string;
}

export type EnvValue = string | number | boolean;

/**
 * The environment as the schema sees it: an unset or empty variable takes its default (or stays
 * absent, and `required` reports it); integers, numbers and booleans are converted only from their
 * exact spellings, so "1e3" or " 80" stay strings and fail `type` with a clear message instead of
 * being coerced the way ajv's own `coerceTypes` would.
 */
function prepareEnv(env: Record<string, string | undefined>): { data: Record<string, EnvValue>; problems: EnvProblem[] } {
  const data: Record<string, EnvValue> = {};
  const problems: EnvProblem[] = [];
  for (const [name, v] of Object.entries(ENV_VARIABLES)) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      if (v.default !== undefined) data[name] = v.default;
      continue;
    }
    if (/[\r\n\0]/.test(raw)) {
      problems.push({ variable: name, problem: 'must be a single line' });
      continue;
    }
    if (v.type === 'integer' && /^-?\d+$/.test(raw)) data[name] = Number(raw);
    else if (v.type === 'number' && /^-?\d+(\.\d+)?$/.test(raw)) data[name] = Number(raw);
    else if (v.type === 'boolean' && ['true', '1', 'yes', 'on', 'false', '0', 'no', 'off'].includes(raw.toLowerCase())) data[name] = ['true', '1', 'yes', 'on'].includes(raw.toLowerCase());
    else data[name] = raw;
  }
  return { data, problems };
}

let compiled: { schema: Record<string, unknown>; validate: ReturnType<Ajv['compile']> } | undefined;

function validator(): ReturnType<Ajv['compile']> {
  const schema = envSchema();
  if (compiled && JSON.stringify(compiled.schema) === JSON.stringify(schema)) return compiled.validate;
  // allErrors: every problem at once. strictRequired off: a conditional `then: { required }` names a
  // property declared in the top-level `properties`, which ajv's strict check does not look into.
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
  ajv.addVocabulary(['x-message', 'x-secret', 'x-readBy', 'x-example']);
  ajv.addKeyword({
    keyword: 'x-protocols',
    type: 'string',
    schemaType: 'array',
    // An empty value is "not set" (required decides); otherwise a parseable URL of an allowed protocol.
    validate: (protocols: string[], value: string) => {
      if (value === '') return true;
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
  });
  compiled = { schema, validate: ajv.compile(schema) };
  return compiled.validate;
}

/** An ajv error in words, for an operator reading the start-up failure. */
function describeProblem(err: ErrorObject, name: string, value: EnvValue | undefined): string {
  const v = ENV_VARIABLES[name]!;
  const got = v['x-secret'] ? '' : ` (got ${typeof value === 'string' ? `"${value}"` : String(value)})`;
  switch (err.keyword) {
    case 'required':
      return 'is required but not set';
    case 'type':
      if (v.type === 'integer') return `must be a whole number${got}`;
      if (v.type === 'boolean') return `must be true or false${got}`;
      return v['x-message'] ? `${v['x-message']}${got}` : `must be a ${v.type}${got}`;
    case 'x-protocols': {
      try {
        return `must use ${v['x-protocols']!.join(' or ')} (got ${new URL(String(value)).protocol})`;
      } catch {
        return 'is not a valid URL';
      }
    }
    case 'enum':
      return `must be one of ${v.enum!.join(', ')}${got}`;
    case 'minLength':
      return `must have at least ${v.minLength} characters`;
    case 'minimum':
    case 'maximum':
      return v['x-message'] ? `${v['x-message']}${got}` : `must be between ${v.minimum} and ${v.maximum}${got}`;
    default:
      return `${v['x-message'] ?? `is invalid (${err.message ?? err.keyword})`}${got}`;
  }
}

/**
 * Validate an environment against the schema. Returns every variable's value (converted, defaulted)
 * and every problem at once, at most one per variable.
 */
export function validateEnv(env: Record<string, string | undefined>): { values: Record<string, EnvValue>; problems: EnvProblem[] } {
  const { data, problems } = prepareEnv(env);
  const validate = validator();
  const seen = new Set(problems.map((p) => p.variable));
  if (!validate(data)) {
    for (const err of validate.errors ?? []) {
      // `if` only says a `then` failed; the `then`'s own `required` error follows.
      if (err.keyword === 'if') continue;
      const name = err.keyword === 'required' ? (err.params as { missingProperty: string }).missingProperty : err.instancePath.split('/')[1];
      if (!name || !ENV_VARIABLES[name] || seen.has(name)) continue;
      seen.add(name);
      problems.push({ variable: name, problem: describeProblem(err, name, data[name]) });
    }
  }
  return { values: data, problems };
}

/** Declared variables without a usable description (the schema test lists them; the docs need one line each). */
export function undocumentedVariables(): string[] {
  return Object.entries(ENV_VARIABLES)
    .filter(([, v]) => typeof v.description !== 'string' || v.description.trim().length <= 5)
    .map(([name]) => name);
}
