/**
 * Prometheus metrics (prom-client), one registry per app so that several apps
 * in one process (tests, the demo) never share counters.
 *
 * @remarks
 * Counters and histograms are fed by the composition root's hooks (call ended,
 * ARI request settled, HTTP response sent, ticket clock fired). Everything that
 * is state — queues, agents, today's answer rate, outbox and BullMQ depths,
 * overdue tickets — is read at scrape time by `collect()` callbacks, so a
 * scrape always tells the truth of Redis, not what this instance saw. A source
 * that fails or is slow during a scrape leaves its gauges empty and counts in
 * `hotline_metrics_source_errors_total`; the scrape itself never fails.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallRecord } from '../calls/record.js';

/** What the scrape-time gauges read. Each source may be absent (AMI disabled, worker elsewhere). */
export interface MetricSources {
  queues(): Promise<readonly { skill: string; waiting: number; longestWaitSec: number }[]>;
  agents(): Promise<readonly { state: string }[]>;
  /** Today's counters per line (and `all`). */
  today(): Promise<{ all: DayCounters; lines: Record<string, DayCounters> }>;
  outboxPending(): number;
  ariConnected(): boolean;
  /** BullMQ queues by name: counts per job state. */
  jobQueues(): Record<string, () => Promise<Record<string, number>>>;
  overdueTickets(): Promise<number>;
}

export interface DayCounters {
  offered: number;
  answered: number;
  abandoned: number;
  answerRate: number;
}

