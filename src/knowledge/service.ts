/**
 * The knowledge base as the server uses it: editing with the workflow and
 * optimistic concurrency, every change audited; the shared search (Redis is
 * the truth, each instance keeps the in-memory index of the published
 * versions current); the articles the IVR may read; usage on tickets; and
 * the reminders before an article's validity ends.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuditPort } from '../access/audit.js';
import { AppError, errors, staleVersion } from '../http/errors.js';
import type { ArticlePrompt } from '../ivr/types.js';
import {
  answerPromptId,
  CENTRE_UNIT,
  dueReminders,
  isCurrent,
  mayEdit,
  parseContent,
  transition,
  type Article,
  type ArticleAction,
  type ArticleContent,
  type ArticleEvent,
  type Editor,
  type FieldError,
} from './model.js';
import { indexTerms, SearchIndex, TERMS_VERSION, type SearchHit, type SearchQuery } from './search-index.js';
import { ArticleStore } from './store.js';
import { buildAnswerPrompt } from './tts.js';

export interface KnowledgeOptions {
  redis: Redis;
  /** Key prefix (`<HOTLINE_KEY_PREFIX>:kb`). */
  prefix: string;
  log: Logger;
  audit: AuditPort;
  now: () => number;
  /** Where answer prompts are written (Asterisk's hotline sounds, `<dir>/<lang>/hotline/`). */
  promptsDir: string;
  recordedDir?: string;
  /** Days before valid-until that editors are reminded. */
  remindDays: number;
  /** How often each instance checks the change counter (a missed notification); default 5 s. */
  pollMs?: number;
}

/** An article reference on a ticket: which version the agent used and whether it helped. */
export interface KnowledgeRef {
  articleId: string;
  version: number;
  title: string;
  helped: boolean;
}

const ACTION_AUDIT: Record<ArticleAction | 'created' | 'edited', string> = {
  created: 'kb-created',
  edited: 'kb-edited',
  submit: 'kb-submitted',
  publish: 'kb-published',
  reject: 'kb-rejected',
  retire: 'kb-retired',
};

function refuse(errs: FieldError[]): never {
  throw new AppError('invalid-input', 400, errs[0]!.message, errs[0]!.field, errs);
}

export class KnowledgeBase {
  readonly index = new SearchIndex();
  readonly store: ArticleStore;
  private appliedRev = -1;
  private sub: Redis | undefined;
  private timers: NodeJS.Timeout[] = [];
  private rebuilding: Promise<void> | undefined;

  constructor(private readonly o: KnowledgeOptions) {
    this.store = new ArticleStore(o.redis, o.prefix);
  }

  // ---- shared index -------------------------------------------------------------------------

  /** Load the index and follow changes: notifications, and a counter check for the ones missed. */
  async start(subscriber: Redis): Promise<void> {
    this.sub = subscriber;
    subscriber.on('message', (_ch: string, msg: string) => void this.onChange(msg).catch((err: Error) => this.o.log.warn({ err: err.message }, 'knowledge refresh failed')));
    subscriber.on('error', () => undefined);
    await subscriber.subscribe(this.store.channel).catch((err: Error) => this.o.log.warn({ err: err.message }, 'knowledge notifications unavailable; polling'));
    await this.rebuild().catch((err: Error) => this.o.log.warn({ err: err.message }, 'knowledge index not loaded; retrying'));
    const poll = setInterval(() => void this.checkRev().catch(() => undefined), this.o.pollMs ?? 5000);
    const remind = setInterval(() => void this.runReminders().catch((err: Error) => this.o.log.warn({ err: err.message }, 'knowledge reminders failed')), 3600_000);
    poll.unref();
    remind.unref();
    this.timers.push(poll, remind);
    await this.runReminders().catch((err: Error) => this.o.log.warn({ err: err.message }, 'knowledge reminders failed'));
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.sub?.disconnect();
  }

  /** Read every article from Redis into a fresh index. */
  rebuild(): Promise<void> {
    this.rebuilding ??= (async () => {
      try {
        const rev = await this.store.rev();
        const all = await this.store.all(true);
        this.index.clear();
        for (const { article, terms } of all) this.apply(article, undefined, terms);
        this.appliedRev = Math.max(this.appliedRev, rev);
        this.o.log.info({ articles: all.length, published: this.index.size, rev }, 'knowledge index loaded');
      } finally {
        this.rebuilding = undefined;
      }
    })();
    return this.rebuilding;
  }

  private apply(a: Article | undefined, id?: string, cachedTerms?: string): void {
    if (a && a.live && a.status !== 'retired') this.index.put({ id: a.id, ownerUnit: a.ownerUnit, live: a.live }, cachedTermsOf(cachedTerms, a.live.version));
    else this.index.remove(a?.id ?? id ?? '');
  }

  private async onChange(msg: string): Promise<void> {
    const [revText, id] = msg.split(' ');
    const rev = Number(revText);
    if (!id || !Number.isInteger(rev) || rev <= this.appliedRev) return;
    if (rev !== this.appliedRev + 1) return this.rebuild();
    this.appliedRev = rev;
    const [a, terms] = await Promise.all([this.store.get(id), this.store.terms(id)]);
    this.apply(a, id, terms);
  }

