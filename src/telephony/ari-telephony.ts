/**
 * The ARI adapter: the only module that knows ari-client and speaks ARI.
 *
 * @remarks
 * Three channels to Asterisk:
 * - ari-client connects (it loads and checks Asterisk's API declarations) and runs the operations of
 *   rarer moments: originate, bridges, recordings, variables, snapshots, the event filter.
 * - The operations every call makes (answer, play, hang-up, continue, ring, MOH, hold, DTMF) go
 *   through {@link AriRest}: plain requests over kept-alive connections, without swagger-client's
 *   per-request work.
 * - The events WebSocket is our own (`ws`): each message is parsed once and turned into a port event
 *   by ari-events.ts, without ari-client's resource object per event. A ping every
 *   `pingIntervalMs` finds a link that died without a close (a half-open TCP connection).
 *
 * Lifecycle traps handled here (see ../shared/asterisk-ari/README.md):
 * - REST promises can hang (refused HTTP sessions, a dead link): every request goes through
 *   {@link AriTelephony.run}, which caps the number in flight and rejects with a `timeout`
 *   TelephonyError.
 * - Asterisk does not replay missed events: after every (re)connect we take a snapshot
 *   (`GET /applications/<app>`, `/channels`, `/bridges`) and hand it to the link-state listeners,
 *   who resync their sessions from it.
 */
import ari from 'ari-client';
import WebSocket from 'ws';
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
import { HANDLED_EVENT_TYPES, toChannelInfo, toTelephonyEvent } from './ari-events.js';
import { AriRest, AriRestError, seg, type AriQuery } from './ari-rest.js';

// ari-client loads Asterisk's Swagger 1.2 resource listing with swagger-client 2.0, which defines a
// sloppy-mode global `log` that console.logs "This API is using a deprecated version of Swagger!" on
// every connect (Asterisk serves nothing newer, so it is noise) and keeps every message in `log.history`
// forever (a slow leak over reconnects). swagger-client calls the global at run time, so replacing it
// after the import silences it and keeps nothing; its only other messages are load errors, which reach
// us through ari-client's own error callbacks.
(globalThis as { log?: unknown }).log = function swaggerClientLog(): void {};

// shred (swagger-client's HTTP layer) allocates every ARI response body with the deprecated
// `new Buffer(n)`. Node never warns for code in node_modules, but to know that it captures and walks
// the caller's stack on every call (its first 10,000), until it has warned once: one silenced call
// from outside node_modules, here, is that once (≈ 4 µs saved per response, node 20).
{
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  try {
    new (Buffer as unknown as new (n: number) => Buffer)(0);
  } finally {
    process.noDeprecation = quiet;
  }
}

/** Operations that end a call's work in our app; they jump the in-flight queue. */
const RELIEVING = new Set(['hangup', 'continue']);

export interface AriTelephonyOptions {
  url: string;
  user: string;
  password: string;
  app: string;
  requestTimeoutMs: number;
  maxInFlight: number;
  /** How often the events socket is pinged; a socket with no pong by the next ping is closed (default 15 s). */
  pingIntervalMs?: number;
  logger: Logger;
  /** Reconnect backoff of our own supervision loop. */
  backoff?: { initialMs: number; maxMs: number };
  /** Every settled request: operation, seconds (queueing for the in-flight cap included), error kind if it failed. */
  observe?: (operation: string, seconds: number, errorKind?: TelephonyErrorKind) => void;
}

// ari-client has no types; this is the little of it we use.
interface AriClient {
  on(event: string, listener: (...args: any[]) => void): void;
  removeAllListeners(): void;
  start(app: string | string[]): Promise<void>;
  stop(): void;
  [resource: string]: any;
}

const CONNECT_TIMEOUT_MS = 10_000;
/** A link up this long counts as having worked: when it drops, the next attempt starts at once. */
const STABLE_LINK_MS = 1000;

export class AriTelephony implements Telephony {
  readonly appName: string;
  private state: LinkState = 'stopped';
  /** ari-client with Asterisk's API loaded, while the link is up (requests refuse fast without it). */
  private client: AriClient | undefined;
  /** ari-client as loaded once per start(): Asterisk's API declarations do not change while we run. */
  private api: AriClient | undefined;
  private socket: WebSocket | undefined;
  private readonly rest: AriRest;
  private generation = 0;
  private stopped = true;
  private readonly eventListeners = new Set<(e: TelephonyEvent) => void>();
  private readonly linkListeners = new Set<(s: LinkState, snap?: TelephonySnapshot) => void>();
  private readonly gate: Semaphore;
  private readonly log: Logger;
  private readonly backoff: { initialMs: number; maxMs: number };
  private wakeLoop: (() => void) | undefined;

