/**
 * Part 5 — set-up on a real Asterisk 22: SIPp calls over the carrier trunk (loopback), our compiled
 * server (a child process, NODE_ENV=production, as the container runs it) against a pure-dialplan
 * Answer/Playback/Hangup on the same Asterisk, the two paths alternating at each stepped rate.
 *
 * Each call: INVITE → 200 OK → ACK → 3 s → BYE (bench/asterisk/setup.xml). Reported per step:
 * INVITE→200 OK p50/p99 (SIPp's response time, one sample per call from -trace_rtt), SIPp's failure
 * counters by kind, channels still in our app 10 s after the step, CPU per call of Asterisk and of
 * node (/proc/<pid>/stat over the step and its drain), peak RSS, the server's event-loop delay
 * (bench/asterisk/eld.mjs), and the server's calls vs tickets created (Redis).
 *
 * The dialplan path lives only in the bench's Asterisk: the rendered extensions.conf of the throwaway
 * instance gets an extra `[from-carrier]` extension (99999) appended, never dialplan/ itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { AsteriskInstance, asteriskVersion } from '../tests/support/asterisk.js';
import { freePort, OwnRedis } from '../tests/support/redis-server.js';
import { SIPP_BIN } from '../tests/support/sipp.js';
import { REPO } from './sim-client.js';
import { percentile, ratio, round, sleep } from './stats.js';

/** dialplan: Asterisk alone; ours: this tree's server; baseline: another tree's server (BENCH_AST_BASELINE). */
export type AsteriskPath = 'dialplan' | 'ours' | 'baseline';

export interface AsteriskStep {
  path: AsteriskPath;
  rate: number;
  /** The alternating round at the round rate (absent: a step of the stepped rates). */
  round?: number;
  calls: number;
  /** SIPp's counters at the end of the run. */
  successful: number;
  /** Told busy before answer (486 from the admission gate); not among `successful`, not failures. */
  busy?: number;
  failed: number;
  failures: Record<string, number>;
  retransmissions: number;
  setupMs: { n: number; p50: number; p99: number; max: number };
  /** CPU ms per call placed, over the step and its drain. */
  asteriskCpuMsPerCall: number;
  nodeCpuMsPerCall?: number;
  asteriskRssPeakMb: number;
  nodeRssPeakMb?: number;
  eventLoopDelayMs?: { p50: number; p99: number; max: number };
  /** Channels still in our app 10 s after the last call ended (ours), or channels on the PBX (dialplan). */
  channelsLeft: number;
  /** Ours: calls the server ended (hotline_calls_total) and tickets created, in this step. */
  serverCalls?: number;
  tickets?: number;
  /** Ours: server log lines that matter (answer timeouts, errors), Asterisk log lines (taskprocessor overload …). */
  serverProblems?: Record<string, number>;
  /** Ours: Redis commands per call by command (INFO commandstats over the step), and Redis's own µs per call in them. */
  /** usecPerCall: the Redis process's CPU (INFO cpu) over the step ÷ calls; topUsecPerCall: commandstats' time by command (scripts include their commands). */
  redisPerCall?: { commands: Record<string, number>; usecPerCall: number; topUsecPerCall: Record<string, number> };
  /** Ours: callers told busy by admission control in this step, by the limit that was over. */
  shed?: Record<string, number>;
  /** Ours: the server's warnings and errors of the step by message (the five most frequent). */
  serverWarnings?: Record<string, number>;
  /** Ours: server log lines per call (at info). */
  logLinesPerCall?: number;
  /** Ours: ARI requests per call and their mean duration by operation. */
  ariRequests?: Record<string, { perCall: number; meanMs: number }>;
  asteriskProblems: Record<string, number>;
}

export interface AsteriskResult {
  asterisk: string;
  sipp: string;
  durationSecPerStep: number;
  rtpPorts: [number, number];
  steps: AsteriskStep[];
  ratios: { rate: number; path: AsteriskPath; p50: number; p99: number; cpuVsDialplan: number }[];
  /** The alternating rounds at one rate: each round's ratios, and the pooled and worst figures. */
  rounds?: RoundsSummary;
  /** Node CPU of each server path with no calls, ms per second (measured once, after its start). */
  idleNodeCpuMsPerSec?: Partial<Record<AsteriskPath, number>>;
  profile?: { rate: number; file: string; top: { fn: string; where: string; selfPct: number }[]; byArea: { area: string; selfPct: number }[] };
}

export interface RoundsSummary {
  rate: number;
  rounds: number;
  /** Per server path (ours, baseline) against the dialplan. */
  paths: {
    path: AsteriskPath;
    perRound: { round: number; p99Ms: number; dialplanP99Ms: number; p99Ratio: number; nodeCpuMsPerCall: number; cpuVsDialplan: number }[];
    /** All rounds' set-up samples together (and the dialplan's). */
    pooled: { n: number; p50: number; p99: number; dialplanP50: number; dialplanP99: number; p99Ratio: number };
    p99Ratio: { median: number; worst: number };
    cpuVsDialplan: { median: number; worst: number };
    nodeCpuMsPerCall: { median: number; worst: number };
    calls: number;
    tickets: number;
    channelsLeftMax: number;
  }[];
}

