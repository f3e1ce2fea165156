/**
 * The 12345 IVR over a real call path, in both PBX modes: what happens on
 * menu errors (invalid digit, the out-of-scope notice; silence: ivr-menu-timeout.test.ts) and in the
 * ticket self-service (known and unknown numbers). Menu timeouts are shortened
 * through the flow options; every prompt plays for its real length.
 */
import { describe, expect, it } from 'vitest';
import { useHarness } from '../support/harness.js';
import { atMenu, nodes, prompts, useIvrApp } from '../support/ivr-app.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const ivr = useIvrApp(h, '1361000');

describe('menu errors and ticket self-service over a call', () => {
  it('GIVEN the main menu WHEN the caller presses 8 THEN the out-of-scope notice plays and the menu comes back, taking a choice made during the notice', async () => {
    const { call, s } = await ivr.dial();
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

  it('GIVEN the main menu WHEN an invalid digit is pressed THEN the invalid prompt and the menu play again', async () => {
    const { call, s } = await ivr.dial();
    await atMenu(s);
    await call.press('7');
    await eventually(() => expect(prompts(s).filter((p) => p.includes('menu-intro')).length).toBe(2));
    const ps = prompts(s);
    const invalidAt = ps.findIndex((p) => p.startsWith('invalid'));
    expect(invalidAt).toBeGreaterThan(0);
    expect(ps.slice(invalidAt).join(' ')).toContain('menu-intro');
    await call.hangup();
  });

  it('GIVEN a known ticket WHEN the caller checks progress (3, number, #) THEN its status is read back', async () => {
    const seeded = await ivr.app.tickets.createFromCall({
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
    const { call, s } = await ivr.dial();
    await atMenu(s);
    await call.press('3');
    await eventually(() => expect(prompts(s).some((p) => p.startsWith('ticket-enter-number'))).toBe(true));
    await call.press(`${seeded.ticketNo}#`);
    await eventually(() => expect(prompts(s).some((p) => p.startsWith('ticket-intro'))).toBe(true));
    const readout = prompts(s).find((p) => p.startsWith('ticket-intro'))!;
    expect(readout).toContain(`digits:${seeded.ticketNo}`);
    expect(readout).toMatch(/ticket-status-is ticket-status-processing/);
    await call.hangup();
    expect((await ivr.jobRecord(s.callId)).outcome).toBe('self-service');
  });

  it('GIVEN an unknown ticket number WHEN entered THEN the caller is told and asked again', async () => {
    const { call, s } = await ivr.dial();
    await atMenu(s);
    await call.press('3');
    await eventually(() => expect(prompts(s).some((p) => p.startsWith('ticket-enter-number'))).toBe(true));
    await call.press('99990000#');
    await eventually(() => expect(prompts(s).filter((p) => p.includes('ticket-enter-number')).length).toBe(2));
    expect(prompts(s).some((p) => p.includes('ticket-not-found'))).toBe(true);
    await call.hangup();
  });
});
