/**
 * The ARI link's own transport (src/telephony/ari-telephony.ts, ari-rest.ts), in both PBX modes:
 * - a link that dies without a close (a half-open TCP connection: a firewall's state dropped, a peer
 *   frozen) is found by the events socket's ping and replaced, and calls are served again;
 * - the calls' requests go over kept-alive connections: a hundred requests of ten calls open a
 *   handful of TCP connections, not a hundred.
 * Both go through a TCP proxy on loopback that counts connections and can freeze the events socket.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { jobsForCall, sessionByCaller, useHarness } from '../support/harness.js';
import { eventually } from '../support/wait.js';

const h = useHarness();

interface Proxy {
  url: string;
  /** TCP connections opened through the proxy, and those that were the events WebSocket. */
  connections: number;
  eventSockets: number;
  /** ARI requests seen going up (request lines at the start of a chunk). */
  requests: number;
  /** The next this many requests for the API listing are answered 503, as by a booting Asterisk. */
  bootingFor: number;
  /** From now on the events sockets open now forward nothing either way (new ones work). */
  freezeEventSockets(): void;
  close(): Promise<void>;
}

let proxy: Proxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

async function startProxy(target: string): Promise<Proxy> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  const events: Array<{ frozen: boolean }> = [];
  const p: Proxy = {
    url: '',
    connections: 0,
    eventSockets: 0,
    requests: 0,
    bootingFor: 0,
    freezeEventSockets() {
      for (const e of events) e.frozen = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
  const server: Server = createServer((down) => {
    p.connections++;
    const up = connect(Number(t.port), t.hostname);
    sockets.add(down).add(up);
    const state = { frozen: false };
    let first = true;
    down.on('data', (chunk: Buffer) => {
      if (/^(GET|POST|PUT|DELETE) \/ari\//.test(chunk.toString('latin1', 0, 16))) p.requests++;
      if (p.bootingFor > 0 && chunk.toString('latin1', 0, 40).startsWith('GET /ari/api-docs/resources.json')) {
        p.bootingFor--;
        down.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        up.destroy();
        return;
      }
      if (first) {
        first = false;
        if (chunk.toString('latin1').startsWith('GET /ari/events')) {
          p.eventSockets++;
          events.push(state);
        }
      }
      if (!state.frozen) up.write(chunk);
    });
    up.on('data', (chunk: Buffer) => {
      if (!state.frozen) down.write(chunk);
    });
    const end = () => {
      down.destroy();
      up.destroy();
    };
    down.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return p;
}

/** A citizen's call that hears the welcome, hangs up and ends as its one ticket job. */
async function servedCall(app: App, caller: string): Promise<void> {
  const call = await h.side.call('12345', caller);
  await call.answered();
  const session = await sessionByCaller(app, caller);
  await eventually(() => expect(h.side.heard(session.callId)).toContain('sound:hotline/welcome'));
  await call.hangup();
  await call.ended();
  await eventually(async () => expect(await jobsForCall(app, session.callId)).toHaveLength(1));
}

describe('the ARI link', () => {
  it('GIVEN the events socket silently dead (no close, no data) WHEN its ping goes unanswered THEN the adapter drops it, connects a new one and the next call is served', async () => {
    proxy = await startProxy(h.pbx.ariUrl);
    const app = await h.startApp({ ARI_URL: proxy.url, ARI_PING_INTERVAL_MS: '300' });
    expect(proxy.eventSockets).toBe(1);
    const states: string[] = [];
    app.telephony.onLinkState((s) => states.push(s));

    proxy.freezeEventSockets();
    // One interval sends the ping, the next finds no pong: between 300 and 600 ms, then a reconnect.
    await eventually(() => expect(states).toContain('reconnecting'), 5000);
    await eventually(() => expect(states.at(-1)).toBe('connected'), 10_000);
    expect(proxy.eventSockets).toBe(2);

    await servedCall(app, '13800138011');
  });

  it('GIVEN an Asterisk that answers 503 while it boots WHEN the server connects THEN it tries again until ARI serves, with nothing thrown out of ari-client, and calls are served', async () => {
    proxy = await startProxy(h.pbx.ariUrl);
    proxy.bootingFor = 3;
    // swagger-client (inside ari-client) throws a 503 out of its HTTP callback: had the adapter let
    // it load from a booting Asterisk, vitest would report that uncaught exception and fail this file.
    const app = await h.startApp({ ARI_URL: proxy.url });
    expect(proxy.bootingFor).toBe(0);
    expect(app.telephony.linkState).toBe('connected');
    await servedCall(app, '13800138012');
  });

  it('GIVEN ten calls WHEN the server answers and plays to each and they hang up THEN their requests share a few kept-alive connections', async () => {
    proxy = await startProxy(h.pbx.ariUrl);
    const app = await h.startApp({ ARI_URL: proxy.url });
    const atStart = { connections: proxy.connections, requests: proxy.requests };
    const callers = Array.from({ length: 10 }, (_, i) => `138001380${String(20 + i)}`);
    for (const c of callers) await servedCall(app, c);
    // Each call made at least one request (the welcome's play), one call after the other: the
    // connections kept alive since the start carry them (a new one at most if one idled out).
    expect(proxy.requests - atStart.requests).toBeGreaterThanOrEqual(10);
    expect(proxy.connections - atStart.connections).toBeLessThanOrEqual(2);
  });
});
