/**
 * The simulated PBX in its own process, for the call-path and concurrency benchmarks, so that the
 * server process is measured alone. It runs:
 * - SimPbx (ARI + AMI on loopback);
 * - the instrumentation: the time each citizen StasisStart is sent to the `hotline` app and the
 *   first ARI request that concerns that channel arrives; the time each ChannelDtmfReceived is sent
 *   and the next request for the channel arrives (both clocks are this process's);
 * - the load generator, placing calls as Asterisk's testsuite does (originate
 *   `Local/<number>@from-carrier` into a `testcaller` app over plain fetch + ws), pressing digits,
 *   answering agents' Local legs and hanging up.
 *
 * Control channel: one JSON request per line on stdin (`{"id", "cmd", "args"}`), one JSON answer
 * per line on stdout prefixed with `@@` (`{"id", "ok", "result" | "error"}`).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { IncomingMessage, ServerResponse } from 'node:http';
import WebSocket from 'ws';
import { SimPbx } from '../sim-pbx/index.js';
import { AriRoutes } from '../sim-pbx/http-routes.js';

interface SimConfig {
  /** Playback length of `sound:hotline/menu-*` media (ms). */
  menuMs: number;
  /** Playback length of every other media item (ms). */
  otherMs: number;
}

const cfg: SimConfig = { menuMs: 3000, otherMs: 3000, ...(JSON.parse(process.argv[2] ?? '{}') as Partial<SimConfig>) };

// ---- instrumentation -------------------------------------------------------------------------

const startSent = new Map<string, number>();
const dtmfSent = new Map<string, number>();
let startLat: number[] = [];
let dtmfLat: number[] = [];

const origHandle = AriRoutes.prototype.handle;
AriRoutes.prototype.handle = function (this: AriRoutes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const t = performance.now();
  if (startSent.size || dtmfSent.size) {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const ids: string[] = [];
    let m = /^\/ari\/channels\/([^/]+)/.exec(path);
    if (m) ids.push(decodeURIComponent(m[1]!));
    m = /^\/ari\/playbacks\/([^/]+)/.exec(path);
    if (m) ids.push(decodeURIComponent(m[1]!).replace(/-p\d+$/, ''));
    if (q >= 0 && /^\/ari\/bridges\//.test(path)) {
      const ch = new URLSearchParams(url.slice(q + 1)).get('channel');
      if (ch) ids.push(...ch.split(','));
    }
    for (const id of ids) {
      const s = startSent.get(id);
      if (s !== undefined) {
        startSent.delete(id);
        startLat.push(t - s);
      }
      const d = dtmfSent.get(id);
      if (d !== undefined) {
        dtmfSent.delete(id);
        dtmfLat.push(t - d);
      }
    }
  }
  return origHandle.call(this, req, res);
};

const sim = await SimPbx.start({
  playbackMs: (uri) => (uri.startsWith('sound:hotline/menu-') ? cfg.menuMs : cfg.otherMs),
});
sim.on('event', (app, e) => {
  if (app !== 'hotline') return;
  const ev = e as Record<string, any>;
  if (ev.type === 'StasisStart' && ev.args?.[1] === 'carrier') startSent.set(String(ev.channel.id), performance.now());
  else if (ev.type === 'ChannelDtmfReceived') dtmfSent.set(String(ev.channel.id), performance.now());
  else if (ev.type === 'ChannelDestroyed') {
    // A channel gone before any command: the app never reacted (counted as missed).
    const id = String(ev.channel.id);
    if (startSent.delete(id)) missedStart++;
    if (dtmfSent.delete(id)) missedDtmf++;
  }
});
let missedStart = 0;
let missedDtmf = 0;

const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();

// ---- load generator (test side) --------------------------------------------------------------

