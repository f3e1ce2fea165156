/**
 * Flows kept as JSON files (data/flows/<id>.json), e.g. a city's edited copy
 * of the default flow. Loaded and validated together; nothing is activated
 * unless every flow passes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Flow, PromptCatalogue } from './types.js';
import { FlowValidationError, validateFlows } from './validate.js';

/**
 * Read every `*.json` in `dir` as a flow keyed by its `id`, merged over `base`
 * (so a file `hotline-zh.json` replaces the built-in default), then validate
 * the whole set. Throws {@link FlowValidationError} naming file and field.
 */
export function loadFlowFiles(dir: string, opts: { base?: Record<string, Flow>; catalogue?: PromptCatalogue } = {}): Record<string, Flow> {
  const flows: Record<string, unknown> = { ...(opts.base ?? {}) };
  const errors: string[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    try {
      const data = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { id?: unknown };
      const id = typeof data?.id === 'string' && data.id ? data.id : name.replace(/\.json$/, '');
      flows[id] = data;
    } catch (err) {
      errors.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  errors.push(...validateFlows(flows, opts.catalogue ? { catalogue: opts.catalogue } : {}));
  if (errors.length > 0) throw new FlowValidationError(errors);
  return flows as Record<string, Flow>;
}
