import { describe, expect, it } from 'vitest';
import { buildDefaultFlows, defaultStartContext, SURVEY_FLOW_ID, ZH_FLOW_ID } from '../../src/ivr/default-flow.js';
import { isDone, next } from '../../src/ivr/engine.js';
import { IvrSim } from '../../src/ivr/sim.js';
import type { Flow, IvrCommand, IvrInput, Step } from '../../src/ivr/types.js';
import { seededRng } from '../../src/util/random.js';

/** Deterministic PRNG so failures are reproducible by seed. */
const mulberry32 = seededRng;

const COMMAND_TYPES = new Set([
  'play',
  'stop-playback',
  'start-timer',
  'cancel-timer',
  'queue',
  'transfer',
  'hangup',
  'lookup-ticket',
  'survey-rating',
  'set-language',
  'path',
]);

function assertValidStep(step: Step): void {
  expect(step.state.v).toBe(1);
  expect(typeof step.state.flowId).toBe('string');
  expect(['zh', 'en']).toContain(step.state.lang);
  for (const c of step.commands as IvrCommand[]) {
    expect(COMMAND_TYPES.has(c.type), JSON.stringify(c)).toBe(true);
    if (c.type === 'play') {
      expect(c.media.length).toBeGreaterThan(0);
      expect(typeof c.token).toBe('string');
    }
    if (c.type === 'start-timer') expect(c.ms).toBeGreaterThan(0);
    if (c.type === 'survey-rating') expect([1, 2, 3, 4]).toContain(c.rating);
  }
  const endings = step.commands.filter((c) => c.type === 'queue' || c.type === 'transfer' || c.type === 'hangup');
  expect(endings.length).toBeLessThanOrEqual(1);
}

const flows = buildDefaultFlows();
const KEYS = '0123456789*#ABCD';

function randomInput(rand: () => number, sim: IvrSim): IvrInput {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const r = rand();
  if (r < 0.45) return { type: 'dtmf', digit: pick([...KEYS, 'x', '', '12']) };
  if (r < 0.6) return { type: 'playback-done', token: rand() < 0.8 ? (sim.activePlay?.token ?? 'p0') : `p${Math.floor(rand() * 50)}`, failed: rand() < 0.2 };
  if (r < 0.72) return { type: 'timeout', token: rand() < 0.8 ? (sim.timers.at(-1) ?? 't0') : `t${Math.floor(rand() * 50)}` };
  if (r < 0.82) {
    const result = pick([
      { found: false as const },
      { found: true as const, status: pick(['dispatched', 'closed', 'weird']), unitName: '市医保局', dueDate: pick(['2026-11-22', 'bad', '']) },
    ]);
    return { type: 'ticket-status', token: sim.lookup?.token ?? 'l0', result };
  }
  if (r < 0.88) return { type: 'agent-hung-up' };
  if (r < 0.92) return { type: 'start' };
  // Garbage a buggy session might send.
  return pick([{ type: 'nonsense' }, { type: 'dtmf' }, { type: 'ticket-status', token: sim.lookup?.token ?? 'l0' }, { type: 'playback-done' }]) as unknown as IvrInput;
}

describe('engine property: never throws, never traps, never hangs up on menu errors', () => {
  it('GIVEN 400 random event sequences WHEN fed to the engine THEN every step is valid and a silent caller always ends in queue/transfer/hangup within bounded steps', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const rand = mulberry32(seed);
      const ctx = defaultStartContext(flows, {
        now: Date.UTC(2026, 0, 1) + Math.floor(rand() * 365 * 86_400_000),
        ...(rand() < 0.3 ? { announce: ['transition-generic'] } : {}),
        ...(rand() < 0.2 ? { skill: '12333' } : {}),
        ...(rand() < 0.2 ? { lang: 'en' as const } : {}),
      });
      const sim = new IvrSim(flows[ZH_FLOW_ID] as Flow, ctx);
      const randomSteps = Math.floor(rand() * 80);
      for (let i = 0; i < randomSteps; i++) {
        const input = randomInput(rand, sim);
        const before = sim.state;
        let step: Step | undefined;
        expect(() => (step = next(before, input, sim.now)), `seed ${seed} step ${i}`).not.toThrow();
        assertValidStep(step as Step);
        sim.send(input); // keep the simulator's bookkeeping in line
      }
      // Drain: the caller says nothing; playbacks finish, timers fire, lookups miss.
      let n = 0;
      for (; n < 300 && !isDone(sim.state); n++) {
        if (sim.activePlay) sim.finishPlayback();
        else if (sim.timers.length > 0) sim.fireTimer();
        else if (sim.lookup) sim.answerLookup({ found: false });
        else break;
      }
      expect(isDone(sim.state), `seed ${seed}: stuck in ${sim.state.flowId}.${sim.state.nodeId} (${sim.state.phase.kind})`).toBe(true);
      // Only the survey (after an agent) may hang up on the caller.
      if (sim.of('hangup').length > 0) expect(sim.state.flowId, `seed ${seed}`).toBe(SURVEY_FLOW_ID);
      expect(sim.of('survey-rating').length).toBeLessThanOrEqual(1);

      // After a queue, an agent hang-up runs the survey, which also ends by itself.
      if (sim.outcome?.type === 'queue' && !sim.state.surveyed) {
        sim.send({ type: 'agent-hung-up' });
        for (let m = 0; m < 50 && !isDone(sim.state); m++) {
          if (sim.activePlay) sim.finishPlayback();
          else if (sim.timers.length > 0) sim.fireTimer();
          else break;
        }
        expect(sim.outcome?.type, `seed ${seed}`).toBe('hangup');
      }
    }
  });
});
