import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderEnvExample, renderReadmeTable, README_BEGIN, README_END } from '../../src/config/docs.js';
import { VARIABLES } from '../../src/config/index.js';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

describe('.env.example', () => {
  it('GIVEN the variables declared in src/config WHEN .env.example is read THEN it is exactly their rendering (npm run config:docs)', () => {
    expect(read('.env.example'), 'run `npm run config:docs` after changing src/config/index.ts').toBe(renderEnvExample());
  });

  it('GIVEN the committed .env.example WHEN its assignments are read THEN every declared variable is there, no secret has a value and nothing undeclared appears', () => {
    const assigned = new Map(
      read('.env.example')
        .split('\n')
        .filter((l) => /^[A-Z_0-9]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    for (const [name, v] of Object.entries(VARIABLES)) {
      expect(assigned.has(name), `${name} missing from .env.example`).toBe(true);
      if (v.secret) expect(assigned.get(name), `${name} must not carry a value`).toBe('');
      expect(v.description.trim().length, `${name} needs a description`).toBeGreaterThan(5);
    }
    for (const name of assigned.keys()) expect(VARIABLES, `${name} is not declared`).toHaveProperty(name);
  });

  it('GIVEN a variable added to the declaration without regenerating WHEN rendered THEN the committed file no longer matches (the check can fail)', () => {
    const spec = { description: 'a new knob nobody documented', default: '1' };
    (VARIABLES as Record<string, typeof spec>).NEW_UNDOCUMENTED_KNOB = spec;
    try {
      expect(renderEnvExample()).not.toBe(read('.env.example'));
      expect(read('README.md')).not.toContain(renderReadmeTable());
    } finally {
      delete (VARIABLES as Record<string, unknown>).NEW_UNDOCUMENTED_KNOB;
    }
  });
});

describe('README configuration table', () => {
  it('GIVEN the declared variables WHEN the README is read THEN its table is exactly their rendering, one row each', () => {
    const readme = read('README.md');
    const a = readme.indexOf(README_BEGIN);
    const b = readme.indexOf(README_END);
    expect(a, 'README lacks the config:begin marker').toBeGreaterThan(0);
    expect(readme.slice(a, b + README_END.length)).toBe(renderReadmeTable());
    for (const name of Object.keys(VARIABLES)) expect(readme, `${name} missing from README`).toContain(`| \`${name}\` |`);
  });
});

describe('docker-compose.yml and the Asterisk entrypoint', () => {
  it('GIVEN docker-compose.yml WHEN every ${VAR} it interpolates is listed THEN each is declared (and so documented)', () => {
    const compose = read('docker-compose.yml').split('\n').filter((l) => !l.trim().startsWith('#')).join('\n');
    const used = new Set([...compose.matchAll(/\$\{([A-Z_0-9]+)/g)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(VARIABLES, `${name} (docker-compose.yml) is not declared in src/config/index.ts`).toHaveProperty(name);
  });

  it('GIVEN the entrypoint whitelist WHEN its header is read THEN every variable it renders is declared as read by asterisk', () => {
    const header = read('asterisk/docker-entrypoint.sh').split('set -eu')[0]!;
    const names = new Set([...header.matchAll(/\b((?:ARI|AMI|AGENT|RTP|SIP_TRUNK|HOTLINE)_[A-Z_0-9]+)\b/g)].map((m) => m[1]!));
    expect(names.has('SIP_TRUNK_SUBCENTER_12369')).toBe(true);
    for (const name of names) {
      expect(VARIABLES, `${name} (asterisk/docker-entrypoint.sh) is not declared`).toHaveProperty(name);
      expect(VARIABLES[name]!.readBy ?? ['server'], `${name} should be marked readBy asterisk`).toContain('asterisk');
    }
  });
});
