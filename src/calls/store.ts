/**
 * Where a session checkpoints its {@link CallState} after every change. In memory by default; the
 * durable store keeps it where another process can continue the call.
 */
import type { CallState } from './state.js';

export interface CallStateStore {
  /** The call's state changed (called after every step that changed it, in order). */
  save(state: CallState): void | Promise<void>;
  /** The call is over: forget it. */
  remove(callId: string): void | Promise<void>;
}

/** Keeps the latest state of each live call in this process (what tests and supervisors can read). */
export class MemoryCallStateStore implements CallStateStore {
  readonly states = new Map<string, CallState>();
  save(state: CallState): void {
    this.states.set(state.callId, state);
  }
  remove(callId: string): void {
    this.states.delete(callId);
  }
}
