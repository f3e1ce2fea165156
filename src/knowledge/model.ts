/**
 * Knowledge-base articles (知识库): the data, the checks of an editor's input
 * (each problem names its field), and the workflow — pure functions, no I/O.
 *
 * @remarks
 * Workflow: a unit (承办单位) writes and edits its own articles; the centre
 * (supervisors, admins) reviews and publishes. `status` is the state of the
 * latest version (`version`); the version callers, agents and the public see is
 * `live` (the last one published), so editing a published article never takes
 * its answer away before the new version is published.
 *
 *   draft ──submit──▶ review ──publish (centre)──▶ published ──retire (centre)──▶ retired
 *     ▲                 │ reject (centre)              │ edit → draft (live stays)
 *     └─────────────────┘                              ▼
 */
import { parseIsoDateTime, ISO_DATETIME_HINT } from '../util/datetime.js';
import { ARTICLE_ID } from '../ivr/validate.js';

export { ARTICLE_ID };

export const ARTICLE_STATUSES = ['draft', 'review', 'published', 'retired'] as const;
export type ArticleStatus = (typeof ARTICLE_STATUSES)[number];
export const ARTICLE_ACTIONS = ['submit', 'publish', 'reject', 'retire'] as const;
export type ArticleAction = (typeof ARTICLE_ACTIONS)[number];

/** The unit id of articles the centre writes itself. */
export const CENTRE_UNIT = 'centre';

/** What an editor writes. */
export interface ArticleContent {
  title: string;
  body: string;
  /** Spoken by the IVR and shown first to agents (≤ 300 characters). Empty: not readable in the IVR. */
  shortAnswer: string;
  /** The English short answer (the English flow); empty: the English flow skips the article. */
  shortAnswerEn: string;
  keywords: string[];
  category: string;
  /** Service lines (12333, 12345 …) and ACD skills it answers for: ranking prefers a call's own. */
  lines: string[];
  skills: string[];
  /** Handling units it concerns. */
  units: string[];
  sourceDepartment: string;
  /** ms since epoch; absent: from publication / no end. */
  validFrom?: number;
  validUntil?: number;
  /** Optional attachments: links to the department's documents. */
  attachments: { name: string; url: string }[];
}

/** The published version: what search, the IVR and the public page read. */
export interface LiveVersion extends ArticleContent {
  version: number;
  publishedAt: number;
  publishedBy: string;
  /** The prompt speaking `shortAnswer` (built at publish), when it has one. */
  promptId?: string;
}

export interface Article extends ArticleContent {
  id: string;
  /** The unit that edits it (`centre` for the centre's own). */
  ownerUnit: string;
  status: ArticleStatus;
  /** Bumped on every change (optimistic concurrency; also the number of the version in `history`). */
  version: number;
  live?: LiveVersion;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  updatedBy: string;
}

/** One entry of an article's history (kept with a full snapshot in the store). */
export interface ArticleEvent {
  version: number;
  at: number;
  actor: string;
  action: 'created' | 'edited' | ArticleAction;
  note?: string;
}

export type FieldError = { field: string; message: string };

const LIMITS = { title: 120, body: 20_000, shortAnswer: 300, keyword: 30, keywords: 20, tag: 40, tags: 20, source: 100, note: 200 } as const;
const TAG = /^[A-Za-z0-9_\-\u4e00-\u9fff]{1,40}$/;
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029]/;

function text(b: Record<string, unknown>, field: string, max: number, errs: FieldError[], required = false): string {
  const v = b[field];
  if (v === undefined || v === null || v === '') {
    if (required) errs.push({ field, message: `${field}: 必填 / is required` });
    return '';
  }
  if (typeof v !== 'string') {
    errs.push({ field, message: `${field}: 必须是字符串 / must be a string` });
    return '';
  }
  if (CONTROL.test(v)) errs.push({ field, message: `${field}: 不能含控制字符 / must not contain control characters` });
  else if (required && !v.trim()) errs.push({ field, message: `${field}: 必填，不能只有空白 / is required and must not be only whitespace` });
  else if (v.length > max) errs.push({ field, message: `${field}: 最长 ${max} 字符 / at most ${max} characters` });
  return v.trim();
}

function tags(b: Record<string, unknown>, field: string, errs: FieldError[], pattern: RegExp = TAG, max = LIMITS.tags): string[] {
  const v = b[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    errs.push({ field, message: `${field}: 必须是字符串列表 / must be a list of strings` });
    return [];
  }
  if (v.length > max) errs.push({ field, message: `${field}: 最多 ${max} 项 / at most ${max} entries` });
  const out: string[] = [];
  v.forEach((x, i) => {
    if (typeof x !== 'string' || !pattern.test(x.trim())) errs.push({ field: `${field}[${i}]`, message: `${field}[${i}]: 须为 1-40 个汉字、字母、数字或 -_ / must be 1–40 letters, digits, Chinese characters, - or _` });
    else if (!out.includes(x.trim())) out.push(x.trim());
  });
  return out;
}

function instant(b: Record<string, unknown>, field: string, errs: FieldError[]): number | undefined {
  const v = b[field];
  if (v === undefined || v === null || v === '') return undefined;
  const ms = parseIsoDateTime(v);
  if (ms === undefined) errs.push({ field, message: `${field}: ${ISO_DATETIME_HINT}` });
  return ms;
}

