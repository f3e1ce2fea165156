/**
 * The scenarios recorded into tests/fixtures/traces/*.jsonl: every ARI interaction the server's
 * adapter (src/telephony/ari-telephony.ts) uses, done the way the server does it (same ids,
 * arguments and order as src/calls/session.ts), against our own dialplan/extensions.conf.
 * `hotline` plays the server, `testcaller` plays citizens, agents and sub-centres (as
 * sim-pbx/test-caller.ts does). Each scenario leaves no channel or bridge behind.
 *
 * Requests only follow events they depend on (waitFor), so that a replay against the simulated
 * PBX, which waits for the same number of events before each request, stays causal.
 */
import type { TraceEvent, TraceRecorder } from './trace-recorder.js';

export interface Scenario {
  name: string;
  /** What it shows, for the fixtures' README. */
  shows: string;
  run(r: TraceRecorder): Promise<void>;
}

const CITIZEN = '"Citizen" <13800138000>';
const HOTLINE_CLI = '"12345" <12345>';

interface CitizenCall {
  /** `;1` half, owned by testcaller (the citizen's phone). */
  one: string;
  /** `;2` half, in `hotline` (the call the server handles; its id is the call id). */
  two: string;
  args: string[];
  /** Trace position before the call was placed. */
  from: number;
}

const isStart = (id: string) => (e: TraceEvent) => e.type === 'StasisStart' && e.channel?.id === id;
const named = (name: string) => (e: TraceEvent) => e.type === 'StasisStart' && e.channel?.name === name;

/** A citizen dials `number` (Local/<number>@<context>, as the test side places calls) and reaches `hotline`. */
async function citizenCall(r: TraceRecorder, number: string, context = 'from-carrier', variables?: Record<string, string>): Promise<CitizenCall> {
  const from = r.mark();
  const one = await r.ok('POST', '/channels', {
    query: { endpoint: `Local/${number}@${context}`, app: 'testcaller', appArgs: 'caller', callerId: CITIZEN },
    ...(variables ? { body: { variables } } : {}),
  });
  const start = await r.waitFor('hotline', named(String(one.name).replace(/;1$/, ';2')), `StasisStart of ${number}@${context}`, { from });
  return { one: one.id, two: start.channel.id, args: start.args, from };
}

/**
 * `hotline` answers the citizen; the `;1` half then enters testcaller. A from-carrier call is already
 * answered by the dialplan (its `;1` half may be in testcaller before this request): the answer is then
 * the no-op an Up channel gets.
 */
async function answer(r: TraceRecorder, call: CitizenCall): Promise<void> {
  await r.ok('POST', `/channels/${call.two}/answer`);
  await r.waitFor('testcaller', isStart(call.one), 'the citizen leg entering testcaller', { from: call.from });
}

/** The citizen hangs up (testcaller deletes the `;1` half) and both halves are gone. */
async function citizenHangsUp(r: TraceRecorder, call: CitizenCall): Promise<void> {
  await r.ok('DELETE', `/channels/${call.one}`);
  await gone(r, call);
}

/**
 * Both halves of a citizen call destroyed. Only testcaller, which originated the pair, sees both
 * ChannelDestroyed events: hotline's subscription to its `;2` half ends with StasisEnd.
 */
async function gone(r: TraceRecorder, call: CitizenCall): Promise<void> {
  await r.destroyed('testcaller', call.two);
  await r.destroyed('testcaller', call.one);
}

/**
 * What the session does first with a call that arrives unanswered on a PBX without ari.conf channelvars:
 * answer, then read HOTLINE_AREA and HOTLINE_HOPS (kept: the sim must answer both as Asterisk does).
 */
async function sessionStart(r: TraceRecorder, call: CitizenCall): Promise<void> {
  await answer(r, call);
  await r.request('GET', `/channels/${call.two}/variable`, { query: { variable: 'HOTLINE_AREA' } });
  await r.request('GET', `/channels/${call.two}/variable`, { query: { variable: 'HOTLINE_HOPS' } });
}

