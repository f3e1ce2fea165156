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

  /** Replace the rules (validated by the caller with {@link parseDispatchRules}); version = previous + 1. */
  async put(rules: DispatchRuleSet): Promise<DispatchRuleSet> {
    const next = { ...rules, version: this.cached.version + 1 };
    await this.redis.set(this.key, JSON.stringify(next));
    this.cached = next;
    return next;
  }
}
