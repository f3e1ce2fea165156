/**
 * The resolver: (table, dialed number, source, area, time) → what the caller
 * experiences. Pure: no I/O, no clock; the same inputs give the same decision,
 * so test-dial shows exactly what a real call would do.
 *
 * @remarks
 * Never drops a caller: an unknown number, an unknown area or a broken route
 * reference all end in the 12345 flow. Only a merged line configured with
 * `afterCancel: 'release'` (or a closed hotline without overflow) releases, and
 * never a call handed in by a linkage partner. Every step is explained in `why`.
 */
import {
  DEFAULT_UTC_OFFSET_MIN,
  LINKAGE_PRIORITY_BOOST,
  MAX_PRIORITY,
  SKILL_GENERAL,
  expertGroupOf,
  primarySkill,
  targetString,
  type Area,
  type BusinessHours,
  type HotlineRoute,
  type LineRoute,
  type RouteTarget,
  type RoutingTable,
} from './model.js';

export interface CallQuery {
  /** The number the caller dialed (the dialplan's `${EXTEN}`); non-digits are ignored. */
  dialed: string;
  /** Where the call came from: `carrier`, `linkage`, `subcenter`, `agent`, … */
  source: string;
  /** Area (city/district id) of the inbound trunk; the table's default area when absent or unknown. */
  area?: string;
  at: Date;
  /** Is the call's instant on a public holiday (local calendar)? Default: never. */
  isHoliday?: (at: Date) => boolean;
  /** For linkage/sub-center hand-ins: the partner's number (e.g. `110`), to name the partner line. */
  from?: string;
}

/** The legacy line a call came in on (absent for 12345 itself and unknown numbers). */
export interface LineInfo {
  id: string;
  number: string;
  name: string;
  unit: string;
  mode: string;
}

interface DecisionBase {
  routeId: string;
  line?: LineInfo;
  /** Prompt ids played before the next step. */
  announce: string[];
  /** Record the call. */
  record: boolean;
  /** The table version that decided; a call keeps it for its whole life. */
  tableVersion: number;
  /** Human-readable trail, for test-dial and the call record. */
  why: string[];
}

export interface HotlineDecision extends DecisionBase {
  action: 'hotline';
  skill: string;
  priority: number;
  /** Try the line's expert seat group first. */
  expertFirst: boolean;
  expertGroup?: string;
  flowId: string;
}

export interface TargetDecision extends DecisionBase {
  action: 'target';
  /** {@link targetString} of `targetSpec`: `queue:<group>` or a dial string. */
  target: string;
  targetSpec: Exclude<RouteTarget, { kind: 'route' }>;
  /** Where to go if the target does not answer (the hand-off module decides when). */
  overflow?: RouteTarget;
}

export interface ReleaseDecision extends DecisionBase {
  action: 'release';
}

export type RouteDecision = HotlineDecision | TargetDecision | ReleaseDecision;

const MAX_ROUTE_HOPS = 8;

interface Ctx {
  table: RoutingTable;
  q: CallQuery;
  why: string[];
  /** The call's area and its ancestors, nearest first. */
  chain: Area[];
  hops: number;
}

/** Digits only. */
export function normalizeNumber(dialed: string): string {
  return dialed.replace(/\D+/g, '');
}

function areaChain(table: RoutingTable, areaId: string): Area[] {
  const byId = new Map(table.areas.map((a) => [a.id, a] as const));
  const out: Area[] = [];
  let a = byId.get(areaId);
  while (a && !out.includes(a)) {
    out.push(a);
    a = a.parent ? byId.get(a.parent) : undefined;
  }
  return out;
}

function findByNumber(ctx: Ctx, number: string): LineRoute | undefined {
  for (const area of ctx.chain) {
    const r = ctx.table.routes.find((x) => x.area === area.id && x.numbers.includes(number));
    if (r) return r;
  }
  return undefined;
}

