/**
 * ARI REST requests over kept-alive HTTP connections, for the operations every call makes.
 *
 * @remarks
 * ari-client builds each request through swagger-client 2.0 and shred: measured on a real Asterisk at
 * 100 calls/s, the one `play` of a simple call cost more node CPU than the rest of the call's ARI
 * traffic together (bench/results/2026-12-07-lean-ari.md). The calls' operations (answer, play,
 * hang-up, continue, ring, MOH, hold, DTMF) are plain `METHOD /ari/<path>?<query>` requests with
 * nothing to build, so they go through this client: one `http.Agent` with keep-alive and at most
 * `maxSockets` connections, Basic authentication, and Asterisk's `{"message": …}` error bodies kept
 * with their status. ari-client stays for connecting (it loads and checks Asterisk's API
 * declarations) and for the operations of rarer moments: originate, bridges, recordings, snapshots.
 */
import http from 'node:http';
import https from 'node:https';
import { TimeoutError } from './limits.js';

/** A refused request: the HTTP status and Asterisk's message. */
export class AriRestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'AriRestError';
  }
}

export type AriQuery = Record<string, string | number | boolean | undefined>;

export class AriRest {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly host: string;
  private readonly port: number;
  private readonly auth: string;

  /** `url` is ARI_URL (scheme, host and port of Asterisk's HTTP server). */
  constructor(url: string, user: string, password: string, maxSockets: number) {
    const u = new URL(url);
    this.transport = u.protocol === 'https:' ? https : http;
    this.host = u.hostname;
    this.port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    this.auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    // Idle connections are closed after 10 s, before Asterisk's own keep-alive limit (http.conf
    // session_keep_alive, 15 s) can close one under a request.
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets, timeout: 10_000 });
  }

  /**
   * `method /ari<path>?<query>`; resolves with the parsed JSON body (undefined for 204), rejects with an
   * {@link AriRestError} for a non-2xx status, a {@link TimeoutError} after `timeoutMs` (the request is
   * aborted, its connection closed), or the transport's error (ECONNREFUSED …).
   */
  request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, query: AriQuery, timeoutMs: number): Promise<unknown> {
    let qs = '';
    for (const k in query) {
      const v = query[k];
      if (v === undefined) continue;
      qs += `${qs ? '&' : '?'}${k}=${encodeURIComponent(String(v))}`;
    }
    return this.send(method, path, qs, timeoutMs, false);
  }

  private send(method: string, path: string, qs: string, timeoutMs: number, retried: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = this.transport.request(
        {
          agent: this.agent,
          host: this.host,
          port: this.port,
          method,
          path: `/ari${path}${qs}`,
          headers: { authorization: this.auth, 'content-length': '0' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = chunks.length === 0 ? '' : chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = text ? JSON.parse(text) : undefined;
            } catch {
              body = text;
            }
            if (status >= 200 && status < 300) return resolve(body);
            const b = body as { message?: unknown; error?: unknown } | string | undefined;
            const message =
              typeof b === 'object' && b !== null ? String(b.message ?? b.error ?? res.statusMessage ?? status) : b || `${status} ${res.statusMessage ?? ''}`.trim();
            reject(new AriRestError(status, message));
          });
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new TimeoutError(`${method} ${path}`, timeoutMs)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive connection the server closed as we reused it: the request never reached
        // Asterisk, so sending it once more on a fresh connection is safe.
        if (!retried && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          this.send(method, path, qs, timeoutMs, true).then(resolve, reject);
          return;
        }
        reject(err);
      });
      req.end();
    });
  }

  /** Close the kept-alive connections (the adapter's stop()). */
  close(): void {
    this.agent.destroy();
  }
}

/** A path segment (channel, playback, bridge ids): Asterisk's ids are safe, names given by callers may not be. */
export function seg(id: string): string {
  return encodeURIComponent(id);
}
