/**
 * Articles in Redis — the source of truth every server instance shares.
 *
 * @remarks
 * Per article: `<p>:article:<id>` (hash: `version`, `json` of the latest
 * version), `<p>:article:<id>:versions` (version → snapshot: every version
 * kept) and `<p>:article:<id>:history` (who did what, when). A write is one Lua
 * script: compare the version the editor read, write the article, its
 * snapshot and history, bump `<p>:rev` and publish the id on `<p>:changed` —
 * of two instances writing at once exactly one wins, and every instance's
 * index hears of the change (or, having missed the message during a Redis
 * drop, sees `rev` move and rebuilds).
 */
import type { Redis } from 'ioredis';
import type { Article, ArticleEvent } from './model.js';

// KEYS: article, versions, history, ids, rev, terms. ARGV: expected version (-1: create), new version, json, event json, channel, id, terms json ('' = none).
const WRITE = `
local cur = redis.call('HGET', KEYS[1], 'version')
local expected = tonumber(ARGV[1])
if expected < 0 then
  if cur then return {-1, tonumber(cur)} end
else
  if not cur then return {-3, 0} end
  if tonumber(cur) ~= expected then return {-2, tonumber(cur)} end
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'json', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[6])
if ARGV[7] ~= '' then redis.call('HSET', KEYS[6], ARGV[6], ARGV[7]) else redis.call('HDEL', KEYS[6], ARGV[6]) end
local rev = redis.call('INCR', KEYS[5])
redis.call('PUBLISH', ARGV[5], rev .. ' ' .. ARGV[6])
return {rev, tonumber(ARGV[2])}
`;

export type WriteResult = { ok: true; rev: number } | { ok: false; reason: 'exists' | 'conflict' | 'not-found'; current: number };

export class ArticleStore {
  constructor(
    private readonly redis: Redis,
    readonly prefix: string,
  ) {}

  private k(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  get channel(): string {
    return this.k('changed');
  }

  /** `terms`: the published version's index terms (search-index.ts), kept so that a rebuild need not segment again. */
  async write(a: Article, expectedVersion: number | 'new', event: ArticleEvent, terms?: string): Promise<WriteResult> {
    const r = (await this.redis.eval(
      WRITE,
      6,
      this.k('article', a.id),
      this.k('article', a.id, 'versions'),
      this.k('article', a.id, 'history'),
      this.k('ids'),
      this.k('rev'),
      this.k('terms'),
      expectedVersion === 'new' ? -1 : expectedVersion,
      a.version,
      JSON.stringify(a),
      JSON.stringify(event),
      this.channel,
      a.id,
      terms ?? '',
    )) as [number, number];
    if (r[0] === -1) return { ok: false, reason: 'exists', current: r[1] };
    if (r[0] === -2) return { ok: false, reason: 'conflict', current: r[1] };
    if (r[0] === -3) return { ok: false, reason: 'not-found', current: 0 };
    return { ok: true, rev: r[0] };
  }

  async get(id: string): Promise<Article | undefined> {
    const json = await this.redis.hget(this.k('article', id), 'json');
    return json ? (JSON.parse(json) as Article) : undefined;
  }

  async version(id: string, version: number): Promise<Article | undefined> {
    const json = await this.redis.hget(this.k('article', id, 'versions'), String(version));
    return json ? (JSON.parse(json) as Article) : undefined;
  }

  async history(id: string): Promise<ArticleEvent[]> {
    return (await this.redis.lrange(this.k('article', id, 'history'), 0, -1)).map((j) => JSON.parse(j) as ArticleEvent);
  }

  /** Every article (latest versions), read in batches; with `terms`, the cached index terms too. */
  async all(): Promise<Article[]>;
  async all(withTerms: true): Promise<{ article: Article; terms?: string }[]>;
  async all(withTerms = false): Promise<Article[] | { article: Article; terms?: string }[]> {
    const ids = await this.redis.smembers(this.k('ids'));
    const out: { article: Article; terms?: string }[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const p = this.redis.pipeline();
      for (const id of ids.slice(i, i + 500)) {
        p.hget(this.k('article', id), 'json');
        if (withTerms) p.hget(this.k('terms'), id);
      }
      const res = (await p.exec()) ?? [];
      const step = withTerms ? 2 : 1;
      for (let j = 0; j < res.length; j += step) {
        const [err, json] = res[j]!;
        if (err || typeof json !== 'string') continue;
        const terms = withTerms ? res[j + 1]?.[1] : undefined;
        out.push({ article: JSON.parse(json) as Article, ...(typeof terms === 'string' ? { terms } : {}) });
      }
    }
    return withTerms ? out : out.map((x) => x.article);
  }

  async terms(id: string): Promise<string | undefined> {
    return (await this.redis.hget(this.k('terms'), id)) ?? undefined;
  }

  async rev(): Promise<number> {
    return Number((await this.redis.get(this.k('rev'))) ?? 0);
  }

  /** The articles a call's ticket names now; the usage of those it no longer names is withdrawn. */
  async replaceCallUse(callId: string, refs: { articleId: string; helped: boolean }[]): Promise<void> {
    const key = this.k('call', callId);
    const before = await this.redis.smembers(key);
    const m = this.redis.multi();
    for (const id of before) if (!refs.some((r) => r.articleId === id)) m.hdel(this.k('usage', id), callId);
    for (const r of refs) m.hset(this.k('usage', r.articleId), callId, r.helped ? '1' : '0');
    m.del(key);
    if (refs.length > 0) m.sadd(key, ...refs.map((r) => r.articleId)).expire(key, 400 * 86_400);
    await m.exec();
  }

  async usage(articleId: string): Promise<{ linked: number; helped: number }> {
    const vals = await this.redis.hvals(this.k('usage', articleId));
    return { linked: vals.length, helped: vals.filter((v) => v === '1').length };
  }

  /** Claim a reminder once across instances (an article's end of validity is reminded once). */
  async claimReminder(key: string, ttlSec: number): Promise<boolean> {
    return (await this.redis.set(this.k('reminded', key), '1', 'EX', ttlSec, 'NX')) === 'OK';
  }

  async isReminded(key: string): Promise<boolean> {
    return (await this.redis.exists(this.k('reminded', key))) === 1;
  }

  async addReminder(unit: string, entry: object): Promise<void> {
    await this.redis.multi().lpush(this.k('reminders', unit), JSON.stringify(entry)).ltrim(this.k('reminders', unit), 0, 199).exec();
  }

  async reminders(unit: string, limit = 50): Promise<unknown[]> {
    return (await this.redis.lrange(this.k('reminders', unit), 0, limit - 1)).map((j) => JSON.parse(j) as unknown);
  }
}
