/**
 * Routing-table validation: every invalid case is rejected with the field path
 * and a message that says what is wrong; valid tables give no errors.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/ivr/catalogue.js';
import type { LineRoute, RoutingTable } from '../../src/routing/model.js';
import { assertTable, dialStringProblem, formatErrors, RoutingTableError, validateTable } from '../../src/routing/validate.js';

const catalogue = loadCatalogue();
const flows = ['hotline-zh', 'hotline-en', 'survey'];

/** A small valid table: 12345, one merged line with a transition window, one sub-center. */
function table(): RoutingTable {
  return {
    cityId: 'testcity',
    name: '测试市',
    nameEn: 'Test City',
    version: 0,
    defaultFlow: 'hotline-zh',
    defaultArea: 'city',
    areas: [
      { id: 'city', name: '测试市', nameEn: 'Test City', code: '370400', dialCode: '0632' },
      { id: 'east', name: '东区', nameEn: 'East District', parent: 'city' },
    ],
    routes: [
      { id: 'hotline', numbers: ['12345'], name: '12345热线', nameEn: '12345 hotline', unit: '市政府办公室', area: 'city', mode: 'hotline' },
      {
        id: 'line-12301',
        numbers: ['12301'],
        name: '旅游服务热线',
        nameEn: 'Tourism line',
        unit: '市文旅局',
        area: 'city',
        mode: 'merged',
        transition: { from: '2021-11-01T00:00:00+08:00', until: '2022-05-01T00:00:00+08:00' },
        prompts: { transition: 'transition-generic', cancel: 'cancelled-generic' },
      },
      {
        id: 'line-12366',
        numbers: ['12366'],
        name: '纳税服务热线',
        nameEn: 'Tax line',
        unit: '市税务局',
        area: 'city',
        mode: 'subcenter',
        target: { kind: 'dial', dialString: 'PJSIP/12366@subcenter-12366' },
      },
    ],
  };
}

/** The table with `patch` applied to route `i`, as untyped JSON (validation takes unknown input). */
function withRoute(i: number, patch: Record<string, unknown>): Record<string, unknown> {
  const t = table();
  (t.routes as unknown[])[i] = { ...t.routes[i], ...patch };
  return t as unknown as Record<string, unknown>;
}

function addRoute(r: Record<string, unknown>): Record<string, unknown> {
  const t = table();
  (t.routes as unknown[]).push(r);
  return t as unknown as Record<string, unknown>;
}

const lines = (x: unknown, opts = { prompts: catalogue, flows }): string[] => formatErrors(validateTable(x, opts));

const linkage = (over: Partial<LineRoute> & Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'linkage-110',
  numbers: ['110'],
  name: '报警电话',
  nameEn: 'Police',
  unit: '市公安局',
  area: 'city',
  mode: 'linkage',
  target: { kind: 'dial', dialString: 'PJSIP/110@linkage-110' },
  ...over,
});

