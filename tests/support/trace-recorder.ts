/**
 * Records what a PBX does, request by request and event by event, in the trace format of
 * ../shared/asterisk-ari/traces (one JSON object per line, `t` = ms since the scenario started):
 * `request` / `response` lines for REST calls (path relative to `/ari`), `event` lines with the
 * Stasis app whose socket received them, `note` lines for socket closes and reconnects.
 *
 * Two apps are connected, each on its own events socket, exactly as the shared traces were made:
 * `hotline` (playing the server under test) and `testcaller` (citizens, agents, sub-centres).
 * Used by tests/tools/record-traces.ts against a throwaway real Asterisk, and by
 * tests/integration/sim-pbx-own-traces.test.ts in real mode to check that Asterisk still does
 * what the fixtures say.
 */
import WebSocket from 'ws';
import type { TraceRecord } from '../../sim-pbx/trace-replay.js';

export type TraceEvent = Record<string, any> & { type: string };

export interface PbxConnection {
  ariUrl: string;
  user: string;
  password: string;
}

export interface Reply {
  status: number;
  body: any;
}

/** Where an event was seen, so that waits can look only at what came after a mark. */
interface Seen {
  index: number;
  app: string;
  event: TraceEvent;
}

export class TraceRecorder {
  readonly records: TraceRecord[] = [];
  private readonly seen: Seen[] = [];
  private readonly sockets = new Map<string, WebSocket>();
  private readonly waiters = new Set<() => void>();
  private t0 = Date.now();
  private lastEventAt = Date.now();

  constructor(private readonly pbx: PbxConnection) {}

  private now(): number {
    return Date.now() - this.t0;
  }

  /** Opens the events socket of `app` (Stasis registers the app when it opens). */
  async connect(app: string, note?: string): Promise<void> {
    const url = `${this.pbx.ariUrl.replace(/^http/, 'ws')}/ari/events?app=${encodeURIComponent(app)}&api_key=${encodeURIComponent(`${this.pbx.user}:${this.pbx.password}`)}`;
    const ws = new WebSocket(url);
    ws.on('message', (data: WebSocket.RawData) => {
      const event = JSON.parse(String(data)) as TraceEvent;
      this.records.push({ t: this.now(), kind: 'event', app, event });
      this.seen.push({ index: this.seen.length, app, event });
      this.lastEventAt = Date.now();
      for (const w of [...this.waiters]) w();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    this.sockets.set(app, ws);
    if (note) this.note(note);
  }

  /** Closes `app`'s events socket from the client side (the app is then "not connected"). */
  async disconnect(app: string, note?: string): Promise<void> {
    const ws = this.sockets.get(app);
    if (!ws) return;
    this.sockets.delete(app);
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    ws.close();
    await closed;
    if (note) this.note(note);
  }

  /** Starts the clock: everything recorded before (socket set-up) is dropped. */
  start(): void {
    this.records.length = 0;
    this.t0 = Date.now();
  }

  note(text: string): void {
    this.records.push({ t: this.now(), kind: 'note', text });
  }

  /** A REST call, recorded with its answer. `body` is sent as JSON (originate `variables`). */
  async request(method: string, path: string, opts: { query?: Record<string, string | number>; body?: unknown } = {}): Promise<Reply> {
    const query = opts.query ?? {};
    const rec: TraceRecord = { t: this.now(), kind: 'request', method, path, query };
    if (opts.body !== undefined) rec.body = opts.body;
    this.records.push(rec);
    const reply = await this.raw(method, path, query, opts.body);
    this.records.push({ t: this.now(), kind: 'response', method, path, status: reply.status, body: reply.body });
    return reply;
  }

  /** Like {@link request}, but a non-2xx answer is an error (the scenario is broken, not Asterisk). */
  async ok(method: string, path: string, opts: { query?: Record<string, string | number>; body?: unknown } = {}): Promise<any> {
    const r = await this.request(method, path, opts);
    if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** An unrecorded REST call (checks of the recorder itself, cleanup). */
  async raw(method: string, path: string, query: Record<string, string | number> = {}, body?: unknown): Promise<Reply> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    const res = await fetch(`${this.pbx.ariUrl}/ari${path}${qs.size ? `?${qs}` : ''}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${this.pbx.user}:${this.pbx.password}`).toString('base64')}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, body: parsed };
  }

  /** A mark: waits after it only look at events that arrive later. */
  mark(): number {
    return this.seen.length;
  }

  /** Waits for an event `app` received (at or after `from`, default: any seen so far). */
  async waitFor(app: string, pred: (e: TraceEvent) => boolean, what: string, opts: { from?: number; timeoutMs?: number } = {}): Promise<TraceEvent> {
    const from = opts.from ?? 0;
    const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
    for (;;) {
      const hit = this.seen.find((s) => s.index >= from && s.app === app && pred(s.event));
      if (hit) return hit.event;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (${app})`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 250));
        this.waiters.add(wake);
      });
    }
  }

  /** Waits for ChannelDestroyed of `channelId` as seen by `app`. */
  destroyed(app: string, channelId: string, opts: { timeoutMs?: number } = {}): Promise<TraceEvent> {
    return this.waitFor(app, (e) => e.type === 'ChannelDestroyed' && e.channel?.id === channelId, `ChannelDestroyed of ${channelId}`, opts);
  }

  /** Waits until no event has arrived for `quietMs` (trailing events of a teardown). */
  async settle(quietMs = 500, maxMs = 10_000): Promise<void> {
    const until = Date.now() + maxMs;
    while (Date.now() < until) {
      const idle = Date.now() - this.lastEventAt;
      if (idle >= quietMs) return;
      await new Promise((r) => setTimeout(r, quietMs - idle));
    }
  }

  async close(): Promise<void> {
    for (const app of [...this.sockets.keys()]) await this.disconnect(app);
  }

  /** The trace as JSON lines. */
  jsonl(): string {
    return this.records.map((r) => JSON.stringify(r)).join('\n') + '\n';
  }
}
