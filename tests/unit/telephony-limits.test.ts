import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/telephony/limits.js';

describe('the ARI in-flight semaphore', () => {
  it('GIVEN a full semaphore WHEN ordinary and urgent requests wait THEN the urgent ones get the slots first (each kind in arrival order), and the count of waiters is right throughout', async () => {
    const gate = new Semaphore(1);
    const holder = await gate.acquire();
    const order: string[] = [];
    const wait = (name: string, urgent: boolean) =>
      gate.acquire(urgent).then((release) => {
        order.push(name);
        release();
      });
    const all = [wait('play-1', false), wait('play-2', false), wait('hangup-1', true), wait('play-3', false), wait('continue-1', true)];
    expect(gate.waiting).toBe(5);
    holder();
    await Promise.all(all);
    expect(order).toEqual(['hangup-1', 'continue-1', 'play-1', 'play-2', 'play-3']);
    expect(gate.waiting).toBe(0);
    expect(gate.inUse).toBe(0);
    // Free again: an urgent request while nobody waits takes the slot at once.
    const r = await gate.acquire(true);
    expect(gate.inUse).toBe(1);
    r();
    expect(gate.inUse).toBe(0);
  });
});
