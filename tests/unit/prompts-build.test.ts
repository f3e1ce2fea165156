import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPrompts, type BuildResult } from '../../prompts/build.js';
import { loadCatalogue } from '../../src/ivr/catalogue.js';
import { buildDefaultFlows } from '../../src/ivr/default-flow.js';
import { promptsUsedBy } from '../../src/ivr/validate.js';

const SAMPLE = ['welcome', 'recording-notice', 'survey'];
let out: string;
let first: BuildResult;

function soxInfo(file: string, flag: '-r' | '-c' | '-b'): number {
  return Number(execFileSync('sox', ['--i', flag, file], { encoding: 'utf8' }).trim());
}

/** RMS amplitude from `sox <file> -n stat` (printed on stderr). */
function rms(file: string): number {
  const res = execFileSync('sh', ['-c', 'sox "$1" -n stat 2>&1', 'sh', file], { encoding: 'utf8' });
  const m = /RMS\s+amplitude:\s+([0-9.]+)/.exec(res);
  if (!m) throw new Error(`no RMS in sox output: ${res}`);
  return Number(m[1]);
}

describe('prompt build (espeak-ng + sox)', () => {
  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'prompts-test-'));
    first = await buildPrompts({ outDir: out, only: [...SAMPLE, 'digits/7', 'digits/wan'] });
  }, 60_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('GIVEN a few catalogue prompts WHEN built THEN zh and en files exist under <lang>/hotline as 8 kHz mono 16-bit, non-silent WAV', () => {
    expect(first.built).toHaveLength(SAMPLE.length * 2 + 4);
    for (const lang of ['zh', 'en']) {
      for (const id of SAMPLE) {
        const file = join(out, lang, 'hotline', `${id}.wav`);
        expect(statSync(file).size).toBeGreaterThan(1000);
        expect(soxInfo(file, '-r')).toBe(8000);
        expect(soxInfo(file, '-c')).toBe(1);
        expect(soxInfo(file, '-b')).toBe(16);
        expect(rms(file), `${lang}/${id}`).toBeGreaterThan(0.01);
      }
    }
  });

  it('GIVEN say words WHEN built THEN Asterisk digits files exist for zh (e.g. digits/wan for 万)', () => {
    const file = join(out, 'zh', 'digits', 'wan.wav');
    expect(soxInfo(file, '-r')).toBe(8000);
    expect(rms(file)).toBeGreaterThan(0.01);
  });

  it('GIVEN an unchanged catalogue WHEN built again THEN every file is skipped as up to date; a changed text is rebuilt', async () => {
    const again = await buildPrompts({ outDir: out, only: SAMPLE, sayWords: {} });
    expect(again.built).toEqual([]);
    expect(again.skipped).toHaveLength(SAMPLE.length * 2);
    const changed = await buildPrompts({
      outDir: out,
      catalogue: { welcome: { zh: '欢迎致电。', en: 'Welcome.' } },
      sayWords: {},
    });
    expect(changed.built).toEqual(['en/hotline/welcome.wav', 'zh/hotline/welcome.wav']);
  }, 60_000);

  it('GIVEN espeak-ng is not on PATH WHEN building THEN the error names the missing tool', async () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(buildPrompts({ outDir: out, only: ['welcome'] })).rejects.toThrow(/espeak-ng is not installed/);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('prompt catalogue coverage', () => {
  it('GIVEN the default flows WHEN their prompt ids are listed THEN each exists in the catalogue with zh and en text', () => {
    const catalogue = loadCatalogue();
    const used = new Set<string>();
    for (const flow of Object.values(buildDefaultFlows())) for (const id of promptsUsedBy(flow)) used.add(id);
    expect(used.size).toBeGreaterThan(30);
    for (const id of used) {
      expect(catalogue[id]?.zh, `${id}.zh`).toMatch(/\S/);
      expect(catalogue[id]?.en, `${id}.en`).toMatch(/\S/);
    }
  });
});
