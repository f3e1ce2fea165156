import { describe, expect, it } from 'vitest';
import { HandoffError } from '../../src/handoff/machine.js';
import { HANGUP_RETRIES, LOOP_ROUTE_ID, TIMER_ANNOUNCE, TIMER_HANGUP_RETRY, type Command } from '../../src/calls/state.js';
import { chan, checkedStep, connectedCall, dos, feed, HOTLINE, newCall, OFFER, queuedCall, routedCall, T0, tel, testConfig } from '../support/call-state.js';

const step = checkedStep(testConfig());
const find = <K extends Command['do']>(cs: Command[], k: K) => cs.find((c) => c.do === k) as Extract<Command, { do: K }> | undefined;

describe('start phase', () => {
  it('GIVEN a new call WHEN it begins THEN it answers, reads the channel variables and asks the resolver', () => {
    const s0 = newCall();
    const a = step(s0, { type: 'begin' }, T0);
    expect(dos(a.commands)).toEqual(['answer']);
    expect(a.commands[0]!.then).toEqual({ type: 'answered' });
    const b = step(a.state, { type: 'answered' }, T0 + 5);
    expect(b.state.record.answeredAt).toBe(T0 + 5);
    expect(dos(b.commands)).toEqual(['read-vars']);
    const c = step(b.state, { type: 'vars-read', area: 'shizhong', hops: null }, T0 + 6);
    expect(c.state.record.area).toBe('shizhong');
    expect(find(c.commands, 'route')).toMatchObject({ dialed: '12345', source: 'carrier', at: T0 + 6, area: 'shizhong', checkGuard: true });
  });

  it('GIVEN a linkage call without a reference WHEN answered THEN the reference is read from the channel first', () => {
    const s0 = { ...newCall(), record: { ...newCall().record, source: 'linkage' as const } };
    const r = feed(step, s0, [
      [{ type: 'begin' }, T0],
      [{ type: 'answered' }, T0 + 1],
    ]);
    expect(dos(r.last.commands)).toEqual(['read-ref']);
    const n = step(r.state, { type: 'ref-read', value: 'GA-2026 <x>' }, T0 + 2);
    expect(n.state.record.linkageRef).toBe('GA-2026x');
  });

  it('GIVEN a call that passed our app three times WHEN its hops are read THEN it is refused as a loop and released after the notice', () => {
    const r = feed(step, newCall(), [
      [{ type: 'begin' }, T0],
      [{ type: 'answered' }, T0 + 1],
      [{ type: 'vars-read', area: null, hops: '3' }, T0 + 2],
    ]);
    expect(dos(r.last.commands)).toContain('loop-refused');
    expect(dos(r.last.commands)).not.toContain('route');
    expect(r.state.record.route).toEqual({ id: LOOP_ROUTE_ID, mode: 'release' });
    expect(r.state.record.outcome).toBe('released');
    expect(find(r.last.commands, 'play')!.uris).toContain('sound:hotline/system-busy');
  });

  it('GIVEN the caller on the block list WHEN routed THEN the notice plays and the outcome is released', () => {
    const r = feed(step, newCall(), [
      [{ type: 'begin' }, T0],
      [{ type: 'answered' }, T0 + 1],
      [{ type: 'vars-read', area: null, hops: null }, T0 + 2],
      [{ type: 'routed', decision: HOTLINE, error: null, verdict: { action: 'block', announce: 'caller-blocked' } }, T0 + 3],
    ]);
    expect(r.state.record.route?.id).toBe('blocklist');
    expect(r.state.record.outcome).toBe('released');
    expect(r.state.recording.enabled).toBe(false);
  });

  it('GIVEN a broken routing table WHEN routed THEN the error is on the path and the 12345 flow serves the caller', () => {
    const r = feed(step, newCall(), [
      [{ type: 'begin' }, T0],
      [{ type: 'answered' }, T0 + 1],
      [{ type: 'vars-read', area: null, hops: null }, T0 + 2],
      [{ type: 'routed', decision: null, error: 'table corrupt', verdict: { action: 'ok' } }, T0 + 3],
    ]);
    expect(r.state.record.path.some((p) => p.kind === 'error' && p.detail === 'route: table corrupt')).toBe(true);
    expect(r.state.record.route?.id).toBe('fallback');
    expect(r.state.phase).toBe('queue');
  });

  it('GIVEN the caller gone WHEN the answer fails as not found THEN the call ends once as abandoned in the IVR', () => {
    const a = step(newCall(), { type: 'begin' }, T0);
    const b = step(a.state, { type: 'effect-failed', cmd: a.commands[0]!, notFound: true, message: 'gone' }, T0 + 1);
    expect(b.state.phase).toBe('ended');
    expect(b.state.record.outcome).toBe('abandoned-ivr');
    expect(dos(b.commands)).toEqual(['cleanup', 'silent-call', 'ended']);
    const again = step(b.state, { type: 'finish', by: 'caller', outcome: 'failed' }, T0 + 2);
    expect(again.state).toBe(b.state);
    expect(again.commands).toEqual([]);
  });
});

