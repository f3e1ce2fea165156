/**
 * How long a media item lasts, for the simulated PBX to play it as long as Asterisk would:
 * sound files are looked up like Asterisk does (`<sounds>/<lang>/<name>.<ext>`, then
 * `<sounds>/<name>.<ext>`) in each sounds directory given, and their length read from the file;
 * `digits:`/`number:` are said one sound per digit (`digits/<d>`), as Asterisk's say does.
 *
 * A timing bug that a real prompt's 8 s exposes must show in the fast mode too: tests wait for
 * events, never for a simulator's 40 ms.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';

/** Bytes per second of Asterisk's raw 8 kHz formats. */
const RAW_RATES: Record<string, number> = { ulaw: 8000, alaw: 8000, sln: 16000, gsm: 1650, g722: 8000 };
const EXTENSIONS = ['wav', 'ulaw', 'alaw', 'gsm', 'sln', 'g722'];

export interface MediaTimingOptions {
  /** Sounds directories, first match wins (our built prompts, then Asterisk's installed sounds). */
  soundsDirs: string[];
  /** Multiply every length (a test that says so may play faster); default 1. */
  scale?: number;
  /** Length of an item whose file is not found (a missing file fails at once anyway); default 40 ms. */
  fallbackMs?: number;
}

/** A `(mediaUri, language) → ms` function for SimPbx's `playbackMs`. */
export function mediaTiming(opts: MediaTimingOptions): (mediaUri: string, language?: string) => number {
  const scale = opts.scale ?? 1;
  const fallback = opts.fallbackMs ?? 40;
  const cache = new Map<string, number | undefined>();
  const soundMs = (name: string, lang: string): number | undefined => {
    const key = `${lang}\0${name}`;
    if (!cache.has(key)) cache.set(key, findSoundMs(opts.soundsDirs, name, lang));
    return cache.get(key);
  };
  return (uri, language = 'zh') => {
    const colon = uri.indexOf(':');
    const scheme = colon < 0 ? '' : uri.slice(0, colon);
    const rest = uri.slice(colon + 1);
    let ms: number | undefined;
    if (scheme === 'sound') ms = soundMs(rest, language);
    else if (scheme === 'digits' || scheme === 'number') {
      ms = 0;
      for (const ch of rest.replace(/[^0-9]/g, '')) ms += soundMs(`digits/${ch}`, language) ?? fallback;
    }
    return Math.max(1, Math.round((ms ?? fallback) * scale));
  };
}

function findSoundMs(dirs: string[], name: string, lang: string): number | undefined {
  for (const dir of dirs) {
    for (const base of [path.join(dir, lang, name), path.join(dir, name)]) {
      for (const ext of EXTENSIONS) {
        const file = `${base}.${ext}`;
        if (existsSync(file)) return fileMs(file, ext);
      }
    }
  }
  return undefined;
}

function fileMs(file: string, ext: string): number | undefined {
  const size = statSync(file).size;
  if (ext !== 'wav') return (size / RAW_RATES[ext]!) * 1000;
  // RIFF/WAVE: byte rate in the fmt chunk, the data chunk's size.
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 4096));
    readSync(fd, head, 0, head.length, 0);
    if (head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') return undefined;
    let byteRate = 0;
    for (let off = 12; off + 8 <= head.length; ) {
      const id = head.toString('ascii', off, off + 4);
      const len = head.readUInt32LE(off + 4);
      if (id === 'fmt ') byteRate = head.readUInt32LE(off + 16); // chunk data: format, channels, sample rate, byte rate
      if (id === 'data') return byteRate ? (Math.min(len, size - off - 8) / byteRate) * 1000 : undefined;
      off += 8 + len + (len % 2);
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
