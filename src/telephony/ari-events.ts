/** Normalisation of raw ARI WebSocket events into the port's {@link TelephonyEvent}s. */
import type { ChannelInfo, TelephonyEvent } from './port.js';

type Raw = Record<string, any>;

export function toChannelInfo(c: Raw): ChannelInfo {
  return {
    id: String(c.id),
    name: String(c.name ?? ''),
    state: String(c.state ?? ''),
    caller: { name: String(c.caller?.name ?? ''), number: String(c.caller?.number ?? '') },
    connected: { name: String(c.connected?.name ?? ''), number: String(c.connected?.number ?? '') },
    dialplan: {
      context: String(c.dialplan?.context ?? ''),
      exten: String(c.dialplan?.exten ?? ''),
      priority: Number(c.dialplan?.priority ?? 0),
    },
    creationtime: String(c.creationtime ?? ''),
    language: String(c.language ?? ''),
    ...(c.channelvars && typeof c.channelvars === 'object' ? { variables: stringValues(c.channelvars as Raw) } : {}),
  };
}

function stringValues(o: Raw): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) out[k] = v === null || v === undefined ? '' : String(v);
  return out;
}

function idFromUri(uri: string): string {
  const i = uri.indexOf(':');
  return i >= 0 ? uri.slice(i + 1) : uri;
}

/**
 * The ARI event types {@link toTelephonyEvent} turns into port events; every other type is dropped
 * here anyway. The adapter asks Asterisk for these only (the application's event filter), so the
 * rest — ChannelVarset alone is five of a simple call's ten events — is neither serialised by
 * Asterisk nor parsed and turned into resource objects by ari-client.
 */
export const HANDLED_EVENT_TYPES = [
  'StasisStart',
  'StasisEnd',
  'ChannelStateChange',
  'ChannelDtmfReceived',
  'ChannelHangupRequest',
  'ChannelDestroyed',
  // Not PlaybackStarted: no call logic waits for a prompt to start (only for it to finish), and it is
  // one of the five events of every simple call.
  'PlaybackFinished',
  'ChannelEnteredBridge',
  'ChannelLeftBridge',
  'RecordingStarted',
  'RecordingFinished',
  'RecordingFailed',
  'Dial',
] as const satisfies readonly TelephonyEvent['type'][];

/** Returns undefined for events call logic does not need. */
export function toTelephonyEvent(e: Raw): TelephonyEvent | undefined {
  switch (e.type) {
    case 'StasisStart':
      return {
        type: 'StasisStart',
        channel: toChannelInfo(e.channel),
        args: Array.isArray(e.args) ? e.args.map(String) : [],
        ...(e.replace_channel ? { replaceChannelId: String(e.replace_channel.id) } : {}),
      };
    case 'StasisEnd':
      return { type: 'StasisEnd', channel: toChannelInfo(e.channel) };
    case 'ChannelStateChange':
      return { type: 'ChannelStateChange', channel: toChannelInfo(e.channel) };
    case 'ChannelDtmfReceived':
      return {
        type: 'ChannelDtmfReceived',
        channel: toChannelInfo(e.channel),
        digit: String(e.digit),
        durationMs: Number(e.duration_ms ?? 0),
      };
    case 'ChannelHangupRequest':
      return { type: 'ChannelHangupRequest', channel: toChannelInfo(e.channel), cause: Number(e.cause ?? 0) };
    case 'ChannelDestroyed':
      return {
        type: 'ChannelDestroyed',
        channel: toChannelInfo(e.channel),
        cause: Number(e.cause ?? 0),
        causeTxt: String(e.cause_txt ?? ''),
      };
    case 'PlaybackFinished': {
      const pb = e.playback ?? {};
      return {
        type: 'PlaybackFinished',
        playbackId: String(pb.id),
        targetUri: String(pb.target_uri ?? ''),
        mediaUri: String(pb.media_uri ?? ''),
        state: String(pb.state ?? ''),
      };
    }
    case 'ChannelEnteredBridge':
    case 'ChannelLeftBridge':
      return { type: e.type, bridgeId: String(e.bridge?.id), channel: toChannelInfo(e.channel) };
    case 'RecordingStarted':
    case 'RecordingFinished':
    case 'RecordingFailed': {
      const r = e.recording ?? {};
      const base = { name: String(r.name), targetUri: String(r.target_uri ?? '') };
      if (e.type === 'RecordingStarted') return { type: 'RecordingStarted', ...base };
      if (e.type === 'RecordingFinished') {
        return { type: 'RecordingFinished', ...base, ...(r.duration !== undefined ? { durationSec: Number(r.duration) } : {}) };
      }
      return { type: 'RecordingFailed', ...base, ...(r.cause ? { cause: String(r.cause) } : {}) };
    }
    case 'Dial':
      return {
        type: 'Dial',
        peerId: String(e.peer?.id),
        ...(e.caller?.id ? { callerId: String(e.caller.id) } : {}),
        dialstatus: String(e.dialstatus ?? ''),
      };
    default:
      return undefined;
  }
}

export { idFromUri };
