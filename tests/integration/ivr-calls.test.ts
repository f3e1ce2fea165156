/**
 * The 12345 IVR over a real call path (issue 5), in both PBX modes: digits
 * pressed on the caller's leg, prompts asserted in order, where the call ends
 * and what the record says. Menu timeouts are shortened through the flow
 * options; everything else is the default flow.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { createCallFlow } from '../../src/calls/flow-binding.js';
import type { CallSession } from '../../src/calls/session.js';
import { buildDefaultFlows } from '../../src/ivr/default-flow.js';
import { sessionByCaller, ticketJobRecord, useHarness } from '../support/harness.js';
import { testConfig } from '../support/pbx.js';
import type { TestCall } from '../support/test-side.js';
import { eventually } from '../support/wait.js';
import { logSink } from '../support/log-capture.js';

const h = useHarness();
let app: App;
let seq = 0;

const prompts = (s: CallSession) => s.record.path.filter((p) => p.kind === 'prompt').map((p) => p.detail);
const nodes = (s: CallSession) => s.record.path.filter((p) => p.kind === 'ivr').map((p) => p.detail);

async function dial(number = '12345'): Promise<{ call: TestCall; s: CallSession }> {
  const caller = `1360000${String(++seq).padStart(4, '0')}`;
  const call = await h.side.call(number, caller);
  await call.answered();
  return { call, s: await sessionByCaller(app, caller) };
}

async function atMenu(s: CallSession, times = 1): Promise<void> {
  await eventually(() => expect(nodes(s).filter((n) => /\.main: menu$/.test(n)).length).toBeGreaterThanOrEqual(times));
}

const jobRecord = (callId: string) => ticketJobRecord(app, callId);

beforeAll(async () => {
  app = await buildApp(testConfig(h.pbx), { logDestination: logSink, ariBackoff: { initialMs: 50, maxMs: 500 },
    flow: createCallFlow({ flows: buildDefaultFlows({ menuTimeoutMs: 400 }) }),
  });
  await app.start();
  await app.telephony.whenConnected(10_000);
});

afterEach(async () => {
  for (const s of app.calls.active) await app.telephony.hangup(s.callId);
});

afterAll(async () => {
  await app?.stop();
});

describe('default 12345 menu over a call', () => {
  it.each([
    ['1', 'general'],
    ['2', 'enterprise'],
    ['4', 'medical-insurance'],
    ['0', 'general'],
  ])('GIVEN the main menu WHEN the caller presses %s THEN they queue for skill %s after the transfer prompt', async (digit, skill) => {
    const { call, s } = await dial();
    await atMenu(s);
    await call.press(digit);
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith(`skill ${skill} `))).toBe(true));
    const ps = prompts(s);
    expect(ps[0]).toBe('welcome recording-notice');
    expect(ps[1]).toMatch(/^menu-intro menu-consult/);
    expect(ps.at(-1)).toBe('transferring-to-agent');
    await call.hangup();
    expect((await jobRecord(s.callId)).outcome).toBe('abandoned-queue');
  });

  it('GIVEN the main menu WHEN the caller presses 8 THEN the out-of-scope notice plays and the menu comes back, taking a choice made during the notice', async () => {
    const { call, s } = await dial();
    await atMenu(s);
    await call.press('8');
    // The notice lasts a minute (it lists what 12345 does not handle); callers may cut it short.
    await eventually(() => expect(prompts(s)).toContain('out-of-scope'));
    await call.press('1');
    await atMenu(s, 2);
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('skill general'))).toBe(true));
    const ns = nodes(s);
    const notice = ns.findIndex((n) => /\.out-of-scope: play out-of-scope$/.test(n));
    expect(notice).toBeGreaterThan(ns.findIndex((n) => /\.main: menu$/.test(n)));
    expect(notice).toBeLessThan(ns.map((n) => /\.main: menu$/.test(n)).lastIndexOf(true));
    await call.hangup();
  });

  it('GIVEN silence WHEN the menu times out THEN it re-prompts, and after the retries the caller goes to an agent', async () => {
    const { call, s } = await dial();
    // Three full menus (the first and two re-prompts) of real prompts before the agent queue.
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue')).toBe(true), 100_000);
    const ps = prompts(s);
    expect(ps.filter((p) => p.startsWith('timeout')).length).toBe(2);
    expect(ps.at(-1)).toBe('transferring-to-agent');
    expect(s.isEnded).toBe(false); // never hung up on for menu errors
    await call.hangup();
  });

  it('GIVEN the main menu WHEN an invalid digit is pressed THEN the invalid prompt and the menu play again', async () => {
    const { call, s } = await dial();
    await atMenu(s);
    await call.press('7');
    await eventually(() => expect(prompts(s).filter((p) => p.includes('menu-intro')).length).toBe(2));
    const ps = prompts(s);
    const invalidAt = ps.findIndex((p) => p.startsWith('invalid'));
    expect(invalidAt).toBeGreaterThan(0);
    expect(ps.slice(invalidAt).join(' ')).toContain('menu-intro');
    await call.hangup();
  });

  it('GIVEN the main menu WHEN the caller presses 9 THEN the English flow speaks English and its menu works', async () => {
    const { call, s } = await dial();
    await atMenu(s);
    await call.press('9');
    await eventually(() => expect(nodes(s).some((n) => n.startsWith('hotline-en.main: menu'))).toBe(true));
    expect(s.record.language).toBe('en');
    await call.press('1');
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('skill general'))).toBe(true));
    await call.hangup();
  });

  it('GIVEN a known ticket WHEN the caller checks progress (3, number, #) THEN its status is read back', async () => {
    const seeded = await app.tickets.createFromCall({
      callId: `seed-${Date.now()}`,
      channelName: 'seed',
      caller: { number: '13500000000', name: '' },
      dialed: '12345',
      source: 'carrier',
      language: 'zh',
      startedAt: Date.now(),
      path: [],
      agents: [],
      handoffs: [],
      recovered: false,
      instance: 'seed',
    });
    const { call, s } = await dial();
    await atMenu(s);
    await call.press('3');
    await eventually(() => expect(prompts(s).some((p) => p.startsWith('ticket-enter-number'))).toBe(true));
    await call.press(`${seeded.ticketNo}#`);
    await eventually(() => expect(prompts(s).some((p) => p.startsWith('ticket-intro'))).toBe(true));
    const readout = prompts(s).find((p) => p.startsWith('ticket-intro'))!;
    expect(readout).toContain(`digits:${seeded.ticketNo}`);
    expect(readout).toMatch(/ticket-status-is ticket-status-processing/);
    await call.hangup();
    expect((await jobRecord(s.callId)).outcome).toBe('self-service');
  });

  it('GIVEN an unknown ticket number WHEN entered THEN the caller is told and asked again', async () => {
    const { call, s } = await dial();
    await atMenu(s);
    await call.press('3');
    await eventually(() => expect(prompts(s).some((p) => p.startsWith('ticket-enter-number'))).toBe(true));
    await call.press('99990000#');
    await eventually(() => expect(prompts(s).filter((p) => p.includes('ticket-enter-number')).length).toBe(2));
    expect(prompts(s).some((p) => p.includes('ticket-not-found'))).toBe(true);
    await call.hangup();
  });

  it('GIVEN a caller in the menu WHEN they hang up THEN nothing is left behind: no channel, bridge or playback of the call', async () => {
    const { call, s } = await dial();
    await atMenu(s);
    await call.hangup();
    await call.ended();
    await eventually(() => expect(s.isEnded).toBe(true));
    await eventually(async () => {
      const channels = (await h.side.request('GET', '/channels')).body as { id: string }[];
      expect(channels.filter((c) => c.id === s.callId || c.id.startsWith(`${s.callId}-`))).toEqual([]);
      const bridges = (await h.side.request('GET', '/bridges')).body as { id: string }[];
      expect(bridges.filter((b) => b.id.includes(s.callId))).toEqual([]);
    });
    if (h.pbx.sim) expect(h.pbx.sim.playbacks()).toEqual([]);
    expect((await jobRecord(s.callId)).outcome).toBe('abandoned-ivr');
  });
});