  private async checkRev(): Promise<void> {
    if ((await this.store.rev()) > this.appliedRev) await this.rebuild();
  }

  // ---- editing ------------------------------------------------------------------------------

  private async commit(next: Article, expected: number | 'new', event: ArticleEvent): Promise<Article> {
    const r = await this.store.write(next, expected, event, termsJson(next));
    if (!r.ok) {
      if (r.reason === 'conflict') throw staleVersion(r.current);
      if (r.reason === 'not-found') throw errors.notFound(`知识 ${next.id}`);
      throw errors.conflict('kb-exists', `id: ${next.id} 已存在 / already exists`);
    }
    // This instance sees its own write at once; the others through the notification.
    if (r.rev === this.appliedRev + 1) this.appliedRev = r.rev;
    this.apply(next, undefined, termsJson(next));
    await this.o.audit.record({ actor: event.actor, action: ACTION_AUDIT[event.action], target: `kb:${next.id}`, detail: `v${next.version}${event.note ? ` ${event.note}` : ''}` });
    return next;
  }

  async create(e: Editor, input: unknown, ownerUnit?: string): Promise<Article> {
    const parsed = parseContent(input);
    if (!parsed.ok) refuse(parsed.errors);
    const owner = e.centre ? ownerUnit || CENTRE_UNIT : e.unitId;
    if (!owner) throw errors.invalid('ownerUnit', '承办单位用户须有单位 / a unit user needs a unit');
    const now = this.o.now();
    const d = new Date(now + 8 * 3600_000).toISOString().slice(0, 10).replace(/-/g, '');
    const a: Article = { ...parsed.content, id: `${d}-${randomBytes(4).toString('hex')}`, ownerUnit: owner, status: 'draft', version: 1, createdAt: now, createdBy: e.username, updatedAt: now, updatedBy: e.username };
    return this.commit(a, 'new', { version: 1, at: now, actor: e.username, action: 'created' });
  }

  private async existing(id: string): Promise<Article> {
    const a = await this.store.get(id);
    if (!a) throw errors.notFound(`知识 ${id}`);
    return a;
  }

  async update(e: Editor, id: string, version: number, input: unknown): Promise<Article> {
    const a = await this.existing(id);
    if (!mayEdit(e, a)) throw errors.forbidden();
    if (a.version !== version) throw staleVersion(a.version);
    const parsed = parseContent(input);
    if (!parsed.ok) refuse(parsed.errors);
    const now = this.o.now();
    // Editing sends the article back to draft; the published version stays live until the next publish.
    const next: Article = { ...a, ...stripOptional(parsed.content), status: 'draft', version: a.version + 1, updatedAt: now, updatedBy: e.username };
    return this.commit(next, version, { version: next.version, at: now, actor: e.username, action: 'edited' });
  }

  async act(e: Editor, id: string, version: number, action: ArticleAction, note?: string): Promise<Article> {
    const a = await this.existing(id);
    if (!mayEdit(e, a)) throw errors.forbidden();
    if (a.version !== version) throw staleVersion(a.version);
    const t = transition(a, action, e);
    if (!t.ok) throw t.refusal.code === 'forbidden' ? errors.forbidden() : new AppError(t.refusal.code, 409, t.refusal.message, t.refusal.field);
    if (action === 'reject' && !note) throw errors.invalid('note', '退回须说明原因 / a send-back needs a reason');
    const now = this.o.now();
    const next: Article = { ...a, status: t.status, version: a.version + 1, updatedAt: now, updatedBy: e.username };
    if (action === 'publish') {
      if (a.validUntil !== undefined && a.validUntil <= now) throw errors.invalid('validUntil', '已过有效期，不能发布 / already past its validity: cannot be published');
      const content = contentOf(a);
      let promptId: string | undefined;
      if (content.shortAnswer) {
        promptId = answerPromptId(a.id, next.version);
        try {
          await buildAnswerPrompt({ dir: this.o.promptsDir, ...(this.o.recordedDir ? { recordedDir: this.o.recordedDir } : {}) }, a.id, promptId, { zh: content.shortAnswer, en: content.shortAnswerEn });
        } catch (err) {
          this.o.log.error({ err: (err as Error).message, article: a.id }, 'answer prompt not built');
          throw errors.unavailable('语音合成 (espeak-ng/sox) / speech synthesis');
        }
      }
      next.live = { ...content, version: next.version, publishedAt: now, publishedBy: e.username, ...(promptId ? { promptId } : {}) };
    }
    if (action === 'retire') delete next.live;
    return this.commit(next, version, { version: next.version, at: now, actor: e.username, action, ...(note ? { note } : {}) });
  }

  get(id: string): Promise<Article | undefined> {
    return this.store.get(id);
  }

