/**
 * 回访 campaigns, the I/O: creating a campaign from explicit closed tickets or a rule, pausing,
 * resuming and cancelling it (versioned), and running it on BullMQ.
 *
 * How it runs (durable, at-least-once, no double calls):
 * - A `tick` job (queue `campaign-ticks`) plans the campaign under a short Redis lock with the pure
 *   {@link planCampaign}: the items to call now become `calling` (attempt n) and each gets a `call`
 *   job whose id is campaign + ticket + attempt (adding it again is a no-op); the next wake-up (the
 *   next allowed window, the next retry) is a delayed tick. Ticks also re-add the call jobs of items
 *   still `calling`, so a crash between the two writes loses nothing.
 * - A `call` job (queue `campaign-calls`) claims its attempt in Redis (SET NX) before dialling. A
 *   job that finds its attempt already claimed was cut off by a restart: it does not dial again; the
 *   attempt counts as made (`interrupted`, retried after the interval), or, when the claim already
 *   holds the result, finishes the bookkeeping with it. The job stays active while the call runs,
 *   so a dead instance's job is found stalled and re-run elsewhere.
 * - After the call: the rating onto the ticket (ticket domain, idempotent by call id), one audit
 *   entry (who started the campaign, which ticket, the attempt's outcome; no number), the item's
 *   next state ({@link finishAttempt}), and a tick.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ConnectionOptions, Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { SessionIndex } from '../calls/session.js';
import type { Lang } from '../ivr/types.js';
import type { Telephony } from '../telephony/port.js';
import type { WorkCalendar } from '../tickets/calendar.js';
import { dateToDayIndex, dayStart } from '../tickets/calendar.js';
import type { TicketService } from '../tickets/service.js';
import type { StoredTicket, TicketStore } from '../tickets/store.js';
import { createJobQueue, type JobQueue } from '../util/jobs.js';
import {
  cancelItem,
  finishAttempt,
  formatHours,
  MAX_PERIOD_DAYS,
  parseHours,
  planCampaign,
  progressOf,
  sampleTickets,
  startAttempt,
  type AttemptOutcome,
  type CampaignItem,
  type CampaignRules,
  type HourWindow,
} from './plan.js';
import { CampaignStore, type Campaign, type CampaignSource } from './store.js';
import { SurveyCall, type SurveyCallPhase, type SurveyCallResult } from './survey-call.js';

export const TICK_QUEUE = 'campaign-ticks';
export const CALL_QUEUE = 'campaign-calls';

export interface CampaignDefaults {
  hours: string;
  retries: number;
  retryIntervalSec: number;
  concurrency: number;
}

export interface CampaignServiceDeps {
  redis: Redis;
  prefix: string;
  connection: ConnectionOptions;
  tickets: TicketStore;
  ticketService: Pick<TicketService, 'recordPhoneRating'>;
  calendar: Pick<WorkCalendar, 'isWorkingDay'>;
  telephony: Telephony;
  index: SessionIndex;
  audit: { record(e: { actor: string; action: string; target?: string; detail?: string; ip?: string }): Promise<void> };
  log: Logger;
  now: () => number;
  defaults: CampaignDefaults;
  /** Citizen dial string with `{number}` (CALLBACK_DIAL_TEMPLATE), caller id, ring time. */
  dialTemplate: string;
  callerId: string;
  ringSec: number;
  /** Survey calls this instance runs at once (all campaigns together). */
  maxCalls: number;
  /** Run the job workers here. */
  worker: boolean;
}

/** What a supervisor asks for; ticket numbers or a period rule, the rest defaults from config. */
export interface CampaignInput {
  name?: string;
  ticketNos?: string[];
  period?: { from: string; to: string; percent?: number };
  hours?: string;
  retries?: number;
  retryIntervalSec?: number;
  concurrency?: number;
  lang?: Lang;
}

/** A refusal naming the field; nothing was changed. */
export class CampaignInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CampaignView extends Campaign {
  progress: ReturnType<typeof progressOf>;
  /** When the campaign will place its next call at the earliest (outside the hours: the next window). */
  nextCallAt?: number;
}

/** What the API shows of a campaign's ticket (no number, ever). */
export type ItemView = CampaignItem;

interface CallJob {
  campaignId: string;
  ticketNo: string;
  attempt: number;
}
interface TickJob {
  campaignId: string;
}

