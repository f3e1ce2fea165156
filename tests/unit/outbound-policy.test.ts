/**
 * The pure part of click-to-call (src/outbound/policy.ts) and its configuration:
 * which phone rings, which refusals come first, limits counted per city day,
 * outcomes from the legs' fates.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { decideClickToCall, limitDay, limitRefusal, outcomeOf } from '../../src/outbound/policy.js';

const base = { username: 'u', roles: ['unit'], ticketHasNumber: true, ticketReady: true, userBusy: false };

describe('click-to-call decision', () => {
  it('GIVEN an agent WHEN deciding THEN the ACD extension rings, before a configured one; a user with neither is refused', () => {
    expect(decideClickToCall({ ...base, agentExtension: '9001', configuredExtension: '8801' })).toEqual({ ok: true, extension: '9001' });
    expect(decideClickToCall({ ...base, configuredExtension: '8801' })).toEqual({ ok: true, extension: '8801' });
    expect(decideClickToCall(base)).toMatchObject({ ok: false, refusal: { code: 'no-phone', status: 409 } });
  });

  it('GIVEN a ticket not built, without a number, or a user already calling WHEN deciding THEN each is refused by its own code', () => {
    expect(decideClickToCall({ ...base, configuredExtension: '1', ticketReady: false })).toMatchObject({ refusal: { code: 'ticket-not-ready' } });
    expect(decideClickToCall({ ...base, configuredExtension: '1', ticketHasNumber: false })).toMatchObject({ refusal: { code: 'no-number' } });
    expect(decideClickToCall({ ...base, configuredExtension: '1', userBusy: true })).toMatchObject({ refusal: { code: 'call-in-progress' } });
    expect(decideClickToCall({ ...base, agentExtension: '9001', agentState: 'on-call' })).toMatchObject({ refusal: { code: 'call-in-progress' } });
    expect(decideClickToCall({ ...base, agentExtension: '9001', agentState: 'paused' })).toEqual({ ok: true, extension: '9001' });
  });

  it('GIVEN counts including the asked call WHEN over a limit THEN the user limit is named first, then the ticket limit', () => {
    const limits = { maxPerUserDay: 2, maxPerTicketDay: 1 };
    expect(limitRefusal({ user: 2, ticket: 1 }, limits)).toBeUndefined();
    expect(limitRefusal({ user: 3, ticket: 2 }, limits)?.code).toBe('outbound-limit-user');
    expect(limitRefusal({ user: 1, ticket: 2 }, limits)?.code).toBe('outbound-limit-ticket');
  });

  it('GIVEN two instants around Shanghai midnight WHEN counting THEN they fall on different city days (not UTC days)', () => {
    expect(limitDay(Date.parse('2026-12-06T23:59:00+08:00'))).toBe(limitDay(Date.parse('2026-12-06T00:00:00+08:00')));
    expect(limitDay(Date.parse('2026-12-07T00:00:00+08:00'))).toBe(limitDay(Date.parse('2026-12-06T12:00:00+08:00')) + 1);
  });

  it('GIVEN the legs’ fates WHEN classifying THEN answered, user no-answer, citizen busy / no-answer and failures are told apart', () => {
    expect(outcomeOf({ userAnswered: true, citizenAnswered: true })).toBe('answered');
    expect(outcomeOf({ userAnswered: false, citizenAnswered: false })).toBe('user-no-answer');
    expect(outcomeOf({ userAnswered: true, citizenAnswered: false, citizenCause: 17 })).toBe('citizen-busy');
    // A real Asterisk: our Local half ends with cause 0, the Dial status says BUSY.
    expect(outcomeOf({ userAnswered: true, citizenAnswered: false, citizenDialStatus: 'BUSY', citizenCause: 0 })).toBe('citizen-busy');
    expect(outcomeOf({ userAnswered: true, citizenAnswered: false, citizenDialStatus: 'NOANSWER' })).toBe('citizen-no-answer');
    expect(outcomeOf({ userAnswered: true, citizenAnswered: false, citizenDialStatus: 'CHANUNAVAIL' })).toBe('failed');
    expect(outcomeOf({ userAnswered: true, citizenAnswered: false, citizenCause: 19 })).toBe('citizen-no-answer');
    expect(outcomeOf({ userAnswered: true, citizenAnswered: false, citizenCause: 34 })).toBe('failed');
    expect(outcomeOf({ userAnswered: true, citizenAnswered: false, error: true })).toBe('failed');
  });
});

describe('outbound configuration', () => {
  const env = { ARI_URL: 'http://127.0.0.1:8088', ARI_PASSWORD: 'ari-secret-value', AMI_SECRET: 'ami-secret-value', REDIS_URL: 'redis://127.0.0.1:6379', JWT_SECRET: 'jwt-secret-value-jwt-secret-value-0123' };
  it('GIVEN username:extension pairs WHEN loaded THEN they map users to extensions; a malformed pair names the variable', () => {
    expect(loadConfig({ ...env, OUTBOUND_USER_EXTENSIONS: 'unit-zj:8801, wang:8802' }).outbound.userExtensions).toEqual({ 'unit-zj': '8801', wang: '8802' });
    expect(() => loadConfig({ ...env, OUTBOUND_USER_EXTENSIONS: 'unit-zj=8801' })).toThrow(/OUTBOUND_USER_EXTENSIONS/);
    expect(() => loadConfig({ ...env, OUTBOUND_CALLER_ID: '12345; evil' })).toThrow(/OUTBOUND_CALLER_ID/);
    expect(loadConfig(env).outbound).toMatchObject({ callerId: '12345', maxPerTicketDay: 3 });
  });
});
