/**
 * The ARI adapter: the only module that talks ARI (through the thin client in ./ari-client.ts).
 *
 * @remarks
 * Lifecycle traps handled here (see ../shared/asterisk-ari/README.md):
 * - a lost events socket is reconnected by our own loop, for as long as it takes
 *   (state `reconnecting`, then a resync).
 * - REST promises can hang (refused HTTP sessions, a dead link):
 *   every request goes through {@link AriTelephony.request}, which caps the
 *   number in flight and rejects with a `timeout` TelephonyError.
 * - Asterisk does not replay missed events: after every (re)connect we take a
 *   snapshot (`GET /applications/<app>`, `/channels`, `/bridges`) and hand it
 *   to the link-state listeners, who resync their sessions from it.
 */
import type WebSocket from 'ws';
import type { Logger } from 'pino';
import {
  TelephonyError,
  type BridgeInfo,
  type ChannelInfo,
  type ContinueOptions,
  type LinkState,
  type OriginateOptions,
  type PlayOptions,
  type RecordOptions,
  type Telephony,
  type TelephonyErrorKind,
  type TelephonyEvent,
  type TelephonySnapshot,
} from './port.js';
import { Semaphore, withTimeout, TimeoutError } from './limits.js';
import { toChannelInfo, toTelephonyEvent } from './ari-events.js';
import { AriRest, openEvents, seg } from './ari-client.js';

export interface AriTelephonyOptions {
  url: string;
  user: string;
  password: string;
  app: string;
  requestTimeoutMs: number;
  maxInFlight: number;
  logger: Logger;
  /** Reconnect backoff of our own supervision loop. */
  backoff?: { initialMs: number; maxMs: number };
  /** Every settled request: operation, seconds (queueing for the in-flight cap included), error kind if it failed. */
  observe?: (operation: string, seconds: number, errorKind?: TelephonyErrorKind) => void;
}

/** One connection: the events socket of one generation (REST requests are allowed while it lives). */
interface AriClient {
  ws: WebSocket | undefined;
}

const CONNECT_TIMEOUT_MS = 10_000;

export class AriTelephony implements Telephony {
  readonly appName: string;
  private state: LinkState = 'stopped';
  private client: AriClient | undefined;
  private generation = 0;
  private stopped = true;
  private readonly eventListeners = new Set<(e: TelephonyEvent) => void>();
  private readonly linkListeners = new Set<(s: LinkState, snap?: TelephonySnapshot) => void>();
  private readonly gate: Semaphore;
  private readonly log: Logger;
  private readonly backoff: { initialMs: number; maxMs: number };
  private wakeLoop: (() => void) | undefined;
  /** One pool of kept-alive sockets for the adapter's life: a lost events socket does not cut requests in flight. */
  private readonly rest: AriRest;

  constructor(private readonly opts: AriTelephonyOptions) {
    this.appName = opts.app;
    this.gate = new Semaphore(opts.maxInFlight);
    this.log = opts.logger.child({ component: 'ari' });
    this.backoff = opts.backoff ?? { initialMs: 200, maxMs: 10_000 };
    this.rest = new AriRest({ url: opts.url, user: opts.user, password: opts.password, maxSockets: opts.maxInFlight });
  }

  get linkState(): LinkState {
    return this.state;
  }

