/**
 * Product code never depends on test code: nothing under src/ (nor the simulated PBX, which the
 * demo ships) imports from tests/. Checked on the source text of every module, static and dynamic
 * imports and re-exports alike, so a new file cannot slip past.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(p);
    return /\.(ts|js|mjs|html)$/.test(e.name) ? [p] : [];
  });
}

/** Every module specifier of a file: import/export … from '…', import('…'), and <script src="…"> in pages. */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const re of [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\bimport\s+['"]([^'"]+)['"]/g, /<script[^>]*\ssrc=["']([^"']+)["']/g]) {
    for (const m of text.matchAll(re)) out.push(m[1]!);
  }
  return out;
}

/** Imports of `file` that resolve into tests/ (relative specifiers only: packages cannot reach it). */
function testImports(file: string): string[] {
  return specifiers(readFileSync(file, 'utf8')).filter((s) => {
    if (!s.startsWith('.')) return false;
    const target = relative(ROOT, resolve(dirname(file), s));
    return target === 'tests' || target.startsWith(`tests${sep}`);
  });
}

describe('import boundaries', () => {
  it('finds every kind of import it checks (the scanner itself)', () => {
    const text = [
      "import { a } from '../../tests/support/x.js';",
      "export * from '../tests/y.js';",
      "const m = await import('../tests/z.js');",
      "import '../tests/side-effect.js';",
      '<script type="module" src="../tests/page.js"></script>',
    ].join('\n');
    expect(specifiers(text)).toEqual(['../../tests/support/x.js', '../tests/y.js', '../tests/z.js', '../tests/side-effect.js', '../tests/page.js']);
  });

  it('nothing under src/ or sim-pbx/ imports from tests/', () => {
    const files = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'sim-pbx'))];
    expect(files.length).toBeGreaterThan(100);
    const offenders = files.flatMap((f) => testImports(f).map((s) => `${relative(ROOT, f)} → ${s}`));
    expect(offenders).toEqual([]);
  });
});