// Stepped rates (one step per path each); 100/s is measured by the rounds below.
const RATES = (process.env.BENCH_AST_RATES ?? '20,50,150').split(',').filter(Boolean).map(Number);
const DURATION_SEC = Number(process.env.BENCH_AST_SEC ?? 15);
// Alternating rounds at one rate: (dialplan, ours) then (ours, dialplan) …, so no single noisy minute decides.
const ROUNDS = Number(process.env.BENCH_AST_ROUNDS ?? 4);
const ROUND_RATE = Number(process.env.BENCH_AST_ROUND_RATE ?? 100);
// Another source tree (e.g. `git archive main` unpacked, node_modules linked) compiled the same way: its
// server runs as path `baseline` beside ours, one server at a time (both would take the same ARI app).
const BASELINE = process.env.BENCH_AST_BASELINE;
const PATHS = (process.env.BENCH_AST_PATHS ?? (BASELINE ? 'dialplan,ours,baseline' : 'dialplan,ours')).split(',') as AsteriskPath[];
const HOLD_SEC = 3;
const IDLE_SEC = 10;
const SETTLE_MS = 10_000;
const DIALPLAN_NUMBER = '99999';
const TICK_MS = 1000 / 100; // USER_HZ

/** Counts of what a running Asterisk holds, and its top task processors by processed tasks (BENCH_AST_SNAPSHOT). */
function asteriskSnapshot(ast: AsteriskInstance, pid: number): Record<string, unknown> {
  const lines = (cmd: string) => ast.cli(cmd).out.split('\n').filter((l) => l.trim());
  // "name  processed  in-queue  max-depth  low-water  high-water"
  const tps = lines('core show taskprocessors')
    .map((l) => /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!.replace(/[0-9a-f]{8}-[0-9a-f-]{27}|\d{6,}/g, '#'), processed: Number(m[2]), queued: Number(m[3]), maxDepth: Number(m[4]) }));
  const byName = new Map<string, { n: number; processed: number; queued: number }>();
  for (const t of tps) {
    const e = byName.get(t.name) ?? { n: 0, processed: 0, queued: 0 };
    byName.set(t.name, { n: e.n + 1, processed: e.processed + t.processed, queued: e.queued + t.queued });
  }
  return {
    rssMb: procRssMb(pid),
    threads: Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    taskprocessors: tps.length,
    topTaskprocessors: [...byName].sort((a, b) => b[1].processed - a[1].processed).slice(0, 12).map(([name, e]) => ({ name, ...e })),
    manyTaskprocessors: [...byName].filter(([, e]) => e.n > 5).map(([name, e]) => ({ name, n: e.n })),
    channels: lines('core show channels count').join(' | '),
    bridges: lines('bridge show all').filter((l) => !/^Bridge-ID\b/.test(l.trim())).length,
  };
}

function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields 14 and 15 of proc(5) (utime, stime) are 12 and 13 after the command.
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

function procRssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024, 1) : NaN;
}

/** The bench's server: src/ compiled once by tsc into dist/bench-server, laid out as the container's dist/. */
function compileServer(root = REPO): string {
  const out = join(root, 'dist', 'bench-server');
  const r = spawnSync(join(REPO, 'node_modules/.bin/tsc'), ['-p', 'bench/asterisk/tsconfig.server.json', '--noCheck'], { cwd: root, encoding: 'utf8' });
  if (!existsSync(join(out, 'src', 'main.js'))) throw new Error(`compiling the server in ${root} failed: ${r.stdout}${r.stderr}`);
  for (const [link, target] of [
    [join(out, 'prompts'), join(root, 'prompts')],
    [join(out, 'data'), join(root, 'data')],
    [join(out, 'src', 'web'), join(root, 'src', 'web')],
  ] as const) {
    if (!existsSync(link)) symlinkSync(target, link);
  }
  return join(out, 'src', 'main.js');
}

interface Server {
  child: ChildProcess;
  prefix: string;
  httpPort: number;
  metricsToken: string;
  logFile: string;
  eldFile: string;
}

