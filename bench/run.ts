/**
 * `npm run bench [-- --part callpath|concurrency|tickets|acd|knowledge|asterisk]`: runs the benchmark parts and writes
 * bench/results/<yyyy-mm-dd>.json and .md. With --part, the other parts of an existing file of the
 * same day are kept. Figures are reported, never asserted.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { runAcd, type AcdResult } from './part-acd.js';
import { runKnowledge, type KnowledgeResult } from './part-knowledge.js';
import { remedianRounds, runAsterisk, type AsteriskResult } from './part-asterisk.js';
import { runCallPath, type CallPathResult } from './part-callpath.js';
import { runConcurrency, type ConcurrencyResult } from './part-concurrency.js';
import { runTickets, type TicketsResult } from './part-tickets.js';
import { REPO } from './sim-client.js';
import { round } from './stats.js';

const PARTS = ['callpath', 'concurrency', 'tickets', 'acd', 'knowledge', 'asterisk'] as const;
type Part = (typeof PARTS)[number];

interface Results {
  date: string;
  machine: { cpus: number; cpuModel: string; memGb: number; node: string; commit: string };
  parts: { callpath?: CallPathResult; concurrency?: ConcurrencyResult; tickets?: TicketsResult; acd?: AcdResult; knowledge?: KnowledgeResult; asterisk?: AsteriskResult };
  wallSec: Partial<Record<Part, number>>;
}

function args(): Part[] {
  const i = process.argv.indexOf('--part');
  if (i < 0) return [...PARTS];
  const name = process.argv[i + 1] as Part;
  if (!PARTS.includes(name)) {
    process.stderr.write(`--part must be one of ${PARTS.join(', ')}\n`);
    process.exit(2);
  }
  return [name];
}

function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

export function markdown(r: Results): string {
  const L: string[] = [];
  L.push(`# Benchmarks ${r.date}`, '');
  L.push(`Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memGb} GB, Node ${r.machine.node}, commit ${r.machine.commit}.`, '');
  const cp = r.parts.callpath;
  if (cp) {
    L.push('## 1. Call-path overhead', '');
    L.push(`Simulated PBX + load generator in a child process, server in the bench process; ${cp.durationSecPerRate} s per rate; ${cp.script}.`);
    L.push('Latencies measured in the PBX process (event sent → request received). "floor" = bare ari-client app that answers (and hangs up on a key).', '');
    L.push('| app | target/s | achieved/s | StasisStart→cmd p50 / p99 ms | DTMF→cmd p50 / p99 ms | event-loop delay p99 ms | RSS peak MB | unanswered | not ended in time |');
    L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const x of cp.runs) {
      L.push(
        `| ${x.who} | ${x.rate} | ${x.load.achievedRate} | ${x.stasisToFirstCommandMs.p50} / ${x.stasisToFirstCommandMs.p99} | ${x.dtmfToNextCommandMs.p50} / ${x.dtmfToNextCommandMs.p99} | ${x.process.eventLoopDelayP99Ms} | ${x.process.rssPeakMb} | ${x.load.unanswered} | ${x.load.notEndedInTime} |`,
      );
    }
    L.push('', '| rate/s | p99 ratio server/floor, StasisStart→cmd | DTMF→cmd |', '| ---: | ---: | ---: |');
    for (const x of cp.ratios) L.push(`| ${x.rate} | ${x.stasisP99Ratio} | ${x.dtmfP99Ratio} |`);
    L.push('');
  }
  const cc = r.parts.concurrency;
  if (cc) {
    L.push('## 2. Concurrency', '');
    L.push(`Held calls split between the IVR menu, the queue with MOH and agents (bridged); a probe of new calls measures command latency at each N. Largest N with probe p99 < ${cc.limitMs} ms (this and every smaller step): **${cc.maxN}**; stopped: ${cc.stoppedBecause}.`, '');
    L.push('| N | IVR / queue / agent | probe p50 / p99 ms | samples | heap MB | heap KB/call | RSS MB | RSS KB/call | event-loop p99 ms |');
    L.push('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const s of cc.steps) {
      L.push(`| ${s.target} | ${s.held.ivr} / ${s.held.queue} / ${s.held.agent} | ${s.probe.commandMs.p50} / ${s.probe.commandMs.p99} | ${s.probe.commandMs.n} | ${s.heapUsedMb} | ${s.heapPerCallKb} | ${s.rssMb} | ${s.rssPerCallKb} | ${s.eventLoopDelayP99Ms} |`);
    }
    L.push('');
  }
  const tk = r.parts.tickets;
  if (tk) {
    L.push('## 3. Tickets', '');
    L.push(`${tk.jobsPerRound} jobs per round, ${tk.producersInFlight} producers in flight, worker concurrency ${tk.workerConcurrency}, one throwaway redis-server (AOF on). A warm-up round of each path first (not counted${tk.warmUp ? `: ours ${tk.warmUp.ours}/s, raw ${tk.warmUp.raw}/s` : ''}), then rounds in alternating order.`, '');
    L.push('| round | ours: outbox → worker → ticket /s | raw BullMQ add + trivial process /s |', '| ---: | ---: | ---: |');
    tk.rounds.forEach((x, i) => L.push(`| ${i + 1} | ${x.ours} | ${x.raw} |`));
    L.push(`| median | **${tk.oursPerSec}** | **${tk.rawPerSec}** |`, '', `Ratio ours/raw: **${tk.ratio}**.`, '');
  }
  const ac = r.parts.acd;
  if (ac) {
    L.push('## 4. ACD quality (simulation vs Erlang-A)', '');
    L.push(`${ac.scenario.regular} answering + ${ac.scenario.peak} peak seats, handle ${ac.scenario.handleSec} s, patience ${ac.scenario.patienceSec} s (exponential), ${ac.scenario.hoursPerPoint} simulated hours per load. "pooled" = all 139 seats regular (what Erlang-A models); "114+25" = production overflow rule (peak seats only once >20 wait or 90 s waited). SL = answered within 20 s / offered.`, '');
    L.push('| load | calls/h | answer rate: Erlang-A(139) / sim pooled / sim 114+25 / Erlang-A(114) | Δ pooled, pp | ASA s (EA / pooled / 114+25) | SL20 (EA / pooled / 114+25) | abandon (EA / pooled / 114+25) |');
    L.push('| --- | ---: | --- | ---: | --- | --- | --- |');
    for (const x of ac.rows) {
      L.push(
        `| ${x.load} | ${x.callsPerHour} | ${pct(x.erlangA139.answerRate)} / ${pct(x.pooled.answerRate)} / ${pct(x.zhengzhou.answerRate)} / ${pct(x.erlangA114.answerRate)} | ${x.pooledVsFormulaPp} | ${x.erlangA139.asaSec} / ${x.pooled.asaSec} / ${x.zhengzhou.asaSec} | ${pct(x.erlangA139.serviceLevel20s)} / ${pct(x.pooled.serviceLevel20s)} / ${pct(x.zhengzhou.serviceLevel20s)} | ${pct(x.erlangA139.abandonRate)} / ${pct(x.pooled.abandonRate)} / ${pct(x.zhengzhou.abandonRate)} |`,
      );
    }
    if (ac.rows[0]?.controlled) {
      L.push('', `### Static rule vs the answer-rate controller (114 + 25 seats)`, '');
      L.push('Same seeds and arrivals; the controller (src/controller, every 15 s of virtual time on its own 5/15-minute windows) lowers the overflow thresholds by level. Peak-seat time used = busy time of the 25 peak seats / their staffed time.', '');
      L.push('| calls/h | answer rate static / controller | ASA s static / controller | peak-seat time used static / controller | calls taken by peak seats static / controller | time at level 0/1/2/3 | level changes |');
      L.push('| ---: | --- | --- | --- | --- | --- | ---: |');
      for (const x of ac.rows) {
        const c = x.controlled;
        L.push(
          `| ${x.callsPerHour} | ${pct(x.zhengzhou.answerRate)} / **${pct(c.answerRate)}** | ${x.zhengzhou.asaSec} / ${c.asaSec} | ${pct(x.zhengzhou.peakBusyShare)} / ${pct(c.peakBusyShare)} | ${x.zhengzhou.answeredByPeak} / ${c.answeredByPeak} | ${c.levelShare.map((v) => pct(v)).join(' / ')} | ${c.levelChanges} |`,
        );
      }
      if (ac.goal) {
        L.push('', `Goal ≥ 98 % at ${ac.goal.callsPerHour} calls/h: static ${pct(ac.goal.static.answerRate)}, controller **${pct(ac.goal.controlled.answerRate)}** (ASA ${ac.goal.static.asaSec} / ${ac.goal.controlled.asaSec} s, peak-seat time used ${pct(ac.goal.controlled.peakBusyShare)}).`);
      }
    }
    const m = ac.maxVolumePerHour;
    L.push('', `Highest hourly volume with answer rate ≥ ${ac.scenario.target * 100} % (bisection): Erlang-A on 139 seats **${m.erlangA139}**, simulation pooled **${m.simPooled}** (ratio ${ac.maxVolumeRatioPooled}), simulation 114 + 25 peak under the production rule **${m.simZhengzhou}** (ratio ${ac.maxVolumeRatioZhengzhou}; Erlang-A on 114 seats alone: ${m.erlangA114})${m.simControlled !== undefined ? `, simulation 114 + 25 under the answer-rate controller **${m.simControlled}**` : ''}.`, '');
  }
  const kb = r.parts.knowledge;
  if (kb) {
    L.push('## 5. Knowledge-base search', '');
    L.push(`${kb.articles} published articles (5 % past valid-until) in one throwaway Redis; one instance's in-memory index (Intl.Segmenter words + bigrams, BM25, line/skill preference) rebuilt from Redis in **${kb.rebuildMs} ms** (${kb.terms} terms, heap +${kb.heapMb} MB).`, '');
    L.push('| what | p50 ms | p99 ms | max ms | n |', '| --- | ---: | ---: | ---: | ---: |');
    L.push(`| typed query (line + skill preferred) | ${kb.typed.p50} | **${kb.typed.p99}** | ${kb.typed.max} | ${kb.typed.n} |`);
    L.push(`| call-pop suggestions (line, skill, IVR path) | ${kb.suggestions.p50} | **${kb.suggestions.p99}** | ${kb.suggestions.max} | ${kb.suggestions.n} |`);
    L.push(`| publish on instance A → found by B’s search | ${kb.propagationMs.p50} | ${kb.propagationMs.p99} | ${kb.propagationMs.max} | ${kb.propagationMs.n} |`);
    L.push('', `Target: results in under ${kb.limitMs} ms at ${kb.articles} articles.`, '');
  }
  const as = r.parts.asterisk;
  if (as) {
    L.push('## 5. Set-up on a real Asterisk (SIPp, our server vs pure dialplan)', '');
    L.push(`${as.asterisk}, ${as.sipp}; ${as.durationSecPerStep} s per step, INVITE → 200 OK → 3 s → BYE, no media from SIPp; RTP ports ${as.rtpPorts[0]}–${as.rtpPorts[1]}. Our path: the compiled server (NODE_ENV=production, logs at info to a file) answering 12345 (welcome prompt); dialplan path: Answer/Playback(hotline/welcome)/Hangup on the same Asterisk, alternating. CPU per call = /proc utime+stime over the step and 10 s of drain ÷ calls placed.`, '');
    if (as.idleNodeCpuMsPerSec && Object.keys(as.idleNodeCpuMsPerSec).length) {
      L.push(`Server CPU with no calls (${Object.entries(as.idleNodeCpuMsPerSec).map(([k, v]) => `${k} ${v} ms/s`).join(', ')}): part of every node CPU per call below: ≈ that × the step's window (the step and 10 s of drain) ÷ its calls, e.g. ÷ 60 at 100/s.`, '');
    }
    const rs = as.rounds;
    if (rs) {
      L.push(`### ${rs.rate} set-ups/s, ${rs.rounds} alternating rounds`, '');
      L.push('Each round runs the dialplan and our server back to back (the order swaps every round); ratios are against the dialplan of the same round, pooled = all rounds\' samples together.', '');
      L.push('| path | INVITE→200 pooled p50 / p99 ms (dialplan) | pooled p99 ratio | per-round p99 ratio median / worst | (Asterisk + node) / dialplan Asterisk median / worst | node CPU ms/call median / worst | calls / tickets | left in app (max) |');
      L.push('| --- | --- | ---: | --- | --- | --- | --- | ---: |');
      for (const p of rs.paths) {
        L.push(
          `| ${p.path} | ${p.pooled.p50} / ${p.pooled.p99} (${p.pooled.dialplanP50} / ${p.pooled.dialplanP99}) | **${p.pooled.p99Ratio}** | ${p.p99Ratio.median} / ${p.p99Ratio.worst} | **${p.cpuVsDialplan.median} / ${p.cpuVsDialplan.worst}** | ${p.nodeCpuMsPerCall.median} / ${p.nodeCpuMsPerCall.worst} | ${p.calls} / ${p.tickets} | ${p.channelsLeftMax} |`,
        );
      }
      L.push('', '| round | path | p99 ms (dialplan) | p99 ratio | node CPU ms/call | (Asterisk + node) / dialplan |', '| ---: | --- | --- | ---: | ---: | ---: |');
      for (const p of rs.paths) for (const r of p.perRound) L.push(`| ${r.round} | ${p.path} | ${r.p99Ms} (${r.dialplanP99Ms}) | ${r.p99Ratio} | ${r.nodeCpuMsPerCall} | ${r.cpuVsDialplan} |`);
      L.push('', '### Every step', '');
    }
    L.push('| rate/s | round | path | ok / calls | INVITE→200 p50 / p99 / max ms | failures | retrans | Asterisk CPU ms/call | node CPU ms/call | RSS peak MB (Asterisk / node) | event-loop p50 / p99 / max ms | left in app | calls / tickets | ARI requests/call | Redis scripts/call (Redis CPU µs/call) | log lines/call | problems |');
    L.push('| ---: | ---: | --- | ---: | ---: | --- | ---: | ---: | ---: | --- | --- | ---: | --- | --- | --- | ---: | --- |');
    for (const s of as.steps) {
      const probs = { ...s.asteriskProblems, ...(s.serverProblems ?? {}), ...Object.fromEntries(Object.entries(s.shed ?? {}).map(([k, v]) => [`told busy (${k})`, v])) };
      const ariPerCall = s.ariRequests ? Object.entries(s.ariRequests).map(([k, v]) => `${k} ${v.perCall}`).join(', ') || '0' : '–';
      const redisPerCall = s.redisPerCall ? `${(s.redisPerCall.commands.evalsha ?? 0) + (s.redisPerCall.commands.eval ?? 0)} (${s.redisPerCall.usecPerCall})` : '–';
      L.push(
        `| ${s.rate} | ${s.round ?? '–'} | ${s.path} | ${s.successful}${s.busy ? ` (+${s.busy} busy)` : ''} / ${s.calls} | ${s.setupMs.p50} / ${s.setupMs.p99} / ${s.setupMs.max} | ${Object.entries(s.failures).map(([k, v]) => `${k} ${v}`).join(', ') || '–'} | ${s.retransmissions} | ${s.asteriskCpuMsPerCall} | ${s.nodeCpuMsPerCall ?? '–'} | ${s.asteriskRssPeakMb} / ${s.nodeRssPeakMb ?? '–'} | ${s.eventLoopDelayMs ? `${s.eventLoopDelayMs.p50} / ${s.eventLoopDelayMs.p99} / ${s.eventLoopDelayMs.max}` : '–'} | ${s.channelsLeft} | ${s.serverCalls !== undefined ? `${s.serverCalls} / ${s.tickets}` : '–'} | ${ariPerCall} | ${redisPerCall} | ${s.logLinesPerCall ?? '–'} | ${Object.entries(probs).map(([k, v]) => `${k} ${v}`).join(', ') || '–'} |`,
      );
    }
    if (as.ratios.length) {
      L.push('', '| rate/s | path | p50 ratio to dialplan | p99 ratio | CPU per call (Asterisk + node) / dialplan Asterisk |', '| ---: | --- | ---: | ---: | ---: |');
      for (const x of as.ratios) L.push(`| ${x.rate} | ${x.path ?? 'ours'} | ${x.p50} | ${x.p99} | ${x.cpuVsDialplan} |`);
    }
    const warned = as.steps.filter((s) => s.serverWarnings);
    if (warned.length) {
      L.push('', 'Server warnings and errors by message (the five most frequent of a step):', '');
      for (const s of warned) L.push(`- ${s.rate}/s ${s.round !== undefined ? `round ${s.round} ` : ''}${s.path}: ${Object.entries(s.serverWarnings!).map(([k, v]) => `${k} × ${v}`).join('; ')}`);
    }
    L.push('', '(Latency ratios use max(dialplan, 1 ms) as the divisor: SIPp reports whole milliseconds.)', '');
    if (as.profile) {
      L.push(`CPU profile of the server at ${as.profile.rate} set-ups/s (the step alone, taken in the server by \`bench/asterisk/eld.mjs\`: ${as.profile.file}), self time:`, '', '| function | where | self % |', '| --- | --- | ---: |');
      for (const t of as.profile.top) L.push(`| ${t.fn} | ${t.where} | ${t.selfPct} |`);
      L.push('', 'The same profile by area (native frames counted for their JavaScript caller):', '', '| area | self % |', '| --- | ---: |');
      for (const a of as.profile.byArea ?? []) L.push(`| ${a.area} | ${a.selfPct} |`);
      L.push('');
    }
  }
  L.push(`Wall time per part (s): ${Object.entries(r.wallSec).map(([k, v]) => `${k} ${v}`).join(', ')}.`, '');
  return L.join('\n');
}

async function main(): Promise<void> {
  // --render <name>: write bench/results/<name>.md again from its .json (after a change of the tables).
  const ri = process.argv.indexOf('--render');
  if (ri >= 0) {
    const file = join(REPO, 'bench', 'results', `${process.argv[ri + 1]}.json`);
    const r = JSON.parse(readFileSync(file, 'utf8')) as Results;
    if (r.parts.asterisk?.rounds) r.parts.asterisk.rounds = remedianRounds(r.parts.asterisk.rounds);
    writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
    writeFileSync(file.replace(/\.json$/, '.md'), markdown(r));
    return;
  }
  const parts = args();
  const date = today();
  const dir = join(REPO, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  // --name <suffix>: results go to <date>-<suffix>.json/.md (a side-by-side experiment beside the day's run).
  const ni = process.argv.indexOf('--name');
  const base = ni >= 0 && process.argv[ni + 1] ? `${date}-${process.argv[ni + 1]!.replace(/[^\w.-]/g, '')}` : date;
  const jsonFile = join(dir, `${base}.json`);
  const prev: Results | undefined = parts.length < PARTS.length && existsSync(jsonFile) ? (JSON.parse(readFileSync(jsonFile, 'utf8')) as Results) : undefined;
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: REPO, encoding: 'utf8' }).trim();
  } catch {
    /* not a git checkout */
  }
  const results: Results = {
    date,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? 'unknown', memGb: round(totalmem() / 2 ** 30, 1), node: process.version, commit },
    parts: { ...(prev?.parts ?? {}) },
    wallSec: { ...(prev?.wallSec ?? {}) },
  };
  const log = (s: string) => process.stdout.write(`${s}\n`);
  for (const part of parts) {
    log(`== ${part}`);
    const t0 = Date.now();
    if (part === 'callpath') results.parts.callpath = await runCallPath(log);
    if (part === 'concurrency') results.parts.concurrency = await runConcurrency(log);
    if (part === 'tickets') results.parts.tickets = await runTickets(log);
    if (part === 'acd') results.parts.acd = await runAcd(log);
    if (part === 'knowledge') results.parts.knowledge = await runKnowledge(log);
    if (part === 'asterisk') results.parts.asterisk = await runAsterisk(log);
    results.wallSec[part] = round((Date.now() - t0) / 1000, 1);
    log(`   ${part}: ${results.wallSec[part]} s`);
    // Written after every part, so a later failure keeps what was measured.
    writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(dir, `${base}.md`), markdown(results));
  }
  log(`wrote bench/results/${base}.json and .md`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
