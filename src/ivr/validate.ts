/**
 * Flow validation: run on every flow before it is activated (at boot and when
 * an admin saves a flow). Takes unknown JSON, never throws, and returns every
 * problem with the path of the field, e.g. `nodes.main.options.3: unknown node "foo"`.
 *
 * @remarks
 * Rejected: unknown node refs and types, malformed fields, nodes unreachable
 * from `start`, prompt ids missing from the catalogue, menus (and collects)
 * without timeout handling, error paths that end in a hangup instead of an
 * agent, and nodes from which no queue/transfer/hangup/subflow can be reached
 * (a cycle with no exit).
 */
import { ENGINE_PROMPTS } from './engine.js';
import type { Flow, PromptCatalogue } from './types.js';
import { LANGS } from './types.js';

export interface ValidateOptions {
  /** Check prompt ids against this catalogue (skipped when absent). */
  catalogue?: PromptCatalogue;
  /** Flow ids a `subflow` may name (skipped when absent). */
  knownFlowIds?: Iterable<string>;
  /** Knowledge-base article ids an `article` node may name (skipped when absent). */
  knownArticleIds?: Iterable<string>;
}

/** Article ids as the knowledge base makes them (file-safe: they name the answer's prompt). */
export const ARTICLE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

export class FlowValidationError extends Error {
  readonly code = 'IVR_FLOW_INVALID';
  constructor(readonly errors: string[]) {
    super(`invalid IVR flow:\n  ${errors.join('\n  ')}`);
    this.name = 'FlowValidationError';
  }
}