  onEvent(listener: (event: TelephonyEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onLinkState(listener: (state: LinkState, snapshot?: TelephonySnapshot) => void): () => void {
    this.linkListeners.add(listener);
    return () => this.linkListeners.delete(listener);
  }

  /** Start supervising the connection. Resolves at once; watch {@link linkState}. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.supervise();
  }

  /** Wait until the link is connected (or the timeout passes). */
  async whenConnected(timeoutMs: number): Promise<void> {
    if (this.state === 'connected') return;
    await withTimeout(
      new Promise<void>((resolve) => {
        const off = this.onLinkState((s) => {
          if (s === 'connected') {
            off();
            resolve();
          }
        });
      }),
      timeoutMs,
      'ARI connection',
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeLoop?.();
    await this.dropClient();
    this.rest.close();
    this.setState('stopped');
  }

  /**
   * Close the events WebSocket from our side, as if the network dropped it.
   * Operations use it to force a resync; tests use it to prove reconnection
   * against the simulated PBX and a real Asterisk alike.
   */
  dropEventSocket(): void {
    this.client?.ws?.terminate();
  }

  private setState(state: LinkState, snapshot?: TelephonySnapshot): void {
    if (this.state === state && !snapshot) return;
    const previous = this.state;
    this.state = state;
    this.log.info({ from: previous, to: state }, 'ARI link state changed');
    for (const l of this.linkListeners) {
      try {
        l(state, snapshot);
      } catch (err) {
        this.log.error({ err }, 'link-state listener failed');
      }
    }
  }

  /**
   * Let go of the current client. Resolves once its events socket is closed
   * (bounded), so that after stop() Asterisk no longer routes Stasis() to us.
   */
  private dropClient(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.generation++;
    if (!c) return Promise.resolve();
    const ws = c.ws;
    const closed =
      ws && ws.readyState < 2
        ? withTimeout(new Promise<void>((resolve) => ws.once('close', () => resolve())), 2000, 'ARI socket close').catch(() => undefined)
        : Promise.resolve();
    try {
      ws?.close();
    } catch {
      // the socket may already be gone
    }
    return closed;
  }

  /** Our own reconnect loop: runs until stop(). */
  private async supervise(): Promise<void> {
    let delay = this.backoff.initialMs;
    let first = true;
    while (!this.stopped) {
      if (this.state !== 'reconnecting') this.setState(first ? 'connecting' : 'reconnecting');
      first = false;
      const gen = ++this.generation;
      const lost = new Promise<void>((resolve) => (this.wakeLoop = resolve));
      let wasConnected = false;
      try {
        const client: AriClient = { ws: undefined };
        this.client = client;
        client.ws = await withTimeout(
          openEvents(
            { url: this.opts.url, user: this.opts.user, password: this.opts.password, app: this.opts.app },
            {
              onEvent: (raw) => {
                if (gen === this.generation) this.dispatch(raw);
              },
              onClose: (why) => {
                if (gen !== this.generation) return;
                this.log.warn({ why }, 'ARI events socket lost; reconnecting');
                // Reported at once (readiness turns false), then the loop reconnects and resyncs.
                this.setState('reconnecting');
                this.wakeLoop?.();
              },
              onError: (err) => {
                if (gen === this.generation) this.log.warn({ err: describeError(err) }, 'ARI events socket error');
              },
            },
          ),
          CONNECT_TIMEOUT_MS,
          'ARI events socket',
        );
        if (this.stopped || gen !== this.generation) {
          client.ws.terminate();
          continue;
        }
        delay = this.backoff.initialMs;
        wasConnected = await this.onConnected(gen);
        await lost; // until the socket is lost or we stop
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err: describeError(err), retryInMs: delay }, 'ARI connection attempt failed');
      }
      if (this.stopped) break;
      await this.dropClient();
      if (wasConnected && this.state === 'reconnecting') {
        // A lost socket: try again at once, as the link was fine a moment ago.
        await sleep(Math.min(100, delay));
        continue;
      }
      this.setState('disconnected');
      await sleep(delay);
      delay = Math.min(delay * 2, this.backoff.maxMs);
    }
  }

  private dispatch(raw: Record<string, unknown>): void {
    const event = toTelephonyEvent(raw);
    if (!event) return;
    for (const l of this.eventListeners) {
      try {
        l(event);
      } catch (err) {
        this.log.error({ err, eventType: event.type }, 'telephony event listener failed');
      }
    }
  }

  private async onConnected(gen: number): Promise<boolean> {
    let snapshot: TelephonySnapshot | undefined;
    try {
      snapshot = await this.snapshot();
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'resync snapshot failed; reconnecting');
      if (gen === this.generation) this.dropEventSocket();
      return false;
    }
    if (gen !== this.generation) return false;
    this.log.info(
      { channels: snapshot.appChannelIds.length, bridges: snapshot.appBridgeIds.length },
      'ARI connected; resynced from Asterisk',
    );
    this.setState('connected', snapshot);
    return true;
  }

