/**
 * SLA policies as data (`data/sla/<policy>.json`), transcribed from the seeds,
 * and the pure deadline computation.
 *
 * A policy is an ordered list of rules. Each rule may set a reply clock
 * (答复/回复 the caller) and/or a finish clock (办理完毕并答复). For each clock,
 * the first matching rule that sets it wins: specific rules (outages, safety
 * hazards …) come first, the per-requester-kind defaults last. A rule matches
 * when every condition it states holds:
 * - `categories`: the ticket's category is one of them;
 * - `requesterKinds`: citizen / enterprise;
 * - `subjects`: each subject holds, and a subject holds when the agent tagged
 *   one of its `topics` OR the summary contains one of its `keywords`;
 * - `origins`: the platform the request came from (absent on a ticket = `direct`).
 *
 * A policy may also set a dispatch clock (交办: the centre hands the ticket to a
 * unit within it, counted from receipt), and must say when its figures are
 * not the seed's own (`provisional`): the app warns at start.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dayStart, localDayIndex, type WorkCalendar } from './calendar.js';
import { DomainDataError, invalid, ticketError, type FieldErrors, type TicketError } from './domain-errors.js';
import { REQUESTER_KINDS, TICKET_CATEGORIES, TICKET_ORIGINS, type RequesterKind, type TicketCategory, type TicketDeadlines, type TicketOrigin, type Urgency } from './model.js';

export const CLOCK_UNITS = ['working-days', 'natural-days', 'hours', 'minutes', 'immediate'] as const;
export type ClockUnit = (typeof CLOCK_UNITS)[number];

export interface Clock {
  unit: ClockUnit;
  /** Ignored for `immediate`. Days are whole; hours and minutes may be fractional. */
  amount: number;
}

/** Where a figure comes from: the seed file, its section and the words. */
export interface SeedSource {
  file: string;
  section: string;
  quote?: string;
}

export interface RuleSubject {
  topics?: string[];
  keywords?: string[];
}

export interface SlaRuleMatch {
  categories?: TicketCategory[];
  requesterKinds?: RequesterKind[];
  subjects?: RuleSubject[];
  origins?: TicketOrigin[];
}

export interface SlaRule {
  id: string;
  description: string;
  match: SlaRuleMatch;
  reply?: Clock;
  finish?: Clock;
  urgent?: boolean;
  source: SeedSource;
  note?: string;
}

export interface SlaPolicy {
  id: string;
  cityId: string;
  /** A district with its own policy (e.g. `laishan`), else the whole city. */
  area?: string;
  name: string;
  nameEn?: string;
  rules: SlaRule[];
  /** 延期: cumulative cap and whether the caller's consent must be recorded. */
  extension: { maxWorkingDays: number; requiresConsent: boolean; source: SeedSource; note?: string };
  /** 列入计划: finish within this many natural days of receipt; null when the seeds give no figure. */
  planned: { maxNaturalDays: number; source: SeedSource; note?: string } | null;
  /** 回退: allowed within this much working time of dispatch; the Nth return (since the last supervisor decision) goes to 研判. */
  returnWindow: { workingDays: number; reviewAfterReturns: number; source: SeedSource; note?: string };
  /** 催办 reminders: at these fractions of the finish clock, and 1 working (or natural) day before it. */
  reminders: { fractions: number[]; workingDayBefore: boolean };
  /** 交办: the centre dispatches within this clock of receipt (`natural-days` 0 = 当天). */
  dispatch?: { clock: Clock; source: SeedSource; note?: string };
  /** Why the figures are not (all) the seed's own; the app logs it as a warning at start. */
  provisional?: string;
}

/** What deadline matching needs to know about a ticket. */
export interface DeadlineSubject {
  category: TicketCategory;
  requesterKind: RequesterKind;
  topics: string[];
  summary: string;
  urgency: Urgency;
  receivedAt: number;
  /** Absent = `direct`. */
  origin?: TicketOrigin;
}