const NODE_TYPES = new Set([
  'article',
  'play',
  'menu',
  'collect',
  'queue',
  'transfer',
  'subflow',
  'hangup',
  'when',
  'language',
  'ticketStatus',
  'survey',
]);
const TERMINAL = new Set(['queue', 'transfer', 'hangup', 'subflow']);
const DTMF_KEY = /^[0-9*#A-D]$/;
const MAX_TIMEOUT_MS = 120_000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isInt = (v: unknown, min: number, max: number): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Validate one flow. Returns [] when it is fine. */
export function validateFlow(flow: unknown, opts: ValidateOptions = {}): string[] {
  const errors: string[] = [];
  if (!isObj(flow)) return ['flow: must be an object'];
  if (!isStr(flow.id)) errors.push('id: must be a non-empty string');
  if (!isObj(flow.nodes)) {
    errors.push('nodes: must be an object of node id → node');
    return errors;
  }
  const nodes = flow.nodes;
  const ids = Object.keys(nodes);
  if (ids.length === 0) errors.push('nodes: a flow needs at least one node');
  if (!isStr(flow.start)) errors.push('start: must name a node');
  else if (!(flow.start in nodes)) errors.push(`start: unknown node "${flow.start}"`);
  if (flow.lang !== undefined && !LANGS.includes(flow.lang as never)) errors.push(`lang: unknown language "${String(flow.lang)}"`);
  if (flow.utcOffsetMinutes !== undefined && !isInt(flow.utcOffsetMinutes, -720, 840)) {
    errors.push('utcOffsetMinutes: must be an integer between -720 and 840');
  }
  if (flow.maxNodeVisits !== undefined && !isInt(flow.maxNodeVisits, 10, 10_000)) {
    errors.push('maxNodeVisits: must be an integer between 10 and 10000');
  }
  if (flow.fallback !== undefined && !(isObj(flow.fallback) && isStr(flow.fallback.skill))) {
    errors.push('fallback.skill: must be a non-empty string');
  }

  const knownFlows = opts.knownFlowIds ? new Set(opts.knownFlowIds) : undefined;
  const catalogue = opts.catalogue;
  /** node id → [field path, target] */
  const edges = new Map<string, [string, string][]>();
  const types = new Map<string, string>();
  const collectSlots = new Set<string>();
  const exhaustedRefs: [string, string][] = [];

  const checkPrompt = (at: string, v: unknown, required = true): void => {
    if (v === undefined && !required) return;
    if (!isStr(v)) {
      errors.push(`${at}: must be a prompt id`);
      return;
    }
    if (catalogue && !Object.prototype.hasOwnProperty.call(catalogue, v)) errors.push(`${at}: unknown prompt "${v}"`);
  };
  const checkPromptRef = (at: string, v: unknown): void => {
    if (Array.isArray(v)) {
      if (v.length === 0) errors.push(`${at}: must list at least one prompt`);
      v.forEach((p, i) => checkPrompt(`${at}.${i}`, p));
    } else checkPrompt(at, v);
  };
  const checkTimeout = (at: string, v: unknown, what: string): void => {
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= MAX_TIMEOUT_MS)) {
      errors.push(`${at}: ${what} needs a timeout in ms (1–${MAX_TIMEOUT_MS})`);
    }
  };
  const checkRetries = (at: string, v: unknown): void => {
    if (!isInt(v, 0, 10)) errors.push(`${at}: must be an integer 0–10`);
  };

  for (const id of ids) {
    const at = `nodes.${id}`;
    const node = nodes[id];
    const out: [string, string][] = [];
    edges.set(id, out);
    const ref = (field: string, v: unknown): void => {
      if (!isStr(v)) errors.push(`${at}.${field}: must name a node`);
      else out.push([`${at}.${field}`, v]);
    };
    if (!isObj(node)) {
      errors.push(`${at}: must be an object`);
      continue;
    }
    const type = node.type;
    if (!isStr(type) || !NODE_TYPES.has(type)) {
      errors.push(`${at}.type: unknown node type "${String(type)}"`);
      continue;
    }
    types.set(id, type);
    switch (type) {
      case 'article':
        if (!isStr(node.articleId) || !ARTICLE_ID.test(node.articleId)) errors.push(`${at}.articleId: must be an article id (letters, digits, "-", at most 64)`);
        else if (opts.knownArticleIds && !new Set(opts.knownArticleIds).has(node.articleId)) errors.push(`${at}.articleId: unknown article "${node.articleId}"`);
        if (node.bargeIn !== undefined && typeof node.bargeIn !== 'boolean') errors.push(`${at}.bargeIn: must be a boolean`);
        ref('next', node.next);
        ref('onUnavailable', node.onUnavailable);
        break;
      case 'play':
        if (!Array.isArray(node.prompts) || node.prompts.length === 0) errors.push(`${at}.prompts: must list at least one prompt`);
        else node.prompts.forEach((p, i) => checkPrompt(`${at}.prompts.${i}`, p));
        ref('next', node.next);
        break;
      case 'menu': {
        checkPromptRef(`${at}.prompt`, node.prompt);
        if (!isObj(node.options) || Object.keys(node.options).length === 0) {
          errors.push(`${at}.options: a menu needs at least one option`);
        } else {
          for (const [digit, to] of Object.entries(node.options)) {
            if (!DTMF_KEY.test(digit)) errors.push(`${at}.options.${digit}: not a DTMF key`);
            ref(`options.${digit}`, to);
          }
        }
        checkTimeout(`${at}.timeoutMs`, node.timeoutMs, 'a menu');
        checkRetries(`${at}.retries`, node.retries);
        checkPrompt(`${at}.invalidPrompt`, node.invalidPrompt);
        if (node.timeoutPrompt === undefined) errors.push(`${at}.timeoutPrompt: a menu needs a timeout prompt`);
        else checkPrompt(`${at}.timeoutPrompt`, node.timeoutPrompt);
        if (node.onExhausted === undefined) errors.push(`${at}.onExhausted: a menu needs somewhere to go after repeated timeouts (an agent)`);
        else {
          ref('onExhausted', node.onExhausted);
          if (isStr(node.onExhausted)) exhaustedRefs.push([`${at}.onExhausted`, node.onExhausted]);
        }
        if (node.bargeIn !== undefined && typeof node.bargeIn !== 'boolean') errors.push(`${at}.bargeIn: must be a boolean`);
        break;
      }
      case 'collect': {
        checkPromptRef(`${at}.prompt`, node.prompt);
        const minOk = isInt(node.min, 1, 32);
        const maxOk = isInt(node.max, 1, 32);
        if (!minOk) errors.push(`${at}.min: must be an integer 1–32`);
        if (!maxOk) errors.push(`${at}.max: must be an integer 1–32`);
        if (minOk && maxOk && (node.min as number) > (node.max as number)) errors.push(`${at}.min: must not exceed max`);
        if (node.terminator !== undefined && node.terminator !== '#') errors.push(`${at}.terminator: only "#" is supported`);
        checkTimeout(`${at}.timeoutMs`, node.timeoutMs, 'a collect');
        checkRetries(`${at}.retries`, node.retries);
        if (!isStr(node.slot)) errors.push(`${at}.slot: must name a slot`);
        else collectSlots.add(node.slot);
        checkPrompt(`${at}.invalidPrompt`, node.invalidPrompt ?? 'invalid');
        checkPrompt(`${at}.timeoutPrompt`, node.timeoutPrompt ?? 'timeout');
        ref('next', node.next);
        if (node.onExhausted === undefined) errors.push(`${at}.onExhausted: a collect needs somewhere to go after repeated timeouts (an agent)`);
        else {
          ref('onExhausted', node.onExhausted);
          if (isStr(node.onExhausted)) exhaustedRefs.push([`${at}.onExhausted`, node.onExhausted]);
        }
        break;
      }
      case 'queue':
        if (node.skill !== undefined && !isStr(node.skill)) errors.push(`${at}.skill: must be a non-empty string`);
        if (node.priority !== undefined && !isInt(node.priority, -100, 100)) errors.push(`${at}.priority: must be an integer -100–100`);
        if (node.skillFromContext !== undefined && typeof node.skillFromContext !== 'boolean') {
          errors.push(`${at}.skillFromContext: must be a boolean`);
        }
        break;
      case 'transfer':
        if (!isStr(node.target)) errors.push(`${at}.target: must be a route id or dial target`);
        break;
      case 'subflow':
        if (!isStr(node.flowId)) errors.push(`${at}.flowId: must name a flow`);
        else if (knownFlows && !knownFlows.has(node.flowId)) errors.push(`${at}.flowId: unknown flow "${node.flowId}"`);
        break;
      case 'hangup':
        checkPrompt(`${at}.prompt`, node.prompt, false);
        break;
      case 'when':
        if (!Array.isArray(node.cases)) errors.push(`${at}.cases: must be a list`);
        else {
          node.cases.forEach((c, i) => {
            if (!isObj(c) || !Array.isArray(c.if)) {
              errors.push(`${at}.cases.${i}.if: must be a list of conditions`);
              return;
            }
            c.if.forEach((cond, j) => checkCondition(`${at}.cases.${i}.if.${j}`, cond, errors));
            ref(`cases.${i}.next`, c.next);
          });
        }
        ref('else', node.else);
        break;
      case 'language':
        if (!LANGS.includes(node.lang as never)) errors.push(`${at}.lang: unknown language "${String(node.lang)}"`);
        ref('next', node.next);
        break;
      case 'ticketStatus':
        if (!isStr(node.slot)) errors.push(`${at}.slot: must name a slot`);
        checkRetries(`${at}.retries`, node.retries);
        if (node.lookupTimeoutMs !== undefined) checkTimeout(`${at}.lookupTimeoutMs`, node.lookupTimeoutMs, 'a ticket lookup');
        ref('next', node.next);
        ref('retryNode', node.retryNode);
        ref('onExhausted', node.onExhausted);
        if (isStr(node.onExhausted)) exhaustedRefs.push([`${at}.onExhausted`, node.onExhausted]);
        if (catalogue) {
          for (const p of ENGINE_PROMPTS) {
            if (!Object.prototype.hasOwnProperty.call(catalogue, p)) errors.push(`${at}: ticket read-out needs prompt "${p}"`);
          }
        }
        break;
      case 'survey':
        checkPromptRef(`${at}.prompt`, node.prompt);
        checkTimeout(`${at}.timeoutMs`, node.timeoutMs, 'a survey');
        checkRetries(`${at}.retries`, node.retries);
        checkPrompt(`${at}.invalidPrompt`, node.invalidPrompt);
        checkPrompt(`${at}.timeoutPrompt`, node.timeoutPrompt);
        ref('next', node.next);
        break;
    }
  }

  // Unknown refs.
  for (const out of edges.values()) {
    for (const [at, to] of out) {
      if (!(to in nodes)) errors.push(`${at}: unknown node "${to}"`);
    }
  }

  // ticketStatus slots must be filled by a collect.
  for (const id of ids) {
    const node = nodes[id];
    if (isObj(node) && node.type === 'ticketStatus' && isStr(node.slot) && !collectSlots.has(node.slot)) {
      errors.push(`nodes.${id}.slot: no collect node fills slot "${node.slot}"`);
    }
  }

  // Reachability from start.
  const reachable = new Set<string>();
  if (isStr(flow.start) && flow.start in nodes) {
    const todo = [flow.start];
    while (todo.length > 0) {
      const id = todo.pop() as string;
      if (reachable.has(id)) continue;
      reachable.add(id);
      for (const [, to] of edges.get(id) ?? []) if (to in nodes && !reachable.has(to)) todo.push(to);
    }
    for (const id of ids) if (!reachable.has(id)) errors.push(`nodes.${id}: unreachable from start "${flow.start}"`);
  }

  // Every reachable node must be able to reach an exit (queue/transfer/hangup/subflow).
  const canExit = new Set<string>(ids.filter((id) => TERMINAL.has(types.get(id) ?? '')));
  for (let changed = true; changed; ) {
    changed = false;
    for (const id of ids) {
      if (canExit.has(id)) continue;
      if ((edges.get(id) ?? []).some(([, to]) => canExit.has(to))) {
        canExit.add(id);
        changed = true;
      }
    }
  }
  for (const id of ids) {
    if (reachable.has(id) && types.has(id) && !canExit.has(id)) {
      errors.push(`nodes.${id}: cannot reach a queue, transfer or hangup (cycle with no exit)`);
    }
  }

  // Error paths must lead to an agent: follow play/language/when from onExhausted.
  for (const [at, target] of exhaustedRefs) {
    const bad = reachesHangupDirectly(target, nodes);
    if (bad) errors.push(`${at}: callers who fail a menu go to an agent, never a hangup (reaches hangup "${bad}")`);
  }
  return errors;
}

