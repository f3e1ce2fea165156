/**
 * One app per IVR test file on the PBX under test, with the default flows (menu timeouts shortened
 * through the flow options): placing calls, waiting for the menu, reading what was played.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { createCallFlow } from '../../src/calls/flow-binding.js';
import type { CallSession } from '../../src/calls/session.js';
import { buildDefaultFlows } from '../../src/ivr/default-flow.js';
import { sessionByCaller, ticketJobRecord, type Harness } from './harness.js';
import { logSink } from './log-capture.js';
import { testConfig } from './pbx.js';
import type { TestCall } from '../../sim-pbx/test-caller.js';
import { eventually } from './wait.js';

export const prompts = (s: CallSession) => s.record.path.filter((p) => p.kind === 'prompt').map((p) => p.detail);
export const nodes = (s: CallSession) => s.record.path.filter((p) => p.kind === 'ivr').map((p) => p.detail);

/** The caller has reached the main menu `times` times. */
export async function atMenu(s: CallSession, times = 1): Promise<void> {
  await eventually(() => expect(nodes(s).filter((n) => /\.main: menu$/.test(n)).length).toBeGreaterThanOrEqual(times));
}

export interface IvrApp {
  readonly app: App;
  dial(number?: string): Promise<{ call: TestCall; s: CallSession }>;
  jobRecord(callId: string): ReturnType<typeof ticketJobRecord>;
}

/** `callerPrefix` keeps each file's callers apart (7 digits, e.g. '1360000'). */
export function useIvrApp(h: Harness, callerPrefix: string): IvrApp {
  let app: App | undefined;
  let seq = 0;
  beforeAll(async () => {
    app = await buildApp(testConfig(h.pbx), {
      logDestination: logSink,
      ariBackoff: { initialMs: 50, maxMs: 500 },
      flow: createCallFlow({ flows: buildDefaultFlows({ menuTimeoutMs: 400 }) }),
    });
    await app.start();
    await app.telephony.whenConnected(10_000);
  });
  afterEach(async () => {
    for (const s of app!.calls.active) await app!.telephony.hangup(s.callId);
  });
  afterAll(async () => {
    await app?.stop();
  });
  return {
    get app() {
      return app!;
    },
    async dial(number = '12345') {
      const caller = `${callerPrefix}${String(++seq).padStart(4, '0')}`;
      const call = await h.side.call(number, caller);
      await call.answered();
      return { call, s: await sessionByCaller(app!, caller) };
    },
    jobRecord: (callId) => ticketJobRecord(app!, callId),
  };
}
