/**
 * The routing table: a city's merge list (归并清单) as data.
 *
 * @remarks
 * Each row of a merge list becomes one {@link LineRoute}. The mode says what a
 * caller of that legacy number experiences:
 * - `merged` (整体并入): the line's seats are in 12345. During an optional
 *   transition window callers hear the transition prompt and reach 12345 with
 *   the line's skill; afterwards the number counts as cancelled: the
 *   cancellation notice, then 12345 (or release, per route). `keepNumber`
 *   covers lines merged but kept as an alias of 12345 (郑州 12348 并号运行).
 * - `parallel` (双号并行): the number stays and forwards into the 12345 flow
 *   tagged with the line's skill; `expertSeats` tries the line's expert group first.
 * - `subcenter` / `subplatform` (设分中心 / 分平台): the line keeps number and
 *   seats; calls go to its own target, and 12345 agents can hand off to it.
 * - `transfer`: own seats with a transfer mechanism both ways (12333 in 烟台/六安).
 * - `linkage` (双向联动): 110/119/120/122 and utilities, transfer partners only.
 * - `hotline`: 12345 itself, with its IVR flow.
 *
 * Routes belong to an area (city or district), so the same short code can mean
 * different lines in two areas. Everything here is plain JSON-compatible data.
 */

export const ROUTE_MODES = ['hotline', 'merged', 'parallel', 'subcenter', 'subplatform', 'transfer', 'linkage'] as const;
export type RouteMode = (typeof ROUTE_MODES)[number];

/** Emergency numbers: they may only appear as `linkage` routes, never merged. */
export const EMERGENCY_NUMBERS = ['110', '119', '120', '122'] as const;

/** Where a call (or a hand-off) goes when it leaves the 12345 flow. */
export type RouteTarget =
  /** A seat group of our ACD (e.g. a sub-center's dedicated seats inside 12345). */
  | { kind: 'queue'; group: string }
  /** An Asterisk dial string to the line's own platform, e.g. `PJSIP/12366@subcenter-12366`. */
  | { kind: 'dial'; dialString: string }
  /** Another route of the same table (an alias or an overflow chain). */
  | { kind: 'route'; routeId: string };

/** A half-open instant window `[from, until)`; ISO 8601 with an explicit offset, e.g. `2021-11-01T00:00:00+08:00`. */
export interface TimeWindow {
  from: string;
  until: string;
}

/** Days are ISO weekdays 1 (Monday) … 7 (Sunday); times are local `HH:MM`, `to` may be `24:00`. */
export interface WeeklyWindow {
  days: number[];
  from: string;
  to: string;
}

/**
 * Opening hours of what the route leads to (own seats, expert seats).
 * Absent means 7×24. On a holiday the weekly windows are ignored: `holidays`
 * says whether the line is open all day or closed.
 */
export interface BusinessHours {
  weekly: WeeklyWindow[];
  holidays: 'closed' | 'open';
}

/** Prompt ids from the prompt catalogue. */
export interface RoutePrompts {
  /** Merged line, inside its transition window. */
  transition?: string;
  /** Merged line, after cancellation. */
  cancel?: string;
  /** Outside business hours. */
  closed?: string;
  /** Played before forwarding (parallel) or transferring (sub-center, transfer). */
  forward?: string;
}

/** Where in the seeds a route comes from, so reviewers can check it. */
export interface SeedSource {
  /** Seed file name under shared/seeds. */
  file: string;
  /** Section heading, e.g. `附件 枣庄市政务服务便民热线归并清单 / 一、整体并入`. */
  section: string;
  /** Row number (序号) in the merge list; absent for routes derived from the body text or remarks. */
  row?: number;
}

interface RouteBase {
  /** Unique within the table: `[A-Za-z0-9_.-]`, up to 64 characters. */
  id: string;
  /**
   * Dialable numbers: short codes (12333), local numbers (67175706) and aliases
   * (12393 and 68064000). Empty for rows the seeds list without a number
   * (specialist desks, utilities); such routes are never matched by a dialed number.
   */
  numbers: string[];
  /** Name as in the seed (zh-CN). */
  name: string;
  nameEn: string;
  /** 责任单位 */
  unit: string;
  /** Area id (see {@link RoutingTable.areas}). */
  area: string;
  /** Skills tagged on calls; the first is the primary skill. Legacy lines default to their first number. */
  skills?: string[];
  /** Queue priority 0–100, higher is served sooner. Default 0. */
  priority?: number;
  /** Default 7×24. */
  businessHours?: BusinessHours;
  prompts?: RoutePrompts;
  /** Used when the line is closed (business hours). */
  overflow?: RouteTarget;
  /** Record calls of this route. Default true. */
  recording?: boolean;
  source?: SeedSource;
  /** Why a choice was made where the seeds are ambiguous. */
  note?: string;
}