/** The call's mixing bridge, created with our own id and name (createWithId), the caller added. */
async function callBridge(r: TraceRecorder, call: CitizenCall): Promise<string> {
  const id = `call-${call.two}`;
  await r.ok('POST', `/bridges/${id}`, { query: { type: 'mixing', name: id } });
  const from = r.mark();
  await r.ok('POST', `/bridges/${id}/addChannel`, { query: { channel: call.two } });
  await r.waitFor('hotline', (e) => e.type === 'ChannelEnteredBridge' && e.channel?.id === call.two, 'caller in the bridge', { from });
  return id;
}

/** A hand-off leg as session.ts dials it: our channel id, the leg's args, ring timeout, hop variables. */
function handoffLeg(call: CitizenCall, dial: string, n: number, timeoutSec: number) {
  return {
    query: {
      endpoint: dial,
      app: 'hotline',
      appArgs: `handoff-leg,${call.two},${n}`,
      channelId: `${call.two}-h${n}`,
      timeout: timeoutSec,
      callerId: HOTLINE_CLI,
    },
    body: { variables: { HOTLINE_CALL_ID: call.two, HOTLINE_HOPS: '1', __HOTLINE_HOPS: '1' } },
  };
}

/** An agent leg as session.ts offers it. */
function agentLeg(call: CitizenCall, ext: string, offerId: string) {
  return {
    query: {
      endpoint: `Local/${ext}@hotline-test-agents`,
      app: 'hotline',
      appArgs: `agent-leg,${call.two},${offerId}`,
      channelId: `${call.two}-a${ext}-${offerId}`,
      timeout: 10,
      callerId: HOTLINE_CLI,
    },
    body: { variables: { HOTLINE_CALL_ID: call.two, HOTLINE_AGENT_ID: ext, HOTLINE_HOPS: '1', __HOTLINE_HOPS: '1' } },
  };
}

