/**
 * Redis key names, one rule for every store: `<prefix>:<area>:<part>:…` — the configured prefix
 * (HOTLINE_KEY_PREFIX), the area that owns the key (`acd`, `ticket`, `rec`, `qa`, `guard`,
 * `routing`, `calendar`, `user`, …), then its own parts, joined by `:`.
 */

/** A key name: `redisKey('hotline', 'acd', 'agent', '1001')` → `hotline:acd:agent:1001`. */
export function redisKey(prefix: string, ...parts: Array<string | number>): string {
  return [prefix, ...parts].join(':');
}

/** The namespace of an area as a string prefix ending in `:` (for code and Lua scripts that append names). */
export function keyNamespace(prefix: string, ...area: string[]): string {
  return `${redisKey(prefix, ...area)}:`;
}

/** A namer bound to an area: `keysOf('hotline', 'rec')('meta', 'x')` → `hotline:rec:meta:x`. */
export function keysOf(prefix: string, ...area: string[]): (...parts: Array<string | number>) => string {
  return (...parts) => redisKey(prefix, ...area, ...parts);
}
