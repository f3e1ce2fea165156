/**
 * Our own traces (tests/fixtures/traces, recorded from a real Asterisk 22 by
 * `npx tsx tests/tools/record-traces.ts`) cover every ARI interaction the server's adapter uses.
 *
 * Sim mode: each trace is replayed against the simulated PBX, running our dialplan/extensions.conf
 * with our prompts' real lengths, and compared per channel (event types, states, causes, dial
 * statuses, args, variables, shapes, response codes and error messages: trace-replay's compare())
 * and across the two halves of each Local pair, where the order held in every recording
 * (`<scenario>.orders.json`, trace-orders.ts).
 *
 * Real mode: the same scenarios are recorded afresh from this worker's Asterisk and compared with
 * the fixtures by the same rules, so an Asterisk upgrade that changes what we rely on shows here
 * (refresh the fixtures with the recorder and review the diff).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configuredLanguage, REPO_ROOT, SimPbx } from '../support/sim-pbx/index.js';
import { mediaTiming } from '../support/sim-pbx/media.js';
import { compare, loadTrace, replay, type ReplayResult, type TraceRecord } from '../support/sim-pbx/trace-replay.js';
import { eventsOf, orderDiffs, type OrderFact } from '../support/trace-orders.js';
import { PROMPTS_DIR, realMode, startPbx } from '../support/pbx.js';
import { TraceRecorder } from '../support/trace-recorder.js';
import { SCENARIOS } from '../support/trace-scenarios.js';

const TRACES = path.join(REPO_ROOT, 'tests', 'fixtures', 'traces');
const files = readdirSync(TRACES).filter((f) => /^o\d+.*\.jsonl$/.test(f)).sort();
const nameOf = (file: string) => file.replace(/\.jsonl$/, '');
const ordersOf = (name: string): OrderFact[] =>
  (JSON.parse(readFileSync(path.join(TRACES, `${name}.orders.json`), 'utf8')) as { orders: OrderFact[] }).orders;

/** Differences the sim keeps on purpose, per scenario, with why (none today). */
const KNOWN_DIFFERENCES: Record<string, string[]> = {};

describe('our recorded traces', () => {
  it('cover every scenario of the recorder, each with its measured orders', () => {
    // GIVEN the recorder's scenarios WHEN listing the fixtures THEN each has a trace and orders
    expect(files.map(nameOf)).toEqual(SCENARIOS.map((s) => s.name));
    for (const s of SCENARIOS) expect(ordersOf(s.name).length).toBeGreaterThan(0);
  });

  it('hold the Asterisk behaviours the server relies on (busy, no answer, pair teardown)', () => {
    const ev = (name: string) => eventsOf(loadTrace(path.join(TRACES, `${name}.jsonl`)));
    const chName = (o: { event: Record<string, unknown> }) => String(((o.event.channel ?? o.event.peer) as { name?: string } | undefined)?.name);
    const on = (events: ReturnType<typeof ev>, half: RegExp, type: string) =>
      events.filter((o) => o.app === 'hotline' && o.event.type === type && half.test(chName(o)));
    // A Local leg whose ;2 runs Busy(): Dial BUSY on ;1, ;1 destroyed with cause 0, only ;2 has 17.
    const busy = ev('o01-handoff-to-busy-target');
    expect(on(busy, /hotline-test-busy.*;1$/, 'Dial').map((o) => o.event.dialstatus)).toEqual(['', 'BUSY']);
    expect(on(busy, /hotline-test-busy.*;1$/, 'ChannelDestroyed').map((o) => o.event.cause)).toEqual([0]);
    expect(on(busy, /hotline-test-busy.*;2$/, 'ChannelDestroyed').map((o) => o.event.cause)).toEqual([17]);
    // No answer within the originate timeout: RINGING is the last Dial status, both halves end with 19.
    const noAnswer = ev('o02-handoff-to-target-not-answering');
    expect(on(noAnswer, /noanswer.*;1$/, 'Dial').map((o) => o.event.dialstatus)).toEqual(['', 'RINGING']);
    expect(on(noAnswer, /noanswer.*;[12]$/, 'ChannelDestroyed').map((o) => o.event.cause)).toEqual([19, 19]);
    // The server hangs up an agent's ;1: ;2 is asked to hang up before ;1 is destroyed.
    const released = ev('o03-queue-agent-answers-recorded-then-released');
    const i = released.findIndex((o) => o.app === 'hotline' && o.event.type === 'ChannelHangupRequest' && /1001@.*;2$/.test(chName(o)));
    const j = released.findIndex((o) => o.app === 'hotline' && o.event.type === 'ChannelDestroyed' && /1001@.*;1$/.test(chName(o)));
    expect(i).toBeGreaterThanOrEqual(0);
    expect(i).toBeLessThan(j);
  });
});