export interface HotlineRoute extends RouteBase {
  mode: 'hotline';
  /** IVR flow id; defaults to the table's `defaultFlow`. */
  flowId?: string;
}

/** Fields shared by modes whose topics can have expert seats (专家座席) inside 12345. */
interface ExpertFields {
  expertSeats?: boolean;
  /** Seat group tried first; default `expert-<primary skill>`. */
  expertGroup?: string;
}

export interface MergedRoute extends RouteBase, ExpertFields {
  mode: 'merged';
  transition?: TimeWindow;
  /** Merged but the number stays as an alias of 12345 (并号运行): never cancelled. */
  keepNumber?: boolean;
  /** After cancellation: connect to 12345 (default) or release after the notice. */
  afterCancel?: 'hotline' | 'release';
}

export interface ParallelRoute extends RouteBase, ExpertFields {
  mode: 'parallel';
  expertSeats: boolean;
}

export interface SubcenterRoute extends RouteBase, ExpertFields {
  mode: 'subcenter' | 'subplatform';
  target: RouteTarget;
}

export interface TransferRoute extends RouteBase, ExpertFields {
  mode: 'transfer';
  target: RouteTarget;
}

export interface LinkageRoute extends RouteBase {
  mode: 'linkage';
  /** How 12345 agents reach the partner; absent when the seeds give no number. */
  target?: RouteTarget;
}

export type LineRoute = HotlineRoute | MergedRoute | ParallelRoute | SubcenterRoute | TransferRoute | LinkageRoute;

export interface Area {
  /** `[a-z0-9-]`, e.g. `zhengzhou`, `shanting`. */
  id: string;
  name: string;
  nameEn: string;
  /** 行政区划代码, e.g. `410100`. */
  code?: string;
  /** 长途区号 without trunk prefix handling, e.g. `0371`: stripped from dialed local numbers. */
  dialCode?: string;
  /** A district's city: numbers not found in the district are looked up there. */
  parent?: string;
}

/** A remark of the seeds about numbers that get no route (not set up at city level, not opened …). */
export interface Remark {
  numbers: string[];
  text: string;
  source: SeedSource;
}

export interface RoutingTable {
  /** `[a-z0-9-]`, e.g. `zaozhuang`. */
  cityId: string;
  name: string;
  nameEn: string;
  /** Published version; 0 for a preset or draft that was never published. */
  version: number;
  /** IVR flow of the 12345 entry when a hotline route names none. */
  defaultFlow: string;
  /** Area of calls that carry none (or an unknown one). */
  defaultArea: string;
  areas: Area[];
  routes: LineRoute[];
  remarks?: Remark[];
  /** Minutes east of UTC for business hours (China: 480, the default). */
  utcOffsetMinutes?: number;
  /** Added to the priority of calls handed in by linkage partners. Default {@link LINKAGE_PRIORITY_BOOST}. */
  linkagePriorityBoost?: number;
  /**
   * IVR flows edited with the table (by flow id; they replace the built-in flow of the same id), so a
   * flow change is drafted, validated, published, versioned and rolled back with the routes that use it.
   */
  flows?: Record<string, unknown>;
}

export const DEFAULT_UTC_OFFSET_MIN = 480;
/** Equals the ACD's linkage priority (acd/model.ts PRIORITY.linkage). */
export const LINKAGE_PRIORITY_BOOST = 10;
export const MAX_PRIORITY = 100;
export const SKILL_GENERAL = 'general';

/** The primary skill of a route: its first skill, else its first number, else `general`. */
export function primarySkill(route: LineRoute): string {
  if (route.skills && route.skills.length > 0) return route.skills[0]!;
  if (route.mode === 'hotline') return SKILL_GENERAL;
  return route.numbers[0] ?? SKILL_GENERAL;
}

/** The expert seat group of a route that has expert seats, else undefined. */
export function expertGroupOf(route: LineRoute): string | undefined {
  if (!('expertSeats' in route) || !route.expertSeats) return undefined;
  return route.expertGroup ?? `expert-${primarySkill(route)}`;
}

/** The canonical string form of a target, as the IVR `transfer` node and the call session take it. */
export function targetString(t: RouteTarget): string {
  switch (t.kind) {
    case 'queue':
      return `queue:${t.group}`;
    case 'dial':
      return t.dialString;
    case 'route':
      return `route:${t.routeId}`;
  }
}

/** Routes counted as rows of the seed's merge list (those with a `source.row`). */
export function listedRoutes(table: RoutingTable): LineRoute[] {
  return table.routes.filter((r) => r.source?.row !== undefined);
}
