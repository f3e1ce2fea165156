/**
 * The call step's copy of the state (src/util/plain-clone.ts): equal to the original, sharing nothing
 * with it, and no less faithful than structuredClone for what is not plain data.
 */
import { describe, expect, it } from 'vitest';
import { clonePlain } from '../../src/util/plain-clone.js';
import { createStep } from '../../src/calls/step.js';
import { routedCall, testConfig } from '../support/call-state.js';

describe('clonePlain', () => {
  it('GIVEN a call state in the IVR WHEN copied THEN the copy is equal and changing it leaves the original as it was', () => {
    const state = routedCall(createStep(testConfig('default'))).state;
    const before = JSON.stringify(state);
    const copy = clonePlain(state);
    expect(copy).toStrictEqual(state);
    copy.record.path.push({ at: 1, kind: 'note', detail: 'x' });
    copy.record.caller.number = '0';
    copy.timers.extra = 1;
    (copy.ivr as { slots: Record<string, string> }).slots.k = 'v';
    expect(JSON.stringify(state)).toBe(before);
  });

  it('GIVEN values that are not plain data WHEN copied THEN they are copied as structuredClone copies them, never shared', () => {
    const when = new Date(0);
    const v = { when, ids: new Set(['a']), n: null, u: undefined, list: [1, 'x', { y: true }] };
    const copy = clonePlain(v);
    expect(copy).toStrictEqual(v);
    expect(copy.when).not.toBe(when);
    expect(copy.ids).not.toBe(v.ids);
    expect(copy.list[2]).not.toBe(v.list[2]);
    expect('u' in copy).toBe(true);
  });
});
