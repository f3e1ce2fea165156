/**
 * ACD keys used to be the prefix glued to the name (`hotlineagent:1001`, `hotlinestats:20261206`);
 * they now follow the rule of every other store (`hotline:acd:agent:1001`, src/util/redis-keys.ts).
 * At start, before the ACD touches Redis, keys of the old layout are renamed into the new one, so a
 * deployment keeps its seats, groups, agents' states, queue and statistics. Idempotent and safe to
 * run on several instances at once: RENAMENX moves a key only when its new name is free; a key
 * another instance moved meanwhile is skipped; when both names exist the new one is kept and the old
 * one is left in place and reported (nothing is deleted).
 */
import type { Redis } from 'ioredis';

/** The families of the old layout: what followed the bare prefix (see the key table in redis-acd.ts). */
export const LEGACY_ACD_PATTERNS = [
  'hb:*', 'instances', 'inst:*', 'entry:*', 'q:*', 'callbacks', 'agent:*', 'agents', 'agents:*', 'offer:*', 'offers:*',
  'inbox:*', 'cfg:*', 'stats:*', 'series:*', 'lock:*',
  // The answer-rate controller's per-minute windows and its state (switch, actions, log, leader), kept in the ACD's space.
  'win:*', 'ctl:*',
] as const;

export interface AcdKeyMigration {
  renamed: number;
  /** Old keys left in place because the new name already held data. */
  kept: string[];
}

/** Glob-escape a literal (the prefix may hold `*`, `?`, `[`… in principle; the config allows `[A-Za-z0-9_-]`). */
function globLiteral(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export async function migrateLegacyAcdKeys(redis: Redis, legacyPrefix: string, newPrefix: string): Promise<AcdKeyMigration> {
  const result: AcdKeyMigration = { renamed: 0, kept: [] };
  if (legacyPrefix === newPrefix) return result;
  for (const pattern of LEGACY_ACD_PATTERNS) {
    const match = globLiteral(legacyPrefix) + pattern;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        // A key of the new layout never matches (its prefix continues with ':'), but stay strict.
        if (key.startsWith(newPrefix)) continue;
        const target = newPrefix + key.slice(legacyPrefix.length);
        try {
          if ((await redis.renamenx(key, target)) === 1) result.renamed++;
          else result.kept.push(key);
        } catch (err) {
          // Another instance renamed it between our SCAN and RENAMENX.
          if (!/no such key/i.test((err as Error).message)) throw err;
        }
      }
    } while (cursor !== '0');
  }
  return result;
}
