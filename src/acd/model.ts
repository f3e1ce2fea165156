/**
 * The seat model: agents, seat groups, queue rules and the ACD configuration.
 *
 * @remarks
 * The seeds staff 12345 with general seats, expert seats sent by departments
 * (专家座席, one skill per legacy line such as `12333`), specialist desks
 * (营商环境 `enterprise`, 医保 `medical-insurance`), sub-center groups and
 * peak-hour emergency seats (高峰应急座席, no fixed staff: they only take
 * overflow). Everything here is plain data plus validation; the router and
 * the Redis state build on it.
 */

import { DEFAULT_AGENT_DIAL_TEMPLATE, EXTENSION_RE } from './sip-names.js';

/** A field-named validation problem (the HTTP layer maps a list of these to 400). */
export interface FieldError {
  field: string;
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export const AGENT_STATES = ['offline', 'available', 'ringing', 'on-call', 'wrap-up', 'paused'] as const;
export type AgentStateName = (typeof AGENT_STATES)[number];

/** Well-known skills; expert lines use their number (`12333`, `12329` …) as the skill name. */
export const SKILL_GENERAL = 'general';
export const SKILL_ENTERPRISE = 'enterprise';
export const SKILL_MEDICAL_INSURANCE = 'medical-insurance';
export const SKILL_ENGLISH = 'english';

/** Skill names: lower-case words or a line number. */
const SKILL_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const ID_RE = /^[A-Za-z0-9_-]{1,32}$/;


export interface Agent {
  /** 工号 */
  id: string;
  name: string;
  /** Seat extension, 3-8 digits; its softphone is PJSIP endpoint/AOR `agent<extension>` (sip-names.ts). */
  extension: string;
  /** Skill → level 1–5. */
  skills: Record<string, number>;
  /** Seat group ids. */
  groups: string[];
  /** Overrides the configured dial template, e.g. `PJSIP/8001`. */
  dialString?: string;
}

export const GROUP_KINDS = ['general', 'expert', 'specialist', 'peak', 'sub-center'] as const;
export type GroupKind = (typeof GROUP_KINDS)[number];

export interface SeatGroup {
  id: string;
  name: string;
  kind: GroupKind;
  /** For expert and sub-center groups: the legacy line they answer (e.g. `12333`). */
  lineNumber?: string;
  /** Department that sends the seats (e.g. 市人社局). */
  department?: string;
}

/** How calls needing one skill wait, widen and overflow. */
export interface QueueRule {
  /** Minimum level for the primary skill (1–5). */
  minLevel: number;
  /** Skills tried after `fallbackAfterSec` when no primary agent is free (level ≥ 1). */
  fallbackSkills: string[];
  fallbackAfterSec: number;
  /** Overflow to peak seats after this wait … */
  overflowAfterSec?: number;
  /** … or when more than this many calls wait for the skill. */
  overflowQueueLength?: number;
  /** Skills a peak seat may use to take an overflowed call (besides the primary one). */
  overflowSkills: string[];
}

/** Priorities: higher is served first. Linkage hand-ins (110/119/120/122) above enterprise above the rest. */
export const PRIORITY = { normal: 0, enterprise: 5, linkage: 10 } as const;
export const LINKAGE_SOURCES = ['110', '119', '120', '122'] as const;

/** The priority of a call from where it came and what it needs. */
export function priorityFor(input: { source?: string; skill?: string }): number {
  if (input.source && (LINKAGE_SOURCES as readonly string[]).includes(input.source)) return PRIORITY.linkage;
  if (input.skill === SKILL_ENTERPRISE) return PRIORITY.enterprise;
  return PRIORITY.normal;
}

export interface AcdConfig {
  /** Dial string template; `{ext}` is replaced by the agent's extension. `PJSIP/agent{ext}` in production (sip-names.ts). */
  dialTemplate: string;
  /** N: an offer not answered within this many seconds goes to the next agent. */
  noAnswerSec: number;
  /** Extra lease time over `noAnswerSec` before the ACD itself expires an offer. */
  offerGraceSec: number;
  /** M: auto-pause an agent after this many consecutive missed offers. */
  autoPauseAfterMisses: number;
  /** 话后处理 seconds after each call. */
  wrapUpSec: number;
  /** An agent who missed a call is not offered that same call again for this long (if others can take it). */
  missExcludeSec: number;
  /** Instance heartbeat TTL; an instance silent this long is dead and its agents are reclaimed. */
  heartbeatTtlSec: number;
  /**
   * Where the durable call states live (`<prefix>:callstate:`, calls/durable-store.ts; '' = none). A dead
   * instance's agent talking on a call that has a stored state stays on-call until that call is adopted
   * or ends: the heartbeat runs out before the call-state lease, and the agent must not look free meanwhile.
   */
  callStateKeyPrefix: string;
  /** Dispatch loop interval (besides pub/sub wake-ups). */
  dispatchIntervalMs: number;
  /** Average handling time used for the expected-wait estimate. */
  averageHandleSec: number;
  /** Agents must have a registered softphone before they are offered calls. */
  requireRegistration: boolean;
  callback: { maxAttempts: number; retryDelaySec: number; expirySec: number };
  /** Language → extra skill required (e.g. `en` → `english`), waived after the fallback wait. */
  languageSkills: Record<string, string>;
  /** Rules per skill; `default` applies to skills not listed. */
  rules: Record<string, QueueRule>;
  defaultRule: QueueRule;
  /** Offset of local time from UTC in minutes, for "today" in statistics (China: 480). */
  utcOffsetMin: number;
}

export const DEFAULT_RULE: QueueRule = {
  minLevel: 1,
  fallbackSkills: [SKILL_GENERAL],
  fallbackAfterSec: 60,
  overflowAfterSec: 90,
  overflowQueueLength: 20,
  overflowSkills: [SKILL_GENERAL],
};

export function defaultAcdConfig(overrides: Partial<AcdConfig> = {}): AcdConfig {
  return {
    dialTemplate: DEFAULT_AGENT_DIAL_TEMPLATE,
    noAnswerSec: 15,
    offerGraceSec: 3,
    autoPauseAfterMisses: 2,
    wrapUpSec: 30,
    missExcludeSec: 60,
    heartbeatTtlSec: 10,
    callStateKeyPrefix: '',
    dispatchIntervalMs: 500,
    averageHandleSec: 180,
    requireRegistration: true,
    callback: { maxAttempts: 3, retryDelaySec: 120, expirySec: 4 * 3600 },
    languageSkills: { en: SKILL_ENGLISH },
    rules: {
      [SKILL_GENERAL]: { ...DEFAULT_RULE, fallbackSkills: [], fallbackAfterSec: 0 },
    },
    defaultRule: DEFAULT_RULE,
    utcOffsetMin: 480,
    ...overrides,
  };
}

export function ruleFor(config: Pick<AcdConfig, 'rules' | 'defaultRule'>, skill: string): QueueRule {
  return config.rules[skill] ?? config.defaultRule;
}

/** The dial string for an agent: its own, else the template with `{ext}` filled in. */
export function dialStringFor(agent: Pick<Agent, 'extension' | 'dialString'>, template: string): string {
  return agent.dialString ?? template.split('{ext}').join(agent.extension);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function str(
  input: Record<string, unknown>,
  field: string,
  errors: FieldError[],
  opts: { required?: boolean; re?: RegExp; reMessage?: string; max?: number; prefix?: string } = {},
): string | undefined {
  const v = input[field];
  const name = (opts.prefix ?? '') + field;
  if (v === undefined || v === null || v === '') {
    if (opts.required) errors.push({ field: name, message: 'is required' });
    return undefined;
  }
  if (typeof v !== 'string') {
    errors.push({ field: name, message: 'must be a string' });
    return undefined;
  }
  if (opts.max !== undefined && v.length > opts.max) {
    errors.push({ field: name, message: `must be at most ${opts.max} characters` });
    return undefined;
  }
  if (opts.re && !opts.re.test(v)) {
    errors.push({ field: name, message: opts.reMessage ?? `has an invalid format (${opts.re.source})` });
    return undefined;
  }
  return v;
}

/** Validates an agent record; `knownGroups` (if given) must contain every group id. */
export function validateAgent(input: unknown, knownGroups?: ReadonlySet<string>): Validated<Agent> {
  const errors: FieldError[] = [];
  if (!isRecord(input)) return { ok: false, errors: [{ field: '', message: 'must be an object' }] };
  const id = str(input, 'id', errors, { required: true, re: ID_RE });
  const name = str(input, 'name', errors, { required: true, max: 64 });
  const extension = str(input, 'extension', errors, {
    required: true,
    re: EXTENSION_RE,
    reMessage: 'must be 3 to 8 digits (its softphone registers as agent<extension>)',
  });
  const dialString = str(input, 'dialString', errors, { max: 128 });
  if (dialString !== undefined && !/^[A-Za-z]+\/\S+$/.test(dialString)) {
    errors.push({ field: 'dialString', message: 'must look like TECH/resource, e.g. PJSIP/8001' });
  }
  const skills: Record<string, number> = {};
  if (!isRecord(input.skills)) {
    errors.push({ field: 'skills', message: 'must be an object of skill → level (1–5)' });
  } else {
    const entries = Object.entries(input.skills);
    if (entries.length === 0) errors.push({ field: 'skills', message: 'must name at least one skill' });
    for (const [skill, level] of entries) {
      if (!SKILL_RE.test(skill)) errors.push({ field: `skills.${skill}`, message: 'is not a valid skill name' });
      else if (typeof level !== 'number' || !Number.isInteger(level) || level < 1 || level > 5) {
        errors.push({ field: `skills.${skill}`, message: 'level must be an integer from 1 to 5' });
      } else skills[skill] = level;
    }
  }
  const groups: string[] = [];
  if (input.groups !== undefined) {
    if (!Array.isArray(input.groups)) errors.push({ field: 'groups', message: 'must be a list of group ids' });
    else
      input.groups.forEach((g, i) => {
        if (typeof g !== 'string' || !ID_RE.test(g)) errors.push({ field: `groups[${i}]`, message: 'is not a group id' });
        else if (knownGroups && !knownGroups.has(g)) errors.push({ field: `groups[${i}]`, message: `unknown group ${g}` });
        else groups.push(g);
      });
  }
  if (errors.length > 0 || !id || !name || !extension) return { ok: false, errors };
  const agent: Agent = { id, name, extension, skills, groups };
  if (dialString) agent.dialString = dialString;
  return { ok: true, value: agent };
}

export function validateGroup(input: unknown): Validated<SeatGroup> {
  const errors: FieldError[] = [];
  if (!isRecord(input)) return { ok: false, errors: [{ field: '', message: 'must be an object' }] };
  const id = str(input, 'id', errors, { required: true, re: ID_RE });
  const name = str(input, 'name', errors, { required: true, max: 64 });
  const kind = input.kind;
  if (typeof kind !== 'string' || !(GROUP_KINDS as readonly string[]).includes(kind)) {
    errors.push({ field: 'kind', message: `must be one of ${GROUP_KINDS.join(', ')}` });
  }
  const lineNumber = str(input, 'lineNumber', errors, { re: /^\d{3,12}$/ });
  if ((kind === 'expert' || kind === 'sub-center') && !lineNumber) {
    errors.push({ field: 'lineNumber', message: `is required for ${String(kind)} groups` });
  }
  const department = str(input, 'department', errors, { max: 64 });
  if (errors.length > 0 || !id || !name) return { ok: false, errors };
  const group: SeatGroup = { id, name, kind: kind as GroupKind };
  if (lineNumber) group.lineNumber = lineNumber;
  if (department) group.department = department;
  return { ok: true, value: group };
}

function validateRule(input: unknown, prefix: string, errors: FieldError[]): QueueRule | undefined {
  if (!isRecord(input)) {
    errors.push({ field: prefix, message: 'must be an object' });
    return undefined;
  }
  const before = errors.length;
  const num = (f: string, opts: { min: number; max?: number; int?: boolean; optional?: boolean }): number | undefined => {
    const v = input[f];
    if (v === undefined && opts.optional) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < opts.min || (opts.max !== undefined && v > opts.max) || (opts.int && !Number.isInteger(v))) {
      errors.push({ field: `${prefix}.${f}`, message: `must be a number ≥ ${opts.min}${opts.max !== undefined ? ` and ≤ ${opts.max}` : ''}` });
      return undefined;
    }
    return v;
  };
  const skillList = (f: string): string[] => {
    const v = input[f] ?? [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || !SKILL_RE.test(s))) {
      errors.push({ field: `${prefix}.${f}`, message: 'must be a list of skill names' });
      return [];
    }
    return v as string[];
  };
  const rule: QueueRule = {
    minLevel: num('minLevel', { min: 1, max: 5, int: true }) ?? 1,
    fallbackSkills: skillList('fallbackSkills'),
    fallbackAfterSec: num('fallbackAfterSec', { min: 0 }) ?? 0,
    overflowSkills: skillList('overflowSkills'),
  };
  const oa = num('overflowAfterSec', { min: 0, optional: true });
  const oq = num('overflowQueueLength', { min: 0, int: true, optional: true });
  if (oa !== undefined) rule.overflowAfterSec = oa;
  if (oq !== undefined) rule.overflowQueueLength = oq;
  return errors.length === before ? rule : undefined;
}

