/**
 * Call recordings: names, metadata and gaps (pure; no I/O).
 *
 * @remarks
 * One recording per bridge segment: the first segment starts when an agent
 * answers, each hand-off the session declares a new segment. The name is
 * derived from the call id and the segment number, so a restarted server (or
 * another instance) finds the same recording again without any lookup table,
 * and a second start of the same segment is a name conflict, never a silent
 * overwrite of evidence.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';

/** Default directory of Asterisk's recordings (`astspooldir`/recording). */
export const DEFAULT_RECORDINGS_DIR = '/var/spool/asterisk/recording';

/** Prompt id of the "本次通话将被录音" notice (prompts/catalogue.json). */
export const RECORDING_NOTICE_PROMPT = 'recording-notice';

/** Characters Asterisk and every filesystem accept in a recording name (no '/', no spaces). */
const UNSAFE = /[^A-Za-z0-9._-]/g;
const MAX_NAME = 160;

/** A recording name as we derive it: `call-<callId>-seg<n>`, characters outside `[A-Za-z0-9._-]` become `_`. */
export const RECORDING_NAME = /^call-[A-Za-z0-9._-]{1,140}-seg\d{1,4}$/;

/**
 * The deterministic recording name of one segment of a call.
 * @throws RangeError for a segment that is not an integer 1–9999 or an empty call id.
 */
export function recordingName(callId: string, segment: number): string {
  if (!Number.isInteger(segment) || segment < 1 || segment > 9999) throw new RangeError(`segment must be an integer 1-9999 (got ${segment})`);
  const safe = callId.replace(UNSAFE, '_').replace(/^\.+/, '_').slice(0, 140);
  if (!safe) throw new RangeError('callId must not be empty');
  const name = `call-${safe}-seg${segment}`;
  return name.slice(0, MAX_NAME);
}

export function isRecordingName(x: unknown): x is string {
  return typeof x === 'string' && RECORDING_NAME.test(x) && !x.includes('..');
}

/**
 * The file of a recording inside the recordings directory.
 * @throws Error when the name would leave the directory (defence in depth: names are validated already).
 */
export function recordingFile(dir: string, name: string, format: string): string {
  if (!isRecordingName(name)) throw new Error(`not a recording name: ${name}`);
  if (!/^[a-z0-9]{2,8}$/.test(format)) throw new Error(`not a recording format: ${format}`);
  const root = resolve(dir);
  const file = resolve(join(root, `${name}.${format}`));
  const rel = relative(root, file);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`recording outside ${root}: ${name}`);
  return file;
}

/** Where a recording is in its life. */
export type RecordingState = 'starting' | 'recording' | 'done' | 'failed';

/** Metadata of one segment's recording (Redis hash `<prefix>:rec:<name>`). */
export interface RecordingMeta {
  name: string;
  callId: string;
  segment: number;
  bridgeId: string;
  /** The agent on the call during this segment. */
  agentId?: string;
  ticketNo?: string;
  format: string;
  state: RecordingState;
  /** The caller heard the recording notice before the agent joined. */
  announced: boolean;
  /** ms since epoch: when we asked Asterisk to record. */
  startedAt: number;
  /** ms since epoch: when the recording finished (or failed). */
  endedAt?: number;
  /** Seconds, as Asterisk reported them. */
  durationSec?: number;
  /** Bytes, once the file was seen. */
  size?: number;
  /** Hex sha256 of the file, once seen. */
  sha256?: string;
  /** Absolute path of the file, once seen. */
  filePath?: string;
  legalHold: boolean;
  legalHoldBy?: string;
  legalHoldAt?: number;
  legalHoldReason?: string;
  /** Why it failed (state `failed`). */
  failure?: string;
}

/** A stretch of an answered call that has no recording, and why. */
export interface RecordingGap {
  callId: string;
  segment: number;
  name: string;
  agentId?: string;
  /** Stable reason code + detail, e.g. `start-failed: not-found: Bridge not found`. */
  reason: string;
  /** ms since epoch */
  at: number;
}

/** Metadata as stored: every field a string. */
export function metaToHash(m: Partial<RecordingMeta>): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (v === undefined || v === null) continue;
    h[k] = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
  }
  return h;
}

const NUMERIC = new Set(['segment', 'startedAt', 'endedAt', 'durationSec', 'size', 'legalHoldAt']);
const BOOLEAN = new Set(['announced', 'legalHold']);

export function hashToMeta(h: Record<string, string>): RecordingMeta | undefined {
  if (!h.name || !h.callId) return undefined;
  const m: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) {
    if (k === 'deleting') continue; // internal claim flag of the retention run
    if (NUMERIC.has(k)) m[k] = Number(v);
    else if (BOOLEAN.has(k)) m[k] = v === '1';
    else m[k] = v;
  }
  m.legalHold ??= false;
  m.announced ??= false;
  return m as unknown as RecordingMeta;
}

/** Has this recording outlived the retention period (and may it go)? */
export function isExpired(m: Pick<RecordingMeta, 'startedAt' | 'legalHold'>, retentionDays: number, now: number): boolean {
  return !m.legalHold && m.startedAt + retentionDays * 86_400_000 <= now;
}
