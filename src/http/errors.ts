/**
 * One error catalogue for the HTTP API: a stable code, an HTTP status and a
 * message (zh-CN / English) that names the field when a field is at fault.
 * Every route throws {@link AppError}s; {@link errorHandler} maps them once.
 */
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';

export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }

  /** Seconds a client should wait before retrying (429, 503); sent as `retry-after`. */
  retryAfterSec?: number;

  /** Fastify's default handler reads `statusCode`: even without {@link errorHandler} the status is right. */
  get statusCode(): number {
    return this.status;
  }
}

export const errors = {
  unauthenticated: () => new AppError('unauthenticated', 401, '请先登录 / authentication required'),
  forbidden: () => new AppError('forbidden', 403, '无权访问 / not allowed for your role'),
  csrf: () => new AppError('csrf', 403, 'CSRF 校验失败 / missing or wrong x-csrf-token'),
  /** Same answer for unknown users and wrong passwords. */
  badCredentials: () => new AppError('bad-credentials', 401, '用户名或密码错误 / invalid username or password'),
  notFound: (what: string) => new AppError('not-found', 404, `${what} 不存在 / ${what} not found`),
  invalid: (field: string, message: string, details?: unknown) => new AppError('invalid-input', 400, `${field}: ${message}`, field, details),
  conflict: (code: string, message: string) => new AppError(code, 409, message),
  tooMany: (retryAfterSec: number) =>
    withRetryAfter(
      new AppError('too-many-attempts', 429, `尝试次数过多，请 ${retryAfterSec} 秒后再试 / too many attempts, retry in ${retryAfterSec} s`),
      retryAfterSec,
    ),
  rateLimited: (retryAfterSec: number) =>
    withRetryAfter(
      new AppError('rate-limited', 429, `请求过于频繁，请 ${retryAfterSec} 秒后再试 / too many requests, retry in ${retryAfterSec} s`),
      retryAfterSec,
    ),
  unavailable: (what: string) => new AppError('unavailable', 503, `${what} 暂不可用 / ${what} unavailable`),
  /** A request that needs Redis while it is away: 503 with retry-after (see {@link isRedisUnavailable}). */
  redisUnavailable: () =>
    withRetryAfter(new AppError('unavailable', 503, '数据存储（Redis）暂不可用，请稍后重试 / the data store (Redis) is unavailable, retry shortly'), 5),
};

/** A write based on an older version than the one stored (optimistic concurrency): 409 naming `version`, nothing changed. */
export function staleVersion(current: number | string, field = 'version'): AppError {
  return new AppError(
    'version-conflict',
    409,
    `${field}: 已被他人修改（当前版本 ${current}），请刷新后重试 / changed meanwhile (current version ${current}): reload and retry`,
    field,
    { current },
  );
}

/**
 * The version a write was based on (optimistic concurrency): a JSON integer ≥ 0 in a body or digits in a
 * query string. Required: a write that names no version could overwrite a change it never saw.
 */
export function versionOf(v: unknown, field = 'version'): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  if (v === undefined || v === null || v === '') throw errors.invalid(field, '必填：读取时的版本（防止覆盖他人修改） / is required: the version you read (so that no one’s change is overwritten)');
  throw errors.invalid(field, '必须是非负整数 / must be an integer ≥ 0');
}

/**
 * An ioredis failure that means "Redis is not reachable now" (connection refused or closed, retries per
 * request exhausted, offline queue off) rather than a bug: such a request is answered 503.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  const code = (err as { code?: unknown }).code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE') return true;
  return /^(Connection is closed|Stream isn't writeable and enableOfflineQueue options is false|Reached the max retries per request limit)/.test(err.message);
}

function withRetryAfter(e: AppError, sec: number): AppError {
  e.retryAfterSec = Math.max(1, Math.ceil(sec));
  return e;
}

/** A body must be a JSON object; its fields are read through these helpers so errors name them. */
export function bodyOf(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw errors.invalid('body', '必须是 JSON 对象 / must be a JSON object');
  return b as Record<string, unknown>;
}

