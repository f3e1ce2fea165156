/**
 * Prompt build: catalogue text → 8 kHz mono 16-bit WAV files Asterisk plays.
 *
 * Usage: `npx tsx prompts/build.ts [--out sounds/build] [--force] [--only id,id]`
 *
 * Layout (Asterisk's sound path, mounted into the container):
 *   <out>/<zh|en>/hotline/<id>.wav   every prompt of prompts/catalogue.json
 *   <out>/<zh|en>/digits/<n>.wav     the words Asterisk's say (digits:/number:) needs,
 *                                    from prompts/say-words.json (Chinese has no core sounds)
 *
 * A recorded file at `prompts/recorded/<lang>/<hotline|digits>/<name>.wav` (any
 * rate/channels sox reads) is converted instead of synthesised: recordings
 * override generated prompts. Up-to-date files are skipped: `<out>/manifest.json`
 * keeps a hash of each file's text, voice and source.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SPEECH } from '../src/ivr/speech.js';

export type BuildLang = 'zh' | 'en';
export interface TextEntry {
  zh: string;
  en: string;
  voice?: Partial<Record<BuildLang, string>>;
}

const HERE = dirname(fileURLToPath(import.meta.url));
export const CATALOGUE_FILE = join(HERE, 'catalogue.json');
export const SAY_WORDS_FILE = join(HERE, 'say-words.json');
export const RECORDED_DIR = join(HERE, 'recorded');
/** Bump when the synthesis pipeline changes so every file is rebuilt. */
const PIPELINE_VERSION = 2;
const VOICES: Record<BuildLang, string> = { zh: SPEECH.zh.voice, en: SPEECH.en.voice };

export class ToolMissingError extends Error {
  readonly code = 'PROMPT_TOOL_MISSING';
  constructor(readonly tool: string) {
    super(`${tool} is not installed or not on PATH; install it (Debian: apt-get install -y ${tool}) and run the prompt build again`);
    this.name = 'ToolMissingError';
  }
}

export interface BuildOptions {
  /** Output root, e.g. sounds/build. */
  outDir: string;
  /** id → text; default prompts/catalogue.json. */
  catalogue?: Record<string, TextEntry>;
  /** Asterisk say sound name ("digits/1") → text; default prompts/say-words.json. Pass {} to skip. */
  sayWords?: Record<string, TextEntry>;
  /** Build only these catalogue ids (and no say words unless listed as "digits/…"). */
  only?: string[];
  langs?: BuildLang[];
  /** Rebuild even when up to date. */
  force?: boolean;
  recordedDir?: string;
  concurrency?: number;
  log?: (msg: string) => void;
}

export interface BuildResult {
  outDir: string;
  /** Relative paths (e.g. "zh/hotline/welcome.wav") written this run. */
  built: string[];
  /** Relative paths already up to date. */
  skipped: string[];
}

interface Job {
  rel: string;
  lang: BuildLang;
  text: string;
  voice: string;
  recorded?: string;
}