function reachesHangupDirectly(start: string, nodes: Obj): string | undefined {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length > 0) {
    const id = todo.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const node = nodes[id];
    if (!isObj(node)) continue;
    if (node.type === 'hangup') return id;
    if (node.type === 'play' || node.type === 'language') {
      if (isStr(node.next)) todo.push(node.next);
    } else if (node.type === 'when') {
      if (Array.isArray(node.cases)) for (const c of node.cases) if (isObj(c) && isStr(c.next)) todo.push(c.next);
      if (isStr(node.else)) todo.push(node.else);
    }
  }
  return undefined;
}

function checkCondition(at: string, c: unknown, errors: string[]): void {
  if (!isObj(c)) {
    errors.push(`${at}: must be a condition object`);
    return;
  }
  const hhmm = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
  switch (c.kind) {
    case 'time':
      if (!isStr(c.from) || !hhmm.test(c.from)) errors.push(`${at}.from: must be "HH:MM"`);
      if (!isStr(c.to) || !hhmm.test(c.to)) errors.push(`${at}.to: must be "HH:MM"`);
      break;
    case 'weekday':
      if (!Array.isArray(c.days) || c.days.length === 0 || !c.days.every((d) => isInt(d, 1, 7))) {
        errors.push(`${at}.days: must list ISO weekdays 1–7`);
      }
      break;
    case 'holiday':
    case 'workday':
      if (typeof c.is !== 'boolean') errors.push(`${at}.is: must be a boolean`);
      break;
    case 'context':
      if (!['skill', 'source', 'area'].includes(c.field as string)) errors.push(`${at}.field: must be skill, source or area`);
      break;
    case 'slot':
      if (!isStr(c.name)) errors.push(`${at}.name: must name a slot`);
      break;
    case 'lang':
      if (!LANGS.includes(c.is as never)) errors.push(`${at}.is: unknown language "${String(c.is)}"`);
      break;
    default:
      errors.push(`${at}.kind: unknown condition "${String(c.kind)}"`);
  }
}