const auth = `Basic ${Buffer.from(`${sim.user}:${sim.password}`).toString('base64')}`;
async function ari(method: string, path: string, query: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const qs = new URLSearchParams(query).toString();
  const res = await fetch(`${sim.ariUrl}/ari${path}${qs ? `?${qs}` : ''}`, { method, headers: { authorization: auth } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

interface Call {
  id: string;
  answered: boolean;
  ended: boolean;
  onAnswer?: () => void;
  timers: NodeJS.Timeout[];
}
const calls = new Map<string, Call>();
const held = new Set<string>();
let agentDelayMs = 20;

const ws = new WebSocket(`${sim.ariUrl.replace(/^http/, 'ws')}/ari/events?app=testcaller&api_key=${encodeURIComponent(`${sim.user}:${sim.password}`)}`);
await new Promise<void>((resolve, reject) => {
  ws.once('open', () => resolve());
  ws.once('error', reject);
});
ws.on('message', (data) => {
  const e = JSON.parse(String(data)) as Record<string, any>;
  if (e.type === 'StasisStart') {
    if (e.args?.[0] === 'agent') {
      const id = String(e.channel.id);
      setTimeout(() => void ari('POST', `/channels/${id}/answer`).catch(() => undefined), agentDelayMs);
      return;
    }
    const c = calls.get(String(e.channel.id));
    if (c && !c.answered) {
      c.answered = true;
      c.onAnswer?.();
    }
  } else if (e.type === 'ChannelDestroyed') {
    const c = calls.get(String(e.channel.id));
    if (c) {
      c.ended = true;
      c.timers.forEach(clearTimeout);
      calls.delete(c.id);
      held.delete(c.id);
    }
  }
});

interface CallScript {
  number: string;
  /** Digit to press after `pressAfterMs` from the answer (none: stay silent). */
  digit?: string;
  pressAfterMs?: number;
  /** Hang up this long after the answer; undefined = hold until release. */
  hangupAfterMs?: number;
}

let seq = 0;
const counters = { originated: 0, originateErrors: 0 };

async function place(script: CallScript): Promise<Call | undefined> {
  const caller = `139${String(10_000_000 + (++seq % 90_000_000)).slice(-8)}`;
  let res;
  try {
    res = await ari('POST', '/channels', {
      endpoint: `Local/${script.number}@from-carrier`,
      app: 'testcaller',
      appArgs: 'caller',
      callerId: `"Citizen" <${caller}>`,
    });
  } catch {
    counters.originateErrors++;
    return undefined;
  }
  if (res.status !== 200) {
    counters.originateErrors++;
    return undefined;
  }
  counters.originated++;
  const id = String(res.body.id);
  const call: Call = { id, answered: false, ended: false, timers: [] };
  calls.set(id, call);
  const onAnswer = () => {
    if (script.digit) {
      call.timers.push(setTimeout(() => void ari('POST', `/channels/${id}/dtmf`, { dtmf: script.digit!, duration: '100' }).catch(() => undefined), script.pressAfterMs ?? 200));
    }
    if (script.hangupAfterMs !== undefined) {
      call.timers.push(setTimeout(() => void ari('DELETE', `/channels/${id}`).catch(() => undefined), script.hangupAfterMs));
    } else held.add(id);
  };
  if (call.answered) onAnswer();
  else call.onAnswer = onAnswer;
  return call;
}

/** Places calls at `rate` per second for `durationMs`, then waits (bounded) until they are all gone. */
async function load(args: { rate: number; durationMs: number; drainMs: number } & CallScript) {
  const before = { ...counters };
  const placed: Promise<Call | undefined>[] = [];
  const t0 = performance.now();
  const total = Math.round((args.rate * args.durationMs) / 1000);
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * args.rate));
      while (placed.length < due) placed.push(place(args));
      if (placed.length >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  const mine = (await Promise.all(placed)).filter((c): c is Call => !!c);
  const elapsed = performance.now() - t0;
  const deadline = performance.now() + args.drainMs;
  while (mine.some((c) => !c.ended) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const unanswered = mine.filter((c) => !c.answered).length;
  const stuck = mine.filter((c) => !c.ended);
  // Bounded: whatever is left is hung up from the test side.
  await Promise.all(stuck.map((c) => ari('DELETE', `/channels/${c.id}`).catch(() => undefined)));
  return {
    placed: placed.length,
    placeWindowMs: Math.round(elapsed),
    achievedRate: Math.round((placed.length / elapsed) * 1000),
    originated: counters.originated - before.originated,
    originateErrors: counters.originateErrors - before.originateErrors,
    unanswered,
    notEndedInTime: stuck.length,
  };
}

/** Places `count` calls that stay up (after an optional digit), at `rate` per second; waits until answered. */
async function hold(args: { count: number; rate: number; timeoutMs: number } & CallScript) {
  const placed: Promise<Call | undefined>[] = [];
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(args.count, Math.floor(((performance.now() - t0) / 1000) * args.rate) + 1);
      while (placed.length < due) placed.push(place({ number: args.number, ...(args.digit ? { digit: args.digit } : {}), pressAfterMs: args.pressAfterMs ?? 300 }));
      if (placed.length >= args.count) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  const mine = (await Promise.all(placed)).filter((c): c is Call => !!c);
  const deadline = performance.now() + args.timeoutMs;
  while (mine.some((c) => !c.answered && !c.ended) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return { placed: placed.length, answered: mine.filter((c) => c.answered).length, ended: mine.filter((c) => c.ended).length };
}

async function releaseAll(timeoutMs: number) {
  const ids = [...calls.keys()];
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map((id) => ari('DELETE', `/channels/${id}`).catch(() => undefined)));
  }
  const deadline = performance.now() + timeoutMs;
  while (sim.channels().length > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return { released: ids.length, channelsLeft: sim.channels().length, bridgesLeft: sim.bridges().length };
}

function stats() {
  const out = {
    channels: sim.channels().length,
    bridges: sim.bridges().length,
    held: held.size,
    rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20),
    eventLoopDelayP99Ms: Math.round((eld.percentile(99) / 1e6) * 100) / 100,
  };
  eld.reset();
  return out;
}

// ---- control channel ------------------------------------------------------------------------

const handlers: Record<string, (args: any) => unknown> = {
  info: () => ({ ariUrl: sim.ariUrl, user: sim.user, password: sim.password, amiPort: sim.amiPort }),
  samples: () => {
    const out = { start: startLat, dtmf: dtmfLat, missedStart, missedDtmf, pendingStart: startSent.size, pendingDtmf: dtmfSent.size };
    startLat = [];
    dtmfLat = [];
    missedStart = 0;
    missedDtmf = 0;
    startSent.clear();
    dtmfSent.clear();
    return out;
  },
  stats,
  load,
  hold,
  releaseAll: (a: { timeoutMs: number }) => releaseAll(a.timeoutMs),
  agentDelay: (a: { ms: number }) => void (agentDelayMs = a.ms),
  exit: async () => {
    setTimeout(() => {
      ws.close();
      void sim.stop().finally(() => process.exit(0));
    }, 10);
    return 'bye';
  },
};

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let msg: { id: number; cmd: string; args?: unknown };
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  const h = handlers[msg.cmd];
  Promise.resolve()
    .then(() => {
      if (!h) throw new Error(`unknown command ${msg.cmd}`);
      return h(msg.args ?? {});
    })
    .then(
      (result) => process.stdout.write(`@@${JSON.stringify({ id: msg.id, ok: true, result: result ?? null })}\n`),
      (err: Error) => process.stdout.write(`@@${JSON.stringify({ id: msg.id, ok: false, error: err.message })}\n`),
    );
});
// The parent went away: do not linger.
rl.on('close', () => void sim.stop().finally(() => process.exit(0)));
process.stdout.write(`@@${JSON.stringify({ id: 0, ok: true, result: 'ready' })}\n`);
