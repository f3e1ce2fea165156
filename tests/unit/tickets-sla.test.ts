import { describe, expect, it } from 'vitest';
import { createWorkCalendar, shanghaiInstant as at } from '../../src/tickets/calendar.js';
import { loadBundledCalendarData } from '../../src/tickets/calendar-source.js';
import type { RequesterKind, TicketCategory, TicketDeadlines } from '../../src/tickets/model.js';
import {
  computeDeadlines,
  loadBundledSlaPolicies,
  parseSlaPolicy,
  dispatchDeadline,
  policyFor,
  resolveSlaPolicy,
  validateSlaPolicy,
  type DeadlineSubject,
  type SlaPolicy,
} from '../../src/tickets/sla.js';
import { DomainDataError } from '../../src/tickets/domain-errors.js';
import { PRESET_CITIES } from '../../src/routing/presets.js';
import { readFileSync } from 'node:fs';

const cal = createWorkCalendar({ data: loadBundledCalendarData() });
const policies = loadBundledSlaPolicies();
const zaozhuang = policies.get('zaozhuang')!;
const yantai = policies.get('yantai')!;
const laishan = policies.get('yantai-laishan')!;
const endOf = (date: string) => at(date, '00:00') + 86_400_000 - 1;

/** Mon 2026-03-09 10:00: an ordinary week, no holiday within three weeks. */
const MON = at('2026-03-09', '10:00');
/** Fri 2026-03-13 10:00: natural days run through the weekend, working days do not. */
const FRI = at('2026-03-13', '10:00');

function subject(o: Partial<DeadlineSubject> & { summary?: string } = {}): DeadlineSubject {
  return {
    category: 'complaint' as TicketCategory,
    requesterKind: 'citizen' as RequesterKind,
    topics: [],
    summary: '反映小区门口道路破损',
    urgency: 'normal',
    receivedAt: MON,
    ...o,
  };
}

function deadlines(p: SlaPolicy, s: DeadlineSubject, from = s.receivedAt): TicketDeadlines {
  const r = computeDeadlines(p, s, cal, { from });
  if (!r.ok) throw new Error(r.error.message);
  return r.deadlines;
}