/**
 * Validate a set of flows by id (subflows may name any of them). Errors are
 * prefixed with the flow's key: `hotline-zh: nodes.main.options.3: unknown node "foo"`.
 */
export function validateFlows(flows: Record<string, unknown>, opts: Omit<ValidateOptions, 'knownFlowIds'> = {}): string[] {
  const known = Object.keys(flows);
  const errors: string[] = [];
  for (const [key, flow] of Object.entries(flows)) {
    if (isObj(flow) && isStr(flow.id) && flow.id !== key) errors.push(`${key}: id: "${flow.id}" does not match its key`);
    for (const e of validateFlow(flow, { ...opts, knownFlowIds: known })) errors.push(`${key}: ${e}`);
  }
  return errors;
}

/** Throws {@link FlowValidationError} listing every problem. */
export function assertValidFlows(flows: Record<string, unknown>, opts: Omit<ValidateOptions, 'knownFlowIds'> = {}): void {
  const errors = validateFlows(flows, opts);
  if (errors.length > 0) throw new FlowValidationError(errors);
}

/** Article ids the flows' `article` nodes name (the call's start context carries only these). */
export function articlesUsedBy(flows: Iterable<Flow>): Set<string> {
  const used = new Set<string>();
  for (const flow of flows) for (const node of Object.values(flow.nodes ?? {})) if (node?.type === 'article' && isStr(node.articleId)) used.add(node.articleId);
  return used;
}

