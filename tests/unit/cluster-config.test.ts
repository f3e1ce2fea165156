/**
 * The cluster's configuration as rendered (issue 17): each Asterisk node's system name (channel ids
 * must differ between nodes: calls and their ticket jobs are named by them), and the SIP proxy's
 * run script naming every bad variable before Kamailio starts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/asterisk.js';
import { renderAsteriskConfig } from '../support/render-asterisk.js';

describe('Asterisk node system name', () => {
  it('GIVEN ASTERISK_SYSTEM_NAME WHEN rendered THEN asterisk.conf [options] names the node; without it, none', () => {
    const named = renderAsteriskConfig({ ASTERISK_SYSTEM_NAME: 'node-a' });
    const plain = renderAsteriskConfig();
    try {
      expect(named.status, named.stderr).toBe(0);
      expect(readFileSync(join(named.etc, 'asterisk.conf'), 'utf8')).toMatch(/^\[options\]\nsystemname = node-a$/m);
      expect(plain.status, plain.stderr).toBe(0);
      expect(readFileSync(join(plain.etc, 'asterisk.conf'), 'utf8')).not.toContain('systemname');
    } finally {
      rmSync(named.etc, { recursive: true, force: true });
      rmSync(plain.etc, { recursive: true, force: true });
    }
  });

  it('GIVEN a system name with a space WHEN rendered THEN the entrypoint fails naming ASTERISK_SYSTEM_NAME', () => {
    const r = renderAsteriskConfig({ ASTERISK_SYSTEM_NAME: 'node a' });
    rmSync(r.etc, { recursive: true, force: true });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('ASTERISK_SYSTEM_NAME must be 1-32 letters');
  });
});

describe('the SIP proxy run script', () => {
  const run = (env: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'kamailio-render-'));
    const r = spawnSync('sh', [join(REPO_ROOT, 'kamailio/run.sh')], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SIP_PROXY_DIR: dir, ...env }, timeout: 10_000 });
    rmSync(dir, { recursive: true, force: true });
    return r;
  };

  it('GIVEN bad listen, node and realm values WHEN started THEN every problem is named at once and Kamailio is not started', () => {
    const r = run({ SIP_PROXY_LISTEN: '127.0.0.10', SIP_PROXY_NODES: 'sip:a:5060 b:5060', AGENT_SIP_PASSWORDS: 'agent1001:pw', SIP_PROXY_REALM: 'bad realm' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('SIP_PROXY_LISTEN must be host:port');
    expect(r.stderr).toContain("SIP_PROXY_NODES entry 'b:5060' must be sip:host:port");
    expect(r.stderr).toContain('SIP_PROXY_REALM must be');
    expect(r.stderr).not.toContain('sip:a:5060 must');
  });

  it('GIVEN an agent entry without a password WHEN started THEN it is named, and no password is printed', () => {
    const r = run({ SIP_PROXY_LISTEN: '127.0.0.10:5060', SIP_PROXY_NODES: 'sip:127.0.0.1:5061', AGENT_SIP_PASSWORDS: 'agent1001:s3cret-value,agent1002' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("entry for 'agent1002' has no password");
    expect(r.stderr).not.toContain('s3cret-value');
  });

  it('GIVEN wss:// half configured or a bad RPC network WHEN started THEN each problem is named and Kamailio is not started', () => {
    const r = run({ SIP_PROXY_LISTEN: '127.0.0.10:5060', SIP_PROXY_NODES: 'sip:127.0.0.1:5061', AGENT_SIP_PASSWORDS: 'agent1001:pw-1001', SIP_PROXY_TLS_PORT: '5061', SIP_PROXY_TLS_CERT: '/nonexistent/cert.pem', SIP_PROXY_RPC_ALLOW: 'everyone' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("SIP_PROXY_TLS_CERT must be a readable PEM certificate with SIP_PROXY_TLS_PORT (got '/nonexistent/cert.pem')");
    expect(r.stderr).toContain("SIP_PROXY_TLS_KEY must be a readable PEM key with SIP_PROXY_TLS_PORT (got '')");
    expect(r.stderr).toContain("SIP_PROXY_RPC_ALLOW must be CIDR networks");
    const noPort = run({ SIP_PROXY_LISTEN: '127.0.0.10:5060', SIP_PROXY_NODES: 'sip:127.0.0.1:5061', AGENT_SIP_PASSWORDS: 'agent1001:pw-1001', SIP_PROXY_TLS_KEY: '/etc/hostname' });
    expect(noPort.status).toBe(2);
    expect(noPort.stderr).toContain("SIP_PROXY_TLS_PORT must be a port number");
  });
});
