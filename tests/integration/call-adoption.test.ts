/**
 * Durable call state (issue 20), in both PBX modes: an instance stops without hanging up while
 * calls are live — one bridged with an agent, one queued, one in the IVR — and another instance
 * adopts each from its state in Redis: the bridged call keeps talking, the queued caller keeps
 * waiting (with their original join time) and gets the next free agent, the IVR caller hears the
 * flow again. Every call ends with exactly one ticket job, and no channel or bridge is left.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { StoredCallback } from '../../src/calls/durable-store.js';
import type { CallSession } from '../../src/calls/session.js';
import { addAgent, expectNoOrphans, jobsForCall, pressAtWelcome, sessionByCaller, ticketJobRecord, useHarness } from '../support/harness.js';
import { eventually, MEDIA_WAIT_MS } from '../support/wait.js';

const h = useHarness();
const BRIDGED = '13900002001';
const QUEUED = '13900002002';
const IN_IVR = '13900002003';
const HANDOFF = '13900002004';
const CALLBACK = '13900002005';

async function adoptedBy(app: App, callId: string): Promise<CallSession> {
  return eventually(() => {
    const s = app.calls.session(callId);
    if (!s) throw new Error(`${callId} not adopted yet`);
    return s;
  }, MEDIA_WAIT_MS);
}

async function bridgeChannels(callId: string): Promise<string[]> {
  const r = await h.side.request('GET', `/bridges/call-${callId}`);
  return r.status === 200 ? (r.body.channels as string[]) : [];
}

describe('calls of a stopped instance', () => {
  it('GIVEN calls bridged, queued and in the IVR WHEN their instance stops and another starts THEN it adopts each from its stored state, and each ends with exactly one ticket job', async () => {
    const prefix = `adopt${Date.now().toString(36)}`;
    const first = await h.startApp({ HOTLINE_KEY_PREFIX: prefix }, { instanceId: 'first' });
    await addAgent(first, '1001');

    const c1 = await h.side.call('12345', BRIDGED);
    await c1.answered();
    const s1 = await sessionByCaller(first, BRIDGED);
    await pressAtWelcome(s1, c1, '0');
    await eventually(async () => expect(await bridgeChannels(s1.callId)).toHaveLength(2), MEDIA_WAIT_MS);

    const c2 = await h.side.call('12345', QUEUED);
    await c2.answered();
    const s2 = await sessionByCaller(first, QUEUED);
    await pressAtWelcome(s2, c2, '0');
    await eventually(() => expect(s2.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('position'))).toBe(true), MEDIA_WAIT_MS);
    const joinedAt = s2.state.queue!.queuedAt;

    const c3 = await h.side.call('12345', IN_IVR);
    await c3.answered();
    const s3 = await sessionByCaller(first, IN_IVR);
    await eventually(() => expect(s3.record.path.some((p) => p.kind === 'prompt')).toBe(true), MEDIA_WAIT_MS);

    // Every call's state is in Redis, owned by the first instance.
    for (const [s, phase] of [[s1, 'agent'], [s2, 'queue'], [s3, 'ivr']] as const) {
      await eventually(async () => expect(await first.callStates.load(s.callId)).toMatchObject({ owner: 'first', state: { phase } }));
    }

    // WHEN the first instance stops without hanging up, and a second one starts
    await h.stopApp(first);
    const second = await h.startApp({ HOTLINE_KEY_PREFIX: prefix }, { instanceId: 'second' });
    const a1 = await adoptedBy(second, s1.callId);
    const a2 = await adoptedBy(second, s2.callId);
    const a3 = await adoptedBy(second, s3.callId);
    for (const a of [a1, a2, a3]) {
      expect(a.record.recovered).toBe(true);
      expect(a.record.path.some((p) => p.kind === 'note' && p.detail.startsWith('adopted by second from first'))).toBe(true);
    }
    // THEN the bridged call keeps talking, its agent on the call for the ACD
    expect(a1.state.phase, JSON.stringify(a1.record.path.slice(-6))).toBe('agent');
    expect(a1.connectedAgentId).toBe('1001');
    expect((await bridgeChannels(s1.callId)).sort()).toEqual([s1.callId, s1.state.agentLeg!.channelId].sort());
    await eventually(async () => expect((await second.acd.agents()).find((a) => a.id === '1001')?.state).toBe('on-call'));
    // the queued caller waits on, with their original join time; the IVR caller hears the flow again
    expect(a2.state.phase).toBe('queue');
    expect(a2.state.queue!.queuedAt).toBe(joinedAt);
    const promptsBefore = s3.record.path.filter((p) => p.kind === 'prompt').length;
    await eventually(() => expect(a3.record.path.filter((p) => p.kind === 'prompt').length).toBeGreaterThan(promptsBefore), MEDIA_WAIT_MS);

    // WHEN the bridged caller hangs up THEN its ticket job, and the agent takes the queued caller
    await c1.hangup();
    const r1 = await ticketJobRecord(second, s1.callId);
    expect(r1).toMatchObject({ outcome: 'answered', agents: ['1001'], recovered: true, instance: 'second' });
    // (The test PBX has no SIP registrations: the second instance saw none for 1001, so the agent
    // says 示闲 again after the call, as an agent whose softphone re-registers would.)
    await addAgent(second, '1001');
    await eventually(() => expect(a2.record.agents).toEqual(['1001']), MEDIA_WAIT_MS);
    await c2.hangup();
    await c3.hangup();
    const r2 = await ticketJobRecord(second, s2.callId);
    expect(r2).toMatchObject({ outcome: 'answered', agents: ['1001'], recovered: true });
    const r3 = await ticketJobRecord(second, s3.callId);
    expect(r3).toMatchObject({ recovered: true, agents: [] });
    // Exactly one job per call (a ticket job's id is its call id), nothing left in Asterisk or Redis.
    for (const s of [s1, s2, s3]) {
      expect(await jobsForCall(second, s.callId)).toHaveLength(1);
      await expectNoOrphans(h, s.callId);
      await eventually(async () => expect(await second.callStates.load(s.callId)).toBeUndefined());
    }
  });

  it('GIVEN a stored call whose caller hung up while no instance ran WHEN the next instance starts THEN the call is ended with its one ticket job', async () => {
    const prefix = `adopt${Date.now().toString(36)}g`;
    const first = await h.startApp({ HOTLINE_KEY_PREFIX: prefix }, { instanceId: 'first' });
    const call = await h.side.call('12345', IN_IVR);
    await call.answered();
    const s = await sessionByCaller(first, IN_IVR);
    await eventually(async () => expect((await first.callStates.load(s.callId))?.state.phase).toBe('ivr'));
    await h.stopApp(first);
    await call.hangup();
    await call.ended();
    const second = await h.startApp({ HOTLINE_KEY_PREFIX: prefix }, { instanceId: 'second' });
    const r = await ticketJobRecord(second, s.callId);
    expect(r).toMatchObject({ outcome: 'abandoned-ivr', endedBy: 'caller', recovered: true, instance: 'second' });
    expect(await jobsForCall(second, s.callId)).toHaveLength(1);
    await eventually(async () => expect(await second.callStates.load(s.callId)).toBeUndefined());
  });

  it('GIVEN an instance that died (as after kill -9, its lease still running) WHEN the lease runs out THEN a running instance adopts its call, which ends with one ticket job', async () => {
    const prefix = `adopt${Date.now().toString(36)}k`;
    const first = await h.startApp({ HOTLINE_KEY_PREFIX: prefix }, { instanceId: 'first' });
    const call = await h.side.call('12345', IN_IVR);
    await call.answered();
    const s = await sessionByCaller(first, IN_IVR);
    await eventually(async () => expect((await first.callStates.load(s.callId))?.state.phase).toBe('ivr'));
    const redisUrl = first.config.redisUrl;
    await h.stopApp(first);
    // The dead instance's lease is still there for a while, as after a crash (a clean stop releases it).
    const redis = new Redis(redisUrl);
    try {
      await redis.set(`${prefix}:callstate-lease:first`, '1', 'PX', 3000);
      const second = await h.startApp({ HOTLINE_KEY_PREFIX: prefix }, { instanceId: 'second', callStateLease: { leaseMs: 1000, renewMs: 300 } });
      expect(second.calls.session(s.callId)).toBeUndefined(); // not while the owner may be alive
      const adopted = await adoptedBy(second, s.callId);
      expect(adopted.record.path.some((p) => p.kind === 'note' && p.detail.startsWith('adopted by second from first (ivr'))).toBe(true);
      await call.hangup();
      const r = await ticketJobRecord(second, s.callId);
      expect(r).toMatchObject({ recovered: true, instance: 'second' });
      expect(await jobsForCall(second, s.callId)).toHaveLength(1);
      await expectNoOrphans(h, s.callId);
    } finally {
      redis.disconnect();
    }
  });

  it('GIVEN a blind hand-off still ringing its target WHEN the instance stops and another adopts the call THEN the hand-off is abandoned (the target leg hung up) and the caller is re-queued and reaches an agent, with one ticket job', async () => {
    const prefix = `adopt${Date.now().toString(36)}h`;
    // The target rings long (its context never answers) so that it is still ringing at the stop.
    const env = { HOTLINE_KEY_PREFIX: prefix, HANDOFF_RING_SEC: '60' };
    const first = await h.startApp(env, { instanceId: 'first' });
    await addAgent(first, '1001');
    const call = await h.side.call('12345', HANDOFF);
    await call.answered();
    const s = await sessionByCaller(first, HANDOFF);
    await pressAtWelcome(s, call, '0');
    await eventually(async () => expect(await bridgeChannels(s.callId)).toHaveLength(2), MEDIA_WAIT_MS);
    await s.requestHandoff('blind', { label: '12366 税务分中心', dial: { kind: 'dial', dialString: 'Local/12366@hotline-test-noanswer' } });
    const targetId = s.state.targetLeg!.channelId;
    await eventually(async () => expect((await first.callStates.load(s.callId))?.state).toMatchObject({ phase: 'handoff', handoff: { phase: 'dialing' } }));
    expect((await h.side.channels()).map((c) => c.id)).toContain(targetId);

    await h.stopApp(first);
    const second = await h.startApp(env, { instanceId: 'second' });
    const a = await adoptedBy(second, s.callId);
    expect(a.record.path.some((p) => p.kind === 'transfer' && p.detail.includes('still ringing at adoption: abandoned'))).toBe(true);
    // the target leg is hung up, the caller queued again and then connected to the free agent
    await eventually(async () => expect((await h.side.channels()).map((c) => c.id)).not.toContain(targetId));
    await addAgent(second, '1001');
    await eventually(() => expect(a.connectedAgentId).toBe('1001'), MEDIA_WAIT_MS);
    expect(a.record.path.some((p) => p.kind === 'queue' && p.detail.includes('priority 20'))).toBe(true);
    await call.hangup();
    const r = await ticketJobRecord(second, s.callId);
    expect(r).toMatchObject({ recovered: true, agents: ['1001', '1001'] });
    expect(r.handoffs.at(-1)).toMatchObject({ kind: 'blind', result: 'unreachable' });
    expect(await jobsForCall(second, s.callId)).toHaveLength(1);
    await expectNoOrphans(h, s.callId);
  });

  it('GIVEN a callback call talking (agent and citizen bridged) WHEN its instance stops and another starts THEN the callback is ended explicitly: both legs hung up, the agent free, its record on the original ticket once', async () => {
    const prefix = `adopt${Date.now().toString(36)}c`;
    const first = await h.startApp({ HOTLINE_KEY_PREFIX: prefix }, { instanceId: 'first' });
    const call = await h.side.call('12345', CALLBACK);
    await call.answered();
    const s = await sessionByCaller(first, CALLBACK);
    await pressAtWelcome(s, call, '0');
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('position'))).toBe(true), MEDIA_WAIT_MS);
    await new Promise((r) => setTimeout(r, 1100)); // CALLBACK_OFFER_AFTER_SEC=1 in tests
    await call.press('1');
    await call.ended();
    const ticketNo = await eventually(async () => {
      const no = await first.tickets.byCall(s.callId);
      expect(no).toBeTruthy();
      return no!;
    });
    // An agent frees up: rung first, then the citizen; both answer (the test side answers both).
    await addAgent(first, '4002');
    const redis = new Redis(first.config.redisUrl);
    try {
      const stored = await eventually(async () => {
        const ids = await redis.smembers(`${prefix}:cbstates`);
        expect(ids).toHaveLength(1);
        const cb = JSON.parse((await redis.hget(`${prefix}:cbstate:${ids[0]}`, 'state'))!) as StoredCallback;
        expect(cb).toMatchObject({ callbackOf: s.callId, agentId: '4002', agentAnswered: true, citizenAnswered: true, record: { source: 'callback', instance: 'first' } });
        return cb;
      }, MEDIA_WAIT_MS);
      await eventually(async () => expect((await h.side.request('GET', `/bridges/${stored.bridgeId}`)).body?.channels).toHaveLength(2));

      // WHEN the instance stops (its legs stay up) and another starts
      await h.stopApp(first);
      expect((await h.side.channels()).map((c) => c.id)).toEqual(expect.arrayContaining([stored.agentLegId, stored.citizenLegId]));
      const second = await h.startApp({ HOTLINE_KEY_PREFIX: prefix }, { instanceId: 'second' });
      // THEN the callback is ended: legs and bridge gone, nothing stored, the agent free again
      await eventually(async () => {
        const ids = (await h.side.channels()).map((c) => c.id);
        expect(ids.filter((id) => id.startsWith(stored.id))).toEqual([]);
        expect((await h.side.request('GET', `/bridges/${stored.bridgeId}`)).status).toBe(404);
        expect(await redis.scard(`${prefix}:cbstates`)).toBe(0);
      }, MEDIA_WAIT_MS);
      await eventually(async () => expect((await second.acd.agents()).find((a) => a.id === '4002')?.state).not.toBe('on-call'));
      // and its record is on the original ticket, once
      await eventually(async () => {
        const t = await second.tickets.get(ticketNo);
        expect(t?.callbacks).toHaveLength(1);
        expect(t?.callbacks[0]).toMatchObject({ callbackOf: s.callId, agents: ['4002'], recovered: true, instance: 'second', outcome: 'answered' });
      }, 15_000);
      expect(await jobsForCall(second, stored.citizenLegId)).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  });
});

