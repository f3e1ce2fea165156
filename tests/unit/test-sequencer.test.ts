import { describe, expect, it } from 'vitest';
import { UNKNOWN_MS, loadDurations, longestFirst } from '../support/sequencer.js';

describe('test files longest first', () => {
  it('GIVEN measured and unmeasured files WHEN ordered THEN longest first, an unmeasured one at the assumed median, ties by name', () => {
    const known = { 'a.test.ts': 5_000, 'b.test.ts': 170_000, 'c.test.ts': UNKNOWN_MS + 1, 'e.test.ts': 5_000 };
    expect(longestFirst(['e.test.ts', 'a.test.ts', 'd.test.ts', 'b.test.ts', 'c.test.ts'], known)).toEqual(['b.test.ts', 'c.test.ts', 'd.test.ts', 'a.test.ts', 'e.test.ts']);
  });

  it('GIVEN the committed table THEN it names only files that exist, in both modes', async () => {
    const { existsSync } = await import('node:fs');
    const d = loadDurations();
    const files = [...Object.keys(d.sim), ...Object.keys(d.real)];
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((f) => !f.startsWith('tests/') || !existsSync(f))).toEqual([]);
  });
});
