/**
 * Replays a recorded Asterisk ARI trace (../shared/asterisk-ari/traces/*.jsonl) against the
 * simulated PBX — same requests, same timing, ids mapped — and compares what came back with
 * what the real Asterisk did. Used by tests/integration/sim-pbx-traces.test.ts.
 *
 * Comparison rules (and why):
 * - Events are grouped per (app, subject) — subject = a channel (by its normalised name, since
 *   ids differ), a playback, a bridge or a recording — and the sequences are compared in order.
 *   Order *between* subjects is not compared: Asterisk itself interleaves them differently from
 *   run to run (compare s03 and s04).
 * - ChannelCallerId, ChannelConnectedLine and ChannelVarset(BRIDGEPEER) are excluded from the
 *   sequences: Asterisk raises them racily (present in one run, absent in the next for the same
 *   step, see s03 vs s04 agent legs). Their shapes are still compared.
 * - Every event is reduced to its type plus the fields that carry meaning (causes, states,
 *   variables, dialplan position, args, digits, media, bridge technology and size…).
 * - Shapes (recursive key sets) are compared per event type and per response.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { SimPbx } from './index.js';

export interface TraceRecord {
  t: number;
  kind: 'request' | 'response' | 'event' | 'note';
  method?: string;
  path?: string;
  query?: Record<string, string | number | boolean>;
  status?: number;
  /** A response's body, or the JSON body a request sent. */
  body?: unknown;
  app?: string;
  event?: Record<string, unknown> & { type: string };
  text?: string;
}

export function loadTrace(file: string): TraceRecord[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TraceRecord);
}

/** Per-media play durations measured in the traces (PlaybackStarted → its next playback event). */
export function measuredPlaybackMs(traces: TraceRecord[][]): Map<string, number> {
  const out = new Map<string, number>();
  for (const trace of traces) {
    // Playbacks stopped by DELETE /playbacks/{id} also end `done`: they say nothing about length.
    const stopped = new Set(
      trace.filter((r) => r.kind === 'request' && r.method === 'DELETE' && r.path!.startsWith('/playbacks/')).map((r) => r.path!.split('/')[2]),
    );
    const started = new Map<string, { uri: string; t: number }>();
    for (const r of trace) {
      if (r.kind !== 'event' || r.app !== 'hotline') continue;
      const pb = r.event!.playback as { id: string; media_uri: string; state: string } | undefined;
      if (!pb) continue;
      if (r.event!.type === 'PlaybackStarted') started.set(pb.id, { uri: pb.media_uri, t: r.t });
      else {
        const s = started.get(pb.id);
        const natural = r.event!.type === 'PlaybackContinuing' || pb.state === 'done';
        if (s && natural && pb.state !== 'failed' && !stopped.has(pb.id)) out.set(s.uri, Math.max(out.get(s.uri) ?? 0, r.t - s.t));
        started.delete(pb.id);
      }
    }
  }
  return out;
}

export interface Observed {
  app: string;
  event: Record<string, unknown> & { type: string };
}

interface Exchange {
  method: string;
  path: string;
  status: number;
  body: unknown;
}

export interface ReplayResult {
  traceEvents: Observed[];
  simEvents: Observed[];
  traceResponses: Exchange[];
  simResponses: Exchange[];
  /** trace id → sim id (channels, bridges, playbacks). */
  ids: Map<string, string>;
}

const APPS = ['hotline', 'testcaller'];

