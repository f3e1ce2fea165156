import type { HandoffLogEntry } from '../handoff/machine.js';

/**
 * The call record: what a call was, kept by its session and handed to the
 * ticket pipeline when the call ends. The caller number is stored in full here
 * (the ticket needs it for callbacks); it is masked wherever it is shown or logged.
 */

export type CallSource = 'carrier' | 'linkage' | 'subcenter' | 'agent' | 'callback' | 'unknown';

export type CallOutcome =
  | 'self-service' // ended in the IVR after a self-service step (ticket status, notice)
  | 'answered' // talked to an agent
  | 'abandoned-ivr' // caller hung up in the IVR before asking for an agent
  | 'abandoned-queue' // caller hung up while waiting for an agent
  | 'released' // we ended the call on purpose (cancelled number, closed line)
  | 'transferred' // handed to a target outside 12345 (sub-center, linkage)
  | 'callback-requested'
  | 'busy' // refused by admission control (over a limit): told busy and cleared, never queued
  | 'failed'; // our error or the PBX's; recorded, never silent

export interface CallPathStep {
  /** ms since epoch */
  at: number;
  kind: 'route' | 'ivr' | 'prompt' | 'dtmf' | 'queue' | 'agent' | 'transfer' | 'survey' | 'recording' | 'error' | 'note';
  detail: string;
  /** For a prompt: the language it was played in (a caller may switch language mid-call). */
  lang?: string;
}

export interface CallRecord {
  /** Asterisk's channel id of the caller's leg; the call's identity everywhere. */
  callId: string;
  channelName: string;
  caller: { number: string; name: string };
  dialed: string;
  source: CallSource;
  /** For a callback: the call whose caller asked for it (the ticket is that call's). */
  callbackOf?: string;
  /** An outbound call placed from the ticket by a user (src/outbound/): not a 回访 of the lifecycle. */
  outbound?: { kind: 'click-to-call'; by: string };
  /** Reference handed in by a linkage partner or sub-center (SIP header via the dialplan). */
  linkageRef?: string;
  area?: string;
  route?: { id: string; mode: string; line?: string; skill?: string };
  language: string;
  startedAt: number;
  answeredAt?: number;
  agentAnsweredAt?: number;
  endedAt?: number;
  hangupCause?: number;
  endedBy?: 'caller' | 'system' | 'agent';
  outcome?: CallOutcome;
  path: CallPathStep[];
  survey?: { rating: 1 | 2 | 3 | 4; at: number };
  /** Agent ids that talked with the caller. */
  agents: string[];
  /** Hand-offs (who, when, target, kind, result, ring and talk durations). */
  handoffs: HandoffLogEntry[];
  /** This record was rebuilt after a server restart or reconnect. */
  recovered: boolean;
  /** The server instance that ended the call. */
  instance: string;
}
