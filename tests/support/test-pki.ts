/**
 * A throwaway CA and a server certificate for one host name (openssl), for tests of TLS parts:
 * Chromium trusts the certificate through `--ignore-certificate-errors-spki-list=<spki>`.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';

export interface TestPki {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** base64 SHA-256 of the server certificate's SubjectPublicKeyInfo (Chromium's SPKI list format). */
  spki: string;
}

export function makePki(host: string): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'hotline-tls-'));
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=Hotline test CA');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', `/CN=${host}`);
  writeFileSync(f('ext.cnf'), `subjectAltName = DNS:${host}\nextendedKeyUsage = serverAuth\nbasicConstraints = CA:FALSE\n`);
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('ext.cnf'));
  // Sanity: the certificate really is the CA's (a broken chain would make the test prove nothing).
  const verified = String(ssl('verify', '-CAfile', f('ca.crt'), f('server.crt')));
  expect(verified).toContain('OK');
  const cert = new X509Certificate(readFileSync(f('server.crt')));
  expect(cert.subjectAltName).toBe(`DNS:${host}`);
  const spki = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return { dir, caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key'), spki };
}
