/**
 * Cross-node takeover and registrations from the SIP proxy (issue 17), the pure parts: who drives a
 * node (src/cluster/takeover.ts), the proxy's ul.dump read as registrations (src/cluster/registrations.ts),
 * and the cluster's configuration naming each bad variable.
 */
import { describe, expect, it } from 'vitest';
import { fosterId, homeStep, peerStep } from '../../src/cluster/takeover.js';
import { registeredOfDump, registrationChanges } from '../../src/cluster/registrations.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';

const ME = fosterId('node-b', 'node-a');

describe('who drives a node', () => {
  it('GIVEN a node with neither home nor driver WHEN a peer looks THEN it takes the node; with either, it stays idle', () => {
    expect(peerStep(ME, false, { home: null, driver: null })).toBe('take');
    expect(peerStep(ME, false, { home: 'node-a', driver: 'node-a' })).toBe('idle');
    // The home's lease ran out but another peer drives it already; or the home is back but has not taken the driver yet.
    expect(peerStep(ME, false, { home: null, driver: 'node-c-for-node-a' })).toBe('idle');
    expect(peerStep(ME, false, { home: 'node-a', driver: null })).toBe('idle');
  });

  it('GIVEN a peer driving a node WHEN its home comes back THEN it hands the node back; while away it keeps it; a lapsed lease taken by another means letting go', () => {
    expect(peerStep(ME, true, { home: null, driver: ME })).toBe('keep');
    expect(peerStep(ME, true, { home: 'node-a', driver: ME })).toBe('hand-back');
    expect(peerStep(ME, true, { home: null, driver: 'node-c-for-node-a' })).toBe('lost');
    // Our own lease lapsed and nobody took it: keep (the renewal takes it again).
    expect(peerStep(ME, true, { home: null, driver: null })).toBe('keep');
  });

  it('GIVEN the home server starting WHEN a peer still drives its node THEN it waits; when free or its own, it drives', () => {
    expect(homeStep('node-a', { home: 'node-a', driver: ME })).toBe('wait');
    expect(homeStep('node-a', { home: 'node-a', driver: null })).toBe('drive');
    expect(homeStep('node-a', { home: 'node-a', driver: 'node-a' })).toBe('drive');
  });

  it('GIVEN a peer and a node WHEN named THEN the foster id reads as who drives what', () => {
    expect(ME).toBe('node-b-for-node-a');
  });
});

/** A `ul.dump` answer of Kamailio 5.6 (shape of the jsonrpc result; addresses shortened). */
const contact = (address: string, expires: number | string) => ({ Contact: { Address: address, Expires: expires, Q: -1, 'Call-ID': 'x', CSeq: 2, 'User-Agent': 'sipp', State: 'CS_NEW', Flags: 0, CFlags: 0, Socket: 'udp:127.0.0.10:5060', Methods: -1, Ruid: 'uloc-1', Instance: '[not set]', 'Reg-Id': 0 } });
const dump = (aors: Array<[string, ReturnType<typeof contact>[]]>) => ({
  Domains: [{ Domain: { Domain: 'location', Size: 1024, AoRs: aors.map(([aor, contacts]) => ({ Info: { AoR: aor, HashID: 1, Contacts: contacts } })), Stats: { Records: aors.length, 'Max-Slots': 1 } } }],
});