export function str(body: Record<string, unknown>, field: string, opts: { required?: boolean; max?: number; pattern?: RegExp; what?: string } = {}): string | undefined {
  const v = body[field];
  if (v === undefined || v === null || v === '') {
    if (opts.required) throw errors.invalid(field, '必填 / is required');
    return undefined;
  }
  if (typeof v !== 'string') throw errors.invalid(field, '必须是字符串 / must be a string');
  // The shared free-text rule (http/free-text.ts) also for fields a route reads without a schema.
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029]/.test(v)) throw errors.invalid(field, '不能含控制字符 / must not contain control characters');
  if (opts.required && v.trim() === '') throw errors.invalid(field, '必填，不能只有空白 / is required and must not be only whitespace');
  if (opts.max !== undefined && v.length > opts.max) throw errors.invalid(field, `最长 ${opts.max} 字符 / at most ${opts.max} characters`);
  if (opts.pattern && !opts.pattern.test(v)) throw errors.invalid(field, `格式不正确 / must be ${opts.what ?? `like ${opts.pattern}`}`);
  return v;
}

export function oneOf<T extends string>(body: Record<string, unknown>, field: string, values: readonly T[], required = true): T | undefined {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) throw errors.invalid(field, '必填 / is required');
    return undefined;
  }
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw errors.invalid(field, `必须是 ${values.join(', ')} 之一 / must be one of ${values.join(', ')}`);
  }
  return v as T;
}

export function errorHandler(err: FastifyError | AppError | Error, req: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof AppError) {
    if (err.retryAfterSec !== undefined) void reply.header('retry-after', String(err.retryAfterSec));
    void reply.code(err.status).send({
      error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}), ...(err.details !== undefined ? { details: err.details } : {}) },
    });
    return;
  }
  if (isRedisUnavailable(err)) {
    // Sessions, users, tickets, routing drafts … live in Redis: while it is away the request cannot be
    // served, which is the service being unavailable (503, retry shortly), not an internal error.
    req.log.warn({ err: err.message, url: req.url }, 'request needs Redis, which is unavailable');
    const e = errors.redisUnavailable();
    void reply.header('retry-after', String(e.retryAfterSec)).code(503).send({ error: { code: e.code, message: e.message } });
    return;
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const e = validationError(fe.validation, fe.validationContext);
    void reply.code(400).send({ error: { code: e.code, message: e.message, field: e.field } });
    return;
  }
  if (fe.statusCode && fe.statusCode < 500) {
    void reply.code(fe.statusCode).send({ error: { code: fe.code ?? 'bad-request', message: fe.message } });
    return;
  }
  req.log.error({ err }, 'request failed');
  void reply.code(500).send({ error: { code: 'internal', message: '服务器内部错误 / internal error' } });
}

// ---- schema (ajv) failures ------------------------------------------------------------------------

/** JSON-pointer segments as our field paths: `/rules/0/unit` → `rules[0].unit`, `/skills/general` → `skills.general`. */
function fieldPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out ? `.${seg}` : seg;
  }
  return out;
}

function join(base: string, prop: string): string {
  return base ? `${base}.${prop}` : prop;
}

const TYPE_NAMES: Record<string, [string, string]> = {
  string: ['字符串', 'a string'],
  number: ['数字', 'a number'],
  integer: ['整数', 'a whole number'],
  boolean: ['true 或 false', 'a boolean'],
  object: ['JSON 对象', 'a JSON object'],
  array: ['数组', 'a list'],
  null: ['null', 'null'],
};

function typeText(t: unknown): string {
  const names = (Array.isArray(t) ? t : String(t).split(',')).map((x) => String(x).trim()).filter((x) => x !== 'null');
  const zh = names.map((n) => TYPE_NAMES[n]?.[0] ?? n).join(' 或 ');
  const en = names.map((n) => TYPE_NAMES[n]?.[1] ?? n).join(' or ');
  return `必须是${/^[A-Za-z]/.test(zh) ? ' ' : ''}${zh} / must be ${en}`;
}

