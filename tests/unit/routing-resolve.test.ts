/**
 * The resolver per mode, on the seeds' presets: what a caller of each kind of
 * line experiences (announcements, 12345 with a skill, a target, or release).
 */
import { describe, expect, it } from 'vitest';
import type { RouteDecision as SessionRouteDecision } from '../../src/calls/ports.js';
import type { LineRoute, RoutingTable, SubcenterRoute } from '../../src/routing/model.js';
import { loadPreset, type PresetCity } from '../../src/routing/presets.js';
import { handoffTarget, isOpen, resolveCall, type CallQuery, type RouteDecision } from '../../src/routing/resolve.js';
import { formatErrors, validateTable } from '../../src/routing/validate.js';

const presets = new Map<PresetCity, RoutingTable>();
const preset = (c: PresetCity): RoutingTable => {
  if (!presets.has(c)) presets.set(c, loadPreset(c));
  return presets.get(c)!;
};
const at = (iso: string): Date => new Date(iso);
const dial = (t: RoutingTable, dialed: string, q: Partial<CallQuery> = {}): RouteDecision =>
  resolveCall(t, { dialed, source: 'carrier', at: at('2022-01-15T10:00:00+08:00'), ...q });

function expectHotline(d: RouteDecision): Extract<RouteDecision, { action: 'hotline' }> {
  expect(d.action, d.why.join('\n')).toBe('hotline');
  return d as Extract<RouteDecision, { action: 'hotline' }>;
}
function expectTarget(d: RouteDecision): Extract<RouteDecision, { action: 'target' }> {
  expect(d.action, d.why.join('\n')).toBe('target');
  return d as Extract<RouteDecision, { action: 'target' }>;
}

/** A copy of a preset with `edit` applied to one route (found by number). */
function edited(city: PresetCity, number: string, edit: (r: LineRoute) => void): RoutingTable {
  const t = structuredClone(preset(city)) as RoutingTable;
  edit(t.routes.find((r) => r.numbers.includes(number))!);
  expect(formatErrors(validateTable(t))).toEqual([]);
  return t;
}

describe('resolveCall — parallel (双号并行)', () => {
  it('GIVEN Zaozhuang WHEN a caller dials 12333 THEN they go into the 12345 flow tagged with skill 12333', () => {
    const d = expectHotline(dial(preset('zaozhuang'), '12333'));
    expect(d).toMatchObject({
      routeId: 'line-12333',
      skill: '12333',
      priority: 0,
      expertFirst: false,
      flowId: 'hotline-zh',
      announce: ['parallel-generic'],
      line: { id: 'line-12333', number: '12333', name: '人力资源和社会保障服务电话', unit: '市人力资源社会保障局', mode: 'parallel' },
    });
    expect(d.why.join('\n')).toContain('skill 12333');
  });

  it('GIVEN Lu’an 12329 with expert seats WHEN dialed THEN the expert group expert-12329 is tried first', () => {
    const d = expectHotline(dial(preset('luan'), '12329'));
    expect(d).toMatchObject({ skill: '12329', expertFirst: true, expertGroup: 'expert-12329' });
  });

  it('GIVEN expert seats open only on weekdays 08:30–17:30 WHEN dialed on Sunday or on a holiday THEN general seats take the call', () => {
    const t = edited('luan', '12329', (r) => {
      r.businessHours = { holidays: 'closed', weekly: [{ days: [1, 2, 3, 4, 5], from: '08:30', to: '17:30' }] };
    });
    expect(expectHotline(dial(t, '12329', { at: at('2022-01-17T09:00:00+08:00') })).expertFirst).toBe(true); // Monday
    const sunday = expectHotline(dial(t, '12329', { at: at('2022-01-16T09:00:00+08:00') }));
    expect(sunday).toMatchObject({ expertFirst: false, skill: '12329' });
    expect(sunday.why).toContain('expert seats closed at this time: general seats');
    const holiday = expectHotline(dial(t, '12329', { at: at('2022-01-31T09:00:00+08:00'), isHoliday: () => true }));
    expect(holiday.expertFirst).toBe(false);
  });
});

