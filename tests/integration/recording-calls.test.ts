/**
 * Recording answered calls through ARI against the PBX under test (simulated
 * by default, a real Asterisk with HOTLINE_TEST_ARI_URL): one recording per
 * bridge segment, linked to the call and then to its ticket; recording off
 * produces none; a recording that cannot start leaves the call connected and
 * flags the gap.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { recordingName, type RecordingGap } from '../../src/recording/model.js';
import { RecordingService } from '../../src/recording/service.js';
import { RecordingStore } from '../../src/recording/store.js';
import { AriTelephony } from '../../src/telephony/ari-telephony.js';
import { TelephonyError, type Telephony, type TelephonyEvent } from '../../src/telephony/port.js';
import { logSink } from '../support/log-capture.js';
import { startPbx, uniquePrefix, type PbxUnderTest } from '../support/pbx.js';
import { TestSide, type TestCall } from '../../sim-pbx/test-caller.js';
import { eventually } from '../support/wait.js';

let pbx: PbxUnderTest;
let side: TestSide;
let tel: AriTelephony;
let redis: Redis;
let dir: string;
const events: TelephonyEvent[] = [];
const log = createLogger({ level: 'info', destination: logSink });

beforeAll(async () => {
  pbx = await startPbx();
  side = await TestSide.connect(pbx);
  tel = new AriTelephony({ url: pbx.ariUrl, user: pbx.user, password: pbx.password, app: 'hotline', requestTimeoutMs: 3000, maxInFlight: 50, logger: log, backoff: { initialMs: 50, maxMs: 500 } });
  tel.onEvent((e) => events.push(e));
  tel.start();
  await tel.whenConnected(10_000);
  redis = new Redis(inject('redisUrl'));
  dir = mkdtempSync(join(tmpdir(), 'hotline-rec-'));
});

afterAll(async () => {
  await tel?.stop();
  await side?.close();
  await pbx?.stop();
  redis?.disconnect();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** A recording service on its own key prefix, fed by the adapter's events. */
function newService(telephony: Pick<Telephony, 'recordBridge' | 'stopRecording'> = tel, startTimeoutMs = 3000) {
  const gaps: RecordingGap[] = [];
  const store = new RecordingStore(redis, uniquePrefix('rec'));
  const service = new RecordingService({ telephony, store, log, recordingsDir: dir, onGap: (g) => gaps.push(g), startTimeoutMs });
  const off = tel.onEvent((e) => void service.onEvent(e));
  cleanups.push(async () => {
    off();
    service.close();
  });
  return { service, store, gaps };
}

function waitEvent(pred: (e: TelephonyEvent) => boolean, what: string): Promise<TelephonyEvent> {
  return eventually(() => {
    const e = events.find(pred);
    if (!e) throw new Error(`no ${what} yet`);
    return e;
  }, 10_000);
}

let callerSeq = 0;

/** What the call session does when an agent answers: caller and agent in the mixing bridge `call-<callId>`. */
async function answeredCall(agentExt = '1001'): Promise<{ call: TestCall; callId: string; bridgeId: string; agentLeg: string }> {
  const number = `1380013${String(9000 + ++callerSeq).padStart(4, '0')}`;
  const call = await side.call('12345', number);
  const start = await waitEvent((e) => e.type === 'StasisStart' && e.channel.caller.number === number && e.args[1] === 'carrier', 'caller StasisStart');
  const callId = (start as Extract<TelephonyEvent, { type: 'StasisStart' }>).channel.id;
  await tel.answer(callId);
  const bridgeId = `call-${callId}`;
  await tel.createBridge(bridgeId, 'mixing', bridgeId);
  await tel.addToBridge(bridgeId, [callId]);
  const agentLeg = await addLeg(callId, bridgeId, agentExt, 'a');
  cleanups.push(async () => {
    await call.hangup();
    await tel.hangup(agentLeg);
    await tel.destroyBridge(bridgeId);
  });
  return { call, callId, bridgeId, agentLeg };
}