describe('SLA data', () => {
  it('GIVEN the bundled policies WHEN loaded THEN every preset city (Zaozhuang, Yantai and Laishan, Lu’an, Zhengzhou) has one, valid, and every rule cites a seed file', () => {
    expect([...policies.keys()].sort()).toEqual(['luan', 'yantai', 'yantai-laishan', 'zaozhuang', 'zhengzhou']);
    for (const city of PRESET_CITIES) expect([city, policyFor(policies.values(), city)?.cityId]).toEqual([city, city]);
    for (const p of policies.values()) {
      expect(validateSlaPolicy(p)).toEqual([]);
      for (const r of p.rules) expect([r.id, r.source.file]).toEqual([r.id, expect.stringMatching(/^00[0-4]_[0-9a-f]{16}\.txt$/)]);
    }
  });

  it('GIVEN a city and area WHEN picking the policy THEN a district policy wins for its district, else the city one', () => {
    expect(policyFor(policies.values(), 'yantai', 'laishan')?.id).toBe('yantai-laishan');
    expect(policyFor(policies.values(), 'yantai', 'zhifu')?.id).toBe('yantai');
    expect(policyFor(policies.values(), 'yantai')?.id).toBe('yantai');
    expect(policyFor(policies.values(), 'luan')?.id).toBe('luan');
    expect(policyFor(policies.values(), 'beijing')).toBeUndefined();
  });

  it('GIVEN a city without a policy of its own WHEN resolving without TICKET_SLA_POLICY THEN a one-line error names the variable; WITH it THEN the named policy; a wrong name is refused', () => {
    const withoutLuan = new Map([...policies].filter(([id]) => id !== 'luan'));
    const r = resolveSlaPolicy(withoutLuan, 'luan', undefined, '');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toMatch(/^configuration error: TICKET_SLA_POLICY must name an SLA policy: city "luan" has none of its own/);
      expect(r.message).not.toContain('\n');
    }
    expect(resolveSlaPolicy(withoutLuan, 'luan', undefined, 'zaozhuang')).toMatchObject({ ok: true, policy: { id: 'zaozhuang' } });
    expect(resolveSlaPolicy(policies, 'luan', undefined, 'nowhere')).toMatchObject({ ok: false, message: expect.stringMatching(/^configuration error: TICKET_SLA_POLICY "nowhere" is not one of /) });
    expect(resolveSlaPolicy(policies, 'yantai', 'laishan', '')).toMatchObject({ ok: true, policy: { id: 'yantai-laishan' } });
    expect(resolveSlaPolicy(policies, 'luan', undefined, '')).toMatchObject({ ok: true, policy: { id: 'luan' } });
  });

  it('GIVEN a broken policy WHEN validating THEN each error names its field', () => {
    const bad = structuredClone(zaozhuang) as unknown as { rules: Record<string, unknown>[]; extension: Record<string, unknown> };
    bad.rules[0]!.finish = { unit: 'weeks', amount: 2 };
    bad.rules[1]!.source = { file: 'somewhere', section: '' };
    bad.extension.maxWorkingDays = -1;
    const fields = validateSlaPolicy(bad).map((e) => e.field);
    expect(fields).toEqual(['rules[0].finish.unit', 'rules[1].source.file', 'rules[1].source.section', 'extension.maxWorkingDays']);
    expect(() => parseSlaPolicy(bad)).toThrow(DomainDataError);
  });

  it('GIVEN a policy with no rule for enterprises WHEN validating THEN the missing catch-all is reported', () => {
    const p = structuredClone(zaozhuang);
    p.rules = p.rules.filter((r) => r.id !== 'zaozhuang-enterprise');
    expect(validateSlaPolicy(p).map((e) => e.message)).toEqual(['rules: no catch-all finish rule for requester kind "enterprise"']);
  });
});

describe('Zaozhuang (seed 000 二、（三）11)', () => {
  it('GIVEN a citizen ticket dispatched Mon 10:00 WHEN computing THEN finish by the end of the 5th working day, no reply clock, not urgent', () => {
    const d = deadlines(zaozhuang, subject());
    expect(d.finishBy).toBe(endOf('2026-03-16'));
    expect(d.replyBy).toBeUndefined();
    expect(d.urgent).toBe(false);
    expect(d.ruleIds).toEqual({ finish: 'zaozhuang-citizen' });
  });

  it('GIVEN an enterprise ticket WHEN computing THEN 10 working days', () => {
    expect(deadlines(zaozhuang, subject({ requesterKind: 'enterprise' })).finishBy).toBe(endOf('2026-03-23'));
  });

  it('GIVEN a citizen ticket WHEN computing reminders THEN at 50% and 80% of the working time and at the start of the last working day', () => {
    // Working time Mon 10:00 → end of Mon 03-16 = 14 h + 4 × 24 h + 24 h = 134 h.
    expect(deadlines(zaozhuang, subject()).remindAt).toEqual([at('2026-03-12', '05:00'), at('2026-03-13', '21:12'), at('2026-03-16', '00:00')]);
  });

  it('GIVEN the agent marked the ticket urgent WHEN computing THEN it is urgent whatever the rule', () => {
    expect(deadlines(zaozhuang, subject({ urgency: 'urgent' })).urgent).toBe(true);
  });

  it('GIVEN dispatch before the Spring Festival WHEN computing THEN the holiday does not count and the make-up Saturday does', () => {
    const d = deadlines(zaozhuang, subject({ receivedAt: at('2026-02-13', '10:00') }));
    expect(d.finishBy).toBe(endOf('2026-02-27'));
    // No reminder falls inside the holiday: 80% of working time lands on a working day.
    for (const r of d.remindAt) expect(cal.isWorkingDay(r)).toBe(true);
  });
});

