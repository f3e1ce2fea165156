import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderEnvExample, renderReadmeTable, README_BEGIN, README_END } from '../../src/config/docs.js';
import { ENV_VARIABLES as VARIABLES, envSchema, undocumentedVariables, validateEnv, type VariableSchema } from '../../src/config/schema.js';

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
      if (v['x-secret']) expect(assigned.get(name), `${name} must not carry a value`).toBe('');
      expect(v.description.trim().length, `${name} needs a description`).toBeGreaterThan(5);
    }
    for (const name of assigned.keys()) expect(VARIABLES, `${name} is not declared`).toHaveProperty(name);
  });

  it('GIVEN the schema WHEN every variable is checked THEN each has a description (the list of undocumented ones is empty)', () => {
    expect(undocumentedVariables()).toEqual([]);
  });

  it('GIVEN a variable added to the schema without a description WHEN checked THEN it is named as undocumented (the check can fail)', () => {
    VARIABLES.NEW_UNDOCUMENTED_KNOB = { type: 'integer', default: 1, description: '' };
    try {
      expect(undocumentedVariables()).toEqual(['NEW_UNDOCUMENTED_KNOB']);
    } finally {
      delete VARIABLES.NEW_UNDOCUMENTED_KNOB;
    }
  });

  it('GIVEN a variable added to the schema without regenerating WHEN rendered THEN the committed files no longer match (the check can fail), and the server validates it at once', () => {
    const spec: VariableSchema = { type: 'integer', minimum: 1, maximum: 9, default: 1, description: 'a new knob nobody documented' };
    VARIABLES.NEW_UNDOCUMENTED_KNOB = spec;
    try {
      expect(renderEnvExample()).not.toBe(read('.env.example'));
      expect(read('README.md')).not.toContain(renderReadmeTable());
      expect(validateEnv({ NEW_UNDOCUMENTED_KNOB: '12' }).problems).toContainEqual({ variable: 'NEW_UNDOCUMENTED_KNOB', problem: 'must be between 1 and 9 (got 12)' });
    } finally {
      delete VARIABLES.NEW_UNDOCUMENTED_KNOB;
    }
  });

  it('GIVEN the schema WHEN it is assembled THEN it is one JSON Schema object whose required list is exactly the server\'s variables without a default (AMI_SECRET only while AMI is enabled)', () => {
    const schema = envSchema() as { type: string; required: string[]; properties: Record<string, VariableSchema> };
    expect(schema.type).toBe('object');
    expect(schema.required.sort()).toEqual(['ARI_PASSWORD', 'ARI_URL', 'JWT_SECRET']);
    expect(validateEnv({ AMI_ENABLED: 'false' }).problems.map((p) => p.variable)).not.toContain('AMI_SECRET');
    expect(validateEnv({ AMI_ENABLED: 'true' }).problems.map((p) => p.variable)).toContain('AMI_SECRET');
    expect(validateEnv({}).problems.map((p) => p.variable)).toContain('AMI_SECRET');
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
    for (const name of used) expect(VARIABLES, `${name} (docker-compose.yml) is not declared in src/config/schema.ts`).toHaveProperty(name);
  });

  it('GIVEN the entrypoint whitelist WHEN its header is read THEN every variable it renders is declared as read by asterisk', () => {
    const header = read('asterisk/docker-entrypoint.sh').split('set -eu')[0]!;
    const names = new Set([...header.matchAll(/\b((?:ARI|AMI|AGENT|RTP|SIP_TRUNK|HOTLINE)_[A-Z_0-9]+)\b/g)].map((m) => m[1]!));
    expect(names.has('SIP_TRUNK_SUBCENTER_12369')).toBe(true);
    for (const name of names) {
      expect(VARIABLES, `${name} (asterisk/docker-entrypoint.sh) is not declared`).toHaveProperty(name);
      expect(VARIABLES[name]!['x-readBy'] ?? ['server'], `${name} should be marked readBy asterisk`).toContain('asterisk');
    }
  });
});