describe('IVR phase', () => {
  const ivr = checkedStep(testConfig('default'));
  it('GIVEN the 12345 flow WHEN routed THEN the welcome plays with a playback id the state waits for, and its end moves the flow on', () => {
    const r = routedCall(ivr);
    expect(r.state.phase).toBe('ivr');
    const play = find(r.commands, 'play')!;
    expect(play.playbackId).toBe('c1-p1');
    expect(play.uris[0]).toBe('sound:hotline/welcome');
    expect(play.when).toBe('active');
    expect(r.state.playbacks['c1-p1']).toBe(play.token);
    const n = ivr(r.state, tel({ type: 'PlaybackFinished', playbackId: 'c1-p1', targetUri: 'channel:c1', mediaUri: play.uris[0]!, state: 'done' }), T0 + 5_000);
    expect(n.state.playbacks['c1-p1']).toBeUndefined();
    expect(n.state.record.path.length).toBeGreaterThan(r.state.record.path.length);
  });

  it('GIVEN a prompt that failed to play WHEN the failure comes back THEN the flow carries on as if it had played', () => {
    const r = routedCall(ivr);
    const play = find(r.commands, 'play')!;
    const n = ivr(r.state, { type: 'effect-failed', cmd: play, notFound: false, message: 'timeout' }, T0 + 100);
    expect(n.state.record.path.some((p) => p.detail === 'play: timeout')).toBe(true);
    expect(n.state.phase).not.toBe('ended');
  });

  it('GIVEN a flow error WHEN the engine throws THEN the caller goes to an agent', () => {
    const cfg = testConfig('default');
    const broken = checkedStep({ ...cfg, flow: { start: cfg.flow.start, next: () => { throw new Error('boom'); } } });
    const r = routedCall(broken);
    const n = broken(r.state, tel({ type: 'ChannelDtmfReceived', channel: chan('c1'), digit: '1', durationMs: 100 }), T0 + 100);
    expect(n.state.phase).toBe('queue');
    expect(find(n.commands, 'acd-enqueue')).toMatchObject({ skill: 'general', priority: 1 });
  });
});

