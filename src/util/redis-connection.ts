/**
 * How every Redis connection of the server is made: the plain client, the BullMQ queues and workers,
 * and the subscribers (`duplicate()`) all start from {@link redisConnectionOptions}, so a Sentinel set
 * in the configuration is followed by all of them through a failover.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';

/** ioredis options (a subset) shared by ioredis and BullMQ's `connection`. */
export interface RedisConnectionOptions {
  host?: string;
  port?: number;
  password?: string;
  username?: string;
  db?: number;
  tls?: object;
  sentinels?: { host: string; port: number }[];
  name?: string;
  sentinelPassword?: string;
  /** Reconnect to the new primary when a command meets a read-only replica (a failover in progress). */
  reconnectOnError?: (err: Error) => boolean | 1 | 2;
}

/** REDIS_URL (+ REDIS_SENTINELS) → connection options. */
export function redisConnectionOptions(config: Pick<Config, 'redisUrl' | 'redisSentinel'>): RedisConnectionOptions {
  const u = new URL(config.redisUrl);
  const auth = {
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  const s = config.redisSentinel;
  if (!s) return { host: u.hostname, port: Number(u.port || 6379), ...auth };
  return {
    ...auth,
    sentinels: s.sentinels.map((x) => ({ host: x.host, port: x.port })),
    name: s.master,
    ...(s.password ? { sentinelPassword: s.password } : {}),
    // A client still talking to the demoted primary gets READONLY: reconnect (ioredis asks the
    // Sentinels for the new primary) and resend the command.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  };
}

/** Where the server's Redis is, for logs (no password). */
export function describeRedis(config: Pick<Config, 'redisUrl' | 'redisSentinel'>): string {
  const s = config.redisSentinel;
  if (s) return `sentinel ${s.master} via ${s.sentinels.map((x) => `${x.host}:${x.port}`).join(',')}`;
  return config.redisUrl.replace(/\/\/[^@/]*@/, '//');
}

/**
 * Give a client of ours an 'error' listener that logs once per outage: a warning at the first
 * error, one line when it is ready again. Without any listener ioredis prints "[ioredis] Unhandled
 * error event" with a stack on every reconnect attempt while Redis is away; BullMQ's own listener on
 * a connection it made is removed when the queue closes, even if the client still reconnects.
 */
export function logRedisOutages(client: Pick<Redis, 'on'>, log: Pick<Logger, 'warn' | 'info'>, name: string): void {
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn({ err: err.message, connection: name }, `Redis connection ${name} lost; reconnecting (logged once per outage)`);
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    log.info({ connection: name }, `Redis connection ${name} back`);
  });
}
