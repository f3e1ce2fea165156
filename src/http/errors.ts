/**
 * One error catalogue for the HTTP API: a stable code, an HTTP status and a
 * message (zh-CN / English) that names the field when a field is at fault.
 * Every route throws {@link AppError}s; {@link errorHandler} maps them once.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

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
};

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
  const fe = err as FastifyError;
  if (fe.validation) {
    const field = fe.validation[0]?.instancePath?.replace(/^\//, '').replace(/\//g, '.') || fe.validation[0]?.params?.missingProperty;
    void reply.code(400).send({ error: { code: 'invalid-input', message: fe.message, ...(field ? { field: String(field) } : {}) } });
    return;
  }
  if (fe.statusCode && fe.statusCode < 500) {
    void reply.code(fe.statusCode).send({ error: { code: fe.code ?? 'bad-request', message: fe.message } });
    return;
  }
  req.log.error({ err }, 'request failed');
  void reply.code(500).send({ error: { code: 'internal', message: '服务器内部错误 / internal error' } });
}
