/**
 * `npx tsx bench/overload.ts [--capacity 100] [--seconds 60] [--factor 2]`: overload against a real
 * throwaway Asterisk 22 with SIPp (issue 20). The server (buildApp, in this process) is configured for
 * `capacity` concurrent calls (ADMIT_MAX_CALLS); citizens who stay silent on the line hold a call for
 * at most H = 45 s (tests/support/sipp/citizen.xml), so the sustainable rate is capacity / H calls/s.
 * SIPp places calls at `factor` × that rate for `seconds`, over the carrier trunk (real SIP + RTP).
 *
 * Reported, never asserted: every call served or told busy (each ends as a call record: outcome
 * `busy` = shed, anything else = served), channels left in Stasis / on Asterisk after the run,
 * /healthz and /metrics latency during the run, RSS before, at peak, at the end and 60 s later.
 * Writes bench/results/overload-<date>.json and .md.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { buildApp } from '../src/app.js';
import type { CallRecord } from '../src/calls/record.js';
import { loadConfig } from '../src/config/index.js';
import { AsteriskInstance, REPO_ROOT } from '../tests/support/asterisk.js';
import { OwnRedis } from '../tests/support/redis-server.js';
import { CITIZEN_SCENARIO, CITIZEN_HOLD_MS, freeUdpPort, recordingIn, sippProblem } from '../tests/support/sipp.js';
import { nullLog, round, sleep, summarize } from './stats.js';

function arg(name: string, d: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
}

const capacity = arg('capacity', 100);
const seconds = arg('seconds', 60);
const factor = arg('factor', 2);
const holdSec = CITIZEN_HOLD_MS / 1000;
const sustainable = capacity / holdSec;
const rate = sustainable * factor;
const total = Math.round(rate * seconds);
const mb = (b: number) => round(b / 2 ** 20, 1);

async function main(): Promise<void> {
  const problem = sippProblem();
  if (problem) throw new Error(problem);
  const redis = await OwnRedis.create();
  const ast = await AsteriskInstance.start({ promptsDir: join(REPO_ROOT, 'sounds', 'build'), label: 'overload-' });
  const a = ast.info;
  const auth = { authorization: `Basic ${Buffer.from(`${a.ariUser}:${a.ariPassword}`).toString('base64')}` };
  const ariGet = async (path: string) => (await (await fetch(`${a.ariUrl}/ari${path}`, { headers: auth })).json()) as any;
  const app = await buildApp(
    loadConfig({
      ARI_URL: a.ariUrl, ARI_USER: a.ariUser, ARI_PASSWORD: a.ariPassword, ARI_APP: 'hotline',
      AMI_ENABLED: 'true', AMI_HOST: a.amiHost, AMI_PORT: String(a.amiPort), AMI_USER: a.amiUser, AMI_SECRET: a.amiSecret,
      REDIS_URL: redis.url, HOTLINE_KEY_PREFIX: 'overload', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', HOTLINE_CITY: 'zaozhuang',
      LOG_LEVEL: 'info', HOTLINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'hotline-overload-')), JWT_SECRET: randomBytes(32).toString('hex'),
      COOKIE_SECURE: 'false', AGENT_DIAL_TEMPLATE: 'Local/{ext}@hotline-test-agents', ACD_REQUIRE_REGISTRATION: 'false',
      ADMIT_MAX_CALLS: String(capacity),
      // Watched (AMI CoreStatus) but high enough never to shed: the run reports Asterisk's own count.
      ADMIT_MAX_PBX_CALLS: '100000',
    }),
    { logDestination: nullLog },
  );
  const records: CallRecord[] = [];
  // Every ended call's record (served or shed) as the ticket pipeline gets it.
  const submit = app.outbox.submit.bind(app.outbox);
  app.outbox.submit = async (r) => (records.push(r), submit(r));
  await app.start();
  await app.telephony.whenConnected(20_000);
  await sleep(3000);
  const rssStart = process.memoryUsage.rss();

  // SIPp at `rate` calls/s (as calls per 10 s, SIPp's -r/-rp), every call its own caller number.
  const dir = mkdtempSync(join(tmpdir(), 'hotline-overload-sipp-'));
  writeFileSync(join(dir, 'calls.csv'), `SEQUENTIAL\n${Array.from({ length: total }, (_, i) => `1390${String(i).padStart(7, '0')};1390${String(i).padStart(7, '0')};-;12345;8;PCMA;\n`).join('')}`);
  writeFileSync(join(dir, 'audio.pcap'), recordingIn('PCMA'));
  const per10s = Math.max(1, Math.round(rate * 10));
  const sipp = spawn('/usr/bin/sipp', [
    `127.0.0.1:${a.sipPort}`, '-sf', CITIZEN_SCENARIO, '-inf', join(dir, 'calls.csv'), '-i', '127.0.0.1', '-p', String(await freeUdpPort()),
    '-mi', '127.0.0.1', '-mp', String(await freeUdpPort()), '-cp', String(await freeUdpPort()), '-m', String(total), '-l', String(total), '-r', String(per10s), '-rp', '10000',
    '-nostdin', '-trace_logs', '-log_file', join(dir, 'logs.log'), '-trace_err', '-error_file', join(dir, 'errors.log'), '-timeout', String(seconds + 120) + 's',
  ], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  sipp.stderr!.on('data', (b: Buffer) => (stderr += String(b)));
  const sippDone = new Promise<number | null>((r) => sipp.once('exit', (c) => r(c)));

  // During the run: the endpoints' latency, RSS, our calls and Asterisk's.
  const health: number[] = [];
  const metricsMs: number[] = [];
  let rssPeak = rssStart;
  let maxLive = 0;
  let maxPbxCalls = 0;
  let maxAriLatencyMs = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      let t = performance.now();
      await app.http.inject({ method: 'GET', url: '/healthz' });
      health.push(performance.now() - t);
      t = performance.now();
      await app.http.inject({ method: 'GET', url: '/metrics' });
      metricsMs.push(performance.now() - t);
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
      maxLive = Math.max(maxLive, app.calls.active.length);
      const load = app.admission.load('12345', 'carrier');
      maxPbxCalls = Math.max(maxPbxCalls, load.pbxCalls ?? 0);
      maxAriLatencyMs = Math.max(maxAriLatencyMs, load.ariLatencyMs);
      await sleep(500);
    }
  })();
  const exit = await sippDone;
  running = false;
  await sampler;
  const rssEnd = process.memoryUsage.rss();
  await sleep(5000);
  const left = { stasis: (await ariGet('/channels')).length as number };
  const sippLog = existsSync(join(dir, 'logs.log')) ? readFileSync(join(dir, 'logs.log'), 'utf8') : '';
  const answered = (sippLog.match(/ answered$/gm) ?? []).length;
  const byHotline = (sippLog.match(/ ended-by hotline$/gm) ?? []).length;
  const byCitizen = (sippLog.match(/ ended-by citizen$/gm) ?? []).length;
  await sleep(60_000);
  const rssLater = process.memoryUsage.rss();
  const outcomes: Record<string, number> = {};
  for (const r of records) outcomes[r.outcome ?? 'none'] = (outcomes[r.outcome ?? 'none'] ?? 0) + 1;
  const shed = outcomes.busy ?? 0;
  const served = records.length - shed - (outcomes.failed ?? 0);
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', memGb: round(totalmem() / 2 ** 30, 1), node: process.version, commit: execSync('git rev-parse --short HEAD', { cwd: REPO_ROOT }).toString().trim() },
    setup: { capacity, holdSec, sustainableRate: round(sustainable), factor, rate: round(rate), seconds, callsPlaced: total },
    sip: { exitCode: exit, answered, endedByHotline: byHotline, endedByCitizen: byCitizen, errors: stderr.slice(-500) },
    calls: { records: records.length, served, toldBusy: shed, failed: outcomes.failed ?? 0, outcomes, maxLiveSessions: maxLive, maxAsteriskCalls: maxPbxCalls, maxSmoothedAriLatencyMs: round(maxAriLatencyMs), shedByReason: app.admission.shedCounts },
    leftAfter5s: { channelsOnAsterisk: left.stasis, sessions: app.calls.active.length },
    httpDuringRunMs: { healthz: summarize(health), metrics: summarize(metricsMs) },
    rssMb: { start: mb(rssStart), peak: mb(rssPeak), end: mb(rssEnd), minuteLater: mb(rssLater), minuteLaterVsStart: round(rssLater / rssStart - 1, 3) },
  };
  await app.stop();
  await ast.stop();
  await redis.destroy();
  rmSync(dir, { recursive: true, force: true });
  const out = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const day = result.date.slice(0, 10);
  writeFileSync(join(out, `overload-${day}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const md = [
    `# Overload ${day}`, '',
    `Machine: ${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memGb} GB, Node ${result.machine.node}, commit ${result.machine.commit}; shared with other work, so figures are indicative.`, '',
    `Real Asterisk 22 (throwaway), SIPp over the carrier trunk, silent citizens holding up to ${holdSec} s. Capacity ADMIT_MAX_CALLS=${capacity} → sustainable ${round(sustainable)} calls/s; placed ${factor}× = ${round(rate)} calls/s for ${seconds} s: ${total} calls.`, '',
    '| placed | answered (SIP) | records | served | told busy | failed | max live sessions | channels left (5 s after) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${total} | ${answered} | ${records.length} | ${served} | ${shed} | ${outcomes.failed ?? 0} | ${maxLive} | ${left.stasis} |`, '',
    '| during the run | p50 ms | p99 ms | max ms |', '| --- | ---: | ---: | ---: |',
    `| GET /healthz | ${result.httpDuringRunMs.healthz.p50} | ${result.httpDuringRunMs.healthz.p99} | ${result.httpDuringRunMs.healthz.max} |`,
    `| GET /metrics | ${result.httpDuringRunMs.metrics.p50} | ${result.httpDuringRunMs.metrics.p99} | ${result.httpDuringRunMs.metrics.max} |`, '',
    `RSS: start ${result.rssMb.start} MB, peak ${result.rssMb.peak} MB, end ${result.rssMb.end} MB, a minute later ${result.rssMb.minuteLater} MB (${round(result.rssMb.minuteLaterVsStart * 100, 1)} % vs start).`, '',
    `Shed by reason: ${JSON.stringify(result.calls.shedByReason)}; outcomes: ${JSON.stringify(outcomes)}.`, '',
    `Admission's view at its worst: Asterisk's own calls (AMI CoreStatus) ${maxPbxCalls}, smoothed ARI latency ${round(maxAriLatencyMs)} ms.`, '',
  ].join('\n');
  writeFileSync(join(out, `overload-${day}.md`), md);
  process.stdout.write(md);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
