/** What the call session needs of the caller guard (calls/abuse.ts). */
export type GuardVerdict =
  | { action: 'ok' }
  | { action: 'limit'; announce: string; priorityDelta: number; reason: 'frequent' | 'silent' }
  | { action: 'block'; announce: string };

export interface CallGuardPort {
  check(number: string, source: string): Promise<GuardVerdict>;
  recordSilent(number: string, source: string): Promise<void>;
}
