import { describe, expect, it } from 'vitest';
import { missingPromptsInUse } from '../../src/calls/default-parts.js';
import { loadCatalogue } from '../../src/ivr/catalogue.js';
import { buildDefaultFlows } from '../../src/ivr/default-flow.js';
import { loadPreset, PRESET_CITIES } from '../../src/routing/presets.js';

describe('prompts in use', () => {
  it.each(PRESET_CITIES)('GIVEN the default flows and the %s preset WHEN checked at start THEN every prompt exists in the catalogue', (city) => {
    expect(missingPromptsInUse(buildDefaultFlows(), loadPreset(city), loadCatalogue())).toEqual([]);
  });

  it('GIVEN a route naming a prompt that does not exist WHEN checked THEN it is listed', () => {
    const table = structuredClone(loadPreset('zaozhuang'));
    table.routes[1]!.prompts = { forward: 'no-such-prompt' };
    const catalogue = loadCatalogue();
    delete (catalogue as Record<string, unknown>)['callback-offer'];
    expect(missingPromptsInUse(buildDefaultFlows(), table, catalogue).sort()).toEqual(['callback-offer', 'no-such-prompt']);
  });
});