/** Replays one scenario against a running sim; the sim should be fresh (id sequences start at 0). */
export async function replay(sim: SimPbx, trace: TraceRecord[], opts: { tailMs?: number } = {}): Promise<ReplayResult> {
  const ids = new Map<string, string>();
  const simEvents: Observed[] = [];
  const simResponses: Exchange[] = [];
  const traceIdSet = collectTraceIds(trace);
  const simNames = new NameNormaliser();
  const traceNames = new NameNormaliser();
  for (const r of trace) visitChannels(r.kind === 'event' ? r.event : r.body, (c) => traceNames.add(c.name));
  // Channel ids of the trace, keyed by normalised name, so sim channels can be matched to them.
  const traceIdByName = new Map<string, string>();
  for (const r of trace) visitChannels(r.kind === 'event' ? r.event : r.body, (c) => traceIdByName.set(traceNames.normalise(c.name), c.id));
  const learnFromSim = (value: unknown) =>
    visitChannels(value, (c) => {
      simNames.add(c.name);
      const traceId = traceIdByName.get(simNames.normalise(c.name));
      if (traceId && !ids.has(traceId)) ids.set(traceId, c.id);
    });

  const sockets = new Map<string, WebSocket>();
  const connect = async (app: string) => {
    const ws = new WebSocket(`${sim.ariUrl.replace('http', 'ws')}/ari/events?app=${app}&api_key=${sim.user}:${sim.password}`);
    ws.on('message', (data: WebSocket.RawData) => {
      const event = JSON.parse(String(data)) as Observed['event'];
      learnFromSim(event);
      simEvents.push({ app, event });
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    sockets.set(app, ws);
  };
  for (const app of APPS) await connect(app);

  // Where each id first showed up in an answer or an event: an id a request uses before that was
  // chosen by the client (originate channelId, its `<id>;2`) and is sent as it is.
  const firstSeen = new Map<string, number>();
  trace.forEach((r, i) => {
    if (r.kind !== 'event' && r.kind !== 'response') return;
    const note = (id: string) => !firstSeen.has(id) && firstSeen.set(id, i);
    visitChannels(r.kind === 'event' ? r.event : r.body, (c) => note(c.id));
    const b = r.body as { id?: string } | null | undefined;
    if (r.kind === 'response' && b && typeof b.id === 'string') note(b.id);
  });

  const t0 = Date.now();
  const until = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t0 + t - Date.now())));
  const mapValue = async (value: string, at: number): Promise<string> => {
    // Wait (briefly) for ids the sim has not revealed yet, e.g. a ;2 half before its StasisStart.
    const parts = value.split(',');
    const out: string[] = [];
    for (const part of parts) {
      if (!traceIdSet.has(part) || (firstSeen.get(part) ?? Infinity) > at) {
        out.push(part);
        continue;
      }
      const deadline = Date.now() + 3000;
      while (!ids.has(part) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      out.push(ids.get(part) ?? part);
    }
    return out.join(',');
  };

  for (let i = 0; i < trace.length; i++) {
    const r = trace[i]!;
    if (r.kind === 'note') {
      await until(r.t);
      if (/closed/.test(r.text ?? '')) {
        sockets.get('hotline')?.close();
        await new Promise((res) => setTimeout(res, 20));
      } else if (/reconnected/.test(r.text ?? '')) await connect('hotline');
      continue;
    }
    if (r.kind !== 'request') continue;
    await until(r.t);
    // Causal barrier: the real client sent this request after seeing the events before it (e.g. a
    // hangup right after PlaybackFinished, s09), so wait until the sim has produced as many.
    const needed = trace.slice(0, i).filter((x) => x.kind === 'event' && !isNoise(x.event!)).length;
    const deadline = Date.now() + 2000;
    while (simEvents.filter((o) => !isNoise(o.event)).length < needed && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 5));
    }
    const segments = await Promise.all(r.path!.split('/').map((s) => mapValue(s, i)));
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(r.query ?? {})) query.set(k, await mapValue(String(v), i));
    query.set('api_key', `${sim.user}:${sim.password}`);
    // A JSON body (originate `variables`, our own traces) is sent as recorded.
    const init: RequestInit = r.body === undefined ? { method: r.method } : { method: r.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(r.body) };
    const res = await fetch(`${sim.ariUrl}/ari${segments.join('/')}?${query}`, init);
    const text = await res.text();
    const body: unknown = text ? JSON.parse(text) : null;
    learnFromSim(body);
    simResponses.push({ method: r.method!, path: r.path!, status: res.status, body });
    const traced = trace.slice(i + 1).find((x) => x.kind === 'response' && x.method === r.method && x.path === r.path);
    // Bridges, playbacks and snoop channels are named by the server: map them from the responses.
    const tb = traced?.body as { id?: string } | null | undefined;
    const sb = body as { id?: string } | null;
    if (tb?.id && sb?.id && !ids.has(tb.id)) ids.set(tb.id, sb.id);
  }
  const last = trace[trace.length - 1]!.t;
  await until(last + (opts.tailMs ?? 400));
  for (const ws of sockets.values()) ws.close();

  return {
    traceEvents: trace.filter((r) => r.kind === 'event').map((r) => ({ app: r.app!, event: r.event! })),
    simEvents,
    traceResponses: trace
      .filter((r) => r.kind === 'response')
      .map((r) => ({ method: r.method!, path: r.path!, status: r.status!, body: r.body })),
    simResponses,
    ids,
  };
}

// ---- normalisation -----------------------------------------------------------------------------

interface ChannelLike { id: string; name: string }

export function visitChannels(value: unknown, fn: (c: ChannelLike) => void): void {
  if (!value || typeof value !== 'object') return;
  if (Array.isArray(value)) return value.forEach((v) => visitChannels(v, fn));
  const o = value as Record<string, unknown>;
  if (typeof o.id === 'string' && typeof o.name === 'string' && 'dialplan' in o) fn(o as unknown as ChannelLike);
  for (const v of Object.values(o)) visitChannels(v, fn);
}