describe('Yantai (seed 001 二、（三）11 ①–⑥)', () => {
  it('GIVEN ① a citizen and ② an enterprise ticket WHEN computing THEN 5 and 15 working days', () => {
    expect(deadlines(yantai, subject()).finishBy).toBe(endOf('2026-03-16'));
    expect(deadlines(yantai, subject({ requesterKind: 'enterprise' })).finishBy).toBe(endOf('2026-03-30'));
  });

  it('GIVEN ③ a water outage in the summary WHEN computing THEN reply within 30 minutes, finish in 3 working days, urgent', () => {
    const d = deadlines(yantai, subject({ category: 'help', summary: '小区突然停水，已经一天了' }));
    expect(d.replyBy).toBe(at('2026-03-09', '10:30'));
    expect(d.finishBy).toBe(endOf('2026-03-12'));
    expect(d.urgent).toBe(true);
    expect(d.ruleIds).toEqual({ reply: 'yantai-utility-outage', finish: 'yantai-utility-outage' });
  });

  it('GIVEN ③ a heating outage tagged by topic only WHEN computing THEN the same rule applies, also for an enterprise', () => {
    const d = deadlines(yantai, subject({ requesterKind: 'enterprise', topics: ['utility-outage'], summary: '厂区暖气不热' }));
    expect(d.ruleIds.finish).toBe('yantai-utility-outage');
  });

  it('GIVEN ④ an epidemic consultation and another epidemic ticket WHEN computing THEN 1 hour and 3 natural days', () => {
    const consult = deadlines(yantai, subject({ category: 'consult', summary: '咨询新冠疫苗接种地点' }));
    expect(consult.finishBy).toBe(at('2026-03-09', '11:00'));
    expect(consult.remindAt).toEqual([at('2026-03-09', '10:30'), at('2026-03-09', '10:48')]);
    expect(deadlines(yantai, subject({ summary: '反映疫情防控点排队', receivedAt: FRI })).finishBy).toBe(endOf('2026-03-16'));
  });

  it('GIVEN ⑤ a safety hazard received Friday WHEN computing THEN 3 natural days (Monday), not 3 working days, and urgent', () => {
    const d = deadlines(yantai, subject({ summary: '楼道堆放杂物存在安全隐患', receivedAt: FRI }));
    expect(d.finishBy).toBe(endOf('2026-03-16'));
    expect(d.replyBy).toBeUndefined();
    expect(d.urgent).toBe(true);
    // Natural clock: 86 h from Fri 10:00 to the end of Mon; 50% / 1 day before / 80%.
    expect(d.remindAt).toEqual([at('2026-03-15', '05:00'), at('2026-03-16', '00:00'), at('2026-03-16', '06:48')]);
  });

  it('GIVEN ⑤ a gas-station safety hazard WHEN computing THEN reply the same day (当天) and finish in 3 natural days', () => {
    const d = deadlines(yantai, subject({ summary: '加油站旁违规施工，存在安全隐患', receivedAt: FRI }));
    expect(d.replyBy).toBe(endOf('2026-03-13'));
    expect(d.finishBy).toBe(endOf('2026-03-16'));
    expect(d.ruleIds).toEqual({ reply: 'yantai-safety-hazard-critical', finish: 'yantai-safety-hazard' });
  });

  it('GIVEN a gas word without a safety hazard WHEN computing THEN the critical rule does not fire', () => {
    const d = deadlines(yantai, subject({ summary: '咨询燃气费缴纳方式', category: 'consult' }));
    expect(d.ruleIds).toEqual({ finish: 'yantai-citizen' });
  });

  it('GIVEN ⑥ night construction noise WHEN computing THEN the reply is due at once and the finish in 3 working days', () => {
    const d = deadlines(yantai, subject({ summary: '工地夜间施工噪音扰民', receivedAt: at('2026-03-09', '23:10') }));
    expect(d.replyBy).toBe(at('2026-03-09', '23:10'));
    expect(d.finishBy).toBe(endOf('2026-03-12'));
    expect(d.urgent).toBe(true);
  });

  it('GIVEN the clock starts at dispatch WHEN dispatch is later than receipt THEN deadlines run from dispatch', () => {
    const d = deadlines(yantai, subject({ receivedAt: at('2026-03-06', '20:00') }), MON);
    expect(d.startedAt).toBe(MON);
    expect(d.finishBy).toBe(endOf('2026-03-16'));
  });
});

