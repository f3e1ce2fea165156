/**
 * The ACD port: what the call session (src/calls/) sees of the seats and queues.
 *
 * @remarks
 * Offer lifecycle, as the session must drive it:
 * 1. `enqueue` a caller (the session plays MOH and position announcements using `position`).
 * 2. The ACD picks an agent and calls the `onOffer` listener — only on the instance that owns the call.
 *    The session originates `dialString` with `timeoutSec` as the ring timeout.
 * 3. On agent answer: `offerAnswered(offerId)`. If it returns false the offer expired or was
 *    withdrawn (caller left, lease lost): the session must hang up the agent leg. If true, bridge.
 *    When the agent leg fails: `offerFailed(offerId, reason)` — the call stays queued and goes to the
 *    next agent; the missing agent's miss count grows (auto-pause after M misses).
 * 4. When the bridged call ends: `callEnded(callId, agentId)` → agent in wrap-up, then available.
 *    The caller must also `leave(callId, 'answered')` once bridged (or `'abandoned'` if the caller hung
 *    up while waiting) so that the queue entry and statistics are settled.
 * 5. Callbacks: `requestCallback` keeps the entry's original join time; the offer for it arrives with
 *    `callback` set: the session dials the agent first, then the citizen.
 *    After the citizen answers → `leave(callId,'answered')`; if the citizen does not answer, call
 *    `offerFailed(offerId, 'unreachable')` for retries (the agent is not charged a miss).
 */

export type LeaveReason = 'abandoned' | 'answered' | 'callback-requested' | 'transferred' | 'ended';
/**
 * Why an offer failed. `no-answer`, `busy` and `unreachable` count as a miss for the agent (M misses →
 * auto-pause). `rejected` means the session itself declined or dropped the offer (its caller is leaving,
 * it is not in the queue phase): the agent is not blamed and keeps their idle time.
 */
export type OfferFailure = 'no-answer' | 'busy' | 'rejected' | 'unreachable';

export interface EnqueueRequest {
  callId: string;
  /** The skill needed, e.g. `general`, `12333`, `enterprise`, `medical-insurance`. */
  skill: string;
  /** Higher is served first (linkage hand-ins and enterprise lines are higher). */
  priority: number;
  /** Epoch ms when the caller started waiting. */
  joinedAt: number;
  /** Minimum skill level (1–5); defaults to 1. */
  minLevel?: number;
  lineNumber?: string;
  language?: string;
  callback?: { number: string };
}

export interface QueuePosition {
  /** 1-based position among calls that compete for the same agents. */
  position: number;
  expectedWaitSec: number;
}

export interface Offer {
  offerId: string;
  callId: string;
  agentId: string;
  dialString: string;
  timeoutSec: number;
  /** Set when this offer is for a fair callback: dial the agent, then this number. */
  callback?: { number: string; attempt: number };
}

export interface AcdPort {
  enqueue(e: EnqueueRequest): Promise<QueuePosition>;
  /** The caller leaves the queue; an abandon is recorded with its wait time. */
  leave(callId: string, reason: LeaveReason, at: number): Promise<void>;
  position(callId: string): Promise<QueuePosition | undefined>;
  /** Only offers for calls owned by this instance. Returns an unsubscribe function. */
  onOffer(listener: (offer: Offer) => void): () => void;
  /** False if the offer expired or was taken: the session must hang up the agent leg. */
  offerAnswered(offerId: string, at: number): Promise<boolean>;
  offerFailed(offerId: string, reason: OfferFailure, at: number): Promise<void>;
  /** Agent → wrap-up, then available. */
  callEnded(callId: string, agentId: string, at: number): Promise<void>;
  /**
   * A call of a dead instance is adopted by this one: its queue entry (if still there) becomes ours,
   * and the agent it talks to (if any) is on this call again. `entry`: the entry was still queued.
   */
  adoptCall(callId: string, agentId: string | undefined, at: number): Promise<{ entry: boolean; agent: boolean }>;
  /** Fair callback: keeps the original join time; offered only when an agent is free. */
  requestCallback(callId: string, number: string, at: number): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