async function startServer(main: string, ast: AsteriskInstance, redisUrl: string, dir: string, profileFile?: string): Promise<Server> {
  const httpPort = await freePort();
  const prefix = `benchast${randomBytes(3).toString('hex')}`;
  const metricsToken = randomBytes(16).toString('hex');
  const logFile = join(dir, `server-${prefix}.log`);
  const eldFile = join(dir, `eld-${prefix}.jsonl`);
  const i = ast.info;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    ARI_URL: i.ariUrl,
    ARI_USER: i.ariUser,
    ARI_PASSWORD: i.ariPassword,
    AMI_HOST: i.amiHost,
    AMI_PORT: String(i.amiPort),
    AMI_USER: i.amiUser,
    AMI_SECRET: i.amiSecret,
    REDIS_URL: redisUrl,
    HOTLINE_KEY_PREFIX: prefix,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(httpPort),
    LOG_LEVEL: 'info',
    HOTLINE_DATA_DIR: join(dir, `data-${prefix}`),
    JWT_SECRET: randomBytes(32).toString('hex'),
    COOKIE_SECURE: 'false',
    METRICS_TOKEN: metricsToken,
    ACD_REQUIRE_REGISTRATION: 'false',
    BENCH_ELD_FILE: eldFile,
    // The profile covers the step alone (eld.mjs starts and writes it on the bench's SIGUSR2s).
    ...(profileFile ? { BENCH_CPU_PROF_FILE: profileFile } : {}),
    // Extra server variables for an experiment: BENCH_AST_SERVER_ENV='ARI_MAX_IN_FLIGHT=200,LOG_LEVEL=warn'.
    ...Object.fromEntries((process.env.BENCH_AST_SERVER_ENV ?? '').split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  };
  const args = ['--import', join(REPO, 'bench/asterisk/eld.mjs')];
  // Production logs to stdout; the bench keeps them in a file (the writing is part of the cost).
  const out = await import('node:fs').then((fs) => fs.openSync(logFile, 'a'));
  const child = spawn(process.execPath, [...args, main], { cwd: dir, env, stdio: ['ignore', out, out] });
  const s: Server = { child, prefix, httpPort, metricsToken, logFile, eldFile };
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`server exited: ${readFileSync(logFile, 'utf8').slice(-3000)}`);
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
      if (r.ok) return s;
    } catch {
      /* not listening yet */
    }
    await sleep(200);
  }
  throw new Error(`server not ready in 30 s: ${readFileSync(logFile, 'utf8').slice(-3000)}`);
}

async function stopServer(s: Server): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await Promise.race([exited, sleep(20_000)]);
  if (s.child.exitCode === null) s.child.kill('SIGKILL');
}

/** A labelled counter by its one label's values. */
async function metricByLabel(s: Server, name: string): Promise<Map<string, number>> {
  const r = await fetch(`http://127.0.0.1:${s.httpPort}/metrics`, { headers: { authorization: `Bearer ${s.metricsToken}` } });
  const out = new Map<string, number>();
  for (const line of (await r.text()).split('\n')) {
    const m = new RegExp(`^${name}\\{[a-z_]+="([^"]+)"\\} (\\S+)$`).exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

async function metric(s: Server, name: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${s.httpPort}/metrics`, { headers: { authorization: `Bearer ${s.metricsToken}` } });
  const text = await r.text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** ARI requests of the step by operation: count per call and mean ms (queueing for the in-flight cap included). */
async function ariOps(s: Server): Promise<Map<string, { count: number; sum: number }>> {
  const r = await fetch(`http://127.0.0.1:${s.httpPort}/metrics`, { headers: { authorization: `Bearer ${s.metricsToken}` } });
  const out = new Map<string, { count: number; sum: number }>();
  for (const line of (await r.text()).split('\n')) {
    const m = /^hotline_ari_request_duration_seconds_(sum|count)\{operation="([^"]+)"\} (\S+)$/.exec(line);
    if (!m) continue;
    const e = out.get(m[2]!) ?? { count: 0, sum: 0 };
    if (m[1] === 'sum') e.sum = Number(m[3]);
    else e.count = Number(m[3]);
    out.set(m[2]!, e);
  }
  return out;
}

/** INFO commandstats as command → { calls, usec } (the bench's Redis serves this server alone). */
async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (m) out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

/** The Redis server's CPU so far (s, user + system; the bench's Redis serves this run alone). */
async function redisCpuSec(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const v = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return v('used_cpu_user') + v('used_cpu_sys');
}

async function countKeys(redis: Redis, pattern: string): Promise<number> {
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

async function ari(ast: AsteriskInstance, path: string): Promise<any> {
  const auth = `Basic ${Buffer.from(`${ast.info.ariUser}:${ast.info.ariPassword}`).toString('base64')}`;
  const r = await fetch(`${ast.info.ariUrl}/ari${path}`, { headers: { authorization: auth } });
  return r.ok ? r.json() : undefined;
}

interface SippOutcome {
  counters: Record<string, number>;
  rtds: number[];
  /** 486 Busy Here received (the admission gate's refusals). */
  busy: number;
}

/** One SIPp run: `rate` calls/s for DURATION_SEC to `number`; resolves when every call is over. */
async function runSipp(ast: AsteriskInstance, number: string, rate: number, runNo: number): Promise<SippOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'hotline-bench-sipp-'));
  const total = rate * DURATION_SEC;
  const statFile = join(dir, 'stat.csv');
  const args = [
    `127.0.0.1:${ast.info.sipPort}`,
    '-sf', join(REPO, 'bench/asterisk/setup.xml'),
    '-s', number,
    '-key', 'prefix', `13${String(10 + (runNo % 90))}`,
    '-i', '127.0.0.1',
    '-p', String(await freePort()),
    '-mi', '127.0.0.1',
    '-mp', String(20_000 + 2 * Math.floor(Math.random() * 4000)),
    '-cp', String(await freePort()),
    '-r', String(rate), '-rp', '1000', '-m', String(total), '-l', String(rate * (HOLD_SEC + 12)),
    '-recv_timeout', '15000',
    '-nostdin',
    '-trace_stat', '-stf', statFile, '-fd', '1',
    '-trace_counts',
    '-trace_rtt', '-rtt_freq', '1',
    '-timeout', `${DURATION_SEC + 60}s`,
  ];
  const child = spawn(SIPP_BIN, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += String(b)));
  await new Promise((r) => child.once('exit', r));
  const rows = existsSync(statFile) ? readFileSync(statFile, 'utf8').trim().split('\n') : [];
  const counters: Record<string, number> = {};
  if (rows.length >= 2) {
    const head = rows[0]!.split(';');
    const last = rows[rows.length - 1]!.split(';');
    head.forEach((h, i) => {
      if (/\(C\)$/.test(h)) counters[h.replace(/\(C\)$/, '')] = Number(last[i]);
    });
  } else {
    throw new Error(`sipp wrote no statistics: ${stderr.slice(-2000)}`);
  }
  const rtds: number[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('_rtt.csv'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n').slice(1)) {
      const [, ms, rtd] = line.split(';');
      if (rtd !== undefined && ms !== undefined && ms !== '') rtds.push(Number(ms));
    }
  }
  // -trace_counts: per scenario message, how often it was sent/received; the 486 line's receptions.
  let busy = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('_counts.csv'))) {
    const lines = readFileSync(join(dir, f), 'utf8').trim().split('\n');
    const head = lines[0]?.split(';') ?? [];
    const last = lines.at(-1)?.split(';') ?? [];
    head.forEach((h, i) => {
      if (/^\d+_486_Recv$/.test(h)) busy += Number(last[i]) || 0;
    });
  }
  rmSync(dir, { recursive: true, force: true });
  return { counters, rtds, busy };
}

