/**
 * The features' lifecycle (src/features.ts): start in list order, then open; close in reverse, then
 * stop in reverse, each stop step bounded so that one hanging part cannot keep the process alive.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lifecycle, registerRoutes, type Feature } from '../../src/features.js';

const log = pino({ level: 'silent' });

function recorder(names: string[], calls: string[], hang?: string): Feature[] {
  return names.map((name) => ({
    name,
    async routes() {
      calls.push(`routes ${name}`);
    },
    async start() {
      calls.push(`start ${name}`);
    },
    open() {
      calls.push(`open ${name}`);
    },
    async close() {
      calls.push(`close ${name}`);
    },
    async stop(step) {
      await step(`${name} a`, name === hang ? new Promise(() => undefined) : Promise.resolve(calls.push(`stop ${name} a`)));
      await step(`${name} b`, calls.push(`stop ${name} b`));
    },
  }));
}

describe('features', () => {
  it('GIVEN features in a list WHEN built, started and stopped THEN routes and start run in order, open after every start, close then stop in reverse', async () => {
    const calls: string[] = [];
    const features = recorder(['core', 'tickets', 'calls'], calls);
    await registerRoutes({} as never, features);
    const app = lifecycle(features, log);
    await app.start();
    await app.start(); // once only
    await app.stop();
    expect(calls).toEqual([
      'routes core', 'routes tickets', 'routes calls',
      'start core', 'start tickets', 'start calls',
      'open core', 'open tickets', 'open calls',
      'close calls', 'close tickets', 'close core',
      'stop calls a', 'stop calls b', 'stop tickets a', 'stop tickets b', 'stop core a', 'stop core b',
    ]);
  });

  it('GIVEN a stop step that never ends WHEN stopping THEN it is given up after the bound and the other steps still run', async () => {
    const calls: string[] = [];
    const app = lifecycle(recorder(['core', 'stuck', 'calls'], calls, 'stuck'), log, 50);
    await app.start();
    await app.stop();
    expect(calls.filter((c) => c.startsWith('stop'))).toEqual(['stop calls a', 'stop calls b', 'stop stuck b', 'stop core a', 'stop core b']);
  });
});
