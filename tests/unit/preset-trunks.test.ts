/**
 * Every trunk a city preset dials exists in the Asterisk configuration we ship.
 *
 * A preset's `dial` target (or any other string in it) of the form `PJSIP/<exten>@<trunk>` is
 * dialled by Asterisk as endpoint `<trunk>`; an endpoint pjsip.conf does not define fails only
 * when a citizen's call is handed over. The presets are read as they are shipped
 * (data/presets/*.json), pjsip.conf as the entrypoint renders it, with each trunk's
 * SIP_TRUNK_<NAME> set so that the whitelist is proved to carry it too.
 */
import { renderAsteriskConfig } from '../support/render-asterisk.js';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV_VARIABLES as VARIABLES } from '../../src/config/schema.js';
import { objectsOfType, parseIniFile, value, values, type IniFile } from '../support/asterisk-ini.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PRESETS = join(ROOT, 'data', 'presets');

/** Every `PJSIP/<exten>@<trunk>` string anywhere in a JSON value, as [where, dial string, trunk]. */
function trunkDials(doc: unknown, path = '$'): Array<{ at: string; dial: string; trunk: string }> {
  if (typeof doc === 'string') {
    return [...doc.matchAll(/PJSIP\/[^@\s"]+@([A-Za-z0-9._-]+)/g)].map((m) => ({ at: path, dial: m[0], trunk: m[1]! }));
  }
  if (Array.isArray(doc)) return doc.flatMap((v, i) => trunkDials(v, `${path}[${i}]`));
  if (doc && typeof doc === 'object') return Object.entries(doc).flatMap(([k, v]) => trunkDials(v, `${path}.${k}`));
  return [];
}

function presetDials(): Array<{ city: string; at: string; dial: string; trunk: string }> {
  return readdirSync(PRESETS)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => trunkDials(JSON.parse(readFileSync(join(PRESETS, f), 'utf8'))).map((d) => ({ city: f.replace(/\.json$/, ''), ...d })));
}

/** The entrypoint's variable for a trunk (as it derives it: upper case, '-' → '_'). */
const trunkVariable = (trunk: string) => `SIP_TRUNK_${trunk.toUpperCase().replace(/-/g, '_')}`;

/** Problems of one trunk in a rendered pjsip.conf: endpoint (IP-identified, with a context), its AOR, an identify. */
function trunkProblems(pj: IniFile, trunk: string): string[] {
  const endpoint = objectsOfType(pj, 'endpoint').find((e) => e.name === trunk);
  if (!endpoint) return [`no endpoint ${trunk}`];
  const p: string[] = [];
  if (value(pj, endpoint, 'identify_by') !== 'ip') p.push(`${trunk}: identify_by is not ip`);
  if (!value(pj, endpoint, 'context')) p.push(`${trunk}: no context`);
  const aor = value(pj, endpoint, 'aors');
  if (!objectsOfType(pj, 'aor').some((a) => a.name === aor)) p.push(`${trunk}: no aor ${String(aor)}`);
  if (!objectsOfType(pj, 'identify').some((i) => value(pj, i, 'endpoint') === trunk)) p.push(`${trunk}: no identify`);
  return p;
}

describe('trunks the presets dial', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const dials = presetDials();
  const trunks = [...new Set(dials.map((d) => d.trunk))].sort();
  /** A distinct documentation address (RFC 5737 TEST-NET-3) per trunk, so each one's rendering is told apart. */
  const addressOf = (trunk: string) => `203.0.113.${trunks.indexOf(trunk) + 10}`;

  function render(env: Record<string, string>): IniFile {
    const r = renderAsteriskConfig(env, 'preset-trunks-');
    const etc = r.etc;
    dirs.push(etc);
    expect(r.status, r.stderr).toBe(0);
    // parseIniFile throws on an #include the entrypoint did not render.
    return parseIniFile(join(etc, 'pjsip.conf'), { includeDir: etc });
  }

  it('GIVEN the shipped presets THEN they dial trunks (the walk finds the ones we know of)', () => {
    expect(dials.length).toBeGreaterThan(10);
    expect(trunks).toEqual(expect.arrayContaining(['linkage-110', 'subcenter-12367', 'subplatform-12393', 'transfer-12333']));
    expect(dials.filter((d) => d.trunk === 'transfer-12333').map((d) => d.city).sort()).toEqual(['luan', 'yantai']);
  });

  it('GIVEN every preset WHEN pjsip.conf is rendered with each trunk’s address set THEN every trunk dialled is an IP-identified endpoint with its AOR and identify, matching that address', () => {
    const pj = render(Object.fromEntries(trunks.map((t) => [trunkVariable(t), addressOf(t)])));
    const problems = dials.flatMap((d) => trunkProblems(pj, d.trunk).map((p) => `${d.city} ${d.at} ${d.dial}: ${p}`));
    expect(problems).toEqual([]);
    for (const trunk of trunks) {
      const identify = objectsOfType(pj, 'identify').find((i) => value(pj, i, 'endpoint') === trunk)!;
      // The whitelist carries the trunk: its variable reached the generated match, acl and contact.
      expect(values(pj, identify, 'match'), trunk).toEqual([addressOf(trunk)]);
      const endpoint = objectsOfType(pj, 'endpoint').find((e) => e.name === trunk)!;
      expect(values(pj, endpoint, 'permit'), trunk).toEqual([addressOf(trunk)]);
      const aor = objectsOfType(pj, 'aor').find((a) => a.name === value(pj, endpoint, 'aors'))!;
      expect(value(pj, aor, 'contact'), trunk).toBe(`sip:${addressOf(trunk)}:5060`);
    }
  });

  it('GIVEN every trunk a preset dials THEN its SIP_TRUNK_<NAME> is declared for Asterisk and passed by docker-compose', () => {
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    for (const trunk of trunks) {
      const name = trunkVariable(trunk);
      expect(VARIABLES, `${name} is not declared in src/config/schema.ts`).toHaveProperty(name);
      expect(VARIABLES[name]!['x-readBy'], name).toContain('asterisk');
      expect(compose, `${name} missing from docker-compose.yml`).toContain(`${name}: \${${name}:-}`);
    }
  });

  it('GIVEN a preset dialling a trunk pjsip.conf lacks WHEN checked THEN the missing endpoint is named (the check can fail)', () => {
    const pj = render({});
    const bogus = trunkDials({ routes: [{ target: { kind: 'dial', dialString: 'PJSIP/12399@subplatform-12399' } }] });
    expect(bogus).toEqual([{ at: '$.routes[0].target.dialString', dial: 'PJSIP/12399@subplatform-12399', trunk: 'subplatform-12399' }]);
    expect(trunkProblems(pj, 'subplatform-12399')).toEqual(['no endpoint subplatform-12399']);
    // An endpoint of another kind (an agent) is not a trunk: identify_by is username, no identify.
    expect(trunkProblems(render({ AGENT_SIP_PASSWORDS: 'agent1001:Seat-Secret-1-x' }), 'agent1001')).toEqual(
      expect.arrayContaining(['agent1001: identify_by is not ip', 'agent1001: no identify']),
    );
  });
});