describe('resolveCall — merged (整体并入)', () => {
  const yantai = (): RoutingTable => preset('yantai');

  it('GIVEN a Yantai line in its transition window WHEN dialed THEN the transition prompt plays and the call enters 12345 with the line skill', () => {
    const d = expectHotline(dial(yantai(), '12317', { at: at('2022-01-15T10:00:00+08:00') }));
    expect(d).toMatchObject({ announce: ['transition-generic'], skill: '12317', routeId: 'line-12317', line: { mode: 'merged', unit: '市扶贫办' } });
  });

  it('GIVEN the same Yantai line after its window WHEN dialed THEN the cancellation notice plays, then 12345', () => {
    const d = expectHotline(dial(yantai(), '12317', { at: at('2022-06-01T10:00:00+08:00') }));
    expect(d).toMatchObject({ announce: ['cancelled-generic'], skill: '12317' });
    expect(d.why).toContain('transition ended 2022-05-01T00:00:00+08:00: number cancelled');
  });

  it('GIVEN the window end instant exactly WHEN dialed THEN the number counts as cancelled (the window is half-open)', () => {
    expect(dial(yantai(), '12317', { at: at('2022-05-01T00:00:00+08:00') }).announce).toEqual(['cancelled-generic']);
    expect(dial(yantai(), '12317', { at: at('2022-04-30T23:59:59+08:00') }).announce).toEqual(['transition-generic']);
  });

  it('GIVEN a time before the window starts WHEN dialed THEN the caller still hears the transition prompt (never a cancelled notice early)', () => {
    const d = dial(yantai(), '12385', { at: at('2021-10-01T10:00:00+08:00') });
    expect(d.announce).toEqual(['transition-generic']);
  });

  it('GIVEN Yantai 12322 (withdrawn, own notice) WHEN dialed THEN its specific cancellation prompt plays', () => {
    expect(dial(yantai(), '12322').announce).toEqual(['cancelled-12322']);
  });

  it('GIVEN a cancelled line set to release WHEN dialed THEN the caller hears the notice and is released', () => {
    const t = edited('yantai', '12356', (r) => {
      (r as Extract<LineRoute, { mode: 'merged' }>).afterCancel = 'release';
    });
    const d = dial(t, '12356');
    expect(d).toMatchObject({ action: 'release', announce: ['cancelled-generic'], routeId: 'line-12356' });
  });

  it('GIVEN Zhengzhou 12348 (merged, number kept, expert seat) WHEN dialed at any time THEN 12345 with the legal expert group first, no cancellation', () => {
    const d = expectHotline(dial(preset('zhengzhou'), '12348', { at: at('2030-01-01T10:00:00+08:00') }));
    expect(d).toMatchObject({ skill: '12348', expertFirst: true, expertGroup: 'expert-12348', announce: ['parallel-generic'] });
  });

  it('GIVEN Yantai 6781999 (foreigners, remote expert seat) WHEN dialed THEN english skill with group expert-6781999 after the notice', () => {
    const d = expectHotline(dial(yantai(), '6781999'));
    expect(d).toMatchObject({ skill: 'english', expertGroup: 'expert-6781999', announce: ['cancelled-generic'] });
  });

  it('GIVEN a Zhengzhou local number dialed with its long-distance code WHEN resolved THEN the code is stripped and the line found', () => {
    const d = expectHotline(dial(preset('zhengzhou'), '0371-67175706'));
    expect(d).toMatchObject({ routeId: 'line-67175706', line: { number: '67175706', name: '文物稽查举报电话' } });
  });
});

