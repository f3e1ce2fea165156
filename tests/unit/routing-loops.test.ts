/**
 * Routing loops (issue 20, red-team finding 5): a target that leads back into
 * our own Stasis app is refused by validation; the lists the guard uses are
 * those of the dialplan and pjsip.conf we ship.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateTableFlows } from '../../src/calls/default-parts.js';
import { loadCatalogue } from '../../src/ivr/catalogue.js';
import { buildDefaultFlows } from '../../src/ivr/default-flow.js';
import type { LinkageRoute, RoutingTable, SubcenterRoute } from '../../src/routing/model.js';
import { CARRIER_ENDPOINTS, dialLoopProblem, endpointsIntoOf, OWN_STASIS_CONTEXTS, stasisContextsOf } from '../../src/routing/loops.js';
import { loadPreset } from '../../src/routing/presets.js';
import { validateTable } from '../../src/routing/validate.js';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

function withTarget(routeId: string, dialString: string): { table: RoutingTable; i: number } {
  const table = structuredClone(loadPreset('zaozhuang'));
  const i = table.routes.findIndex((r) => r.id === routeId);
  (table.routes[i] as SubcenterRoute | LinkageRoute).target = { kind: 'dial', dialString };
  return { table, i };
}

describe('routing loops: the contexts and endpoints the guard knows', () => {
  it('GIVEN dialplan/extensions.conf WHEN its contexts that reach Stasis(hotline) are derived THEN they are exactly the guard list (the test-only app is not ours)', () => {
    const dialplan = read('dialplan/extensions.conf');
    expect(stasisContextsOf(dialplan, 'hotline')).toEqual([...OWN_STASIS_CONTEXTS].sort());
    expect(stasisContextsOf(dialplan, 'hotline')).not.toContain('hotline-test-agents');
  });

  it('GIVEN asterisk/pjsip.conf WHEN its endpoints into the carrier context are derived THEN they are exactly the carrier endpoint list', () => {
    expect(endpointsIntoOf(read('asterisk/pjsip.conf'), ['from-carrier'])).toEqual([...CARRIER_ENDPOINTS].sort());
  });

  it('GIVEN a dialplan whose context reaches Stasis only through Goto, GotoIf or include WHEN derived THEN those contexts count too', () => {
    const dp = `[globals]\nAPP=hotline\n[in]\nexten => _X.,1,Stasis(\${APP},\${EXTEN},carrier)\n[hop]\nexten => _X.,1,Goto(in,\${EXTEN},1)\n[cond]\nexten => _X.,1,GotoIf($[1]?hop,\${EXTEN},1:other,s,1)\n[inc]\ninclude => cond\n[other]\nexten => s,1,Hangup()\n`;
    expect(stasisContextsOf(dp, 'hotline')).toEqual(['cond', 'hop', 'in', 'inc']);
  });
});

describe('routing loops: validation', () => {
  it.each([
    ['line-12366', 'Local/12366@from-carrier', 'from-carrier'],
    ['linkage-110', 'Local/12345@from-carrier', 'from-carrier'],
    ['linkage-110', 'Local/12345@from-linkage/n', 'from-linkage'],
    ['line-12366', 'Local/12366@from-subcenter', 'from-subcenter'],
    ['line-12366', 'Local/8001@from-agents', 'from-agents'],
  ])('GIVEN route %s with target %s WHEN validated THEN it is refused as a loop naming the field', (routeId, dial, ctx) => {
    const { table, i } = withTarget(routeId, dial);
    const errs = validateTable(table);
    const e = errs.find((x) => x.field === `routes[${i}].target.dialString`);
    expect(e?.message).toMatch(new RegExp(`routing loop`));
    expect(e?.message).toContain(ctx);
  });

  it('GIVEN a target dialling our own numbers out through the carrier (with or without the area code) WHEN validated THEN it is refused; other numbers (a partner\'s 110, another city\'s line) through the carrier are fine', () => {
    for (const dial of ['PJSIP/12345@carrier', 'PJSIP/063212345@carrier', 'PJSIP/12366@carrier']) {
      const { table, i } = withTarget('linkage-110', dial);
      expect(validateTable(table).find((x) => x.field === `routes[${i}].target.dialString`)?.message, dial).toMatch(/comes back to us, a routing loop/);
    }
    expect(validateTable(withTarget('linkage-110', 'PJSIP/110@carrier').table)).toEqual([]);
    expect(validateTable(withTarget('line-12366', 'PJSIP/053112366@carrier').table)).toEqual([]);
  });

  it('GIVEN targets that leave our app (a partner trunk, a test context of another app) WHEN validated THEN they pass', () => {
    expect(validateTable(withTarget('line-12366', 'PJSIP/12366@subcenter-12366').table)).toEqual([]);
    expect(validateTable(withTarget('linkage-110', 'Local/110@hotline-test-agents').table)).toEqual([]);
    expect(dialLoopProblem('Local/12345@somewhere-else')).toBeUndefined();
  });

  it('GIVEN an overflow into our own carrier context WHEN validated THEN it is refused too', () => {
    const table = structuredClone(loadPreset('zaozhuang'));
    const i = table.routes.findIndex((r) => r.id === 'line-12366');
    table.routes[i]!.overflow = { kind: 'dial', dialString: 'Local/12345@from-carrier' };
    expect(validateTable(table).find((x) => x.field === `routes[${i}].overflow.dialString`)?.message).toMatch(/routing loop/);
  });

  it('GIVEN a flow carried by the table whose transfer node dials into from-linkage WHEN the table flows are validated THEN the node target is named', () => {
    const flows = buildDefaultFlows();
    const table = structuredClone(loadPreset('zaozhuang'));
    const flow = structuredClone(flows[table.defaultFlow]!) as unknown as { nodes: Record<string, unknown> };
    flow.nodes['loop-out'] = { type: 'transfer', target: 'Local/12345@from-linkage' };
    table.flows = { [table.defaultFlow]: flow };
    const errs = validateTableFlows(table, flows, loadCatalogue());
    expect(errs.find((e) => e.field === `flows.${table.defaultFlow}.nodes.loop-out.target`)?.message).toMatch(/routing loop/);
  });
});
