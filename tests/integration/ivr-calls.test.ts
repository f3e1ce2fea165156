/**
 * The 12345 IVR over a real call path (issue 5), in both PBX modes: digits
 * pressed on the caller's leg, prompts asserted in order, where the call ends
 * and what the record says. Menu choices, the English flow and hanging up in
 * the menu; errors and self-service are in ivr-menu-errors.test.ts (two files
 * so that their real-length prompts play in parallel).
 */
import { describe, expect, it } from 'vitest';
import { useHarness } from '../support/harness.js';
import { atMenu, nodes, prompts, useIvrApp } from '../support/ivr-app.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const ivr = useIvrApp(h, '1360000');

describe('default 12345 menu over a call', () => {
  it.each([
    ['1', 'general'],
    ['2', 'enterprise'],
    ['4', 'medical-insurance'],
    ['0', 'general'],
  ])('GIVEN the main menu WHEN the caller presses %s THEN they queue for skill %s after the transfer prompt', async (digit, skill) => {
    const { call, s } = await ivr.dial();
    await atMenu(s);
    await call.press(digit);
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith(`skill ${skill} `))).toBe(true));
    const ps = prompts(s);
    expect(ps[0]).toBe('welcome recording-notice');
    expect(ps[1]).toMatch(/^menu-intro menu-consult/);
    expect(ps.at(-1)).toBe('transferring-to-agent');
    await call.hangup();
    expect((await ivr.jobRecord(s.callId)).outcome).toBe('abandoned-queue');
  });

  it('GIVEN the main menu WHEN the caller presses 9 THEN the English flow speaks English and its menu works', async () => {
    const { call, s } = await ivr.dial();
    await atMenu(s);
    await call.press('9');
    await eventually(() => expect(nodes(s).some((n) => n.startsWith('hotline-en.main: menu'))).toBe(true));
    expect(s.record.language).toBe('en');
    await call.press('1');
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('skill general'))).toBe(true));
    await call.hangup();
  });

  it('GIVEN a caller in the menu WHEN they hang up THEN nothing is left behind: no channel, bridge or playback of the call', async () => {
    const { call, s } = await ivr.dial();
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
    // Playbacks: the sim can list them; ARI has no list of playbacks, and on a real Asterisk a
    // channel's playbacks end with it, which the channel check above covers.
    if (h.pbx.sim) expect(h.pbx.sim.playbacks()).toEqual([]);
    expect((await ivr.jobRecord(s.callId)).outcome).toBe('abandoned-ivr');
  });
});