function lineInfo(route: LineRoute, number: string | undefined): LineInfo {
  return { id: route.id, number: number ?? route.numbers[0] ?? '', name: route.name, unit: route.unit, mode: route.mode };
}

const fmtRoute = (r: LineRoute): string => `route ${r.id} (${r.name}, ${r.mode}, area ${r.area})`;

/** Is `hours` open at `at`? Absent hours mean 7×24. */
export function isOpen(hours: BusinessHours | undefined, at: Date, utcOffsetMinutes: number, isHoliday?: (at: Date) => boolean): boolean {
  if (!hours) return true;
  if (isHoliday?.(at)) return hours.holidays === 'open';
  const local = new Date(at.getTime() + utcOffsetMinutes * 60_000);
  const day = local.getUTCDay() === 0 ? 7 : local.getUTCDay();
  const min = local.getUTCHours() * 60 + local.getUTCMinutes();
  return hours.weekly.some((w) => {
    if (!w.days.includes(day)) return false;
    const [fh, fm] = w.from.split(':').map(Number);
    const [th, tm] = w.to.split(':').map(Number);
    return min >= fh! * 60 + fm! && min < th! * 60 + tm!;
  });
}

function routeOpen(ctx: Ctx, route: LineRoute): boolean {
  return isOpen(route.businessHours, ctx.q.at, ctx.table.utcOffsetMinutes ?? DEFAULT_UTC_OFFSET_MIN, ctx.q.isHoliday);
}

function base(ctx: Ctx, route: LineRoute | undefined, routeId: string, number: string | undefined, announce: string[]): DecisionBase {
  return {
    routeId,
    ...(route && route.mode !== 'hotline' ? { line: lineInfo(route, number) } : {}),
    announce,
    record: route?.recording ?? true,
    tableVersion: ctx.table.version,
    why: ctx.why,
  };
}

/** The nearest 12345 entry for the call's area. */
function hotlineRoute(ctx: Ctx): HotlineRoute | undefined {
  for (const area of ctx.chain) {
    const r = ctx.table.routes.find((x): x is HotlineRoute => x.mode === 'hotline' && x.area === area.id);
    if (r) return r;
  }
  return ctx.table.routes.find((x): x is HotlineRoute => x.mode === 'hotline');
}

/** The 12345 flow itself (dialed 12345, or an unknown number). */
function hotlineEntry(ctx: Ctx, route: HotlineRoute | undefined, pre: string[]): RouteDecision {
  const h = route ?? hotlineRoute(ctx);
  if (!h) {
    ctx.why.push(`no hotline route in the table: default flow ${ctx.table.defaultFlow}`);
    return {
      action: 'hotline',
      ...base(ctx, undefined, `${ctx.table.cityId}:12345`, undefined, pre),
      skill: SKILL_GENERAL,
      priority: 0,
      expertFirst: false,
      flowId: ctx.table.defaultFlow,
    };
  }
  if (!routeOpen(ctx, h)) {
    const announce = h.prompts?.closed ? [...pre, h.prompts.closed] : pre;
    ctx.why.push(`${fmtRoute(h)} is closed at this time`);
    if (h.overflow) return followTarget(ctx, h, undefined, h.overflow, announce);
    ctx.why.push('no overflow target: release after the closed notice');
    return { action: 'release', ...base(ctx, h, h.id, undefined, announce) };
  }
  const flowId = h.flowId ?? ctx.table.defaultFlow;
  ctx.why.push(`12345 flow ${flowId} via ${h.id}`);
  return {
    action: 'hotline',
    ...base(ctx, h, h.id, undefined, pre),
    skill: primarySkill(h),
    priority: h.priority ?? 0,
    expertFirst: false,
    flowId,
  };
}

