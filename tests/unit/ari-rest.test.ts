/**
 * The calls' ARI requests over kept-alive connections (src/telephony/ari-rest.ts), against a real
 * HTTP server on loopback: connections reused and capped, Asterisk's error bodies kept with their
 * status and classified as the adapter's error kinds, a hung request aborted, and a kept-alive
 * connection that the server closed under a request retried once on a fresh one.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AriRest, AriRestError } from '../../src/telephony/ari-rest.js';
import { toTelephonyError } from '../../src/telephony/ari-telephony.js';
import { TimeoutError } from '../../src/telephony/limits.js';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  socket: Socket;
}

let server: Server | undefined;
let rest: AriRest | undefined;

afterEach(async () => {
  rest?.close();
  rest = undefined;
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, seen: Seen[]) => void): Promise<{ url: string; seen: Seen[]; connections: () => number }> {
  const seen: Seen[] = [];
  let connections = 0;
  server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, socket: req.socket });
    handler(req, res, seen);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, connections: () => connections };
}

function json(res: ServerResponse, status: number, body?: unknown): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, payload ? { 'content-type': 'application/json' } : {});
  res.end(payload);
}

describe('ARI requests over kept-alive connections', () => {
  it('GIVEN 20 requests one after another WHEN sent THEN they share one connection, carry Basic auth and the query, and return the JSON body (undefined for 204)', async () => {
    const s = await serve((req, res) => (req.url!.includes('/play') ? json(res, 201, { id: 'pb-1', state: 'queued' }) : json(res, 204)));
    rest = new AriRest(s.url, 'hotline', 'pa ss', 4);
    for (let i = 0; i < 19; i++) expect(await rest.request('POST', `/channels/c${i}/answer`, {}, 2000)).toBeUndefined();
    const pb = await rest.request('POST', '/channels/1765.42/play', { media: 'sound:hotline/welcome,digits:12', lang: 'zh', skipms: undefined }, 2000);
    expect(pb).toEqual({ id: 'pb-1', state: 'queued' });
    expect(s.connections()).toBe(1);
    expect(s.seen[19]!.url).toBe('/ari/channels/1765.42/play?media=sound%3Ahotline%2Fwelcome%2Cdigits%3A12&lang=zh');
    expect(s.seen[0]!.auth).toBe(`Basic ${Buffer.from('hotline:pa ss').toString('base64')}`);
    expect(s.seen.map((x) => x.method)).toEqual(Array(20).fill('POST'));
  });

  it('GIVEN 10 requests at once and room for 3 connections WHEN sent THEN no more than 3 connections are opened and all 10 are answered', async () => {
    const s = await serve((_req, res) => setTimeout(() => json(res, 204), 20));
    rest = new AriRest(s.url, 'u', 'p', 3);
    await Promise.all(Array.from({ length: 10 }, (_, i) => rest!.request('DELETE', `/channels/c${i}`, { reason: 'normal' }, 2000)));
    expect(s.seen).toHaveLength(10);
    expect(s.connections()).toBeLessThanOrEqual(3);
    expect(s.seen[0]!.url).toBe('/ari/channels/c0?reason=normal');
  });

  it('GIVEN Asterisk refusing WHEN a request fails THEN the error keeps status and message, and the adapter classifies it as Asterisk means it', async () => {
    const s = await serve((req, res) => {
      if (req.url!.startsWith('/ari/channels/gone')) return json(res, 404, { message: 'Channel not found' });
      if (req.url!.startsWith('/ari/channels/idle')) return json(res, 409, { message: 'Channel not in Stasis application' });
      if (req.url!.startsWith('/ari/channels/bad')) return json(res, 400, { message: 'Bad Request' });
      if (req.url!.startsWith('/ari/playbacks/x')) return json(res, 404, { message: 'Playback not found' });
      res.writeHead(500);
      res.end('oops');
    });
    rest = new AriRest(s.url, 'u', 'p', 2);
    const failure = (path: string) => rest!.request('POST', path, {}, 2000).then(() => undefined, (e: unknown) => e);
    const gone = await failure('/channels/gone/answer');
    expect(gone).toBeInstanceOf(AriRestError);
    expect(gone).toMatchObject({ status: 404, message: 'Channel not found' });
    expect(toTelephonyError('answer', gone)).toMatchObject({ kind: 'not-found', operation: 'answer' });
    const idle = toTelephonyError('play', await failure('/channels/idle/play'));
    expect(idle.kind).toBe('conflict');
    expect(idle.message).toContain('Channel not in Stasis application');
    expect(toTelephonyError('sendDtmf', await failure('/channels/bad/dtmf'))).toMatchObject({ kind: 'bad-request' });
    expect(toTelephonyError('stopPlayback', await failure('/playbacks/x'))).toMatchObject({ kind: 'not-found' });
    const crashed = await failure('/channels/other/ring');
    expect(crashed).toMatchObject({ status: 500, message: 'oops' });
    expect(toTelephonyError('ring', crashed)).toMatchObject({ kind: 'failed' });
  });

  it('GIVEN a request Asterisk never answers WHEN its time is up THEN it rejects with a timeout and its connection is closed', async () => {
    let closed = false;
    const s = await serve((req) => req.socket.once('close', () => (closed = true)));
    rest = new AriRest(s.url, 'u', 'p', 2);
    const started = Date.now();
    const err = await rest.request('POST', '/channels/c1/answer', {}, 150).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(toTelephonyError('answer', err)).toMatchObject({ kind: 'timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await expect.poll(() => closed).toBe(true);
  });

  it('GIVEN a kept-alive connection that the server drops under the next request WHEN it is sent THEN it goes again once on a fresh connection and succeeds', async () => {
    let n = 0;
    const s = await serve((req, res) => {
      n++;
      // The second request arrives on the kept-alive connection of the first: drop it unanswered,
      // as a server closing an idle connection at that moment does.
      if (n === 2) return req.socket.destroy();
      json(res, 204);
    });
    rest = new AriRest(s.url, 'u', 'p', 1);
    await rest.request('POST', '/channels/c1/ring', {}, 2000);
    await rest.request('POST', '/channels/c1/answer', {}, 2000);
    expect(s.seen.map((x) => x.url)).toEqual(['/ari/channels/c1/ring', '/ari/channels/c1/answer', '/ari/channels/c1/answer']);
    expect(s.connections()).toBe(2);
  });

  it('GIVEN nothing listening WHEN a request is sent THEN it fails as a lost link', async () => {
    const s = await serve(() => undefined);
    const url = s.url;
    server!.close();
    server = undefined;
    rest = new AriRest(url, 'u', 'p', 1);
    const err = await rest.request('POST', '/channels/c1/answer', {}, 2000).catch((e: unknown) => e);
    expect(toTelephonyError('answer', err)).toMatchObject({ kind: 'disconnected' });
  });
});
