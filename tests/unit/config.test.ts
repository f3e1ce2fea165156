import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from '../../src/config/index.js';

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

  it('GIVEN secrets WHEN the config is described for logs THEN no secret appears', () => {
    const c = loadConfig({ ...valid, REDIS_URL: 'redis://user:redis-pass@127.0.0.1:6379' });
    const text = JSON.stringify(describeConfig(c));
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
});
