/**
 * The server image holds every file the compiled code reads at run time.
 * Modules find their data (presets, holiday calendar, SLA policies, dispatch
 * rules), pages and prompt catalogue relative to themselves
 * (`new URL('../../data/…', import.meta.url)`); in the image they run from
 * dist/src/<area>/, so each such path must land under a COPY of the runtime
 * stage — and not be kept out of the build context by .dockerignore.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Files/dirs read relative to a module: [module (repo path), target in the repo, target in the image]. */
function runtimeReads(): { module: string; repoPath: string; imagePath: string }[] {
  const out: { module: string; repoPath: string; imagePath: string }[] = [];
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/new URL\(\s*[`'"](\.\.?\/[^`'"$]*)/g)) {
      const rel = m[1]!;
      const moduleDir = relative(ROOT, dirname(file)).split('\\').join('/');
      out.push({
        module: relative(ROOT, file),
        repoPath: posix.normalize(posix.join(moduleDir, rel)),
        imagePath: posix.normalize(posix.join('/app/dist', moduleDir, rel)),
      });
    }
  }
  return out;
}

/**
 * What the COPY lines of the last (runtime) stage put in the image: the path
 * each one creates (a copy into a folder, `./`, creates folder + the source's
 * name). The compiled output (`…/dist/src`) holds only what tsc emits, so it
 * provides none of the data, pages or JSON read at run time.
 */
function runtimeCopies(): { from: string; creates: string }[] {
  const stages = dockerfile.split(/^FROM /m);
  const runtime = stages[stages.length - 1]!;
  return [...runtime.matchAll(/^COPY (?:--\S+ )*(\S+) (\S+)$/gm)]
    .map((m) => {
      const from = m[1]!;
      const dest = m[2]!.startsWith('/') ? m[2]! : posix.join('/app', m[2]!);
      const intoFolder = m[2]!.endsWith('/') || m[2] === '.';
      return { from, creates: posix.normalize(intoFolder ? posix.join(dest, posix.basename(from)) : dest).replace(/\/$/, '') };
    })
    .filter((c) => !/\/dist\/src\/?$/.test(c.from));
}

describe('the server image', () => {
  const reads = runtimeReads();
  const copies = runtimeCopies();

  it('finds the module-relative reads (data, pages, prompts) it is checking', () => {
    expect(reads.map((r) => r.repoPath)).toEqual(expect.arrayContaining(['data/presets/', 'data/sla/', 'src/web/', 'prompts/catalogue.json']));
    expect(copies.length).toBeGreaterThan(3);
  });

  it('copies every file or folder the compiled modules read to where they look for it', () => {
    const missing = reads.filter((r) => !copies.some((c) => r.imagePath.replace(/\/$/, '') === c.creates || r.imagePath.startsWith(`${c.creates}/`)));
    expect(missing, 'module-relative reads with no COPY in the runtime stage').toEqual([]);
  });

  it('does not keep those sources out of the build context', () => {
    const top = new Set(reads.map((r) => r.repoPath.split('/')[0]!));
    expect([...top].filter((d) => ignored.includes(d) || ignored.includes(`${d}/`))).toEqual([]);
  });
});

describe('production files agree with what the server does', () => {
  it('GIVEN the README’s user CLI for the container WHEN the image is built THEN the compiled CLI is in it (tsconfig compiles src/, the runtime stage copies dist/src)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('docker compose exec -T app node dist/src/access/cli.js create-user');
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[]; compilerOptions: { outDir: string; rootDir: string } };
    expect(tsconfig.include).toContain('src');
    expect(tsconfig.compilerOptions).toMatchObject({ outDir: 'dist', rootDir: '.' });
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/COPY --from=build \S* ?\/app\/dist\/src \.\/dist\/src/);
    // The CLI imports nothing outside src/ (tests/ is not in the image).
    expect(readFileSync(join(ROOT, 'src/access/cli.ts'), 'utf8')).not.toMatch(/from '\.\.\/\.\.\/tests\//);
  });

  it('GIVEN retention deletes expired recordings WHEN docker-compose.yml mounts the recordings volume into the app THEN it is not read-only', () => {
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const app = compose.slice(compose.indexOf('\n  app:'));
    const mount = app.split('\n').find((l) => l.includes('recordings:/var/spool/asterisk/recording'));
    expect(mount, 'the app mounts the recordings volume').toBeDefined();
    expect(mount!.trim()).not.toMatch(/:ro$/);
  });
});