describe('queue phase', () => {
  it('GIVEN a caller queued WHEN the announcement is due THEN the position is read out and the music resumes after it', () => {
    const r = routedCall(step);
    expect(dos(r.commands)).toEqual(['start-moh', 'acd-enqueue']);
    const q = step(r.state, { type: 'enqueued', position: 3, expectedWaitSec: 120 }, T0 + 40);
    expect(q.state.timers[TIMER_ANNOUNCE]).toBe(T0 + 40 + 30_000);
    const t = step(q.state, { type: 'timer', token: TIMER_ANNOUNCE }, T0 + 30_040);
    expect(dos(t.commands)).toEqual(['acd-position']);
    const p = step(t.state, { type: 'queue-position', position: { position: 3, expectedWaitSec: 120 } }, T0 + 30_050);
    expect(dos(p.commands)).toEqual(['stop-moh', 'play']);
    expect(find(p.commands, 'play')!.uris).toEqual([
      'sound:hotline/queue-position-before',
      'number:2',
      'sound:hotline/queue-position-after',
      'sound:hotline/queue-wait-before',
      'number:2',
      'sound:hotline/queue-wait-minutes',
    ]);
    const id = find(p.commands, 'play')!.playbackId;
    const done = step(p.state, tel({ type: 'PlaybackFinished', playbackId: id, targetUri: '', mediaUri: '', state: 'done' }), T0 + 40_000);
    expect(dos(done.commands)).toEqual(['start-moh']);
    // The next one comes when the callback offer becomes allowed (60 s in the queue), not 30 s later:
    // the caller hears the offer the moment they may take it (controller/port.ts nextAnnouncementSec).
    const queuedAt = done.state.queue!.queuedAt;
    expect(done.state.timers[TIMER_ANNOUNCE]).toBe(queuedAt + 60_000);
    expect(queuedAt + 60_000).toBeLessThan(T0 + 70_000);
  });

  it('GIVEN a caller queued past the callback offer WHEN they press 1 THEN the callback is registered, confirmed, and the call ends as callback-requested', () => {
    const q = queuedCall(step);
    expect(step(q, tel({ type: 'ChannelDtmfReceived', channel: chan('c1'), digit: '1', durationMs: 80 }), T0 + 10_000).commands).toEqual([]);
    const press = step(q, tel({ type: 'ChannelDtmfReceived', channel: chan('c1'), digit: '1', durationMs: 80 }), T0 + 61_000);
    expect(find(press.commands, 'acd-request-callback')).toMatchObject({ number: '13812345678', then: { type: 'callback-registered' } });
    const reg = step(press.state, { type: 'callback-registered' }, T0 + 61_100);
    expect(reg.state.phase).toBe('ending');
    expect(reg.state.record.outcome).toBe('callback-requested');
    const play = find(reg.commands, 'play')!;
    expect(play.uris).toEqual(['sound:hotline/callback-confirmed']);
    const done = step(reg.state, tel({ type: 'PlaybackFinished', playbackId: play.playbackId, targetUri: '', mediaUri: '', state: 'done' }), T0 + 65_000);
    const hang = find(done.commands, 'hangup-caller')!;
    const end = step(done.state, hang.then!, T0 + 65_100);
    expect(end.state.record).toMatchObject({ outcome: 'callback-requested', endedBy: 'system' });
  });

  it('GIVEN an offer WHEN the call is not queued THEN the ACD hears it is rejected and nothing rings', () => {
    const r = routedCall(checkedStep(testConfig('default')));
    const o = step(r.state, { type: 'offer', offer: OFFER }, T0 + 100);
    expect(o.commands).toMatchObject([{ do: 'acd-offer-failed', offerId: 'o1', reason: 'rejected' }]);
    expect(o.state.agentLeg).toBeNull();
  });

  it('GIVEN an agent leg that was busy WHEN it is destroyed unanswered THEN the offer fails as busy and the caller stays queued', () => {
    const q = queuedCall(step);
    const o = step(q, { type: 'offer', offer: OFFER }, T0 + 50);
    const leg = o.state.agentLeg!.channelId;
    expect(find(o.commands, 'originate')!.options).toMatchObject({ endpoint: 'PJSIP/1001', channelId: leg, appArgs: ['agent-leg', 'c1', 'o1'] });
    const r = feed(step, o.state, [
      [{ type: 'agent-originated', offerId: 'o1' }, T0 + 55],
      [tel({ type: 'Dial', peerId: leg, dialstatus: 'BUSY' }), T0 + 56],
      [tel({ type: 'ChannelDestroyed', channel: chan(leg), cause: 0, causeTxt: '' }), T0 + 57],
    ]);
    expect(r.commands).toMatchObject([
      { do: 'agent-ringing', agentId: '1001', change: 'ringing' },
      { do: 'agent-ringing', agentId: '1001', change: 'withdrawn' },
      { do: 'acd-offer-failed', offerId: 'o1', reason: 'busy' },
    ]);
    expect(r.state.phase).toBe('queue');
    expect(r.state.agentLeg).toBeNull();
  });
});

