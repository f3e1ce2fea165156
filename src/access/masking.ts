/**
 * Presenting personal data by role. Every view of a call or ticket shows the
 * caller masked; a full number is only ever handed out by the audited reveal.
 */
import type { CallRecord } from '../calls/record.js';
import { maskNumber } from './mask.js';

/** A call record as shown to people: the caller masked, nothing else personal. */
export function presentRecord(r: CallRecord): CallRecord {
  return {
    ...r,
    caller: { number: maskNumber(r.caller.number), name: r.caller.name ? `${r.caller.name.slice(0, 1)}*` : '' },
    ...(r.source === 'callback' ? { dialed: maskNumber(r.dialed) } : {}),
  };
}
