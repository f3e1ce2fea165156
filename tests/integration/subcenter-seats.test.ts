/**
 * A sub-center whose seats sit inside 12345 (Zaozhuang's 12366 tax line, "话务座席并入12345统一管理，
 * 设专门座席"): the caller is greeted and told the call is recorded before waiting for the line's
 * seats, and the recording says so. Both PBX modes.
 */
import { describe, expect, it } from 'vitest';
import { addAgent, expectNoOrphans, sessionByCaller, useHarness } from '../support/harness.js';
import { eventually } from '../support/wait.js';

const h = useHarness();

describe('Zaozhuang 12366 (dedicated seats inside 12345)', () => {
  it('GIVEN no seat of the line is free WHEN a citizen dials 12366 THEN they hear the welcome and the recording notice at once, then wait in the line’s queue', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    const caller = '13700001366';
    const call = await h.side.call('12366', caller);
    const s = await sessionByCaller(app, caller);
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('skill subcenter-12366'))).toBe(true));
    const prompts = s.record.path.filter((p) => p.kind === 'prompt');
    expect(prompts[0]?.detail).toBe('welcome recording-notice legacy-transferring');
    // Heard before joining the queue, i.e. within the first seconds, not after the 45 s announcement.
    const queuedAt = s.record.path.find((p) => p.kind === 'queue')!.at;
    expect(prompts[0]!.at).toBeLessThanOrEqual(queuedAt);
    expect(s.record.route).toMatchObject({ id: 'line-12366', mode: 'subcenter', line: '12366' });
    await call.hangup();
  });

  it('GIVEN a seat of the line WHEN a citizen dials 12366 and the agent answers THEN the recording segment is marked announced', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    await addAgent(app, '1001', { 'subcenter-12366': 3 });
    const caller = '13700002366';
    const call = await h.side.call('12366', caller);
    const s = await sessionByCaller(app, caller);
    await eventually(() => expect(s.record.agents).toEqual(['1001']));
    const seg = await eventually(async () => {
      const list = await app.recordings.byCall(s.callId);
      expect(list).toHaveLength(1);
      return list[0]!;
    });
    expect(seg.announced).toBe(true);
    await call.hangup();
    // The agent's leg and the call bridge go with the caller (before the app stops after the test).
    await expectNoOrphans(h, s.callId);
  });
});