/** A legacy line's call into the 12345 flow, tagged with the line's skill. */
function intoHotline(ctx: Ctx, route: LineRoute, number: string | undefined, announce: string[], expert: boolean): RouteDecision {
  const h = hotlineRoute(ctx);
  const flowId = h?.flowId ?? ctx.table.defaultFlow;
  const skill = primarySkill(route);
  const group = expert ? expertGroupOf(route) : undefined;
  ctx.why.push(`into 12345 flow ${flowId} with skill ${skill}${group ? `, expert group ${group} first` : ''}`);
  return {
    action: 'hotline',
    ...base(ctx, route, route.id, number, announce),
    skill,
    priority: route.priority ?? 0,
    expertFirst: group !== undefined,
    ...(group ? { expertGroup: group } : {}),
    flowId,
  };
}

function followTarget(ctx: Ctx, route: LineRoute, number: string | undefined, target: RouteTarget, announce: string[]): RouteDecision {
  if (target.kind === 'route') {
    const next = ctx.table.routes.find((r) => r.id === target.routeId);
    if (!next || ++ctx.hops > MAX_ROUTE_HOPS) {
      ctx.why.push(`route reference ${target.routeId} ${next ? 'loops' : 'is unknown'}: 12345 flow instead`);
      return intoHotline(ctx, route, number, announce, false);
    }
    ctx.why.push(`${route.id} → ${fmtRoute(next)}`);
    return decide(ctx, next, next.numbers[0], announce);
  }
  ctx.why.push(`to ${target.kind === 'queue' ? `seat group ${target.group}` : `dial ${target.dialString}`}`);
  return {
    action: 'target',
    ...base(ctx, route, route.id, number, announce),
    target: targetString(target),
    targetSpec: target,
    ...(route.overflow ? { overflow: route.overflow } : {}),
  };
}

function decide(ctx: Ctx, route: LineRoute, number: string | undefined, pre: string[]): RouteDecision {
  const with_ = (p: string | undefined): string[] => (p ? [...pre, p] : pre);
  switch (route.mode) {
    case 'hotline':
      return hotlineEntry(ctx, route, pre);
    case 'merged': {
      if (route.keepNumber) {
        ctx.why.push('merged, number kept as an alias of 12345');
        return intoHotline(ctx, route, number, with_(route.prompts?.forward), !!route.expertSeats);
      }
      const t = ctx.q.at.getTime();
      const w = route.transition;
      if (w && t < Date.parse(w.until)) {
        ctx.why.push(
          t < Date.parse(w.from)
            ? `before the transition window (${w.from}); treated as in transition`
            : `in the transition window ${w.from} – ${w.until}`,
        );
        return intoHotline(ctx, route, number, with_(route.prompts?.transition), !!route.expertSeats);
      }
      ctx.why.push(w ? `transition ended ${w.until}: number cancelled` : 'number cancelled (no transition window)');
      const announce = with_(route.prompts?.cancel);
      if (route.afterCancel === 'release') {
        ctx.why.push('release after the cancellation notice');
        return { action: 'release', ...base(ctx, route, route.id, number, announce) };
      }
      return intoHotline(ctx, route, number, announce, !!route.expertSeats);
    }
    case 'parallel': {
      const open = routeOpen(ctx, route);
      if (route.expertSeats && !open) ctx.why.push('expert seats closed at this time: general seats');
      return intoHotline(ctx, route, number, with_(route.prompts?.forward), route.expertSeats && open);
    }
    case 'subcenter':
    case 'subplatform':
    case 'transfer': {
      if (routeOpen(ctx, route)) return followTarget(ctx, route, number, route.target, with_(route.prompts?.forward));
      const announce = with_(route.prompts?.closed);
      ctx.why.push(`${route.id} is closed at this time`);
      if (route.overflow) return followTarget(ctx, route, number, route.overflow, announce);
      ctx.why.push('no overflow target: 12345 answers (7×24)');
      return intoHotline(ctx, route, number, announce, false);
    }
    case 'linkage':
      if (route.target) return followTarget(ctx, route, number, route.target, with_(route.prompts?.forward));
      ctx.why.push('linkage line without a target: 12345 flow');
      return intoHotline(ctx, route, number, pre, false);
  }
}