/** Validates an ACD configuration (e.g. assembled from city presets and environment). */
export function validateAcdConfig(input: unknown): Validated<AcdConfig> {
  const errors: FieldError[] = [];
  if (!isRecord(input)) return { ok: false, errors: [{ field: '', message: 'must be an object' }] };
  const pos = (f: string, min = 0, int = false): void => {
    const v = input[f];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (int && !Number.isInteger(v))) {
      errors.push({ field: f, message: `must be a${int ? 'n integer' : ' number'} ≥ ${min}` });
    }
  };
  if (typeof input.dialTemplate !== 'string' || !input.dialTemplate.includes('{ext}') || !/^[A-Za-z]+\//.test(input.dialTemplate)) {
    errors.push({ field: 'dialTemplate', message: 'must look like TECH/…{ext}…, e.g. PJSIP/agent{ext}' });
  }
  pos('noAnswerSec', 0.05);
  pos('offerGraceSec', 0);
  pos('autoPauseAfterMisses', 1, true);
  pos('wrapUpSec', 0);
  pos('missExcludeSec', 0);
  pos('heartbeatTtlSec', 0.1);
  pos('dispatchIntervalMs', 5, true);
  pos('averageHandleSec', 1);
  pos('utcOffsetMin', -720, true);
  if (typeof input.requireRegistration !== 'boolean') errors.push({ field: 'requireRegistration', message: 'must be true or false' });
  const cb = input.callback;
  if (!isRecord(cb)) errors.push({ field: 'callback', message: 'must be an object' });
  else {
    if (typeof cb.maxAttempts !== 'number' || !Number.isInteger(cb.maxAttempts) || cb.maxAttempts < 1) errors.push({ field: 'callback.maxAttempts', message: 'must be an integer ≥ 1' });
    if (typeof cb.retryDelaySec !== 'number' || cb.retryDelaySec < 0) errors.push({ field: 'callback.retryDelaySec', message: 'must be a number ≥ 0' });
    if (typeof cb.expirySec !== 'number' || cb.expirySec <= 0) errors.push({ field: 'callback.expirySec', message: 'must be a number > 0' });
  }
  if (!isRecord(input.languageSkills)) errors.push({ field: 'languageSkills', message: 'must be an object of language → skill' });
  if (!isRecord(input.rules)) errors.push({ field: 'rules', message: 'must be an object of skill → rule' });
  else for (const [skill, rule] of Object.entries(input.rules)) validateRule(rule, `rules.${skill}`, errors);
  validateRule(input.defaultRule, 'defaultRule', errors);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: input as unknown as AcdConfig };
}

