/**
 * City presets: the seeds' merge lists as data files (data/presets/<city>.json).
 * The server starts on one of them; admins then edit a draft of it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RoutingTable } from './model.js';
import { RoutingTableError, validateTable, type ValidateTableOptions } from './validate.js';

export const PRESET_CITIES = ['zaozhuang', 'yantai', 'luan', 'zhengzhou'] as const;
export type PresetCity = (typeof PRESET_CITIES)[number];

/** data/presets relative to this module (src/routing → repo root). */
export const PRESETS_DIR = fileURLToPath(new URL('../../data/presets/', import.meta.url));

export function presetPath(city: PresetCity, dir: string = PRESETS_DIR): string {
  return `${dir.replace(/\/?$/, '/')}${city}.json`;
}

/**
 * Read and validate a preset; throws {@link RoutingTableError} naming every bad
 * field, so a broken preset stops the server at boot rather than misrouting calls.
 */
export function loadPreset(city: PresetCity, opts: ValidateTableOptions & { dir?: string } = {}): RoutingTable {
  if (!(PRESET_CITIES as readonly string[]).includes(city)) {
    throw new RoutingTableError([{ field: 'city', message: `unknown preset "${String(city)}" (${PRESET_CITIES.join(', ')})` }]);
  }
  const data: unknown = JSON.parse(readFileSync(presetPath(city, opts.dir), 'utf8'));
  const errors = validateTable(data, opts);
  if (errors.length > 0) throw new RoutingTableError(errors);
  return data as RoutingTable;
}