const SCRAPE_SOURCE_TIMEOUT_MS = 2000;
const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized', 'waiting-children'] as const;

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export class Metrics {
  readonly registry = new Registry();
  private sources: MetricSources | undefined;
  private readonly sourceErrors: Counter<'source'>;
  private readonly calls: Counter<'line' | 'outcome'>;
  private readonly ivrExits: Counter<'line' | 'exit'>;
  private readonly queueWait: Histogram<'skill' | 'result'>;
  private readonly ariDuration: Histogram<'operation'>;
  private readonly ariErrors: Counter<'operation' | 'kind'>;
  private readonly ariReconnects: Counter;
  private readonly clockFired: Counter<'kind'>;
  private readonly acdHealed: Counter<'kind'>;
  private readonly shed: Counter<'reason'>;
  private readonly gate: Gauge;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const r = this.registry;
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: r, prefix: 'hotline_process_' });
    this.sourceErrors = new Counter({ name: 'hotline_metrics_source_errors_total', help: 'Scrape-time sources that failed or timed out', labelNames: ['source'], registers: [r] });
    this.calls = new Counter({ name: 'hotline_calls_total', help: 'Calls ended, by line and outcome', labelNames: ['line', 'outcome'], registers: [r] });
    this.ivrExits = new Counter({
      name: 'hotline_ivr_exits_total',
      help: 'How callers left the IVR: queue (asked for an agent) or the outcome of a call that never queued',
      labelNames: ['line', 'exit'],
      registers: [r],
    });
    this.queueWait = new Histogram({
      name: 'hotline_queue_wait_seconds',
      help: 'Time from joining the queue to an agent answering (result=answered) or leaving otherwise',
      labelNames: ['skill', 'result'],
      buckets: [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600],
      registers: [r],
    });
    this.ariDuration = new Histogram({
      name: 'hotline_ari_request_duration_seconds',
      help: 'ARI REST request latency, by operation',
      labelNames: ['operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [r],
    });
    this.ariErrors = new Counter({ name: 'hotline_ari_request_errors_total', help: 'ARI REST requests that failed, by operation and kind', labelNames: ['operation', 'kind'], registers: [r] });
    this.ariReconnects = new Counter({ name: 'hotline_ari_reconnects_total', help: 'ARI (re)connections after the first one (each followed by a resync)', registers: [r] });
    this.clockFired = new Counter({ name: 'hotline_ticket_clock_fired_total', help: 'Ticket clocks that fired: remind (催办), reply-overdue and finish-overdue (督办)', labelNames: ['kind'], registers: [r] });
    this.acdHealed = new Counter({ name: 'hotline_acd_healed_total', help: 'ACD state reconciled with live calls: entries of gone calls dropped, live callers re-queued, callbacks restored, agents freed, offers to gone calls refused', labelNames: ['kind'], registers: [r] });
    this.gate = new Gauge({ name: 'hotline_admission_gate_percent', help: 'Share of new citizens’ calls the dialplan gate refuses now (percent; 0 = open)', registers: [r] });
    this.shed = new Counter({ name: 'hotline_calls_shed_total', help: 'Calls refused by admission control (told busy and cleared), by the limit that was over', labelNames: ['reason'], registers: [r] });
    this.httpDuration = new Histogram({
      name: 'hotline_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    });

    const self = this;
    new Gauge({
      name: 'hotline_queue_waiting',
      help: 'Calls waiting for an agent, by skill queue',
      labelNames: ['skill'],
      registers: [r],
      async collect() {
        const qs = await self.read('queues', (s) => s.queues());
        this.reset();
        for (const q of qs ?? []) this.set({ skill: q.skill }, q.waiting);
      },
    });
    new Gauge({
      name: 'hotline_queue_longest_wait_seconds',
      help: 'Longest current wait in the queue, by skill',
      labelNames: ['skill'],
      registers: [r],
      async collect() {
        const qs = await self.read('queues', (s) => s.queues());
        this.reset();
        for (const q of qs ?? []) this.set({ skill: q.skill }, q.longestWaitSec);
      },
    });
    new Gauge({
      name: 'hotline_agents',
      help: 'Agents by state (available, ringing, busy, wrap-up, paused, offline)',
      labelNames: ['state'],
      registers: [r],
      async collect() {
        const agents = await self.read('agents', (s) => s.agents());
        this.reset();
        if (!agents) return;
        const by = new Map<string, number>();
        for (const a of agents) by.set(a.state, (by.get(a.state) ?? 0) + 1);
        for (const [state, n] of by) this.set({ state }, n);
      },
    });
    const todayGauge = (name: string, help: string, pick: (c: DayCounters) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['line'],
        registers: [r],
        async collect() {
          const t = await self.read('today', (s) => s.today());
          this.reset();
          if (!t) return;
          this.set({ line: 'all' }, pick(t.all));
          for (const [line, c] of Object.entries(t.lines)) this.set({ line }, pick(c));
        },
      });
    todayGauge('hotline_today_answer_rate', 'Today’s answer rate (answered / (answered + abandoned)) by line, city time; target 0.98', (c) => c.answerRate);
    todayGauge('hotline_today_offered', 'Calls offered to the queue today, by line', (c) => c.offered);
    todayGauge('hotline_today_answered', 'Calls answered by an agent today, by line', (c) => c.answered);
    todayGauge('hotline_today_abandoned', 'Calls abandoned in the queue today, by line', (c) => c.abandoned);
    new Gauge({
      name: 'hotline_ari_connected',
      help: '1 while the ARI link is connected',
      registers: [r],
      collect() {
        if (self.sources) this.set(self.sources.ariConnected() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'hotline_ticket_outbox_pending',
      help: 'Ticket jobs in the local outbox spool, not yet in Redis',
      registers: [r],
      collect() {
        if (self.sources) this.set(self.sources.outboxPending());
      },
    });
    new Gauge({
      name: 'hotline_bullmq_jobs',
      help: 'BullMQ jobs by queue and state',
      labelNames: ['queue', 'state'],
      registers: [r],
      async collect() {
        this.reset();
        if (!self.sources) return;
        for (const [queue, counts] of Object.entries(self.sources.jobQueues())) {
          const c = await self.read(`bullmq:${queue}`, () => counts());
          if (c) for (const state of JOB_STATES) this.set({ queue, state }, c[state] ?? 0);
        }
      },
    });
    new Gauge({
      name: 'hotline_tickets_overdue',
      help: 'Tickets flagged overdue (督办) and not yet replied',
      registers: [r],
      async collect() {
        const n = await self.read('overdue', (s) => s.overdueTickets());
        if (n !== undefined) this.set(n);
      },
    });
  }

  /** Wire the scrape-time sources (once the app's parts exist). */
  attach(sources: MetricSources): void {
    this.sources = sources;
  }

  private async read<T>(name: string, f: (s: MetricSources) => Promise<T>): Promise<T | undefined> {
    if (!this.sources) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        f(this.sources),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), SCRAPE_SOURCE_TIMEOUT_MS);
        }),
      ]);
    } catch {
      this.sourceErrors.inc({ source: name });
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A call ended: its outcome by line, how it left the IVR, and its queue wait. */
  callEnded(record: CallRecord): void {
    const line = record.route?.line ?? record.dialed ?? 'none';
    const outcome = record.outcome ?? 'unknown';
    this.calls.inc({ line, outcome });
    const queued = record.path.find((s) => s.kind === 'queue');
    this.ivrExits.inc({ line, exit: queued ? 'queue' : outcome });
    if (queued) {
      const skill = record.route?.skill ?? 'unknown';
      const end = record.agentAnsweredAt ?? record.endedAt;
      if (end !== undefined && end >= queued.at) {
        this.queueWait.observe({ skill, result: record.agentAnsweredAt !== undefined ? 'answered' : outcome }, (end - queued.at) / 1000);
      }
    }
  }

  ariRequest(operation: string, seconds: number, errorKind?: string): void {
    this.ariDuration.observe({ operation }, seconds);
    if (errorKind) this.ariErrors.inc({ operation, kind: errorKind });
  }

  ariReconnected(): void {
    this.ariReconnects.inc();
  }

  acdHealedOf(kind: string, n = 1): void {
    this.acdHealed.inc({ kind }, n);
  }

  callShed(reason: string): void {
    this.shed.inc({ reason });
  }

  gatePercent(percent: number): void {
    this.gate.set(percent);
  }

  clockFiredOf(kind: string): void {
    this.clockFired.inc({ kind });
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