// ---------------------------------------------------------------- validation

function checkSource(errs: FieldErrors, p: string, s: unknown): void {
  const src = s as Partial<SeedSource> | undefined;
  if (typeof src !== 'object' || src === null) return void errs.push(invalid(p, 'must cite the seed (file, section)'));
  if (typeof src.file !== 'string' || !/\.txt$/.test(src.file)) errs.push(invalid(`${p}.file`, 'must name the seed file (*.txt)'));
  if (typeof src.section !== 'string' || !src.section) errs.push(invalid(`${p}.section`, 'is required'));
}

function checkClock(errs: FieldErrors, p: string, c: unknown): void {
  const k = c as Partial<Clock>;
  if (typeof k !== 'object' || k === null) return void errs.push(invalid(p, 'must be an object {unit, amount}'));
  if (!CLOCK_UNITS.includes(k.unit as ClockUnit)) return void errs.push(invalid(`${p}.unit`, `must be one of ${CLOCK_UNITS.join(', ')}`));
  if (k.unit === 'immediate') return;
  if (typeof k.amount !== 'number' || !Number.isFinite(k.amount) || k.amount < 0) return void errs.push(invalid(`${p}.amount`, 'must be a number ≥ 0'));
  if ((k.unit === 'working-days' || k.unit === 'natural-days') && !Number.isInteger(k.amount)) errs.push(invalid(`${p}.amount`, 'days must be whole'));
  if (k.unit === 'working-days' && k.amount < 1) errs.push(invalid(`${p}.amount`, 'a working-day clock needs at least 1 day'));
}

function checkStrings(errs: FieldErrors, p: string, v: unknown, allowed?: readonly string[]): void {
  if (v === undefined) return;
  if (!Array.isArray(v) || v.length === 0) return void errs.push(invalid(p, 'must be a non-empty array when present'));
  v.forEach((s, i) => {
    if (typeof s !== 'string' || !s.trim()) errs.push(invalid(`${p}[${i}]`, 'must be a non-empty string'));
    else if (allowed && !allowed.includes(s)) errs.push(invalid(`${p}[${i}]`, `must be one of ${allowed.join(', ')}`));
  });
}