describe('agent phase', () => {
  it('GIVEN a ringing agent WHEN they answer and the ACD confirms THEN caller and agent are bridged and the segment is recorded', () => {
    const q = queuedCall(step);
    const o = step(q, { type: 'offer', offer: OFFER }, T0 + 50).state;
    const leg = o.agentLeg!.channelId;
    const a = step(o, tel({ type: 'StasisStart', channel: chan(leg), args: ['agent-leg', 'c1', 'o1'] }), T0 + 60);
    expect(dos(a.commands)).toEqual(['acd-offer-answered']);
    const b = step(a.state, { type: 'offer-answer', offerId: 'o1', ok: true }, T0 + 70);
    expect(b.state.phase).toBe('agent');
    expect(b.state.record.agents).toEqual(['1001']);
    expect(b.state.timers[TIMER_ANNOUNCE]).toBeUndefined();
    expect(dos(b.commands)).toEqual(['agent-connected', 'acd-leave', 'create-bridge', 'stop-moh', 'add-to-bridge']);
    expect(find(b.commands, 'add-to-bridge')!.channelIds).toEqual(['c1', leg]);
    const c = step(b.state, { type: 'agent-bridged', agentId: '1001' }, T0 + 80);
    expect(find(c.commands, 'recording-start')).toMatchObject({ segment: 1, party: '1001', enabled: true, background: true });
  });

  it('GIVEN an answer WHEN the ACD says the offer was withdrawn THEN the agent is released and the caller keeps waiting', () => {
    const q = queuedCall(step);
    const o = step(q, { type: 'offer', offer: OFFER }, T0 + 50).state;
    const b = step(o, { type: 'offer-answer', offerId: 'o1', ok: false }, T0 + 70);
    expect(b.state.phase).toBe('queue');
    expect(dos(b.commands)).toEqual(['agent-ringing', 'hangup']);
  });
});

describe('survey phase', () => {
  it('GIVEN a connected call WHEN the agent hangs up first THEN the bridge goes and the survey starts', () => {
    const s = connectedCall(step);
    const leg = s.agentLeg!.channelId;
    const r = step(s, tel({ type: 'ChannelDestroyed', channel: chan(leg), cause: 16, causeTxt: 'Normal' }), T0 + 90_000);
    expect(r.state.phase).toBe('survey');
    expect(dos(r.commands).slice(0, 4)).toEqual(['acd-call-ended', 'recording-end', 'remove-from-bridge', 'destroy-bridge']);
    expect(find(r.commands, 'play')!.uris.join(' ')).toContain('survey');
    expect(r.state.bridgeId).toBeNull();
  });
});

describe('hand-off phase', () => {
  const target = { label: '12366 税务', dial: { kind: 'dial' as const, dialString: 'PJSIP/12366@carrier' } };
  it('GIVEN a call not connected to an agent WHEN a hand-off is asked for THEN it is refused and nothing changes', () => {
    const q = queuedCall(step);
    expect(() => step(q, { type: 'handoff-request', kind: 'blind', target }, T0 + 100)).toThrow(HandoffError);
  });

  it('GIVEN a connected call WHEN the agent transfers blind and the target answers THEN caller and target share the bridge in a new segment', () => {
    const s = connectedCall(step);
    const r = step(s, { type: 'handoff-request', kind: 'blind', target }, T0 + 100);
    expect(dos(r.commands)).toEqual(['remove-from-bridge', 'start-moh', 'remove-from-bridge', 'hangup', 'acd-call-ended', 'originate']);
    expect(r.state.phase).toBe('handoff');
    const leg = r.state.targetLeg!.channelId;
    expect(leg).toBe('c1-h1');
    const a = step(r.state, tel({ type: 'StasisStart', channel: chan(leg), args: ['handoff-leg', 'c1', '1'] }), T0 + 5_000);
    expect(dos(a.commands)).toEqual(['recording-end', 'recording-start', 'stop-moh', 'add-to-bridge', 'add-to-bridge']);
    expect(a.state.record.outcome).toBe('transferred');
    expect(a.state.handoff.phase).toBe('handed-off');
    expect(a.state.recording.segment).toBe(2);
  });

  it('GIVEN a consult WHEN the target is busy THEN the caller is back with the agent and the agent is told why', () => {
    const s = connectedCall(step);
    const r = step(s, { type: 'handoff-request', kind: 'consult', target }, T0 + 100);
    const leg = r.state.targetLeg!.channelId;
    const f = feed(step, r.state, [
      [tel({ type: 'Dial', peerId: leg, dialstatus: 'BUSY' }), T0 + 200],
      [tel({ type: 'ChannelDestroyed', channel: chan(leg), cause: 17, causeTxt: 'Busy' }), T0 + 300],
    ]);
    expect(dos(f.commands)).toEqual(['stop-moh', 'add-to-bridge', 'notify-agent']);
    expect(find(f.commands, 'notify-agent')).toMatchObject({ agentId: '1001', notice: { code: 'handoff-busy' } });
    expect(f.state.handoff.phase).toBe('idle');
    expect(f.state.record.handoffs.at(-1)).toMatchObject({ kind: 'consult', result: 'busy' });
  });

  it('GIVEN a target that cannot be dialled WHEN the originate fails THEN the hand-off fails as unreachable', () => {
    const s = connectedCall(step);
    const r = step(s, { type: 'handoff-request', kind: 'three-way', target }, T0 + 100);
    const f = step(r.state, { type: 'effect-failed', cmd: find(r.commands, 'originate')!, notFound: false, message: 'bad endpoint' }, T0 + 200);
    expect(f.state.handoff.phase).toBe('idle');
    expect(f.state.record.handoffs.at(-1)).toMatchObject({ kind: 'three-way', result: 'unreachable' });
  });
});

