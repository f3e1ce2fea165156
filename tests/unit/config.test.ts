import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ConfigErrors, describeConfig, loadConfig } from '../../src/config/index.js';
import { redisConnectionOptions } from '../../src/util/redis-connection.js';

// Absolute, so that the child can run from a folder without node_modules.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const valid = {
  ARI_URL: 'http://127.0.0.1:8088',
  ARI_PASSWORD: 'ari-secret-value',
  AMI_SECRET: 'ami-secret-value',
  REDIS_URL: 'redis://127.0.0.1:6379',
  JWT_SECRET: 'jwt-secret-value-jwt-secret-value-0123',
};

describe('configuration', () => {
  it('GIVEN a complete environment WHEN loaded THEN values are typed, defaulted and frozen', () => {
    const c = loadConfig({ ...valid, HTTP_PORT: '9090', HOTLINE_CITY: 'yantai' });
    expect(c.http.port).toBe(9090);
    expect(c.city).toBe('yantai');
    expect(c.ari.app).toBe('hotline');
    expect(c.ari.requestTimeoutMs).toBe(5000);
    expect(Object.isFrozen(c.ari)).toBe(true);
  });

  it.each([
    [{ ARI_URL: undefined }, 'ARI_URL', 'is required'],
    [{ ARI_URL: 'not a url' }, 'ARI_URL', 'not a valid URL'],
    [{ ARI_URL: 'ftp://x' }, 'ARI_URL', 'must use http: or https:'],
    [{ ARI_PASSWORD: '' }, 'ARI_PASSWORD', 'is required'],
    [{ HTTP_PORT: '80a' }, 'HTTP_PORT', 'whole number'],
    [{ HTTP_PORT: '70000' }, 'HTTP_PORT', 'between 0 and 65535'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL', 'must use redis: or rediss:'],
    [{ HOTLINE_CITY: 'beijing' }, 'HOTLINE_CITY', 'must be one of'],
    [{ AMI_ENABLED: 'maybe' }, 'AMI_ENABLED', 'true or false'],
    [{ AMI_SECRET: undefined }, 'AMI_SECRET', 'is required'],
    [{ ARI_APP: 'bad app' }, 'ARI_APP', 'letters, digits'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'must be one of'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET', 'at least 32'],
    [{ HOTLINE_ADMIN_USER: 'root', HOTLINE_ADMIN_PASSWORD: 'weak' }, 'HOTLINE_ADMIN_PASSWORD', 'at least 10'],
    [{ REDIS_SENTINELS: '127.0.0.1:26379,sentinel-b' }, 'REDIS_SENTINELS', 'entry "sentinel-b" must be host:port'],
    [{ REDIS_SENTINELS: '127.0.0.1:263790' }, 'REDIS_SENTINELS', 'must be host:port'],
    [{ REDIS_SENTINEL_MASTER: 'my master' }, 'REDIS_SENTINEL_MASTER', 'letters, digits'],
    [{ REDIS_REPLICA_ACKS: '17' }, 'REDIS_REPLICA_ACKS', 'between 0 and 16'],
  ])('GIVEN %o WHEN loaded THEN the error names %s', (patch, variable, problem) => {
    const env: Record<string, string | undefined> = { ...valid, ...patch };
    let caught: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(variable);
    expect((caught as ConfigError).message).toContain(problem);
  });

  it('GIVEN Sentinels WHEN loaded THEN every connection is made through them to the named primary, with the URL\'s password and db', () => {
    const c = loadConfig({ ...valid, REDIS_URL: 'redis://:data-pass@ignored:6379/2', REDIS_SENTINELS: 's1:26379, [::1]:26380', REDIS_SENTINEL_MASTER: 'hotline', REDIS_REPLICA_ACKS: '1' });
    expect(c.redisSentinel).toEqual({ sentinels: [{ host: 's1', port: 26379 }, { host: '::1', port: 26380 }], master: 'hotline' });
    expect(c.redisReplicaAcks).toEqual({ count: 1, timeoutMs: 1000 });
    const o = redisConnectionOptions(c);
    expect(o).toMatchObject({ sentinels: [{ host: 's1', port: 26379 }, { host: '::1', port: 26380 }], name: 'hotline', password: 'data-pass', db: 2 });
    expect(o.host).toBeUndefined();
    expect(o.reconnectOnError?.(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(o.reconnectOnError?.(new Error('ERR other'))).toBe(false);
    // Without Sentinels: the URL's host and port.
    expect(redisConnectionOptions(loadConfig(valid))).toEqual({ host: '127.0.0.1', port: 6379 });
  });

  it('GIVEN secrets WHEN the config is described for logs THEN no secret appears', () => {
    const c = loadConfig({ ...valid, REDIS_URL: 'redis://user:redis-pass@127.0.0.1:6379', REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_PASSWORD: 'sentinel-pass' });
    const text = JSON.stringify(describeConfig(c));
    expect(text).not.toContain('sentinel-pass');
    expect(text).not.toContain('ari-secret-value');
    expect(text).not.toContain('ami-secret-value');
    expect(text).not.toContain('redis-pass');
    expect(text).not.toContain('jwt-secret-value');
  });

  it('GIVEN a malformed value WHEN the server starts THEN it exits non-zero with one line naming the variable', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, ...valid, HTTP_PORT: 'eighty', ARI_PASSWORD: 'ari-secret-value' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/HTTP_PORT/);
    expect(r.stderr + r.stdout).not.toContain('ari-secret-value');
  });

  it('GIVEN three bad variables and a missing one WHEN loaded THEN all four are reported at once, each named', () => {
    let caught: unknown;
    try {
      loadConfig({ ...valid, ARI_URL: undefined, HTTP_PORT: 'eighty', HOTLINE_CITY: 'beijing', AMI_ENABLED: 'maybe' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigErrors);
    const names = (caught as ConfigErrors).problems.map((p) => p.variable).sort();
    expect(names).toEqual(['AMI_ENABLED', 'ARI_URL', 'HOTLINE_CITY', 'HTTP_PORT']);
    expect((caught as Error).message.split('\n')).toHaveLength(4);
  });

  it('GIVEN an empty environment and a .env with some values WHEN the server starts from that folder THEN .env is read and every remaining missing variable is named, one line each', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotline-dotenv-'));
    writeFileSync(join(dir, '.env'), 'ARI_URL=http://127.0.0.1:8088\nHTTP_PORT=eighty\n# a comment\nJWT_SECRET=short\n');
    const r = spawnSync(process.execPath, ['--import', TSX_LOADER, join(process.cwd(), 'src/main.ts')], {
      cwd: dir,
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    const named = lines.map((l) => /configuration error: (\w+)/.exec(l)?.[1]).sort();
    // ARI_URL came from .env (not reported); HTTP_PORT's bad value came from .env too.
    expect(named).toEqual(['AMI_SECRET', 'ARI_PASSWORD', 'HTTP_PORT', 'JWT_SECRET']);
  });

  it('GIVEN a variable both in the environment and in .env WHEN the server starts THEN the environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotline-dotenv-'));
    writeFileSync(join(dir, '.env'), 'HTTP_PORT=eighty\n');
    const r = spawnSync(process.execPath, ['--import', TSX_LOADER, join(process.cwd(), 'src/main.ts')], {
      cwd: dir,
      env: { PATH: process.env.PATH, HTTP_PORT: 'ninety' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('HTTP_PORT must be a whole number (got "ninety")');
  });
});
