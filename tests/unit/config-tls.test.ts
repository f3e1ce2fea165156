/**
 * HTTP_TLS_CERT / HTTP_TLS_KEY (issue 18, TLS for real agents): both or neither, each file readable
 * and parseable, the key the certificate's own, not expired — every problem found at start and
 * naming its variable; with a good pair the app really serves HTTPS (and plain HTTP by default).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigErrors, describeConfig, loadConfig } from '../../src/config/index.js';

const valid = {
  ARI_URL: 'http://127.0.0.1:8088',
  ARI_PASSWORD: 'ari-secret-value',
  AMI_SECRET: 'ami-secret-value',
  REDIS_URL: 'redis://127.0.0.1:6379',
  JWT_SECRET: 'jwt-secret-value-jwt-secret-value-0123',
};

let dir: string;
const f = (name: string) => join(dir, name);
const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hotline-config-tls-'));
  const selfSigned = (name: string, days: string, extra: string[] = []) =>
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.crt`), '-days', days, '-subj', '/CN=hotline.test', '-addext', 'subjectAltName=DNS:hotline.test', ...extra);
  selfSigned('good', '2');
  selfSigned('other', '2');
  // Expired: valid 1-2 January 2020.
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('old.key'), '-out', f('old.csr'), '-subj', '/CN=hotline.test');
  // OpenSSL 3.0's x509/req take no start date: a minimal `openssl ca` does.
  writeFileSync(f('index.txt'), '');
  writeFileSync(f('serial'), '01\n');
  writeFileSync(f('ca.cnf'), '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n');
  ssl('ca', '-batch', '-config', f('ca.cnf'), '-selfsign', '-keyfile', f('old.key'), '-in', f('old.csr'), '-out', f('old.crt'), '-startdate', '20200101000000Z', '-enddate', '20200102000000Z');
  ssl('pkey', '-in', f('good.key'), '-aes256', '-passout', 'pass:secret-pass', '-out', f('encrypted.key'));
  writeFileSync(f('garbage.pem'), 'not a pem file\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...valid, ...env });
  } catch (err) {
    return err instanceof ConfigErrors ? err.problems.map((p) => p.message) : [(err as Error).message];
  }
  return [];
}

describe('HTTPS configuration (HTTP_TLS_CERT / HTTP_TLS_KEY)', () => {
  it('GIVEN neither variable WHEN loaded THEN plain HTTP (no tls)', () => {
    expect(loadConfig(valid).http.tls).toBeUndefined();
  });

  it('GIVEN a certificate and its key WHEN loaded THEN both PEMs are in the config, and the description for logs carries the names but never the key', () => {
    const c = loadConfig({ ...valid, HTTP_TLS_CERT: f('good.crt'), HTTP_TLS_KEY: f('good.key') });
    expect(c.http.tls?.cert).toBe(readFileSync(f('good.crt'), 'utf8'));
    expect(c.http.tls?.key).toBe(readFileSync(f('good.key'), 'utf8'));
    expect(c.http.tls?.names).toBe('DNS:hotline.test');
    const described = JSON.stringify(describeConfig(c));
    expect(described).toContain('DNS:hotline.test');
    expect(described).toContain(f('good.key'));
    expect(described).not.toContain('PRIVATE KEY');
    expect(described).not.toContain('BEGIN CERTIFICATE');
  });

  it.each([
    ['only the certificate', () => ({ HTTP_TLS_CERT: f('good.crt') }), 'HTTP_TLS_KEY is required when HTTP_TLS_CERT is set'],
    ['only the key', () => ({ HTTP_TLS_KEY: f('good.key') }), 'HTTP_TLS_CERT is required when HTTP_TLS_KEY is set'],
    ['a missing certificate file', () => ({ HTTP_TLS_CERT: f('nope.crt'), HTTP_TLS_KEY: f('good.key') }), 'HTTP_TLS_CERT cannot be read'],
    ['a missing key file', () => ({ HTTP_TLS_CERT: f('good.crt'), HTTP_TLS_KEY: f('nope.key') }), 'HTTP_TLS_KEY cannot be read'],
    ['a certificate that is not PEM', () => ({ HTTP_TLS_CERT: f('garbage.pem'), HTTP_TLS_KEY: f('good.key') }), 'HTTP_TLS_CERT is not a PEM certificate'],
    ['a key that is not PEM', () => ({ HTTP_TLS_CERT: f('good.crt'), HTTP_TLS_KEY: f('garbage.pem') }), 'HTTP_TLS_KEY is not an unencrypted PEM private key'],
    ['an encrypted key', () => ({ HTTP_TLS_CERT: f('good.crt'), HTTP_TLS_KEY: f('encrypted.key') }), 'HTTP_TLS_KEY is not an unencrypted PEM private key'],
    ['the key of another certificate', () => ({ HTTP_TLS_CERT: f('good.crt'), HTTP_TLS_KEY: f('other.key') }), 'HTTP_TLS_KEY is not the private key of the certificate'],
    ['an expired certificate', () => ({ HTTP_TLS_CERT: f('old.crt'), HTTP_TLS_KEY: f('old.key') }), 'HTTP_TLS_CERT expired on 2020-01-02'],
  ])('GIVEN %s WHEN loaded THEN one error naming the variable', (_what, env, message) => {
    const found = problems(env());
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(`configuration error: ${message}`);
  });

  it('GIVEN a bad certificate and another bad variable WHEN loaded THEN both are reported at once', () => {
    const found = problems({ HTTP_TLS_CERT: f('garbage.pem'), HTTP_TLS_KEY: f('good.key'), HTTP_PORT: 'x' });
    expect(found.map((m) => m.split(' ')[2])).toEqual(expect.arrayContaining(['HTTP_TLS_CERT', 'HTTP_PORT']));
  });

  it('GIVEN the configured pair WHEN fastify is built with it as the app does THEN a client trusting that certificate gets HTTPS for hotline.test', async () => {
    const c = loadConfig({ ...valid, HTTP_TLS_CERT: f('good.crt'), HTTP_TLS_KEY: f('good.key') });
    const app = Fastify({ https: { cert: c.http.tls!.cert, key: c.http.tls!.key } });
    app.get('/x', async () => ({ ok: true }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as { port: number }).port;
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/x', servername: 'hotline.test', ca: readFileSync(f('good.crt')) }, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += String(d)));
          res.on('end', () => resolve(b));
        });
        req.on('error', reject);
        req.end();
      });
      expect(body).toBe('{"ok":true}');
    } finally {
      await app.close();
    }
  });
});
