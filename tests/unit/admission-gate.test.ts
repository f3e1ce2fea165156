/**
 * The dialplan gate's decisions (src/admission/gate.ts): the share of new callers refused follows the
 * share admission control refused for instance-wide reasons, decays without them, is renewed on
 * Asterisk's clock while closed, opens without the AMI link, and a gated call's UserEvent becomes its
 * `busy` record.
 */
import { describe, expect, it } from 'vitest';
import { DialplanGate, GATE_DECAY, GATE_EXPIRY_SEC, GATE_HOLD_MS, gateWrite, nextGatePercent } from '../../src/admission/gate.js';
import type { CallRecord } from '../../src/calls/record.js';
import { createLogger } from '../../src/log/logger.js';
import { Writable } from 'node:stream';

const quiet = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

describe('gate share', () => {
  it('GIVEN admission refused a share f of the calls that got through WHEN the tick ends THEN the gate refuses 1 − (1 − p)(1 − f), at most the maximum', () => {
    expect(nextGatePercent(0, { decided: 100, refused: 25 }, 90, Infinity)).toBe(25);
    // Already refusing 50 % and still a fifth of the rest over the limit: 60 %.
    expect(nextGatePercent(50, { decided: 50, refused: 10 }, 90, 500)).toBe(60);
    expect(nextGatePercent(50, { decided: 10, refused: 10 }, 90, 500)).toBe(90);
    expect(nextGatePercent(0, { decided: 1, refused: 1 }, 100, Infinity)).toBe(100);
    // A refusal always raises it, however small its share.
    expect(nextGatePercent(40, { decided: 1000, refused: 1 }, 90, 500)).toBe(41);
  });
  it('GIVEN no instance-wide refusal in a tick WHEN it ends THEN the share holds for the hold time after the last refusal, then falls by the decay, not below 0', () => {
    expect(nextGatePercent(90, { decided: 30, refused: 0 }, 90, GATE_HOLD_MS - 1)).toBe(90);
    expect(nextGatePercent(90, { decided: 30, refused: 0 }, 90, GATE_HOLD_MS)).toBe(90 - GATE_DECAY);
    expect(nextGatePercent(5, { decided: 0, refused: 0 }, 90, Infinity)).toBe(0);
    expect(nextGatePercent(0, { decided: 0, refused: 0 }, 90, Infinity)).toBe(0);
  });
  it('writes on a change, renews about once a second while closed, and leaves an open gate alone', () => {
    expect(gateWrite({ percent: 0, writtenAt: 0 }, 30, 1000)).toEqual({ percent: 30 });
    expect(gateWrite({ percent: 30, writtenAt: 1000 }, 30, 1500)).toBeUndefined();
    expect(gateWrite({ percent: 30, writtenAt: 1000 }, 30, 2000)).toEqual({ percent: 30 });
    expect(gateWrite({ percent: 30, writtenAt: 1000 }, 0, 1500)).toEqual({ percent: 0 });
    expect(gateWrite({ percent: 0, writtenAt: 1000 }, 0, 9000)).toBeUndefined();
  });
});

function gateWith(o: { canRecord?: () => boolean; pbxOffsetMs?: number; failWrites?: boolean } = {}) {
  let now = 1_800_000_000_000;
  const globals: Array<[string, string]> = [];
  const records: CallRecord[] = [];
  const gate = new DialplanGate({
    maxPercent: 90,
    instanceId: 'i1',
    log: quiet,
    now: () => now,
    setGlobal: async (name, value) => {
      if (o.failWrites) throw new Error('ARI down');
      globals.push([name, value]);
    },
    pbxTime: async () => now + (o.pbxOffsetMs ?? 0),
    canRecord: o.canRecord ?? (() => true),
    onGated: (r) => records.push(r),
  });
  return { gate, globals, records, advance: (ms: number) => (now += ms), now: () => now };
}

const refuse = { admit: false as const, reason: 'calls' as const, detail: '501 calls on this instance (limit 500)' };

