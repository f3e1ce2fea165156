/**
 * Quality inspection (质检): sampling, inspection forms, scores and roll-ups.
 *
 * @remarks
 * The pure core — {@link validateForm}, {@link validateScores},
 * {@link scoreTotal}, {@link sampleCalls} (deterministic for a seed) and
 * {@link rollUp} — needs no I/O. {@link QualityService} keeps forms, samples
 * and inspections in Redis; the calls to sample come from a
 * {@link SamplingSource} the composition root binds to the tickets (complaint,
 * reopen and dissatisfied flags are input data here).
 */
import { seededRng } from '../util/random.js';
import type { Redis } from 'ioredis';
import { redisKey } from '../util/redis-keys.js';

// ---- forms ------------------------------------------------------------------------------------

export interface FormItem {
  /** kebab-case id, e.g. `greeting`. */
  id: string;
  /** Shown to inspectors (zh-CN / English). */
  label: string;
  /** Share of the total, in percent; the weights of a form add up to 100. */
  weight: number;
  /** Highest score an inspector may give for this item. */
  maxScore: number;
}

export interface InspectionForm {
  id: string;
  name: string;
  items: FormItem[];
}

export interface FieldError {
  field: string;
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** The default form: 服务规范 greeting, 答复准确 accuracy, 服务态度 attitude, 工单质量 ticket quality. */
export const DEFAULT_FORM: InspectionForm = {
  id: 'standard',
  name: '标准质检表 / standard inspection form',
  items: [
    { id: 'greeting', label: '规范用语 / greeting and closing', weight: 15, maxScore: 5 },
    { id: 'accuracy', label: '答复准确 / accuracy of the answer', weight: 35, maxScore: 10 },
    { id: 'attitude', label: '服务态度 / attitude', weight: 25, maxScore: 10 },
    { id: 'ticket-quality', label: '工单质量 / ticket quality', weight: 25, maxScore: 10 },
  ],
};

const ID = /^[a-z][a-z0-9-]{1,39}$/;

/** Check a form as an admin or supervisor sent it; every error names its field. */
export function validateForm(input: unknown): Validated<InspectionForm> {
  const errors: FieldError[] = [];
  const err = (field: string, message: string) => errors.push({ field, message });
  if (!input || typeof input !== 'object' || Array.isArray(input)) return { ok: false, errors: [{ field: 'form', message: '必须是对象 / must be an object' }] };
  const f = input as Record<string, unknown>;
  if (typeof f.id !== 'string' || !ID.test(f.id)) err('id', '须为小写字母开头的 2-40 位字母、数字或连字符 / must be 2-40 lowercase letters, digits or dashes');
  if (typeof f.name !== 'string' || !f.name.trim() || f.name.length > 80) err('name', '必填，最长 80 字符 / required, at most 80 characters');
  const items: FormItem[] = [];
  if (!Array.isArray(f.items) || f.items.length === 0 || f.items.length > 20) {
    err('items', '须为 1-20 个评分项 / must be a list of 1-20 items');
  } else {
    const seen = new Set<string>();
    f.items.forEach((raw, i) => {
      const at = `items[${i}]`;
      if (!raw || typeof raw !== 'object') return err(at, '必须是对象 / must be an object');
      const it = raw as Record<string, unknown>;
      const before = errors.length;
      if (typeof it.id !== 'string' || !ID.test(it.id)) err(`${at}.id`, '须为小写字母开头的字母、数字或连字符 / must be lowercase letters, digits or dashes');
      else if (seen.has(it.id)) err(`${at}.id`, `重复的评分项 ${it.id} / duplicate item id`);
      else seen.add(it.id);
      if (typeof it.label !== 'string' || !it.label.trim() || it.label.length > 60) err(`${at}.label`, '必填，最长 60 字符 / required, at most 60 characters');
      if (typeof it.weight !== 'number' || !Number.isFinite(it.weight) || it.weight <= 0 || it.weight > 100) err(`${at}.weight`, '须为 0-100 之间的正数 / must be a number > 0 and ≤ 100');
      if (typeof it.maxScore !== 'number' || !Number.isInteger(it.maxScore) || it.maxScore < 1 || it.maxScore > 100) err(`${at}.maxScore`, '须为 1-100 的整数 / must be an integer 1-100');
      if (errors.length === before) items.push({ id: it.id as string, label: (it.label as string).trim(), weight: it.weight as number, maxScore: it.maxScore as number });
    });
    if (errors.length === 0) {
      const sum = items.reduce((s, x) => s + x.weight, 0);
      if (Math.abs(sum - 100) > 1e-9) err('items', `权重之和须为 100（现为 ${sum}） / weights must add up to 100 (got ${sum})`);
    }
  }
  if (errors.length) return { ok: false, errors };
  return { ok: true, value: { id: f.id as string, name: (f.name as string).trim(), items } };
}

/** Check an inspector's scores against a form: every item scored, 0..maxScore, nothing else. */
export function validateScores(form: InspectionForm, input: unknown): Validated<Record<string, number>> {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return { ok: false, errors: [{ field: 'scores', message: '必须是对象 / must be an object of item → score' }] };
  const s = input as Record<string, unknown>;
  const errors: FieldError[] = [];
  const out: Record<string, number> = {};
  for (const it of form.items) {
    const v = s[it.id];
    if (v === undefined || v === null) errors.push({ field: `scores.${it.id}`, message: '必填 / is required' });
    else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > it.maxScore) {
      errors.push({ field: `scores.${it.id}`, message: `须为 0-${it.maxScore} / must be a number from 0 to ${it.maxScore}` });
    } else out[it.id] = v;
  }
  for (const k of Object.keys(s)) if (!form.items.some((it) => it.id === k)) errors.push({ field: `scores.${k}`, message: '不是该质检表的评分项 / not an item of this form' });
  return errors.length ? { ok: false, errors } : { ok: true, value: out };
}