function problems(text: string, patterns: Record<string, RegExp>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, re] of Object.entries(patterns)) {
    const n = text.match(new RegExp(re.source, 'g'))?.length ?? 0;
    if (n) out[k] = n;
  }
  return out;
}

const ASTERISK_PATTERNS = {
  'taskprocessor queue reached': /queue reached \d+ scheduled tasks/,
  'not in Stasis application': /not in Stasis application/,
  'RTP port allocation failed': /No RTP ports remaining|Unable to allocate RTP/,
};
const SERVER_PATTERNS = {
  'answer timed out': /answer timed out/,
  'ARI request timed out': /timed out after \d+ ms/,
  'level error': /"level":50/,
  'level warn': /"level":40/,
};

export async function runAsterisk(log: (s: string) => void): Promise<AsteriskResult> {
  const version = asteriskVersion();
  if (!version) throw new Error('Asterisk 22 is not installed: sh ../shared/asterisk/install.sh');
  if (!existsSync(SIPP_BIN)) throw new Error(`SIPp is not installed (${SIPP_BIN}): apt-get install sip-tester`);
  const sipp = /SIPp v[^\s]+/.exec(spawnSync(SIPP_BIN, ['-v'], { encoding: 'utf8' }).stdout ?? '')?.[0] ?? 'unknown';
  const main = compileServer();
  // A call holds an RTP + RTCP pair for its 3 s and Asterisk takes even ports at random from the range:
  // room for the largest step's calls in flight (rate × (hold + 2 s of set-up and drain)) four times over.
  const maxRate = Math.max(...RATES);
  const span = Math.max(4000, maxRate * (HOLD_SEC + 2) * 2 * 4);
  const rtpPorts: [number, number] = [36_000, 36_000 + span];
  const dir = mkdtempSync(join(tmpdir(), 'hotline-bench-ast-'));
  const redisServer = await OwnRedis.create();
  const redis = new Redis(redisServer.url);
  const ast = await AsteriskInstance.start({ promptsDir: join(REPO, 'sounds', 'build'), rtpPorts, label: 'bench' });
  const steps: AsteriskStep[] = [];
  /** Each step's set-up samples (sorted), for the rounds' pooled percentiles; not in the results file. */
  const samples = new Map<AsteriskStep, number[]>();
  const idleNodeCpuMsPerSec: Partial<Record<AsteriskPath, number>> = {};
  let profile: AsteriskResult['profile'];
  try {
    // The pure-dialplan path, in this instance only.
    appendFileSync(
      join(ast.info.dir, 'etc', 'extensions.conf'),
      `\n; --- bench only (bench/part-asterisk.ts) ---\n[from-carrier]\nexten => ${DIALPLAN_NUMBER},1,Answer()\n same => n,Playback(hotline/welcome)\n same => n,Hangup()\n`,
    );
    const reload = ast.cli('dialplan reload');
    if (!reload.ok || !/\b99999\b/.test(ast.cli(`dialplan show ${DIALPLAN_NUMBER}@from-carrier`).out)) throw new Error(`bench dialplan not loaded: ${reload.out}`);
    const astPid = Number(readFileSync(join(ast.info.dir, 'run', 'asterisk.pid'), 'utf8').trim());
    let runNo = 0;
    const baselineMain = BASELINE ? compileServer(BASELINE) : undefined;
    const plan: { rate: number; path: AsteriskPath; round?: number }[] = [];
    for (let r = 1; r <= ROUNDS; r++) for (const path of r % 2 === 1 ? PATHS : [...PATHS].reverse()) plan.push({ rate: ROUND_RATE, path, round: r });
    for (const rate of RATES) for (const path of PATHS) plan.push({ rate, path });
    // One server process per build; with a baseline only one runs at a time (both would take the ARI app).
    const servers = new Map<AsteriskPath, Server>();
    const serverFor = async (path: AsteriskPath): Promise<Server> => {
      const running = servers.get(path);
      if (running) return running;
      for (const [p, other] of servers) {
        await stopServer(other);
        servers.delete(p);
      }
      const s = await startServer(path === 'baseline' ? baselineMain! : main, ast, redisServer.url, dir);
      servers.set(path, s);
      if (idleNodeCpuMsPerSec[path] === undefined) {
        // What the server burns with no call at all (ACD dispatch, queue workers, leases, timers): part
        // of every "node CPU per call", the more so the lower the rate.
        await sleep(3000);
        const c0 = procCpuMs(s.child.pid!);
        await sleep(IDLE_SEC * 1000);
        idleNodeCpuMsPerSec[path] = round((procCpuMs(s.child.pid!) - c0) / IDLE_SEC);
        log(`  ${path} server idle: ${idleNodeCpuMsPerSec[path]} ms CPU per second`);
      }
      return s;
    };
    try {
      for (const { rate, path, round: roundNo } of plan) {
        const onServer = path !== 'dialplan';
        const server = onServer ? await serverFor(path) : (servers.values().next().value ?? (await serverFor('ours')));
        runNo++;
        const astLogAt = ast.log().length;
        const serverLogAt = readFileSync(server.logFile, 'utf8').length;
        const callsBefore = onServer ? await metric(server, 'hotline_calls_total') : 0;
        const ticketsBefore = onServer ? await countKeys(redis, `${server.prefix}:ticket:by-call:*`) : 0;
        const ops0 = onServer ? await ariOps(server) : new Map();
        const shed0 = onServer ? await metricByLabel(server, 'hotline_calls_shed_total') : new Map<string, number>();
        const cmd0 = await commandStats(redis);
        const redisCpu0 = await redisCpuSec(redis);
        const cpu0 = { ast: procCpuMs(astPid), node: procCpuMs(server.child.pid!) };
        let rss = { ast: procRssMb(astPid), node: procRssMb(server.child.pid!) };
        const rssTimer = setInterval(() => {
          rss = { ast: Math.max(rss.ast, procRssMb(astPid)), node: Math.max(rss.node, procRssMb(server.child.pid!)) };
        }, 500);
        server.child.kill('SIGUSR2'); // start the event-loop window
        // BENCH_AST_MONITOR=<file>: every Redis command of our steps (MONITOR; slows Redis, for looking, not figures).
        const monitor = onServer && process.env.BENCH_AST_MONITOR ? await redis.monitor() : undefined;
        monitor?.on('monitor', (_t: string, a: string[]) => appendFileSync(process.env.BENCH_AST_MONITOR!, `${a.map((x) => x.slice(0, 60)).join(' ')}\n`));
        const outcome = await runSipp(ast, onServer ? '12345' : DIALPLAN_NUMBER, rate, runNo);
        await sleep(SETTLE_MS);
        clearInterval(rssTimer);
        const cpu1 = { ast: procCpuMs(astPid), node: procCpuMs(server.child.pid!) };
        const cmd1 = await commandStats(redis);
        const redisCpu1 = await redisCpuSec(redis);
        monitor?.disconnect();
        server.child.kill('SIGUSR2');
        await sleep(100);
        const eldLines = existsSync(server.eldFile) ? readFileSync(server.eldFile, 'utf8').trim().split('\n') : [];
        const eld = eldLines.length ? (JSON.parse(eldLines[eldLines.length - 1]!) as { p50: number; p99: number; max: number }) : undefined;
        const app = (await ari(ast, '/applications/hotline')) as { channel_ids?: string[] } | undefined;
        const channels = (await ari(ast, '/channels')) as unknown[] | undefined;
        const calls = rate * DURATION_SEC;
        const c = outcome.counters;
        const failures: Record<string, number> = {};
        for (const [k, v] of Object.entries(c)) if (k.startsWith('Failed') && k !== 'FailedCall' && v > 0) failures[k.replace(/^Failed/, '')] = v;
        const sorted = [...outcome.rtds].sort((a, b) => a - b);
        const step: AsteriskStep = {
          path,
          rate,
          ...(roundNo !== undefined ? { round: roundNo } : {}),
          calls,
          // SIPp counts a call that took the 486 branch to its end as successful too.
          successful: (c.SuccessfulCall ?? 0) - outcome.busy,
          ...(outcome.busy ? { busy: outcome.busy } : {}),
          failed: c.FailedCall ?? 0,
          failures,
          retransmissions: c.Retransmissions ?? 0,
          setupMs: { n: sorted.length, p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted[sorted.length - 1] ?? NaN) },
          asteriskCpuMsPerCall: round((cpu1.ast - cpu0.ast) / calls),
          asteriskRssPeakMb: rss.ast,
          channelsLeft: onServer ? (app?.channel_ids?.length ?? -1) : (channels?.length ?? -1),
          asteriskProblems: problems(ast.log().slice(astLogAt), ASTERISK_PATTERNS),
        };
        if (onServer) {
          step.nodeCpuMsPerCall = round((cpu1.node - cpu0.node) / calls);
          step.nodeRssPeakMb = rss.node;
          if (eld) step.eventLoopDelayMs = eld;
          // Tickets are written after the call ends; give the pipeline its time (bounded).
          const until = Date.now() + 20_000;
          step.serverCalls = (await metric(server, 'hotline_calls_total')) - callsBefore;
          step.tickets = (await countKeys(redis, `${server.prefix}:ticket:by-call:*`)) - ticketsBefore;
          while (step.tickets < step.serverCalls && Date.now() < until) {
            await sleep(500);
            step.serverCalls = (await metric(server, 'hotline_calls_total')) - callsBefore;
            step.tickets = (await countKeys(redis, `${server.prefix}:ticket:by-call:*`)) - ticketsBefore;
          }
          const shed: Record<string, number> = {};
          for (const [reason, n] of await metricByLabel(server, 'hotline_calls_shed_total')) if (n > (shed0.get(reason) ?? 0)) shed[reason] = n - (shed0.get(reason) ?? 0);
          if (Object.keys(shed).length) step.shed = shed;
          const ops1 = await ariOps(server);
          step.ariRequests = {};
          for (const [op, e] of ops1) {
            const b = ops0.get(op) ?? { count: 0, sum: 0 };
            if (e.count > b.count) step.ariRequests[op] = { perCall: round((e.count - b.count) / calls), meanMs: round(((e.sum - b.sum) / (e.count - b.count)) * 1000) };
          }
          const logText = readFileSync(server.logFile, 'utf8').slice(serverLogAt);
          // BENCH_AST_SERVER_LOG=<file>: each step's server log appended there, to read after the run.
          if (process.env.BENCH_AST_SERVER_LOG) appendFileSync(process.env.BENCH_AST_SERVER_LOG, `# ${rate}/s ${path}${roundNo !== undefined ? ` round ${roundNo}` : ''}\n${logText}`);
          step.serverProblems = problems(logText, SERVER_PATTERNS);
          step.logLinesPerCall = round((logText.match(/\n/g)?.length ?? 0) / calls, 2);
          const warnings = new Map<string, number>();
          for (const line of logText.split('\n')) {
            if (!/"level":(40|50)/.test(line)) continue;
            let msg = 'unparsed';
            try {
              const j = JSON.parse(line) as { msg?: string; err?: unknown; where?: string };
              msg = `${j.msg ?? ''}${j.where ? ` (${j.where})` : ''}${typeof j.err === 'string' ? `: ${j.err.replace(/[0-9a-f-]{8,}|\d+(\.\d+)?/g, '#').slice(0, 80)}` : ''}`;
            } catch {
              /* a torn last line */
            }
            warnings.set(msg, (warnings.get(msg) ?? 0) + 1);
          }
          if (warnings.size) step.serverWarnings = Object.fromEntries([...warnings].sort((a, b) => b[1] - a[1]).slice(0, 5));
          // Over the step and its drain (tickets are written after the call ends: counted if done by then).
          // A script's own commands are counted under their names too, their time within the script's:
          // Redis's CPU per call comes from its process (INFO cpu), not from summing these.
          const commands: Record<string, number> = {};
          const usecBy: [string, number][] = [];
          for (const [cmd, e] of cmd1) {
            const b = cmd0.get(cmd) ?? { calls: 0, usec: 0 };
            if (cmd === 'info' || cmd === 'scan' || cmd === 'monitor' || e.calls === b.calls) continue;
            commands[cmd] = round((e.calls - b.calls) / calls, 2);
            usecBy.push([cmd, round((e.usec - b.usec) / calls)]);
          }
          const topUsecPerCall = Object.fromEntries(usecBy.sort((a, b) => b[1] - a[1]).slice(0, 8));
          step.redisPerCall = { commands, usecPerCall: round(((redisCpu1 - redisCpu0) * 1e6) / calls), topUsecPerCall };
        }
        steps.push(step);
        samples.set(step, sorted);
        log(
          `  ${rate}/s ${roundNo !== undefined ? `round ${roundNo} ` : ''}${path}: setup p50 ${step.setupMs.p50} / p99 ${step.setupMs.p99} ms, ok ${step.successful}/${calls}, busy ${step.busy ?? 0}, failures ${JSON.stringify(failures)}, retrans ${step.retransmissions}, ast cpu ${step.asteriskCpuMsPerCall} ms/call` +
            (onServer
              ? `, node cpu ${step.nodeCpuMsPerCall} ms/call, eld p99 ${eld?.p99} ms, left ${step.channelsLeft}, calls ${step.serverCalls} tickets ${step.tickets}, shed ${JSON.stringify(step.shed ?? {})}, server ${JSON.stringify(step.serverProblems)} ${JSON.stringify(step.serverWarnings ?? {})}, ari ${JSON.stringify(step.ariRequests)}, redis ${JSON.stringify(step.redisPerCall)}, log lines/call ${step.logLinesPerCall}`
              : `, left ${step.channelsLeft}`) +
            `, asterisk ${JSON.stringify(step.asteriskProblems)}`,
        );
        // Nothing of this step may still hold ports or CPU when the next starts.
        for (let i = 0; i < 30 && ((await ari(ast, '/channels')) as unknown[] | undefined)?.length; i++) await sleep(1000);
        // BENCH_AST_SNAPSHOT=<file>: what Asterisk holds after each step (for finding what grows over a run).
        if (process.env.BENCH_AST_SNAPSHOT) appendFileSync(process.env.BENCH_AST_SNAPSHOT, `${JSON.stringify({ rate, path, round: roundNo, ...asteriskSnapshot(ast, astPid) })}\n`);
      }
    } finally {
      for (const s of servers.values()) await stopServer(s);
    }
    if (process.env.BENCH_AST_PROFILE_RATE) {
      const rate = Number(process.env.BENCH_AST_PROFILE_RATE);
      const profDir = join(REPO, 'bench', 'results', 'profiles');
      mkdirSync(profDir, { recursive: true });
      const file = `CPU.${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}.step-${rate}.cpuprofile`;
      const prof = await startServer(main, ast, redisServer.url, dir, join(profDir, file));
      try {
        prof.child.kill('SIGUSR2'); // profile on
        await runSipp(ast, '12345', rate, ++runNo);
        await sleep(SETTLE_MS);
        prof.child.kill('SIGUSR2'); // profile written
        for (let i = 0; i < 50 && !existsSync(join(profDir, file)); i++) await sleep(200);
        await sleep(500);
      } finally {
        await stopServer(prof);
      }
      if (existsSync(join(profDir, file))) profile = { rate, file: `bench/results/profiles/${file}`, top: topFunctions(join(profDir, file), 20), byArea: byArea(join(profDir, file)) };
    }
  } finally {
    redis.disconnect();
    await ast.stop();
    await redisServer.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const ratios: AsteriskResult['ratios'] = [];
  for (const rate of RATES) {
    const d = steps.find((s) => s.rate === rate && s.round === undefined && s.path === 'dialplan');
    if (!d) continue;
    for (const o of steps.filter((s) => s.rate === rate && s.round === undefined && s.path !== 'dialplan')) {
      ratios.push({
        rate,
        path: o.path,
        p50: ratio(o.setupMs.p50, Math.max(d.setupMs.p50, 1)),
        p99: ratio(o.setupMs.p99, Math.max(d.setupMs.p99, 1)),
        cpuVsDialplan: ratio(o.asteriskCpuMsPerCall + (o.nodeCpuMsPerCall ?? 0), d.asteriskCpuMsPerCall),
      });
    }
  }
  const rounds = ROUNDS > 0 && PATHS.includes('dialplan') ? summariseRounds(steps, samples) : undefined;
  return { asterisk: version, sipp, durationSecPerStep: DURATION_SEC, rtpPorts, steps, ratios, idleNodeCpuMsPerSec, ...(rounds ? { rounds } : {}), ...(profile ? { profile } : {}) };
}

