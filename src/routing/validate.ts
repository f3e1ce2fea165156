/**
 * Routing-table validation: run before a table is published (and on every
 * draft save, to show inline messages). Takes unknown JSON, never throws, and
 * returns every problem with the path of the field, e.g.
 * `routes[3].numbers[0]: "1233x" is not a dialable number`.
 *
 * @remarks
 * Rejected: malformed fields, unknown modes, duplicate route ids, numbers used
 * twice in one area, 110/119/120/122 in any mode but linkage, transition
 * windows that end before they start, merged lines without their prompts,
 * prompts/skills/seat groups/flows unknown to the provided catalogues, targets
 * missing or unsafe (dial strings are restricted to a safe charset: no `&`,
 * `,`, `|`, spaces, `$`, `(` …), dial strings that lead back into our own
 * Stasis app (a Local channel into an inbound context, our own number through
 * the carrier: see loops.ts), route references that loop, overlapping or
 * inverted business hours, priorities out of range, area parents that loop,
 * and a table whose default area reaches no 12345 hotline route.
 */
import { ISO_DATETIME_HINT, isoDateTimeProblem, parseIsoDateTime } from '../util/datetime.js';
import { dialLoopProblem, type LoopGuardOptions } from './loops.js';
import { EMERGENCY_NUMBERS, MAX_PRIORITY, ROUTE_MODES, type RoutingTable } from './model.js';

/** A field-named validation problem. */
export interface FieldError {
  field: string;
  message: string;
}

export interface ValidateTableOptions {
  /** Prompt ids that exist (a catalogue object or a set of ids); checked when given. */
  prompts?: Iterable<string> | Record<string, unknown>;
  /** Known skills; checked when given. */
  skills?: Iterable<string>;
  /** Known ACD seat groups (queue targets, expert groups); checked when given. */
  groups?: Iterable<string>;
  /** Known IVR flow ids (defaultFlow, hotline flowId); checked when given. */
  flows?: Iterable<string>;
  /** Dialplan contexts that reach our Stasis app and carrier endpoints (default: those of dialplan/ and asterisk/, see loops.ts). */
  loops?: Pick<LoopGuardOptions, 'ownContexts' | 'carrierEndpoints'>;
}

export class RoutingTableError extends Error {
  readonly code = 'ROUTING_TABLE_INVALID';
  constructor(readonly errors: FieldError[]) {
    super(`invalid routing table:\n  ${formatErrors(errors).join('\n  ')}`);
    this.name = 'RoutingTableError';
  }
}

/** `field: message` lines. */
export function formatErrors(errors: readonly FieldError[]): string[] {
  return errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
}

/** A dialable number: 3–12 digits (110, 12333, 6781767, 67175706, 037167175706). */
export const NUMBER_RE = /^[0-9]{3,12}$/;
const ROUTE_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const AREA_ID_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const SKILL_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const GROUP_RE = /^[A-Za-z0-9_-]{1,32}$/;
const HHMM_RE = /^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/;
/**
 * Safe dial strings: `PJSIP/<res>[@<endpoint>]`, `SIP/…`, `IAX2/…`, or
 * `Local/<exten>@<context>[/n]`. Only `[A-Za-z0-9_.+-]` in the parts, so nothing
 * can smuggle Dial() options (`,`), parallel legs (`&`), or dialplan functions (`$`, `(`).
 */
const DIAL_TECH_RE = /^(PJSIP|SIP|IAX2)\/[A-Za-z0-9_.+-]+(@[A-Za-z0-9_.-]+)?$/;
const DIAL_LOCAL_RE = /^Local\/[A-Za-z0-9_.+-]+@[A-Za-z0-9_.-]+(\/n)?$/;
const MAX_DIAL_LEN = 80;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;
const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const q = (v: unknown): string => JSON.stringify(v) ?? String(v);

function toSet(x: Iterable<string> | Record<string, unknown> | undefined): Set<string> | undefined {
  if (x === undefined) return undefined;
  if (typeof (x as Iterable<string>)[Symbol.iterator] === 'function') return new Set(x as Iterable<string>);
  return new Set(Object.keys(x));
}

