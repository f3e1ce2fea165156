import { describe, expect, it } from 'vitest';
import { failureOf } from '../../src/calls/session.js';

/**
 * How a leg that never answered failed, from what a real Asterisk 22 reports
 * (tests/fixtures/traces): a Local leg whose ;2 runs Busy() ends with cause 0 and says BUSY only
 * in its Dial status (o01); a leg that rings out ends with cause 19 after Dial RINGING (o02); a
 * Local leg to a context that does not exist ends with cause 0 and no Dial status at all (o08).
 */
describe('failureOf', () => {
  it.each([
    ['BUSY', 0, 'busy'],
    ['RINGING', 19, 'no-answer'],
    [undefined, 0, 'unreachable'],
    ['CONGESTION', 0, 'unreachable'],
    ['CHANUNAVAIL', 20, 'unreachable'],
    ['NOANSWER', 19, 'no-answer'],
    [undefined, 17, 'busy'],
    [undefined, 21, 'rejected'],
    ['', 16, 'no-answer'],
  ] as const)('GIVEN Dial status %s and cause %s THEN the failure is %s', (status, cause, expected) => {
    expect(failureOf(status, cause)).toBe(expected);
  });
});