describe('Laishan district (seed 003 一)', () => {
  it('GIVEN an ordinary ticket WHEN computing THEN 3 working days', () => {
    expect(deadlines(laishan, subject({ receivedAt: FRI })).finishBy).toBe(endOf('2026-03-18'));
  });

  it('GIVEN an enterprise request WHEN computing THEN reply in 2 and finish in 13 working days', () => {
    const d = deadlines(laishan, subject({ requesterKind: 'enterprise' }));
    expect(d.replyBy).toBe(endOf('2026-03-11'));
    expect(d.finishBy).toBe(endOf('2026-03-26'));
  });

  it('GIVEN a work order from the city 政企通 platform (一、（二）1) WHEN computing THEN 3 working days, no reply clock — also for an enterprise', () => {
    for (const requesterKind of ['enterprise', 'citizen'] as const) {
      const d = deadlines(laishan, subject({ requesterKind, origin: 'zhengqitong', receivedAt: FRI }));
      expect([requesterKind, d.finishBy, d.replyBy, d.ruleIds]).toEqual([requesterKind, endOf('2026-03-18'), undefined, { finish: 'laishan-zhengqitong' }]);
    }
  });

  it('GIVEN a work order from the provincial 接诉即办 platform (一、（二）2) WHEN computing THEN reply in 2 and finish in 13 working days', () => {
    const d = deadlines(laishan, subject({ origin: 'jiesujiban' }));
    expect([d.replyBy, d.finishBy, d.ruleIds]).toEqual([endOf('2026-03-11'), endOf('2026-03-26'), { reply: 'laishan-jiesujiban', finish: 'laishan-jiesujiban' }]);
  });

  it('GIVEN an enterprise’s work order from the national, provincial or city platform (一、（一）) WHEN computing THEN 3 working days', () => {
    for (const origin of ['national', 'provincial', 'city'] as const) {
      expect([origin, deadlines(laishan, subject({ requesterKind: 'enterprise', origin })).ruleIds]).toEqual([origin, { finish: 'laishan-default' }]);
    }
  });

  it('GIVEN the 89000 centre’s same-day dispatch (二、（一） 当天交办) WHEN receiving at 10:00 or 23:30 THEN dispatch is due by the end of that day; other cities have no dispatch clock', () => {
    expect(laishan.dispatch?.clock).toEqual({ unit: 'natural-days', amount: 0 });
    expect(dispatchDeadline(laishan, at('2026-03-13', '10:00'), cal)).toBe(endOf('2026-03-13'));
    expect(dispatchDeadline(laishan, at('2026-02-16', '23:30'), cal)).toBe(endOf('2026-02-16')); // a holiday: 当天 is still that day
    expect(dispatchDeadline(zaozhuang, MON, cal)).toBeUndefined();
  });

  it('GIVEN a policy consultation WHEN computing THEN reply within 1 day (24 h) and finish in 3 working days', () => {
    const d = deadlines(laishan, subject({ category: 'consult', summary: '咨询人才购房补贴政策' }));
    expect(d.replyBy).toBe(at('2026-03-10', '10:00'));
    expect(d.finishBy).toBe(endOf('2026-03-12'));
    expect(d.urgent).toBe(false);
  });

  it('GIVEN a livelihood emergency WHEN computing THEN reply within 1 day and urgent', () => {
    const d = deadlines(laishan, subject({ summary: '整栋楼停电' }));
    expect(d.replyBy).toBe(at('2026-03-10', '10:00'));
    expect(d.urgent).toBe(true);
  });

  it('GIVEN the policy WHEN reading extension, planned and return rules THEN 10 working days with consent, 90 days, 1 working day and review at the 2nd return', () => {
    expect(laishan.extension).toMatchObject({ maxWorkingDays: 10, requiresConsent: true });
    expect(laishan.planned?.maxNaturalDays).toBe(90);
    expect(laishan.returnWindow).toMatchObject({ workingDays: 1, reviewAfterReturns: 2 });
    expect(zaozhuang.planned).toBeNull();
  });
});