/** The rounds' medians again from their per-round figures (results files written before the median took the mean of the middle two). */
export function remedianRounds(r: RoundsSummary): RoundsSummary {
  return {
    ...r,
    paths: r.paths.map((p) => ({
      ...p,
      p99Ratio: { ...p.p99Ratio, median: median(p.perRound.map((x) => x.p99Ratio)) },
      cpuVsDialplan: { ...p.cpuVsDialplan, median: median(p.perRound.map((x) => x.cpuVsDialplan)) },
      nodeCpuMsPerCall: { ...p.nodeCpuMsPerCall, median: median(p.perRound.map((x) => x.nodeCpuMsPerCall)) },
    })),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const mid = s.length / 2;
  return s.length % 2 ? s[Math.floor(mid)]! : round((s[mid - 1]! + s[mid]!) / 2, 2);
};

/** Each round's ratios against the dialplan of the same round, the worst and median of them, and the pooled samples' p50/p99. */
function summariseRounds(steps: AsteriskStep[], samples: Map<AsteriskStep, number[]>): RoundsSummary {
  const inRounds = steps.filter((s) => s.round !== undefined);
  const pool = (xs: AsteriskStep[]) => xs.flatMap((s) => samples.get(s) ?? []).sort((a, b) => a - b);
  const dialplan = inRounds.filter((s) => s.path === 'dialplan');
  const dPooled = pool(dialplan);
  const paths = [...new Set(inRounds.map((s) => s.path))].filter((p) => p !== 'dialplan');
  return {
    rate: ROUND_RATE,
    rounds: ROUNDS,
    paths: paths.map((path) => {
      const mine = inRounds.filter((s) => s.path === path);
      const perRound = mine.flatMap((o) => {
        const d = dialplan.find((x) => x.round === o.round);
        if (!d) return [];
        return [
          {
            round: o.round!,
            p99Ms: o.setupMs.p99,
            dialplanP99Ms: d.setupMs.p99,
            p99Ratio: ratio(o.setupMs.p99, Math.max(d.setupMs.p99, 1)),
            nodeCpuMsPerCall: o.nodeCpuMsPerCall ?? NaN,
            cpuVsDialplan: ratio(o.asteriskCpuMsPerCall + (o.nodeCpuMsPerCall ?? 0), d.asteriskCpuMsPerCall),
          },
        ];
      });
      const oPooled = pool(mine);
      const p99 = round(percentile(oPooled, 99));
      const dp99 = round(percentile(dPooled, 99));
      return {
        path,
        perRound,
        pooled: { n: oPooled.length, p50: round(percentile(oPooled, 50)), p99, dialplanP50: round(percentile(dPooled, 50)), dialplanP99: dp99, p99Ratio: ratio(p99, Math.max(dp99, 1)) },
        p99Ratio: { median: median(perRound.map((r) => r.p99Ratio)), worst: Math.max(...perRound.map((r) => r.p99Ratio)) },
        cpuVsDialplan: { median: median(perRound.map((r) => r.cpuVsDialplan)), worst: Math.max(...perRound.map((r) => r.cpuVsDialplan)) },
        nodeCpuMsPerCall: { median: median(perRound.map((r) => r.nodeCpuMsPerCall)), worst: Math.max(...perRound.map((r) => r.nodeCpuMsPerCall)) },
        calls: mine.reduce((a, s) => a + (s.serverCalls ?? 0), 0),
        tickets: mine.reduce((a, s) => a + (s.tickets ?? 0), 0),
        channelsLeftMax: Math.max(...mine.map((s) => s.channelsLeft)),
      };
    }),
  };
}

/** Self time per function of a V8 .cpuprofile, largest first (idle and GC kept: they say where time went too). */
export function topFunctions(file: string, n: number): { fn: string; where: string; selfPct: number }[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(p.nodes.map((x) => [x.id, x] as const));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const cf = node.callFrame;
    const where = cf.url ? `${cf.url.replace(/^file:\/\//, '').replace(`${REPO}/`, '')}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'}\u0000${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => {
      const [fn, where] = k.split('\u0000');
      return { fn: fn!, where: where!, selfPct: round((v / total) * 100, 1) };
    });
}

/**
 * Self time by area: each sample goes to the nearest JavaScript frame with a file (native frames such
 * as writeUtf8String count for their caller), grouped by package (node_modules/<pkg>) or by folder of ours
 * (src/<folder>), node's own modules counting for their caller; idle, GC and (program) stay apart.
 */
export function byArea(file: string): { area: string; selfPct: number }[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(p.nodes.map((x) => [x.id, x] as const));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const area = (id: number): string => {
    const first = byId.get(id)!;
    if (!first.callFrame.url && /^\((idle|garbage collector|program)\)$/.test(first.callFrame.functionName)) return first.callFrame.functionName;
    let internal = false;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const url = byId.get(cur)!.callFrame.url;
      if (!url) continue;
      // node's own modules (net, fs, streams) count for the package or folder that called them.
      if (url.startsWith('node:')) {
        internal = true;
        continue;
      }
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
      if (pkg) return pkg;
      const ours = /\/src\/([^/]+)\//.exec(url)?.[1] ?? (/\/src\/[^/]+\.js$/.test(url) ? 'app' : undefined);
      if (ours) return `src/${ours}`;
      return url.replace(/^file:\/\//, '').replace(`${REPO}/`, '');
    }
    return internal ? 'node internals (timers, sockets, module loading)' : '(native, no JS caller)';
  };
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const a = area(id);
    self.set(a, (self.get(a) ?? 0) + dt);
  });
  return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([a, v]) => ({ area: a, selfPct: round((v / total) * 100, 1) }));
}
