/**
 * JSON Schema building blocks for the routes' `schema` (params, querystring,
 * body) and the OpenAPI tags they are listed under at `/docs`.
 *
 * @remarks
 * The schemas are deliberately permissive: they state the shape (an object,
 * typed properties, enums, lengths) and leave formats and cross-field rules
 * to the routes' own validators, whose zh-CN / English messages name the
 * field. Conventions:
 * - no `additionalProperties: false` (extra fields were never an error; with
 *   {@link AJV_OPTIONS} it makes them one, naming the field, instead of
 *   silently dropping them as fastify's defaults would);
 * - an optional field the validators treat `null` like absent is
 *   {@link optional} (nullable), so `null` stays accepted;
 * - a body schema is {@link body}: nullable too, so a request without a body
 *   still reaches the route (which reads it as `{}`) and the route names the
 *   first missing field as before;
 * - querystring values are strings (the app compiles schemas with
 *   {@link AJV_OPTIONS}: no coercion), so a value is checked by the route
 *   exactly as it was sent;
 * - no response schemas (a response schema would drop undeclared properties).
 * A schema failure is answered by `errorHandler` (errors.ts) in the same
 * `{ error: { code: 'invalid-input', message: '<field>: 中文 / English', field } }`.
 */

/**
 * How the app compiles request schemas (fastify's `ajv.customOptions`): check, never rewrite.
 * fastify's defaults would convert types (`"5"` → 5, a scalar → a list) and silently drop the
 * properties an `additionalProperties: false` does not allow; here the route's validator sees
 * the input as sent, and a disallowed property is a 400 naming it.
 */
export const AJV_OPTIONS = { coerceTypes: false, removeAdditional: false } as const;

/** A JSON Schema fragment (kept loose: the schemas are data for ajv and the OpenAPI document). */
export type JsonSchema = Record<string, unknown>;

/** Tags of the OpenAPI document, one per area (name, zh-CN / English description). */
export const TAGS = {
  auth: '登录与会话 / Login and sessions',
  users: '用户管理 / Users (admin)',
  audit: '审计日志 / Audit log',
  numbers: '完整号码查看（留痕） / Audited full-number reveal',
  health: '健康检查 / Liveness and readiness',
  routing: '路由表 / Routing tables',
  blocklist: '来电屏蔽 / Caller block list',
  seats: '座席与座席组 / Seats and seat groups',
  'ticket-admin': '派单规则与推送 / Dispatch rules and webhook',
  calendar: '工作日历与调休 / Working-day calendar and overrides',
  reports: '报表与导出 / KPIs and exports',
  supervision: '督办、红黄蓝榜与通报 / Supervision orders, rankings and bulletins',
  agent: '座席控制台 / Agent console',
  supervisor: '班长监控 / Supervisor view',
  tickets: '工单 / Tickets',
  intake: '多渠道受理与上级平台工单 / Other channels and higher platforms’ work orders',
  recordings: '录音 / Recordings',
  quality: '质检 / Quality inspection',
  knowledge: '知识库 / Knowledge base',
  pages: '页面 / Pages',
  docs: '接口文档 / API documentation',
  demo: '演示（模拟交换机） / Demo (simulated PBX)',
} as const;

export type Tag = keyof typeof TAGS;

/** A string property; `max` is the same limit the route's validator applies. */
export function string(description?: string, max?: number): JsonSchema {
  return { type: 'string', ...(max !== undefined ? { maxLength: max } : {}), ...(description ? { description } : {}) };
}

/** One of fixed string values (the route's validator lists the same ones). */
export function oneOf(values: readonly string[], description?: string): JsonSchema {
  return { type: 'string', enum: [...values], ...(description ? { description } : {}) };
}

export function integer(description?: string, range: { minimum?: number; maximum?: number } = {}): JsonSchema {
  return { type: 'integer', ...range, ...(description ? { description } : {}) };
}

/** A JSON number (fractions allowed); `range` as the route's validator checks it. */
export function number(description?: string, range: { minimum?: number; maximum?: number } = {}): JsonSchema {
  return { type: 'number', ...range, ...(description ? { description } : {}) };
}

/**
 * A value the route's validator accepts in more than one JSON type (e.g. epoch
 * milliseconds as a number or as a digit string). A value of none of them is
 * named with every type allowed (errors.ts `validationError`).
 */
export function anyOf(schemas: JsonSchema[], description?: string): JsonSchema {
  return { anyOf: schemas, ...(description ? { description } : {}) };
}

export function boolean(description?: string): JsonSchema {
  return { type: 'boolean', ...(description ? { description } : {}) };
}

export function array(items: JsonSchema, description?: string): JsonSchema {
  return { type: 'array', items, ...(description ? { description } : {}) };
}

/** An object whose own fields the route's (domain) validator checks, naming each. */
export function object(description?: string, properties?: Record<string, JsonSchema>, required?: string[]): JsonSchema {
  return {
    type: 'object',
    ...(properties ? { properties } : {}),
    ...(required?.length ? { required } : {}),
    ...(description ? { description } : {}),
  };
}

/** An optional field whose validator reads `null` as absent: `null` stays allowed. */
export function optional(s: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...s, nullable: true };
  if (Array.isArray(s.enum)) out.enum = [...(s.enum as unknown[]), null];
  return out;
}

/**
 * A JSON request body: an object with these properties. Nullable: a request
 * without a body is read by the route as `{}` (bodyOf), which names the first
 * missing field itself; the OpenAPI document marks such a body as optional.
 */
export function body(properties: Record<string, JsonSchema>, required: string[] = [], description?: string): JsonSchema {
  return { ...object(description, properties, required), nullable: true };
}

/** Path parameters (always present, always strings). */
export function params(properties: Record<string, JsonSchema>): JsonSchema {
  return { type: 'object', properties, required: Object.keys(properties) };
}

/** Query parameters: strings as sent (see the module note). */
export function query(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return object(undefined, properties, required);
}

/** The route `schema` of one operation: its tag, a zh-CN / English summary and its inputs. */
export function route(tag: Tag, summary: string, parts: { params?: JsonSchema; querystring?: JsonSchema; headers?: JsonSchema; body?: JsonSchema; description?: string } = {}) {
  return { tags: [tag], summary, ...parts };
}