describe.runIf(!realMode)('simulated PBX replays our own real-Asterisk traces', () => {
  const playbackMs = mediaTiming({ soundsDirs: [PROMPTS_DIR, '/var/lib/asterisk/sounds'] });

  it.each(files)('%s', async (file) => {
    const name = nameOf(file);
    // GIVEN a fresh sim running our dialplan and asterisk.conf's default language, playing our prompts for their real length
    const sim = await SimPbx.start({ playbackMs, language: configuredLanguage() });
    try {
      // WHEN the scenario's requests are replayed with the trace's timing
      const result = await replay(sim, loadTrace(path.join(TRACES, file)), { tailMs: 600 });
      // THEN the sim answers and raises events like the real Asterisk did, per channel …
      expect(compare(result)).toEqual(KNOWN_DIFFERENCES[name] ?? []);
      // … and across the halves of each Local pair where a real Asterisk keeps the order
      expect(orderDiffs(result.simEvents, ordersOf(name))).toEqual([]);
      // … and leaves nothing behind
      expect({ channels: sim.channels().length, bridges: sim.bridges().length }).toEqual({ channels: 0, bridges: 0 });
    } finally {
      await sim.stop();
    }
  }, 60_000);

  it('the order check fails on a reversed Local pair teardown', () => {
    // GIVEN the busy trace's own events, with ;1's destroy moved before ;2's hangup request
    const events = eventsOf(loadTrace(path.join(TRACES, 'o01-handoff-to-busy-target.jsonl')));
    expect(orderDiffs(events, ordersOf('o01-handoff-to-busy-target'))).toEqual([]);
    const isBusy = (half: string, type: string) => (o: (typeof events)[number]) => {
      const name = String((o.event.channel as { name?: string } | undefined)?.name);
      return o.app === 'hotline' && o.event.type === type && name.endsWith(half) && /busy/.test(name);
    };
    const req = events.findIndex(isBusy(';2', 'ChannelHangupRequest'));
    const des = events.findIndex(isBusy(';1', 'ChannelDestroyed'));
    const [moved] = events.splice(des, 1);
    events.splice(req, 0, moved!);
    // THEN the check names the broken order
    expect(orderDiffs(events, ordersOf('o01-handoff-to-busy-target')).some((d) => d.includes('reversed'))).toBe(true);
  });
});

describe.runIf(realMode)('a real Asterisk still does what our recorded traces say', () => {
  it.each(SCENARIOS.map((s) => s.name))('%s', async (name) => {
    const scenario = SCENARIOS.find((s) => s.name === name)!;
    // GIVEN this worker's Asterisk (apps hotline and testcaller are ours for the file)
    const pbx = await startPbx();
    try {
      // WHEN the scenario is recorded again
      const r = new TraceRecorder({ ariUrl: pbx.ariUrl, user: pbx.user, password: pbx.password });
      await r.connect('hotline');
      await r.connect('testcaller');
      r.start();
      try {
        await scenario.run(r);
        await r.settle(500);
      } finally {
        await r.close();
      }
      // THEN it matches the fixture by the rules the sim is held to
      const fixture = loadTrace(path.join(TRACES, `${name}.jsonl`));
      expect(compare(pairUp(fixture, r.records))).toEqual([]);
      expect(orderDiffs(eventsOf(r.records), ordersOf(name))).toEqual([]);
    } finally {
      await pbx.stop();
    }
  }, 90_000);
});

/** Two recordings of one scenario as a ReplayResult: ids paired by channel name order and by response. */
function pairUp(fixture: TraceRecord[], fresh: TraceRecord[]): ReplayResult {
  const ids = new Map<string, string>();
  const channelIds = (trace: TraceRecord[]) => {
    const out = new Map<string, string>();
    for (const r of trace) {
      const ch = (r.kind === 'event' ? (r.event!.channel ?? r.event!.peer) : undefined) as { id: string; name: string } | undefined;
      if (ch && !out.has(ch.name)) out.set(ch.name, ch.id);
    }
    return [...out.values()];
  };
  const a = channelIds(fixture);
  const b = channelIds(fresh);
  a.forEach((id, i) => b[i] !== undefined && ids.set(id, b[i]!));
  const responses = (trace: TraceRecord[]) =>
    trace.filter((r) => r.kind === 'response').map((r) => ({ method: r.method!, path: r.path!, status: r.status!, body: r.body }));
  const ra = responses(fixture);
  const rb = responses(fresh);
  ra.forEach((r, i) => {
    const x = (r.body as { id?: unknown } | null)?.id;
    const y = (rb[i]?.body as { id?: unknown } | null)?.id;
    if (typeof x === 'string' && typeof y === 'string' && !ids.has(x)) ids.set(x, y);
  });
  return { traceEvents: eventsOf(fixture), simEvents: eventsOf(fresh), traceResponses: ra, simResponses: rb, ids };
}