describe('registrations from the SIP proxy', () => {
  it('GIVEN a ul.dump WHEN read THEN AoRs with a live contact are registered; expired or deleted ones are not', () => {
    const r = registeredOfDump(
      dump([
        ['agent1001', [contact('sip:agent1001@127.0.0.1:5071', 283)]],
        ['agent1002', [contact('sip:agent1002@127.0.0.1:5072', 'expired')]],
        ['agent1003', [contact('sip:agent1003@127.0.0.1:5073', 'deleted'), contact('sip:agent1003@127.0.0.1:5074', 12)]],
        ['agent1004@hotline', [contact('sip:agent1004@127.0.0.1:5075', 'permanent')]],
      ]),
    );
    expect(r.map((c) => c.aor).sort()).toEqual(['agent1001', 'agent1003', 'agent1004']);
    expect(r.every((c) => c.registered && c.endpoint === c.aor)).toBe(true);
    expect(registeredOfDump({ Domains: [] })).toEqual([]);
  });

  it('GIVEN an answer without Domains WHEN read THEN it is an error (the link counts as down), not "nobody registered"', () => {
    expect(() => registeredOfDump({ error: 'x' })).toThrow(/no Domains/);
    expect(() => registeredOfDump(null)).toThrow(/no Domains/);
  });

  it('GIVEN two reads WHEN compared THEN new registrations and vanished ones are reported, unchanged ones not', () => {
    const now = registeredOfDump(dump([['agent1001', [contact('a', 100)]], ['agent1003', [contact('c', 100)]]]));
    expect(registrationChanges(new Set(['agent1001', 'agent1002']), now)).toEqual([
      { aor: 'agent1003', endpoint: 'agent1003', status: 'Reachable', registered: true },
      { aor: 'agent1002', endpoint: 'agent1002', status: 'Removed', registered: false },
    ]);
  });
});

describe('cluster configuration', () => {
  const valid = { ARI_URL: 'http://127.0.0.1:8088', ARI_PASSWORD: 'ari-secret-value', AMI_SECRET: 'ami-secret-value', JWT_SECRET: 'jwt-secret-value-jwt-secret-value-0123' };
  const problem = (env: Record<string, string>): string => {
    try {
      loadConfig({ ...valid, ...env });
      return '';
    } catch (err) {
      // ConfigErrors' message lists every problem, one a line.
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
  };

  it('GIVEN nodes and this server’s node WHEN loaded THEN both are typed; without them, no cluster', () => {
    const c = loadConfig({ ...valid, CLUSTER_NODE: 'node-a', CLUSTER_NODES: 'node-a=http://10.0.0.1:8088/, node-b=https://10.0.0.2:8089', CALL_STATE_LEASE_MS: '5000', SIP_PROXY_RPC_URL: 'http://10.0.0.10:5060/RPC' });
    expect(c.cluster).toEqual({ node: 'node-a', nodes: { 'node-a': 'http://10.0.0.1:8088', 'node-b': 'https://10.0.0.2:8089' }, registrationsUrl: 'http://10.0.0.10:5060/RPC', registrationsPollMs: 2000 });
    expect(c.callState.leaseMs).toBe(5000);
    expect(loadConfig(valid).cluster).toMatchObject({ node: '', nodes: {}, registrationsUrl: '' });
    expect(loadConfig(valid).callState.leaseMs).toBe(15000);
  });

  it.each([
    [{ CLUSTER_NODE: 'node-c', CLUSTER_NODES: 'node-a=http://a:8088,node-b=http://b:8088' }, 'CLUSTER_NODE "node-c" is not one of CLUSTER_NODES (node-a, node-b)'],
    [{ CLUSTER_NODES: 'node-a=http://a:8088' }, 'CLUSTER_NODE is required when CLUSTER_NODES is set'],
    [{ CLUSTER_NODE: 'node-a', CLUSTER_NODES: 'node-a=http://a:8088,Node B=http://b:8088' }, 'CLUSTER_NODES has an invalid entry "Node B=http://b:8088"'],
    [{ CLUSTER_NODE: 'node-a', CLUSTER_NODES: 'node-a=ftp://a' }, 'CLUSTER_NODES node-a: "ftp://a" is not an http(s) URL'],
    [{ CLUSTER_NODE: 'node-a', CLUSTER_NODES: 'node-a=http://a:8088,node-a=http://b:8088' }, 'CLUSTER_NODES names node "node-a" twice'],
    [{ CALL_STATE_LEASE_MS: '500' }, 'CALL_STATE_LEASE_MS must be between 1000 and 300000'],
    [{ SIP_PROXY_RPC_URL: 'udp://proxy:5060' }, 'SIP_PROXY_RPC_URL must be an http(s) URL'],
    [{ SIP_PROXY_POLL_MS: 'often' }, 'SIP_PROXY_POLL_MS must be a whole number'],
  ])('GIVEN %o WHEN loaded THEN the error names the variable', (env, message) => {
    expect(problem(env)).toContain(message);
  });
});