/** Calls handed in by 110/119/120/122 or utilities: priority boost, never released. */
function applyLinkage(ctx: Ctx, d: RouteDecision): RouteDecision {
  const from = ctx.q.from ? normalizeNumber(ctx.q.from) : '';
  const partner = from ? ctx.table.routes.find((r) => r.mode === 'linkage' && r.numbers.includes(from)) : undefined;
  ctx.why.push(`handed in by linkage partner ${partner ? `${partner.id} (${partner.name})` : from || '(unknown)'}`);
  const boost = ctx.table.linkagePriorityBoost ?? LINKAGE_PRIORITY_BOOST;
  let out = d;
  if (d.action === 'release') {
    ctx.why.push('a linkage hand-over is never released: 12345 flow');
    const route = ctx.table.routes.find((r) => r.id === d.routeId);
    out = route ? intoHotline(ctx, route, d.line?.number, d.announce, false) : hotlineEntry(ctx, undefined, d.announce);
  }
  if (out.action !== 'hotline') return out;
  const priority = Math.min(MAX_PRIORITY, out.priority + boost);
  ctx.why.push(`priority ${out.priority} + ${boost} (linkage) = ${priority}`);
  return { ...out, priority, ...(!out.line && partner ? { line: lineInfo(partner, from) } : {}) };
}

/**
 * Where a call goes. Pure and total: never throws for a table that passed
 * validation, and even for a broken one ends in the 12345 flow.
 */
export function resolveCall(table: RoutingTable, q: CallQuery): RouteDecision {
  const why: string[] = [];
  const known = q.area !== undefined && table.areas.some((a) => a.id === q.area);
  if (q.area !== undefined && !known) why.push(`area ${q.area} unknown: default area ${table.defaultArea}`);
  const areaId = known ? q.area! : table.defaultArea;
  const ctx: Ctx = { table, q, why, chain: areaChain(table, areaId), hops: 0 };
  const dialed = normalizeNumber(q.dialed);
  why.push(`dialed ${dialed || '(nothing)'} from ${q.source} in area ${areaId}`);

  let number = dialed;
  let route = findByNumber(ctx, number);
  if (!route) {
    // A local number dialed with its long-distance code (0371 67175706).
    for (const a of ctx.chain) {
      if (a.dialCode && dialed.startsWith(a.dialCode) && dialed.length > a.dialCode.length) {
        const local = dialed.slice(a.dialCode.length);
        const r = findByNumber(ctx, local);
        if (r) {
          why.push(`stripped long-distance code ${a.dialCode}`);
          route = r;
          number = local;
          break;
        }
      }
    }
  }
  let d: RouteDecision;
  if (route) {
    why.push(`matched ${fmtRoute(route)}`);
    d = decide(ctx, route, number, []);
  } else {
    why.push(`${dialed} is not in the table: 12345 flow`);
    d = hotlineEntry(ctx, undefined, []);
  }
  if (q.source === 'linkage') d = applyLinkage(ctx, d);
  return d;
}

/**
 * For hand-offs by 12345 agents: the target of a sub-center, sub-platform,
 * transfer or linkage line by number (or route id), in the area's chain.
 */
export function handoffTarget(table: RoutingTable, numberOrId: string, area?: string): { route: LineRoute; target: RouteTarget } | undefined {
  const ctx: Ctx = { table, q: { dialed: numberOrId, source: 'agent', at: new Date(0) }, why: [], chain: areaChain(table, area ?? table.defaultArea), hops: 0 };
  const route = findByNumber(ctx, normalizeNumber(numberOrId)) ?? table.routes.find((r) => r.id === numberOrId);
  if (!route || !('target' in route) || !route.target) return undefined;
  return { route, target: route.target };
}
