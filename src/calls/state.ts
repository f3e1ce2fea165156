/**
 * A call as a value: everything the call session knows about one call, as plain, versioned,
 * JSON-serialisable data, plus the events that move it and the commands (effects) it asks for.
 *
 * @remarks
 * `step(state, event, now) → { state, commands }` (calls/step.ts) is pure; the session
 * (calls/session.ts) only loads a state, steps it, runs the commands through the effect executor
 * (calls/effects.ts) and checkpoints the new state. Because the state is data — no functions, no
 * Maps, no Dates, timers as absolute deadlines — it can be written to a store and continued by
 * another process.
 */
import type { Offer, QueuePosition } from '../acd/port.js';
import type { HandoffKind, HandoffState, HandoffTarget } from '../handoff/machine.js';
import type { SegmentResult } from '../recording/service.js';
import type { ChannelInfo, OriginateOptions, TelephonyEvent } from '../telephony/port.js';
import type { GuardVerdict } from './abuse-port.js';
import type { RouteDecision, TicketStatusResult } from './ports.js';
import type { CallOutcome, CallRecord, CallSource } from './record.js';

/** Bumped whenever the shape of {@link CallState} changes; a store refuses other versions. */
export const CALL_STATE_VERSION = 1;

export type CallPhase = 'starting' | 'ivr' | 'queue' | 'agent' | 'handoff' | 'survey' | 'ending' | 'ended';
export const CALL_PHASES: readonly CallPhase[] = ['starting', 'ivr', 'queue', 'agent', 'handoff', 'survey', 'ending', 'ended'];

/** Our own timers (the IVR engine's tokens never start with `#`). */
export const TIMER_ANNOUNCE = '#announce';
export const TIMER_CALLBACK_CONFIRM = '#callback-confirm';
export const TIMER_HANGUP_RETRY = '#hangup-retry';

/** A failed hangup of the caller (ARI down) is retried this often before the record is closed anyway. */
export const HANGUP_RETRIES = 30;
export const HANGUP_RETRY_MS = 2_000;
/** The callback confirmation is followed by a hangup, at the latest after this long. */
export const CALLBACK_CONFIRM_MS = 15_000;

/** The hotline's own number: the line of calls that came in on no legacy line. */
export const HOTLINE_NUMBER = '12345';

/** Route id of calls refused by the hop limit. */
export const LOOP_ROUTE_ID = 'routing-loop';

/** Derive a bridge id from the call id (resync can find it again after a restart). */
export function callBridgeId(callId: string): string {
  return `call-${callId}`;
}

export interface AgentLeg {
  channelId: string;
  offer: Offer;
  answered: boolean;
  dialStatus?: string;
}

export interface TargetLeg {
  channelId: string;
  answered: boolean;
  dialStatus?: string;
}

export interface CallState {
  v: typeof CALL_STATE_VERSION;
  callId: string;
  phase: CallPhase;
  /** The call record as it will become the ticket job. */
  record: CallRecord;
  /** Language prompts are played in now (the caller may switch). */
  language: string;
  /** Times this call had passed through our app when it arrived (0: straight from a trunk). */
  hops: number;
  /** Where the route sent the call (the IVR starts from it again when another instance adopts the call). */
  decision: RouteDecision | null;
  /** The IVR engine's own state (plain data, see ivr/types.ts IvrState); null before the route is known. */
  ivr: unknown;
  /** Playbacks in progress: playback id → token the IVR (or we) wait for. */
  playbacks: Record<string, string>;
  playSeq: number;
  /** Timers as absolute deadlines (epoch ms), by token. */
  timers: Record<string, number>;
  /** The queue entry (when the caller last joined the queue). */
  queue: { skill: string; priority: number; queuedAt: number } | null;
  agentLeg: AgentLeg | null;
  /** Agent that took the call last (hand-off notices go to them). */
  lastAgentId: string | null;
  handoff: HandoffState;
  handoffSeq: number;
  targetLeg: TargetLeg | null;
  /** The call's mixing bridge once created (its id is derived from the call id). */
  bridgeId: string | null;
  /** The route's recording decision and the bridge segment being recorded (0: none yet). */
  recording: { enabled: boolean; segment: number; open: boolean };
  surveyed: boolean;
  /** The caller got what they came for without an agent (a ticket status was read out). */
  selfServed: boolean;
  /** Failed hangups of the caller so far, and the outcome the call ends with. */
  hangup: { tries: number; outcome: CallOutcome } | null;
}