/** Why a dial string is unsafe, or undefined when it is fine. */
export function dialStringProblem(s: string): string | undefined {
  if (s.length > MAX_DIAL_LEN) return `is longer than ${MAX_DIAL_LEN} characters`;
  const bad = s.match(/[^A-Za-z0-9_.+@/-]/);
  if (bad) return `contains the unsafe character ${q(bad[0])}`;
  if (s.startsWith('Local/')) {
    return DIAL_LOCAL_RE.test(s) ? undefined : 'must look like Local/<exten>@<context>';
  }
  return DIAL_TECH_RE.test(s) ? undefined : 'must look like PJSIP/<resource>[@<endpoint>] (or SIP/, IAX2/, Local/<exten>@<context>)';
}

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/** Validate a routing table. Returns [] when it is fine; never throws. */
export function validateTable(input: unknown, opts: ValidateTableOptions = {}): FieldError[] {
  const errors: FieldError[] = [];
  const err = (field: string, message: string): void => {
    errors.push({ field, message });
  };
  if (!isObj(input)) return [{ field: '', message: 'a routing table must be an object' }];
  const t = input;
  const prompts = toSet(opts.prompts);
  const skills = toSet(opts.skills);
  const groups = toSet(opts.groups);
  const flows = toSet(opts.flows);

  if (!(isStr(t.cityId) && AREA_ID_RE.test(t.cityId))) err('cityId', 'must be a lower-case id like "zaozhuang"');
  if (!isStr(t.name)) err('name', 'must be a non-empty string');
  if (!isStr(t.nameEn)) err('nameEn', 'must be a non-empty string');
  if (!isInt(t.version, 0, Number.MAX_SAFE_INTEGER)) err('version', 'must be an integer ≥ 0');
  if (!isStr(t.defaultFlow)) err('defaultFlow', 'must name an IVR flow');
  else if (flows && !flows.has(t.defaultFlow)) err('defaultFlow', `unknown flow ${q(t.defaultFlow)}`);
  if (t.utcOffsetMinutes !== undefined && !isInt(t.utcOffsetMinutes, -720, 840)) {
    err('utcOffsetMinutes', 'must be an integer between -720 and 840');
  }
  if (t.linkagePriorityBoost !== undefined && !isInt(t.linkagePriorityBoost, 0, MAX_PRIORITY)) {
    err('linkagePriorityBoost', `must be an integer 0–${MAX_PRIORITY}`);
  }

  // ---- areas
  const areaParent = new Map<string, string | undefined>();
  if (!Array.isArray(t.areas) || t.areas.length === 0) err('areas', 'must list at least one area');
  else {
    t.areas.forEach((a, i) => {
      const at = `areas[${i}]`;
      if (!isObj(a)) return err(at, 'must be an object');
      if (!(isStr(a.id) && AREA_ID_RE.test(a.id))) return err(`${at}.id`, `${q(a.id)} is not a valid area id ([a-z0-9-])`);
      if (areaParent.has(a.id)) err(`${at}.id`, `duplicate area id ${q(a.id)}`);
      if (!isStr(a.name)) err(`${at}.name`, 'must be a non-empty string');
      if (!isStr(a.nameEn)) err(`${at}.nameEn`, 'must be a non-empty string');
      if (a.code !== undefined && !(typeof a.code === 'string' && /^\d{6}$/.test(a.code))) err(`${at}.code`, 'must be a 6-digit division code');
      if (a.dialCode !== undefined && !(typeof a.dialCode === 'string' && /^0\d{2,3}$/.test(a.dialCode))) {
        err(`${at}.dialCode`, 'must be a long-distance code like "0371"');
      }
      if (a.parent !== undefined && !isStr(a.parent)) err(`${at}.parent`, 'must name an area');
      areaParent.set(a.id, isStr(a.parent) ? a.parent : undefined);
    });
    t.areas.forEach((a, i) => {
      if (!isObj(a) || !isStr(a.parent)) return;
      if (!areaParent.has(a.parent)) err(`areas[${i}].parent`, `unknown area ${q(a.parent)}`);
      // Walk up: a cycle would make number lookups loop.
      const path: string[] = [a.id as string];
      let p: string | undefined = a.parent;
      while (p !== undefined && areaParent.has(p)) {
        if (path.includes(p)) {
          if (p === a.id) err(`areas[${i}].parent`, `area parents loop: ${[...path, p].join(' → ')}`);
          break;
        }
        path.push(p);
        p = areaParent.get(p);
      }
    });
  }
  if (!isStr(t.defaultArea)) err('defaultArea', 'must name an area');
  else if (areaParent.size > 0 && !areaParent.has(t.defaultArea)) err('defaultArea', `unknown area ${q(t.defaultArea)}`);

  // ---- routes
  if (!Array.isArray(t.routes)) {
    err('routes', 'must be a list of routes');
    return errors;
  }
  const routes = t.routes;
  const routeIndex = new Map<string, number>();
  // Numbers this table answers (and its areas' dial codes): dialled out through the carrier they come back to us.
  const loopGuard: LoopGuardOptions = {
    ...opts.loops,
    // (a linkage partner's number, 110, reaches the partner, not us)
    ownNumbers: routes.flatMap((r) => (isObj(r) && r.mode !== 'linkage' && Array.isArray(r.numbers) ? r.numbers.filter((n): n is string => typeof n === 'string') : [])),
    dialCodes: Array.isArray(t.areas) ? t.areas.flatMap((a) => (isObj(a) && typeof a.dialCode === 'string' ? [a.dialCode] : [])) : [],
  };
  /** area → number → index of the route that has it */
  const numberOwner = new Map<string, Map<string, number>>();
  /** route index → route ids it refers to, with the field path */
  const refs = new Map<number, [string, string][]>();
  const hotlineAreas = new Set<string>();

  routes.forEach((r, i) => {
    if (isObj(r) && isStr(r.id)) {
      if (routeIndex.has(r.id)) err(`routes[${i}].id`, `duplicate route id ${q(r.id)} (also routes[${routeIndex.get(r.id)}])`);
      else routeIndex.set(r.id, i);
    }
  });

  const checkPrompt = (at: string, v: unknown): void => {
    if (!isStr(v)) return err(at, 'must be a prompt id');
    if (prompts && !prompts.has(v)) err(at, `unknown prompt ${q(v)}`);
  };
  const checkGroup = (at: string, v: unknown): void => {
    if (!(isStr(v) && GROUP_RE.test(v))) return err(at, `${q(v)} is not a valid seat group id`);
    if (groups && !groups.has(v)) err(at, `unknown seat group ${q(v)}`);
  };
  const checkTarget = (at: string, v: unknown, i: number, selfId: unknown): void => {
    if (!isObj(v)) return err(at, 'must be a target: {kind:"queue",group} | {kind:"dial",dialString} | {kind:"route",routeId}');
    switch (v.kind) {
      case 'queue':
        return checkGroup(`${at}.group`, v.group);
      case 'dial': {
        if (!isStr(v.dialString)) return err(`${at}.dialString`, 'must be a dial string');
        const problem = dialStringProblem(v.dialString) ?? dialLoopProblem(v.dialString, loopGuard);
        if (problem) err(`${at}.dialString`, `${q(v.dialString)} ${problem}`);
        return;
      }
      case 'route':
        if (!isStr(v.routeId)) return err(`${at}.routeId`, 'must name a route');
        if (v.routeId === selfId) return err(`${at}.routeId`, 'a route cannot send calls to itself');
        if (!routeIndex.has(v.routeId)) return err(`${at}.routeId`, `unknown route ${q(v.routeId)}`);
        refs.get(i)!.push([`${at}.routeId`, v.routeId]);
        return;
      default:
        err(`${at}.kind`, `unknown target kind ${q(v.kind)} (queue, dial or route)`);
    }
  };
  const checkWindowInstant = (at: string, v: unknown): number | undefined => {
    const problem = isoDateTimeProblem(v);
    if (problem) {
      // The table's messages are English (formatErrors lines); the rule is the shared one.
      err(at, problem === ISO_DATETIME_HINT ? `${q(v)} is not an ISO 8601 time with offset (e.g. 2021-11-01T00:00:00+08:00)` : `${q(v)}: ${problem.split(' / ').pop()!}`);
      return undefined;
    }
    return parseIsoDateTime(v);
  };

  routes.forEach((r, i) => {
    const at = `routes[${i}]`;
    refs.set(i, []);
    if (!isObj(r)) return err(at, 'must be an object');
    if (!(isStr(r.id) && ROUTE_ID_RE.test(r.id))) err(`${at}.id`, `${q(r.id)} is not a valid route id ([A-Za-z0-9_.-], ≤ 64)`);
    for (const f of ['name', 'nameEn', 'unit'] as const) if (!isStr(r[f])) err(`${at}.${f}`, 'must be a non-empty string');

    const mode = r.mode;
    const modeOk = typeof mode === 'string' && (ROUTE_MODES as readonly string[]).includes(mode);
    if (!modeOk) err(`${at}.mode`, `unknown mode ${q(mode)} (one of ${ROUTE_MODES.join(', ')})`);

    let area: string | undefined;
    if (!isStr(r.area)) err(`${at}.area`, 'must name an area');
    else if (areaParent.size > 0 && !areaParent.has(r.area)) err(`${at}.area`, `unknown area ${q(r.area)}`);
    else area = r.area;

    // numbers
    if (!Array.isArray(r.numbers)) err(`${at}.numbers`, 'must be a list of numbers (may be empty for rows without one)');
    else {
      if (mode === 'hotline' && r.numbers.length === 0) err(`${at}.numbers`, 'the hotline route needs its number (12345)');
      const own = new Set<string>();
      r.numbers.forEach((n, j) => {
        const nat = `${at}.numbers[${j}]`;
        if (!(typeof n === 'string' && NUMBER_RE.test(n))) return err(nat, `${q(n)} is not a dialable number`);
        if (own.has(n)) return err(nat, `${q(n)} is listed twice`);
        own.add(n);
        if ((EMERGENCY_NUMBERS as readonly string[]).includes(n) && modeOk && mode !== 'linkage') {
          err(nat, `emergency number ${q(n)} may only be a linkage partner, not ${mode}`);
        }
        if (area === undefined) return;
        let owners = numberOwner.get(area);
        if (!owners) numberOwner.set(area, (owners = new Map()));
        const prev = owners.get(n);
        if (prev !== undefined) {
          const prevId = (routes[prev] as Obj).id;
          err(nat, `${q(n)} is already used by route ${q(prevId)} (routes[${prev}]) in area ${q(area)}`);
        } else owners.set(n, i);
      });
    }

    if (r.skills !== undefined) {
      if (!Array.isArray(r.skills)) err(`${at}.skills`, 'must be a list of skills');
      else
        r.skills.forEach((s, j) => {
          if (!(typeof s === 'string' && SKILL_RE.test(s))) err(`${at}.skills[${j}]`, `${q(s)} is not a valid skill name`);
          else if (skills && !skills.has(s)) err(`${at}.skills[${j}]`, `unknown skill ${q(s)}`);
        });
    }
    if (r.priority !== undefined && !isInt(r.priority, 0, MAX_PRIORITY)) {
      err(`${at}.priority`, `${q(r.priority)} is not an integer in 0–${MAX_PRIORITY}`);
    }
    if (r.recording !== undefined && typeof r.recording !== 'boolean') err(`${at}.recording`, 'must be true or false');
    if (r.note !== undefined && typeof r.note !== 'string') err(`${at}.note`, 'must be a string');
    if (r.source !== undefined) {
      if (!isObj(r.source) || !isStr(r.source.file) || !isStr(r.source.section)) err(`${at}.source`, 'must be {file, section, row?}');
      else if (r.source.row !== undefined && !isInt(r.source.row, 1, 999)) err(`${at}.source.row`, 'must be a positive integer');
    }

    // prompts
    const pr = r.prompts;
    if (pr !== undefined) {
      if (!isObj(pr)) err(`${at}.prompts`, 'must be an object of prompt ids');
      else
        for (const [k, v] of Object.entries(pr)) {
          if (!['transition', 'cancel', 'closed', 'forward'].includes(k)) err(`${at}.prompts.${k}`, 'unknown prompt slot (transition, cancel, closed, forward)');
          else checkPrompt(`${at}.prompts.${k}`, v);
        }
    }
    const hasPrompt = (k: string): boolean => isObj(pr) && pr[k] !== undefined;

    // business hours
    const bh = r.businessHours;
    if (bh !== undefined) {
      const bat = `${at}.businessHours`;
      if (!isObj(bh)) err(bat, 'must be {weekly, holidays}');
      else {
        if (bh.holidays !== 'closed' && bh.holidays !== 'open') err(`${bat}.holidays`, 'must be "closed" or "open"');
        if (!Array.isArray(bh.weekly) || bh.weekly.length === 0) err(`${bat}.weekly`, 'must list at least one window (omit businessHours for 7×24)');
        else {
          /** day → [from, to, index] */
          const perDay = new Map<number, [number, number, number][]>();
          bh.weekly.forEach((w, j) => {
            const wat = `${bat}.weekly[${j}]`;
            if (!isObj(w)) return err(wat, 'must be {days, from, to}');
            let ok = true;
            if (!Array.isArray(w.days) || w.days.length === 0 || !w.days.every((d) => isInt(d, 1, 7))) {
              err(`${wat}.days`, 'must list ISO weekdays 1 (Mon) … 7 (Sun)');
              ok = false;
            } else if (new Set(w.days).size !== w.days.length) err(`${wat}.days`, 'lists a day twice');
            for (const f of ['from', 'to'] as const) {
              if (!(typeof w[f] === 'string' && HHMM_RE.test(w[f] as string))) {
                err(`${wat}.${f}`, `${q(w[f])} is not a time HH:MM`);
                ok = false;
              }
            }
            if (!ok) return;
            const from = minutes(w.from as string);
            const to = minutes(w.to as string);
            if (from >= to) return err(`${wat}.to`, `must be after from (${w.from as string}); split windows that cross midnight`);
            for (const d of w.days as number[]) {
              const list = perDay.get(d) ?? [];
              for (const [f2, t2, k] of list) {
                if (from < t2 && f2 < to) err(`${wat}`, `overlaps ${bat}.weekly[${k}] on day ${d}`);
              }
              list.push([from, to, j]);
              perDay.set(d, list);
            }
          });
        }
      }
    }
    if (r.overflow !== undefined) checkTarget(`${at}.overflow`, r.overflow, i, r.id);

    if (!modeOk) return;
    const expertAllowed = mode === 'merged' || mode === 'parallel' || mode === 'subcenter' || mode === 'subplatform' || mode === 'transfer';
    if (r.expertSeats !== undefined && !expertAllowed) err(`${at}.expertSeats`, `a ${mode} route has no expert seats`);
    if (r.expertSeats !== undefined && typeof r.expertSeats !== 'boolean') err(`${at}.expertSeats`, 'must be true or false');
    if (r.expertGroup !== undefined) {
      if (!expertAllowed) err(`${at}.expertGroup`, `a ${mode} route has no expert seats`);
      else checkGroup(`${at}.expertGroup`, r.expertGroup);
    } else if (r.expertSeats === true && groups) {
      const primary = Array.isArray(r.skills) && typeof r.skills[0] === 'string' ? r.skills[0] : Array.isArray(r.numbers) ? r.numbers[0] : undefined;
      const derived = `expert-${String(primary)}`;
      if (!groups.has(derived)) err(`${at}.expertSeats`, `expert seat group ${q(derived)} does not exist (set expertGroup)`);
    }
    const notFor = (field: string, modes: string): void => {
      if (r[field] !== undefined) err(`${at}.${field}`, `only ${modes} routes have ${field}`);
    };

    switch (mode) {
      case 'hotline':
        if (area !== undefined) hotlineAreas.add(area);
        if (r.flowId !== undefined) {
          if (!isStr(r.flowId)) err(`${at}.flowId`, 'must name an IVR flow');
          else if (flows && !flows.has(r.flowId)) err(`${at}.flowId`, `unknown flow ${q(r.flowId)}`);
        }
        if (bh !== undefined && !hasPrompt('closed')) err(`${at}.prompts.closed`, 'a hotline with business hours needs a closed prompt');
        notFor('target', 'subcenter, subplatform, transfer and linkage');
        notFor('transition', 'merged');
        break;
      case 'merged': {
        if (r.afterCancel !== undefined && r.afterCancel !== 'hotline' && r.afterCancel !== 'release') {
          err(`${at}.afterCancel`, `must be "hotline" or "release", not ${q(r.afterCancel)}`);
        }
        if (r.keepNumber !== undefined && typeof r.keepNumber !== 'boolean') err(`${at}.keepNumber`, 'must be true or false');
        notFor('target', 'subcenter, subplatform, transfer and linkage');
        if (r.transition !== undefined) {
          if (r.keepNumber === true) err(`${at}.transition`, 'a merged line that keeps its number is never cancelled: drop the transition window or keepNumber');
          if (!isObj(r.transition)) err(`${at}.transition`, 'must be {from, until}');
          else {
            const from = checkWindowInstant(`${at}.transition.from`, r.transition.from);
            const until = checkWindowInstant(`${at}.transition.until`, r.transition.until);
            if (from !== undefined && until !== undefined && until <= from) {
              err(`${at}.transition.until`, `${q(r.transition.until)} is not after transition.from ${q(r.transition.from)}`);
            }
          }
          if (!hasPrompt('transition')) err(`${at}.prompts.transition`, 'a merged line with a transition window needs a transition prompt');
          if (!hasPrompt('cancel')) err(`${at}.prompts.cancel`, 'a merged line with a transition window needs a cancellation prompt for after it');
        } else if (r.keepNumber !== true && !hasPrompt('cancel')) {
          err(`${at}.prompts.cancel`, 'a merged line without a transition window is cancelled: it needs a cancellation prompt');
        }
        break;
      }
      case 'parallel':
        if (typeof r.expertSeats !== 'boolean') err(`${at}.expertSeats`, 'a parallel line must say whether it has expert seats (true/false)');
        notFor('target', 'subcenter, subplatform, transfer and linkage');
        notFor('transition', 'merged');
        break;
      case 'subcenter':
      case 'subplatform':
      case 'transfer':
        if (r.target === undefined) err(`${at}.target`, `a ${mode} line needs a target (its seat group or a dial string)`);
        else checkTarget(`${at}.target`, r.target, i, r.id);
        notFor('transition', 'merged');
        break;
      case 'linkage':
        if (r.target !== undefined) checkTarget(`${at}.target`, r.target, i, r.id);
        for (const f of ['transition', 'keepNumber', 'afterCancel']) {
          if (r[f] !== undefined) err(`${at}.${f}`, 'a linkage line is a transfer partner and is never merged');
        }
        break;
    }
  });

  // ---- route reference loops (target/overflow chains of kind "route")
  const state = new Map<number, 'visiting' | 'done'>();
  const reported = new Set<number>();
  const visit = (i: number, trail: number[]): void => {
    if (state.get(i) === 'done') return;
    if (state.get(i) === 'visiting') {
      const cycle = trail.slice(trail.indexOf(i));
      if (!cycle.some((c) => reported.has(c))) {
        cycle.forEach((c) => reported.add(c));
        const ids = [...cycle, i].map((c) => q((routes[c] as Obj).id)).join(' → ');
        const [field] = refs.get(cycle[cycle.length - 1]!)!.find(([, id]) => routeIndex.get(id) === i) ?? [`routes[${i}]`];
        err(field, `routing loop: ${ids}`);
      }
      return;
    }
    state.set(i, 'visiting');
    for (const [, id] of refs.get(i) ?? []) {
      const j = routeIndex.get(id);
      if (j !== undefined) visit(j, [...trail, i]);
    }
    state.set(i, 'done');
  };
  for (const i of refs.keys()) visit(i, []);

  // ---- a 12345 entry reachable from the default area
  if (isStr(t.defaultArea) && areaParent.has(t.defaultArea)) {
    let a: string | undefined = t.defaultArea;
    const seen = new Set<string>();
    let found = false;
    while (a !== undefined && !seen.has(a)) {
      if (hotlineAreas.has(a)) found = true;
      seen.add(a);
      a = areaParent.get(a);
    }
    if (!found) err('routes', `the table has no 12345 hotline route for its default area ${q(t.defaultArea)}`);
  } else if (hotlineAreas.size === 0) err('routes', 'the table has no 12345 hotline route');
  if (hotlineAreas.size > 0) {
    const answers12345 = routes.some((r) => isObj(r) && r.mode === 'hotline' && Array.isArray(r.numbers) && r.numbers.includes('12345'));
    if (!answers12345) err('routes', 'no hotline route answers the number 12345');
  }

  return errors;
}

/** Validate and, when fine, return the table typed; otherwise the errors. */
export function parseTable(
  input: unknown,
  opts: ValidateTableOptions = {},
): { ok: true; table: RoutingTable } | { ok: false; errors: FieldError[] } {
  const errors = validateTable(input, opts);
  return errors.length === 0 ? { ok: true, table: input as RoutingTable } : { ok: false, errors };
}

/** Validate or throw {@link RoutingTableError} (boot-time use). */
export function assertTable(input: unknown, opts: ValidateTableOptions = {}): RoutingTable {
  const r = parseTable(input, opts);
  if (!r.ok) throw new RoutingTableError(r.errors);
  return r.table;
}

