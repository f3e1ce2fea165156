/**
 * The self-healing ACD's pure decision (src/acd/self-heal.ts healPlan): what
 * Redis holds for this instance against what its sessions know is live.
 */
import { describe, expect, it } from 'vitest';
import { healPlan, type HealInput, type TrackedCallback, type TrackedWait } from '../../src/acd/self-heal.js';
import type { AgentRuntime, EntryRecord } from '../../src/acd/redis-acd.js';

const ME = 'i1';
const entry = (callId: string, extra: Partial<EntryRecord> = {}): EntryRecord => ({ callId, skill: 'general', minLevel: 0, priority: 0, joinedAt: 1000, owner: ME, state: 'queued', cbAttempts: 0, ...extra });
const rt = (extra: Partial<AgentRuntime>): AgentRuntime => ({ state: 'available', reason: '', since: 0, idleSince: 0, misses: 0, loggedIn: true, registered: true, ...extra });
const wait = (callId: string, confirmed = true): [string, TrackedWait] => [callId, { request: { callId, skill: 'general', priority: 0, joinedAt: 1000 }, confirmed }];

function input(o: Partial<HealInput> & { live?: string[] }): HealInput {
  const live = new Set(o.live ?? []);
  return { instanceId: ME, now: 5000, entries: [], agents: [], waiting: new Map(), connected: new Map(), callbacks: new Map(), isLive: (id) => live.has(id), ...o };
}

describe('healPlan', () => {
  it('GIVEN entries of calls that ended while Redis was away THEN they are dropped; live waiting callers, callbacks and other instances\' entries are kept', () => {
    const plan = healPlan(
      input({
        entries: [entry('gone1'), entry('gone2', { state: 'offered', offerId: 'o1', agentId: 'a1' }), entry('live'), entry('cb', { callback: '13900000000' }), entry('theirs', { owner: 'i2' })],
        waiting: new Map([wait('live')]),
        live: ['live'],
      }),
    );
    expect(plan).toEqual([
      { kind: 'drop-entry', callId: 'gone1' },
      { kind: 'drop-entry', callId: 'gone2' },
    ]);
  });

  it('GIVEN a live waiting caller whose entry is gone THEN it is re-queued with its request; one still being enqueued is left alone; a gone one is forgotten', () => {
    const plan = healPlan(input({ waiting: new Map([wait('lost'), wait('inflight', false), wait('ended')]), live: ['lost', 'inflight'] }));
    expect(plan).toEqual([
      { kind: 'requeue', request: { callId: 'lost', skill: 'general', priority: 0, joinedAt: 1000 } },
      { kind: 'forget', callId: 'ended' },
    ]);
  });

  it('GIVEN a promised callback whose entry is gone THEN it is restored, unless it expired', () => {
    const cb = (id: string, expiresAt: number): [string, TrackedCallback] => [id, { request: { callId: id, skill: 'general', priority: 0, joinedAt: 900 }, number: '13900000001', at: 950, expiresAt }];
    const plan = healPlan(input({ callbacks: new Map([cb('kept', 9999), cb('lost', 9999), cb('old', 10)]), entries: [entry('kept', { callback: '13900000001' })] }));
    expect(plan).toEqual([{ kind: 'restore-callback', callback: expect.objectContaining({ number: '13900000001', request: expect.objectContaining({ callId: 'lost' }) }) }]);
  });

  it('GIVEN agents held by calls of ours that are gone THEN they are freed; agents on live calls, on a callback being dialled or of another instance are not', () => {
    const plan = healPlan(
      input({
        entries: [entry('cb', { callback: '1390', state: 'connecting', agentId: 'a4' }), entry('waiting')],
        agents: [
          { id: 'a1', rt: rt({ state: 'on-call', callId: 'gone', owner: ME }) },
          { id: 'a2', rt: rt({ state: 'on-call', callId: 'talking', owner: ME }) },
          { id: 'a3', rt: rt({ state: 'ringing', callId: 'gone2', offerId: 'o9', owner: ME }) },
          { id: 'a4', rt: rt({ state: 'on-call', callId: 'cb', owner: ME }) },
          { id: 'a5', rt: rt({ state: 'on-call', callId: 'x', owner: 'i2' }) },
          { id: 'a6', rt: rt({ state: 'ringing', callId: 'waiting', offerId: 'o2', owner: ME }) },
        ],
        connected: new Map([['talking', new Set(['a2'])]]),
        waiting: new Map([wait('waiting')]),
        live: ['talking', 'waiting'],
      }),
    );
    expect(plan).toEqual([
      { kind: 'free-agent', agentId: 'a1', callId: 'gone', state: 'on-call' },
      { kind: 'free-agent', agentId: 'a3', callId: 'gone2', offerId: 'o9', state: 'ringing' },
    ]);
  });

  it('GIVEN everything consistent THEN there is nothing to do', () => {
    expect(healPlan(input({ entries: [entry('live')], waiting: new Map([wait('live')]), live: ['live'] }))).toEqual([]);
  });
});
