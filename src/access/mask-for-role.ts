/**
 * Presenting personal data by role (数据脱敏). Caller numbers appear as
 * 138****5678 except to roles holding `number:full`; exports and webhooks go
 * through {@link maskRecordForRole}, which masks unless the receiver may see
 * full numbers. The masking itself is {@link maskNumber} / {@link maskNumbersInText}.
 *
 * @remarks
 * Views built for people should prefer masked data plus the audited reveal
 * (`POST /api/numbers/reveal`), so that every full number seen leaves an audit
 * entry; {@link presentNumber} is for the few places where policy shows a
 * privileged role the number directly.
 */
import type { CallRecord } from '../calls/record.js';
import { maskNumber, maskNumbersInText } from './mask-numbers.js';
import { canSeeFullNumber, type HasRoles } from './roles.js';

/** The number in full for roles allowed it, masked for everyone else (and for no user at all). */
export function presentNumber(user: HasRoles, number: string | undefined | null): string {
  if (number === undefined || number === null) return '';
  return canSeeFullNumber(user) ? String(number) : maskNumber(number);
}

/** Mask a person's name for display: the family name and a star (张*). */
export function maskName(name: string | undefined | null): string {
  if (!name) return '';
  const chars = Array.from(name.trim());
  return chars.length === 0 ? '' : `${chars[0]}*`;
}

/** Keys whose string values are phone numbers (any depth). */
const NUMBER_KEYS = new Set(['number', 'phone', 'mobile', 'tel', 'telephone', 'callerNumber', 'callerId', 'contactNumber', 'callbackNumber', 'ani', 'msisdn']);
/** Keys whose string values are free text that may mention a number. */
const TEXT_KEYS = new Set(['summary', 'content', 'description', 'detail', 'note', 'notes', 'remark', 'remarks', 'comment', 'address', 'text', 'transcript']);
/** Keys whose string values are personal names. */
const NAME_KEYS = new Set(['name', 'callerName', 'contactName']);

export interface MaskOptions {
  /** Extra keys holding phone numbers (e.g. 'dialed' of a callback leg). */
  numberKeys?: readonly string[];
  /** Also mask personal names (default true). */
  names?: boolean;
}

/**
 * A deep copy of a record (ticket, call record, export row, webhook payload)
 * with numbers, free text and names masked, unless the user may see full
 * numbers. Pass `null` as the user for receivers without a role (webhooks,
 * exports configured masked): everything is masked.
 */
export function maskRecordForRole<T>(record: T, user: HasRoles, opts: MaskOptions = {}): T {
  if (canSeeFullNumber(user)) return structuredClone(record);
  const numberKeys = new Set([...NUMBER_KEYS, ...(opts.numberKeys ?? [])]);
  const names = opts.names ?? true;
  const walk = (v: unknown, key: string | undefined, depth: number): unknown => {
    if (depth > 20) return v;
    if (typeof v === 'string') {
      if (key && numberKeys.has(key)) return maskNumber(v);
      if (key && names && NAME_KEYS.has(key)) return maskName(v);
      if (key && TEXT_KEYS.has(key)) return maskNumbersInText(v);
      return v;
    }
    if (Array.isArray(v)) return v.map((x) => walk(x, key, depth + 1));
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, k, depth + 1);
      return out;
    }
    return v;
  };
  return walk(record, undefined, 0) as T;
}

/** A call record as shown to people: the caller masked, the name reduced to the family name. */
export function presentRecord(r: CallRecord): CallRecord {
  return {
    ...r,
    caller: { number: maskNumber(r.caller.number), name: maskName(r.caller.name) },
    ...(r.source === 'callback' ? { dialed: maskNumber(r.dialed) } : {}),
  };
}

/** A call record for a given user: full for roles allowed it, otherwise as {@link presentRecord}. */
export function presentRecordFor(user: HasRoles, r: CallRecord): CallRecord {
  return canSeeFullNumber(user) ? r : presentRecord(r);
}
