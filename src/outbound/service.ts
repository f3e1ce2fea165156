/**
 * Click-to-call (外呼) from a ticket: checks (pure {@link decideClickToCall}),
 * per-user and per-ticket daily limits (one Redis script, so instances share
 * them and two clicks at once cannot both pass the last slot), the call itself
 * ({@link ClickToCall}), and what remains: one audit entry per call with its
 * outcome, the ticket's list of outbound calls (no numbers in it), the
 * recording linked to the ticket, and the answered call's record handed to the
 * ticket pipeline (attached to the ticket like a callback).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CallRecord } from '../calls/record.js';
import type { SessionIndex } from '../calls/session.js';
import type { StoredTicket } from '../tickets/store.js';
import type { Telephony } from '../telephony/port.js';
import { redisKey } from '../util/redis-keys.js';
import { ClickToCall, type ClickToCallDeps, type ClickToCallResult } from './click-to-call.js';
import { decideClickToCall, limitDay, limitRefusal, OUTBOUND_PAUSE_REASON, type OutboundLimits, type Refusal } from './policy.js';

export interface OutboundServiceDeps {
  redis: Redis;
  prefix: string;
  telephony: Telephony;
  index: SessionIndex;
  recording: ClickToCallDeps['recording'] & { linkTicket(callId: string, ticketNo: string): Promise<void> };
  audit: { record(e: { actor: string; action: string; target?: string; detail?: string; ip?: string }): Promise<void> };
  log: Logger;
  instanceId: string;
  now: () => number;
  limits: OutboundLimits;
  /** Dial strings: the user's softphone (`{ext}`) and the citizen (`{number}`). */
  userDialTemplate: string;
  citizenDialTemplate: string;
  callerId: string;
  userExtensions: Readonly<Record<string, string>>;
  userRingSec: number;
  citizenRingSec: number;
  /** The ACD's extension of an agent id. */
  agentExtension: (agentId: string) => Promise<string | undefined>;
  /** The agent's ACD state, and setting it (an available agent is paused while on a click-to-call, so no queue call rings them). */
  agentState: (agentId: string) => Promise<{ state: string; reason: string } | undefined>;
  setAgentState: (agentId: string, state: 'available' | 'paused', reason?: string) => Promise<unknown>;
  /** The answered call's record into the ticket pipeline (the outbox). */
  submitRecord: (record: CallRecord) => Promise<void>;
}

/** What the API shows of an outbound call: never a number. */
export interface OutboundCallView {
  id: string;
  ticketNo: string;
  by: string;
  state: 'ringing-user' | 'ringing-citizen' | 'talking' | 'ended';
  outcome?: ClickToCallResult['outcome'];
  startedAt: number;
  endedAt?: number;
  talkSec?: number;
  recording?: string;
}

export class OutboundRefused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}

// KEYS[1] user counter, KEYS[2] ticket counter; ARGV[1] user max, ARGV[2] ticket max, ARGV[3] ttl sec.
// Both limits checked and both counters taken in one step: 0 ok, 1 user limit, 2 ticket limit.
const TAKE = `
local u = tonumber(redis.call('GET', KEYS[1]) or '0')
local t = tonumber(redis.call('GET', KEYS[2]) or '0')
if u >= tonumber(ARGV[1]) then return {1, u + 1, t + 1} end
if t >= tonumber(ARGV[2]) then return {2, u + 1, t + 1} end
redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('INCR', KEYS[2]); redis.call('EXPIRE', KEYS[2], ARGV[3])
return {0, u + 1, t + 1}
`;

const HISTORY_KEEP = 200;

/** Letters only: the audit's number masking would mask a run of digits in an id (`out-263****5952`). */
function callId(): string {
  return `out-${[...randomBytes(12)].map((b) => String.fromCharCode(97 + (b % 26))).join('')}`;
}

export class OutboundService {
  private readonly live = new Map<string, ClickToCall>();
  /** Calls whose agent we paused: call id → agent id. */
  private readonly paused = new Map<string, string>();
  private readonly log: Logger;

  constructor(private readonly d: OutboundServiceDeps) {
    this.log = d.log.child({ component: 'outbound' });
  }

  private key(...parts: (string | number)[]): string {
    return redisKey(this.d.prefix, 'outbound', ...parts);
  }

