/**
 * Property tests of the pure call step: from any reachable state, any event — telephony events for
 * the caller and its legs, timers, offers, hand-off requests, the executor's results and failures of
 * any command it was given — keeps the state valid (callStateProblems), JSON round-trip equal and
 * the input untouched, and the record is handed on exactly once. Seeded: a failure names its seed.
 */
import { describe, expect, it } from 'vitest';
import { HandoffError, type HandoffKind } from '../../src/handoff/machine.js';
import type { CallEvent, CallState, Command } from '../../src/calls/state.js';
import { seededRng } from '../../src/util/random.js';
import { chan, checkedStep, HOTLINE, newCall, T0, tel, testConfig } from '../support/call-state.js';

const SEEDS = 80;
const EVENTS_PER_RUN = 60;

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

/** The executor's answer to a command: its result, its `then`, or a failure (found or not). */
function answer(rnd: () => number, c: Command): CallEvent | undefined {
  const r = rnd();
  if (r < 0.15) return { type: 'effect-failed', cmd: c, notFound: rnd() < 0.4, message: 'injected' };
  switch (c.do) {
    case 'read-ref':
      return { type: 'ref-read', value: rnd() < 0.5 ? 'REF-1' : null };
    case 'read-vars':
      return { type: 'vars-read', area: rnd() < 0.3 ? 'area-1' : null, hops: rnd() < 0.1 ? '3' : null };
    case 'route':
      return {
        type: 'routed',
        decision: rnd() < 0.1 ? null : HOTLINE,
        error: null,
        verdict: pick(rnd, [{ action: 'ok' }, { action: 'ok' }, { action: 'block', announce: 'blocked' }, { action: 'limit', announce: 'limited', priorityDelta: -1, reason: 'frequent' }] as const),
      };
    case 'acd-enqueue':
      return { type: 'enqueued', position: 1 + Math.floor(rnd() * 5), expectedWaitSec: Math.floor(rnd() * 300) };
    case 'acd-position':
      return { type: 'queue-position', position: rnd() < 0.2 ? null : { position: 1 + Math.floor(rnd() * 5), expectedWaitSec: 60 } };
    case 'acd-offer-answered':
      return { type: 'offer-answer', offerId: c.offerId, ok: rnd() < 0.8 };
    case 'lookup-ticket':
      return { type: 'ticket-status', token: c.token, result: rnd() < 0.5 ? { found: false } : { found: true, status: 'processing', unitName: '市人社局' }, error: null };
    case 'recording-start':
      return { type: 'segment-started', segment: c.segment, result: { status: 'started', name: `rec-${c.segment}` } };
    default:
      return c.then;
  }
}

function randomEvent(rnd: () => number, s: CallState, pending: Command[], now: number): { event: CallEvent; now: number } | undefined {
  const r = rnd();
  if (pending.length > 0 && r < 0.45) {
    const c = pending.splice(Math.floor(rnd() * pending.length), 1)[0]!;
    const e = answer(rnd, c);
    return e ? { event: e, now } : undefined;
  }
  const timers = Object.entries(s.timers);
  if (timers.length > 0 && r < 0.55) {
    const [token, at] = pick(rnd, timers);
    return { event: { type: 'timer', token }, now: Math.max(now, at) };
  }
  const playbacks = Object.keys(s.playbacks);
  if (playbacks.length > 0 && r < 0.7) {
    return { event: tel({ type: 'PlaybackFinished', playbackId: pick(rnd, playbacks), targetUri: '', mediaUri: 'sound:x', state: rnd() < 0.1 ? 'failed' : 'done' }), now };
  }
  const legs = [s.agentLeg?.channelId, s.targetLeg?.channelId, `${s.callId}-h9`].filter((x): x is string => !!x);
  const kinds: HandoffKind[] = ['blind', 'consult', 'three-way', 'linkage'];
  switch (Math.floor(rnd() * 12)) {
    case 0:
      return { event: tel({ type: 'ChannelDtmfReceived', channel: chan(s.callId), digit: pick(rnd, ['1', '2', '3', '0', '9', '#', '*']), durationMs: 80 }), now };
    case 1:
      return { event: { type: 'offer', offer: { offerId: `o${Math.floor(rnd() * 3)}`, callId: s.callId, agentId: pick(rnd, ['1001', '1002']), dialString: 'PJSIP/1001', timeoutSec: 15 } }, now };
    case 2:
      return { event: tel({ type: 'StasisStart', channel: chan(pick(rnd, legs)), args: ['agent-leg', s.callId] }), now };
    case 3:
      return { event: tel({ type: 'ChannelDestroyed', channel: chan(pick(rnd, legs)), cause: pick(rnd, [0, 16, 17, 19, 21, 34]), causeTxt: '' }), now };
    case 4:
      return { event: tel({ type: 'Dial', peerId: pick(rnd, legs), dialstatus: pick(rnd, ['BUSY', 'NOANSWER', 'CHANUNAVAIL', 'ANSWER']) }), now };
    case 5:
      return {
        event: {
          type: 'handoff-request',
          kind: pick(rnd, kinds),
          target: rnd() < 0.2 ? { label: 'skill:tax', dial: { kind: 'queue', skill: 'tax' } } : { label: 'T', dial: { kind: 'dial', dialString: 'PJSIP/t' } },
        },
        now,
      };
    case 6:
      return { event: { type: 'handoff-command', command: pick(rnd, ['complete', 'merge', 'cancel', 'agent-leave'] as const) }, now };
    case 7:
      return rnd() < 0.3 ? { event: tel({ type: pick(rnd, ['StasisEnd', 'ChannelHangupRequest'] as const), channel: chan(s.callId), cause: 16 } as never), now } : undefined;
    case 8:
      return rnd() < 0.1 ? { event: { type: 'finish', by: 'caller', outcome: 'abandoned-ivr' }, now } : undefined;
    case 9: {
      // Another instance adopts the call, seeing some of its channels and maybe its bridge.
      const all = [s.callId, s.callId, ...legs];
      const some = () => all.filter(() => rnd() < 0.7);
      return rnd() < 0.3 ? { event: { type: 'adopt', instanceId: 'other', channels: some(), bridge: rnd() < 0.4 ? null : some() }, now } : undefined;
    }
    default:
      return { event: { type: 'timer', token: 'stale-token' }, now };
  }
}