/** Check an editor's article (the whole content, as the editor page sends it). Returns the content or every problem. */
export function parseContent(input: unknown): { ok: true; content: ArticleContent } | { ok: false; errors: FieldError[] } {
  const errs: FieldError[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, errors: [{ field: 'body', message: 'body: 必须是 JSON 对象 / must be a JSON object' }] };
  const b = input as Record<string, unknown>;
  const keywords = tags(b, 'keywords', errs, /^[^\s,，]{1,30}$/u);
  const attachments: ArticleContent['attachments'] = [];
  if (b.attachments !== undefined && b.attachments !== null) {
    if (!Array.isArray(b.attachments) || b.attachments.length > 10) errs.push({ field: 'attachments', message: 'attachments: 最多 10 个 {name, url} / at most 10 {name, url}' });
    else
      b.attachments.forEach((a, i) => {
        const o = (a ?? {}) as Record<string, unknown>;
        const name = typeof o.name === 'string' ? o.name.trim() : '';
        const url = typeof o.url === 'string' ? o.url.trim() : '';
        if (!name || name.length > 100 || CONTROL.test(name)) errs.push({ field: `attachments[${i}].name`, message: `attachments[${i}].name: 1-100 字符 / 1 to 100 characters` });
        if (!/^https?:\/\/[^\s]{1,500}$/.test(url)) errs.push({ field: `attachments[${i}].url`, message: `attachments[${i}].url: 须为 http(s) 链接 / must be an http(s) link` });
        attachments.push({ name, url });
      });
  }
  const content: ArticleContent = {
    title: text(b, 'title', LIMITS.title, errs, true),
    body: text(b, 'body', LIMITS.body, errs, true),
    shortAnswer: text(b, 'shortAnswer', LIMITS.shortAnswer, errs),
    shortAnswerEn: text(b, 'shortAnswerEn', LIMITS.shortAnswer, errs),
    keywords,
    category: text(b, 'category', LIMITS.tag, errs),
    lines: tags(b, 'lines', errs, /^[0-9]{3,8}$/),
    skills: tags(b, 'skills', errs),
    units: tags(b, 'units', errs),
    sourceDepartment: text(b, 'sourceDepartment', LIMITS.source, errs),
    attachments,
  };
  const from = instant(b, 'validFrom', errs);
  const until = instant(b, 'validUntil', errs);
  if (from !== undefined) content.validFrom = from;
  if (until !== undefined) content.validUntil = until;
  if (from !== undefined && until !== undefined && until <= from) errs.push({ field: 'validUntil', message: 'validUntil: 须晚于 validFrom / must be after validFrom' });
  // The lines field names phone lines; an article may concern several (12345 and the merged 12333).
  return errs.length > 0 ? { ok: false, errors: errs } : { ok: true, content };
}

/** Is this published version current at `now` (inside its validity)? */
export function isCurrent(v: Pick<ArticleContent, 'validFrom' | 'validUntil'>, now: number): boolean {
  return (v.validFrom === undefined || v.validFrom <= now) && (v.validUntil === undefined || now < v.validUntil);
}

/** Who acts: the centre (supervisor/admin) or a unit's user. */
export interface Editor {
  username: string;
  centre: boolean;
  unitId?: string;
}

/** May this editor change this article's content (or submit it)? A unit its own; the centre any. */
export function mayEdit(e: Editor, a: Pick<Article, 'ownerUnit'>): boolean {
  return e.centre || (!!e.unitId && e.unitId === a.ownerUnit);
}

export type Refusal = { code: string; field: string; message: string };

/** The workflow step `action` on `a` by `e`: the next status, or why not. */
export function transition(a: Article, action: ArticleAction, e: Editor): { ok: true; status: ArticleStatus } | { ok: false; refusal: Refusal } {
  const no = (code: string, message: string): { ok: false; refusal: Refusal } => ({ ok: false, refusal: { code, field: 'action', message: `action: ${message}` } });
  if (!mayEdit(e, a)) return no('forbidden', '只能处理本单位的知识 / only your own unit’s articles');
  switch (action) {
    case 'submit':
      if (a.status !== 'draft') return no('kb-not-draft', `只有草稿可以提交审核（当前 ${a.status}） / only a draft can be submitted (now ${a.status})`);
      return { ok: true, status: 'review' };
    case 'publish':
      if (!e.centre) return no('kb-centre-only', '由中心审核发布 / the centre reviews and publishes');
      if (a.status !== 'review' && a.status !== 'draft') return no('kb-not-reviewable', `只有待审核或草稿可以发布（当前 ${a.status}） / only an article in review or a draft can be published (now ${a.status})`);
      return { ok: true, status: 'published' };
    case 'reject':
      if (!e.centre) return no('kb-centre-only', '由中心审核 / the centre reviews');
      if (a.status !== 'review') return no('kb-not-in-review', `只有待审核的可以退回（当前 ${a.status}） / only an article in review can be sent back (now ${a.status})`);
      return { ok: true, status: 'draft' };
    case 'retire':
      if (!e.centre) return no('kb-centre-only', '由中心下架 / the centre retires articles');
      if (a.status === 'retired') return no('kb-retired', '已下架 / already retired');
      return { ok: true, status: 'retired' };
  }
}

/** The prompt id of a version's spoken answer (file-safe: ids are). */
export function answerPromptId(articleId: string, version: number): string {
  return `kb-${articleId}-v${version}`;
}

/**
 * Published articles whose end of validity falls within `days` of `now` and
 * whose editors have not been reminded of that end yet (`reminded` holds
 * `<id>@<validUntil>` keys).
 */
export function dueReminders(articles: Iterable<Article>, now: number, days: number, reminded: (key: string) => boolean): { article: Article; key: string; validUntil: number }[] {
  const out: { article: Article; key: string; validUntil: number }[] = [];
  for (const a of articles) {
    const until = a.live?.validUntil;
    if (a.status === 'retired' || !a.live || until === undefined) continue;
    if (until <= now || until - now > days * 86_400_000) continue;
    const key = `${a.id}@${until}`;
    if (!reminded(key)) out.push({ article: a, key, validUntil: until });
  }
  return out;
}
