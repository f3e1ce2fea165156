/**
 * Ids derived from a phone number (block-list entries, per-caller counters, a
 * caller's ticket index, audit targets `caller:<id>`): a keyed HMAC, so no
 * number appears in Redis key names or the audit log, and nobody holding an id
 * can get the number back.
 *
 * @remarks
 * An unkeyed hash of a number is no protection: the masked form (138****5678)
 * leaves 10⁴ candidates, tried in milliseconds. With the server's key the ids
 * cannot be tried without the key.
 *
 * The key is `NUMBER_ID_SECRET` when set, otherwise derived from `JWT_SECRET`
 * under its own label ({@link deriveNumberIdKey}), so the two uses never share
 * a key. Changing the key (or JWT_SECRET without NUMBER_ID_SECRET) gives every
 * number new ids: block-list entries and the caller index must then be moved
 * (set NUMBER_ID_SECRET to keep ids stable across a JWT_SECRET rotation).
 *
 * Data written before ids were keyed is found through {@link legacyNumberId}
 * and moved to the keyed id the first time its number is seen again (a call
 * from the blocked number, a look-up of the caller's tickets).
 */
import { createHash, createHmac, createSecretKey } from 'node:crypto';

/** The id of a number (32 hex digits). */
export type NumberId = (number: string) => string;

/** Label of the number-id key derived from JWT_SECRET: never the session-signing key itself. */
const DERIVATION_LABEL = 'hotline/number-id/v1';

/** The number-id key when NUMBER_ID_SECRET is not set: HMAC-SHA256(JWT_SECRET, label). */
export function deriveNumberIdKey(jwtSecret: string): string {
  return createHmac('sha256', jwtSecret).update(DERIVATION_LABEL).digest('hex');
}

/**
 * How many recent numbers keep their id in memory: a call needs its caller's id at its start (the
 * guard), at its end (the silent-call count) and for its ticket (the caller index), minutes apart;
 * at 100 calls/s this covers the last 40 s of callers. Held only as long as those calls' own records.
 */
const RECENT_IDS = 4096;

/** Number ids under `key`. */
export function numberIds(key: string): NumberId {
  if (key.length < 32) throw new Error('the number-id key must have at least 32 characters');
  const recent = new Map<string, string>();
  // Prepared once: an HMAC from a string key converts the key on every call (a quarter of its cost).
  const secret = createSecretKey(Buffer.from(key, 'utf8'));
  return (number) => {
    let id = recent.get(number);
    if (id === undefined) {
      id = createHmac('sha256', secret).update(`hotline-caller:${number}`).digest('hex').slice(0, 32);
      // Oldest out first (a Map iterates in insertion order).
      if (recent.size >= RECENT_IDS) recent.delete(recent.keys().next().value!);
      recent.set(number, id);
    }
    return id;
  };
}

/** The unkeyed id of data written before ids were keyed: only to find and move such data. */
export function legacyNumberId(number: string): string {
  return createHash('sha256').update(`hotline-caller:${number}`).digest('hex').slice(0, 32);
}