describe('ending phase', () => {
  it('GIVEN a queued caller WHEN they hang up THEN the call ends as abandoned in the queue, the entry is left and the record is submitted', () => {
    const q = queuedCall(step);
    const r = step(q, tel({ type: 'ChannelHangupRequest', channel: chan('c1'), cause: 16 }), T0 + 9_000);
    expect(r.state.record).toMatchObject({ outcome: 'abandoned-queue', endedBy: 'caller', hangupCause: 16, endedAt: T0 + 9_000 });
    const cleanup = find(r.commands, 'cleanup')!;
    expect(cleanup.parallel).toMatchObject([{ do: 'acd-leave', reason: 'abandoned' }]);
    expect(find(r.commands, 'ended')!.record).toEqual(r.state.record);
    expect(r.state.timers).toEqual({});
  });

  it('GIVEN ARI away WHEN the goodbye hangup fails THEN it is retried on a timer, and the record closes after the last try', () => {
    let s = step(queuedCall(step), { type: 'finish', by: 'system', outcome: 'failed' }, T0).state;
    expect(s.phase).toBe('ended');
    // A goodbye from the IVR instead: the flow hangs up after a release notice.
    const r = feed(step, newCall(), [
      [{ type: 'begin' }, T0],
      [{ type: 'answered' }, T0 + 1],
      [{ type: 'vars-read', area: null, hops: '3' }, T0 + 2],
    ]);
    s = r.state;
    const play = find(r.commands, 'play')!;
    let x = step(s, tel({ type: 'PlaybackFinished', playbackId: play.playbackId, targetUri: '', mediaUri: '', state: 'done' }), T0 + 3_000);
    let hang = find(x.commands, 'hangup-caller')!;
    expect(x.state.phase).toBe('ending');
    let now = T0 + 3_000;
    for (let i = 1; i <= HANGUP_RETRIES; i++) {
      x = step(x.state, { type: 'effect-failed', cmd: hang, notFound: false, message: 'timeout' }, ++now);
      expect(x.state.hangup?.tries).toBe(i);
      expect(x.state.timers[TIMER_HANGUP_RETRY]).toBe(now + 2_000);
      now += 2_000;
      x = step(x.state, { type: 'timer', token: TIMER_HANGUP_RETRY }, now);
      hang = find(x.commands, 'hangup-caller')!;
    }
    x = step(x.state, { type: 'effect-failed', cmd: hang, notFound: false, message: 'timeout' }, ++now);
    expect(x.state.phase).toBe('ended');
    expect(x.state.record.outcome).toBe('released');
    expect(dos(x.commands)).toContain('ended');
  });

  it('GIVEN a consult with the target talking WHEN the caller hangs up THEN the hand-off is closed as call-ended with its talk time', () => {
    const s = connectedCall(step);
    const r = step(s, { type: 'handoff-request', kind: 'consult', target: { label: 'x', dial: { kind: 'dial', dialString: 'PJSIP/x' } } }, T0 + 100);
    const a = step(r.state, tel({ type: 'StasisStart', channel: chan('c1-h1'), args: ['handoff-leg', 'c1', '1'] }), T0 + 1_000);
    const e = step(a.state, tel({ type: 'StasisEnd', channel: chan('c1') }), T0 + 6_000);
    expect(e.state.record.handoffs.at(-1)).toEqual({ kind: 'consult', target: 'x', at: T0 + 6_000, result: 'call-ended', talkMs: 5_000 });
    const cleanup = find(e.commands, 'cleanup')!;
    expect(cleanup.bridgeId).toBe('call-c1');
    expect(dos(cleanup.parallel)).toEqual(['hangup', 'acd-call-ended', 'hangup']);
  });
});