/** Every prompt id a flow can play (including the engine's own ticket read-out prompts). */
export function promptsUsedBy(flow: Flow): Set<string> {
  const used = new Set<string>();
  const add = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(add);
    else if (isStr(v)) used.add(v);
  };
  for (const node of Object.values(flow.nodes)) {
    switch (node.type) {
      case 'play':
        add(node.prompts);
        break;
      case 'menu':
        add(node.prompt);
        add(node.invalidPrompt);
        add(node.timeoutPrompt);
        break;
      case 'collect':
        add(node.prompt);
        add(node.invalidPrompt ?? 'invalid');
        add(node.timeoutPrompt ?? 'timeout');
        break;
      case 'hangup':
        add(node.prompt);
        break;
      case 'survey':
        add(node.prompt);
        add(node.invalidPrompt);
        add(node.timeoutPrompt);
        break;
      case 'ticketStatus':
        ENGINE_PROMPTS.forEach(add);
        break;
      default:
        break;
    }
  }
  return used;
}

/** Prompt ids not in the catalogue (with both zh and en text), sorted: for the boot check. */
export function missingPrompts(ids: Iterable<string>, catalogue: PromptCatalogue): string[] {
  const missing = new Set<string>();
  for (const id of ids) {
    const e = catalogue[id];
    if (!Object.prototype.hasOwnProperty.call(catalogue, id) || !e || !isStr(e.zh) || !isStr(e.en)) missing.add(id);
  }
  return [...missing].sort();
}

/** Structural check of a catalogue: every entry has non-empty zh and en text and a file-safe id. */
export function validateCatalogue(catalogue: unknown): string[] {
  if (!isObj(catalogue)) return ['catalogue: must be an object of prompt id → { zh, en }'];
  const errors: string[] = [];
  for (const [id, e] of Object.entries(catalogue)) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) errors.push(`${id}: prompt ids are lower-case letters, digits and "-"`);
    if (!isObj(e)) {
      errors.push(`${id}: must be { zh, en }`);
      continue;
    }
    for (const lang of LANGS) if (!isStr(e[lang]) || !(e[lang] as string).trim()) errors.push(`${id}.${lang}: missing text`);
  }
  return errors;
}
