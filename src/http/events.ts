/**
 * The one module that owns what is pushed to consoles: agent state changes,
 * call pops and hand-off notices. Payloads never carry a full phone number.
 */

export type ConsoleEvent =
  | { type: 'agent-state'; agentId: string; state: string; reason: string; at: number }
  /** A call for this agent: `ringing` while the softphone rings (before the answer), `connected` once answered. */
  | { type: 'call-pop'; agentId: string; callId: string; caller: string; dialed: string; line?: string; phase: 'ringing' | 'connected'; at: number }
  /** The call that rang this agent stopped ringing unanswered (no answer, caller left, offer withdrawn). */
  | { type: 'call-withdrawn'; agentId: string; callId: string; at: number }
  | { type: 'call-ended'; agentId: string; callId: string; at: number }
  /** A hand-off notice; on failures `target` and its `unit` (派单 to it instead). */
  | { type: 'handoff'; agentId: string; callId: string; code: string; message: string; target?: string; unit?: string; at: number };

export class ConsoleEvents {
  private readonly listeners = new Set<(e: ConsoleEvent) => void>();

  publish(e: ConsoleEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // a broken console connection must not affect calls
      }
    }
  }

  subscribe(listener: (e: ConsoleEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