/** Check a policy; every error names its field path (`rules[3].finish.amount`). */
export function validateSlaPolicy(input: unknown): FieldErrors {
  const errs: FieldErrors = [];
  if (typeof input !== 'object' || input === null) return [invalid('policy', 'must be an object')];
  const p = input as Partial<SlaPolicy>;
  for (const f of ['id', 'cityId', 'name'] as const) if (typeof p[f] !== 'string' || !p[f]) errs.push(invalid(f, 'is required'));
  if (!Array.isArray(p.rules) || p.rules.length === 0) return [...errs, invalid('rules', 'must be a non-empty array')];
  const ids = new Set<string>();
  p.rules.forEach((r, i) => {
    const rp = `rules[${i}]`;
    if (typeof r?.id !== 'string' || !r.id) errs.push(invalid(`${rp}.id`, 'is required'));
    else if (ids.has(r.id)) errs.push(invalid(`${rp}.id`, `duplicate rule id "${r.id}"`));
    else ids.add(r.id);
    if (typeof r?.description !== 'string' || !r.description) errs.push(invalid(`${rp}.description`, 'is required'));
    if (typeof r?.match !== 'object' || r.match === null) errs.push(invalid(`${rp}.match`, 'must be an object ({} matches every ticket)'));
    else {
      checkStrings(errs, `${rp}.match.categories`, r.match.categories, TICKET_CATEGORIES);
      checkStrings(errs, `${rp}.match.requesterKinds`, r.match.requesterKinds, REQUESTER_KINDS);
      if (r.match.subjects !== undefined) {
        if (!Array.isArray(r.match.subjects) || r.match.subjects.length === 0) errs.push(invalid(`${rp}.match.subjects`, 'must be a non-empty array when present'));
        else
          r.match.subjects.forEach((s, j) => {
            const sp = `${rp}.match.subjects[${j}]`;
            if (!s?.topics && !s?.keywords) errs.push(invalid(sp, 'needs topics or keywords'));
            checkStrings(errs, `${sp}.topics`, s?.topics);
            checkStrings(errs, `${sp}.keywords`, s?.keywords);
          });
      }
      checkStrings(errs, `${rp}.match.origins`, r.match.origins, TICKET_ORIGINS);
    }
    if (r?.reply === undefined && r?.finish === undefined) errs.push(invalid(rp, 'must set reply or finish'));
    if (r?.reply !== undefined) checkClock(errs, `${rp}.reply`, r.reply);
    if (r?.finish !== undefined) checkClock(errs, `${rp}.finish`, r.finish);
    if (r?.urgent !== undefined && typeof r.urgent !== 'boolean') errs.push(invalid(`${rp}.urgent`, 'must be a boolean'));
    checkSource(errs, `${rp}.source`, r?.source);
  });
  // Every ticket must get a finish clock: some unconditional rule (but for requester kind) per kind.
  for (const kind of REQUESTER_KINDS) {
    const covered = p.rules.some((r) => r?.finish && r.match && !r.match.categories && !r.match.subjects && !r.match.origins && (!r.match.requesterKinds || r.match.requesterKinds.includes(kind)));
    if (!covered) errs.push(invalid('rules', `no catch-all finish rule for requester kind "${kind}"`));
  }
  const ext = p.extension;
  if (typeof ext !== 'object' || ext === null) errs.push(invalid('extension', 'is required'));
  else {
    if (!Number.isInteger(ext.maxWorkingDays) || ext.maxWorkingDays < 0) errs.push(invalid('extension.maxWorkingDays', 'must be an integer ≥ 0'));
    if (typeof ext.requiresConsent !== 'boolean') errs.push(invalid('extension.requiresConsent', 'must be a boolean'));
    checkSource(errs, 'extension.source', ext.source);
  }
  if (p.planned === undefined) errs.push(invalid('planned', 'is required (null when the seeds give no figure)'));
  else if (p.planned !== null) {
    if (!Number.isInteger(p.planned.maxNaturalDays) || p.planned.maxNaturalDays < 1) errs.push(invalid('planned.maxNaturalDays', 'must be an integer ≥ 1'));
    checkSource(errs, 'planned.source', p.planned.source);
  }
  const rw = p.returnWindow;
  if (typeof rw !== 'object' || rw === null) errs.push(invalid('returnWindow', 'is required'));
  else {
    if (typeof rw.workingDays !== 'number' || !(rw.workingDays > 0)) errs.push(invalid('returnWindow.workingDays', 'must be a number > 0'));
    if (!Number.isInteger(rw.reviewAfterReturns) || rw.reviewAfterReturns < 1) errs.push(invalid('returnWindow.reviewAfterReturns', 'must be an integer ≥ 1'));
    checkSource(errs, 'returnWindow.source', rw.source);
  }
  const rem = p.reminders;
  if (typeof rem !== 'object' || rem === null) errs.push(invalid('reminders', 'is required'));
  else {
    if (!Array.isArray(rem.fractions)) errs.push(invalid('reminders.fractions', 'must be an array'));
    else rem.fractions.forEach((f, i) => (typeof f === 'number' && f > 0 && f < 1 ? undefined : errs.push(invalid(`reminders.fractions[${i}]`, 'must be strictly between 0 and 1'))));
    if (typeof rem.workingDayBefore !== 'boolean') errs.push(invalid('reminders.workingDayBefore', 'must be a boolean'));
  }
  if (p.dispatch !== undefined) {
    if (typeof p.dispatch !== 'object' || p.dispatch === null) errs.push(invalid('dispatch', 'must be an object {clock, source}'));
    else {
      checkClock(errs, 'dispatch.clock', p.dispatch.clock);
      checkSource(errs, 'dispatch.source', p.dispatch.source);
    }
  }
  if (p.provisional !== undefined && (typeof p.provisional !== 'string' || !p.provisional.trim())) errs.push(invalid('provisional', 'must say why the figures are provisional (or be absent)'));
  return errs;
}