describe('DialplanGate', () => {
  it('GIVEN half the calls refused for the instance limit WHEN a tick passes THEN PCT and UNTIL (Asterisk’s clock + hold) are written; a full queue does not count', async () => {
    const g = gateWith({ pbxOffsetMs: 120_000 });
    g.gate.observe(refuse);
    g.gate.observe({ admit: true });
    g.gate.observe({ admit: false, reason: 'queue', detail: 'queue full' });
    g.gate.observe({ admit: true });
    await g.gate.step();
    expect(g.gate.percent).toBe(25);
    const until = Math.floor((g.now() + 120_000) / 1000) + GATE_EXPIRY_SEC;
    expect(g.globals).toEqual([['HOTLINE_GATE_PCT', '25'], ['HOTLINE_GATE_UNTIL', String(until)]]);
    // Every call that got through refused: the maximum. It holds while renewed, then decays to 0 and opens.
    g.advance(1000);
    g.gate.observe(refuse);
    await g.gate.step();
    expect(g.gate.percent).toBe(90);
    expect(g.globals.slice(-2)).toEqual([['HOTLINE_GATE_PCT', '90'], ['HOTLINE_GATE_UNTIL', String(until + 1)]]);
    for (let i = 0; i < GATE_HOLD_MS / 500 - 1; i++) {
      g.advance(500);
      await g.gate.step();
    }
    expect(g.gate.percent).toBe(90);
    expect(g.globals.at(-1)).toEqual(['HOTLINE_GATE_UNTIL', String(until + 1 + (GATE_HOLD_MS - 1000) / 1000)]);
    const ticksToOpen = Math.ceil(90 / GATE_DECAY);
    for (let i = 0; i < ticksToOpen - 1; i++) {
      g.advance(500);
      await g.gate.step();
    }
    expect(g.gate.percent).toBe(90 - (ticksToOpen - 1) * GATE_DECAY);
    g.advance(500);
    await g.gate.step();
    expect(g.gate.percent).toBe(0);
    expect(g.globals.at(-1)).toEqual(['HOTLINE_GATE_PCT', '0']);
  });

  it('GIVEN the AMI link is down WHEN calls are refused THEN the gate stays open (a gated call would leave no record)', async () => {
    const g = gateWith({ canRecord: () => false });
    g.gate.observe(refuse);
    await g.gate.step();
    expect(g.gate.percent).toBe(0);
    expect(g.globals).toEqual([]);
  });

  it('GIVEN ARI refuses the write WHEN a tick passes THEN nothing throws and the next tick writes again', async () => {
    const g = gateWith({ failWrites: true });
    g.gate.observe(refuse);
    await expect(g.gate.step()).resolves.toBeUndefined();
    expect(g.gate.percent).toBe(90);
  });

  it('GIVEN the dialplan’s UserEvent for a gated call WHEN it arrives THEN the call’s busy record names the caller, line and channel; other user events are ignored', () => {
    const g = gateWith();
    g.gate.onUserEvent({ event: 'UserEvent', userevent: 'Other', uniqueid: 'x' });
    g.gate.onUserEvent({
      event: 'UserEvent', userevent: 'HotlineGated', uniqueid: '1765100000.42', channel: 'PJSIP/carrier-0000002a',
      calleridnum: '13900004001', calleridname: '<unknown>', exten: '12345', language: 'zh',
    });
    expect(g.gate.gated).toBe(1);
    expect(g.records).toHaveLength(1);
    expect(g.records[0]).toMatchObject({
      callId: '1765100000.42', channelName: 'PJSIP/carrier-0000002a', caller: { number: '13900004001', name: '' },
      dialed: '12345', source: 'carrier', outcome: 'busy', endedBy: 'system', instance: 'i1',
    });
    expect(g.records[0]!.path[0]!.detail).toMatch(/gated in the dialplan/);
    // A call without caller id: Asterisk writes <unknown>, the record keeps no number.
    g.gate.onUserEvent({ event: 'UserEvent', userevent: 'HotlineGated', uniqueid: '1765100000.43', calleridnum: '<unknown>', calleridname: '<unknown>', exten: '12345' });
    expect(g.records[1]!.caller).toEqual({ number: '', name: '' });
  });
});