  /** The editor's list: a unit its own articles, the centre all (newest first). */
  async list(e: Editor, filter: { status?: string; unit?: string } = {}): Promise<Article[]> {
    const all = await this.store.all();
    return all
      .filter((a) => (e.centre ? !filter.unit || a.ownerUnit === filter.unit : a.ownerUnit === e.unitId))
      .filter((a) => !filter.status || a.status === filter.status)
      .sort((x, y) => y.updatedAt - x.updatedAt)
      .slice(0, 500);
  }

  /** The app's clock (tests move it). */
  now(): number {
    return this.o.now();
  }

  // ---- reading ------------------------------------------------------------------------------

  search(q: Omit<SearchQuery, 'now'>): SearchHit[] {
    return this.index.search({ ...q, now: this.o.now() });
  }

  /** A published version readable now (agents, the public); undefined when retired, expired or never published. */
  published(id: string) {
    const a = this.index.get(id);
    return a && isCurrent(a.live, this.o.now()) ? a : undefined;
  }

  /** For the IVR's `article` nodes: the current published articles with a spoken answer. */
  ivrArticles(now: number): Record<string, ArticlePrompt> {
    const out: Record<string, ArticlePrompt> = {};
    for (const a of this.index.all()) if (a.live.promptId && isCurrent(a.live, now)) out[a.id] = { promptId: a.live.promptId, version: a.live.version };
    return out;
  }

  /** Resolve the references an agent puts on a call's ticket (published, current articles only) and note their use. */
  async linkCall(callId: string, refs: unknown): Promise<KnowledgeRef[]> {
    if (refs === undefined || refs === null) return [];
    if (!Array.isArray(refs) || refs.length > 10) throw errors.invalid('knowledge', '最多 10 条知识引用 / at most 10 article references');
    const out: KnowledgeRef[] = [];
    refs.forEach((r, i) => {
      const o = (r ?? {}) as Record<string, unknown>;
      const id = o.articleId;
      if (typeof id !== 'string' || !this.published(id)) throw errors.invalid(`knowledge[${i}].articleId`, `没有已发布的知识 ${String(id)} / no published article ${String(id)}`);
      if (o.helped !== undefined && typeof o.helped !== 'boolean') throw errors.invalid(`knowledge[${i}].helped`, '必须是 true/false / must be true or false');
      if (out.some((x) => x.articleId === id)) return;
      const live = this.published(id)!.live;
      out.push({ articleId: id, version: live.version, title: live.title, helped: o.helped !== false });
    });
    await this.store.replaceCallUse(callId, out);
    return out;
  }

  // ---- expiry -------------------------------------------------------------------------------

  /** Remind each article's unit once before its validity ends (claimed across instances). */
  async runReminders(): Promise<number> {
    const now = this.o.now();
    const all = await this.store.all();
    const keys = new Set<string>();
    for (const a of all) if (a.live?.validUntil !== undefined && (await this.store.isReminded(`${a.id}@${a.live.validUntil}`))) keys.add(`${a.id}@${a.live.validUntil}`);
    let sent = 0;
    for (const r of dueReminders(all, now, this.o.remindDays, (k) => keys.has(k))) {
      if (!(await this.store.claimReminder(r.key, (this.o.remindDays + 30) * 86_400))) continue;
      const entry = { articleId: r.article.id, title: r.article.live!.title, validUntil: r.validUntil, at: now };
      await this.store.addReminder(r.article.ownerUnit, entry);
      await this.o.audit.record({ actor: 'system', action: 'kb-expiry-reminder', target: `kb:${r.article.id}`, detail: `valid until ${new Date(r.validUntil).toISOString()} (unit ${r.article.ownerUnit})` });
      this.o.log.info({ article: r.article.id, unit: r.article.ownerUnit, validUntil: r.validUntil }, 'knowledge article expires soon: editors reminded');
      sent++;
    }
    return sent;
  }
}

/** The cached index terms of an article's live version (stored with it; '' when nothing is live). */
export function termsJson(a: Article): string {
  if (!a.live || a.status === 'retired') return '';
  return JSON.stringify({ v: TERMS_VERSION, version: a.live.version, terms: [...indexTerms(a.live)] });
}

function cachedTermsOf(json: string | undefined, version: number): [string, number][] | undefined {
  if (!json) return undefined;
  try {
    const c = JSON.parse(json) as { v: number; version: number; terms: [string, number][] };
    return c.v === TERMS_VERSION && c.version === version && Array.isArray(c.terms) ? c.terms : undefined;
  } catch {
    return undefined;
  }
}

function contentOf(a: Article): ArticleContent {
  const { title, body, shortAnswer, shortAnswerEn, keywords, category, lines, skills, units, sourceDepartment, attachments } = a;
  return {
    title, body, shortAnswer, shortAnswerEn, keywords, category, lines, skills, units, sourceDepartment, attachments,
    ...(a.validFrom !== undefined ? { validFrom: a.validFrom } : {}),
    ...(a.validUntil !== undefined ? { validUntil: a.validUntil } : {}),
  };
}

/** An edit replaces the whole content: validity dates the editor removed are removed. */
function stripOptional(c: ArticleContent): ArticleContent & { validFrom: number | undefined; validUntil: number | undefined } {
  return { ...c, validFrom: c.validFrom, validUntil: c.validUntil };
}
