import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VARIABLES } from '../../src/config/index.js';

describe('.env.example', () => {
  it('GIVEN the variables the config module reads WHEN .env.example is read THEN each is documented and no secret has a value', () => {
    const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const assigned = new Map(
      text
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    for (const [name, v] of Object.entries(VARIABLES)) {
      expect(assigned.has(name), `${name} missing from .env.example`).toBe(true);
      if (v.secret) expect(assigned.get(name), `${name} must not carry a value`).toBe('');
    }
    for (const name of assigned.keys()) expect(VARIABLES, `${name} is not read by the server`).toHaveProperty(name);
  });
});

describe('README configuration table', () => {
  it('GIVEN the variables the config module reads WHEN the README is read THEN each has a row', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const name of Object.keys(VARIABLES)) expect(readme, `${name} missing from README`).toContain(`| \`${name}\` |`);
  });
});
