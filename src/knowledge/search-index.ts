/**
 * The in-memory full-text index of the published articles (one per server
 * instance, rebuilt from Redis and kept current by the store's change
 * notifications; see service.ts). Pure: no I/O, no clock (callers pass `now`).
 *
 * @remarks
 * Ranking: BM25 over weighted fields (title and keywords ×3, short answer ×2,
 * body, category and source ×1) with Chinese words and bigrams from
 * segment.ts, then preferences: an article for the call's line ×1.6, for its
 * skill ×1.3, and a recently updated one up to ×1.1. Articles outside their
 * validity (not yet valid, or past valid-until) are never returned.
 */
import { isCurrent, type LiveVersion } from './model.js';
import { terms } from './segment.js';

export interface IndexedArticle {
  id: string;
  ownerUnit: string;
  live: LiveVersion;
}

export interface SearchQuery {
  q?: string;
  /** The call's service line (12333) and ACD skill: preferred. */
  line?: string;
  skill?: string;
  /** Extra words describing the call (its IVR path): used for suggestions when there is no query. */
  context?: string;
  now: number;
  limit?: number;
}

export interface SearchHit {
  id: string;
  version: number;
  title: string;
  shortAnswer: string;
  snippet: string;
  category: string;
  lines: string[];
  skills: string[];
  sourceDepartment: string;
  validUntil?: number;
  score: number;
  /** Why it ranks: `line`, `skill`, `text`. */
  matched: string[];
}

const FIELDS: [keyof LiveVersion, number][] = [
  ['title', 3],
  ['keywords', 3],
  ['shortAnswer', 2],
  ['body', 1],
  ['category', 1],
  ['sourceDepartment', 1],
];
const K1 = 1.2;
const B = 0.75;
const LINE_BOOST = 1.6;
const SKILL_BOOST = 1.3;

interface Doc {
  a: IndexedArticle;
  terms: Map<string, number>;
  len: number;
}

export class SearchIndex {
  private readonly docs = new Map<string, Doc>();
  private readonly postings = new Map<string, Map<string, number>>();
  private readonly byLine = new Map<string, Set<string>>();
  private readonly bySkill = new Map<string, Set<string>>();
  private totalLen = 0;

  get size(): number {
    return this.docs.size;
  }

  has(id: string): boolean {
    return this.docs.has(id);
  }

  /** Add or replace an article's published version (`cached`: its {@link indexTerms}, computed when it was published). */
  put(a: IndexedArticle, cached?: [string, number][]): void {
    this.remove(a.id);
    const t = cached ? new Map(cached) : indexTerms(a.live);
    let len = 0;
    for (const [term, w] of t) {
      len += w;
      let p = this.postings.get(term);
      if (!p) this.postings.set(term, (p = new Map()));
      p.set(a.id, w);
    }
    for (const l of a.live.lines) setOf(this.byLine, l).add(a.id);
    for (const s of a.live.skills) setOf(this.bySkill, s).add(a.id);
    this.docs.set(a.id, { a, terms: t, len });
    this.totalLen += len;
  }

  remove(id: string): void {
    const d = this.docs.get(id);
    if (!d) return;
    for (const term of d.terms.keys()) {
      const p = this.postings.get(term);
      p?.delete(id);
      if (p && p.size === 0) this.postings.delete(term);
    }
    for (const l of d.a.live.lines) this.byLine.get(l)?.delete(id);
    for (const s of d.a.live.skills) this.bySkill.get(s)?.delete(id);
    this.totalLen -= d.len;
    this.docs.delete(id);
  }

  clear(): void {
    this.docs.clear();
    this.postings.clear();
    this.byLine.clear();
    this.bySkill.clear();
    this.totalLen = 0;
  }

  get(id: string): IndexedArticle | undefined {
    return this.docs.get(id)?.a;
  }

  all(): IndexedArticle[] {
    return [...this.docs.values()].map((d) => d.a);
  }