function run(cmd: string, args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    let child;
    try {
      child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      reject(err);
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new ToolMissingError(cmd) : err));
    child.on('close', (code) => {
      if (code === 0) resolvePromise({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Throws {@link ToolMissingError} naming the first missing tool (espeak-ng, sox). */
export async function checkTools(tools: string[] = ['espeak-ng', 'sox']): Promise<void> {
  for (const tool of tools) await run(tool, ['--version']);
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

function hashOf(job: Job, recordedBytes?: Buffer): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: PIPELINE_VERSION, text: job.text, voice: job.voice, speed: SPEECH[job.lang].wpm, rate: 8000 }));
  if (recordedBytes) h.update(recordedBytes);
  return h.digest('hex');
}

async function makeOne(job: Job, outDir: string, tmp: string): Promise<void> {
  const target = join(outDir, job.rel);
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.partial.wav`;
  // gain -n -3: normalise to -3 dBFS so the 8 kHz resample does not clip.
  const convert = ['-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', partial, 'gain', '-n', '-3'];
  if (job.recorded) {
    await run('sox', [job.recorded, ...convert]);
  } else {
    const raw = join(tmp, `${job.rel.replace(/[/\\]/g, '_')}.wav`);
    await run('espeak-ng', ['-v', job.voice, '-s', String(SPEECH[job.lang].wpm), '-w', raw, '--stdin'], job.text);
    await run('sox', [raw, ...convert]);
    await rm(raw, { force: true });
  }
  await rename(partial, target);
}

/** Build the prompt files; returns what was built and skipped. */
export async function buildPrompts(opts: BuildOptions): Promise<BuildResult> {
  const outDir = resolve(opts.outDir);
  const log = opts.log ?? (() => undefined);
  await checkTools();
  const langs = opts.langs ?? ['zh', 'en'];
  const catalogue = opts.catalogue ?? readJson<Record<string, TextEntry>>(CATALOGUE_FILE);
  const sayWords = opts.sayWords ?? readJson<Record<string, TextEntry>>(SAY_WORDS_FILE);
  const recordedDir = opts.recordedDir ?? RECORDED_DIR;
  const only = opts.only ? new Set(opts.only) : undefined;

  const jobs: Job[] = [];
  const add = (rel: string, name: string, entry: TextEntry, lang: BuildLang): void => {
    const text = entry[lang];
    if (typeof text !== 'string' || !text.trim()) throw new Error(`prompt "${name}" has no ${lang} text`);
    const recorded = join(recordedDir, rel);
    jobs.push({ rel, lang, text, voice: entry.voice?.[lang] ?? VOICES[lang], ...(existsSync(recorded) ? { recorded } : {}) });
  };
  for (const [id, entry] of Object.entries(catalogue)) {
    if (only && !only.has(id)) continue;
    if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) throw new Error(`prompt id "${id}" is not file-safe`);
    for (const lang of langs) add(`${lang}/hotline/${id}.wav`, id, entry, lang);
  }
  for (const [name, entry] of Object.entries(sayWords)) {
    if (only && !only.has(name)) continue;
    if (!/^digits\/[a-z0-9-]+$/.test(name)) throw new Error(`say word "${name}" must be "digits/<name>"`);
    for (const lang of langs) add(`${lang}/${name}.wav`, name, entry, lang);
  }

  const manifestFile = join(outDir, 'manifest.json');
  let manifest: Record<string, string> = {};
  try {
    manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Record<string, string>;
  } catch {
    manifest = {};
  }
  await mkdir(outDir, { recursive: true });
  const tmp = await mkdtemp(join(tmpdir(), 'prompt-build-'));
  const built: string[] = [];
  const skipped: string[] = [];
  try {
    const queue = [...jobs];
    const worker = async (): Promise<void> => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const hash = hashOf(job, job.recorded ? await readFile(job.recorded) : undefined);
        if (!opts.force && manifest[job.rel] === hash && existsSync(join(outDir, job.rel))) {
          skipped.push(job.rel);
          continue;
        }
        await makeOne(job, outDir, tmp);
        manifest[job.rel] = hash;
        built.push(job.rel);
        log(`built ${job.rel}${job.recorded ? ' (recorded)' : ''}`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  } finally {
    await writeFile(manifestFile, `${JSON.stringify(sortKeys(manifest), null, 2)}\n`);
    await rm(tmp, { recursive: true, force: true });
  }
  return { outDir, built: built.sort(), skipped: skipped.sort() };
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

async function main(argv: string[]): Promise<void> {
  let outDir = 'sounds/build';
  let force = false;
  let only: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') outDir = argv[++i] ?? outDir;
    else if (a === '--force') force = true;
    else if (a === '--only') only = (argv[++i] ?? '').split(',').filter(Boolean);
    else throw new Error(`unknown argument "${a}" (usage: build.ts [--out dir] [--force] [--only id,id])`);
  }
  const res = await buildPrompts({ outDir, force, ...(only ? { only } : {}), log: (m) => console.log(m) });
  console.log(`prompts: ${res.built.length} built, ${res.skipped.length} up to date, in ${res.outDir}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