/** Originates a leg into hotline that testcaller answers (agent or sub-centre seat); resolves with both halves. */
async function answeredLeg(r: TraceRecorder, leg: { query: Record<string, string | number>; body: unknown }): Promise<{ one: string; two: string }> {
  const from = r.mark();
  const one = await r.ok('POST', '/channels', leg);
  const ring = await r.waitFor('testcaller', named(String(one.name).replace(/;1$/, ';2')), 'the leg ringing in testcaller', { from });
  const two = String(ring.channel.id);
  await r.ok('POST', `/channels/${two}/ring`);
  await r.waitFor('hotline', (e) => e.type === 'Dial' && e.peer?.id === one.id && e.dialstatus === 'RINGING', 'Dial RINGING', { from });
  await r.ok('POST', `/channels/${two}/answer`);
  await r.waitFor('hotline', isStart(one.id), 'the leg answered', { from });
  return { one: one.id, two };
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'o01-handoff-to-busy-target',
    shows:
      'a hand-off leg originated as session.ts does (channelId, appArgs, timeout, callerId, inherited __HOTLINE_HOPS) to ' +
      'Local/…@hotline-test-busy whose ;2 runs Busy(1): Dial BUSY on ;1, ;1 destroyed with cause 0, ;2 with 17; the caller stays',
    async run(r) {
      const call = await citizenCall(r, '12345');
      await sessionStart(r, call);
      const bridge = await callBridge(r, call);
      const leg = handoffLeg(call, 'Local/12366@hotline-test-busy', 1, 3);
      const one = await r.ok('POST', '/channels', leg);
      await r.destroyed('hotline', one.id);
      await r.waitFor('hotline', (e) => e.type === 'ChannelDestroyed' && e.channel?.name === String(one.name).replace(/;1$/, ';2'), 'busy ;2 destroyed');
      await r.settle(300);
      await citizenHangsUp(r, call);
      await r.ok('DELETE', `/bridges/${bridge}`);
    },
  },
  {
    name: 'o02-handoff-to-target-not-answering',
    shows:
      'a hand-off leg to Local/…@hotline-test-noanswer (Ringing(), Wait(30)) with timeout=2: Dial RINGING, then the originate ' +
      'timeout tears the pair down (NOANSWER / cause 19 as recorded); the caller stays and then hangs up',
    async run(r) {
      const call = await citizenCall(r, '12345');
      await sessionStart(r, call);
      const bridge = await callBridge(r, call);
      const leg = handoffLeg(call, 'Local/12369@hotline-test-noanswer', 1, 2);
      const one = await r.ok('POST', '/channels', leg);
      await r.destroyed('hotline', one.id, { timeoutMs: 10_000 });
      await r.waitFor('hotline', (e) => e.type === 'ChannelDestroyed' && e.channel?.name === String(one.name).replace(/;1$/, ';2'), 'no-answer ;2 destroyed');
      await r.settle(300);
      await citizenHangsUp(r, call);
      await r.ok('DELETE', `/bridges/${bridge}`);
    },
  },
  {
    name: 'o03-queue-agent-answers-recorded-then-released',
    shows:
      'the queue path: caller on MOH (mohClass default), an agent leg originated (agent-leg args, HOTLINE_AGENT_ID, hop ' +
      'variables read back on the ;2 half), ringing, answered, MOH stopped, both added in one addChannel, the bridge ' +
      'recorded (name, wav, ifExists=fail, beep=false), then the server releases the agent (removeChannel + DELETE ;1): ' +
      'the order of the Local pair teardown seen from ;1; the recording stopped; the caller hangs up',
    async run(r) {
      const call = await citizenCall(r, '12345');
      await sessionStart(r, call);
      await r.ok('POST', `/channels/${call.two}/moh`, { query: { mohClass: 'default' } });
      const from = r.mark();
      const legReq = agentLeg(call, '1001', 'offer-1');
      const one = await r.ok('POST', '/channels', legReq);
      const ring = await r.waitFor('testcaller', named(String(one.name).replace(/;1$/, ';2')), 'agent leg in testcaller', { from });
      const two = String(ring.channel.id);
      for (const variable of ['HOTLINE_CALL_ID', 'HOTLINE_AGENT_ID', 'HOTLINE_HOPS']) {
        await r.request('GET', `/channels/${two}/variable`, { query: { variable } });
      }
      await r.ok('POST', `/channels/${two}/ring`);
      await r.waitFor('hotline', (e) => e.type === 'Dial' && e.peer?.id === one.id && e.dialstatus === 'RINGING', 'Dial RINGING', { from });
      await r.ok('POST', `/channels/${two}/answer`);
      await r.waitFor('hotline', isStart(one.id), 'the agent leg answered', { from });
      const bridge = `call-${call.two}`;
      await r.ok('POST', `/bridges/${bridge}`, { query: { type: 'mixing', name: bridge } });
      await r.ok('DELETE', `/channels/${call.two}/moh`);
      const added = r.mark();
      await r.ok('POST', `/bridges/${bridge}/addChannel`, { query: { channel: `${call.two},${one.id}` } });
      await r.waitFor('hotline', (e) => e.type === 'ChannelEnteredBridge' && e.channel?.id === one.id, 'agent in the bridge', { from: added });
      await r.waitFor('hotline', (e) => e.type === 'ChannelEnteredBridge' && e.channel?.id === call.two, 'caller in the bridge', { from: added });
      const rec = `rec-${call.two}-1`;
      await r.ok('POST', `/bridges/${bridge}/record`, { query: { name: rec, format: 'wav', ifExists: 'fail', beep: 'false' } });
      await r.waitFor('hotline', (e) => e.type === 'RecordingStarted', 'recording started');
      // release-agent: out of the bridge, then hung up from our side (the ;1 half)
      const released = r.mark();
      await r.ok('POST', `/bridges/${bridge}/removeChannel`, { query: { channel: one.id } });
      await r.waitFor('hotline', (e) => e.type === 'ChannelLeftBridge' && e.channel?.id === one.id, 'agent left the bridge', { from: released });
      await r.ok('DELETE', `/channels/${one.id}`, { query: { reason: 'normal' } });
      await r.destroyed('hotline', one.id);
      await r.destroyed('hotline', two);
      await r.settle(300);
      await r.ok('POST', `/recordings/live/${rec}/stop`);
      await r.waitFor('hotline', (e) => e.type === 'RecordingFinished', 'recording finished');
      await citizenHangsUp(r, call);
      await r.ok('DELETE', `/bridges/${bridge}`);
      await r.request('DELETE', `/recordings/stored/${rec}`);
    },
  },
  {
    name: 'o04-three-way-agent-hangs-up-first',
    shows:
      'caller + agent bridged, a three-way to a sub-centre seat answered by testcaller (softmix with three), the agent ' +
      'hangs up on their side (DELETE of the ;2 half: the pair torn down from ;2), then the server hangs up the ' +
      'sub-centre leg (;1) and the caller (DELETE of hotline\'s ;2 with reason normal)',
    async run(r) {
      const call = await citizenCall(r, '12345');
      await sessionStart(r, call);
      const bridge = await callBridge(r, call);
      const agent = await answeredLeg(r, agentLeg(call, '1002', 'offer-1'));
      let from = r.mark();
      await r.ok('POST', `/bridges/${bridge}/addChannel`, { query: { channel: agent.one } });
      await r.waitFor('hotline', (e) => e.type === 'ChannelEnteredBridge' && e.channel?.id === agent.one, 'agent in the bridge', { from });
      await r.settle(300);
      const target = await answeredLeg(r, handoffLeg(call, 'Local/12366@hotline-test-agents', 1, 3));
      from = r.mark();
      await r.ok('POST', `/bridges/${bridge}/addChannel`, { query: { channel: target.one } });
      await r.waitFor('hotline', (e) => e.type === 'ChannelEnteredBridge' && e.channel?.id === target.one, 'sub-centre in the bridge', { from });
      await r.settle(300);
      // The agent hangs up on their softphone: the ;2 half goes first.
      await r.ok('DELETE', `/channels/${agent.two}`);
      await r.destroyed('hotline', agent.one);
      await r.destroyed('hotline', agent.two);
      await r.settle(300);
      // hangup-target: the server ends the sub-centre leg from its side.
      await r.ok('DELETE', `/channels/${target.one}`, { query: { reason: 'normal' } });
      await r.destroyed('hotline', target.one);
      await r.destroyed('hotline', target.two);
      await r.settle(300);
      // goodbye: the server hangs up the caller.
      await r.ok('DELETE', `/channels/${call.two}`, { query: { reason: 'normal' } });
      await gone(r, call);
      await r.ok('DELETE', `/bridges/${bridge}`);
    },
  },
  {
    name: 'o05-stasis-args-and-system-busy-fallback',
    shows:
      'our dialplan\'s Stasis args: from-linkage on a Local channel with HOTLINE_REF set by the originator ([110, linkage, ' +
      'ref]; GET HOTLINE_REF), from-subcenter without a ref ([12366, subcenter, ""]) hung up unanswered with reason busy; ' +
      'then hotline\'s socket closed: a from-carrier call fails Stasis(), is answered and hears hotline/system-busy, hung up',
    async run(r) {
      const linkage = await citizenCall(r, '110', 'from-linkage', { HOTLINE_REF: 'R-110-0001' });
      await answer(r, linkage);
      await r.request('GET', `/channels/${linkage.two}/variable`, { query: { variable: 'HOTLINE_REF' } });
      await r.ok('DELETE', `/channels/${linkage.two}`, { query: { reason: 'normal' } });
      await gone(r, linkage);
      await r.settle(300);
      const sub = await citizenCall(r, '12366', 'from-subcenter');
      await r.request('GET', `/channels/${sub.two}/variable`, { query: { variable: 'HOTLINE_REF' } });
      await r.ok('DELETE', `/channels/${sub.two}`, { query: { reason: 'busy' } });
      await gone(r, sub);
      await r.settle(300);
      await r.disconnect('hotline', 'hotline websocket closed by client');
      const from = r.mark();
      const one = await r.ok('POST', '/channels', {
        query: { endpoint: 'Local/12345@from-carrier', app: 'testcaller', appArgs: 'caller', callerId: CITIZEN },
      });
      await r.waitFor('testcaller', isStart(one.id), 'the fallback answering the citizen', { from });
      await r.destroyed('testcaller', one.id, { timeoutMs: 20_000 });
      await r.settle(300);
      await r.connect('hotline', 'hotline websocket reconnected');
    },
  },
  {
    name: 'o06-ring-moh-hold-holding-bridge',
    shows:
      'ring/ringStop on an unanswered call, channel MOH start/stop with a class, hold/unhold, a holding bridge with bridge ' +
      'MOH start/stop, hold-caller as the server does it (removeChannel + MOH) and unhold (MOH stop + addChannel), then ' +
      'the server hangs the caller up',
    async run(r) {
      // A linkage call: from-carrier answers before Stasis, so only the other inbound contexts arrive unanswered.
      const call = await citizenCall(r, '12345', 'from-linkage');
      let from = r.mark();
      await r.ok('POST', `/channels/${call.two}/ring`);
      await r.waitFor('testcaller', (e) => e.type === 'Dial' && e.dialstatus === 'RINGING', 'Dial RINGING', { from });
      await r.ok('DELETE', `/channels/${call.two}/ring`);
      await sessionStart(r, call);
      await r.ok('POST', `/channels/${call.two}/moh`, { query: { mohClass: 'default' } });
      await r.settle(200);
      await r.ok('DELETE', `/channels/${call.two}/moh`);
      // Hold on a Local half raises no ChannelHold/ChannelUnhold for either app (the frame goes to ;1's reader).
      await r.ok('POST', `/channels/${call.two}/hold`);
      await r.settle(200);
      await r.ok('DELETE', `/channels/${call.two}/hold`);
      await r.settle(200);
      const holding = `hold-${call.two}`;
      await r.ok('POST', `/bridges/${holding}`, { query: { type: 'holding', name: holding } });
      from = r.mark();
      await r.ok('POST', `/bridges/${holding}/addChannel`, { query: { channel: call.two } });
      await r.waitFor('hotline', (e) => e.type === 'ChannelEnteredBridge', 'in the holding bridge', { from });
      await r.ok('POST', `/bridges/${holding}/moh`, { query: { mohClass: 'default' } });
      await r.settle(200);
      await r.ok('DELETE', `/bridges/${holding}/moh`);
      from = r.mark();
      await r.ok('POST', `/bridges/${holding}/removeChannel`, { query: { channel: call.two } });
      await r.waitFor('hotline', (e) => e.type === 'ChannelLeftBridge', 'out of the holding bridge', { from });
      await r.ok('DELETE', `/bridges/${holding}`);
      const bridge = await callBridge(r, call);
      // hold-caller
      from = r.mark();
      await r.ok('POST', `/bridges/${bridge}/removeChannel`, { query: { channel: call.two } });
      await r.waitFor('hotline', (e) => e.type === 'ChannelLeftBridge', 'caller out of the bridge', { from });
      await r.ok('POST', `/channels/${call.two}/moh`, { query: { mohClass: 'default' } });
      await r.settle(200);
      // unhold-caller
      from = r.mark();
      await r.ok('DELETE', `/channels/${call.two}/moh`);
      await r.ok('POST', `/bridges/${bridge}/addChannel`, { query: { channel: call.two } });
      await r.waitFor('hotline', (e) => e.type === 'ChannelEnteredBridge', 'caller back in the bridge', { from });
      await r.settle(200);
      await r.ok('DELETE', `/channels/${call.two}`, { query: { reason: 'normal' } });
      await gone(r, call);
      await r.ok('DELETE', `/bridges/${bridge}`);
    },
  },
  {
    name: 'o07-playback-ids-dtmf-snapshot-continue',
    shows:
      'play with our own playback id and lang=zh (playWithId), DTMF from the citizen during it, the playback stopped, a ' +
      'media list played to the end, the resync snapshot (GET /applications/hotline, /channels, /bridges, /channels/{id}), ' +
      'then continue with no target: StasisEnd and the dialplan carries on to Hangup()',
    async run(r) {
      const call = await citizenCall(r, '12345');
      await sessionStart(r, call);
      const first = `pb-${call.two}-1`;
      let from = r.mark();
      await r.ok('POST', `/channels/${call.two}/play/${first}`, { query: { media: 'sound:hotline/welcome', lang: 'zh' } });
      await r.waitFor('hotline', (e) => e.type === 'PlaybackStarted' && e.playback?.id === first, 'welcome started', { from });
      await r.ok('POST', `/channels/${call.one}/dtmf`, { query: { dtmf: '1' } });
      await r.waitFor('hotline', (e) => e.type === 'ChannelDtmfReceived', 'DTMF 1', { from });
      await r.ok('DELETE', `/playbacks/${first}`);
      await r.waitFor('hotline', (e) => e.type === 'PlaybackFinished' && e.playback?.id === first, 'welcome stopped', { from });
      const second = `pb-${call.two}-2`;
      from = r.mark();
      await r.ok('POST', `/channels/${call.two}/play/${second}`, { query: { media: 'sound:hotline/date-month,digits:12', lang: 'zh' } });
      await r.waitFor('hotline', (e) => e.type === 'PlaybackFinished' && e.playback?.id === second, 'list finished', { from, timeoutMs: 10_000 });
      await r.ok('GET', '/applications/hotline');
      await r.ok('GET', '/channels');
      await r.ok('GET', '/bridges');
      await r.ok('GET', `/channels/${call.two}`);
      await r.ok('POST', `/channels/${call.two}/continue`);
      await gone(r, call);
    },
  },
  {
    name: 'o08-errors-the-adapter-classifies',
    shows:
      'the error answers src/telephony/ari-telephony.ts classifies by message: unknown channel / variable / bridge / ' +
      'playback / live recording, a bridge id or channel id or recording name taken twice, removing a ' +
      'channel that is not in the bridge, a Local originate to a context that does not exist (200, then both halves ' +
      'destroyed with cause 0 and no Dial), operations on a channel that has just been hung up',
    async run(r) {
      await r.request('GET', '/channels/no-such-channel');
      await r.request('DELETE', '/channels/no-such-channel', { query: { reason: 'normal' } });
      await r.request('GET', '/channels/no-such-channel/variable', { query: { variable: 'HOTLINE_REF' } });
      await r.request('DELETE', '/playbacks/no-such-playback');
      await r.request('POST', '/recordings/live/no-such-recording/stop');
      await r.request('DELETE', '/bridges/no-such-bridge');
      const call = await citizenCall(r, '12345');
      await sessionStart(r, call);
      await r.request('GET', `/channels/${call.two}/variable`, { query: { variable: 'HOTLINE_NO_SUCH' } });
      const bridge = `call-${call.two}`;
      await r.ok('POST', `/bridges/${bridge}`, { query: { type: 'mixing', name: bridge } });
      await r.request('POST', `/bridges/${bridge}`, { query: { type: 'mixing', name: bridge } });
      await r.request('POST', `/bridges/${bridge}/removeChannel`, { query: { channel: call.two } });
      await r.request('POST', `/bridges/${bridge}/addChannel`, { query: { channel: 'no-such-channel' } });
      await r.request('POST', '/channels', { query: { endpoint: 'Local/1001@hotline-test-agents', app: 'hotline', channelId: call.two } });
      let from = r.mark();
      const pb = `pb-${call.two}-1`;
      await r.ok('POST', `/channels/${call.two}/play/${pb}`, { query: { media: 'sound:hotline/welcome', lang: 'zh' } });
      await r.waitFor('hotline', (e) => e.type === 'PlaybackStarted', 'welcome started', { from });
      await r.ok('DELETE', `/playbacks/${pb}`);
      await r.waitFor('hotline', (e) => e.type === 'PlaybackFinished', 'welcome stopped', { from });
      from = r.mark();
      await r.ok('POST', `/bridges/${bridge}/addChannel`, { query: { channel: call.two } });
      await r.waitFor('hotline', (e) => e.type === 'ChannelEnteredBridge', 'caller in the bridge', { from });
      const rec = `rec-${call.two}-1`;
      await r.ok('POST', `/bridges/${bridge}/record`, { query: { name: rec, format: 'wav', ifExists: 'fail', beep: 'false' } });
      await r.request('POST', `/bridges/${bridge}/record`, { query: { name: rec, format: 'wav', ifExists: 'fail', beep: 'false' } });
      await r.waitFor('hotline', (e) => e.type === 'RecordingStarted', 'recording started', { from });
      await r.ok('POST', `/recordings/live/${rec}/stop`);
      await r.waitFor('hotline', (e) => e.type === 'RecordingFinished', 'recording finished', { from });
      // A hand-off target whose context does not exist (a misconfigured dial string).
      from = r.mark();
      const bad = await r.request('POST', '/channels', {
        query: { endpoint: 'Local/12366@no-such-context', app: 'hotline', appArgs: `handoff-leg,${call.two},1`, channelId: `${call.two}-h1`, timeout: 3 },
      });
      if (bad.status === 200) await r.destroyed('hotline', `${call.two}-h1`);
      await r.settle(300);
      // The caller hangs up; the server's late cleanup calls then meet a vanished channel.
      await citizenHangsUp(r, call);
      await r.request('DELETE', `/channels/${call.two}/moh`);
      await r.request('POST', `/bridges/${bridge}/removeChannel`, { query: { channel: call.two } });
      await r.request('DELETE', `/channels/${call.two}`, { query: { reason: 'normal' } });
      await r.ok('DELETE', `/bridges/${bridge}`);
      await r.request('DELETE', `/bridges/${bridge}`);
      await r.request('DELETE', `/recordings/stored/${rec}`);
    },
  },
  {
    name: 'o09-admission-gate-refuses-before-answer',
    shows:
      'the admission gate of from-carrier (src/admission/gate.ts): HOTLINE_GATE_UNTIL ahead of EPOCH and HOTLINE_GATE_PCT=100 ' +
      'set as globals over ARI (204), a citizen call is refused before answer: hotline sees nothing, the Local pair is ' +
      'destroyed (;2 hung up with cause 17, user busy, after UserEvent); with the share back at 0 the next call reaches hotline',
    async run(r) {
      // A far UNTIL: the replay runs at another time than the recording.
      await r.ok('POST', '/asterisk/variable', { query: { variable: 'HOTLINE_GATE_UNTIL', value: '4102444800' } });
      await r.ok('POST', '/asterisk/variable', { query: { variable: 'HOTLINE_GATE_PCT', value: '100' } });
      await r.request('GET', '/asterisk/variable', { query: { variable: 'HOTLINE_GATE_PCT' } });
      const one = await r.ok('POST', '/channels', {
        query: { endpoint: 'Local/12345@from-carrier', app: 'testcaller', appArgs: 'caller', callerId: CITIZEN },
      });
      await r.destroyed('testcaller', one.id);
      await r.settle(300);
      await r.ok('POST', '/asterisk/variable', { query: { variable: 'HOTLINE_GATE_PCT', value: '0' } });
      const call = await citizenCall(r, '12345');
      await citizenHangsUp(r, call);
      await r.ok('POST', '/asterisk/variable', { query: { variable: 'HOTLINE_GATE_UNTIL', value: '' } });
    },
  },
];