  /**
   * Place a call from `user` to the citizen of `st`. Resolves once the user's
   * phone is being rung; refusals throw {@link OutboundRefused} and change nothing.
   */
  async clickToCall(st: StoredTicket, user: { username: string; roles: readonly string[]; agentId?: string }, ip?: string): Promise<OutboundCallView> {
    const number = st.record.caller.number;
    const agentExtension = user.agentId ? await this.d.agentExtension(user.agentId) : undefined;
    const configuredExtension = this.d.userExtensions[user.username];
    const agentState = user.agentId ? await this.d.agentState(user.agentId) : undefined;
    const decision = decideClickToCall({
      username: user.username,
      roles: user.roles,
      ...(agentExtension ? { agentExtension } : {}),
      ...(configuredExtension ? { configuredExtension } : {}),
      ticketHasNumber: /^\+?\d{3,20}$/.test(number ?? ''),
      ticketReady: !!st.ticket,
      userBusy: [...this.live.values()].some((c) => c.plan.username === user.username),
      ...(agentState ? { agentState: agentState.state } : {}),
    });
    if (!decision.ok) throw new OutboundRefused(decision.refusal);
    const day = limitDay(this.d.now());
    const [code, users, tickets] = (await this.d.redis.eval(
      TAKE,
      2,
      this.key('count', 'user', user.username, day),
      this.key('count', 'ticket', st.ticketNo, day),
      this.d.limits.maxPerUserDay,
      this.d.limits.maxPerTicketDay,
      2 * 86_400,
    )) as [number, number, number];
    if (code !== 0) throw new OutboundRefused(limitRefusal({ user: users, ticket: tickets }, this.d.limits)!);

    const id = callId();
    const call = new ClickToCall(
      { telephony: this.d.telephony, index: this.d.index, recording: this.d.recording, log: this.log, instanceId: this.d.instanceId, now: this.d.now },
      {
        id,
        ticketNo: st.ticketNo,
        ticketCallId: st.record.callId,
        username: user.username,
        ...(user.agentId ? { agentId: user.agentId } : {}),
        userEndpoint: this.d.userDialTemplate.replace('{ext}', decision.extension),
        citizenEndpoint: this.d.citizenDialTemplate.replace('{number}', number),
        citizenNumber: number,
        callerId: this.d.callerId,
        userRingSec: this.d.userRingSec,
        citizenRingSec: this.d.citizenRingSec,
      },
      (r) => void this.finished(r, ip).catch((err: Error) => this.log.error({ err: err.message, outbound: id }, 'outbound call not settled')),
    );
    this.live.set(id, call);
    if (user.agentId && agentState?.state === 'available') {
      await this.d.setAgentState(user.agentId, 'paused', OUTBOUND_PAUSE_REASON);
      this.paused.set(id, user.agentId);
    }
    // Audited when placed as well as when it ends: a call cut off by a restart still leaves its trace.
    await this.d.audit.record({ actor: user.username, action: 'outbound-call-placed', target: `ticket:${st.ticketNo}`, detail: id, ...(ip ? { ip } : {}) });
    await call.start();
    return this.view(call);
  }

  private async finished(r: ClickToCallResult, ip?: string): Promise<void> {
    this.live.delete(r.id);
    const agentId = this.paused.get(r.id);
    if (agentId) {
      this.paused.delete(r.id);
      // Undo only our own pause: an agent who chose 示忙 meanwhile stays so.
      const now = await this.d.agentState(agentId);
      if (now?.state === 'paused' && now.reason === OUTBOUND_PAUSE_REASON) await this.d.setAgentState(agentId, 'available');
    }
    const view: OutboundCallView = {
      id: r.id,
      ticketNo: r.ticketNo,
      by: r.username,
      state: 'ended',
      outcome: r.outcome,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      talkSec: r.talkSec,
      ...(r.recording ? { recording: r.recording } : {}),
    };
    const list = this.key('ticket', r.ticketNo);
    await this.d.redis.multi().lpush(list, JSON.stringify(view)).ltrim(list, 0, HISTORY_KEEP - 1).exec();
    await this.d.audit.record({
      actor: r.username,
      action: 'outbound-call',
      target: `ticket:${r.ticketNo}`,
      detail: `${r.id}: ${r.outcome}${r.talkSec ? `, ${r.talkSec} s` : ''}`,
      ...(ip ? { ip } : {}),
    });
    if (r.record) {
      await this.d.recording.linkTicket(r.record.callId, r.ticketNo);
      await this.d.submitRecord(r.record);
    }
  }

  private view(c: ClickToCall): OutboundCallView {
    return { id: c.plan.id, ticketNo: c.plan.ticketNo, by: c.plan.username, state: c.phase, startedAt: c.startedAt };
  }

  /** The ticket's outbound calls, newest first: live ones on this instance, then finished ones. */
  async list(ticketNo: string): Promise<OutboundCallView[]> {
    const live = [...this.live.values()].filter((c) => c.plan.ticketNo === ticketNo).map((c) => this.view(c));
    const done = (await this.d.redis.lrange(this.key('ticket', ticketNo), 0, HISTORY_KEEP - 1)).map((x) => JSON.parse(x) as OutboundCallView);
    return [...live, ...done];
  }

  /**
   * After a (re)connect: click-to-call bridges no live call of this instance owns are left from
   * before a restart (the call manager hangs up their legs, see calls/manager.ts); destroy them.
   */
  async resync(bridgeIds: readonly string[]): Promise<void> {
    const owned = new Set([...this.live.values()].map((c) => c.bridgeId));
    for (const id of bridgeIds) {
      if (!id.startsWith('outbound-out-') || owned.has(id)) continue;
      this.log.info({ bridge: id }, 'click-to-call bridge left from before a restart; destroying it');
      await this.d.telephony.destroyBridge(id).catch((err: Error) => this.log.warn({ err: err.message, bridge: id }, 'stale bridge not destroyed'));
    }
  }

  /** Calls in progress on this instance (tests, shutdown). */
  get active(): number {
    return this.live.size;
  }
}