/** Letters only: the audit masks digit runs, and ids go into job ids and channel ids. */
function letters(n: number): string {
  return [...randomBytes(n)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
}

const NUMBER_RE = /^\+?\d{3,20}$/;
const TICKET_RE = /^\d{8,30}$/;
const CLAIM_TTL_SEC = 30 * 86_400;

export class CampaignService {
  readonly store: CampaignStore;
  private ticks: JobQueue<TickJob> | undefined;
  private calls: JobQueue<CallJob> | undefined;
  private readonly live = new Map<string, { campaignId: string; ticketNo: string; attempt: number; call: SurveyCall }>();
  private readonly log: Logger;

  constructor(private readonly d: CampaignServiceDeps) {
    this.store = new CampaignStore(d.redis, d.prefix);
    this.log = d.log.child({ component: 'campaigns' });
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    this.ticks = createJobQueue<TickJob>({
      name: TICK_QUEUE,
      connection: this.d.connection,
      prefix: this.d.prefix,
      log: this.log,
      runWorker: this.d.worker,
      concurrency: 2,
      defaultJobOptions: { attempts: 10, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: 100 },
      process: (job) => this.tick(job.data.campaignId),
    });
    this.calls = createJobQueue<CallJob>({
      name: CALL_QUEUE,
      connection: this.d.connection,
      prefix: this.d.prefix,
      log: this.log,
      runWorker: this.d.worker,
      concurrency: this.d.maxCalls,
      // A call job runs as long as its call; a dead instance's is found stalled within ~20 s and re-run
      // elsewhere, where the attempt's claim keeps it from dialling again.
      lockDurationMs: 10_000,
      stalledIntervalMs: 10_000,
      // A job that cannot run now (the PBX link or Redis away) is tried again every 5 s until it can: an
      // item left `calling` with a failed job would never be called again.
      defaultJobOptions: { attempts: 1_000_000, backoff: { type: 'fixed', delay: 5000 }, removeOnComplete: true, removeOnFail: 500 },
      process: (job) => this.runCall(job),
    });
    // After a restart: every running campaign plans again (its delayed ticks are in Redis anyway).
    await this.wake().catch((err: Error) => this.log.warn({ err: err.message }, 'campaigns not woken at start'));
  }

  async close(): Promise<void> {
    await this.ticks?.close();
    await this.calls?.close();
  }

  /**
   * Plan every running campaign now (after a start, a working-calendar change, a clock move): the
   * wake-ups planned before are dropped, since the new plan may put them elsewhere.
   */
  async wake(): Promise<void> {
    const delayed = (await this.ticks?.queue.getDelayed()) ?? [];
    for (const job of delayed) await job?.remove().catch(() => undefined);
    for (const id of await this.store.ids()) {
      const c = await this.store.get(id);
      if (c?.status === 'running') await this.enqueueTick(id);
    }
  }

  // ------------------------------------------------------------------ supervisor actions

  /** Create and start a campaign. Throws {@link CampaignInputError} naming the field; nothing is stored then. */
  async create(input: CampaignInput, actor: string, ip?: string): Promise<CampaignView> {
    const def = this.d.defaults;
    const hoursText = input.hours ?? def.hours;
    const hours = parseHours(hoursText);
    if ('error' in hours) throw new CampaignInputError('hours', hours.error);
    const retries = input.retries ?? def.retries;
    const retryIntervalSec = input.retryIntervalSec ?? def.retryIntervalSec;
    const concurrency = input.concurrency ?? def.concurrency;
    if (!!input.ticketNos === !!input.period) throw new CampaignInputError(input.ticketNos ? 'period' : 'ticketNos', '请给出工单号列表或时段规则（二选一） / give either ticketNos or period, not both');
    const id = `cmp-${letters(10)}`;
    let ticketNos: string[];
    let source: CampaignSource;
    if (input.ticketNos) {
      if (input.ticketNos.length === 0) throw new CampaignInputError('ticketNos', '至少一个工单 / at least one ticket');
      const seen = new Set<string>();
      for (const [i, no] of input.ticketNos.entries()) {
        if (!TICKET_RE.test(no)) throw new CampaignInputError(`ticketNos[${i}]`, '工单号为数字 / a ticket number is digits');
        if (seen.has(no)) throw new CampaignInputError(`ticketNos[${i}]`, `工单 ${no} 重复 / ticket ${no} is listed twice`);
        seen.add(no);
        const why = surveyable(await this.d.tickets.get(no));
        if (why) throw new CampaignInputError(`ticketNos[${i}]`, `工单 ${no}：${why}`);
      }
      ticketNos = [...input.ticketNos];
      source = { kind: 'tickets' };
    } else {
      const p = input.period!;
      const from = dateToDayIndex(p.from);
      const to = dateToDayIndex(p.to);
      if (from === undefined) throw new CampaignInputError('period.from', '日期格式 YYYY-MM-DD / a date YYYY-MM-DD');
      if (to === undefined) throw new CampaignInputError('period.to', '日期格式 YYYY-MM-DD / a date YYYY-MM-DD');
      if (to < from) throw new CampaignInputError('period.to', '结束日期不早于开始日期 / must not be before period.from');
      if (to - from + 1 > MAX_PERIOD_DAYS) throw new CampaignInputError('period.to', `时段不超过 ${MAX_PERIOD_DAYS} 天 / at most ${MAX_PERIOD_DAYS} days`);
      const percent = p.percent ?? 100;
      // Closed tickets received in the period (city dates, inclusive), surveyable ones only.
      const nos = await this.d.tickets.list({ from: dayStart(from), to: dayStart(to + 1), limit: 100_000 });
      const closed: string[] = [];
      for (const no of nos) if (!surveyable(await this.d.tickets.get(no))) closed.push(no);
      ticketNos = sampleTickets(closed.sort(), percent, id);
      if (ticketNos.length === 0) throw new CampaignInputError('period', '该时段没有可回访的已办结工单 / no closed ticket with a number in that period (or the sample is empty)');
      source = { kind: 'period', from: p.from, to: p.to, percent };
    }
    const now = this.d.now();
    const c: Campaign = {
      id,
      name: (input.name ?? '').trim() || `回访 ${new Date(now + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ')}`,
      createdBy: actor,
      createdAt: now,
      version: 1,
      status: 'running',
      source,
      hours: formatHours(hours),
      maxAttempts: retries + 1,
      retryIntervalSec,
      concurrency,
      lang: input.lang ?? 'zh',
      updatedAt: now,
      updatedBy: actor,
    };
    const items: CampaignItem[] = ticketNos.map((ticketNo) => ({ ticketNo, state: 'pending', attempts: 0, nextAt: now, history: [] }));
    await this.store.create(c, items);
    await this.d.audit.record({ actor, action: 'campaign-create', target: `campaign:${id}`, detail: `${c.name}: ${items.length} tickets, hours ${c.hours}, retries ${retries}`, ...(ip ? { ip } : {}) });
    await this.enqueueTick(id);
    return this.view(c, items);
  }

  /** Pause, resume or cancel, naming the version read. Throws CampaignConflict / CampaignInputError. */
  async setStatus(id: string, action: 'pause' | 'resume' | 'cancel', version: number, actor: string, ip?: string): Promise<CampaignView | undefined> {
    const allowed: Record<typeof action, Campaign['status'][]> = { pause: ['running'], resume: ['paused'], cancel: ['running', 'paused'] };
    const target = { pause: 'paused', resume: 'running', cancel: 'cancelled' } as const;
    let refused: string | undefined;
    const c = await this.store.update(
      id,
      (cur) => {
        if (!allowed[action].includes(cur.status)) {
          refused = cur.status;
          return undefined;
        }
        return { ...cur, status: target[action], updatedAt: this.d.now(), updatedBy: actor };
      },
      version,
    );
    if (!c) return undefined;
    if (refused) throw new CampaignInputError('action', `回访任务状态为 ${refused}，不能${action === 'pause' ? '暂停' : action === 'resume' ? '恢复' : '取消'} / the campaign is ${refused}: cannot ${action}`);
    if (action === 'cancel') await this.withLock(id, async () => this.store.putItems(id, (await this.store.items(id)).filter((i) => i.state === 'pending').map(cancelItem)));
    await this.d.audit.record({ actor, action: `campaign-${action}`, target: `campaign:${id}`, ...(ip ? { ip } : {}) });
    if (action === 'resume') await this.enqueueTick(id);
    return this.get(id);
  }

  async get(id: string): Promise<CampaignView | undefined> {
    const c = await this.store.get(id);
    return c ? this.view(c, await this.store.items(id)) : undefined;
  }

  async list(limit = 50): Promise<CampaignView[]> {
    return Promise.all((await this.store.list(limit)).map(async (c) => this.view(c, await this.store.items(c.id))));
  }

  async items(id: string): Promise<ItemView[]> {
    return this.store.items(id);
  }

  /** Survey calls in progress on this instance (tests wait for the question before pressing a key). */
  liveCalls(): { campaignId: string; ticketNo: string; attempt: number; phase: SurveyCallPhase; legId: string }[] {
    return [...this.live.values()].map((l) => ({ campaignId: l.campaignId, ticketNo: l.ticketNo, attempt: l.attempt, phase: l.call.phase, legId: l.call.legId }));
  }

  private view(c: Campaign, items: readonly CampaignItem[]): CampaignView {
    const plan = c.status === 'running' ? planCampaign(rulesOf(c), items, this.d.now(), this.d.calendar) : undefined;
    const nextCallAt = plan ? (plan.place.length ? this.d.now() : plan.wakeAt) : undefined;
    return { ...c, progress: progressOf(items), ...(nextCallAt !== undefined ? { nextCallAt } : {}) };
  }

  // ------------------------------------------------------------------ running

  private async enqueueTick(id: string, atMs?: number): Promise<void> {
    const now = this.d.now();
    const delay = atMs === undefined ? 0 : Math.max(0, atMs - now);
    // A wake-up at an instant is one job (re-planning adds it again harmlessly); "now" ones are unique.
    const jobId = atMs === undefined ? `tick-${id}-${randomUUID()}` : `tick-${id}-at-${atMs}`;
    await this.ticks?.queue.add('tick', { campaignId: id }, { jobId, delay });
  }

  private async withLock<T>(id: string, fn: () => Promise<T>): Promise<T | undefined> {
    const key = this.store.key(id, 'lock');
    const token = randomUUID();
    for (let i = 0; i < 50; i++) {
      if ((await this.d.redis.set(key, token, 'PX', 15_000, 'NX')) === 'OK') {
        try {
          return await fn();
        } finally {
          await this.d.redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, key, token);
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`campaign ${id} lock busy`);
  }

  /** Plan the campaign now and carry the plan out (the tick job's handler). */
  async tick(id: string): Promise<unknown> {
    return this.withLock(id, async () => {
      const c = await this.store.get(id);
      if (!c) return 'gone';
      const items = await this.store.items(id);
      // Items still calling: their jobs again (a no-op while they exist; a crash between writes loses nothing).
      for (const i of items) if (i.state === 'calling') await this.addCallJob(id, i.ticketNo, i.attempts);
      if (c.status !== 'running') return c.status;
      const now = this.d.now();
      const plan = planCampaign(rulesOf(c), items, now, this.d.calendar);
      const started = plan.place.map((p) => startAttempt(items.find((i) => i.ticketNo === p.ticketNo)!, p.attempt));
      await this.store.putItems(id, started);
      for (const p of plan.place) await this.addCallJob(id, p.ticketNo, p.attempt);
      if (plan.done) await this.store.update(id, (cur) => (cur.status === 'running' ? { ...cur, status: 'done', updatedAt: now, updatedBy: 'system' } : undefined));
      else if (plan.wakeAt !== undefined) await this.enqueueTick(id, plan.wakeAt);
      return { placed: plan.place.length, wakeAt: plan.wakeAt, done: plan.done };
    });
  }

  private async addCallJob(campaignId: string, ticketNo: string, attempt: number): Promise<void> {
    await this.calls?.queue.add('call', { campaignId, ticketNo, attempt }, { jobId: `call-${campaignId}-${ticketNo}-${attempt}` });
  }

  /** One attempt (the call job's handler): claim, dial, survey, then the rating, the audit, the item. */
  private async runCall(job: Job<CallJob>): Promise<unknown> {
    const { campaignId, ticketNo, attempt } = job.data;
    const c = await this.store.get(campaignId);
    const item = await this.store.item(campaignId, ticketNo);
    if (!c || !item || item.state !== 'calling' || item.attempts !== attempt) return 'stale';
    if (c.status !== 'running') {
      // Paused or cancelled before the call went out: the attempt is not made.
      const back: CampaignItem = c.status === 'cancelled' ? { ...item, state: 'cancelled' } : { ...item, state: 'pending', attempts: attempt - 1 };
      await this.store.putItems(campaignId, [back]);
      return 'not-placed';
    }
    // Not while the PBX link is down (e.g. just after a start): the attempt would be spent on a call never placed.
    if (this.d.telephony.linkState !== 'connected') throw new Error('PBX link not connected; the survey call waits');
    const claimKey = this.store.key(campaignId, 'claim', ticketNo, attempt);
    const placedAt = this.d.now();
    type Claim = { placedAt: number; result?: { outcome: AttemptOutcome; rating?: 1 | 2 | 3 | 4; callId: string; endedAt: number } };
    let claim: Claim;
    if ((await this.d.redis.set(claimKey, JSON.stringify({ placedAt }), 'EX', CLAIM_TTL_SEC, 'NX')) === 'OK') {
      const r = await this.dial(c, ticketNo, attempt);
      claim = { placedAt, result: { outcome: r.outcome, ...(r.rating !== undefined ? { rating: r.rating } : {}), callId: r.callId, endedAt: r.endedAt } };
      await this.d.redis.set(claimKey, JSON.stringify(claim), 'EX', CLAIM_TTL_SEC);
    } else {
      // Claimed before: a restart cut this attempt off (never dial it twice).
      claim = JSON.parse((await this.d.redis.get(claimKey)) ?? 'null') ?? { placedAt };
    }
    const result = claim.result ?? { outcome: 'interrupted' as const, callId: '', endedAt: this.d.now() };
    if (result.outcome === 'rated' && result.rating !== undefined) {
      await this.d.ticketService.recordPhoneRating(ticketNo, { satisfaction: result.rating, callId: result.callId, campaignId });
    }
    const auditKey = this.store.key(campaignId, 'audited', ticketNo, attempt);
    if (!(await this.d.redis.exists(auditKey))) {
      await this.d.audit.record({
        actor: c.createdBy,
        action: 'campaign-call',
        target: `ticket:${ticketNo}`,
        detail: `${campaignId} attempt ${attempt}: ${result.outcome}${result.rating !== undefined ? ` (rating ${result.rating})` : ''}`,
      });
      await this.d.redis.set(auditKey, '1', 'EX', CLAIM_TTL_SEC);
    }
    let nextItem = finishAttempt(item, { n: attempt, at: claim.placedAt, endedAt: result.endedAt, outcome: result.outcome, ...(result.rating !== undefined ? { rating: result.rating } : {}) }, rulesOf(c));
    if (nextItem.state === 'pending' && (await this.store.get(campaignId))?.status === 'cancelled') nextItem = cancelItem(nextItem);
    await this.store.putItems(campaignId, [nextItem]);
    await this.enqueueTick(campaignId);
    return result.outcome;
  }

  private async dial(c: Campaign, ticketNo: string, attempt: number): Promise<SurveyCallResult> {
    const st = await this.d.tickets.get(ticketNo);
    const number = st ? numberOf(st) : '';
    const id = `svy-${letters(12)}`;
    const now = this.d.now();
    if (!NUMBER_RE.test(number)) return { id, callId: `${id}-c`, outcome: 'failed', startedAt: now, endedAt: now, path: ['no number'] };
    const call = new SurveyCall(
      { telephony: this.d.telephony, index: this.d.index, log: this.log, now: this.d.now },
      { id, ticketNo, endpoint: this.d.dialTemplate.replace('{number}', number), callerId: this.d.callerId, ringSec: this.d.ringSec, lang: c.lang },
    );
    this.live.set(id, { campaignId: c.id, ticketNo, attempt, call });
    try {
      const r = await call.start();
      this.log.info({ campaign: c.id, ticketNo, attempt, outcome: r.outcome, path: r.path }, 'survey call ended');
      return r;
    } finally {
      this.live.delete(id);
    }
  }
}

function rulesOf(c: Campaign): CampaignRules {
  const hours = parseHours(c.hours) as HourWindow[];
  return { status: c.status, hours, maxAttempts: c.maxAttempts, retryIntervalSec: c.retryIntervalSec, concurrency: c.concurrency };
}

/** The ticket's stored number (never shown to anyone; only dialled). */
function numberOf(st: StoredTicket): string {
  return st.ticket?.callerNumber || st.record.caller?.number || '';
}

/** Why a ticket cannot be surveyed, or undefined when it can (closed, with a number to call). */
function surveyable(st: StoredTicket | undefined): string | undefined {
  if (!st) return '不存在 / not found';
  if (st.ticket?.state !== 'closed') return `未办结（${st.ticket?.state ?? st.status}） / not closed (${st.ticket?.state ?? st.status})`;
  if (!NUMBER_RE.test(numberOf(st))) return '没有可回访的号码 / has no number to call';
  return undefined;
}