describe('Lu’an and Zhengzhou (seeds 002 and 004: time limits required, no figures)', () => {
  const luan = policies.get('luan')!;
  const zhengzhou = policies.get('zhengzhou')!;
  const SEEDS = new URL('../../../shared/seeds/', import.meta.url);

  it('GIVEN each policy WHEN reading it THEN it is its city’s, says its figures are provisional, and every quote is in its seed', () => {
    for (const [p, file] of [[luan, '002_ce4a1759720ecb53.txt'], [zhengzhou, '004_2f140f799f51aa2e.txt']] as const) {
      expect(p.cityId).toBe(p.id);
      expect(p.provisional).toMatch(/sets no figures/);
      const seed = readFileSync(new URL(file, SEEDS), 'utf8');
      for (const src of [...p.rules.map((r) => r.source), p.extension.source, p.returnWindow.source]) {
        expect(src.file).toBe(file);
        expect([p.id, seed.includes(src.quote!)]).toEqual([p.id, true]);
      }
    }
  });

  it('GIVEN a citizen and an enterprise ticket dispatched Mon 2026-03-09 WHEN computing THEN 5 and 10 working days in both cities', () => {
    for (const p of [luan, zhengzhou]) {
      expect([p.id, deadlines(p, subject()).finishBy]).toEqual([p.id, endOf('2026-03-16')]);
      expect([p.id, deadlines(p, subject({ requesterKind: 'enterprise' })).finishBy]).toEqual([p.id, endOf('2026-03-23')]);
      expect(p.extension).toMatchObject({ maxWorkingDays: 10, requiresConsent: true });
      expect(p.returnWindow).toMatchObject({ workingDays: 1, reviewAfterReturns: 2 });
      expect(p.dispatch).toBeUndefined();
    }
  });

  it('GIVEN a policy with a bad dispatch clock, origin or provisional note WHEN validating THEN each error names its field', () => {
    const bad = structuredClone(laishan) as unknown as Record<string, unknown> & { rules: { match: Record<string, unknown> }[] };
    bad.dispatch = { clock: { unit: 'fortnights', amount: 1 }, source: { file: '003_23101ec43311ca27.txt', section: 'x' } };
    bad.rules[0]!.match.origins = ['wechat'];
    bad.provisional = ' ';
    expect(validateSlaPolicy(bad).map((e) => e.field)).toEqual(['rules[0].match.origins[0]', 'dispatch.clock.unit', 'provisional']);
  });
});

describe('computeDeadlines without a matching finish rule', () => {
  it('GIVEN a policy whose only rule is for citizens WHEN an enterprise ticket comes THEN an error names the field', () => {
    const p: SlaPolicy = { ...zaozhuang, rules: zaozhuang.rules.filter((r) => r.id === 'zaozhuang-citizen') };
    const r = computeDeadlines(p, subject({ requesterKind: 'enterprise' }), cal);
    expect(r).toMatchObject({ ok: false, error: { code: 'no-deadline-rule', field: 'requesterKind' } });
  });
});