/** A validated policy, or {@link DomainDataError} naming every bad field. */
export function parseSlaPolicy(input: unknown): SlaPolicy {
  const errs = validateSlaPolicy(input);
  if (errs.length) throw new DomainDataError(`SLA policy ${(input as { id?: string })?.id ?? ''}`.trim(), errs);
  return input as SlaPolicy;
}

const BUNDLED_DIR = new URL('../../data/sla/', import.meta.url);

/** The bundled policies by id (`zaozhuang`, `yantai`, `yantai-laishan`), validated; read once at boot. */
export function loadBundledSlaPolicies(): Map<string, SlaPolicy> {
  const out = new Map<string, SlaPolicy>();
  for (const f of readdirSync(BUNDLED_DIR).filter((n) => n.endsWith('.json')).sort()) {
    const p = parseSlaPolicy(JSON.parse(readFileSync(new URL(f, BUNDLED_DIR), 'utf8')));
    out.set(p.id, p);
  }
  return out;
}

/** The policy of a city, or of one of its districts when that district has its own. */
export function policyFor(policies: Iterable<SlaPolicy>, cityId: string, area?: string): SlaPolicy | undefined {
  const list = [...policies];
  return (area ? list.find((p) => p.cityId === cityId && p.area === area) : undefined) ?? list.find((p) => p.cityId === cityId && !p.area);
}

/**
 * The policy in force: the one TICKET_SLA_POLICY names, else the city's (or
 * district's) own. No silent fallback to another city's: a city without a
 * policy of its own must name one, and the error says so in one line.
 */
export function resolveSlaPolicy(policies: Map<string, SlaPolicy>, cityId: string, area: string | undefined, configured: string): { ok: true; policy: SlaPolicy } | { ok: false; message: string } {
  const ids = [...policies.keys()].join(', ');
  if (configured) {
    const p = policies.get(configured);
    return p ? { ok: true, policy: p } : { ok: false, message: `configuration error: TICKET_SLA_POLICY "${configured}" is not one of ${ids}` };
  }
  const own = policyFor(policies.values(), cityId, area);
  if (own) return { ok: true, policy: own };
  return { ok: false, message: `configuration error: TICKET_SLA_POLICY must name an SLA policy: city "${cityId}" has none of its own in data/sla (one of ${ids})` };
}

/** When the centre must have dispatched a ticket received at `receivedAt`, if the policy has a dispatch clock. */
export function dispatchDeadline(policy: SlaPolicy, receivedAt: number, calendar: WorkCalendar): number | undefined {
  return policy.dispatch ? clockEnd(calendar, receivedAt, policy.dispatch.clock) : undefined;
}

// ---------------------------------------------------------------- matching

function subjectHolds(s: RuleSubject, t: DeadlineSubject): boolean {
  if (s.topics?.some((x) => t.topics.includes(x))) return true;
  const text = t.summary.toLowerCase();
  return !!s.keywords?.some((k) => text.includes(k.toLowerCase()));
}

export function ruleMatches(rule: SlaRule, t: DeadlineSubject): boolean {
  const m = rule.match;
  if (m.categories && !m.categories.includes(t.category)) return false;
  if (m.requesterKinds && !m.requesterKinds.includes(t.requesterKind)) return false;
  if (m.subjects && !m.subjects.every((s) => subjectHolds(s, t))) return false;
  if (m.origins && !m.origins.includes(t.origin ?? 'direct')) return false;
  return true;
}