describe('resolveCall — sub-centers, sub-platforms and transfer lines', () => {
  it('GIVEN Zhengzhou WHEN a caller dials 12366 THEN the call goes to the tax sub-center target', () => {
    const d = expectTarget(dial(preset('zhengzhou'), '12366'));
    expect(d).toMatchObject({
      routeId: 'line-12366',
      target: 'PJSIP/12366@subcenter-12366',
      targetSpec: { kind: 'dial', dialString: 'PJSIP/12366@subcenter-12366' },
      announce: [],
      line: { mode: 'subcenter', unit: '郑州市税务局' },
    });
  });

  it('GIVEN Zhengzhou medical insurance (12393/68064000) WHEN the alias is dialed THEN its sub-platform target, naming the alias dialed', () => {
    const d = expectTarget(dial(preset('zhengzhou'), '68064000'));
    expect(d).toMatchObject({ routeId: 'line-12393', target: 'PJSIP/12393@subplatform-12393', line: { number: '68064000', mode: 'subplatform' } });
  });

  it('GIVEN Zaozhuang 12366 (sub-center seats inside 12345) WHEN dialed THEN the dedicated seat group', () => {
    expect(expectTarget(dial(preset('zaozhuang'), '12366'))).toMatchObject({ target: 'queue:subcenter-12366', targetSpec: { kind: 'queue', group: 'subcenter-12366' } });
  });

  it('GIVEN Lu’an 12333 (keeps its own seats and system) WHEN dialed THEN the transfer prompt then its own platform', () => {
    expect(expectTarget(dial(preset('luan'), '12333'))).toMatchObject({ target: 'PJSIP/12333@transfer-12333', announce: ['transfer-12333'], line: { mode: 'transfer' } });
  });

  it('GIVEN a sub-center closed at night WHEN dialed THEN its closed prompt, then 12345 with its skill (12345 answers 7×24)', () => {
    const t = edited('zhengzhou', '12366', (r) => {
      r.businessHours = { holidays: 'closed', weekly: [{ days: [1, 2, 3, 4, 5], from: '09:00', to: '17:00' }] };
      r.prompts = { closed: 'out-of-scope' };
    });
    const d = expectHotline(dial(t, '12366', { at: at('2022-01-17T22:00:00+08:00') }));
    expect(d).toMatchObject({ skill: '12366', announce: ['out-of-scope'], line: { mode: 'subcenter' } });
  });

  it('GIVEN a closed sub-center with an overflow to another route WHEN dialed THEN the overflow route decides', () => {
    const t = edited('zhengzhou', '12366', (r) => {
      r.businessHours = { holidays: 'closed', weekly: [{ days: [1, 2, 3, 4, 5], from: '09:00', to: '17:00' }] };
      r.overflow = { kind: 'route', routeId: 'line-12313' };
    });
    const d = expectTarget(dial(t, '12366', { at: at('2022-01-16T10:00:00+08:00') }));
    expect(d).toMatchObject({ target: 'PJSIP/12313@subcenter-12313', routeId: 'line-12313' });
    expect(d.why.join('\n')).toContain('line-12366 → route line-12313');
  });

  it('GIVEN an agent hand-off WHEN asking for 12366 or a linkage partner THEN the target comes from the table', () => {
    expect(handoffTarget(preset('zhengzhou'), '12366')?.target).toEqual({ kind: 'dial', dialString: 'PJSIP/12366@subcenter-12366' });
    expect(handoffTarget(preset('zhengzhou'), 'linkage-119')?.target).toEqual({ kind: 'dial', dialString: 'PJSIP/119@linkage-119' });
    expect(handoffTarget(preset('zhengzhou'), '12349')).toBeUndefined();
  });
});

describe('resolveCall — 12345, unknown numbers and linkage', () => {
  it('GIVEN Zaozhuang WHEN 12345 is dialed THEN the 12345 flow with general skill and no legacy line', () => {
    const d = expectHotline(dial(preset('zaozhuang'), '12345'));
    expect(d).toMatchObject({ routeId: 'hotline', skill: 'general', flowId: 'hotline-zh', announce: [], expertFirst: false, record: true });
    expect(d.line).toBeUndefined();
  });

  it('GIVEN a number not in the table WHEN dialed THEN the caller is never dropped: 12345 flow, explained', () => {
    const d = expectHotline(dial(preset('zaozhuang'), '12396'));
    expect(d.routeId).toBe('hotline');
    expect(d.why).toContain('12396 is not in the table: 12345 flow');
  });

  it('GIVEN a 110 hand-over into 12345 WHEN resolved THEN it is boosted to the linkage priority and names the partner', () => {
    const d = expectHotline(dial(preset('luan'), '12345', { source: 'linkage', from: '110' }));
    expect(d).toMatchObject({ priority: 10, line: { id: 'linkage-110', number: '110', mode: 'linkage', unit: '市公安局' } });
  });

  it('GIVEN a linkage partner calling a line that would release WHEN resolved THEN it is not released but boosted into 12345', () => {
    const t = edited('yantai', '12356', (r) => {
      (r as Extract<LineRoute, { mode: 'merged' }>).afterCancel = 'release';
    });
    const d = expectHotline(dial(t, '12356', { source: 'linkage', from: '119' }));
    expect(d).toMatchObject({ priority: 10, skill: '12356', announce: ['cancelled-generic'] });
    expect(d.why).toContain('a linkage hand-over is never released: 12345 flow');
  });

  it('GIVEN 110 reaching the hotline PBX WHEN resolved THEN it goes straight to the police linkage trunk', () => {
    expect(expectTarget(dial(preset('zaozhuang'), '110'))).toMatchObject({ target: 'PJSIP/110@linkage-110', line: { mode: 'linkage' } });
  });
});

