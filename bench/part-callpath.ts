/**
 * Part 1 — call-path overhead. The simulated PBX (and the load generator) run in a child process;
 * the server runs here (buildApp with a throwaway Redis). At each set-up rate the server and the
 * floor (a bare ari-client app that only answers) take the same load, one after the other.
 *
 * Measured in the PBX process: StasisStart sent → first ARI request for that channel received, and
 * ChannelDtmfReceived sent → next request for that channel received.
 */
import type { App } from '../src/app.js';
import { OwnRedis } from '../src/demo/own-redis.js';
import { SimProcess, type Samples } from './sim-client.js';
import { startFloor, startServer } from './server.js';
import { ProcessProbe, ratio, sleep, summarize, type LatencySummary } from './stats.js';

export interface CallPathRun {
  who: 'server' | 'floor';
  rate: number;
  load: Record<string, number>;
  stasisToFirstCommandMs: LatencySummary;
  dtmfToNextCommandMs: LatencySummary;
  missedStart: number;
  missedDtmf: number;
  process: ReturnType<ProcessProbe['stop']>;
  simEventLoopDelayP99Ms: number;
}

export interface CallPathResult {
  durationSecPerRate: number;
  script: string;
  runs: CallPathRun[];
  ratios: { rate: number; stasisP99Ratio: number; dtmfP99Ratio: number }[];
}

export const RATES = [50, 200, 500];
const DURATION_MS = 8_000;
const SCRIPT = { number: '12345', digit: '8', pressAfterMs: 250, hangupAfterMs: 800 };

async function measure(sim: SimProcess, who: 'server' | 'floor', rate: number, log: (s: string) => void): Promise<CallPathRun> {
  await sim.call('samples');
  await sim.call('stats');
  const probe = new ProcessProbe();
  probe.start();
  const load = await sim.call<Record<string, number>>('load', { rate, durationMs: DURATION_MS, drainMs: 15_000, ...SCRIPT });
  const proc = probe.stop();
  const simStats = await sim.call<{ eventLoopDelayP99Ms: number }>('stats');
  const s = await sim.call<Samples>('samples');
  const run: CallPathRun = {
    who,
    rate,
    load,
    stasisToFirstCommandMs: summarize(s.start),
    dtmfToNextCommandMs: summarize(s.dtmf),
    missedStart: s.missedStart + s.pendingStart,
    missedDtmf: s.missedDtmf + s.pendingDtmf,
    process: proc,
    simEventLoopDelayP99Ms: simStats.eventLoopDelayP99Ms,
  };
  log(
    `  ${who.padEnd(6)} @${String(rate).padStart(3)}/s: placed ${load.placed} (achieved ${load.achievedRate}/s), ` +
      `StasisStart→cmd p50 ${run.stasisToFirstCommandMs.p50} p99 ${run.stasisToFirstCommandMs.p99} ms, ` +
      `DTMF→cmd p50 ${run.dtmfToNextCommandMs.p50} p99 ${run.dtmfToNextCommandMs.p99} ms, ` +
      `ELD p99 ${proc.eventLoopDelayP99Ms} ms, RSS ${proc.rssPeakMb} MB, unanswered ${load.unanswered}, stuck ${load.notEndedInTime}, no command ${run.missedStart}/${run.missedDtmf}`,
  );
  return run;
}

export async function runCallPath(log: (s: string) => void): Promise<CallPathResult> {
  const redis = await OwnRedis.create();
  const sim = await SimProcess.start({ menuMs: 5000, otherMs: 5000 });
  const runs: CallPathRun[] = [];
  try {
    for (const rate of RATES) {
      let app: App | undefined = await startServer(sim, redis.url);
      try {
        await sleep(300);
        runs.push(await measure(sim, 'server', rate, log));
      } finally {
        await app.stop();
        app = undefined;
      }
      await sim.call('releaseAll', { timeoutMs: 5000 });
      const floor = await startFloor(sim);
      try {
        await sleep(300);
        runs.push(await measure(sim, 'floor', rate, log));
      } finally {
        await floor.stop();
      }
      await sim.call('releaseAll', { timeoutMs: 5000 });
    }
  } finally {
    await sim.stop();
    await redis.destroy();
  }
  const ratios = RATES.map((rate) => {
    const ours = runs.find((r) => r.who === 'server' && r.rate === rate)!;
    const floor = runs.find((r) => r.who === 'floor' && r.rate === rate)!;
    return {
      rate,
      stasisP99Ratio: ratio(ours.stasisToFirstCommandMs.p99, floor.stasisToFirstCommandMs.p99),
      dtmfP99Ratio: ratio(ours.dtmfToNextCommandMs.p99, floor.dtmfToNextCommandMs.p99),
    };
  });
  return {
    durationSecPerRate: DURATION_MS / 1000,
    script: `dial ${SCRIPT.number}, press ${SCRIPT.digit} ${SCRIPT.pressAfterMs} ms after the answer, hang up ${SCRIPT.hangupAfterMs} ms after the answer; prompts play 5 s`,
    runs,
    ratios,
  };
}