/** Weighted total on a 0-100 scale, two decimals. */
export function scoreTotal(form: InspectionForm, scores: Record<string, number>): number {
  const weights = form.items.reduce((s, it) => s + it.weight, 0);
  const sum = form.items.reduce((s, it) => s + (it.weight * (scores[it.id] ?? 0)) / it.maxScore, 0);
  return Math.round((sum / weights) * 10000) / 100;
}

// ---- sampling ---------------------------------------------------------------------------------

/** A call that may be sampled (from the tickets). */
export interface SampleCandidate {
  callId: string;
  agentId: string;
  /** The agent's seat group. */
  group: string;
  /** ms since epoch of the call. */
  at: number;
  ticketNo?: string;
  /** The ticket is a complaint about the service (投诉). */
  complaint?: boolean;
  /** The ticket was reopened (重办). */
  reopened?: boolean;
  /** The caller rated the call dissatisfied (不满意). */
  dissatisfied?: boolean;
}

export type SampleReason = 'complaint' | 'reopened' | 'dissatisfied' | 'random';

export interface Sample {
  callId: string;
  agentId: string;
  group: string;
  at: number;
  ticketNo?: string;
  /** Why it was picked (a flagged call lists every flag). */
  reasons: SampleReason[];
}

export interface SamplingOptions {
  /** Random share of the unflagged calls of each agent, 0-100. */
  ratePercent: number;
  /** Period, ms since epoch: from inclusive, to exclusive. */
  from: number;
  to: number;
  /** Uniform [0,1); use {@link seededRng} for a reproducible sample. */
  rng: () => number;
  /** At least this many random picks per agent who took unflagged calls (default 1 when ratePercent > 0). */
  minPerAgent?: number;
}

export { seededRng };

/**
 * Pick the calls to inspect: per agent, every call with a complaint, a reopen
 * or a dissatisfied rating, plus ⌈rate × unflagged⌉ others at random. The same
 * candidates and seed give the same sample whatever their input order.
 */