function run(seed: number, flows: 'default' | 'queue-at-once'): void {
  const rnd = seededRng(seed);
  const step = checkedStep(testConfig(flows, { callbackOfferAfterSec: rnd() < 0.5 ? 0 : 1 }));
  let s = newCall('c1', rnd() < 0.1 ? 'anonymous' : '13812345678');
  let now = T0;
  let ended = 0;
  const pending: Command[] = [];
  const take = (e: CallEvent) => {
    const before = s;
    let r;
    try {
      r = step(s, e, now);
    } catch (err) {
      // Only an agent's bad hand-off request may throw, and it changes nothing.
      if (!(err instanceof HandoffError)) throw new Error(`seed ${seed}: ${(err as Error).message}`);
      expect(s).toBe(before);
      return;
    }
    s = r.state;
    for (const c of r.commands) {
      if (c.do === 'ended') {
        ended++;
        expect(c.record, `seed ${seed}`).toStrictEqual(s.record);
      }
      pending.push(c);
    }
  };
  take({ type: 'begin' });
  for (let i = 0; i < EVENTS_PER_RUN; i++) {
    now += Math.floor(rnd() * 3_000);
    const next = randomEvent(rnd, s, pending, now);
    if (!next) continue;
    now = next.now;
    take(next.event);
  }
  // However it went, a hangup of the caller ends it, and the record is handed on exactly once.
  take(tel({ type: 'ChannelDestroyed', channel: chan('c1'), cause: 16, causeTxt: 'Normal' }));
  expect(s.phase, `seed ${seed}`).toBe('ended');
  expect(ended, `seed ${seed}`).toBe(1);
}

describe('call state properties', () => {
  it('GIVEN random event sequences through the 12345 IVR WHEN stepped THEN every state is valid and round-trips, and the record is handed on once', () => {
    for (let seed = 1; seed <= SEEDS; seed++) run(seed, 'default');
  });

  it('GIVEN random event sequences through queue, agents and hand-offs WHEN stepped THEN every state is valid and round-trips, and the record is handed on once', () => {
    for (let seed = 1; seed <= SEEDS; seed++) run(10_000 + seed, 'queue-at-once');
  });

  it('GIVEN a state in the middle of a call WHEN written as JSON and read back THEN stepping either gives the same result', () => {
    const step = checkedStep(testConfig('queue-at-once'));
    const rnd = seededRng(7);
    let s = newCall();
    const pending: Command[] = [];
    let now = T0;
    for (let i = 0; i < 200; i++) {
      const next = randomEvent(rnd, s, pending, (now += 500));
      if (!next || next.event.type === 'finish' || (next.event.type === 'telephony' && 'channel' in next.event.event && next.event.event.channel.id === 'c1' && next.event.event.type !== 'ChannelDtmfReceived')) continue;
      let r;
      try {
        r = step(s, next.event, next.now);
      } catch {
        continue;
      }
      const copy = step(JSON.parse(JSON.stringify(s)) as CallState, next.event, next.now);
      expect(JSON.stringify(copy)).toBe(JSON.stringify(r));
      s = r.state;
      pending.push(...r.commands);
    }
  });
});