  /**
   * Run one ARI operation with the in-flight cap and the timeout.
   * Errors become {@link TelephonyError}s with a stable kind.
   */
  private async request<T>(operation: string, call: (rest: AriRest) => Promise<T>): Promise<T> {
    const client = this.client ? this.rest : undefined;
    if (!client) throw new TelephonyError('disconnected', operation, 'ARI is not connected');
    const started = performance.now();
    const release = await this.gate.acquire();
    try {
      const result = await withTimeout(call(client), this.opts.requestTimeoutMs, operation);
      this.opts.observe?.(operation, (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      const e = toTelephonyError(operation, err);
      this.opts.observe?.(operation, (performance.now() - started) / 1000, e.kind);
      throw e;
    } finally {
      release();
    }
  }

  /** Like request() but a vanished channel/bridge/playback is a normal outcome. */
  private async cleanup(operation: string, call: (rest: AriRest) => Promise<unknown>): Promise<void> {
    try {
      await this.request(operation, call);
    } catch (err) {
      if (err instanceof TelephonyError && (err.kind === 'not-found' || err.kind === 'conflict')) return;
      throw err;
    }
  }

  answer(channelId: string): Promise<void> {
    return this.request('answer', (r) => r.call('POST', `/channels/${seg(channelId)}/answer`));
  }

  hangup(channelId: string, reason = 'normal'): Promise<void> {
    return this.cleanup('hangup', (r) => r.call('DELETE', `/channels/${seg(channelId)}`, { reason }));
  }

  ring(channelId: string): Promise<void> {
    return this.request('ring', (r) => r.call('POST', `/channels/${seg(channelId)}/ring`));
  }

  ringStop(channelId: string): Promise<void> {
    return this.cleanup('ringStop', (r) => r.call('DELETE', `/channels/${seg(channelId)}/ring`));
  }

  async play(channelId: string, media: string | string[], options: PlayOptions = {}): Promise<string> {
    const q = { media: Array.isArray(media) ? media.join(',') : media, lang: options.lang || undefined };
    if (options.playbackId) {
      const id = options.playbackId;
      await this.request('play', (r) => r.call('POST', `/channels/${seg(channelId)}/play/${seg(id)}`, q));
      return id;
    }
    const pb = await this.request('play', (r) => r.call<{ id: string }>('POST', `/channels/${seg(channelId)}/play`, q));
    return String(pb.id);
  }

  stopPlayback(playbackId: string): Promise<void> {
    return this.cleanup('stopPlayback', (r) => r.call('DELETE', `/playbacks/${seg(playbackId)}`));
  }

  startMoh(channelId: string, mohClass?: string): Promise<void> {
    return this.request('startMoh', (r) => r.call('POST', `/channels/${seg(channelId)}/moh`, { mohClass: mohClass || undefined }));
  }

  stopMoh(channelId: string): Promise<void> {
    return this.cleanup('stopMoh', (r) => r.call('DELETE', `/channels/${seg(channelId)}/moh`));
  }

  hold(channelId: string): Promise<void> {
    return this.request('hold', (r) => r.call('POST', `/channels/${seg(channelId)}/hold`));
  }

  unhold(channelId: string): Promise<void> {
    return this.cleanup('unhold', (r) => r.call('DELETE', `/channels/${seg(channelId)}/hold`));
  }

  sendDtmf(channelId: string, dtmf: string): Promise<void> {
    return this.request('sendDtmf', (r) => r.call('POST', `/channels/${seg(channelId)}/dtmf`, { dtmf }));
  }

  async getVariable(channelId: string, variable: string): Promise<string | undefined> {
    try {
      const v = await this.request('getVariable', (r) => r.call<{ value?: string } | undefined>('GET', `/channels/${seg(channelId)}/variable`, { variable }));
      return v?.value;
    } catch (err) {
      if (err instanceof TelephonyError && err.kind === 'not-found' && /variable/i.test(err.message)) return undefined;
      throw err;
    }
  }

  setVariable(channelId: string, variable: string, value: string): Promise<void> {
    return this.request('setVariable', (r) => r.call('POST', `/channels/${seg(channelId)}/variable`, { variable, value }));
  }

  continueInDialplan(channelId: string, options: ContinueOptions = {}): Promise<void> {
    return this.request('continue', (r) =>
      r.call('POST', `/channels/${seg(channelId)}/continue`, { context: options.context, extension: options.extension, priority: options.priority, label: options.label }),
    );
  }

  async originate(o: OriginateOptions): Promise<ChannelInfo> {
    const q = {
      endpoint: o.endpoint,
      app: o.app,
      appArgs: o.appArgs ? o.appArgs.join(',') : undefined,
      callerId: o.callerId || undefined,
      timeout: o.timeoutSec,
      channelId: o.channelId || undefined,
      otherChannelId: o.otherChannelId || undefined,
    };
    const ch = await this.request('originate', (r) => r.call<Record<string, unknown>>('POST', '/channels', q, o.variables ? { variables: o.variables } : undefined));
    return toChannelInfo(ch);
  }

  async getChannel(channelId: string): Promise<ChannelInfo | undefined> {
    try {
      const ch = await this.request('getChannel', (r) => r.call<Record<string, unknown>>('GET', `/channels/${seg(channelId)}`));
      return toChannelInfo(ch);
    } catch (err) {
      if (err instanceof TelephonyError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  createBridge(bridgeId: string, type: 'mixing' | 'holding', name?: string): Promise<void> {
    return this.request('createBridge', (r) => r.call('POST', `/bridges/${seg(bridgeId)}`, { type, name: name || undefined }));
  }

  destroyBridge(bridgeId: string): Promise<void> {
    return this.cleanup('destroyBridge', (r) => r.call('DELETE', `/bridges/${seg(bridgeId)}`));
  }

  addToBridge(bridgeId: string, channelIds: string[], role?: string): Promise<void> {
    return this.request('addToBridge', (r) => r.call('POST', `/bridges/${seg(bridgeId)}/addChannel`, { channel: channelIds.join(','), role: role || undefined }));
  }

  removeFromBridge(bridgeId: string, channelIds: string[]): Promise<void> {
    return this.cleanup('removeFromBridge', (r) => r.call('POST', `/bridges/${seg(bridgeId)}/removeChannel`, { channel: channelIds.join(',') }));
  }

  startBridgeMoh(bridgeId: string, mohClass?: string): Promise<void> {
    return this.request('startBridgeMoh', (r) => r.call('POST', `/bridges/${seg(bridgeId)}/moh`, { mohClass: mohClass || undefined }));
  }

  stopBridgeMoh(bridgeId: string): Promise<void> {
    return this.cleanup('stopBridgeMoh', (r) => r.call('DELETE', `/bridges/${seg(bridgeId)}/moh`));
  }

  recordBridge(bridgeId: string, o: RecordOptions): Promise<void> {
    return this.request('recordBridge', (r) =>
      r.call('POST', `/bridges/${seg(bridgeId)}/record`, {
        name: o.name,
        format: o.format ?? 'wav',
        maxDurationSeconds: o.maxDurationSeconds,
        ifExists: o.ifExists ?? 'fail',
        beep: o.beep ?? false,
      }),
    );
  }

  stopRecording(name: string): Promise<void> {
    return this.cleanup('stopRecording', (r) => r.call('POST', `/recordings/live/${seg(name)}/stop`));
  }

  async snapshot(): Promise<TelephonySnapshot> {
    const [app, channels, bridges] = await Promise.all([
      this.request('getApplication', (r) => r.call<{ channel_ids?: string[]; bridge_ids?: string[] }>('GET', `/applications/${seg(this.opts.app)}`)),
      this.request('listChannels', (r) => r.call<Record<string, unknown>[]>('GET', '/channels')),
      this.request('listBridges', (r) => r.call<Record<string, unknown>[]>('GET', '/bridges')),
    ]);
    return {
      appChannelIds: [...(app.channel_ids ?? [])],
      appBridgeIds: [...(app.bridge_ids ?? [])],
      channels: channels.map(toChannelInfo),
      bridges: bridges.map(toBridgeInfo),
    };
  }
}

function toBridgeInfo(b: Record<string, unknown>): BridgeInfo {
  return {
    id: String(b.id),
    technology: String(b.technology ?? ''),
    bridge_type: String(b.bridge_type ?? ''),
    bridge_class: String(b.bridge_class ?? ''),
    name: String(b.name ?? ''),
    channels: Array.isArray(b.channels) ? b.channels.map(String) : [],
  };
}

/**
 * ari-client turns an HTTP error into `new Error(<response body>)`, losing the
 * status; Asterisk's messages are stable, so we classify by them.
 */
export function toTelephonyError(operation: string, err: unknown): TelephonyError {
  if (err instanceof TelephonyError) return err;
  if (err instanceof TimeoutError) return new TelephonyError('timeout', operation, err.message);
  const raw = err instanceof Error ? err.message : String(err);
  let message = raw;
  try {
    const body = JSON.parse(raw) as { message?: string; error?: string };
    message = body.message ?? body.error ?? raw;
  } catch {
    // not a JSON body: a transport error
  }
  let kind: TelephonyErrorKind = 'failed';
  if (/not found/i.test(message)) kind = 'not-found';
  else if (/not in stasis|not in a stasis|already|in use|not in (this |a )?bridge|not up|conflict/i.test(message)) kind = 'conflict';
  else if (/must be specified|invalid|required|missing|bad request|unprocessable/i.test(message)) kind = 'bad-request';
  else if (/ECONNREFUSED|ECONNRESET|socket hang up|EPIPE|ENOTFOUND|EHOSTUNREACH/i.test(message)) kind = 'disconnected';
  return new TelephonyError(kind, operation, message);
}

function describeError(err: unknown): string | undefined {
  if (err === undefined || err === null) return undefined;
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