export function sampleCalls(candidates: readonly SampleCandidate[], o: SamplingOptions): Sample[] {
  if (!(o.ratePercent >= 0 && o.ratePercent <= 100)) throw new RangeError('ratePercent must be 0-100');
  const inPeriod = candidates.filter((c) => c.at >= o.from && c.at < o.to && c.agentId);
  const byAgent = new Map<string, SampleCandidate[]>();
  const uniq = new Map<string, SampleCandidate>();
  for (const c of inPeriod) uniq.set(`${c.agentId}\u0000${c.callId}`, c);
  for (const c of [...uniq.values()].sort((a, b) => cmp(a.agentId, b.agentId) || cmp(a.callId, b.callId))) {
    const list = byAgent.get(c.agentId) ?? [];
    list.push(c);
    byAgent.set(c.agentId, list);
  }
  const out: Sample[] = [];
  const min = o.minPerAgent ?? (o.ratePercent > 0 ? 1 : 0);
  for (const [, calls] of [...byAgent].sort((a, b) => cmp(a[0], b[0]))) {
    const rest: SampleCandidate[] = [];
    for (const c of calls) {
      const reasons: SampleReason[] = [];
      if (c.complaint) reasons.push('complaint');
      if (c.reopened) reasons.push('reopened');
      if (c.dissatisfied) reasons.push('dissatisfied');
      if (reasons.length) out.push(toSample(c, reasons));
      else rest.push(c);
    }
    const want = Math.min(rest.length, Math.max(Math.ceil((rest.length * o.ratePercent) / 100 - 1e-9), rest.length ? min : 0));
    // Partial Fisher-Yates: the first `want` positions are a uniform random subset.
    for (let i = 0; i < want; i++) {
      const j = i + Math.floor(o.rng() * (rest.length - i));
      [rest[i], rest[j]] = [rest[j]!, rest[i]!];
      out.push(toSample(rest[i]!, ['random']));
    }
  }
  return out;
}