/** Originate a leg (agent or hand-off target) into our app and bridge it. */
async function addLeg(callId: string, bridgeId: string, ext: string, tag: string): Promise<string> {
  const channelId = `${callId}-${tag}${ext}`;
  await tel.originate({ endpoint: `Local/${ext}@${pbx.agentContext}`, app: 'hotline', appArgs: ['agent-leg', callId], channelId, timeoutSec: 10 });
  await waitEvent((e) => e.type === 'StasisStart' && e.channel.id === channelId, `leg ${channelId} answered`);
  await tel.addToBridge(bridgeId, [channelId]);
  return channelId;
}

async function bridgeChannels(bridgeId: string): Promise<string[]> {
  const r = await side.request('GET', `/bridges/${bridgeId}`);
  return r.status === 200 ? (r.body.channels as string[]) : [];
}

describe('recording answered calls', () => {
  it('GIVEN caller and agent in the call bridge WHEN the segment starts THEN the bridge is recorded as call-<id>-seg1, linked to the call, then to its ticket', async () => {
    const { service, store } = newService();
    const { callId, bridgeId, agentLeg } = await answeredCall('1001');
    const name = recordingName(callId, 1);

    // WHEN
    const r = await service.segmentStarted({ callId, bridgeId, segment: 1, agentId: '1001', recordingEnabled: true, announce: true });

    // THEN Asterisk records the bridge under the deterministic name
    expect(r).toEqual({ status: 'started', name });
    await eventually(async () => expect((await store.get(name))?.state).toBe('recording'));
    const live = await side.request('GET', `/recordings/live/${name}`);
    expect(live.status).toBe(200);
    expect(live.body.target_uri).toBe(`bridge:${bridgeId}`);
    expect(await bridgeChannels(bridgeId)).toEqual(expect.arrayContaining([callId, agentLeg]));

    // WHEN the call ends THEN the recording is finished and stored
    await service.callEnded(callId);
    const done = await eventually(async () => {
      const m = await store.get(name);
      expect(m?.state).toBe('done');
      return m!;
    });
    expect(done).toMatchObject({ callId, segment: 1, bridgeId, agentId: '1001', announced: true, format: 'wav', legalHold: false });
    expect(done.durationSec).toBeGreaterThanOrEqual(0);
    expect((await side.request('GET', `/recordings/stored/${name}`)).status).toBe(200);

    // WHEN the file appears in the recordings directory THEN size and checksum are filled
    const audio = Buffer.from('RIFF....WAVEfmt '.repeat(64));
    writeFileSync(join(dir, `${name}.wav`), audio);
    expect(await service.fillFileInfo(name)).toBe(true);
    expect(await store.get(name)).toMatchObject({ size: audio.length, sha256: createHash('sha256').update(audio).digest('hex'), filePath: join(dir, `${name}.wav`) });
    expect(await store.filePending()).toEqual([]);

    // WHEN the ticket is created THEN the recording names it and the ticket lists it
    await service.linkTicket(callId, '0632202601010001');
    expect((await store.get(name))?.ticketNo).toBe('0632202601010001');
    expect((await service.byTicket('0632202601010001')).map((m) => m.name)).toEqual([name]);
    expect((await service.byCall(callId)).map((m) => m.name)).toEqual([name]);
  });

  it('GIVEN a three-way hand-off WHEN the agent leaves THEN two segments are recorded, both linked to the call and its ticket', async () => {
    const { service, store } = newService();
    const { callId, bridgeId, agentLeg } = await answeredCall('1002');
    await service.segmentStarted({ callId, bridgeId, segment: 1, agentId: '1002', recordingEnabled: true, announce: false });
    await eventually(async () => expect((await store.get(recordingName(callId, 1)))?.state).toBe('recording'));
    // The ticket may exist before the hand-off ends (the agent saved the form): later segments still get linked.
    await service.linkTicket(callId, '0632202601010002');

    // WHEN the sub-center joins (three-way) and the agent leaves: the session declares segment 2
    const target = await addLeg(callId, bridgeId, '2001', 'h');
    cleanups.push(() => tel.hangup(target));
    await tel.removeFromBridge(bridgeId, [agentLeg]);
    await tel.hangup(agentLeg);
    await service.segmentEnded({ callId, segment: 1 });
    const r2 = await service.segmentStarted({ callId, bridgeId, segment: 2, agentId: '2001', recordingEnabled: true, announce: false });
    expect(r2).toEqual({ status: 'started', name: recordingName(callId, 2) });

    // THEN segment 1 is finished, segment 2 records the bridge of caller + target
    await eventually(async () => {
      expect((await store.get(recordingName(callId, 1)))?.state).toBe('done');
      expect((await store.get(recordingName(callId, 2)))?.state).toBe('recording');
    });
    expect(await bridgeChannels(bridgeId)).toEqual(expect.arrayContaining([callId, target]));

    await service.callEnded(callId);
    const segments = await eventually(async () => {
      const list = await service.byCall(callId);
      expect(list.map((m) => m.state)).toEqual(['done', 'done']);
      return list;
    });
    expect(segments.map((m) => [m.segment, m.agentId, m.ticketNo])).toEqual([
      [1, '1002', '0632202601010002'],
      [2, '2001', '0632202601010002'],
    ]);
    expect((await service.byTicket('0632202601010002')).map((m) => m.segment)).toEqual([1, 2]);
  });

  it('GIVEN a route with recording off WHEN the agent answers THEN nothing is recorded and no gap is flagged', async () => {
    const { service, store, gaps } = newService();
    const { callId, bridgeId } = await answeredCall('1003');
    expect(service.shouldAnnounce({ record: false })).toBe(false);
    expect(service.shouldAnnounce({ record: true })).toBe(true);

    const r = await service.segmentStarted({ callId, bridgeId, segment: 1, agentId: '1003', recordingEnabled: false, announce: false });

    expect(r).toEqual({ status: 'off' });
    expect(await store.byCall(callId)).toEqual([]);
    expect((await side.request('GET', `/recordings/live/${recordingName(callId, 1)}`)).status).toBe(404);
    expect(gaps).toEqual([]);
    expect(await service.gapCount()).toBe(0);
  });

  it('GIVEN a bridge that does not exist WHEN recording starts THEN the call stays connected and the gap is flagged for supervisors', async () => {
    const { service, store, gaps } = newService();
    const { callId, bridgeId, agentLeg } = await answeredCall('1004');

    const r = await service.segmentStarted({ callId, bridgeId: `${bridgeId}-gone`, segment: 1, agentId: '1004', recordingEnabled: true, announce: true });

    expect(r).toMatchObject({ status: 'gap', reason: expect.stringMatching(/^start-failed: not-found/) });
    // the call goes on
    expect((await side.request('GET', `/channels/${callId}`)).status).toBe(200);
    expect(await bridgeChannels(bridgeId)).toEqual(expect.arrayContaining([callId, agentLeg]));
    // the gap is recorded and surfaced (list + counter + live listener); no metadata of a recording that never was
    expect(gaps).toEqual([expect.objectContaining({ callId, segment: 1, agentId: '1004', reason: expect.stringMatching(/not-found/) })]);
    expect(await service.gapCount()).toBe(1);
    expect((await service.gaps())[0]).toMatchObject({ callId, segment: 1, name: recordingName(callId, 1) });
    expect(await store.byCall(callId)).toEqual([]);
  });

  it('GIVEN a stored recording of the same name WHEN recording starts (ifExists=fail) THEN Asterisk refuses, the file is kept, the call goes on and the gap is flagged', async () => {
    const { service, store, gaps } = newService();
    const { callId, bridgeId } = await answeredCall('1005');
    const name = recordingName(callId, 1);
    // GIVEN Asterisk already has a stored recording with this name (e.g. left by a lost instance)
    expect((await side.request('POST', `/bridges/${bridgeId}/record`, { name, format: 'wav', ifExists: 'overwrite' })).status).toBe(201);
    await side.request('POST', `/recordings/live/${name}/stop`);
    await eventually(async () => expect((await side.request('GET', `/recordings/stored/${name}`)).status).toBe(200));

    const r = await service.segmentStarted({ callId, bridgeId, segment: 1, agentId: '1005', recordingEnabled: true, announce: true });

    expect(r).toMatchObject({ status: 'gap', reason: expect.stringMatching(/^start-failed: name-conflict/) });
    expect((await side.request('GET', `/recordings/stored/${name}`)).status).toBe(200);
    expect((await side.request('GET', `/channels/${callId}`)).status).toBe(200);
    expect(gaps.map((g) => g.callId)).toEqual([callId]);
    expect(await store.get(name)).toBeUndefined();
  });

  it('GIVEN segment 1 recording WHEN the session starts segment 1 again THEN our own name conflict is a gap, the first recording untouched', async () => {
    const { service, store } = newService();
    const { callId, bridgeId } = await answeredCall('1006');
    await service.segmentStarted({ callId, bridgeId, segment: 1, agentId: '1006', recordingEnabled: true, announce: true });
    await eventually(async () => expect((await store.get(recordingName(callId, 1)))?.state).toBe('recording'));

    const again = await service.segmentStarted({ callId, bridgeId, segment: 1, agentId: '9999', recordingEnabled: true, announce: true });

    expect(again).toMatchObject({ status: 'gap', reason: expect.stringMatching(/^name-conflict/) });
    expect(await store.get(recordingName(callId, 1))).toMatchObject({ state: 'recording', agentId: '1006' });
    await service.callEnded(callId);
  });

  it('GIVEN a started recording WHEN Asterisk reports RecordingFailed THEN the segment is failed and the gap flagged', async () => {
    const { service, store, gaps } = newService();
    const { callId, bridgeId } = await answeredCall('1007');
    const name = recordingName(callId, 1);
    await service.segmentStarted({ callId, bridgeId, segment: 1, agentId: '1007', recordingEnabled: true, announce: true });
    await eventually(async () => expect((await store.get(name))?.state).toBe('recording'));

    await service.onEvent({ type: 'RecordingFailed', name, targetUri: `bridge:${bridgeId}`, cause: 'disk full' });

    expect(await store.get(name)).toMatchObject({ state: 'failed', failure: 'disk full' });
    expect(gaps).toEqual([expect.objectContaining({ callId, segment: 1, reason: 'recording-failed: disk full' })]);
    expect((await side.request('GET', `/channels/${callId}`)).status).toBe(200);
    await service.callEnded(callId);
  });

  it('ignores recording events it did not name', async () => {
    const { service, gaps } = newService();
    await service.onEvent({ type: 'RecordingFailed', name: 'trace-rec-1', targetUri: 'bridge:x' });
    await service.onEvent({ type: 'RecordingFinished', name: 'call-nobody-seg1', targetUri: 'bridge:x' });
    expect(gaps).toEqual([]);
  });

  it('GIVEN the start request times out but reached Asterisk WHEN RecordingStarted comes THEN the segment records and no gap is flagged', async () => {
    const late: Pick<Telephony, 'recordBridge' | 'stopRecording'> = {
      recordBridge: async (b, o) => {
        await tel.recordBridge(b, o);
        throw new TelephonyError('timeout', 'recordBridge', 'timed out after 3000 ms');
      },
      stopRecording: (n) => tel.stopRecording(n),
    };
    const { service, store, gaps } = newService(late, 500);
    const { callId, bridgeId } = await answeredCall('1008');

    const r = await service.segmentStarted({ callId, bridgeId, segment: 1, agentId: '1008', recordingEnabled: true, announce: true });

    expect(r).toEqual({ status: 'unconfirmed', name: recordingName(callId, 1) });
    await eventually(async () => expect((await store.get(recordingName(callId, 1)))?.state).toBe('recording'));
    await new Promise((res) => setTimeout(res, 700));
    expect(gaps).toEqual([]);
    await service.callEnded(callId);
  });

  it('GIVEN the start request times out and nothing starts WHEN the watchdog fires THEN the gap is flagged and the call goes on', async () => {
    const lost: Pick<Telephony, 'recordBridge' | 'stopRecording'> = {
      recordBridge: async () => {
        throw new TelephonyError('timeout', 'recordBridge', 'timed out after 3000 ms');
      },
      stopRecording: (n) => tel.stopRecording(n),
    };
    const { service, store, gaps } = newService(lost, 300);
    const { callId, bridgeId } = await answeredCall('1009');

    expect((await service.segmentStarted({ callId, bridgeId, segment: 1, agentId: '1009', recordingEnabled: true, announce: true })).status).toBe('unconfirmed');

    await eventually(() => expect(gaps).toEqual([expect.objectContaining({ callId, segment: 1, reason: expect.stringMatching(/^no-start-event/) })]));
    expect(await store.get(recordingName(callId, 1))).toMatchObject({ state: 'failed' });
    expect((await side.request('GET', `/channels/${callId}`)).status).toBe(200);
  });
});
