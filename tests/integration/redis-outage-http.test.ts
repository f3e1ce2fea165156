/**
 * Requests that need Redis while it is away (issue 20, red-team finding): a
 * clear 503 with retry-after, never a 500; served again once Redis is back.
 * A real redis-server of the test's own, stopped and started again.
 */
import { describe, expect, it } from 'vitest';
import { useHarness } from '../support/harness.js';
import { OwnRedis } from '../../src/demo/own-redis.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';
import { eventually } from '../support/wait.js';
import { capturedLog } from '../support/log-capture.js';

const h = useHarness();

describe('HTTP while Redis is down', () => {
  it('GIVEN Redis stops WHEN a user logs in or calls an API that reads Redis THEN 503 naming Redis with retry-after; health answers; after Redis restarts both work again', async () => {
    const redis = await OwnRedis.create();
    // What ioredis prints for a client without an 'error' listener goes to console.error: recorded here.
    const printed: string[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
      consoleError(...args);
    };
    try {
      const app = await h.startApp({ REDIS_URL: redis.url });
      await eventually(() => expect(app.redis.status).toBe('ready'));
      await app.users.create({ username: 'outage-admin', roles: ['admin', 'supervisor'], password: TEST_PASSWORD });
      const { token } = await loginAs(app.http, 'outage-admin');
      const login = () => app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'outage-admin', password: TEST_PASSWORD } });
      const api = (url: string) => app.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

      // WHEN Redis stops
      await redis.stop();
      await eventually(() => expect(app.redis.status).not.toBe('ready'));
      for (const res of [await login(), await api('/api/admin/users'), await api('/api/admin/dispatch-rules'), await api('/api/audit')]) {
        expect(res.statusCode, res.body).toBe(503);
        expect(res.json().error.code).toBe('unavailable');
        expect(res.json().error.message).toMatch(/Redis/);
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
      expect((await app.http.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      // Every connection of ours has an 'error' listener: the tickets queue's says it once per outage,
      // however many reconnects fail, and nothing is printed as unhandled.
      const outageLines = () => capturedLog().split('\n').filter((l) => l.includes('Redis connection tickets queue lost'));
      await new Promise((r) => setTimeout(r, 1500)); // a few failed reconnects
      expect(printed.filter((l) => l.includes('Unhandled error event'))).toEqual([]);
      expect(outageLines()).toHaveLength(1);

      // WHEN Redis is back
      await redis.start();
      await eventually(async () => expect((await login()).statusCode).toBe(200), 20_000);
      expect((await api('/api/admin/users')).statusCode).toBe(200);
      await eventually(() => expect(capturedLog()).toContain('Redis connection tickets queue back'));
      expect(printed.filter((l) => l.includes('Unhandled error event'))).toEqual([]);
    } finally {
      console.error = consoleError;
      await redis.destroy();
    }
  });

  it('GIVEN Redis is down WHEN the server stops THEN no connection is left reconnecting without an error listener (nothing printed as unhandled)', async () => {
    const redis = await OwnRedis.create();
    const printed: string[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
      consoleError(...args);
    };
    try {
      const app = await h.startApp({ REDIS_URL: redis.url });
      await eventually(() => expect(app.redis.status).toBe('ready'));
      await redis.stop();
      await eventually(() => expect(app.redis.status).not.toBe('ready'));
      await h.stopApp(app);
      await new Promise((r) => setTimeout(r, 2000)); // what a leaked client would still be trying
      expect(printed.filter((l) => l.includes('Unhandled error event'))).toEqual([]);
    } finally {
      console.error = consoleError;
      await redis.destroy();
    }
  });
});
