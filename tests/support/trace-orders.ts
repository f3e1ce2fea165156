/**
 * Event orders *across* the two halves of a Local channel pair, as one app sees them — e.g. that
 * `;2`'s ChannelHangupRequest comes before `;1`'s ChannelDestroyed when the pair is torn down.
 * trace-replay's compare() checks each channel's own sequence; these facts add the interleaving
 * of the pair where a real Asterisk keeps it the same from run to run.
 *
 * Which interleavings are deterministic is measured, not guessed: tests/tools/record-traces.ts
 * records every scenario several times and keeps the orders made by one Asterisk thread that
 * held in every run ({@link stableOrders}); the facts are stored next to the trace
 * (`<scenario>.measured.json`) and tests/integration/sim-pbx-own-traces.test.ts checks them
 * against the simulated PBX and, in real mode, against a fresh recording ({@link orderDiffs}).
 *
 * The same runs also show what Asterisk does differently from one run to the next within a channel
 * (a ChannelDestroyed cause 0 or 16 when a Stasis `;1` loses its `;2`, a play answered `queued` or
 * `playing`): {@link runToRunDifferences} lists them as compare() words them, and a sim that shows
 * one of those alternatives is not wrong.
 */
import { compare, isNoise, NameNormaliser, visitChannels, type Observed, type ReplayResult, type TraceRecord } from '../../sim-pbx/trace-replay.js';

/** `before` happened before `after`; both are event keys (see {@link keyedEvents}). */
export interface OrderFact {
  before: string;
  after: string;
}

interface Keyed {
  key: string;
  /** `<app> <pair base name>`: facts relate events of one pair seen by one app. */
  pair: string;
  half: string;
}

/**
 * Each event of a Local half as a key: `<app> <name without sequence> <type> <meaningful fields>`,
 * numbered by occurrence (`#2` for the second identical one). Ids never appear in keys.
 */
export function keyedEvents(events: Observed[]): Keyed[] {
  const names = new NameNormaliser();
  for (const o of events) visitChannels(o.event, (c) => names.add(c.name));
  const seen = new Map<string, number>();
  const out: Keyed[] = [];
  for (const o of events) {
    const e = o.event;
    if (isNoise(e)) continue;
    const ch = (e.channel ?? e.peer) as { name: string } | undefined;
    const m = ch && /^(Local\/.*);([12])$/.exec(names.normalise(ch.name));
    if (!m) continue;
    const fields = ['cause', 'soft', 'dialstatus', 'variable', 'value', 'dialplan_app']
      .filter((k) => e[k] !== undefined && !(k === 'value' && /\d{6,}/.test(String(e[k]))))
      .map((k) => `${k}=${JSON.stringify(e[k])}`);
    const base = `${o.app} ${m[1]};${m[2]} ${[e.type, ...fields].join(' ')}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    out.push({ key: n > 1 ? `${base} #${n}` : base, pair: `${o.app} ${m[1]}`, half: m[2]! });
  }
  return out;
}

export function eventsOf(trace: TraceRecord[]): Observed[] {
  return trace.filter((r) => r.kind === 'event').map((r) => ({ app: r.app!, event: r.event! }));
}

/**
 * Cross-half orders made by one thread, the only ones a real Asterisk keeps under load: the
 * thread that hangs a half up asks the other half to hang up (ChannelHangupRequest without
 * `soft`) before it destroys its own (ChannelDestroyed), and an originate that gives up on a
 * busy/congested `;2` reports the Dial status before it asks `;2` to hang up. Everything else
 * across the halves (the `;2` dialplan starting vs `;1`'s first Dial, the rest of `;2`'s teardown
 * vs `;1`'s destroy) interleaved differently when the real-mode check ran on a loaded machine.
 */
function sameThread(before: string, after: string): boolean {
  if (/ ChannelDestroyed /.test(after)) return / ChannelHangupRequest cause=\d+( #\d+)?$/.test(before);
  if (/ ChannelHangupRequest /.test(after)) return / Dial dialstatus="(BUSY|CONGESTION)"/.test(before);
  return false;
}

/**
 * The cross-half orders that held in every run: for each event, the latest event of the other
 * half of its pair (same app) that preceded it in all runs and is ordered by the same thread
 * ({@link sameThread}). Events missing from a run are left out.
 */
export function stableOrders(runs: Observed[][]): OrderFact[] {
  const keyed = runs.map(keyedEvents);
  const positions = keyed.map((list) => new Map(list.map((k, i) => [k.key, i])));
  const facts: OrderFact[] = [];
  for (const [j, after] of keyed[0]!.entries()) {
    if (!positions.every((p) => p.has(after.key))) continue;
    for (let i = j - 1; i >= 0; i--) {
      const before = keyed[0]![i]!;
      if (before.pair !== after.pair || before.half === after.half || !sameThread(before.key, after.key)) continue;
      if (!positions.every((p) => p.has(before.key) && p.get(before.key)! < p.get(after.key)!)) continue;
      facts.push({ before: before.key, after: after.key });
      break;
    }
  }
  return facts;
}

/** Facts that `events` break (or cannot show because an event is missing), as readable lines. */
export function orderDiffs(events: Observed[], facts: OrderFact[]): string[] {
  const pos = new Map(keyedEvents(events).map((k, i) => [k.key, i]));
  const diffs: string[] = [];
  for (const f of facts) {
    const a = pos.get(f.before);
    const b = pos.get(f.after);
    if (a === undefined || b === undefined) diffs.push(`order «${f.before}» < «${f.after}»: missing ${a === undefined ? f.before : f.after}`);
    else if (a > b) diffs.push(`order «${f.before}» < «${f.after}»: reversed`);
  }
  return diffs;
}

/** Two recordings of one scenario as a ReplayResult (the second as "sim"): channels paired by normalised name, other ids by response. */
export function pairUp(fixture: TraceRecord[], other: TraceRecord[]): ReplayResult {
  const ids = new Map<string, string>();
  const channelsByName = (trace: TraceRecord[]) => {
    const names = new NameNormaliser();
    const all: Array<{ id: string; name: string }> = [];
    for (const r of trace) visitChannels(r.kind === 'event' ? r.event : r.kind === 'response' ? r.body : undefined, (c) => all.push(c));
    for (const c of all) names.add(c.name);
    return new Map(all.map((c) => [names.normalise(c.name), c.id]));
  };
  const b = channelsByName(other);
  for (const [name, id] of channelsByName(fixture)) if (b.has(name)) ids.set(id, b.get(name)!);
  const responses = (trace: TraceRecord[]) =>
    trace.filter((r) => r.kind === 'response').map((r) => ({ method: r.method!, path: r.path!, status: r.status!, body: r.body }));
  const ra = responses(fixture);
  const rb = responses(other);
  ra.forEach((r, i) => {
    const x = (r.body as { id?: unknown } | null)?.id;
    const y = (rb[i]?.body as { id?: unknown } | null)?.id;
    if (typeof x === 'string' && typeof y === 'string' && !ids.has(x)) ids.set(x, y);
  });
  return { traceEvents: eventsOf(fixture), simEvents: eventsOf(other), traceResponses: ra, simResponses: rb, ids };
}

/** compare()'s lines between the first run (the fixture) and each other run: what Asterisk itself varies. */
export function runToRunDifferences(runs: TraceRecord[][]): string[] {
  const out = new Set<string>();
  for (const run of runs.slice(1)) for (const d of compare(pairUp(runs[0]!, run))) out.add(d);
  return [...out].sort();
}
