/**
 * Loading the prompt catalogue (prompts/catalogue.json) and the boot check
 * that every prompt the flows use exists.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Flow, PromptCatalogue } from './types.js';
import { FlowValidationError, missingPrompts, promptsUsedBy, validateCatalogue } from './validate.js';

/** prompts/catalogue.json relative to this module (src/ivr → repo root). */
export const DEFAULT_CATALOGUE_PATH = fileURLToPath(new URL('../../prompts/catalogue.json', import.meta.url));

/** Read and check a catalogue file; throws {@link FlowValidationError} naming each bad entry. */
export function loadCatalogue(file: string = DEFAULT_CATALOGUE_PATH): PromptCatalogue {
  const data: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const errors = validateCatalogue(data);
  if (errors.length > 0) throw new FlowValidationError(errors.map((e) => `catalogue ${e}`));
  return data as PromptCatalogue;
}

/**
 * Prompt ids used by `flows` (plus `extra`, e.g. route announcements) that the
 * catalogue lacks; the server logs them at start.
 */
export function missingFlowPrompts(flows: Record<string, Flow>, catalogue: PromptCatalogue, extra: Iterable<string> = []): string[] {
  const used = new Set<string>(extra);
  for (const flow of Object.values(flows)) for (const id of promptsUsedBy(flow)) used.add(id);
  return missingPrompts(used, catalogue);
}
