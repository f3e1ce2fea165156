/**
 * The city presets against the seeds: every preset validates against the real
 * prompt catalogue and IVR flows, the merge-list rows are all there (counts per
 * section as in the seed tables), and spot values match the seed text.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/ivr/catalogue.js';
import { buildDefaultFlows } from '../../src/ivr/default-flow.js';
import { listedRoutes, type LineRoute, type RoutingTable } from '../../src/routing/model.js';
import { loadPreset, PRESET_CITIES, type PresetCity } from '../../src/routing/presets.js';
import { formatErrors, validateTable } from '../../src/routing/validate.js';
import { validateSeatFile } from '../../src/acd/model.js';

const catalogue = loadCatalogue();
const flows = Object.keys(buildDefaultFlows());
const SEEDS_DIR = new URL('../../../shared/seeds/', import.meta.url);

const preset = (c: PresetCity): RoutingTable => loadPreset(c, { prompts: catalogue, flows });
const byNumber = (t: RoutingTable, n: string): LineRoute => {
  const r = t.routes.find((x) => x.numbers.includes(n));
  if (!r) throw new Error(`no route for ${n} in ${t.cityId}`);
  return r;
};
/** Listed rows per seed section, keyed by the section's last part (一、整体并入 …). */
function sectionCounts(t: RoutingTable): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of listedRoutes(t)) {
    const key = r.source!.section.split(' / ').pop()!;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
function seatGroups(city: string): string[] {
  const data = JSON.parse(readFileSync(new URL(`../../data/seats/${city}.json`, import.meta.url), 'utf8')) as { groups: { id: string }[] };
  return data.groups.map((g) => g.id);
}

/** The rows of a seed's merge-list section whose text says 设专家座席/坐席 (expert seats), by number. */
function expertRowsOfSeed(file: string, section: RegExp, next: RegExp): string[] {
  const text = readFileSync(new URL(file, SEEDS_DIR), 'utf8');
  const start = text.search(section);
  const rest = text.slice(start + 1);
  const body = rest.slice(0, rest.search(next));
  // A row starts with its number in the list: "1 12348 …" (Yantai) or "1\n 名称\n 12333 …" (Lu’an).
  const rows = body.split(/\n\s*(?=\d{1,2}\s+(?:\d{5,8}|[^\d\s]))/);
  return rows.filter((r) => /设专家[座坐]席/.test(r)).map((r) => r.match(/\b(1\d{4}|\d{7,8})\b/)?.[1] ?? '').filter(Boolean);
}

describe('presets checked against the seeds (issue 16)', () => {
  it('GIVEN Yantai’s 二、双号并行 table WHEN a row’s 国家归并要求 says 设专家座席 THEN the preset route has expert seats (12329 included, whatever the city column repeats)', () => {
    const rows = expertRowsOfSeed('001_534a8183914b52ac.txt', /二、双号并行\s*\n\s*序号/, /三、/);
    expect(rows).toEqual(['12348', '12333', '12329']);
    const t = preset('yantai');
    for (const n of rows) expect([n, (byNumber(t, n) as { expertSeats?: boolean }).expertSeats]).toEqual([n, true]);
  });

  it('GIVEN Lu’an’s 二、双号并行 table WHEN a row says 设专家坐席 THEN the preset route has expert seats, and 12333 (保留话务座席、电话转接机制) goes to its own system, not to a seat group of ours', () => {
    const rows = expertRowsOfSeed('002_ce4a1759720ecb53.txt', /\t二、双号并行/, /\t三、/);
    expect(rows).toEqual(['12333', '12329', '12320']);
    const t = preset('luan');
    for (const n of rows) expect([n, (byNumber(t, n) as { expertSeats?: boolean }).expertSeats]).toEqual([n, true]);
    const seed = readFileSync(new URL('002_ce4a1759720ecb53.txt', SEEDS_DIR), 'utf8');
    expect(seed).toContain('12333人社热线因系统等原因不具备归并条件，保留话务座席，与12345热线建立电话转接机制');
    const r12333 = byNumber(t, '12333') as { mode: string; target: { kind: string } };
    expect([r12333.mode, r12333.target.kind]).toEqual(['transfer', 'dial']);
    // Its expert seats exist as a group of the Lu’an seats; no seat group of ours stands for 12333's own seats.
    expect(seatGroups('luan')).toContain('expert-12333');
    expect(seatGroups('luan')).not.toContain('sub-12333');
  });

  it('GIVEN data/seats/zhengzhou.json WHEN validated and counted THEN it holds the plan of 郑政办〔2021〕54号: 114 general + 25 peak + 51 support seats (190), 98 % answer rate, and the experts', () => {
    const raw = JSON.parse(readFileSync(new URL('../../data/seats/zhengzhou.json', import.meta.url), 'utf8')) as {
      plan: { seats: number; general: number; peak: number; support: number; answerRateTarget: number; source: { file: string; quote: string } };
    };
    const v = validateSeatFile(raw);
    expect(v.ok, v.ok ? '' : JSON.stringify(v.errors.slice(0, 3))).toBe(true);
    if (!v.ok) return;
    const inGroup = (g: string) => v.value.agents.filter((a) => a.groups.includes(g));
    expect([inGroup('general').length, inGroup('peak').length, inGroup('support').length]).toEqual([114, 25, 51]);
    expect(raw.plan).toMatchObject({ seats: 190, general: 114, peak: 25, support: 51, answerRateTarget: 0.98 });
    expect(raw.plan.general + raw.plan.peak + raw.plan.support).toBe(raw.plan.seats);
    // Support seats (即办调度、审办、质检、回访、心理疏导) take no hotline calls: no call skill.
    expect(inGroup('support').every((a) => Object.keys(a.skills).join() === 'support')).toBe(true);
    expect(inGroup('peak').every((a) => a.skills.general !== undefined)).toBe(true);
    expect(v.value.groups.find((g) => g.id === 'peak')?.kind).toBe('peak');
    for (const g of ['expert-12333', 'expert-12329', 'expert-12320', 'expert-12348']) expect([g, inGroup(g).length > 0]).toEqual([g, true]);
    if (existsSync(SEEDS_DIR)) {
      const seed = readFileSync(new URL(raw.plan.source.file, SEEDS_DIR), 'utf8');
      expect(seed).toContain(raw.plan.source.quote);
      expect(raw.plan.source.quote).toMatch(/98% 以上接通率.*话务、网络受理座席 114 个.*支撑座席 51 个，高峰应急座席 25 个/);
    }
  });
});

describe('city presets', () => {
  it.each(PRESET_CITIES)('GIVEN the %s preset WHEN validated against the prompt catalogue and IVR flows THEN there are zero errors', (city) => {
    const raw: unknown = JSON.parse(readFileSync(new URL(`../../data/presets/${city}.json`, import.meta.url), 'utf8'));
    expect(formatErrors(validateTable(raw, { prompts: catalogue, flows }))).toEqual([]);
  });

  it.each(PRESET_CITIES)('GIVEN the %s preset WHEN its routes are read THEN each names a seed file that exists and a section', (city) => {
    for (const r of preset(city).routes) {
      expect(r.source, r.id).toBeDefined();
      expect(r.source!.section.length, r.id).toBeGreaterThan(0);
      expect(r.source!.file, r.id).toMatch(/^\d{3}_[0-9a-f]{16}\.txt$/);
      // The seeds live beside the repository in the workspace; outside it only the name is checked.
      if (existsSync(SEEDS_DIR)) expect(existsSync(new URL(r.source!.file, SEEDS_DIR)), `${r.id}: ${r.source!.file}`).toBe(true);
    }
  });

  it('GIVEN the seat examples of Zhengzhou and Lu’an WHEN their presets are validated with those seat groups THEN every expert and queue group exists', () => {
    for (const city of ['zhengzhou', 'luan'] as const) {
      const groups = [...seatGroups(city), 'expert-6781999'];
      expect(formatErrors(validateTable(preset(city), { groups })), city).toEqual([]);
    }
  });

  it('GIVEN Zaozhuang WHEN counting merge-list rows THEN there are 30: 19 merged, 9 parallel, 2 sub-centers (枣庄 清单 30条)', () => {
    const t = preset('zaozhuang');
    expect(listedRoutes(t)).toHaveLength(30);
    expect(sectionCounts(t)).toEqual({ '一、整体并入': 19, '二、双号并行': 9, '三、设立分中心': 2 });
    expect(listedRoutes(t).filter((r) => r.mode === 'merged')).toHaveLength(19);
    expect(listedRoutes(t).filter((r) => r.mode === 'parallel')).toHaveLength(9);
    expect(listedRoutes(t).filter((r) => r.mode === 'subcenter').map((r) => r.numbers[0])).toEqual(['12366', '12313']);
  });

  it('GIVEN Zhengzhou WHEN counting merge-list rows THEN there are 23: 13 merged, 7 sub-platforms, 3 sub-centers (郑州 清单 共23条)', () => {
    const t = preset('zhengzhou');
    expect(listedRoutes(t)).toHaveLength(23);
    expect(sectionCounts(t)).toEqual({ '一、整体并入': 13, '二、双号并行': 7, '三、设分中心': 3 });
    expect(listedRoutes(t).filter((r) => r.mode === 'subplatform')).toHaveLength(7);
    expect(listedRoutes(t).filter((r) => r.mode === 'subcenter').map((r) => r.numbers[0])).toEqual(['12367', '12366', '12313']);
  });

  it('GIVEN Yantai WHEN counting merge-list rows THEN there are 12 merged and 4 dual-number rows', () => {
    expect(sectionCounts(preset('yantai'))).toEqual({ '一、整体并入': 12, '二、双号并行': 4 });
  });

  it('GIVEN Lu’an WHEN counting merge-list rows THEN there are 6 merged, 12 dual-number and 5 linkage rows', () => {
    expect(sectionCounts(preset('luan'))).toEqual({ '一、整体并入': 6, '二、双号并行': 12, '三、双向联动': 5 });
  });

  it('GIVEN each preset WHEN looking for 12345 and the emergency partners THEN 12345 is the hotline and 110/119/120/122 are linkage lines', () => {
    for (const city of PRESET_CITIES) {
      const t = preset(city);
      expect(byNumber(t, '12345').mode, city).toBe('hotline');
      for (const n of ['110', '119', '120', '122']) expect(byNumber(t, n).mode, `${city} ${n}`).toBe('linkage');
    }
  });

  it('GIVEN Zaozhuang WHEN reading spot rows THEN they match the seed table', () => {
    const t = preset('zaozhuang');
    expect(byNumber(t, '96345')).toMatchObject({ name: '统筹疫情防控和经济社会发展服务复工复产热线电话', unit: '市发展改革委', mode: 'merged' });
    expect(byNumber(t, '12336')).toMatchObject({ unit: '市自然资源和规划局', source: { row: 13 } });
    expect(byNumber(t, '12333')).toMatchObject({ name: '人力资源和社会保障服务电话', unit: '市人力资源社会保障局', mode: 'parallel', expertSeats: false });
    expect(byNumber(t, '12355')).toMatchObject({ unit: '团市委', mode: 'parallel', source: { row: 9 } });
    expect(byNumber(t, '12313')).toMatchObject({ unit: '市烟草专卖局', mode: 'subcenter', target: { kind: 'queue', group: 'subcenter-12313' } });
    expect(t.remarks?.[0]?.numbers).toEqual(['12396', '12300', '12393', '12360', '12305', '12367']);
  });

  it('GIVEN Yantai WHEN reading spot rows THEN transition lines, the 12333 transfer and expert seats match the seed', () => {
    const t = preset('yantai');
    for (const n of ['12301', '12317', '12385', '12350', '12316']) {
      expect(byNumber(t, n), n).toMatchObject({ mode: 'merged', transition: { from: '2021-11-01T00:00:00+08:00', until: '2022-05-01T00:00:00+08:00' } });
    }
    for (const n of ['12349', '12356', '96119', '12322', '6781767', '6781999', '6500120']) expect(byNumber(t, n), n).not.toHaveProperty('transition');
    expect(byNumber(t, '6781999')).toMatchObject({ name: '外籍人士服务热线', unit: '市外办', expertSeats: true });
    expect(byNumber(t, '12348')).toMatchObject({ mode: 'parallel', expertSeats: true });
    expect(byNumber(t, '12333')).toMatchObject({ mode: 'transfer', unit: '市人力资源社会保障局', expertSeats: true });
    expect(byNumber(t, '12329')).toMatchObject({ mode: 'parallel', expertSeats: true });
    expect(t.routes.some((r) => r.numbers.includes('12366'))).toBe(false);
  });

  it('GIVEN Lu’an WHEN reading spot rows THEN 12333 keeps its seats and system (transfer to its own platform) with expert seats, expert lines and numberless desks match the seed', () => {
    const t = preset('luan');
    expect(byNumber(t, '12333')).toMatchObject({ mode: 'transfer', unit: '市人社局', expertSeats: true, target: { kind: 'dial', dialString: 'PJSIP/12333@transfer-12333' } });
    expect(byNumber(t, '12329')).toMatchObject({ mode: 'parallel', expertSeats: true });
    expect(byNumber(t, '12320')).toMatchObject({ mode: 'parallel', expertSeats: true });
    expect(byNumber(t, '12369')).toMatchObject({ mode: 'parallel', expertSeats: false, unit: '市生态环境局' });
    const desks = t.routes.filter((r) => r.numbers.length === 0).map((r) => [r.mode, r.source?.row]);
    expect(desks).toEqual([
      ['merged', 1],
      ['parallel', 11],
      ['parallel', 12],
      ['linkage', 5],
    ]);
  });

  it('GIVEN Zhengzhou WHEN reading spot rows THEN local numbers, aliases, 12348 and the sub-centers match the seed', () => {
    const t = preset('zhengzhou');
    expect(byNumber(t, '67175706')).toMatchObject({ name: '文物稽查举报电话', unit: '市文物局', mode: 'merged' });
    expect(byNumber(t, '64912345')).toMatchObject({ name: '荥阳市市长热线', unit: '荥阳市委市政府督查局' });
    expect(byNumber(t, '12348')).toMatchObject({ mode: 'merged', keepNumber: true, expertSeats: true });
    expect(byNumber(t, '68064000')).toBe(byNumber(t, '12393'));
    expect(byNumber(t, '12393')).toMatchObject({ name: '医疗保障服务热线', unit: '市医疗保障局', mode: 'subplatform' });
    expect(['12333', '12329', '12320'].map((n) => (byNumber(t, n) as { expertSeats?: boolean }).expertSeats)).toEqual([true, true, true]);
    expect(byNumber(t, '12366')).toMatchObject({ mode: 'subcenter', unit: '郑州市税务局', target: { kind: 'dial', dialString: 'PJSIP/12366@subcenter-12366' } });
  });
});