/** The new call: nothing done yet (the `begin` event starts it). */
export function initialCallState(
  channel: Pick<ChannelInfo, 'id' | 'name' | 'caller' | 'language' | 'dialplan'>,
  args: string[],
  o: { now: number; instanceId: string; recovered?: boolean },
): CallState {
  const dialed = args[0] || channel.dialplan.exten || '';
  const source = normaliseSource(args[1]);
  const language = channel.language === 'en' ? 'en' : 'zh';
  const record: CallRecord = {
    callId: channel.id,
    channelName: channel.name,
    caller: { number: channel.caller.number, name: channel.caller.name },
    dialed,
    source,
    ...(args[2] ? { linkageRef: sanitizeRef(args[2]) } : {}),
    language,
    startedAt: o.now,
    path: [],
    agents: [],
    handoffs: [],
    recovered: Boolean(o.recovered),
    instance: o.instanceId,
  };
  return {
    v: CALL_STATE_VERSION,
    callId: channel.id,
    phase: 'starting',
    record,
    language,
    hops: 0,
    decision: null,
    ivr: null,
    playbacks: {},
    playSeq: 0,
    timers: {},
    queue: null,
    agentLeg: null,
    lastAgentId: null,
    handoff: { phase: 'idle' },
    handoffSeq: 0,
    targetLeg: null,
    bridgeId: null,
    recording: { enabled: true, segment: 0, open: false },
    surveyed: false,
    selfServed: false,
    hangup: null,
  };
}

export function normaliseSource(s: string | undefined): CallSource {
  switch (s) {
    case 'carrier':
    case 'linkage':
    case 'subcenter':
    case 'agent':
    case 'callback':
      return s;
    default:
      return 'unknown';
  }
}

