/**
 * How every Redis connection of the server is made: the plain client, the BullMQ queues and workers,
 * and the subscribers (`duplicate()`) all start from {@link redisConnectionOptions}, so a Sentinel set
 * in the configuration is followed by all of them through a failover.
 */
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
