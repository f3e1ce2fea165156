/**
 * Part 4 — ACD quality: the discrete-event simulation (real router, virtual clock) against the
 * Erlang-A prediction, for the Zhengzhou plan: 114 answering seats + 25 peak seats, 4-minute handle
 * time, 60 s mean patience.
 *
 * Two seat set-ups are simulated side by side:
 * - "pooled": all 139 seats are regular seats — the set-up Erlang-A describes (validates the simulator);
 * - "zhengzhou": 114 regular + 25 peak seats under the production queue rule (peak seats take a
 *   general call only once it overflows: more than 20 waiting or 90 s waited);
 * - "controlled": the same seats under the answer-rate controller (src/controller), which lowers the
 *   overflow thresholds by level from its own sliding windows (static rule vs controller, side by side).
 */
import { simulateAcd, type AcdSimResult } from './acd-sim.js';
import { bisectVolume, erlangA, type ErlangAResult } from './erlang-a.js';
import { ratio, round } from './stats.js';
import { defaultControllerConfig } from '../src/controller/model.js';

const HANDLE = 240;
const PATIENCE = 60;
const REGULAR = 114;
const PEAK = 25;
const TARGET = 0.98;
const HOURS = 100;
const BISECT_HOURS = 40;

interface Figures {
  answerRate: number;
  asaSec: number;
  serviceLevel20s: number;
  abandonRate: number;
}

export interface AcdLoadRow {
  load: string;
  callsPerHour: number;
  erlangA139: Figures;
  erlangA114: Figures;
  pooled: Figures & { offered: number };
  zhengzhou: Figures & { offered: number; answeredByPeak: number; peakBusyShare: number };
  /** 114 + 25 under the answer-rate controller (src/controller), static rule as its level 0. */
  controlled: Figures & { offered: number; answeredByPeak: number; peakBusyShare: number; levelShare: number[]; levelChanges: number };
  /** pooled simulation answer rate − Erlang-A(139), percentage points. */
  pooledVsFormulaPp: number;
  zhengzhouVsFormulaPp: number;
  /** simulation ASA / formula ASA. */
  pooledAsaRatio: number;
  zhengzhouAsaRatio: number;
}

export interface AcdResult {
  scenario: { regular: number; peak: number; handleSec: number; patienceSec: number; target: number; hoursPerPoint: number };
  rows: AcdLoadRow[];
  maxVolumePerHour: { erlangA139: number; erlangA114: number; simPooled: number; simZhengzhou: number; simControlled: number };
  /** The goal: ≥ 98 % at ≥ 1,900 calls/h with 114 + 25 seats. */
  goal: { callsPerHour: number; static: Figures; controlled: Figures & { peakBusyShare: number } };
  /** simulated (pooled) / formula */
  maxVolumeRatioPooled: number;
  maxVolumeRatioZhengzhou: number;
  wallSec: number;
}

const fa = (r: ErlangAResult): Figures => ({
  answerRate: round(r.answerRate, 4),
  asaSec: round(r.asa, 2),
  serviceLevel20s: round(r.serviceLevel, 4),
  abandonRate: round(r.pAbandon, 4),
});
const fs = (r: AcdSimResult): Figures => ({
  answerRate: round(r.answerRate, 4),
  asaSec: round(r.asa, 2),
  serviceLevel20s: round(r.serviceLevel, 4),
  abandonRate: round(r.abandonRate, 4),
});

const formula = (cph: number, n: number) => erlangA({ lambda: cph / 3600, mu: 1 / HANDLE, theta: 1 / PATIENCE, n, slSec: 20 });
const sim = (cph: number, regular: number, peak: number, hours: number, seed = 20240601) =>
  simulateAcd({ callsPerHour: cph, handleSec: HANDLE, patienceSec: PATIENCE, regular, peak, hours, warmupHours: 0.5, seed });
/** The simulation's handle time includes wrap-up: the controller's prior is the scenario's. */
const CONTROLLER = defaultControllerConfig({ wrapUpSec: 0, priorHandleSec: HANDLE, priorPatienceSec: PATIENCE });
const simControlled = (cph: number, hours: number, seed = 20240601) =>
  simulateAcd({ callsPerHour: cph, handleSec: HANDLE, patienceSec: PATIENCE, regular: REGULAR, peak: PEAK, hours, warmupHours: 0.5, seed, controller: CONTROLLER });