  /** Ranked current articles for a query; without a query, suggestions for the call's line, skill and context. */
  search(q: SearchQuery): SearchHit[] {
    const limit = Math.max(1, Math.min(q.limit ?? 10, 50));
    const text = (q.q ?? '').trim();
    const qt = terms(text || (q.context ?? ''));
    const scores = new Map<string, number>();
    const n = this.docs.size || 1;
    const avg = this.totalLen / n || 1;
    for (const [term, wq] of qt) {
      const p = this.postings.get(term);
      if (!p) continue;
      const idf = Math.log(1 + (n - p.size + 0.5) / (p.size + 0.5));
      for (const [id, tf] of p) {
        const len = this.docs.get(id)!.len;
        scores.set(id, (scores.get(id) ?? 0) + wq * idf * ((tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * len) / avg))));
      }
    }
    const textMatched = new Set(scores.keys());
    // Suggestions (no query typed): every article of the call's line or skill is a candidate.
    if (!text) {
      for (const id of (q.line && this.byLine.get(q.line)) || []) if (!scores.has(id)) scores.set(id, 0.5);
      for (const id of (q.skill && this.bySkill.get(q.skill)) || []) if (!scores.has(id)) scores.set(id, 0.3);
    }
    const ranked: { a: IndexedArticle; score: number; matched: string[] }[] = [];
    for (const [id, base] of scores) {
      const a = this.docs.get(id)!.a;
      if (!isCurrent(a.live, q.now)) continue;
      const matched: string[] = [];
      let s = base;
      if (q.line && a.live.lines.includes(q.line)) {
        s *= LINE_BOOST;
        matched.push('line');
      }
      if (q.skill && a.live.skills.includes(q.skill)) {
        s *= SKILL_BOOST;
        matched.push('skill');
      }
      if (textMatched.has(id)) matched.push('text');
      // Newer versions first among equals: up to +10 % for an article updated today, fading over a year.
      s *= 1 + 0.1 * Math.exp(-Math.max(0, q.now - a.live.publishedAt) / (365 * 86_400_000));
      ranked.push({ a, score: s, matched });
    }
    // Plain code-unit order for ties (localeCompare is collation: far slower over thousands of hits).
    ranked.sort((x, y) => y.score - x.score || (x.a.id < y.a.id ? -1 : x.a.id > y.a.id ? 1 : 0));
    // Snippets only for what is returned: a common word may score thousands of articles.
    const words = [...terms(text || q.context || '').keys()];
    return ranked.slice(0, limit).map((r) => hitOf(r.a, r.score, r.matched, words));
  }
}

/** Bump when tokenisation or field weights change: cached terms of another version are recomputed. */
export const TERMS_VERSION = 1;

/**
 * The weighted terms of a published version. Segmentation is the costly part of indexing (about a
 * millisecond per article), so the store keeps these with the version and a rebuild only reads them.
 */
export function indexTerms(live: LiveVersion): Map<string, number> {
  const t = new Map<string, number>();
  for (const [field, weight] of FIELDS) {
    const v = live[field];
    terms(Array.isArray(v) ? v.join(' ') : typeof v === 'string' ? v : '', t, weight);
  }
  // Keywords are also whole terms (an editor's 社保卡 must match 社保卡 exactly).
  for (const k of live.keywords) {
    const key = k.normalize('NFKC').toLowerCase();
    t.set(key, (t.get(key) ?? 0) + 3);
  }
  return t;
}

function setOf(m: Map<string, Set<string>>, k: string): Set<string> {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  return s;
}

/** Up to 80 characters of the body around the first query word found in it. */
function snippet(body: string, words: string[]): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  const lower = flat.toLowerCase();
  let at = -1;
  for (const t of words) {
    const i = lower.indexOf(t);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  const start = Math.max(0, at - 20);
  const s = flat.slice(start, start + 80);
  return (start > 0 ? '…' : '') + s + (start + 80 < flat.length ? '…' : '');
}

function hitOf(a: IndexedArticle, score: number, matched: string[], words: string[]): SearchHit {
  const l = a.live;
  return {
    id: a.id,
    version: l.version,
    title: l.title,
    shortAnswer: l.shortAnswer,
    snippet: snippet(l.body, words),
    category: l.category,
    lines: l.lines,
    skills: l.skills,
    sourceDepartment: l.sourceDepartment,
    ...(l.validUntil !== undefined ? { validUntil: l.validUntil } : {}),
    score: Math.round(score * 1000) / 1000,
    matched,
  };
}
