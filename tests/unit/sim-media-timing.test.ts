/**
 * The simulated PBX plays media for as long as Asterisk would: its lengths must be the files'
 * (checked against sox's own reading of our built prompts).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROMPTS_DIR } from '../support/pbx.js';
import { mediaTiming } from '../../sim-pbx/media.js';

describe('simulated media lengths', () => {
  const timing = mediaTiming({ soundsDirs: [PROMPTS_DIR] });

  it('GIVEN our built prompts WHEN the sim times them THEN each lasts what sox reads from the file (±1 ms)', () => {
    const files = readdirSync(join(PROMPTS_DIR, 'zh', 'hotline')).filter((f) => f.endsWith('.wav'));
    expect(files.length).toBeGreaterThan(20);
    for (const f of ['welcome.wav', 'recording-notice.wav', files[files.length - 1]!]) {
      const soxMs = Number(execFileSync('soxi', ['-D', join(PROMPTS_DIR, 'zh', 'hotline', f)], { encoding: 'utf8' })) * 1000;
      expect(Math.abs(timing(`sound:hotline/${f.replace(/\.wav$/, '')}`, 'zh') - soxMs), f).toBeLessThanOrEqual(1);
    }
  });

  it('GIVEN digits THEN one digit sound each; GIVEN an unknown sound THEN the short fallback; a scale multiplies', () => {
    const one = timing('sound:digits/1', 'zh');
    expect(one).toBeGreaterThan(100);
    expect(Math.abs(timing('digits:111', 'zh') - 3 * one)).toBeLessThanOrEqual(2);
    expect(timing('sound:hotline/no-such-prompt', 'zh')).toBe(40);
    const half = mediaTiming({ soundsDirs: [PROMPTS_DIR], scale: 0.5 });
    expect(Math.abs(half('sound:hotline/welcome', 'zh') - timing('sound:hotline/welcome', 'zh') / 2)).toBeLessThanOrEqual(1);
  });
});
