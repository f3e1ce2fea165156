/**
 * The 12345 IVR over a real call path, in both PBX modes: a caller who says nothing. The main menu
 * re-prompts twice, then the caller goes to an agent - about 120 s of real media (three full menus),
 * so this test has a file of its own and runs beside the other IVR files.
 */
import { describe, expect, it } from 'vitest';
import { useHarness } from '../support/harness.js';
import { prompts, useIvrApp } from '../support/ivr-app.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const ivr = useIvrApp(h, '1362000');

describe('a silent caller in the menu', () => {
  it('GIVEN silence WHEN the menu times out THEN it re-prompts, and after the retries the caller goes to an agent', async () => {
    const { call, s } = await ivr.dial();
    // Welcome, then three full menus (the first and two re-prompts, about 30 s each with the prompts
    // we ship) and two timeout notices before the agent queue: about 120 s of real media.
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue')).toBe(true), 200_000);
    const ps = prompts(s);
    expect(ps.filter((p) => p.startsWith('timeout')).length).toBe(2);
    expect(ps.at(-1)).toBe('transferring-to-agent');
    expect(s.isEnded).toBe(false); // never hung up on for menu errors
    await call.hangup();
  }, 240_000);
});
