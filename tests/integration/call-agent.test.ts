/**
 * A caller reaches an agent and rates the service (issues 2, 5, 6), in both
 * PBX modes: IVR → queue → the longest-idle agent's phone rings (a Local
 * channel into the dialplan's test context, answered by the test side) →
 * bridged → the agent hangs up first → survey → rating on the ticket job.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { addAgent, pressAtWelcome, sessionByCaller, ticketJobRecord as jobRecord, useHarness } from '../support/harness.js';
import type { TestCall } from '../../sim-pbx/test-caller.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const startApp = () => h.startApp();

async function pressWhenMenu(app: App, call: TestCall, caller: string, digit: string) {
  const s = await sessionByCaller(app, caller);
  await pressAtWelcome(s, call, digit);
  return s;
}

describe('caller to agent', () => {
  it('GIVEN an available agent WHEN the caller presses 0 THEN they are bridged; WHEN the agent hangs up first THEN the survey rating lands on the ticket job', async () => {
    const app = await startApp();
    await addAgent(app, '1001');
    const caller = '13900000001';
    const call = await h.side.call('12345', caller);
    await call.answered();
    const s = await pressWhenMenu(app, call, caller, '0');

    await eventually(() => expect(s.record.agents).toEqual(['1001']));
    const bridge = await eventually(async () => {
      const r = await h.side.request('GET', `/bridges/call-${s.callId}`);
      expect(r.status).toBe(200);
      expect(r.body.channels).toHaveLength(2);
      return r.body;
    });
    expect(bridge.channels).toContain(s.callId);
    const agents = await app.acd.agents();
    expect(agents.find((a) => a.id === '1001')?.state).toBe('on-call');

    // WHEN the agent hangs up first
    await h.side.agentHangsUp('1001');
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'prompt' && p.detail.includes('survey'))).toBe(true));
    await call.press('1');
    await call.ended();

    const record = await jobRecord(app, s.callId);
    expect(record.outcome).toBe('answered');
    expect(record.agents).toEqual(['1001']);
    expect(record.survey?.rating).toBe(1);
    expect(record.agentAnsweredAt).toBeGreaterThanOrEqual(record.startedAt);
    // The bridge is gone and the agent is free again (wrap-up 0 s).
    await eventually(async () => expect((await h.side.request('GET', `/bridges/call-${s.callId}`)).status).toBe(404));
    await eventually(async () => expect((await app.acd.agents()).find((a) => a.id === '1001')?.state).toBe('available'));
    // AND the wallboard counts the call under line 12345 and under the seat group it was queued for
    const stats = await app.acd.stats();
    expect(stats.lines['12345']).toMatchObject({ offered: 1, answered: 1, abandoned: 0, answerRate: 1 });
    expect(stats.groups['general']).toMatchObject({ offered: 1, answered: 1, abandoned: 0, handled: 1, answerRate: 1 });
  });

  it('GIVEN the first agent does not answer WHEN the call is offered THEN the next agent gets it', async () => {
    const app = await startApp();
    await addAgent(app, '2001');
    await new Promise((r) => setTimeout(r, 20)); // 2001 is now the longest idle
    await addAgent(app, '2002');
    h.side.agentBehaviour = (ext) => (ext === '2001' ? { action: 'ignore' } : { action: 'answer', delayMs: 20 });
    const caller = '13900000002';
    const call = await h.side.call('12345', caller);
    await call.answered();
    const s = await pressWhenMenu(app, call, caller, '0');

    await eventually(() => expect(s.record.agents).toEqual(['2002']));
    expect(s.record.path.some((p) => p.kind === 'agent' && p.detail.startsWith('offered to 2001'))).toBe(true);
    expect(s.record.path.some((p) => p.kind === 'agent' && p.detail.includes('2001 did not answer'))).toBe(true);
    await call.hangup();
    const record = await jobRecord(app, s.callId);
    expect(record.outcome).toBe('answered');
    expect(record.endedBy).toBe('caller');
  });

  it('GIVEN no agent is free WHEN the caller of 12345 hangs up while waiting THEN the abandon is on the record and in the statistics, under line 12345 and seat group general', async () => {
    const app = await startApp();
    expect(await app.acd.upsertGroup({ id: 'general', name: '话务受理座席', kind: 'general' })).toEqual({ ok: true });
    const caller = '13900000003';
    const call = await h.side.call('12345', caller);
    await call.answered();
    const s = await pressWhenMenu(app, call, caller, '0');
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('position'))).toBe(true));
    await call.hangup();
    const record = await jobRecord(app, s.callId);
    expect(record.outcome).toBe('abandoned-queue');
    const stats = await eventually(async () => {
      const st = await app.acd.stats();
      expect(st.all.abandoned).toBe(1);
      return st;
    });
    expect(stats.all.answered).toBe(0);
    expect(stats.all.offered).toBe(1);
    // A plain 12345 call has no legacy line: counted under 12345 all the same.
    expect(stats.lines['12345']).toMatchObject({ offered: 1, answered: 0, abandoned: 1 });
    expect(stats.groups['general']).toMatchObject({ offered: 1, answered: 0, abandoned: 1, answerRate: 0 });
    await eventually(async () => expect(await h.side.channels()).toHaveLength(0));
  });

  it('GIVEN a caller who chose a callback and a later caller WHEN an agent becomes free THEN the callback is served first, agent rung before the citizen, and it lands on the original ticket', async () => {
    const app = await startApp();
    const first = '13900000004';
    const later = '13900000005';
    const call1 = await h.side.call('12345', first);
    await call1.answered();
    const s1 = await pressWhenMenu(app, call1, first, '0');
    await eventually(() => expect(s1.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('position'))).toBe(true));
    await new Promise((r) => setTimeout(r, 1100)); // CALLBACK_OFFER_AFTER_SEC=1 in tests
    await call1.press('1');
    await call1.ended();
    const rec1 = await jobRecord(app, s1.callId);
    expect(rec1.outcome).toBe('callback-requested');
    expect(rec1.path.some((p) => p.detail === 'callback requested')).toBe(true);
    const ticket1 = await eventually(async () => {
      const no = await app.tickets.byCall(s1.callId);
      expect(no).toBeTruthy();
      return no!;
    });

    // A later caller queues behind the callback.
    const call2 = await h.side.call('12345', later);
    await call2.answered();
    const s2 = await pressWhenMenu(app, call2, later, '0');
    await eventually(() => expect(s2.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('position'))).toBe(true));

    // WHEN an agent becomes free
    await addAgent(app, '4001');
    // THEN the agent is rung first, then the citizen's number is dialed through the platform.
    await eventually(() => expect(h.side.agentLegs.has(first)).toBe(true));
    expect(h.side.agentLegs.has('4001')).toBe(true);
    const agentLegEvent = h.side.events.findIndex((e) => e.type === 'StasisStart' && e.args?.[0] === 'agent' && e.args?.[1] === '4001');
    const citizenLegEvent = h.side.events.findIndex((e) => e.type === 'StasisStart' && e.args?.[0] === 'agent' && e.args?.[1] === first);
    expect(agentLegEvent).toBeGreaterThanOrEqual(0);
    expect(citizenLegEvent).toBeGreaterThan(agentLegEvent);
    // The later caller is still waiting: the callback kept its place.
    expect(s2.record.agents).toEqual([]);

    // The callback conversation ends (the citizen hangs up): it is attached to the original ticket.
    await new Promise((r) => setTimeout(r, 200));
    await h.side.agentHangsUp(first);
    await eventually(async () => {
      const t = await app.tickets.get(ticket1);
      expect(t?.callbacks).toHaveLength(1);
      expect(t?.callbacks[0]?.callbackOf).toBe(s1.callId);
      expect(t?.callbacks[0]?.agents).toEqual(['4001']);
    }, 15_000);

    // Then the later caller reaches the agent.
    await eventually(() => expect(s2.record.agents).toEqual(['4001']));
    await call2.hangup();
    await jobRecord(app, s2.callId);
  });
});
