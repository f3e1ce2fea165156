/**
 * One naming scheme for agents' SIP identities (src/acd/sip-names.ts), read from every place
 * that must agree: the entrypoint that generates the endpoints, pjsip.conf's templates, the
 * server's default dial template, the seat data we ship and the softphone page.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderAsteriskConfig } from '../support/render-asterisk.js';
import { validateAgent, dialStringFor } from '../../src/acd/model.js';
import { agentEndpoint, DEFAULT_AGENT_DIAL_TEMPLATE, extensionOfEndpoint } from '../../src/acd/sip-names.js';
import { loadConfig } from '../../src/config/index.js';
import { parseIniFile, objectsOfType, value } from '../support/asterisk-ini.js';

const ROOT = join(import.meta.dirname, '..', '..');

function seatExtensions(): string[] {
  const dir = join(ROOT, 'data', 'seats');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')).agents ?? []).map((a: { extension: string }) => a.extension));
}

describe('agent SIP naming', () => {
  it('GIVEN extension 1001 THEN endpoint agent1001, and back; anything else is no agent', () => {
    expect(agentEndpoint('1001')).toBe('agent1001');
    expect(extensionOfEndpoint('agent1001')).toBe('1001');
    for (const other of ['1001', 'carrier', 'agentagent1001', 'agent12', 'agent1001x', 'subcenter-12366']) expect(extensionOfEndpoint(other)).toBeUndefined();
  });

  it('GIVEN the shipped defaults and every seat we ship WHEN the entrypoint renders their passwords THEN each seat is dialled at an endpoint that exists, with its AOR and auth', () => {
    const exts = seatExtensions();
    expect(exts.length).toBeGreaterThan(0);
    const r = renderAsteriskConfig({ AGENT_SIP_PASSWORDS: exts.map((e, i) => `${agentEndpoint(e)}:Seat-Secret-${i}-x`).join(',') }, 'sip-names-');
    const etc = r.etc;
    try {
      expect(r.status, r.stderr).toBe(0);
      const pj = parseIniFile(join(etc, 'pjsip.conf'), { includeDir: etc });
      const endpoints = new Map(objectsOfType(pj, 'endpoint').map((e) => [e.name, e]));
      const aors = new Set(objectsOfType(pj, 'aor').map((a) => a.name));
      const auths = new Set(objectsOfType(pj, 'auth').map((a) => a.name));
      const template = loadConfig({ ARI_URL: 'http://127.0.0.1:8088', ARI_PASSWORD: 'x-secret-1', AMI_SECRET: 'x-secret-1', JWT_SECRET: 'j'.repeat(40) }).acd.dialTemplate;
      expect(template).toBe(DEFAULT_AGENT_DIAL_TEMPLATE);
      for (const ext of exts) {
        const dial = dialStringFor({ extension: ext }, template);
        const name = dial.replace(/^PJSIP\//, '');
        expect(dial, ext).toBe(`PJSIP/agent${ext}`);
        const ep = endpoints.get(name);
        expect(ep, `endpoint ${name}`).toBeDefined();
        expect(value(pj, ep!, 'webrtc')).toBe('yes');
        expect(value(pj, ep!, 'context')).toBe('from-agents');
        expect(aors.has(value(pj, ep!, 'aors')!)).toBe(true);
        expect(auths.has(value(pj, ep!, 'auth')!)).toBe(true);
      }
    } finally {
      rmSync(etc, { recursive: true, force: true });
    }
  });

  it('GIVEN a seat extension that is not 3-8 digits (e.g. agent1001) THEN it is refused naming the field', () => {
    for (const extension of ['agent1001', '12', '123456789', '10 01']) {
      const r = validateAgent({ id: 'a1', name: '座席', extension, skills: { general: 3 }, groups: ['general'] }, new Set(['general']));
      expect(r.ok, extension).toBe(false);
      if (!r.ok) expect(r.errors).toContainEqual({ field: 'extension', message: expect.stringContaining('3 to 8 digits') });
    }
  });

  it('the softphone page registers as agent<extension>', () => {
    // The page's logic (its markup is agent.html).
    const page = readFileSync(join(ROOT, 'src', 'web', 'agent.js'), 'utf8');
    expect(page).toContain('`agent${agent.extension}`');
  });
});