function collectTraceIds(trace: TraceRecord[]): Set<string> {
  const out = new Set<string>();
  for (const r of trace) {
    visitChannels(r.kind === 'event' ? r.event : r.body, (c) => out.add(c.id));
    const b = r.body as { id?: string } | null | undefined;
    if (r.kind === 'response' && b && typeof b.id === 'string') out.add(b.id);
  }
  return out;
}

/**
 * Channel names carry a per-Asterisk sequence (`Local/1001@agents-test-00000010;1`); both sides
 * allocate it in creation order, so `seq - first seq seen` identifies the same channel.
 */
export class NameNormaliser {
  private min = Infinity;
  add(name: string): void {
    const m = /-([0-9a-f]{8})(;[12])?$/.exec(name);
    if (m && !name.startsWith('Snoop/')) this.min = Math.min(this.min, parseInt(m[1]!, 16));
  }
  normalise(name: string): string {
    if (name.startsWith('Snoop/')) return `Snoop/#${/-([0-9a-f]{8})$/.exec(name)?.[1] ?? ''}`;
    return name.replace(/-([0-9a-f]{8})(;[12])?$/, (_, seq: string, half: string | undefined) => `-#${parseInt(seq, 16) - this.min}${half ?? ''}`);
  }
}

const NOISE = new Set(['ChannelCallerId', 'ChannelConnectedLine']);

export function isNoise(e: Observed['event']): boolean {
  return NOISE.has(e.type) || (e.type === 'ChannelVarset' && e.variable === 'BRIDGEPEER');
}

/** The meaning-carrying part of an event, as one comparable string. */
export function signature(e: Observed['event'], norm: (s: string) => string): string {
  const ch = (e.channel ?? e.peer) as (ChannelLike & { state: string; dialplan: Record<string, unknown>; language: string }) | undefined;
  const parts: string[] = [e.type];
  const pick = (...keys: string[]) => keys.forEach((k) => e[k] !== undefined && parts.push(`${k}=${JSON.stringify(e[k])}`));
  pick('cause', 'cause_txt', 'soft', 'variable', 'value', 'dialplan_app', 'dialplan_app_data', 'dialstatus', 'dialstring', 'args', 'digit', 'duration_ms');
  const pb = e.playback as Record<string, unknown> | undefined;
  if (pb) parts.push(`playback=${pb.media_uri}>${pb.next_media_uri ?? ''}:${pb.state}:${pb.language}`);
  const rec = e.recording as Record<string, unknown> | undefined;
  if (rec) parts.push(`recording=${rec.format}:${rec.state}:${rec.duration ?? ''}`);
  const br = e.bridge as { technology: string; bridge_type: string; channels: string[] } | undefined;
  if (br) parts.push(`bridge=${br.bridge_type}/${br.technology}/${br.channels.length}`);
  if (ch) {
    const d = ch.dialplan;
    parts.push(`${norm(ch.name)}[${ch.state} ${d.context}/${d.exten}/${d.priority} ${d.app_name}(${d.app_data}) ${ch.language}]`);
  }
  return parts.join(' ');
}

