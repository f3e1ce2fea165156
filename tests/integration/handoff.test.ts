/**
 * Hand-offs (issue 7) in both PBX modes: three-way, consult (complete, cancel),
 * blind, and failing targets — the caller is never dropped or left alone.
 * Targets are Local channels into the dialplan's test contexts, so the same
 * test runs against the simulated PBX and a real Asterisk.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { CallSession } from '../../src/calls/session.js';
import type { HandoffTarget } from '../../src/handoff/machine.js';
import { addAgent, expectNoOrphans, pressAtWelcome, sessionByCaller, ticketJobRecord, useHarness } from '../support/harness.js';
import type { TestCall } from '../../sim-pbx/test-caller.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
let callerSeq = 0;

const subcenter = (context: string): HandoffTarget => ({
  label: '12366 税务分中心',
  dial: { kind: 'dial', dialString: `Local/12366@${context}` },
  unit: '国家税务总局枣庄市税务局',
});

async function connectedCall(agentId: string): Promise<{ app: App; call: TestCall; s: CallSession }> {
  const app = await h.startApp();
  await addAgent(app, agentId);
  const caller = `1390000${String(++callerSeq).padStart(4, '0')}`;
  const call = await h.side.call('12345', caller);
  await call.answered();
  const s = await sessionByCaller(app, caller);
  await pressAtWelcome(s, call, '0');
  await eventually(() => expect(s.record.agents).toEqual([agentId]));
  await bridgeHas(s, 2);
  return { app, call, s };
}

async function bridgeHas(s: CallSession, n: number): Promise<string[]> {
  return eventually(async () => {
    const r = await h.side.request('GET', `/bridges/call-${s.callId}`);
    expect(r.status).toBe(200);
    expect(r.body.channels).toHaveLength(n);
    return r.body.channels as string[];
  });
}

async function agentState(app: App, id: string): Promise<string | undefined> {
  return (await app.acd.agents()).find((a) => a.id === id)?.state;
}

describe('hand-offs', () => {
  it('GIVEN caller and agent WHEN the agent adds the sub-center (three-way) and then leaves THEN caller and sub-center stay connected and the agent is free', async () => {
    const { app, call, s } = await connectedCall('3001');
    await s.requestHandoff('three-way', subcenter('hotline-test-agents'));
    const three = await bridgeHas(s, 3);
    expect(three).toContain(s.callId);
    expect(s.handoffPhase).toBe('conference');

    await s.handoffCommand('agent-leave');
    const two = await bridgeHas(s, 2);
    expect(two).toContain(s.callId);
    await eventually(async () => expect(await agentState(app, '3001')).toBe('available'));

    await call.hangup();
    await call.ended();
    await eventually(() => expect(s.isEnded).toBe(true));
    const kinds = s.record.handoffs.map((x) => `${x.kind}:${x.result}`);
    expect(kinds).toEqual(['three-way:answered', 'three-way:agent-left', 'three-way:call-ended']);
    expect(s.record.handoffs[0]!.ringMs).toBeGreaterThanOrEqual(0);
    expect(s.record.handoffs[2]!.talkMs).toBeGreaterThan(0);
    const onTicket = await ticketJobRecord(app, s.callId);
    expect(onTicket.handoffs).toEqual(s.record.handoffs);
    // One recording per bridge segment (agent + caller, then caller + sub-center), both linked to the ticket.
    const ticketNo = await eventually(async () => {
      const no = await app.tickets.byCall(s.callId);
      expect(no).toBeTruthy();
      return no!;
    });
    await eventually(async () => {
      const recs = await app.recordings.byCall(s.callId);
      expect(recs.map((r) => r.segment).sort()).toEqual([1, 2]);
      expect(recs.every((r) => r.ticketNo === ticketNo)).toBe(true);
      expect(recs.find((r) => r.segment === 1)?.agentId).toBe('3001');
    });
    expect(s.record.outcome).toBe('transferred');
    // The sub-center's leg was hung up with the caller.
    await expectNoOrphans(h, s.callId);
  });

  it('GIVEN a consult WHEN the target answers and the agent completes THEN caller and target are joined; a cancelled consult brings the caller back', async () => {
    const { app, call, s } = await connectedCall('3002');
    await s.requestHandoff('consult', subcenter('hotline-test-agents'));
    // The caller is on hold (out of the bridge), agent and target talk.
    const consulting = await bridgeHas(s, 2);
    expect(consulting).not.toContain(s.callId);
    expect(s.handoffPhase).toBe('consulting');
    await s.handoffCommand('cancel');
    const back = await bridgeHas(s, 2);
    expect(back).toContain(s.callId);
    expect(s.handoffPhase).toBe('idle');

    await s.requestHandoff('consult', subcenter('hotline-test-agents'));
    await eventually(() => expect(s.handoffPhase).toBe('consulting'));
    await s.handoffCommand('complete');
    const joined = await bridgeHas(s, 2);
    expect(joined).toContain(s.callId);
    expect(joined).toContain(`${s.callId}-h2`);
    await eventually(async () => expect(await agentState(app, '3002')).toBe('available'));
    expect(s.record.handoffs.map((x) => x.result)).toEqual(['answered', 'cancelled', 'answered', 'completed']);
    await call.hangup();
    await expectNoOrphans(h, s.callId);
  });

  it('GIVEN a consult WHEN the target does not answer THEN the caller is back with the agent and the agent is told why', async () => {
    const notices: string[] = [];
    const { app, call, s } = await connectedCall('3003');
    app.events.subscribe((e) => {
      // The notice names the target and its unit, so the console can offer 派单 to it instead.
      if (e.type === 'handoff' && e.agentId === '3003') notices.push(`${e.code} ${e.target} ${e.unit}`);
    });
    await s.requestHandoff('consult', subcenter('hotline-test-noanswer'));
    await eventually(() => expect(s.handoffPhase).toBe('idle'));
    const back = await bridgeHas(s, 2);
    expect(back).toContain(s.callId);
    // The notice follows the caller's return to the bridge (unhold, then notify).
    await eventually(() => expect(notices).toEqual(['handoff-no-answer 12366 税务分中心 国家税务总局枣庄市税务局']));
    expect(s.record.handoffs.at(-1)?.result).toBe('no-answer');
    await call.hangup();
    await expectNoOrphans(h, s.callId);
  });

  it('GIVEN a busy target in a three-way WHEN it fails THEN caller and agent are still talking', async () => {
    const { call, s } = await connectedCall('3004');
    await s.requestHandoff('three-way', subcenter('hotline-test-busy'));
    await eventually(() => expect(s.record.handoffs.at(-1)?.result).toBe('busy'));
    const still = await bridgeHas(s, 2);
    expect(still).toContain(s.callId);
    await call.hangup();
    await expectNoOrphans(h, s.callId);
  });

  it('GIVEN a blind transfer WHEN the target does not answer THEN the caller goes back to the queue and reaches an agent again', async () => {
    const { app, call, s } = await connectedCall('3005');
    await s.requestHandoff('blind', subcenter('hotline-test-noanswer'));
    await eventually(async () => expect(await agentState(app, '3005')).toBe('available'));
    // No answer within HANDOFF_RING_SEC → queued with priority; the freed agent takes the caller again.
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.includes('priority 20'))).toBe(true));
    await eventually(() => expect(s.record.agents).toEqual(['3005', '3005']));
    expect(s.record.handoffs.map((x) => `${x.kind}:${x.result}`)).toEqual(['blind:no-answer']);
    await bridgeHas(s, 2);
    await call.hangup();
    await expectNoOrphans(h, s.callId);
  });

  it('GIVEN a hand-off request WHEN one is already running THEN it is refused and nothing changes', async () => {
    const { call, s } = await connectedCall('3006');
    await s.requestHandoff('three-way', subcenter('hotline-test-noanswer'));
    await expect(s.requestHandoff('consult', subcenter('hotline-test-agents'))).rejects.toMatchObject({ code: 'handoff-busy' });
    await expect(s.handoffCommand('complete')).rejects.toMatchObject({ code: 'handoff-not-active' });
    expect(s.handoffPhase).toBe('dialing');
    await call.hangup();
    await expectNoOrphans(h, s.callId);
  });

  it('GIVEN a consult with the caller on hold WHEN the caller hangs up THEN the agent is freed and the target leg ended', async () => {
    const { app, call, s } = await connectedCall('3007');
    await s.requestHandoff('consult', subcenter('hotline-test-agents'));
    await eventually(() => expect(s.handoffPhase).toBe('consulting'));
    await call.hangup();
    await eventually(() => expect(s.isEnded).toBe(true));
    await eventually(async () => expect(await agentState(app, '3007')).toBe('available'));
    await expectNoOrphans(h, s.callId);
    const record = await ticketJobRecord(app, s.callId);
    expect(record.handoffs.map((x) => `${x.kind}:${x.result}`)).toEqual(['consult:answered', 'consult:call-ended']);
    expect(record.handoffs[0]!.ringMs).toBeGreaterThanOrEqual(0);
  });

  it('GIVEN 110 hands a call in with a reference WHEN it is answered and ends THEN it queued ahead with priority and the reference and source are on the ticket', async () => {
    const app = await h.startApp();
    await addAgent(app, '3008');
    const caller = '13900009999';
    const call = await h.side.call('12345', caller, 'from-linkage', { HOTLINE_REF: 'JJ-110-20261122-0042' });
    await call.answered();
    const s = await sessionByCaller(app, caller);
    expect(s.record.source).toBe('linkage');
    await eventually(() => expect(s.record.linkageRef).toBe('JJ-110-20261122-0042'));
    await pressAtWelcome(s, call, '0');
    await eventually(() => expect(s.record.agents).toEqual(['3008']));
    const queued = s.record.path.find((p) => p.kind === 'queue' && p.detail.startsWith('skill'))!;
    expect(Number(/priority (\d+)/.exec(queued.detail)![1])).toBeGreaterThanOrEqual(10);
    await call.hangup();
    await expectNoOrphans(h, s.callId);
    const record = await ticketJobRecord(app, s.callId);
    expect(record).toMatchObject({ source: 'linkage', linkageRef: 'JJ-110-20261122-0042' });
    const ticketNo = await eventually(async () => {
      const no = await app.tickets.byCall(s.callId);
      expect(no).toBeTruthy();
      return no!;
    });
    expect((await app.tickets.get(ticketNo))?.record.linkageRef).toBe('JJ-110-20261122-0042');
  });

  it('GIVEN the hand-off tests WHEN they are over THEN the PBX holds none of their channels or bridges', async () => {
    // Every test above hung up its caller; give the last cascades a moment, then look.
    await eventually(async () => {
      const channels = (await h.side.request('GET', '/channels')).body as { id: string; name: string }[];
      expect(channels.filter((c) => /-h\d+$|-a\d+-/.test(c.id) || c.name.includes('@hotline-test-'))).toEqual([]);
      const bridges = (await h.side.request('GET', '/bridges')).body as { id: string }[];
      expect(bridges.filter((b) => b.id.startsWith('call-'))).toEqual([]);
    }, 15_000);
    // The sim can list playbacks; ARI cannot (no GET /playbacks), and on a real Asterisk a channel's
    // playbacks end with it, which the channel check above covers.
    if (h.pbx.sim) expect(h.pbx.sim.playbacks()).toEqual([]);
  });
});
