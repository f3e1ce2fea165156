/**
 * The answer-rate controller's thin runner: on every instance it keeps the current actions in memory
 * (the {@link ControllerPort} the ACD router and the call path read); one instance at a time — the
 * holder of a Redis lock, renewed every tick — reads the sliding windows and the seats, asks the pure
 * {@link decide}, and writes the new actions and the decision log entry.
 *
 * @remarks
 * Redis keys (the ACD's prefix `P`, its `store.key`): `P ctl:leader` (lock: the deciding instance), `P ctl:switch`
 * (hash enabled, version, by, at: the supervisors' switch, optimistic concurrency), `P ctl:actions`
 * (JSON), `P ctl:log` (list of decision entries, newest first, capped), channel `P ctl:changed`.
 * The windows come from the ACD's per-minute counters (`P win:<minute>`, redis-acd.ts).
 *
 * A decision is written only if the switch has not moved since it was read (one script), so a
 * decision computed while a supervisor switched the controller off can never re-engage it.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ruleFor, type AcdConfig } from '../acd/model.js';
import type { Acd } from '../acd/service.js';
import { decide } from './controller.js';
import {
  COUNT_FIELDS,
  emptyCounts,
  figures,
  lineOfSkill,
  noActions,
  type ControllerActions,
  type ControllerConfig,
  type DecisionLogEntry,
  type QueueObservation,
  type WindowCounts,
  type WindowFigures,
} from './model.js';
import { tuningFor, type ControllerPort, type QueueTuning } from './port.js';

export interface ControllerRunnerOptions {
  redis: Redis;
  instanceId: string;
  acd: Acd;
  acdConfig: Pick<AcdConfig, 'rules' | 'defaultRule'>;
  /** The configured controller; `enabled` is the default until a supervisor switches it. */
  config: ControllerConfig;
  intervalSec: number;
  logger: Logger;
  clock?: () => number;
  /** Decision entries kept (default 5760: a day at one per 15 s). */
  logMax?: number;
}

export interface ControllerSwitch {
  enabled: boolean;
  version: number;
  by?: string;
  at?: number;
}

export interface ControllerStatus {
  switch: ControllerSwitch;
  /** The instance deciding now (absent: none for a while). */
  leader?: string;
  actions: ControllerActions;
  /** Per dimension (`all`, `line:<n>`, `group:<id>`, `skill:<s>`): the short and the long window. */
  windows: Record<string, { short: WindowFigures; long: WindowFigures }>;
  config: Pick<ControllerConfig, 'target' | 'targets' | 'shortWindowSec' | 'longWindowSec' | 'maxLevel' | 'releaseHoldSec' | 'lendGroups'> & { intervalSec: number };
}

/** Take the lock, or renew it if ours. */
const LEAD = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

/** KEYS switch, actions, log; ARGV switch version read, actions JSON, entry JSON, log max, channel. */
const WRITE_DECISION = `
local v = redis.call('HGET', KEYS[1], 'version') or '0'
if v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('LPUSH', KEYS[3], ARGV[3])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
redis.call('PUBLISH', ARGV[5], '1')
return 1`;

/** KEYS switch; ARGV expected version, enabled ('1'/'0'), by, at, default enabled. {1, version} or {0, current}. */
const SET_SWITCH = `
local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if tonumber(ARGV[1]) ~= v then return {0, v} end
redis.call('HSET', KEYS[1], 'enabled', ARGV[2], 'version', v + 1, 'by', ARGV[3], 'at', ARGV[4])
return {1, v + 1}`;

const STAFFED = new Set(['available', 'ringing', 'on-call', 'wrap-up']);

export class ControllerRunner implements ControllerPort {
  private actions: ControllerActions = noActions();
  private timer: NodeJS.Timeout | undefined;
  private subscriber: Redis | undefined;
  private running = false;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly logMax: number;

  constructor(private readonly o: ControllerRunnerOptions) {
    this.clock = o.clock ?? Date.now;
    this.log = o.logger.child({ component: 'controller', instanceId: o.instanceId });
    this.logMax = o.logMax ?? 5760;
  }

  private key(s: string): string {
    return this.o.acd.store.key(`ctl:${s}`);
  }

  // ───────────── the port ─────────────

  tuning(skill: string): QueueTuning | undefined {
    return tuningFor(this.actions, skill, this.o.config.lendGroups);
  }

  // ───────────── lifecycle ─────────────