describe('resolveCall — areas', () => {
  /** Zhengzhou plus the district 新密 with its own 12366 (a district tax desk), for the same short code in two areas. */
  function twoAreas(): RoutingTable {
    const t = structuredClone(preset('zhengzhou')) as RoutingTable;
    t.areas.push({ id: 'xinmi', name: '新密市', nameEn: 'Xinmi', code: '410183', parent: 'zhengzhou' });
    t.routes.push({
      id: 'xinmi-12366',
      numbers: ['12366'],
      name: '新密纳税服务热线',
      nameEn: 'Xinmi tax line',
      unit: '国家税务总局新密市税务局',
      area: 'xinmi',
      mode: 'subcenter',
      target: { kind: 'queue', group: 'subcenter-xinmi-12366' },
    });
    expect(formatErrors(validateTable(t))).toEqual([]);
    return t;
  }

  it('GIVEN 12366 in two areas WHEN dialed from each area THEN two different routes decide', () => {
    const t = twoAreas();
    const city = expectTarget(dial(t, '12366', { area: 'zhengzhou' }));
    const district = expectTarget(dial(t, '12366', { area: 'xinmi' }));
    expect([city.routeId, city.target]).toEqual(['line-12366', 'PJSIP/12366@subcenter-12366']);
    expect([district.routeId, district.target]).toEqual(['xinmi-12366', 'queue:subcenter-xinmi-12366']);
  });

  it('GIVEN a district without its own 12333 WHEN dialed there THEN the city’s route applies', () => {
    expect(expectTarget(dial(twoAreas(), '12333', { area: 'xinmi' })).routeId).toBe('line-12333');
  });

  it('GIVEN an unknown area WHEN dialed THEN the default area decides and why says so', () => {
    const d = dial(twoAreas(), '12366', { area: 'atlantis' });
    expect(d.routeId).toBe('line-12366');
    expect(d.why[0]).toBe('area atlantis unknown: default area zhengzhou');
  });
});

describe('resolveCall — robustness and contract', () => {
  it('GIVEN an unvalidated table whose routes loop WHEN resolved THEN it ends in 12345 instead of spinning or throwing', () => {
    const t = structuredClone(preset('zhengzhou')) as RoutingTable;
    const a = t.routes.find((r) => r.id === 'line-12366') as SubcenterRoute;
    const b = t.routes.find((r) => r.id === 'line-12313') as SubcenterRoute;
    a.target = { kind: 'route', routeId: 'line-12313' };
    b.target = { kind: 'route', routeId: 'line-12366' };
    expect(validateTable(t).length).toBeGreaterThan(0);
    const d = expectHotline(dial(t, '12366'));
    expect(d.why.join('\n')).toContain('loops');
  });

  it('GIVEN a table without any hotline route WHEN an unknown number is dialed THEN the default flow still answers', () => {
    const t = structuredClone(preset('zaozhuang')) as RoutingTable;
    t.routes = t.routes.filter((r) => r.mode !== 'hotline');
    expect(expectHotline(dial(t, '99999'))).toMatchObject({ routeId: 'zaozhuang:12345', flowId: 'hotline-zh', skill: 'general' });
  });

  it('GIVEN the same inputs twice WHEN resolved THEN the decisions are equal and carry the table version', () => {
    const t = { ...preset('yantai'), version: 7 };
    expect(dial(t, '12301')).toEqual(dial(t, '12301'));
    expect(dial(t, '12301').tableVersion).toBe(7);
  });

  it('GIVEN a decision WHEN handed to the call session THEN it fits the session’s RouteDecision port', () => {
    const d: SessionRouteDecision = dial(preset('zhengzhou'), '12366');
    expect(d.action).toBe('target');
  });

  it('GIVEN business hours in China time WHEN checked at a UTC instant THEN the local weekday and time are used', () => {
    const hours = { holidays: 'closed' as const, weekly: [{ days: [1], from: '00:00', to: '01:00' }] };
    // 2022-01-16T16:30Z is Monday 00:30 in UTC+8 but Sunday in UTC.
    expect(isOpen(hours, at('2022-01-16T16:30:00Z'), 480)).toBe(true);
    expect(isOpen(hours, at('2022-01-16T16:30:00Z'), 0)).toBe(false);
    expect(isOpen(undefined, at('2022-01-16T16:30:00Z'), 480)).toBe(true);
  });
});
