/**
 * The keyword dispatch rules in force: the admin-edited set in Redis, else the
 * city's bundled set (data/dispatch/<city>.json), else none (manual). Cached
 * in memory; an admin edit replaces the cache and bumps the version.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { parseDispatchRules, type DispatchRuleSet } from './dispatch-rules.js';

export function loadBundledDispatchRules(city: string): DispatchRuleSet {
  const url = new URL(`../../data/dispatch/${city}.json`, import.meta.url);
  if (!existsSync(url)) return { version: 0, rules: [] };
  return parseDispatchRules(JSON.parse(readFileSync(url, 'utf8')));
}

export class DispatchRulesStore {
  private cached: DispatchRuleSet;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly bundled: DispatchRuleSet,
  ) {
    this.cached = bundled;
  }

  /** The rules in force (synchronous: the domain is pure). */
  current(): DispatchRuleSet {
    return this.cached;
  }

  /** Load the admin-edited set, if any (at start and on demand). */
  async refresh(): Promise<DispatchRuleSet> {
    const raw = await this.redis.get(this.key);
    this.cached = raw ? parseDispatchRules(JSON.parse(raw)) : this.bundled;
    return this.cached;
  }

  /**
   * Replace the rules (validated by the caller with {@link parseDispatchRules}) if the set in force is
   * still `expectedVersion` — a compare-and-set in Redis, so a stale edit (from this instance or
   * another) never overwrites a newer one. The new set's version is the previous + 1.
   */
  async put(rules: DispatchRuleSet, expectedVersion: number): Promise<{ ok: true; rules: DispatchRuleSet } | { ok: false; current: number }> {
    const token = '"__dispatch_rules_version__"';
    const doc = JSON.stringify({ ...rules, version: '__dispatch_rules_version__' });
    const res = (await this.redis.eval(PUT_LUA, 1, this.key, String(expectedVersion), String(this.bundled.version), doc, token)) as [number, number];
    if (res[0] === 0) {
      await this.refresh().catch(() => undefined);
      return { ok: false, current: res[1] };
    }
    this.cached = { ...rules, version: res[1] };
    return { ok: true, rules: this.cached };
  }
}

/**
 * KEYS[1] the rule set; ARGV: expected version, bundled version (when nothing is stored), the new set as
 * JSON with a version placeholder, the placeholder. Returns {1, new version} or {0, current version}.
 */
const PUT_LUA = `
local raw = redis.call('GET', KEYS[1])
local cur = tonumber(ARGV[2])
if raw then cur = tonumber(cjson.decode(raw).version) or 0 end
if tonumber(ARGV[1]) ~= cur then return {0, cur} end
local n = cur + 1
local plain = string.gsub(ARGV[4], '%p', '%%%0')
redis.call('SET', KEYS[1], (string.gsub(ARGV[3], plain, tostring(n), 1)))
return {1, n}
`;