function toSample(c: SampleCandidate, reasons: SampleReason[]): Sample {
  return { callId: c.callId, agentId: c.agentId, group: c.group, at: c.at, ...(c.ticketNo ? { ticketNo: c.ticketNo } : {}), reasons };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- scores and roll-ups ----------------------------------------------------------------------

export interface Inspection {
  callId: string;
  agentId: string;
  group: string;
  /** ms since epoch of the call (periods are by call time). */
  at: number;
  formId: string;
  scores: Record<string, number>;
  /** Weighted total, 0-100. */
  total: number;
  inspector: string;
  inspectedAt: number;
  comment?: string;
}

export interface RollUpRow {
  /** Agent id or group id. */
  id: string;
  count: number;
  average: number;
  min: number;
  max: number;
  /** Average per item as a percentage of the item's max score. */
  items: Record<string, number>;
}

export interface QualitySummary {
  agents: RollUpRow[];
  groups: RollUpRow[];
  overall: { count: number; average: number };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Averages per agent and per seat group (items as % of their max, across forms by item id). */
export function rollUp(inspections: readonly Inspection[], forms: ReadonlyMap<string, InspectionForm> | Record<string, InspectionForm>): QualitySummary {
  const formOf = (id: string): InspectionForm | undefined =>
    forms instanceof Map ? (forms as ReadonlyMap<string, InspectionForm>).get(id) : (forms as Record<string, InspectionForm>)[id];
  const rows = (key: (i: Inspection) => string): RollUpRow[] => {
    const groups = new Map<string, Inspection[]>();
    for (const i of inspections) groups.set(key(i), [...(groups.get(key(i)) ?? []), i]);
    return [...groups]
      .map(([id, list]) => {
        const totals = list.map((i) => i.total);
        const itemSums = new Map<string, { sum: number; n: number }>();
        for (const i of list) {
          const form = formOf(i.formId);
          for (const [item, score] of Object.entries(i.scores)) {
            const max = form?.items.find((x) => x.id === item)?.maxScore;
            if (!max) continue;
            const acc = itemSums.get(item) ?? { sum: 0, n: 0 };
            acc.sum += (score / max) * 100;
            acc.n++;
            itemSums.set(item, acc);
          }
        }
        return {
          id,
          count: list.length,
          average: round2(totals.reduce((s, x) => s + x, 0) / list.length),
          min: Math.min(...totals),
          max: Math.max(...totals),
          items: Object.fromEntries([...itemSums].sort((a, b) => cmp(a[0], b[0])).map(([k, v]) => [k, round2(v.sum / v.n)])),
        };
      })
      .sort((a, b) => cmp(a.id, b.id));
  };
  const n = inspections.length;
  return {
    agents: rows((i) => i.agentId),
    groups: rows((i) => i.group),
    overall: { count: n, average: n ? round2(inspections.reduce((s, i) => s + i.total, 0) / n) : 0 },
  };
}

// ---- score trends ------------------------------------------------------------------------------

export type TrendBucket = 'day' | 'week';
export type TrendBy = 'agent' | 'group';

export interface ScoreTrend {
  bucket: TrendBucket;
  by: TrendBy;
  /** Start of each bucket, epoch ms: the city's midnight (day) or Monday midnight (week). */
  starts: number[];
  /** Average weighted total per bucket over all inspections (null: none in that bucket). */
  overall: { average: (number | null)[]; count: number[] };
  /** One series per agent or seat group that has an inspection in the period, by id. */
  series: { id: string; average: (number | null)[]; count: number[] }[];
}

const DAY_MS = 86_400_000;

/** The start of the city's day or week (Monday) holding `at`; `utcOffsetMin` is the city's offset (China: 480, no DST). */
export function bucketStart(at: number, bucket: TrendBucket, utcOffsetMin = 480): number {
  const off = utcOffsetMin * 60_000;
  const day = Math.floor((at + off) / DAY_MS) * DAY_MS - off;
  if (bucket === 'day') return day;
  const dow = new Date(day + off).getUTCDay(); // 0 = Sunday, in the city
  return day - ((dow + 6) % 7) * DAY_MS;
}

/**
 * Average score per day or week (city time) per agent or seat group, for calls in [from, to): the
 * quality page's trend chart. Buckets are whole days or weeks from the one holding `from`; a bucket
 * without inspections is null (a gap in the line, not a zero).
 */
export function scoreTrend(inspections: readonly Inspection[], q: { from: number; to: number; bucket: TrendBucket; by: TrendBy; utcOffsetMin?: number }): ScoreTrend {
  const step = q.bucket === 'day' ? DAY_MS : 7 * DAY_MS;
  const starts: number[] = [];
  for (let t = bucketStart(q.from, q.bucket, q.utcOffsetMin); t < q.to; t += step) starts.push(t);
  const index = (at: number) => Math.floor((at - starts[0]!) / step);
  const sums = new Map<string, { sum: number[]; n: number[] }>();
  const all = { sum: starts.map(() => 0), n: starts.map(() => 0) };
  for (const i of inspections) {
    if (i.at < q.from || i.at >= q.to) continue;
    const k = index(i.at);
    if (k < 0 || k >= starts.length) continue;
    const id = q.by === 'agent' ? i.agentId : i.group;
    const acc = sums.get(id) ?? { sum: starts.map(() => 0), n: starts.map(() => 0) };
    acc.sum[k]! += i.total;
    acc.n[k]!++;
    sums.set(id, acc);
    all.sum[k]! += i.total;
    all.n[k]!++;
  }
  const avg = (a: { sum: number[]; n: number[] }) => a.sum.map((x, k) => (a.n[k] ? round2(x / a.n[k]!) : null));
  return {
    bucket: q.bucket,
    by: q.by,
    starts,
    overall: { average: avg(all), count: all.n },
    series: [...sums].sort((a, b) => cmp(a[0], b[0])).map(([id, a]) => ({ id, average: avg(a), count: a.n })),
  };
}

// ---- the service (Redis) ----------------------------------------------------------------------

/** Where the calls to sample come from (bound to the tickets by the composition root). */
export interface SamplingSource {
  candidates(from: number, to: number): Promise<SampleCandidate[]>;
}

export class QualityError extends Error {
  constructor(
    readonly code: 'invalid-input' | 'not-found' | 'conflict',
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'QualityError';
  }
}

export interface StoredSample extends Sample {
  sampledAt: number;
  inspected: boolean;
}

/** The fields of a call record sampling needs (calls/record.ts `CallRecord` fits). */
export interface SampledCallRecord {
  callId: string;
  startedAt: number;
  agentAnsweredAt?: number;
  agents: string[];
  survey?: { rating: number };
}

/** Survey key 4 is 不满意 (dissatisfied) in the prompt catalogue. */
export const DISSATISFIED_RATING = 4;

/**
 * The candidate of an ended call: the agent who took it (the first to
 * answer), its seat group, and the dissatisfied flag from the survey; none
 * when no agent talked with the caller.
 */
export function candidateFromRecord(r: SampledCallRecord, ticketNo: string | undefined, groupOf: (agentId: string) => string | undefined): SampleCandidate | undefined {
  const agentId = r.agents[0];
  if (!agentId) return undefined;
  return {
    callId: r.callId,
    agentId,
    group: groupOf(agentId) ?? 'general',
    at: r.agentAnsweredAt ?? r.startedAt,
    ...(ticketNo ? { ticketNo } : {}),
    ...(r.survey?.rating === DISSATISFIED_RATING ? { dissatisfied: true } : {}),
  };
}

export interface QualityServiceOptions {
  redis: Redis;
  prefix: string;
  /** Where candidates come from; default: the calls noted with {@link QualityService.noteCall}. */
  source?: SamplingSource;
  /** Default random share (percent) of each agent's unflagged calls. */
  ratePercent?: number;
  now?: () => number;
}

const DAY = 86_400_000;

/** Start of the Shanghai day containing `ms`. */
export function shanghaiDayStart(ms: number): number {
  return Math.floor((ms + 8 * 3600_000) / DAY) * DAY - 8 * 3600_000;
}

export class QualityService {
  private readonly now: () => number;

  constructor(private readonly o: QualityServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  private k(...parts: string[]): string {
    return redisKey(this.o.prefix, 'qa', ...parts);
  }

  private get source(): SamplingSource {
    return this.o.source ?? { candidates: (from, to) => this.notedCalls(from, to) };
  }

  /** Remember an answered call for sampling (the ticket worker's onTicket; idempotent, flags kept). */
  async noteCall(c: SampleCandidate): Promise<void> {
    const prev = await this.o.redis.get(this.k('cand', c.callId));
    const old = prev ? (JSON.parse(prev) as SampleCandidate) : undefined;
    const merged: SampleCandidate = {
      ...c,
      ...(old?.complaint || c.complaint ? { complaint: true } : {}),
      ...(old?.reopened || c.reopened ? { reopened: true } : {}),
      ...(old?.dissatisfied || c.dissatisfied ? { dissatisfied: true } : {}),
    };
    await this.o.redis.multi().set(this.k('cand', c.callId), JSON.stringify(merged)).zadd(this.k('cands'), c.at, c.callId).exec();
  }

  /** A ticket of a noted call became a complaint or was reopened; false when the call is unknown. */
  async flagCall(callId: string, flag: 'complaint' | 'reopened' | 'dissatisfied'): Promise<boolean> {
    const prev = await this.o.redis.get(this.k('cand', callId));
    if (!prev) return false;
    await this.o.redis.set(this.k('cand', callId), JSON.stringify({ ...(JSON.parse(prev) as SampleCandidate), [flag]: true }));
    return true;
  }

  /** Calls noted in [from, to). */
  async notedCalls(from: number, to: number): Promise<SampleCandidate[]> {
    const ids = await this.o.redis.zrangebyscore(this.k('cands'), from, `(${to}`);
    if (ids.length === 0) return [];
    const raws = await this.o.redis.mget(ids.map((id) => this.k('cand', id)));
    return raws.filter((r): r is string => Boolean(r)).map((r) => JSON.parse(r) as SampleCandidate);
  }

  async forms(): Promise<InspectionForm[]> {
    const ids = await this.o.redis.smembers(this.k('forms'));
    const stored = (await Promise.all(ids.map((id) => this.form(id)))).filter((f): f is InspectionForm => Boolean(f));
    return stored.some((f) => f.id === DEFAULT_FORM.id) ? stored : [DEFAULT_FORM, ...stored];
  }

  async form(id: string): Promise<InspectionForm | undefined> {
    const raw = await this.o.redis.get(this.k('form', id));
    if (raw) return JSON.parse(raw) as InspectionForm;
    return id === DEFAULT_FORM.id ? DEFAULT_FORM : undefined;
  }

  /** Create or replace a form (validated); scores already given keep the items they were given on. */
  async saveForm(input: unknown): Promise<InspectionForm> {
    const v = validateForm(input);
    if (!v.ok) throw new QualityError('invalid-input', v.errors.map((e) => `${e.field}: ${e.message}`).join('; '), v.errors);
    await this.o.redis.multi().set(this.k('form', v.value.id), JSON.stringify(v.value)).sadd(this.k('forms'), v.value.id).exec();
    return v.value;
  }

  /**
   * Sample a period (default: the previous Shanghai day). Reproducible: the
   * seed derives from the period, and a call already sampled stays as it was.
   */
  async runSampling(opts: { from?: number; to?: number; ratePercent?: number; seed?: number | string } = {}): Promise<{ from: number; to: number; added: number; samples: Sample[] }> {
    const to = opts.to ?? shanghaiDayStart(this.now());
    const from = opts.from ?? to - DAY;
    const candidates = await this.source.candidates(from, to);
    const samples = sampleCalls(candidates, {
      ratePercent: opts.ratePercent ?? this.o.ratePercent ?? 5,
      from,
      to,
      rng: seededRng(opts.seed ?? `qa:${from}:${to}`),
    });
    let added = 0;
    const sampledAt = this.now();
    for (const s of samples) {
      const stored: StoredSample = { ...s, sampledAt, inspected: false };
      const ok = await this.o.redis.set(this.k('sample', s.callId), JSON.stringify(stored), 'NX');
      if (ok) {
        await this.o.redis.zadd(this.k('samples'), s.at, s.callId);
        added++;
      }
    }
    return { from, to, added, samples };
  }

  async sample(callId: string): Promise<StoredSample | undefined> {
    const raw = await this.o.redis.get(this.k('sample', callId));
    return raw ? (JSON.parse(raw) as StoredSample) : undefined;
  }

  /** Samples of calls in [from, to), oldest first; optionally only those not inspected yet, or one agent's. */
  async samples(q: { from?: number; to?: number; pending?: boolean; agentId?: string; limit?: number } = {}): Promise<StoredSample[]> {
    const ids = await this.o.redis.zrangebyscore(this.k('samples'), q.from ?? '-inf', q.to !== undefined ? `(${q.to}` : '+inf', 'LIMIT', 0, Math.min(q.limit ?? 500, 5000));
    const out: StoredSample[] = [];
    for (const id of ids) {
      const s = await this.sample(id);
      if (!s) continue;
      if (q.pending && s.inspected) continue;
      if (q.agentId && s.agentId !== q.agentId) continue;
      out.push(s);
    }
    return out;
  }

  /** An inspector scores a sampled call (a second submission replaces the first). */
  async submit(input: { callId: string; formId?: string; scores: unknown; comment?: string; inspector: string }): Promise<Inspection> {
    const sample = await this.sample(input.callId);
    if (!sample) throw new QualityError('not-found', `抽检通话 ${input.callId} 不存在 / sampled call ${input.callId} not found`);
    const formId = input.formId ?? DEFAULT_FORM.id;
    const form = await this.form(formId);
    if (!form) throw new QualityError('invalid-input', `formId: 质检表 ${formId} 不存在 / unknown form`, [{ field: 'formId', message: 'unknown form' }]);
    const v = validateScores(form, input.scores);
    if (!v.ok) throw new QualityError('invalid-input', v.errors.map((e) => `${e.field}: ${e.message}`).join('; '), v.errors);
    const inspection: Inspection = {
      callId: sample.callId,
      agentId: sample.agentId,
      group: sample.group,
      at: sample.at,
      formId,
      scores: v.value,
      total: scoreTotal(form, v.value),
      inspector: input.inspector,
      inspectedAt: this.now(),
      ...(input.comment ? { comment: input.comment.slice(0, 500) } : {}),
    };
    await this.o.redis
      .multi()
      .set(this.k('inspection', sample.callId), JSON.stringify(inspection))
      .zadd(this.k('inspections'), sample.at, sample.callId)
      .set(this.k('sample', sample.callId), JSON.stringify({ ...sample, inspected: true }))
      .exec();
    return inspection;
  }

  async inspection(callId: string): Promise<Inspection | undefined> {
    const raw = await this.o.redis.get(this.k('inspection', callId));
    return raw ? (JSON.parse(raw) as Inspection) : undefined;
  }

  async inspections(from?: number, to?: number): Promise<Inspection[]> {
    const ids = await this.o.redis.zrangebyscore(this.k('inspections'), from ?? '-inf', to !== undefined ? `(${to}` : '+inf');
    const out: Inspection[] = [];
    for (const id of ids) {
      const i = await this.inspection(id);
      if (i) out.push(i);
    }
    return out;
  }

  /** Average scores per day or week and agent or seat group for calls in [from, to) ({@link scoreTrend}). */
  async trend(q: { from: number; to: number; bucket: TrendBucket; by: TrendBy }): Promise<ScoreTrend> {
    return scoreTrend(await this.inspections(q.from, q.to), q);
  }

  /** Roll-ups per agent and seat group for calls in [from, to), plus sampling coverage. */
  async summary(from?: number, to?: number): Promise<QualitySummary & { sampled: number; pending: number }> {
    const [list, forms, samples] = await Promise.all([this.inspections(from, to), this.forms(), this.samples({ ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), limit: 5000 })]);
    const byId = new Map(forms.map((f) => [f.id, f]));
    return { ...rollUp(list, byId), sampled: samples.length, pending: samples.filter((s) => !s.inspected).length };
  }
}