/** Recursive key set: `{a,b:{c}}`; arrays by their first element. */
export function shape(v: unknown): string {
  if (Array.isArray(v)) return `[${v.length ? shape(v[0]) : ''}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${k}:${shape((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return v === null ? 'null' : typeof v;
}

function groupKey(o: Observed, norm: (s: string) => string, idOf: (id: string) => string): string {
  const e = o.event;
  const ch = (e.channel ?? e.peer) as ChannelLike | undefined;
  if (ch) return `${o.app} ${norm(ch.name)}`;
  const pb = e.playback as { id: string } | undefined;
  if (pb) return `${o.app} playback ${idOf(pb.id)}`;
  const rec = e.recording as { name: string } | undefined;
  if (rec) return `${o.app} recording ${rec.name}`;
  const br = e.bridge as { id: string } | undefined;
  if (br) return `${o.app} bridge ${idOf(br.id)}`;
  return `${o.app} -`;
}

/** Differences between trace and sim, as human-readable lines (empty = identical under the rules above). */
export function compare(result: ReplayResult): string[] {
  const diffs: string[] = [];
  const traceNames = new NameNormaliser();
  const simNames = new NameNormaliser();
  for (const o of result.traceEvents) visitChannels(o.event, (c) => traceNames.add(c.name));
  for (const r of result.traceResponses) visitChannels(r.body, (c) => traceNames.add(c.name));
  for (const o of result.simEvents) visitChannels(o.event, (c) => simNames.add(c.name));
  for (const r of result.simResponses) visitChannels(r.body, (c) => simNames.add(c.name));
  const simToTrace = new Map([...result.ids].map(([t, s]) => [s, t]));
  // Sim ids inside values (appArgs carrying a call id, GET variable answers) read as the trace's.
  const simIds = [...simToTrace.keys()].filter((id) => !result.ids.has(id)).sort((a, b) => b.length - a.length);
  const idPattern = simIds.length ? new RegExp(`(?<![\\w.])(${simIds.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?![\\w])`, 'g') : undefined;
  const unmap = (text: string) => (idPattern ? text.replace(idPattern, (id) => simToTrace.get(id) ?? id) : text);
  const tNorm = (n: string) => traceNames.normalise(n);
  const sNorm = (n: string) => simNames.normalise(n);

  const group = (list: Observed[], norm: (s: string) => string, idOf: (id: string) => string, text: (s: string) => string, key: (s: string) => string = (s) => s) => {
    const out = new Map<string, string[]>();
    for (const o of list) {
      if (isNoise(o.event)) continue;
      // Recording names may carry a channel id (ours do: rec-<call id>-<n>).
      const k = key(groupKey(o, norm, idOf));
      out.set(k, [...(out.get(k) ?? []), text(signature(o.event, norm))]);
    }
    return out;
  };
  const traced = group(result.traceEvents, tNorm, (id) => id, (s) => s);
  const simmed = group(result.simEvents, sNorm, (id) => simToTrace.get(id) ?? `sim:${id}`, unmap, unmap);
  for (const key of new Set([...traced.keys(), ...simmed.keys()])) {
    const a = traced.get(key) ?? [];
    const b = simmed.get(key) ?? [];
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (a[i] !== b[i]) {
        diffs.push(`events ${key} #${i}: trace «${a[i] ?? '(none)'}» sim «${b[i] ?? '(none)'}»`);
        break; // the first divergence per subject is what matters; later ones follow from it
      }
    }
  }

  // Shapes per event type (only for types both sides produced).
  const shapes = (list: Observed[]) => {
    const out = new Map<string, Set<string>>();
    for (const o of list) out.set(o.event.type, (out.get(o.event.type) ?? new Set()).add(shape(o.event)));
    return out;
  };
  const ts = shapes(result.traceEvents);
  const ss = shapes(result.simEvents);
  for (const [type, set] of ss) {
    const expected = ts.get(type);
    if (!expected) continue;
    for (const s of set) if (!expected.has(s)) diffs.push(`shape ${type}: sim ${s} not among trace shapes ${[...expected].join(' | ')}`);
  }
  for (const type of ss.keys()) if (!ts.has(type) && !NOISE.has(type)) diffs.push(`event type ${type} emitted by the sim but absent from the trace`);
  for (const type of ts.keys()) if (!ss.has(type) && !NOISE.has(type)) diffs.push(`event type ${type} in the trace but never emitted by the sim`);

  // Responses, pairwise in request order.
  result.traceResponses.forEach((t, i) => {
    const s = result.simResponses[i];
    const where = `${t.method} ${t.path}`;
    if (!s) return void diffs.push(`response ${where}: missing from sim`);
    if (s.status !== t.status) diffs.push(`response ${where}: status trace ${t.status} sim ${s.status}`);
    const tb = t.body as Record<string, unknown> | null;
    const sb = s.body as Record<string, unknown> | null;
    if (tb && typeof tb === 'object' && ('message' in tb || 'error' in tb)) {
      if (JSON.stringify(tb) !== unmap(JSON.stringify(sb))) diffs.push(`response ${where}: body trace ${JSON.stringify(tb)} sim ${unmap(JSON.stringify(sb))}`);
    } else if (shape(tb) !== shape(sb)) diffs.push(`response ${where}: shape trace ${shape(tb)} sim ${shape(sb)}`);
    else if (tb && sb && typeof tb === 'object') {
      for (const k of ['state', 'technology', 'bridge_type', 'name', 'media_uri', 'format', 'value', 'language'] as const) {
        let tv = tb[k];
        let sv = sb[k];
        if (k === 'name' && typeof tv === 'string' && typeof sv === 'string' && 'dialplan' in tb) [tv, sv] = [tNorm(tv), sNorm(sv)];
        if ((k === 'value' || (k === 'name' && !('dialplan' in tb))) && typeof sv === 'string') sv = unmap(sv);
        if (tv !== undefined && JSON.stringify(tv) !== JSON.stringify(sv)) diffs.push(`response ${where}: ${k} trace ${JSON.stringify(tv)} sim ${JSON.stringify(sv)}`);
      }
      if (Array.isArray(tb.channels) && Array.isArray(sb.channels) && tb.channels.length !== sb.channels.length) {
        diffs.push(`response ${where}: ${tb.channels.length} channels in trace, ${sb.channels.length} in sim`);
      }
    }
  });
  return diffs;
}