  async start(): Promise<void> {
    await this.refresh();
    this.subscriber = this.o.redis.duplicate();
    this.subscriber.on('error', (err: Error) => this.log.warn({ err: err.message }, 'controller subscriber error'));
    this.subscriber.on('message', () => void this.refresh().catch(() => undefined));
    await this.subscriber.subscribe(this.key('changed'));
    this.timer = setInterval(() => void this.tick(), this.o.intervalSec * 1000);
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const sub = this.subscriber;
    this.subscriber = undefined;
    if (sub) await sub.quit().catch(() => sub.disconnect());
    // Let the next instance decide at once.
    await this.o.redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, this.key('leader'), this.o.instanceId).catch(() => undefined);
  }

  /** One period: decide if this instance leads, else follow the leader's actions. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const ttl = Math.round(this.o.intervalSec * 3000);
      const lead = (await this.o.redis.eval(LEAD, 1, this.key('leader'), this.o.instanceId, ttl)) === 1;
      if (lead) await this.decideOnce();
      else await this.refresh();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'controller tick failed');
    } finally {
      this.running = false;
    }
  }

  /** Re-reads the actions the leader wrote. */
  async refresh(): Promise<void> {
    const raw = await this.o.redis.get(this.key('actions'));
    this.actions = raw ? (JSON.parse(raw) as ControllerActions) : noActions();
  }

  // ───────────── deciding ─────────────

  async readSwitch(): Promise<ControllerSwitch> {
    const h = await this.o.redis.hgetall(this.key('switch'));
    const s: ControllerSwitch = { enabled: h.enabled === undefined ? this.o.config.enabled : h.enabled === '1', version: Number(h.version ?? 0) };
    if (h.by) s.by = h.by;
    if (h.at) s.at = Number(h.at);
    return s;
  }

  /** Counts per dimension over the short and the long window ending now. */
  async windows(now: number): Promise<Map<string, { short: WindowCounts; long: WindowCounts }>> {
    const cfg = this.o.config;
    const last = Math.floor(now / 60_000);
    const longFrom = last - Math.ceil(cfg.longWindowSec / 60) + 1;
    const shortFrom = last - Math.ceil(cfg.shortWindowSec / 60) + 1;
    const hashes = await this.o.acd.store.windowHashes(longFrom, last);
    const out = new Map<string, { short: WindowCounts; long: WindowCounts }>();
    for (const [minute, h] of hashes) {
      for (const [k, v] of Object.entries(h)) {
        const [field, dim] = k.split('|') as [keyof WindowCounts, string | undefined];
        if (!dim || !(COUNT_FIELDS as readonly string[]).includes(field)) continue;
        const w = out.get(dim) ?? { short: emptyCounts(), long: emptyCounts() };
        w.long[field] += Number(v);
        if (minute >= shortFrom) w.short[field] += Number(v);
        out.set(dim, w);
      }
    }
    return out;
  }

  /** What the controller sees of each controlled queue now. */
  async observe(now: number): Promise<QueueObservation[]> {
    const [win, agents, groups, queues] = await Promise.all([this.windows(now), this.o.acd.agents(), this.o.acd.listGroups(), this.o.acd.queues(now)]);
    const peakGroups = new Set(groups.filter((g) => g.kind === 'peak').map((g) => g.id));
    const lend = new Set(this.o.config.maxLevel >= 3 ? this.o.config.lendGroups : []);
    const skills = new Set<string>(['general', ...Object.keys(this.o.acdConfig.rules), ...Object.keys(this.actions.queues)]);
    for (const dim of win.keys()) if (dim.startsWith('skill:')) skills.add(dim.slice(6));
    const all = win.get('all');
    const out: QueueObservation[] = [];
    for (const skill of [...skills].sort()) {
      const rule = ruleFor(this.o.acdConfig, skill);
      // Only a queue with overflow seats to bring in is controlled.
      if (rule.overflowAfterSec === undefined && rule.overflowQueueLength === undefined) continue;
      let regular = 0;
      let lendable = 0;
      for (const a of agents) {
        if (!a.loggedIn || !a.registered || !STAFFED.has(a.state)) continue;
        const peak = a.groups.length > 0 && a.groups.every((g) => peakGroups.has(g));
        const has = (a.skills[skill] ?? 0) >= rule.minLevel;
        if (!peak && has) regular++;
        else if (peak && (has || rule.overflowSkills.some((s) => (a.skills[s] ?? 0) >= 1))) lendable++;
        else if (!peak && rule.overflowSkills.includes('general') && a.groups.some((g) => lend.has(g))) lendable++;
      }
      const w = win.get(`skill:${skill}`) ?? { short: emptyCounts(), long: emptyCounts() };
      // Talk time is counted per agent (centre-wide), not per queue: the handle time of the centre.
      const long = { ...w.long, ended: all?.long.ended ?? 0, talkMs: all?.long.talkMs ?? 0 };
      const short = { ...w.short, ended: all?.short.ended ?? 0, talkMs: all?.short.talkMs ?? 0 };
      out.push({
        skill,
        line: lineOfSkill(skill),
        short,
        long,
        regularStaffed: regular,
        lendableStaffed: lendable,
        waiting: queues.find((q) => q.skill === skill)?.waiting ?? 0,
      });
    }
    // Keep only queues with calls or an action: an idle expert queue is not worth a log line.
    return out.filter((q) => q.skill === 'general' || q.long.offered > 0 || this.actions.queues[q.skill]);
  }

  /** One decision (the leader's): read, decide, write if the switch did not move meanwhile. */
  async decideOnce(): Promise<DecisionLogEntry | undefined> {
    const now = Math.floor(this.clock());
    const sw = await this.readSwitch();
    const [queues, rawActions] = await Promise.all([this.observe(now), this.o.redis.get(this.key('actions'))]);
    const actions = rawActions ? (JSON.parse(rawActions) as ControllerActions) : noActions();
    const out = decide({ now, queues, actions, config: { ...this.o.config, enabled: sw.enabled } });
    const ok = await this.o.redis.eval(
      WRITE_DECISION,
      3,
      this.key('switch'),
      this.key('actions'),
      this.key('log'),
      String(sw.version),
      JSON.stringify(out.actions),
      JSON.stringify(out.entry),
      this.logMax,
      this.key('changed'),
    );
    if (ok !== 1) return undefined;
    this.actions = out.actions;
    if (out.entry.changed) {
      this.log.info(
        { queues: out.entry.queues.filter((q) => q.levelBefore !== q.levelAfter || q.alert).map((q) => ({ skill: q.skill, from: q.levelBefore, to: q.levelAfter, why: q.why, forecast: q.forecast.answerRateRegular })) },
        'answer-rate controller changed its actions',
      );
    }
    return out.entry;
  }

  // ───────────── the supervisors' view and switch ─────────────

  /** Switch the controller on or off (optimistic concurrency); off gives every seat back at once. */
  async setEnabled(enabled: boolean, expectedVersion: number, by: string): Promise<{ ok: true; switch: ControllerSwitch } | { ok: false; current: number }> {
    const now = Math.floor(this.clock());
    const [ok, version] = (await this.o.redis.eval(SET_SWITCH, 1, this.key('switch'), expectedVersion, enabled ? '1' : '0', by, now)) as [number, number];
    if (ok !== 1) return { ok: false, current: version };
    // Decide now under the new switch (whoever leads next decides the same), so that "off" acts at once.
    await this.decideOnce();
    return { ok: true, switch: { enabled, version, by, at: now } };
  }

  async status(): Promise<ControllerStatus> {
    const now = Math.floor(this.clock());
    const [sw, leader, raw, win] = await Promise.all([this.readSwitch(), this.o.redis.get(this.key('leader')), this.o.redis.get(this.key('actions')), this.windows(now)]);
    const cfg = this.o.config;
    const windows: ControllerStatus['windows'] = {};
    for (const [dim, w] of [...win.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      windows[dim] = { short: figures(w.short, cfg.shortWindowSec), long: figures(w.long, cfg.longWindowSec) };
    }
    const s: ControllerStatus = {
      switch: sw,
      actions: raw ? (JSON.parse(raw) as ControllerActions) : noActions(),
      windows,
      config: {
        target: cfg.target,
        targets: cfg.targets,
        shortWindowSec: cfg.shortWindowSec,
        longWindowSec: cfg.longWindowSec,
        maxLevel: cfg.maxLevel,
        releaseHoldSec: cfg.releaseHoldSec,
        lendGroups: cfg.lendGroups,
        intervalSec: this.o.intervalSec,
      },
    };
    if (leader) s.leader = leader;
    return s;
  }

  /** Decision entries, newest first; `changedOnly` keeps those that changed an action or an alert. */
  async timeline(limit: number, changedOnly: boolean): Promise<DecisionLogEntry[]> {
    const out: DecisionLogEntry[] = [];
    // Read in pages: changes are rare among the ticks.
    for (let from = 0; out.length < limit && from < this.logMax; from += 500) {
      const page = await this.o.redis.lrange(this.key('log'), from, from + 499);
      if (page.length === 0) break;
      for (const raw of page) {
        const e = JSON.parse(raw) as DecisionLogEntry;
        if (!changedOnly || e.changed) out.push(e);
        if (out.length >= limit) break;
      }
    }
    return out;
  }
}
