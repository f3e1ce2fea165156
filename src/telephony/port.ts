/**
 * The telephony port: the only view of Asterisk that call logic gets.
 *
 * @remarks
 * Call logic (calls/, ivr/, acd/, handoff/, recording/) depends on this
 * interface, never on the ARI client. The real implementation is
 * {@link AriTelephony}; tests run it against the simulated PBX or a real
 * Asterisk. Every method settles within the adapter's request timeout.
 * A channel or bridge that vanished is a normal outcome: the methods that only
 * clean up (hangup, stopPlayback, destroyBridge, removeFromBridge, stopMoh)
 * resolve quietly on "not found".
 */

/** Connection state of the ARI link, as reported by /readyz. */
export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'stopped';

export interface CallerId {
  name: string;
  number: string;
}

/** What we keep of an ARI Channel object. */
export interface ChannelInfo {
  id: string;
  name: string;
  state: string;
  caller: CallerId;
  connected: CallerId;
  dialplan: { context: string; exten: string; priority: number };
  creationtime: string;
  language: string;
  /**
   * Channel variables Asterisk sends with the channel (ari.conf `channelvars`), by name; absent when
   * the PBX sends none (then ask with getVariable).
   */
  variables?: Record<string, string>;
}

export interface BridgeInfo {
  id: string;
  technology: string;
  bridge_type: string;
  bridge_class: string;
  name: string;
  channels: string[];
}

/** Events the port emits, normalised from ARI's WebSocket events. */
export type TelephonyEvent =
  | { type: 'StasisStart'; channel: ChannelInfo; args: string[]; replaceChannelId?: string }
  | { type: 'StasisEnd'; channel: ChannelInfo }
  | { type: 'ChannelStateChange'; channel: ChannelInfo }
  | { type: 'ChannelDtmfReceived'; channel: ChannelInfo; digit: string; durationMs: number }
  | { type: 'ChannelHangupRequest'; channel: ChannelInfo; cause: number }
  | { type: 'ChannelDestroyed'; channel: ChannelInfo; cause: number; causeTxt: string }
  | { type: 'PlaybackFinished'; playbackId: string; targetUri: string; mediaUri: string; state: string }
  | { type: 'ChannelEnteredBridge'; bridgeId: string; channel: ChannelInfo }
  | { type: 'ChannelLeftBridge'; bridgeId: string; channel: ChannelInfo }
  | { type: 'RecordingStarted'; name: string; targetUri: string }
  | { type: 'RecordingFinished'; name: string; targetUri: string; durationSec?: number }
  | { type: 'RecordingFailed'; name: string; targetUri: string; cause?: string }
  | { type: 'Dial'; peerId: string; callerId?: string; dialstatus: string };

export type TelephonyEventType = TelephonyEvent['type'];

export interface PlayOptions {
  /** Our own playback id, so that a later stop and the finished event can be matched. */
  playbackId?: string;
  /** Sound language, e.g. "zh" or "en". */
  lang?: string;
}

export interface OriginateOptions {
  endpoint: string;
  app: string;
  appArgs?: string[];
  callerId?: string;
  /** Seconds to wait for an answer (ARI `timeout`). */
  timeoutSec?: number;
  channelId?: string;
  otherChannelId?: string;
  variables?: Record<string, string>;
}

export interface RecordOptions {
  name: string;
  format?: string;
  maxDurationSeconds?: number;
  ifExists?: 'fail' | 'overwrite' | 'append';
  beep?: boolean;
}

export interface ContinueOptions {
  context?: string;
  extension?: string;
  priority?: number;
  label?: string;
}

/** A snapshot used to resync after a reconnect: what Asterisk has now. */
export interface TelephonySnapshot {
  /** Channel ids subscribed to our Stasis app. */
  appChannelIds: string[];
  /** Bridge ids subscribed to our Stasis app. */
  appBridgeIds: string[];
  channels: ChannelInfo[];
  bridges: BridgeInfo[];
}

export type TelephonyErrorKind = 'not-found' | 'conflict' | 'bad-request' | 'timeout' | 'disconnected' | 'failed';

/** Every failure of the port is one of these, with a stable kind. */
export class TelephonyError extends Error {
  constructor(
    readonly kind: TelephonyErrorKind,
    readonly operation: string,
    message: string,
  ) {
    super(`${operation}: ${message}`);
    this.name = 'TelephonyError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof TelephonyError && err.kind === 'not-found';
}

export interface Telephony {
  readonly appName: string;
  readonly linkState: LinkState;
  /** Subscribe to call events; returns an unsubscribe function. */
  onEvent(listener: (event: TelephonyEvent) => void): () => void;
  /** Subscribe to link-state changes (after each reconnect a snapshot follows). */
  onLinkState(listener: (state: LinkState, snapshot?: TelephonySnapshot) => void): () => void;

  answer(channelId: string): Promise<void>;
  hangup(channelId: string, reason?: string): Promise<void>;
  ring(channelId: string): Promise<void>;
  ringStop(channelId: string): Promise<void>;
  play(channelId: string, media: string | string[], options?: PlayOptions): Promise<string>;
  stopPlayback(playbackId: string): Promise<void>;
  startMoh(channelId: string, mohClass?: string): Promise<void>;
  stopMoh(channelId: string): Promise<void>;
  hold(channelId: string): Promise<void>;
  unhold(channelId: string): Promise<void>;
  sendDtmf(channelId: string, dtmf: string): Promise<void>;
  getVariable(channelId: string, name: string): Promise<string | undefined>;
  setVariable(channelId: string, name: string, value: string): Promise<void>;
  continueInDialplan(channelId: string, options?: ContinueOptions): Promise<void>;
  originate(options: OriginateOptions): Promise<ChannelInfo>;
  getChannel(channelId: string): Promise<ChannelInfo | undefined>;

  createBridge(bridgeId: string, type: 'mixing' | 'holding', name?: string): Promise<void>;
  destroyBridge(bridgeId: string): Promise<void>;
  addToBridge(bridgeId: string, channelIds: string[], role?: string): Promise<void>;
  removeFromBridge(bridgeId: string, channelIds: string[]): Promise<void>;
  startBridgeMoh(bridgeId: string, mohClass?: string): Promise<void>;
  stopBridgeMoh(bridgeId: string): Promise<void>;
  recordBridge(bridgeId: string, options: RecordOptions): Promise<void>;
  stopRecording(name: string): Promise<void>;

  /** What Asterisk has now for our app (used on resync; also callable by operators). */
  snapshot(): Promise<TelephonySnapshot>;
}
