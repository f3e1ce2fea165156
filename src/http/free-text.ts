/**
 * The one rule for text sent to the API, applied to every request body and
 * query string before the routes' own validators: no control characters
 * (NUL, ESC, BEL … — only tab, line feed and carriage return), and a required
 * text field is not only whitespace. A 400 names the field, nothing changes.
 *
 * @remarks
 * Control characters in free text break CSV exports, logs and the city's
 * work-order system, and can smuggle terminal escapes into an operator's
 * screen; whitespace-only text passes a "required" check while saying nothing.
 */
import type { FastifyRequest } from 'fastify';
import { errors } from './errors.js';

/** C0 controls except tab, LF, CR; DEL; C1 controls; and the Unicode line/paragraph separators. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029]/;

type Schema = { type?: unknown; properties?: Record<string, Schema>; required?: string[]; items?: Schema };

function join(base: string, key: string | number): string {
  return typeof key === 'number' ? `${base}[${key}]` : base ? `${base}.${key}` : key;
}

/** The first problem in `value` (field path and message), or undefined. */
export function freeTextProblem(value: unknown, schema?: Schema, path = '', depth = 0): { field: string; message: string } | undefined {
  if (depth > 32) return undefined;
  if (typeof value === 'string') {
    const m = CONTROL.exec(value);
    if (m) {
      const code = `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      return { field: path || 'body', message: `不能含控制字符（${code}） / must not contain control characters (${code})` };
    }
    return undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = freeTextProblem(value[i], schema?.items, join(path, i), depth + 1);
      if (p) return p;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of schema?.required ?? []) {
      const v = obj[key];
      if (typeof v === 'string' && v.length > 0 && v.trim().length === 0) return { field: join(path, key), message: '必填，不能只有空白 / is required and must not be only whitespace' };
    }
    for (const [k, v] of Object.entries(obj)) {
      const keyProblem = CONTROL.test(k) ? { field: join(path, k.replace(CONTROL, '?')), message: '字段名不能含控制字符 / a field name must not contain control characters' } : undefined;
      if (keyProblem) return keyProblem;
      const p = freeTextProblem(v, schema?.properties?.[k], join(path, k), depth + 1);
      if (p) return p;
    }
  }
  return undefined;
}

/** preValidation hook: the rule above on the body and the query string of every route. */
export async function freeTextHook(req: FastifyRequest): Promise<void> {
  const schema = (req.routeOptions.schema ?? {}) as { body?: Schema; querystring?: Schema };
  const p = freeTextProblem(req.body, schema.body) ?? freeTextProblem(req.query, schema.querystring);
  if (p) throw errors.invalid(p.field, p.message);
}
