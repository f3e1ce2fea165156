/**
 * The dialplan gate (src/admission/gate.ts), in both PBX modes: once admission control sheds callers
 * for an instance-wide limit, the server closes the gate in Asterisk's globals and the dialplan itself
 * refuses new citizens' calls before answering them (cause 17, busy) — they never reach Stasis — while
 * each refused call still gets its `busy` record and ticket job from the AMI UserEvent. When the load
 * is gone the gate opens by itself and the next caller is served.
 */
import { describe, expect, it } from 'vitest';
import { sessionByCaller, ticketJobRecord, useHarness } from '../support/harness.js';
import type { TestCall } from '../support/test-side.js';
import { eventually } from '../support/wait.js';

const h = useHarness();

async function globalVar(name: string): Promise<string> {
  const r = await h.side.request('GET', '/asterisk/variable', { variable: name });
  return String(r.body?.value ?? '');
}

/** The hotline's half (;2) of a call the test side placed, found from the events of its ;1 half. */
async function hotlineHalf(call: TestCall): Promise<string> {
  return eventually(() => {
    const one = h.side.events.find((e) => e.channel?.id === call.id)?.channel?.name;
    const two = one && h.side.events.find((e) => e.channel?.name === String(one).replace(/;1$/, ';2'));
    if (!two) throw new Error('no ;2 half yet');
    return String(two.channel.id);
  });
}

describe('admission gate in the dialplan', () => {
  it('GIVEN an instance limited to 1 call that just shed a caller WHEN the next citizen calls THEN the dialplan refuses them busy before answer, outside Stasis, and their call is recorded and ticketed; the gate then opens and the next caller is served', async () => {
    const app = await h.startApp({ ADMIT_MAX_CALLS: '1', ADMIT_GATE_MAX_PERCENT: '100' });
    const gate = app.admission.dialplanGate;
    expect(gate).toBeDefined();
    const c1 = await h.side.call('12345', '13900004001');
    await sessionByCaller(app, '13900004001');
    // The admitted call's decision in an earlier tick (500 ms) than the shed one: the shed is 100 % of its tick.
    await new Promise((r) => setTimeout(r, 600));

    // Shed by admission control in Stasis (limit: calls): the gate closes at the next tick, to the maximum.
    const c2 = await h.side.call('12345', '13900004002');
    await eventually(() => expect(app.admission.shedCounts).toEqual({ calls: 1 }));
    await c2.hangup();
    await eventually(async () => expect(await globalVar('HOTLINE_GATE_PCT')).toBe('100'), 5000);
    const until = Number(await globalVar('HOTLINE_GATE_UNTIL'));
    expect(until * 1000).toBeGreaterThan(Date.now());
    expect(until * 1000).toBeLessThan(Date.now() + 5000);
    expect(await app.metrics.render()).toMatch(/hotline_admission_gate_percent 100/);

    // Refused in the dialplan: never answered, never in our app, cause 17 (user busy).
    const c3 = await h.side.call('12345', '13900004003');
    const ended = await c3.ended();
    expect(ended.cause).toBe(17);
    const gatedId = await hotlineHalf(c3);
    expect(h.side.events.some((e) => e.channel?.id === gatedId && e.type === 'ChannelStateChange' && e.channel.state === 'Up')).toBe(false);
    expect(app.calls.session(gatedId)).toBeUndefined();
    const record = await ticketJobRecord(app, gatedId);
    expect(record).toMatchObject({ outcome: 'busy', endedBy: 'system', source: 'carrier', dialed: '12345', caller: { number: '13900004003' } });
    expect(record.path[0]!.detail).toMatch(/gated in the dialplan/);
    await eventually(async () => expect(await app.tickets.byCall(gatedId)).toBeTruthy());
    expect(await app.metrics.render()).toMatch(/hotline_calls_shed_total\{reason="gate"\} 1/);
    expect(gate!.gated).toBe(1);

    // The load goes: 3 s after the last shed the share decays (5 points per 500 ms: 10 s from 100) and the gate opens.
    await c1.hangup();
    await c1.ended();
    await eventually(async () => expect(await globalVar('HOTLINE_GATE_PCT')).toBe('0'), 20_000);
    const c4 = await h.side.call('12345', '13900004004');
    const s4 = await sessionByCaller(app, '13900004004');
    await eventually(() => expect(s4.record.path.some((p) => /welcome/.test(p.detail))).toBe(true));
    await c4.hangup();
    await c4.ended();
  });

  it('GIVEN the gate is off (ADMIT_GATE_MAX_PERCENT=0) WHEN callers are shed THEN nothing is written to the dialplan and shed callers are told busy in Stasis as before', async () => {
    // A mark in the global the gate would write: still there at the end = nothing written.
    await h.side.request('POST', '/asterisk/variable', { variable: 'HOTLINE_GATE_PCT', value: 'untouched' });
    const app = await h.startApp({ ADMIT_MAX_CALLS: '1', ADMIT_GATE_MAX_PERCENT: '0' });
    expect(app.admission.dialplanGate).toBeUndefined();
    const c1 = await h.side.call('12345', '13900004011');
    await sessionByCaller(app, '13900004011');
    const c2 = await h.side.call('12345', '13900004012');
    await eventually(() => expect(app.admission.shedCounts).toEqual({ calls: 1 }));
    await c2.hangup();
    await new Promise((r) => setTimeout(r, 1200));
    expect(await globalVar('HOTLINE_GATE_PCT')).toBe('untouched');
    for (const c of [c1]) await c.hangup();
    await c1.ended();
  });
});