/** The rules that set the reply and finish clocks of a ticket (first match per clock). */
export function selectRules(policy: SlaPolicy, t: DeadlineSubject): { reply?: SlaRule; finish?: SlaRule } {
  const matching = policy.rules.filter((r) => ruleMatches(r, t));
  const reply = matching.find((r) => r.reply);
  const finish = matching.find((r) => r.finish);
  return { ...(reply ? { reply } : {}), ...(finish ? { finish } : {}) };
}

// ---------------------------------------------------------------- deadlines

/** The instant a clock started at `from` runs out. */
export function clockEnd(cal: WorkCalendar, from: number, c: Clock): number {
  switch (c.unit) {
    case 'working-days':
      return cal.addWorkingDays(from, c.amount);
    case 'natural-days':
      return cal.addNaturalDays(from, c.amount);
    case 'hours':
      return cal.addHours(from, c.amount);
    case 'minutes':
      return cal.addHours(from, c.amount / 60);
    case 'immediate':
      return from;
  }
}

/**
 * Reminder (催办) instants of a finish clock, ascending, strictly between start
 * and deadline. Fractions measure working time for working-day clocks (80% of
 * 5 working days across the Spring Festival lands on a working day, not inside
 * the holiday) and elapsed time otherwise. "1 day before" is the start of the
 * deadline's day: exactly 1 working day before the end of a working day.
 */
export function reminderInstants(cal: WorkCalendar, policy: SlaPolicy, from: number, finishBy: number, clock: Clock): number[] {
  const out = new Set<number>();
  const working = clock.unit === 'working-days';
  // A day clock's finishBy is the last millisecond of a day: its length runs to the instant after it.
  const end = clock.unit === 'working-days' || clock.unit === 'natural-days' ? finishBy + 1 : finishBy;
  const total = working ? cal.workingTimeBetween(from, end) : end - from;
  for (const f of policy.reminders.fractions) {
    const ms = Math.round(total * f);
    out.add(working ? cal.addWorkingTime(from, ms) : from + ms);
  }
  if (policy.reminders.workingDayBefore && (clock.unit === 'working-days' || clock.unit === 'natural-days')) {
    out.add(dayStart(localDayIndex(finishBy)));
  }
  return [...out].filter((t) => t > from && t < finishBy).sort((a, b) => a - b);
}

export interface ComputeDeadlinesOptions {
  /** When the clocks start: the dispatch (or reopen) instant; defaults to the receipt time. */
  from?: number;
}

export type DeadlinesResult = { ok: true; deadlines: TicketDeadlines } | { ok: false; error: TicketError };

/**
 * Deadlines of a ticket under a policy: reply-by (when a rule sets one, never
 * after finish-by), finish-by, reminder instants and the urgent flag (a rule
 * marked urgent, or the agent's urgency). Pure: same inputs, same answer.
 */
export function computeDeadlines(policy: SlaPolicy, ticket: DeadlineSubject, calendar: WorkCalendar, opts: ComputeDeadlinesOptions = {}): DeadlinesResult {
  const from = opts.from ?? ticket.receivedAt;
  const { reply, finish } = selectRules(policy, ticket);
  if (!finish?.finish) {
    return { ok: false, error: ticketError('no-deadline-rule', `policy ${policy.id}: no rule sets a finish clock for this ticket (requesterKind ${ticket.requesterKind}, category ${ticket.category})`, 'requesterKind') };
  }
  const finishBy = clockEnd(calendar, from, finish.finish);
  const replyBy = reply?.reply ? Math.min(clockEnd(calendar, from, reply.reply), finishBy) : undefined;
  const urgent = ticket.urgency === 'urgent' || !!reply?.urgent || !!finish.urgent;
  return {
    ok: true,
    deadlines: {
      startedAt: from,
      ...(replyBy !== undefined ? { replyBy } : {}),
      finishBy,
      remindAt: reminderInstants(calendar, policy, from, finishBy, finish.finish),
      urgent,
      ruleIds: { ...(reply ? { reply: reply.id } : {}), finish: finish.id },
    },
  };
}
