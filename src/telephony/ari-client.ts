/**
 * A thin ARI client: REST over kept-alive HTTP connections and the events WebSocket, nothing else.
 *
 * @remarks
 * It replaces ari-client, which measured as most of our per-call CPU on a real Asterisk
 * (bench/README.md, part 5): every REST call went through swagger-client 2.0 and its HTTP library
 * (header re-casing, a deprecated `Buffer()` whose warning check captures a stack trace per call,
 * lodash and bluebird layers), and every WebSocket event was turned into resource objects with all
 * of their ~40 operations attached before we read three fields of it. Here a request is one
 * `http.request` on a pooled socket and an event is one `JSON.parse`.
 *
 * The wire format is the one ari-client sent, which Asterisk and the simulated PBX accept: the
 * operation's parameters in the query string, `variables` (originate) as a JSON body, Basic auth on
 * REST, `api_key` on the events socket. A failed request rejects with an Error whose message is the
 * response body (Asterisk's `{"message": …}`), which toTelephonyError() classifies.
 */
import { Agent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import WebSocket from 'ws';

export type Query = Record<string, string | number | boolean | undefined>;

export interface AriRestOptions {
  url: string;
  user: string;
  password: string;
  /** Sockets kept at most (the in-flight cap above keeps us below Asterisk's http.conf sessionlimit). */
  maxSockets: number;
}

export class AriRest {
  private readonly base: URL;
  private readonly auth: string;
  private readonly agent: Agent;
  private readonly request: typeof httpRequest;

  constructor(opts: AriRestOptions) {
    this.base = new URL(opts.url);
    this.auth = `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString('base64')}`;
    const https = this.base.protocol === 'https:';
    // Idle sockets are closed by us after 10 s, well before Asterisk's session_inactivity (30 s) would
    // close one under a request we are about to send.
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets, timeout: 10_000, scheduling: 'lifo' as const };
    this.agent = https ? new HttpsAgent(agentOpts) : new Agent(agentOpts);
    this.request = https ? (httpsRequest as unknown as typeof httpRequest) : httpRequest;
  }

  /** `path` below /ari, e.g. `/channels/<id>/answer`; ids are encoded here. */
  call<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, query?: Query, body?: unknown): Promise<T> {
    let qs = '';
    if (query) {
      for (const [k, v] of Object.entries(query)) {
        if (v === undefined) continue;
        qs += `${qs ? '&' : '?'}${k}=${encodeURIComponent(String(v))}`;
      }
    }
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { authorization: this.auth };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    return new Promise<T>((resolve, reject) => {
      const req = this.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          method,
          path: `${this.base.pathname.replace(/\/$/, '')}/ari${path}${qs}`,
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = chunks.length ? Buffer.concat(chunks).toString('utf8') : '';
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              reject(new Error(text || JSON.stringify({ message: `HTTP ${status} ${res.statusMessage ?? ''}`.trim() })));
              return;
            }
            if (!text) return resolve(undefined as T);
            try {
              resolve(JSON.parse(text) as T);
            } catch {
              resolve(text as T);
            }
          });
        },
      );
      req.on('error', reject);
      // The caller's own timeout gives up first; this frees a socket whose answer never comes.
      req.on('timeout', () => req.destroy(new Error('ARI request: socket timeout')));
      req.end(payload);
    });
  }

  /** Close the pooled sockets. */
  close(): void {
    this.agent.destroy();
  }
}

export const seg = (s: string): string => encodeURIComponent(s);

/** The events socket: resolves once open; `onEvent` gets each parsed event, `onClose` a loss we did not ask for. */
export function openEvents(
  opts: { url: string; user: string; password: string; app: string },
  handlers: { onEvent: (e: Record<string, unknown>) => void; onClose: (why: string) => void; onError: (err: Error) => void },
): Promise<WebSocket> {
  const u = new URL(opts.url);
  const scheme = u.protocol === 'https:' ? 'wss' : 'ws';
  const wsUrl = `${scheme}://${u.host}${u.pathname.replace(/\/$/, '')}/ari/events?app=${encodeURIComponent(opts.app)}&api_key=${encodeURIComponent(opts.user)}:${encodeURIComponent(opts.password)}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    let open = false;
    ws.on('open', () => {
      open = true;
      resolve(ws);
    });
    ws.on('message', (data: Buffer) => {
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
      } catch (err) {
        handlers.onError(err as Error);
        return;
      }
      handlers.onEvent(e);
    });
    ws.on('error', (err: Error) => {
      if (!open) reject(err);
      else handlers.onError(err);
    });
    ws.on('unexpected-response', (_req, res) => {
      reject(new Error(`events socket refused: HTTP ${res.statusCode}`));
      ws.terminate();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (!open) reject(new Error(`events socket closed before it opened (${code})`));
      else handlers.onClose(`${code}${reason.length ? ` ${reason.toString()}` : ''}`);
    });
  });
}
