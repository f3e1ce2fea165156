/**
 * The spoken short answer of a published article: espeak-ng + sox, the same
 * pipeline and format as the catalogue's prompts (prompts/build.ts: 8 kHz mono
 * 16-bit WAV, normalised to -3 dBFS), written where Asterisk reads our prompts
 * (`<dir>/<lang>/hotline/<promptId>.wav`). A recorded answer
 * (`<recordedDir>/<lang>/hotline/kb-<articleId>.wav`, any format sox reads)
 * is converted instead. Own code rather than an import of prompts/build.ts:
 * that tool is not shipped in the server's image, this module is.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SPEECH } from '../ivr/speech.js';

function run(cmd: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new Error(`${cmd} is not installed (apt-get install -y ${cmd})`) : err));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}: ${stderr.trim()}`))));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

export interface AnswerPromptOptions {
  /** Root of the prompts Asterisk plays (sounds/build). */
  dir: string;
  /** Root of recorded prompts (prompts/recorded). */
  recordedDir?: string;
}

/**
 * Build `<promptId>.wav` in zh and en. The en file speaks `textEn`, or the
 * Chinese text with the Chinese voice when there is none (a caller of the
 * English flow hears the answer rather than nothing).
 */
export async function buildAnswerPrompt(o: AnswerPromptOptions, articleId: string, promptId: string, text: { zh: string; en: string }): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'kb-prompt-'));
  try {
    for (const lang of ['zh', 'en'] as const) {
      const target = join(o.dir, lang, 'hotline', `${promptId}.wav`);
      await mkdir(join(o.dir, lang, 'hotline'), { recursive: true });
      const partial = `${target}.partial.wav`;
      const convert = ['-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', partial, 'gain', '-n', '-3'];
      const recorded = o.recordedDir ? join(o.recordedDir, lang, 'hotline', `kb-${articleId}.wav`) : undefined;
      if (recorded && existsSync(recorded)) {
        await run('sox', [recorded, ...convert]);
      } else {
        const useEn = lang === 'en' && text.en.trim() !== '';
        const raw = join(tmp, `${lang}.wav`);
        await run('espeak-ng', ['-v', SPEECH[useEn ? 'en' : 'zh'].voice, '-s', String(SPEECH[useEn ? 'en' : 'zh'].wpm), '-w', raw, '--stdin'], useEn ? text.en : text.zh);
        await run('sox', [raw, ...convert]);
      }
      // Renamed into place: Asterisk never opens a half-written file.
      await rename(partial, target);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
