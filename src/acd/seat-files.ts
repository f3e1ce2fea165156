/**
 * Shipped seat files (`data/seats/<city>.json`): the seat groups a city's
 * routing table names. Read at start; their groups are created when missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SEATS_DIR = fileURLToPath(new URL('../../data/seats/', import.meta.url));

/** The city's seat file as JSON, or undefined when the city ships none. */
export function loadSeatFile(city: string, dir = SEATS_DIR): unknown {
  const file = `${dir}${city}.json`;
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown) : undefined;
}
