/**
 * Default handling unit of a ticket (派单建议), in this order:
 * 1. the call came in on a merged legacy line (12349, 12315 …): that line's
 *    responsible unit (责任单位) from the city's merge list;
 * 2. else the first admin-edited keyword rule whose keyword the summary
 *    contains (rules are tried in their listed order, so admins put the
 *    specific ones first);
 * 3. else manual: the agent chooses.
 * The agent may always override the suggestion; this only pre-fills the form.
 */
import { DomainDataError, invalid, type FieldErrors } from './domain-errors.js';
import { TICKET_CATEGORIES, type TicketCategory, type TicketChannel } from './model.js';

export interface DispatchRule {
  id: string;
  /** The handling unit suggested, e.g. 市住房城乡建设局. */
  unit: string;
  /** Any of these in the summary selects the rule. */
  keywords: string[];
  /** …unless one of these is there too (e.g. 燃气 but not 燃气费). */
  excludeKeywords?: string[];
  /** Only for these categories, when present. */
  categories?: TicketCategory[];
  /** A disabled rule is kept for editing but never matches. */
  enabled?: boolean;
  note?: string;
}

export interface DispatchRuleSet {
  /** Bumped on every admin edit (audit and cache keys). */
  version: number;
  rules: DispatchRule[];
}

export interface DispatchSubject {
  channel: TicketChannel;
  category: TicketCategory;
  summary: string;
}

export type DispatchSuggestion =
  | { via: 'legacy-line'; units: [string]; line: string }
  | { via: 'keyword'; units: [string]; ruleId: string; keyword: string }
  | { via: 'manual'; units: [] };

const MAX_KEYWORD = 50;

function checkWords(errs: FieldErrors, p: string, v: unknown, required: boolean): void {
  if (v === undefined && !required) return;
  if (!Array.isArray(v) || v.length === 0) return void errs.push(invalid(p, required ? 'must be a non-empty array of keywords' : 'must be a non-empty array when present'));
  const seen = new Set<string>();
  v.forEach((k, i) => {
    if (typeof k !== 'string' || !k.trim()) errs.push(invalid(`${p}[${i}]`, 'must be a non-empty string'));
    else if (k.length > MAX_KEYWORD) errs.push(invalid(`${p}[${i}]`, `must be at most ${MAX_KEYWORD} characters`));
    else if (seen.has(k.trim())) errs.push(invalid(`${p}[${i}]`, `duplicate keyword "${k}"`));
    else seen.add(k.trim());
  });
}

/**
 * Check an admin-edited rule set; each error names its field (`rules[2].keywords[0]`).
 * @param knownUnits when given, every rule's unit must be one of them
 */
export function validateDispatchRules(input: unknown, knownUnits?: readonly string[]): FieldErrors {
  const errs: FieldErrors = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [invalid('body', 'must be an object {version, rules}')];
  const s = input as Partial<DispatchRuleSet>;
  if (!Number.isInteger(s.version) || (s.version as number) < 0) errs.push(invalid('version', 'must be an integer ≥ 0'));
  if (!Array.isArray(s.rules)) return [...errs, invalid('rules', 'must be an array')];
  const ids = new Set<string>();
  s.rules.forEach((r, i) => {
    const p = `rules[${i}]`;
    if (typeof r !== 'object' || r === null) return void errs.push(invalid(p, 'must be an object'));
    if (typeof r.id !== 'string' || !/^[a-z0-9][a-z0-9-]{0,63}$/.test(r.id)) errs.push(invalid(`${p}.id`, 'must be lowercase letters, digits and dashes (1–64)'));
    else if (ids.has(r.id)) errs.push(invalid(`${p}.id`, `duplicate rule id "${r.id}"`));
    else ids.add(r.id);
    if (typeof r.unit !== 'string' || !r.unit.trim()) errs.push(invalid(`${p}.unit`, 'is required'));
    else if (knownUnits && !knownUnits.includes(r.unit)) errs.push(invalid(`${p}.unit`, `unknown handling unit "${r.unit}"`));
    checkWords(errs, `${p}.keywords`, r.keywords, true);
    checkWords(errs, `${p}.excludeKeywords`, r.excludeKeywords, false);
    if (r.categories !== undefined) {
      if (!Array.isArray(r.categories) || r.categories.length === 0) errs.push(invalid(`${p}.categories`, 'must be a non-empty array when present'));
      else r.categories.forEach((c, j) => (TICKET_CATEGORIES.includes(c) ? undefined : errs.push(invalid(`${p}.categories[${j}]`, `must be one of ${TICKET_CATEGORIES.join(', ')}`))));
    }
    if (r.enabled !== undefined && typeof r.enabled !== 'boolean') errs.push(invalid(`${p}.enabled`, 'must be a boolean'));
  });
  return errs;
}

/** A validated rule set (keywords trimmed), or {@link DomainDataError} naming every bad field. */
export function parseDispatchRules(input: unknown, knownUnits?: readonly string[]): DispatchRuleSet {
  const errs = validateDispatchRules(input, knownUnits);
  if (errs.length) throw new DomainDataError('dispatch rules', errs);
  const s = input as DispatchRuleSet;
  return {
    version: s.version,
    rules: s.rules.map((r) => ({
      ...r,
      unit: r.unit.trim(),
      keywords: r.keywords.map((k) => k.trim()),
      ...(r.excludeKeywords ? { excludeKeywords: r.excludeKeywords.map((k) => k.trim()) } : {}),
    })),
  };
}

/** The default unit for a ticket: legacy line's unit, else the first keyword rule, else manual. */
export function suggestDispatch(t: DispatchSubject, rules: DispatchRuleSet): DispatchSuggestion {
  if (t.channel.kind === 'legacy-line' && t.channel.unit?.trim()) {
    return { via: 'legacy-line', units: [t.channel.unit.trim()], line: t.channel.number };
  }
  const text = t.summary.toLowerCase();
  for (const r of rules.rules) {
    if (r.enabled === false) continue;
    if (r.categories && !r.categories.includes(t.category)) continue;
    if (r.excludeKeywords?.some((k) => text.includes(k.toLowerCase()))) continue;
    const keyword = r.keywords.find((k) => text.includes(k.toLowerCase()));
    if (keyword) return { via: 'keyword', units: [r.unit], ruleId: r.id, keyword };
  }
  return { via: 'manual', units: [] };
}
