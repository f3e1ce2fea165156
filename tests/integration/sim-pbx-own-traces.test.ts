/**
 * Our own traces (tests/fixtures/traces, recorded from a real Asterisk 22 by
 * `npx tsx tests/tools/record-traces.ts`) cover every ARI interaction the server's adapter uses.
 *
 * Sim mode: each trace is replayed against the simulated PBX, running our dialplan/extensions.conf
 * with our prompts' real lengths, and compared per channel (event types, states, causes, dial
 * statuses, args, variables, shapes, response codes and error messages: trace-replay's compare())
 * and across the two halves of each Local pair, where the order held in every recording
 * (`<scenario>.measured.json`, trace-orders.ts). What a real Asterisk itself varied between the
 * recordings (`varies` there: a cause 0 or 16, a play answered `queued` or `playing`) is not held
 * against the sim.
 *
 * Real mode: the same scenarios are run afresh against this worker's Asterisk: every request must
 * answer as the scenario expects, the measured Local pair orders and the busy / no-answer /
 * teardown behaviours must still hold, so an Asterisk upgrade that changes what we rely on shows
 * here (then refresh the fixtures with the recorder and review the diff).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configuredLanguage, REPO_ROOT, SimPbx } from '../../sim-pbx/index.js';
import { mediaTiming } from '../../sim-pbx/media.js';
import { compare, loadTrace, replay } from '../../sim-pbx/trace-replay.js';
import { eventsOf, orderDiffs, pairUp, type OrderFact } from '../support/trace-orders.js';
import { PROMPTS_DIR, realMode, startPbx } from '../support/pbx.js';
import { TraceRecorder } from '../support/trace-recorder.js';
import { SCENARIOS } from '../support/trace-scenarios.js';

const TRACES = path.join(REPO_ROOT, 'tests', 'fixtures', 'traces');
const files = readdirSync(TRACES).filter((f) => /^o\d+.*\.jsonl$/.test(f)).sort();
const nameOf = (file: string) => file.replace(/\.jsonl$/, '');
interface Measured {
  runs: number;
  /** Orders across the halves of a Local pair that held in every recording. */
  orders: OrderFact[];
  /** compare() lines between the recordings themselves: Asterisk's own run-to-run variation. */
  varies: string[];
}
const measured = (name: string): Measured => JSON.parse(readFileSync(path.join(TRACES, `${name}.measured.json`), 'utf8')) as Measured;
const ordersOf = (name: string) => measured(name).orders;

/**
 * Asterisk races its playback thread against the HTTP answer of a play: the 201 says `queued` or
 * `playing` for the same request from one run to the next (the shared traces show it too, and
 * our recordings varied on one play or the other).
 */
const PLAY_STATE_RACE = /^response POST \/(channels|bridges)\/\S+\/play(\/\S+)?: state trace "(queued|playing)" sim "(queued|playing)"$/;

/** Differences from the fixture, less those a real Asterisk showed between its own runs. */
function unexpected(diffs: string[], name: string): string[] {
  const varies = new Set(measured(name).varies);
  return diffs.filter((d) => !varies.has(d) && !PLAY_STATE_RACE.test(d));
}

describe('our recorded traces', () => {
  it('cover every scenario of the recorder, each with its measured orders', () => {
    // GIVEN the recorder's scenarios WHEN listing the fixtures THEN each has a trace and orders
    expect(files.map(nameOf)).toEqual(SCENARIOS.map((s) => s.name));
    for (const s of SCENARIOS) {
      expect(measured(s.name).runs).toBeGreaterThanOrEqual(3);
      expect(ordersOf(s.name).length).toBeGreaterThan(0);
    }
  });

  it.each(['o01-handoff-to-busy-target', 'o02-handoff-to-target-not-answering', 'o03-queue-agent-answers-recorded-then-released'])(
    'hold the Asterisk behaviour the server relies on: %s',
    (name) => {
      expect(behaviourProblems(name, eventsOf(loadTrace(path.join(TRACES, `${name}.jsonl`))))).toEqual([]);
    },
  );
});

type Events = ReturnType<typeof eventsOf>;

/**
 * What the server's failure mapping and teardown rely on, checked on a recording: a Local leg whose
 * ;2 runs Busy() reports Dial BUSY and ends ;1 with cause 0 (only ;2 has 17); a leg that rings out
 * has RINGING as its last Dial status and both halves end with 19; when the server hangs up an
 * agent's ;1, ;2 is asked to hang up before ;1 is destroyed.
 */
