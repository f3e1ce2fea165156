/**
 * Asterisk restarted during calls (issue 20): a throwaway Asterisk of this file's
 * own (tests/support/asterisk.ts) takes two calls into the IVR, then is
 * restarted (`core restart now`: every channel is gone). The server sees the
 * link drop, reconnects once Asterisk is fully booted (AMI FullyBooted), settles
 * the calls that ended meanwhile as tickets, and serves the next call.
 *
 * Real half only (vitest.config.ts REAL_ONLY): the simulated PBX has no restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { AsteriskInstance } from '../support/asterisk.js';
import { jobsForCall, sessionByCaller } from '../support/harness.js';
import { logSink } from '../support/log-capture.js';
import { PROMPTS_DIR, realPbx, testConfig } from '../support/pbx.js';
import { TestSide } from '../support/test-side.js';
import { eventually } from '../support/wait.js';

let ast: AsteriskInstance;
let app: App | undefined;
const sides: TestSide[] = [];

beforeAll(async () => {
  ast = await AsteriskInstance.start({ promptsDir: PROMPTS_DIR, label: 'restart-' });
});
afterAll(async () => {
  await app?.stop();
  for (const s of sides) await s.close();
  await ast?.stop();
});

async function connectSide(): Promise<TestSide> {
  const side = await TestSide.connect(realPbx(ast.info));
  sides.push(side);
  return side;
}

describe('Asterisk restarted during calls', () => {
  it('GIVEN two calls in the IVR WHEN Asterisk restarts THEN the server reconnects after FullyBooted, the ended calls have their tickets and a new call is served', async () => {
    const pbx = realPbx(ast.info);
    app = await buildApp(testConfig(pbx), { logDestination: logSink, ariBackoff: { initialMs: 100, maxMs: 1000 }, outboxRetryMs: 200, acdOverrides: { dispatchIntervalMs: 100 } });
    const booted: string[] = [];
    app.ami!.onSystem((e) => booted.push(e));
    await app.start();
    await app.telephony.whenConnected(10_000);
    const side = await connectSide();

    const callers = ['13900004001', '13900004002'];
    const ids: string[] = [];
    for (const c of callers) {
      const call = await side.call('12345', c);
      await call.answered();
      const s = await sessionByCaller(app, c);
      await eventually(() => expect(s.record.path.some((p) => /welcome/.test(p.detail))).toBe(true));
      ids.push(s.callId);
    }

    // WHEN Asterisk restarts
    const linkStates: string[] = [];
    app.telephony.onLinkState((s) => linkStates.push(s));
    expect(ast.cli('core restart now').ok).toBe(true);
    await eventually(() => expect(linkStates).toContain('reconnecting'), 20_000);
    await eventually(() => expect(app!.telephony.linkState).toBe('connected'), 60_000);
    await eventually(() => expect(booted).toContain('FullyBooted'), 30_000);
    expect(await app.metrics.render()).toMatch(/hotline_ari_reconnects_total [1-9]/);

    // THEN the calls that ended with it have exactly one ticket each
    for (const id of ids) {
      await eventually(async () => expect(await app!.tickets.byCall(id)).toBeTruthy(), 30_000);
      expect(await jobsForCall(app, id)).toHaveLength(1);
    }
    expect(app.calls.active).toHaveLength(0);

    // AND a new call is served
    const side2 = await connectSide();
    const call = await side2.call('12345', '13900004003');
    await call.answered();
    const s = await sessionByCaller(app, '13900004003');
    await eventually(() => expect(side2.heard(s.callId)).toContain('sound:hotline/welcome'));
    await call.hangup();
    await call.ended();
    await eventually(async () => expect(await jobsForCall(app!, s.callId)).toHaveLength(1));
    await eventually(async () => expect(await side2.channels()).toEqual([]));
  });
});