/** A seat file (`data/seats/<city>.json`). */
export interface SeatFile {
  city: string;
  groups: SeatGroup[];
  agents: Agent[];
  rules?: Record<string, QueueRule>;
}

export function validateSeatFile(input: unknown): Validated<SeatFile> {
  const errors: FieldError[] = [];
  if (!isRecord(input)) return { ok: false, errors: [{ field: '', message: 'must be an object' }] };
  const groups: SeatGroup[] = [];
  const agents: Agent[] = [];
  if (typeof input.city !== 'string') errors.push({ field: 'city', message: 'is required' });
  if (!Array.isArray(input.groups)) errors.push({ field: 'groups', message: 'must be a list' });
  else
    input.groups.forEach((g, i) => {
      const r = validateGroup(g);
      if (r.ok) groups.push(r.value);
      else errors.push(...r.errors.map((e) => ({ field: `groups[${i}].${e.field}`, message: e.message })));
    });
  const known = new Set(groups.map((g) => g.id));
  if (!Array.isArray(input.agents)) errors.push({ field: 'agents', message: 'must be a list' });
  else
    input.agents.forEach((a, i) => {
      const r = validateAgent(a, known);
      if (r.ok) agents.push(r.value);
      else errors.push(...r.errors.map((e) => ({ field: `agents[${i}].${e.field}`, message: e.message })));
    });
  const seen = new Set<string>();
  agents.forEach((a, i) => {
    if (seen.has(a.id)) errors.push({ field: `agents[${i}].id`, message: `duplicate agent id ${a.id}` });
    seen.add(a.id);
  });
  const rules: Record<string, QueueRule> = {};
  if (input.rules !== undefined) {
    if (!isRecord(input.rules)) errors.push({ field: 'rules', message: 'must be an object' });
    else
      for (const [skill, r] of Object.entries(input.rules)) {
        const v = validateRule(r, `rules.${skill}`, errors);
        if (v) rules[skill] = v;
      }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { city: input.city as string, groups, agents, rules } };
}