/**
 * The ajv error to put in words: the first one, except for a value that matched
 * none of an `anyOf` (ajv lists each alternative's failure, then the `anyOf`):
 * the failure of the alternative of the value's own type when there is one
 * (`-5` for "an integer ≥ 0 or a string": the minimum), else one type error
 * naming every type allowed.
 */
function described(errs: readonly FastifySchemaValidationError[]): FastifySchemaValidationError | undefined {
  const any = errs.find((x) => x.keyword === 'anyOf');
  if (!any) return errs[0];
  const branches = errs.filter((x) => x.schemaPath.startsWith(`${any.schemaPath}/`));
  const own = branches.find((x) => x.keyword !== 'type');
  if (own) return own;
  const types = branches.flatMap((x) => {
    const t = (x.params as { type?: unknown } | undefined)?.type;
    return Array.isArray(t) ? t.map(String) : t === undefined ? [] : String(t).split(',');
  });
  return branches.length ? { ...any, keyword: 'type', params: { type: [...new Set(types)] } } : any;
}

/**
 * A request-schema failure (the first ajv error, see {@link described}) as our `invalid-input`
 * error: the field named as our validators name it (`from`, `rules[0].unit`,
 * the missing property itself, `body` when the body is not an object) and a
 * zh-CN / English message worded like theirs (`str`, `oneOf`, `bodyOf`).
 *
 * @param context the request part that failed (`body`, `querystring`, `params`, `headers`)
 */
export function validationError(errs: readonly FastifySchemaValidationError[], context = 'body'): AppError {
  const e = described(errs);
  if (!e) return errors.invalid(context, '格式不正确 / invalid');
  const p = (e.params ?? {}) as Record<string, unknown>;
  const base = fieldPath(e.instancePath ?? '');
  let field = base;
  let message: string;
  switch (e.keyword) {
    case 'required':
      field = join(base, String(p.missingProperty));
      message = '必填 / is required';
      break;
    case 'additionalProperties':
      field = join(base, String(p.additionalProperty));
      message = '不支持的字段 / is not a known field';
      break;
    case 'type':
      message = typeText(p.type);
      break;
    case 'enum': {
      const values = ((p.allowedValues as unknown[]) ?? []).filter((v) => v !== null).join(', ');
      message = `必须是 ${values} 之一 / must be one of ${values}`;
      break;
    }
    case 'const':
      message = `必须是 ${String(p.allowedValue)} / must be ${String(p.allowedValue)}`;
      break;
    case 'maxLength':
      message = `最长 ${String(p.limit)} 字符 / at most ${String(p.limit)} characters`;
      break;
    case 'minLength':
      message = `至少 ${String(p.limit)} 字符 / at least ${String(p.limit)} characters`;
      break;
    case 'maximum':
    case 'exclusiveMaximum':
    case 'minimum':
    case 'exclusiveMinimum': {
      const cmp = String(p.comparison);
      const zh = { '<=': '不能大于', '<': '必须小于', '>=': '不能小于', '>': '必须大于' }[cmp] ?? cmp;
      message = `${zh} ${String(p.limit)} / must be ${cmp.replace('<=', '≤').replace('>=', '≥')} ${String(p.limit)}`;
      break;
    }
    case 'maxItems':
      message = `最多 ${String(p.limit)} 项 / at most ${String(p.limit)} items`;
      break;
    case 'minItems':
      message = `至少 ${String(p.limit)} 项 / at least ${String(p.limit)} items`;
      break;
    case 'pattern':
      message = `格式不正确 / must match ${String(p.pattern)}`;
      break;
    case 'format':
      message = `格式不正确 / must be a valid ${String(p.format)}`;
      break;
    default:
      message = `格式不正确 / ${e.message ?? 'is invalid'}`;
  }
  if (!field) field = context;
  return errors.invalid(field, message);
}
