/**
 * Admission control at call entry (issue 20, finding 4), in both PBX modes, with
 * small limits: a caller over the instance's call limit, or for a full queue,
 * hears the busy announcement (zh, then en) from the dialplan and is cleared;
 * the call is counted (metric), ends with outcome `busy` and gets its ticket job;
 * the health endpoint answers meanwhile; callers under the limit are served as
 * before, and once the load falls the next caller is admitted.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { addAgent, jobsForCall, pressAtWelcome, sessionByCaller, ticketJobRecord, useHarness } from '../support/harness.js';
import type { TestCall } from '../support/test-side.js';
import { eventually } from '../support/wait.js';

const h = useHarness();

/** The hotline's half (;2) of a call the test side placed. */
async function hotlineHalf(call: TestCall): Promise<string> {
  const up = await call.answered();
  const twoName = String(up.channel.name).replace(/;1$/, ';2');
  return eventually(() => {
    const e = h.side.events.find((x) => x.channel?.name === twoName);
    if (!e) throw new Error('no ;2 half yet');
    return String(e.channel.id);
  });
}

async function expectShed(app: App, call: TestCall, reason: string) {
  const id = await hotlineHalf(call);
  // The dialplan tells the caller, in Chinese then in English, offers a callback each time (no key
  // pressed here), and clears the call.
  const told = ['sound:hotline/overload-busy', 'sound:hotline/callback-offer'];
  await eventually(() => expect(h.side.heard(id)).toEqual([...told, ...told]), 90_000); // ~48 s of prompts and waits
  await call.ended();
  expect(app.calls.session(id)).toBeUndefined();
  const record = await ticketJobRecord(app, id);
  expect(record).toMatchObject({ outcome: 'busy', endedBy: 'system', source: 'carrier', dialed: '12345' });
  expect(record.path[0]!.detail).toContain(`shed (${reason})`);
  await eventually(async () => expect(await app.tickets.byCall(id)).toBeTruthy());
  return id;
}

describe('admission control', () => {
  it('GIVEN an instance limited to 2 calls WHEN a third citizen calls THEN they are told busy, cleared, counted and ticketed; once a call ends the next is admitted', async () => {
    const app = await h.startApp({ ADMIT_MAX_CALLS: '2' });
    const c1 = await h.side.call('12345', '13900003001');
    const c2 = await h.side.call('12345', '13900003002');
    const s1 = await sessionByCaller(app, '13900003001');
    await sessionByCaller(app, '13900003002');
    expect(app.calls.active).toHaveLength(2);

    const c3 = await h.side.call('12345', '13900003003');
    const shedId = await expectShed(app, c3, 'calls');
    expect((await app.http.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const metrics = await app.metrics.render();
    expect(metrics).toMatch(/hotline_calls_shed_total\{reason="calls"\} 1/);
    expect(metrics).toMatch(/hotline_calls_total\{line="12345",outcome="busy"\} 1/);
    expect(app.admission.shedCounts).toEqual({ calls: 1 });
    // The admitted callers were not disturbed.
    await eventually(() => expect(s1.record.path.some((p) => /welcome/.test(p.detail))).toBe(true));

    // WHEN one admitted call ends THEN the next caller is admitted
    await c1.hangup();
    await c1.ended();
    await eventually(() => expect(app.calls.active).toHaveLength(1));
    const c4 = await h.side.call('12345', '13900003004');
    const s4 = await sessionByCaller(app, '13900003004');
    await eventually(() => expect(s4.record.path.some((p) => /welcome/.test(p.detail))).toBe(true));
    for (const c of [c2, c4]) await c.hangup();
    for (const c of [c2, c4]) await c.ended();
    expect(await jobsForCall(app, shedId)).toHaveLength(1);
  });

  it('GIVEN a queue limited to 1 waiting caller and no agent free WHEN a second caller arrives THEN they are told busy at entry (reason queue)', async () => {
    const app = await h.startApp({ ADMIT_MAX_QUEUE: '1' });
    expect(await app.acd.upsertGroup({ id: 'general', name: '话务受理座席', kind: 'general' })).toEqual({ ok: true });
    const a = await h.side.call('12345', '13900003011');
    await a.answered();
    const sa = await sessionByCaller(app, '13900003011');
    await pressAtWelcome(sa, a, '0');
    await eventually(() => expect(sa.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('position'))).toBe(true));
    // The queue figures are refreshed once a second.
    await eventually(() => expect(app.admission.decide('12345', 'carrier')).toMatchObject({ admit: false, reason: 'queue' }));
    // A partner's hand-in is never shed.
    expect(app.admission.decide('12345', 'linkage')).toEqual({ admit: true });

    const b = await h.side.call('12345', '13900003012');
    await expectShed(app, b, 'queue');
    expect(await app.metrics.render()).toMatch(/hotline_calls_shed_total\{reason="queue"\} 1/);
    await a.hangup();
    await a.ended();
    await ticketJobRecord(app, sa.callId);
  });

  it('GIVEN a shed caller offered a callback WHEN they press 1 THEN it is registered and confirmed, and when an agent frees up they are called back, the conversation landing on the shed call\'s ticket', async () => {
    const app = await h.startApp({ ADMIT_MAX_CALLS: '1' });
    const c1 = await h.side.call('12345', '13900003020');
    await sessionByCaller(app, '13900003020');
    const c2 = await h.side.call('12345', '13900003021');
    const id = await hotlineHalf(c2);
    await eventually(() => expect(h.side.heard(id)).toContain('sound:hotline/callback-offer'));
    await c2.press('1');
    // THEN the callback is confirmed and the caller cleared; the call is ticketed as told busy
    await eventually(() => expect(h.side.heard(id)).toContain('sound:hotline/callback-confirmed'));
    await c2.ended();
    const record = await ticketJobRecord(app, id);
    expect(record).toMatchObject({ outcome: 'busy', endedBy: 'system' });
    expect(record.path.some((p) => p.detail.startsWith('callback-offer'))).toBe(true);
    const ticketNo = await eventually(async () => {
      const no = await app.tickets.byCall(id);
      expect(no).toBeTruthy();
      return no!;
    });
    await c1.hangup();
    await c1.ended();
    // WHEN an agent frees up THEN the agent is rung, then the citizen, who answers
    await addAgent(app, '4003');
    await eventually(() => expect(h.side.agentLegs.has('13900003021')).toBe(true));
    await new Promise((r) => setTimeout(r, 200));
    await h.side.agentHangsUp('13900003021');
    await eventually(async () => {
      const t = await app.tickets.get(ticketNo);
      expect(t?.callbacks).toHaveLength(1);
      expect(t?.callbacks[0]).toMatchObject({ callbackOf: id, agents: ['4003'], outcome: 'answered' });
    }, 15_000);
    await eventually(async () => expect(await h.side.channels()).toHaveLength(0));
  });
});

