import { describe, expect, it } from 'vitest';
import { parseDispatchRules, suggestDispatch, validateDispatchRules, type DispatchRuleSet } from '../../src/tickets/dispatch-rules.js';
import { DomainDataError } from '../../src/tickets/domain-errors.js';

const rules: DispatchRuleSet = parseDispatchRules({
  version: 3,
  rules: [
    { id: 'gas-bill', unit: '市燃气集团', keywords: ['燃气费'], categories: ['consult'] },
    { id: 'gas', unit: '市住房城乡建设局', keywords: ['燃气', '天然气'], excludeKeywords: ['燃气费'] },
    { id: 'water', unit: '市水务局', keywords: ['停水', '水压'] },
    { id: 'noise-old', unit: '市公安局', keywords: ['噪音'], enabled: false },
    { id: 'noise', unit: '市生态环境局', keywords: ['噪音', '噪声'] },
  ],
});

describe('dispatch suggestion', () => {
  it('GIVEN a call on a merged legacy line WHEN suggesting THEN the line\'s responsible unit wins over keywords', () => {
    const s = suggestDispatch({ channel: { kind: 'legacy-line', number: '12349', unit: '市民政局' }, category: 'help', summary: '家中停水' }, rules);
    expect(s).toEqual({ via: 'legacy-line', units: ['市民政局'], line: '12349' });
  });

  it('GIVEN a legacy line with no unit on record WHEN suggesting THEN keyword rules apply', () => {
    const s = suggestDispatch({ channel: { kind: 'legacy-line', number: '12345' }, category: 'help', summary: '家中停水' }, rules);
    expect(s).toMatchObject({ via: 'keyword', units: ['市水务局'], ruleId: 'water', keyword: '停水' });
  });

  it('GIVEN a 12345 call WHEN the summary has keywords THEN the first matching rule in order wins', () => {
    expect(suggestDispatch({ channel: { kind: '12345' }, category: 'complaint', summary: '楼下天然气管道有异味' }, rules)).toMatchObject({ ruleId: 'gas', units: ['市住房城乡建设局'] });
  });

  it('GIVEN a category filter and an exclusion WHEN the category differs THEN neither gas rule matches', () => {
    expect(suggestDispatch({ channel: { kind: '12345' }, category: 'consult', summary: '燃气费怎么交' }, rules)).toMatchObject({ ruleId: 'gas-bill' });
    expect(suggestDispatch({ channel: { kind: '12345' }, category: 'complaint', summary: '燃气费收费过高' }, rules)).toEqual({ via: 'manual', units: [] });
  });

  it('GIVEN a disabled rule first WHEN suggesting THEN it is skipped', () => {
    expect(suggestDispatch({ channel: { kind: '12345' }, category: 'complaint', summary: '广场舞噪音' }, rules)).toMatchObject({ ruleId: 'noise', units: ['市生态环境局'] });
  });

  it('GIVEN no rule matches WHEN suggesting THEN manual', () => {
    expect(suggestDispatch({ channel: { kind: '12345' }, category: 'suggestion', summary: '建议增加公交线路' }, rules)).toEqual({ via: 'manual', units: [] });
  });
});

describe('dispatch rules validation (admin-edited data)', () => {
  it('GIVEN bad rules WHEN validated THEN each error names its field path', () => {
    const errs = validateDispatchRules(
      {
        version: 1,
        rules: [
          { id: 'water', unit: '市水务局', keywords: ['停水', '停水'] },
          { id: 'water', unit: '', keywords: [] },
          { id: 'Bad Id', unit: '市不存在局', keywords: ['x'], categories: ['praise'], enabled: 'yes' },
        ],
      },
      ['市水务局', '市住房城乡建设局'],
    );
    expect(errs.map((e) => e.field)).toEqual([
      'rules[0].keywords[1]',
      'rules[1].id',
      'rules[1].unit',
      'rules[1].keywords',
      'rules[2].id',
      'rules[2].unit',
      'rules[2].categories[0]',
      'rules[2].enabled',
    ]);
    expect(errs.every((e) => e.code === 'invalid-input' && e.message.startsWith(e.field!))).toBe(true);
  });

  it('GIVEN a body that is not a rule set WHEN validated or parsed THEN it is refused', () => {
    expect(validateDispatchRules([]).map((e) => e.field)).toEqual(['body']);
    expect(validateDispatchRules({ rules: [] }).map((e) => e.field)).toEqual(['version']);
    expect(() => parseDispatchRules({ version: 1, rules: [{ id: 'x', unit: 'u', keywords: [''] }] })).toThrow(DomainDataError);
  });

  it('GIVEN keywords with spaces WHEN parsed THEN they are trimmed so they match', () => {
    const r = parseDispatchRules({ version: 0, rules: [{ id: 'w', unit: ' 市水务局 ', keywords: [' 停水 '] }] });
    expect(r.rules[0]).toMatchObject({ unit: '市水务局', keywords: ['停水'] });
    expect(suggestDispatch({ channel: { kind: '12345' }, category: 'help', summary: '又停水了' }, r)).toMatchObject({ units: ['市水务局'] });
  });
});
