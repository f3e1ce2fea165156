/**
 * Shipped seat files (`data/seats/<city>.json`): the seat groups a city's
 * routing table names, and the city's queue rules per skill (how long and how
 * many callers wait before overflowing to the peak seats). Read at start; the
 * groups are created when missing, the rules go into the ACD's configuration.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validateSeatFile, type FieldError, type QueueRule } from './model.js';

export const SEATS_DIR = fileURLToPath(new URL('../../data/seats/', import.meta.url));

/** The city's seat file as JSON, or undefined when the city ships none. */
export function loadSeatFile(city: string, dir = SEATS_DIR): unknown {
  const file = `${dir}${city}.json`;
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown) : undefined;
}

/**
 * The queue rules a seat file sets (`rules`, per skill), validated. A city without a file, or a file
 * without rules, sets none; an invalid file sets none and says why (each field named).
 */
export function seatFileRules(seatFile: unknown): { rules: Record<string, QueueRule>; errors: FieldError[] } {
  if (seatFile === undefined) return { rules: {}, errors: [] };
  const r = validateSeatFile(seatFile);
  return r.ok ? { rules: r.value.rules ?? {}, errors: [] } : { rules: {}, errors: r.errors };
}