function behaviourProblems(name: string, events: Events): string[] {
  const chName = (o: Events[number]) => String(((o.event.channel ?? o.event.peer) as { name?: string } | undefined)?.name);
  const on = (half: RegExp, type: string, field: string) =>
    events.filter((o) => o.app === 'hotline' && o.event.type === type && half.test(chName(o))).map((o) => o.event[field]);
  const problems: string[] = [];
  const want = (what: string, got: unknown, expected: unknown) => {
    if (JSON.stringify(got) !== JSON.stringify(expected)) problems.push(`${what}: ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  };
  if (name.startsWith('o01')) {
    want('busy ;1 Dial statuses', on(/hotline-test-busy.*;1$/, 'Dial', 'dialstatus'), ['', 'BUSY']);
    want('busy ;1 destroy cause', on(/hotline-test-busy.*;1$/, 'ChannelDestroyed', 'cause'), [0]);
    want('busy ;2 destroy cause', on(/hotline-test-busy.*;2$/, 'ChannelDestroyed', 'cause'), [17]);
  } else if (name.startsWith('o02')) {
    want('no-answer ;1 Dial statuses', on(/noanswer.*;1$/, 'Dial', 'dialstatus'), ['', 'RINGING']);
    want('no-answer destroy causes', on(/noanswer.*;[12]$/, 'ChannelDestroyed', 'cause'), [19, 19]);
  } else if (name.startsWith('o03')) {
    const i = events.findIndex((o) => o.app === 'hotline' && o.event.type === 'ChannelHangupRequest' && !o.event.soft && /1001@.*;2$/.test(chName(o)));
    const j = events.findIndex((o) => o.app === 'hotline' && o.event.type === 'ChannelDestroyed' && /1001@.*;1$/.test(chName(o)));
    if (!(i >= 0 && i < j)) problems.push(`agent ;2 hangup request (#${i}) not before ;1 destroyed (#${j})`);
  }
  return problems;
}

// One half per mode, registered only there (nothing reported as skipped in the other).
if (!realMode) describe('simulated PBX replays our own real-Asterisk traces', () => {
  const playbackMs = mediaTiming({ soundsDirs: [PROMPTS_DIR, '/var/lib/asterisk/sounds'] });

  it.each(files)('%s', async (file) => {
    const name = nameOf(file);
    // GIVEN a fresh sim running our dialplan and asterisk.conf's default language, playing our prompts for their real length
    const sim = await SimPbx.start({ playbackMs, language: configuredLanguage() });
    try {
      // WHEN the scenario's requests are replayed with the trace's timing
      const result = await replay(sim, loadTrace(path.join(TRACES, file)), { tailMs: 600 });
      // THEN the sim answers and raises events like the real Asterisk did, per channel …
      expect(unexpected(compare(result), name)).toEqual([]);
      // … and across the halves of each Local pair where a real Asterisk keeps the order
      expect(orderDiffs(result.simEvents, ordersOf(name))).toEqual([]);
      // … and leaves nothing behind
      expect({ channels: sim.channels().length, bridges: sim.bridges().length }).toEqual({ channels: 0, bridges: 0 });
    } finally {
      await sim.stop();
    }
  }, 60_000);

  it('the comparison fails on the old sim behaviour: cause 17 on the ;1 of a busy Local pair, no Dial BUSY', () => {
    // GIVEN the busy trace compared with itself THEN nothing differs
    const trace = loadTrace(path.join(TRACES, 'o01-handoff-to-busy-target.jsonl'));
    expect(unexpected(compare(pairUp(trace, trace)), 'o01-handoff-to-busy-target')).toEqual([]);
    // WHEN the "sim" side destroys ;1 with 17 and reports no Dial BUSY, as the simulator used to
    const old = structuredClone(trace).filter((r) => !(r.kind === 'event' && r.event!.type === 'Dial' && r.event!.dialstatus === 'BUSY'));
    const one = old.find((r) => r.kind === 'event' && r.event!.type === 'ChannelDestroyed' && /busy.*;1$/.test(String((r.event!.channel as { name: string }).name)))!;
    one.event!.cause = 17;
    // THEN both differences are reported
    const diffs = unexpected(compare(pairUp(trace, old)), 'o01-handoff-to-busy-target');
    expect(diffs.some((d) => d.includes('BUSY'))).toBe(true);
    expect(diffs.some((d) => d.includes('cause=17'))).toBe(true);
    // … and the behaviour check (the one real mode runs) names both
    expect(behaviourProblems('o01-handoff-to-busy-target', eventsOf(old))).toEqual([
      'busy ;1 Dial statuses: [""], expected ["","BUSY"]',
      'busy ;1 destroy cause: [17], expected [0]',
    ]);
  });

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

if (realMode) describe('a real Asterisk still does what our recorded traces say', () => {
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
      // THEN every request answered as the scenario expects (it throws otherwise), the Local pair
      // orders one Asterisk thread makes still hold, and so do the behaviours the server relies on.
      // (Event sequences are not compared one by one here: some interleave differently from run to
      // run under load, e.g. Busy()'s state change against the originate's hangup request.)
      expect(orderDiffs(eventsOf(r.records), ordersOf(name))).toEqual([]);
      expect(behaviourProblems(name, eventsOf(r.records))).toEqual([]);
    } finally {
      await pbx.stop();
    }
  }, 90_000);
});