export async function runAcd(log: (s: string) => void): Promise<AcdResult> {
  const t0 = Date.now();
  const maxFormula139 = await bisectVolume((v) => formula(v, REGULAR + PEAK).answerRate, TARGET, 100, 5000, 0.5);
  const maxFormula114 = await bisectVolume((v) => formula(v, REGULAR).answerRate, TARGET, 100, 5000, 0.5);
  log(`  Erlang-A: ${round(maxFormula139, 0)} calls/h on 139 seats, ${round(maxFormula114, 0)} calls/h on 114 seats keep answer rate ≥ ${TARGET * 100}%`);
  const maxSimPooled = await bisectVolume((v) => sim(v, REGULAR + PEAK, 0, BISECT_HOURS).answerRate, TARGET, 1000, 3000, 5);
  const maxSimZz = await bisectVolume((v) => sim(v, REGULAR, PEAK, BISECT_HOURS).answerRate, TARGET, 1000, 3000, 5);
  const maxSimCtl = await bisectVolume((v) => simControlled(v, BISECT_HOURS).answerRate, TARGET, 1000, 3000, 5);
  log(`  simulation: ${round(maxSimPooled, 0)} calls/h pooled, ${round(maxSimZz, 0)} calls/h with 114 + 25 peak seats (production overflow rule), ${round(maxSimCtl, 0)} calls/h under the controller`);

  const loads: [string, number][] = [
    ['light (70% of capacity)', Math.round(0.7 * (REGULAR + PEAK) * (3600 / HANDLE))],
    ['design (Erlang-A 98%)', Math.round(maxFormula139)],
    ['overload (125% of design)', Math.round(1.25 * maxFormula139)],
  ];
  const rows: AcdLoadRow[] = [];
  for (const [load, cph] of loads) {
    const e139 = formula(cph, REGULAR + PEAK);
    const e114 = formula(cph, REGULAR);
    const p = sim(cph, REGULAR + PEAK, 0, HOURS, 1);
    const z = sim(cph, REGULAR, PEAK, HOURS, 1);
    const c = simControlled(cph, HOURS, 1);
    const row: AcdLoadRow = {
      load,
      callsPerHour: cph,
      erlangA139: fa(e139),
      erlangA114: fa(e114),
      pooled: { ...fs(p), offered: p.offered },
      zhengzhou: { ...fs(z), offered: z.offered, answeredByPeak: z.answeredByPeak, peakBusyShare: round(z.peakBusyShare, 4) },
      controlled: {
        ...fs(c),
        offered: c.offered,
        answeredByPeak: c.answeredByPeak,
        peakBusyShare: round(c.peakBusyShare, 4),
        levelShare: (c.levelShare ?? []).map((x) => round(x, 4)),
        levelChanges: c.levelChanges ?? 0,
      },
      pooledVsFormulaPp: round((p.answerRate - e139.answerRate) * 100, 2),
      zhengzhouVsFormulaPp: round((z.answerRate - e139.answerRate) * 100, 2),
      pooledAsaRatio: ratio(p.asa, e139.asa),
      zhengzhouAsaRatio: ratio(z.asa, e139.asa),
    };
    rows.push(row);
    log(
      `  ${load} ${cph}/h: answer rate Erlang-A ${(e139.answerRate * 100).toFixed(2)}% | sim pooled ${(p.answerRate * 100).toFixed(2)}% ` +
        `(${row.pooledVsFormulaPp >= 0 ? '+' : ''}${row.pooledVsFormulaPp} pp) | sim 114+25 ${(z.answerRate * 100).toFixed(2)}% (${row.zhengzhouVsFormulaPp} pp); ` +
        `ASA ${e139.asa.toFixed(1)} / ${p.asa.toFixed(1)} / ${z.asa.toFixed(1)} s; SL20 ${(e139.serviceLevel * 100).toFixed(1)} / ${(p.serviceLevel * 100).toFixed(1)} / ${(z.serviceLevel * 100).toFixed(1)}%`,
    );
    log(
      `    static vs controller: answer rate ${(z.answerRate * 100).toFixed(2)} / ${(c.answerRate * 100).toFixed(2)}%, ASA ${z.asa.toFixed(1)} / ${c.asa.toFixed(1)} s, ` +
        `peak-seat time used ${(z.peakBusyShare * 100).toFixed(1)} / ${(c.peakBusyShare * 100).toFixed(1)}%, peak answers ${z.answeredByPeak} / ${c.answeredByPeak}`,
    );
  }
  const GOAL = 1900;
  const gs = sim(GOAL, REGULAR, PEAK, HOURS, 1);
  const gc = simControlled(GOAL, HOURS, 1);
  log(`  goal ${GOAL}/h: static ${(gs.answerRate * 100).toFixed(2)}%, controller ${(gc.answerRate * 100).toFixed(2)}%`);
  return {
    scenario: { regular: REGULAR, peak: PEAK, handleSec: HANDLE, patienceSec: PATIENCE, target: TARGET, hoursPerPoint: HOURS },
    rows,
    maxVolumePerHour: {
      erlangA139: round(maxFormula139, 0),
      erlangA114: round(maxFormula114, 0),
      simPooled: round(maxSimPooled, 0),
      simZhengzhou: round(maxSimZz, 0),
      simControlled: round(maxSimCtl, 0),
    },
    goal: { callsPerHour: GOAL, static: fs(gs), controlled: { ...fs(gc), peakBusyShare: round(gc.peakBusyShare, 4) } },
    maxVolumeRatioPooled: ratio(maxSimPooled, maxFormula139),
    maxVolumeRatioZhengzhou: ratio(maxSimZz, maxFormula139),
    wallSec: round((Date.now() - t0) / 1000, 1),
  };
}