  constructor(private readonly opts: AriTelephonyOptions) {
    this.appName = opts.app;
    this.gate = new Semaphore(opts.maxInFlight);
    this.log = opts.logger.child({ component: 'ari' });
    this.backoff = opts.backoff ?? { initialMs: 200, maxMs: 10_000 };
    this.rest = new AriRest(opts.url, opts.user, opts.password, opts.maxInFlight);
  }

  get linkState(): LinkState {
    return this.state;
  }

  /** ARI requests in flight and waiting for the in-flight cap (admission control watches the backlog). */
  get load(): { inFlight: number; backlog: number } {
    return { inFlight: this.gate.inUse, backlog: this.gate.waiting };
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
    this.api?.removeAllListeners();
    this.api = undefined;
    this.rest.close();
    this.setState('stopped');
  }

  /**
   * Close the events WebSocket from our side, as if the network dropped it.
   * Operations use it to force a resync; tests use it to prove reconnection
   * against the simulated PBX and a real Asterisk alike.
   */
  dropEventSocket(): void {
    this.socket?.terminate();
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
   * Let go of the current client and events socket. Resolves once the socket is closed (bounded), so
   * that after stop() Asterisk no longer routes Stasis() to us.
   */
  private dropClient(): Promise<void> {
    const ws = this.socket;
    this.client = undefined;
    this.socket = undefined;
    this.generation++;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    const closed = withTimeout(new Promise<void>((resolve) => ws.once('close', () => resolve())), 2000, 'ARI socket close').catch(() => undefined);
    ws.terminate();
    return closed;
  }

  /** Our reconnect loop: connect, serve until the events socket closes, again until stop(). */
  private async supervise(): Promise<void> {
    let delay = this.backoff.initialMs;
    let first = true;
    while (!this.stopped) {
      this.setState(first ? 'connecting' : 'reconnecting');
      first = false;
      const gen = ++this.generation;
      const lost = new Promise<void>((resolve) => (this.wakeLoop = resolve));
      let upSince: number | undefined;
      try {
        const client = this.api ?? (await this.loadApi());
        if (this.stopped || gen !== this.generation) continue;
        this.client = client;
        const ws = await withTimeout(this.openEvents(gen), CONNECT_TIMEOUT_MS, 'ARI events socket');
        upSince = performance.now();
        void this.onConnected(gen);
        await Promise.race([lost, new Promise<void>((resolve) => ws.once('close', () => resolve()))]);
        if (!this.stopped) this.log.warn('ARI events socket lost; reconnecting');
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err: describeError(err), retryInMs: delay }, 'ARI connection attempt failed');
      }
      if (this.stopped) break;
      await this.dropClient();
      // A link that served for a while is tried again at once (events are being missed); failed
      // attempts, and sockets closed as soon as they opened, back off.
      if (upSince !== undefined && performance.now() - upSince >= STABLE_LINK_MS) {
        delay = this.backoff.initialMs;
        continue;
      }
      this.setState('disconnected');
      await sleep(delay);
      delay = Math.min(delay * 2, this.backoff.maxMs);
    }
  }

  /**
   * Load Asterisk's API into ari-client (once per start()). swagger-client throws a non-2xx answer —
   * Asterisk answers 503 while it boots — out of its HTTP callback, where no caller can catch it and
   * the process would die; so the listing is first asked for over our own connection, and ari-client
   * loads it only from an Asterisk that serves it.
   */
  private async loadApi(): Promise<AriClient> {
    await this.rest.request('GET', '/api-docs/resources.json', {}, CONNECT_TIMEOUT_MS);
    const client = (await withTimeout(
      ari.connect(this.opts.url, this.opts.user, this.opts.password) as Promise<AriClient>,
      CONNECT_TIMEOUT_MS,
      'ARI connect',
    )) as AriClient;
    client.on('APILoadError', (err: Error) => this.log.warn({ err: describeError(err) }, 'ARI API load error'));
    if (this.stopped) {
      client.removeAllListeners();
      throw new Error('stopped');
    }
    this.api = client;
    return client;
  }

  /** Open the events socket of our app; resolves once it is open, with its messages wired to the listeners. */
  private openEvents(gen: number): Promise<WebSocket> {
    const u = new URL(this.opts.url);
    const url =
      `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}/ari/events?app=${encodeURIComponent(this.opts.app)}` +
      `&api_key=${encodeURIComponent(this.opts.user)}:${encodeURIComponent(this.opts.password)}`;
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: CONNECT_TIMEOUT_MS });
    this.socket = ws;
    return new Promise((resolve, reject) => {
      let opened = false;
      ws.on('error', (err) => {
        if (opened) this.log.warn({ err: describeError(err) }, 'ARI events socket error');
        else reject(err);
      });
      ws.once('open', () => {
        opened = true;
        let answered = true;
        const every = this.opts.pingIntervalMs ?? 15_000;
        const ping = setInterval(() => {
          if (!answered) {
            this.log.warn({ afterMs: every }, 'ARI events socket did not answer a ping; closing it');
            ws.terminate();
            return;
          }
          answered = false;
          ws.ping();
        }, every);
        ping.unref();
        ws.on('pong', () => (answered = true));
        ws.once('close', () => clearInterval(ping));
        resolve(ws);
      });
      ws.once('unexpected-response', (req, res) => {
        reject(new Error(`ARI events socket refused: HTTP ${res.statusCode}`));
        req.destroy();
      });
      ws.on('message', (data: WebSocket.RawData) => {
        if (gen !== this.generation) return;
        let raw: Record<string, unknown>;
        try {
          raw = JSON.parse(data.toString()) as Record<string, unknown>;
        } catch {
          this.log.warn('ARI event that is not JSON; dropped');
          return;
        }
        const event = toTelephonyEvent(raw);
        if (!event) return;
        for (const l of this.eventListeners) {
          try {
            l(event);
          } catch (err) {
            this.log.error({ err, eventType: event.type }, 'telephony event listener failed');
          }
        }
      });
    });
  }

  private async onConnected(gen: number): Promise<void> {
    await this.filterEvents();
    let snapshot: TelephonySnapshot | undefined;
    try {
      snapshot = await this.snapshot();
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'resync snapshot failed; reconnecting');
      if (gen === this.generation) this.dropEventSocket();
      return;
    }
    if (gen !== this.generation) return;
    this.log.info(
      { channels: snapshot.appChannelIds.length, bridges: snapshot.appBridgeIds.length },
      'ARI connected; resynced from Asterisk',
    );
    this.setState('connected', snapshot);
  }

  /**
   * Ask Asterisk for the event types we handle only (set again after every connect: a restarted
   * Asterisk forgets it). Without it every event still arrives and the unknown ones are dropped, so
   * a refusal only costs CPU: logged, never a reason to reconnect.
   */
  private async filterEvents(): Promise<void> {
    try {
      await this.request('eventFilter', (c) =>
        c.applications.filter({ applicationName: this.opts.app, filter: { allowed: HANDLED_EVENT_TYPES.map((type) => ({ type })) } }),
      );
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'ARI event filter not set; unhandled events are dropped on arrival');
    }
  }

  /**
   * Run one ARI operation with the in-flight cap and the timeout.
   * Errors become {@link TelephonyError}s with a stable kind.
   */
  private async run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    if (!this.client) throw new TelephonyError('disconnected', operation, 'ARI is not connected');
    const started = performance.now();
    // Requests that take a call off Asterisk (a hang-up, a shed caller sent to the busy notice) go
    // ahead of those that add work: with a backlog, waiting behind it is what left callers in Stasis.
    const release = await this.gate.acquire(RELIEVING.has(operation));
    try {
      const result = await withTimeout(call(), this.opts.requestTimeoutMs, operation);
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

  /** An operation through ari-client. */
  private request<T>(operation: string, call: (client: AriClient) => Promise<T>): Promise<T> {
    return this.run(operation, () => {
      const client = this.client;
      if (!client) throw new TelephonyError('disconnected', operation, 'ARI is not connected');
      return call(client);
    });
  }

  /** A call's operation over the kept-alive connections ({@link AriRest}). */
  private call(operation: string, method: 'GET' | 'POST' | 'DELETE', path: string, query: AriQuery = {}): Promise<unknown> {
    return this.run(operation, () => this.rest.request(method, path, query, this.opts.requestTimeoutMs));
  }

  /** Like call() but a vanished channel/bridge/playback is a normal outcome. */
  private cleanup(operation: string, method: 'POST' | 'DELETE', path: string, query: AriQuery = {}): Promise<void> {
    return goneIsDone(this.call(operation, method, path, query));
  }

  /** Like request() but a vanished channel/bridge/recording is a normal outcome. */
  private cleanupVia(operation: string, call: (client: AriClient) => Promise<unknown>): Promise<void> {
    return goneIsDone(this.request(operation, call));
  }

  async answer(channelId: string): Promise<void> {
    await this.call('answer', 'POST', `/channels/${seg(channelId)}/answer`);
  }

  hangup(channelId: string, reason = 'normal'): Promise<void> {
    return this.cleanup('hangup', 'DELETE', `/channels/${seg(channelId)}`, { reason });
  }

  async ring(channelId: string): Promise<void> {
    await this.call('ring', 'POST', `/channels/${seg(channelId)}/ring`);
  }

  ringStop(channelId: string): Promise<void> {
    return this.cleanup('ringStop', 'DELETE', `/channels/${seg(channelId)}/ring`);
  }

  async play(channelId: string, media: string | string[], options: PlayOptions = {}): Promise<string> {
    const query: AriQuery = { media: Array.isArray(media) ? media.join(',') : media, lang: options.lang || undefined };
    if (options.playbackId) {
      await this.call('play', 'POST', `/channels/${seg(channelId)}/play/${seg(options.playbackId)}`, query);
      return options.playbackId;
    }
    const pb = await this.call('play', 'POST', `/channels/${seg(channelId)}/play`, query);
    return String((pb as { id: string }).id);
  }

  stopPlayback(playbackId: string): Promise<void> {
    return this.cleanup('stopPlayback', 'DELETE', `/playbacks/${seg(playbackId)}`);
  }

  async startMoh(channelId: string, mohClass?: string): Promise<void> {
    await this.call('startMoh', 'POST', `/channels/${seg(channelId)}/moh`, { mohClass });
  }

  stopMoh(channelId: string): Promise<void> {
    return this.cleanup('stopMoh', 'DELETE', `/channels/${seg(channelId)}/moh`);
  }

  async hold(channelId: string): Promise<void> {
    await this.call('hold', 'POST', `/channels/${seg(channelId)}/hold`);
  }

  unhold(channelId: string): Promise<void> {
    return this.cleanup('unhold', 'DELETE', `/channels/${seg(channelId)}/hold`);
  }

  async sendDtmf(channelId: string, dtmf: string): Promise<void> {
    await this.call('sendDtmf', 'POST', `/channels/${seg(channelId)}/dtmf`, { dtmf });
  }

  /** Set a global dialplan variable (the admission gate's). */
  async setGlobalVariable(variable: string, value: string): Promise<void> {
    await this.call('setGlobalVariable', 'POST', '/asterisk/variable', { variable, value });
  }

  /** Asterisk's clock now (ms since the epoch), from its ARI ping. */
  async pbxTime(): Promise<number> {
    const r = (await this.call('pbxTime', 'GET', '/asterisk/ping')) as { timestamp?: string };
    const t = Date.parse(String(r.timestamp ?? ''));
    if (!Number.isFinite(t)) throw new TelephonyError('failed', 'pbxTime', `ARI ping without a usable timestamp: ${String(r.timestamp)}`);
    return t;
  }

  async getVariable(channelId: string, variable: string): Promise<string | undefined> {
    try {
      const v = await this.request('getVariable', (c) => c.channels.getChannelVar({ channelId, variable }));
      return (v as { value?: string }).value;
    } catch (err) {
      if (err instanceof TelephonyError && err.kind === 'not-found' && /variable/i.test(err.message)) return undefined;
      throw err;
    }
  }

  setVariable(channelId: string, variable: string, value: string): Promise<void> {
    return this.request('setVariable', (c) => c.channels.setChannelVar({ channelId, variable, value }));
  }

  async continueInDialplan(channelId: string, options: ContinueOptions = {}): Promise<void> {
    await this.call('continue', 'POST', `/channels/${seg(channelId)}/continue`, { ...options });
  }

  async originate(o: OriginateOptions): Promise<ChannelInfo> {
    const params: Record<string, unknown> = { endpoint: o.endpoint, app: o.app };
    if (o.appArgs) params.appArgs = o.appArgs.join(',');
    if (o.callerId) params.callerId = o.callerId;
    if (o.timeoutSec !== undefined) params.timeout = o.timeoutSec;
    if (o.channelId) params.channelId = o.channelId;
    if (o.otherChannelId) params.otherChannelId = o.otherChannelId;
    if (o.variables) params.variables = { variables: o.variables };
    const ch = await this.request('originate', (c) => c.channels.originate(params));
    return toChannelInfo(ch as Record<string, unknown>);
  }

  async getChannel(channelId: string): Promise<ChannelInfo | undefined> {
    try {
      const ch = await this.request('getChannel', (c) => c.channels.get({ channelId }));
      return toChannelInfo(ch as Record<string, unknown>);
    } catch (err) {
      if (err instanceof TelephonyError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  createBridge(bridgeId: string, type: 'mixing' | 'holding', name?: string): Promise<void> {
    return this.request('createBridge', (c) =>
      c.bridges.createWithId({ bridgeId, type, ...(name ? { name } : {}) }),
    );
  }

  destroyBridge(bridgeId: string): Promise<void> {
    return this.cleanupVia('destroyBridge', (c) => c.bridges.destroy({ bridgeId }));
  }

  addToBridge(bridgeId: string, channelIds: string[], role?: string): Promise<void> {
    return this.request('addToBridge', (c) =>
      c.bridges.addChannel({ bridgeId, channel: channelIds.join(','), ...(role ? { role } : {}) }),
    );
  }

  removeFromBridge(bridgeId: string, channelIds: string[]): Promise<void> {
    return this.cleanupVia('removeFromBridge', (c) => c.bridges.removeChannel({ bridgeId, channel: channelIds.join(',') }));
  }

  startBridgeMoh(bridgeId: string, mohClass?: string): Promise<void> {
    return this.request('startBridgeMoh', (c) => c.bridges.startMoh(mohClass ? { bridgeId, mohClass } : { bridgeId }));
  }

  stopBridgeMoh(bridgeId: string): Promise<void> {
    return this.cleanupVia('stopBridgeMoh', (c) => c.bridges.stopMoh({ bridgeId }));
  }

  recordBridge(bridgeId: string, o: RecordOptions): Promise<void> {
    return this.request('recordBridge', (c) =>
      c.bridges.record({
        bridgeId,
        name: o.name,
        format: o.format ?? 'wav',
        ...(o.maxDurationSeconds !== undefined ? { maxDurationSeconds: o.maxDurationSeconds } : {}),
        ifExists: o.ifExists ?? 'fail',
        beep: o.beep ?? false,
      }),
    );
  }

  stopRecording(name: string): Promise<void> {
    return this.cleanupVia('stopRecording', (c) => c.recordings.stop({ recordingName: name }));
  }

  async snapshot(): Promise<TelephonySnapshot> {
    const [app, channels, bridges] = await Promise.all([
      this.request('getApplication', (c) => c.applications.get({ applicationName: this.opts.app })),
      this.request('listChannels', (c) => c.channels.list()),
      this.request('listBridges', (c) => c.bridges.list()),
    ]);
    const a = app as { channel_ids?: string[]; bridge_ids?: string[] };
    return {
      appChannelIds: [...(a.channel_ids ?? [])],
      appBridgeIds: [...(a.bridge_ids ?? [])],
      channels: (channels as Record<string, unknown>[]).map(toChannelInfo),
      bridges: (bridges as Record<string, unknown>[]).map(toBridgeInfo),
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
  if (err instanceof AriRestError) {
    const byMessage = toTelephonyError(operation, new Error(err.message));
    if (byMessage.kind !== 'failed') return byMessage;
    const kind: TelephonyErrorKind =
      err.status === 404 ? 'not-found' : err.status === 409 || err.status === 412 ? 'conflict' : err.status === 400 || err.status === 422 ? 'bad-request' : 'failed';
    return new TelephonyError(kind, operation, err.message);
  }
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

/** A clean-up whose object is already gone (not found) or no longer ours (conflict) has nothing left to do. */
async function goneIsDone(operation: Promise<unknown>): Promise<void> {
  try {
    await operation;
  } catch (err) {
    if (err instanceof TelephonyError && (err.kind === 'not-found' || err.kind === 'conflict')) return;
    throw err;
  }
}

function describeError(err: unknown): string | undefined {
  if (err === undefined || err === null) return undefined;
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