describe('adoption of a call whose hand-off still rings', () => {
  const target = { label: '12366 税务分中心', dial: { kind: 'dial' as const, dialString: 'PJSIP/12366@carrier' } };
  /** A connected call whose agent asked for a hand-off of `kind`; the target rings. */
  function ringing(kind: 'blind' | 'consult' | 'three-way') {
    const r = step(connectedCall(step), { type: 'handoff-request', kind, target }, T0 + 100);
    const s = r.state;
    expect(s.handoff.phase).toBe('dialing');
    expect(s.targetLeg).toMatchObject({ answered: false });
    return s;
  }
  const adoptEvent = (s: ReturnType<typeof ringing>, inBridge: string[]) => ({
    type: 'adopt' as const,
    instanceId: 'second',
    channels: [s.callId, ...(s.agentLeg ? [s.agentLeg.channelId] : []), s.targetLeg!.channelId],
    bridge: inBridge,
  });

  it('GIVEN a blind hand-off ringing WHEN another instance adopts the call THEN the target leg is hung up and the caller goes back to the queue ahead of new callers', () => {
    const s = ringing('blind');
    const targetId = s.targetLeg!.channelId;
    const r = step(s, adoptEvent(s, []), T0 + 5000);
    expect(r.state.phase).toBe('queue');
    expect(r.state.queue).toMatchObject({ priority: 20 });
    expect(r.state.targetLeg).toBeNull();
    expect(r.state.handoff).toEqual({ phase: 'idle' });
    expect(r.commands.filter((c) => c.do === 'hangup').map((c) => (c as { channelId: string }).channelId)).toEqual([targetId]);
    expect(dos(r.commands)).toContain('acd-enqueue');
    expect(r.state.record.handoffs.at(-1)).toMatchObject({ kind: 'blind', result: 'unreachable' });
  });

  it('GIVEN a consult ringing (caller on hold) WHEN adopted with the agent still in the bridge THEN the target is hung up, the caller is back with the agent, and the agent stays on the call for the ACD', () => {
    const s = ringing('consult');
    const r = step(s, adoptEvent(s, [s.agentLeg!.channelId]), T0 + 5000);
    expect(r.state.phase).toBe('agent');
    expect(r.state.targetLeg).toBeNull();
    expect(dos(r.commands)).toEqual(expect.arrayContaining(['hangup', 'stop-moh', 'add-to-bridge', 'notify-agent', 'acd-adopt']));
    expect(find(r.commands, 'add-to-bridge')).toMatchObject({ channelIds: [s.callId] });
    expect(find(r.commands, 'acd-adopt')).toMatchObject({ agentId: '1001' });
  });

  it('GIVEN a three-way call ringing its target WHEN adopted THEN caller and agent keep talking, the target is hung up and the agent told', () => {
    const s = ringing('three-way');
    const r = step(s, adoptEvent(s, [s.callId, s.agentLeg!.channelId]), T0 + 5000);
    expect(r.state.phase).toBe('agent');
    expect(r.state.targetLeg).toBeNull();
    expect(dos(r.commands)).toEqual(expect.arrayContaining(['hangup', 'notify-agent', 'acd-adopt']));
    expect(dos(r.commands)).not.toContain('acd-enqueue');
  });

  it('GIVEN a consult ringing WHEN adopted and the agent is gone THEN the caller goes back to the queue', () => {
    const s = ringing('consult');
    const r = step(s, { ...adoptEvent(s, []), channels: [s.callId, s.targetLeg!.channelId] }, T0 + 5000);
    expect(r.state.phase).toBe('queue');
    expect(r.state.agentLeg).toBeNull();
    expect(r.state.targetLeg).toBeNull();
    expect(dos(r.commands)).toContain('acd-enqueue');
  });
});