/** A reference from a SIP header: keep it short and printable (it lands on the ticket). */
export function sanitizeRef(ref: string): string {
  return ref.replace(/[^\w\-.:/#]/g, '').slice(0, 64);
}

// ---- events ------------------------------------------------------------------

/** What moves a call: telephony events, timers, the ACD, the agent's console, and the results of commands. */
export type CallEvent =
  | { type: 'begin' }
  | { type: 'telephony'; event: TelephonyEvent }
  | { type: 'timer'; token: string }
  | { type: 'offer'; offer: Offer }
  | { type: 'handoff-request'; kind: HandoffKind; target: HandoffTarget }
  | { type: 'handoff-command'; command: 'complete' | 'merge' | 'cancel' | 'agent-leave' }
  /** The call is over as seen from outside (resync found the channel gone, a hangup succeeded). */
  | { type: 'finish'; by: 'caller' | 'system' | 'agent'; outcome: CallOutcome }
  /**
   * This instance adopted the call from a dead one: what Asterisk has now (the channels in our app,
   * and the channels in the call's bridge, null when it has none). Missed events are not replayed.
   */
  | { type: 'adopt'; instanceId: string; channels: string[]; bridge: string[] | null }
  // Results of commands, fed back by the executor.
  | { type: 'answered' }
  | { type: 'ref-read'; value: string | null }
  | { type: 'vars-read'; area: string | null; hops: string | null }
  | { type: 'routed'; decision: RouteDecision | null; error: string | null; verdict: GuardVerdict }
  | { type: 'enqueued'; position: number; expectedWaitSec: number }
  | { type: 'queue-position'; position: QueuePosition | null }
  | { type: 'callback-registered' }
  | { type: 'acd-adopted'; entry: boolean; agent: boolean }
  | { type: 'agent-originated'; offerId: string }
  | { type: 'offer-answer'; offerId: string; ok: boolean }
  | { type: 'agent-bridged'; agentId: string }
  | { type: 'ticket-status'; token: string; result: TicketStatusResult; error: string | null }
  | { type: 'segment-started'; segment: number; result: SegmentResult }
  /** A command failed; `cmd.why` says in which step, the phase handlers decide what follows. */
  | { type: 'effect-failed'; cmd: Command; notFound: boolean; message: string };

// ---- commands ----------------------------------------------------------------

/**
 * How a command is run. `when`: `active` = skip it if the call went to ending/ended since the command
 * was emitted (IVR commands), `live` (default) = skip it if the call ended since, `always` = cleanup.
 * `onFail`: `abort` (default) skips the rest of the batch, `continue` runs it. `background`: not awaited.
 * `then`: the event fed back when the command succeeded.
 */
export interface CommandMeta {
  why: string;
  when?: 'active' | 'live' | 'always';
  onFail?: 'abort' | 'continue';
  background?: boolean;
  then?: CallEvent;
}

export type Effect =
  | { do: 'answer' }
  | { do: 'read-ref' }
  | { do: 'read-vars' }
  | { do: 'route'; dialed: string; source: CallSource; at: number; area: string | null; caller: string; checkGuard: boolean }
  | { do: 'play'; playbackId: string; uris: string[]; lang: string; token: string }
  | { do: 'stop-playback'; playbackId: string }
  | { do: 'start-moh' }
  | { do: 'stop-moh' }
  | { do: 'hangup'; channelId: string }
  | { do: 'hangup-caller'; outcome: CallOutcome }
  | { do: 'originate'; options: Omit<OriginateOptions, 'app'> & { appArgs: string[] }; offerId: string | null }
  | { do: 'create-bridge'; bridgeId: string }
  | { do: 'destroy-bridge'; bridgeId: string }
  | { do: 'add-to-bridge'; bridgeId: string; channelIds: string[] }
  | { do: 'remove-from-bridge'; bridgeId: string; channelIds: string[] }
  | { do: 'acd-enqueue'; skill: string; priority: number; joinedAt: number; lineNumber: string; language: string }
  | { do: 'acd-position' }
  | { do: 'acd-adopt'; agentId: string | null; at: number }
  | { do: 'acd-request-callback'; number: string; at: number }
  | { do: 'acd-offer-failed'; offerId: string; reason: 'no-answer' | 'busy' | 'rejected' | 'unreachable'; at: number }
  | { do: 'acd-offer-answered'; offerId: string; at: number }
  | { do: 'acd-leave'; reason: 'abandoned' | 'answered' | 'callback-requested'; at: number }
  | { do: 'acd-call-ended'; agentId: string; at: number }
  | { do: 'lookup-ticket'; ticketNo: string; token: string }
  | { do: 'recording-start'; bridgeId: string; segment: number; party: string | null; enabled: boolean }
  | { do: 'recording-end'; segment: number }
  | { do: 'notify-agent'; agentId: string; notice: { code: string; message: string; target?: string; unit?: string } }
  | { do: 'agent-connected'; agentId: string }
  | { do: 'agent-ringing'; agentId: string; change: 'ringing' | 'withdrawn' }
  | { do: 'loop-refused' }
  | { do: 'silent-call'; number: string; source: CallSource }
  /** The end of the call: run these side by side, stop the recording, then destroy the bridge. */
  | { do: 'cleanup'; parallel: Effect[]; recordingStop: boolean; bridgeId: string | null }
  /** The record is final: hand it to the ticket pipeline (exactly once). */
  | { do: 'ended'; record: CallRecord };

export type Command = Effect & CommandMeta;

export interface StepResult {
  state: CallState;
  commands: Command[];
}

// ---- invariants --------------------------------------------------------------

/** Problems with a state (empty when valid): what the property tests check after every step. */
export function callStateProblems(s: CallState): string[] {
  const p: string[] = [];
  const need = (ok: boolean, what: string) => {
    if (!ok) p.push(what);
  };
  need(s.v === CALL_STATE_VERSION, `v is ${String(s.v)}`);
  need(CALL_PHASES.includes(s.phase), `unknown phase ${s.phase}`);
  need(s.callId === s.record.callId, 'callId differs from record.callId');
  need(undefinedAt(s, 'state') === null, `undefined value at ${undefinedAt(s, 'state')}`);
  for (const [token, at] of Object.entries(s.timers)) need(Number.isFinite(at), `timer ${token} has no deadline`);
  for (const id of Object.keys(s.playbacks)) need(id.startsWith(`${s.callId}-p`), `playback ${id} is not ours`);
  need(s.playSeq >= Object.keys(s.playbacks).length, 'more playbacks than were started');
  need(s.recording.segment >= 0 && (!s.recording.open || s.recording.segment > 0), 'open recording without a segment');
  need(!s.hangup || (s.hangup.tries >= 0 && s.hangup.tries <= HANGUP_RETRIES), 'hangup retries out of bounds');
  need(s.phase === 'starting' || s.phase === 'ended' || s.ivr !== null || s.queue !== null, 'a started call without IVR state');
  need(s.phase !== 'queue' || s.queue !== null, 'queued without a queue entry');
  if (s.agentLeg?.answered) need(s.record.agents.includes(s.agentLeg.offer.agentId), 'answered agent not on the record');
  if (s.agentLeg) need(s.agentLeg.channelId.startsWith(s.callId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60)), 'agent leg id not derived from the call');
  if (s.targetLeg) need(s.targetLeg.channelId.startsWith(`${s.callId}-h`), 'target leg id not derived from the call');
  need(s.bridgeId === null || s.bridgeId === callBridgeId(s.callId), 'bridge id not derived from the call');
  if (s.phase === 'ended') {
    need(Object.keys(s.timers).length === 0, 'ended with timers');
    need(Object.keys(s.playbacks).length === 0, 'ended with playbacks');
    need(s.agentLeg === null && s.targetLeg === null, 'ended with legs');
    need(s.bridgeId === null, 'ended with a bridge');
    need(s.record.endedAt !== undefined && s.record.outcome !== undefined && s.record.endedBy !== undefined, 'ended without end, outcome or ender');
  } else {
    need(s.record.endedAt === undefined, 'endedAt set on a live call');
  }
  for (let i = 1; i < s.record.path.length; i++) need(s.record.path[i]!.at >= s.record.path[i - 1]!.at, 'path goes back in time');
  return p;
}

/** The path of the first `undefined` (JSON would drop it: the state would not round-trip), or null. */
function undefinedAt(v: unknown, at: string): string | null {
  if (v === undefined) return at;
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') return at;
    if (typeof v === 'number' && !Number.isFinite(v)) return at;
    return null;
  }
  if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype) return at; // Map, Date, class instances
  for (const [k, x] of Object.entries(v)) {
    const found = undefinedAt(x, `${at}.${k}`);
    if (found) return found;
  }
  return null;
}