describe('routing table validation', () => {
  it('GIVEN a well-formed table WHEN validated against the catalogue and flows THEN there are no errors', () => {
    expect(lines(table())).toEqual([]);
    expect(() => assertTable(table(), { prompts: catalogue, flows })).not.toThrow();
  });

  it('GIVEN a number with a letter WHEN validated THEN it is not dialable, named by its path', () => {
    expect(lines(withRoute(1, { numbers: ['1233x'] }))).toEqual(['routes[1].numbers[0]: "1233x" is not a dialable number']);
  });

  it('GIVEN the same number in two routes of one area WHEN validated THEN the second is a duplicate naming the first', () => {
    expect(lines(withRoute(2, { numbers: ['12366', '12301'] }))).toEqual([
      'routes[2].numbers[1]: "12301" is already used by route "line-12301" (routes[1]) in area "city"',
    ]);
  });

  it('GIVEN an alias listed twice on one route WHEN validated THEN it is rejected', () => {
    expect(lines(withRoute(2, { numbers: ['12366', '12366'] }))).toEqual(['routes[2].numbers[1]: "12366" is listed twice']);
  });

  it('GIVEN the same short code in two different areas WHEN validated THEN both routes are fine', () => {
    const t = addRoute({ ...table().routes[2]!, id: 'east-12366', area: 'east', target: { kind: 'queue', group: 'subcenter-12366' } });
    expect(lines(t)).toEqual([]);
  });

  it('GIVEN an unknown mode WHEN validated THEN the mode field says so and lists the modes', () => {
    expect(lines(withRoute(2, { mode: 'absorbed' }))).toEqual([
      'routes[2].mode: unknown mode "absorbed" (one of hotline, merged, parallel, subcenter, subplatform, transfer, linkage)',
    ]);
  });

  it('GIVEN a transition window ending before it starts WHEN validated THEN transition.until is rejected', () => {
    const t = withRoute(1, { transition: { from: '2022-05-01T00:00:00+08:00', until: '2021-11-01T00:00:00+08:00' } });
    expect(lines(t)).toEqual([
      'routes[1].transition.until: "2021-11-01T00:00:00+08:00" is not after transition.from "2022-05-01T00:00:00+08:00"',
    ]);
  });

  it('GIVEN a transition instant without an offset WHEN validated THEN it is rejected (local time would be ambiguous)', () => {
    expect(lines(withRoute(1, { transition: { from: '2021-11-01T00:00:00', until: '2022-05-01T00:00:00+08:00' } }))).toEqual([
      'routes[1].transition.from: "2021-11-01T00:00:00" is not an ISO 8601 time with offset (e.g. 2021-11-01T00:00:00+08:00)',
    ]);
  });

  it('GIVEN a merged line with a transition window but no prompts WHEN validated THEN both missing prompts are named', () => {
    expect(lines(withRoute(1, { prompts: undefined }))).toEqual([
      'routes[1].prompts.transition: a merged line with a transition window needs a transition prompt',
      'routes[1].prompts.cancel: a merged line with a transition window needs a cancellation prompt for after it',
    ]);
  });

  it('GIVEN a prompt id missing from the catalogue WHEN validated THEN it is an unknown prompt', () => {
    expect(lines(withRoute(1, { prompts: { transition: 'transition-nope', cancel: 'cancelled-generic' } }))).toEqual([
      'routes[1].prompts.transition: unknown prompt "transition-nope"',
    ]);
  });

  it('GIVEN a cancelled merged line without a cancellation prompt WHEN validated THEN it is rejected', () => {
    expect(lines(withRoute(1, { transition: undefined, prompts: {} }))).toEqual([
      'routes[1].prompts.cancel: a merged line without a transition window is cancelled: it needs a cancellation prompt',
    ]);
  });

  it('GIVEN a subcenter without a target WHEN validated THEN the target is required', () => {
    expect(lines(withRoute(2, { target: undefined }))).toEqual([
      'routes[2].target: a subcenter line needs a target (its seat group or a dial string)',
    ]);
  });

  it.each([
    ['PJSIP/12366@subcenter-12366&PJSIP/999', 'contains the unsafe character "&"'],
    ['PJSIP/12366@subcenter-12366,30,tT', 'contains the unsafe character ","'],
    ['PJSIP/12366|PJSIP/1', 'contains the unsafe character "|"'],
    ['PJSIP/${EXTEN}', 'contains the unsafe character "$"'],
    ['PJSIP/12366 @x', 'contains the unsafe character " "'],
    ['Local/12366', 'must look like Local/<exten>@<context>'],
    ['DAHDI/g1/12366', 'must look like PJSIP/<resource>[@<endpoint>] (or SIP/, IAX2/, Local/<exten>@<context>)'],
  ])('GIVEN the dial string %s WHEN validated THEN it is refused: %s', (dial, problem) => {
    expect(lines(withRoute(2, { target: { kind: 'dial', dialString: dial } }))).toEqual([
      `routes[2].target.dialString: ${JSON.stringify(dial)} ${problem}`,
    ]);
  });

  it('GIVEN safe dial strings WHEN checked THEN they pass', () => {
    for (const d of ['PJSIP/12366@subcenter-12366', 'PJSIP/agent1001', 'SIP/12366@trunk', 'Local/12366@hotline-test/n', 'IAX2/peer']) {
      expect(dialStringProblem(d)).toBeUndefined();
    }
  });

  it.each([[-1], [101], [2.5], ['5']])('GIVEN priority %s WHEN validated THEN it is rejected as not an integer in 0–100', (p) => {
    expect(lines(withRoute(2, { priority: p }))).toEqual([`routes[2].priority: ${JSON.stringify(p)} is not an integer in 0–100`]);
  });

  it('GIVEN business hours with overlapping windows WHEN validated THEN the overlap names both windows and the day', () => {
    const hours = {
      holidays: 'closed',
      weekly: [
        { days: [1, 2, 3, 4, 5], from: '08:30', to: '12:00' },
        { days: [5], from: '11:00', to: '17:30' },
      ],
    };
    expect(lines(withRoute(2, { businessHours: hours }))).toEqual([
      'routes[2].businessHours.weekly[1]: overlaps routes[2].businessHours.weekly[0] on day 5',
    ]);
  });

  it('GIVEN business hours that are inverted, malformed or on day 8 WHEN validated THEN each is named', () => {
    const hours = {
      holidays: 'sometimes',
      weekly: [
        { days: [1], from: '17:30', to: '08:30' },
        { days: [8], from: '08:00', to: '9:00' },
      ],
    };
    expect(lines(withRoute(2, { businessHours: hours }))).toEqual([
      'routes[2].businessHours.holidays: must be "closed" or "open"',
      'routes[2].businessHours.weekly[0].to: must be after from (17:30); split windows that cross midnight',
      'routes[2].businessHours.weekly[1].days: must list ISO weekdays 1 (Mon) … 7 (Sun)',
      'routes[2].businessHours.weekly[1].to: "9:00" is not a time HH:MM',
    ]);
  });

  it('GIVEN a linkage partner number (110) marked merged WHEN validated THEN it may only be a linkage partner', () => {
    const t = addRoute(linkage({ mode: 'merged', target: undefined, prompts: { cancel: 'cancelled-generic' } }));
    expect(lines(t)).toEqual(['routes[3].numbers[0]: emergency number "110" may only be a linkage partner, not merged']);
  });

  it('GIVEN a linkage line with a transition window WHEN validated THEN linkage lines are never merged', () => {
    const t = addRoute(linkage({ transition: { from: '2021-11-01T00:00:00+08:00', until: '2022-05-01T00:00:00+08:00' } }));
    expect(lines(t)).toEqual(['routes[3].transition: a linkage line is a transfer partner and is never merged']);
  });

  it('GIVEN a proper linkage line WHEN validated THEN it is fine', () => {
    expect(lines(addRoute(linkage()))).toEqual([]);
  });

  it('GIVEN two routes whose overflow targets point at each other WHEN validated THEN the routing loop is reported once', () => {
    const t = table();
    const r = t.routes as unknown as Record<string, unknown>[];
    r[2]!.overflow = { kind: 'route', routeId: 'line-12399' };
    r.push({ ...r[2], id: 'line-12399', numbers: ['12399'], overflow: { kind: 'route', routeId: 'line-12366' } });
    expect(lines(t)).toEqual(['routes[3].overflow.routeId: routing loop: "line-12366" → "line-12399" → "line-12366"']);
  });

  it('GIVEN a target naming an unknown route or the route itself WHEN validated THEN both are rejected', () => {
    expect(lines(withRoute(2, { target: { kind: 'route', routeId: 'nope' } }))).toEqual(['routes[2].target.routeId: unknown route "nope"']);
    expect(lines(withRoute(2, { target: { kind: 'route', routeId: 'line-12366' } }))).toEqual([
      'routes[2].target.routeId: a route cannot send calls to itself',
    ]);
  });

  it('GIVEN known seat groups and skills WHEN a route names others THEN they are unknown', () => {
    const t = withRoute(2, { target: { kind: 'queue', group: 'subcenter-12366' }, skills: ['12366', 'tax-expert'] });
    expect(formatErrors(validateTable(t, { groups: ['general'], skills: ['general', '12366'] }))).toEqual([
      'routes[2].skills[1]: unknown skill "tax-expert"',
      'routes[2].target.group: unknown seat group "subcenter-12366"',
    ]);
  });

  it('GIVEN a parallel line with expert seats but no such seat group WHEN validated with groups THEN the derived group is named', () => {
    const t = addRoute({ id: 'line-12333', numbers: ['12333'], name: '人社', nameEn: 'HR', unit: '市人社局', area: 'city', mode: 'parallel', expertSeats: true });
    expect(formatErrors(validateTable(t, { groups: ['general'] }))).toEqual([
      'routes[3].expertSeats: expert seat group "expert-12333" does not exist (set expertGroup)',
    ]);
  });

  it('GIVEN a parallel line that does not say whether it has expert seats WHEN validated THEN it must', () => {
    const t = addRoute({ id: 'line-12333', numbers: ['12333'], name: '人社', nameEn: 'HR', unit: '市人社局', area: 'city', mode: 'parallel' });
    expect(lines(t)).toEqual(['routes[3].expertSeats: a parallel line must say whether it has expert seats (true/false)']);
  });

  it('GIVEN a table without a 12345 hotline route WHEN validated THEN it is rejected', () => {
    const t = table();
    t.routes.shift();
    expect(lines(t)).toEqual(['routes: the table has no 12345 hotline route for its default area "city"']);
  });

  it('GIVEN a hotline route that does not answer 12345 WHEN validated THEN the table is rejected', () => {
    expect(lines(withRoute(0, { numbers: ['89000'] }))).toEqual(['routes: no hotline route answers the number 12345']);
  });

  it('GIVEN an unknown default flow, area or route area WHEN validated THEN each is named', () => {
    const t = { ...withRoute(2, { area: 'west' }), defaultFlow: 'hotline-xx' };
    expect(lines(t)).toEqual(['defaultFlow: unknown flow "hotline-xx"', 'routes[2].area: unknown area "west"']);
  });

  it('GIVEN area parents that loop WHEN validated THEN the loop is reported', () => {
    const t = table();
    t.areas[0]!.parent = 'east';
    expect(lines(t)).toEqual(['areas[0].parent: area parents loop: city → east → city', 'areas[1].parent: area parents loop: east → city → east']);
  });

  it('GIVEN duplicate route ids WHEN validated THEN the second names the first', () => {
    expect(lines(withRoute(2, { id: 'line-12301' }))).toEqual(['routes[2].id: duplicate route id "line-12301" (also routes[1])']);
  });

  it('GIVEN something that is not a table at all WHEN validated THEN it returns errors and never throws', () => {
    expect(lines(null)).toEqual(['a routing table must be an object']);
    expect(lines({ routes: 'x' })).toEqual(
      expect.arrayContaining(['cityId: must be a lower-case id like "zaozhuang"', 'routes: must be a list of routes']),
    );
    expect(() => validateTable({ routes: [null, 5, { mode: 'merged', transition: 'x', prompts: 7, businessHours: [] }], areas: [1] })).not.toThrow();
  });

  it('GIVEN several problems WHEN validated THEN all are returned together and assertTable throws them all', () => {
    const t = withRoute(1, { numbers: ['1233x'], priority: 500 });
    expect(lines(t)).toHaveLength(2);
    try {
      assertTable(t);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RoutingTableError);
      expect((e as RoutingTableError).errors.map((x) => x.field)).toEqual(['routes[1].numbers[0]', 'routes[1].priority']);
    }
  });
});
