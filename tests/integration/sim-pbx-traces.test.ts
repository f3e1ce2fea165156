/**
 * Replays the real-Asterisk traces in ../shared/asterisk-ari/traces against the simulated PBX
 * and checks that event types, per-channel order, shapes, states, causes, status codes and error
 * messages match. Differences the sim knowingly keeps are listed in KNOWN_DIFFERENCES with the
 * reason; the test fails if a listed difference disappears (update the list) or a new one shows up.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, SimPbx, TRACE_DIALPLAN } from '../support/sim-pbx/index.js';
import { compare, loadTrace, measuredPlaybackMs, replay, type ReplayResult } from '../support/sim-pbx/trace-replay.js';

const SHARED = path.resolve(REPO_ROOT, '../shared/asterisk-ari');
const TRACES = path.join(SHARED, 'traces');
const haveTraces = existsSync(TRACES);

/** Differences the sim keeps on purpose, per scenario, with why. */
const KNOWN_DIFFERENCES: Record<string, string[]> = {
  // Asterisk races its playback thread against the HTTP response: the 201 body says `queued` in
  // s01/s02/s06/s09/s10 but `playing` here. The sim always answers `queued` (the common case).
  's07-continue-to-dialplan-and-caller-hangs-up-first': [
    'response POST /channels/1795334083.51/play: state trace "playing" sim "queued"',
  ],
};

const scenarios = haveTraces ? readdirSync(TRACES).filter((f) => /^s\d+.*\.jsonl$/.test(f)).sort() : [];

describe.skipIf(!haveTraces)(`simulated PBX replays the real Asterisk traces${haveTraces ? '' : ' — SKIPPED: ../shared/asterisk-ari/traces is absent'}`, () => {
  const all = scenarios.map((f) => loadTrace(path.join(TRACES, f)));
  const durations = measuredPlaybackMs(all);
  // Media never heard to the end in the traces (stopped, interrupted) play "long".
  const playbackMs = (uri: string) => durations.get(uri) ?? 8000;

  it.concurrent.each(scenarios)('%s', async (file) => {
    // GIVEN a fresh sim running the dialplan the traces were recorded with
    const sim = await SimPbx.start({ dialplanFile: TRACE_DIALPLAN, playbackMs, endpoints: ['PJSIP/sipp'] });
    try {
      // WHEN the scenario's requests are replayed with the trace's timing
      const result = await replay(sim, loadTrace(path.join(TRACES, file)));
      // THEN the sim answers and raises events like the real Asterisk did
      const name = file.replace(/\.jsonl$/, '');
      expect(compare(result)).toEqual(KNOWN_DIFFERENCES[name] ?? []);
    } finally {
      await sim.stop();
    }
  }, 30_000);
});

describe.skipIf(!haveTraces)('the trace comparison itself', () => {
  // A comparison that cannot fail proves nothing: feed it the trace as "sim" output, then break it.
  const asSelf = (file: string): ReplayResult => {
    const trace = loadTrace(path.join(TRACES, file));
    const events = trace.filter((r) => r.kind === 'event').map((r) => ({ app: r.app!, event: structuredClone(r.event!) }));
    const responses = trace.filter((r) => r.kind === 'response').map((r) => ({ method: r.method!, path: r.path!, status: r.status!, body: structuredClone(r.body) }));
    // Identity id map, as the replay would build it from the responses.
    const ids = new Map<string, string>();
    for (const r of responses) {
      const id = (r.body as { id?: unknown } | null)?.id;
      if (typeof id === 'string') ids.set(id, id);
    }
    return { traceEvents: events, simEvents: structuredClone(events), traceResponses: responses, simResponses: structuredClone(responses), ids };
  };
  const file = scenarios.find((f) => f.startsWith('s01'))!;

  it('finds no difference between a trace and itself', () => {
    expect(compare(asSelf(file))).toEqual([]);
  });

  it('detects a changed hangup cause, a missing event, a wrong status and a different error message', () => {
    const r = asSelf(file);
    const destroyed = r.simEvents.find((o) => o.event.type === 'ChannelDestroyed')!;
    destroyed.event.cause = 17;
    r.simEvents.splice(r.simEvents.findIndex((o) => o.event.type === 'StasisStart'), 1);
    r.simResponses[0]!.status = 201;
    const diffs = compare(r);
    expect(diffs.some((d) => d.includes('ChannelDestroyed') && d.includes('cause=17'))).toBe(true);
    expect(diffs.some((d) => d.includes('StasisStart'))).toBe(true);
    expect(diffs.some((d) => d.includes('status trace 200 sim 201'))).toBe(true);

    const errors = asSelf(scenarios.find((f) => f.startsWith('s06'))!);
    const notFound = errors.simResponses.find((x) => x.status === 404)!;
    notFound.body = { message: 'Channel does not exist' };
    expect(compare(errors).some((d) => d.includes('Channel does not exist'))).toBe(true);
  });

  it('detects a reordered per-channel sequence and a changed shape', () => {
    const r = asSelf(file);
    const i = r.simEvents.findIndex((o) => o.event.type === 'StasisEnd');
    const j = r.simEvents.findIndex((o, k) => k > i && o.app === r.simEvents[i]!.app && o.event.type === 'ChannelVarset');
    [r.simEvents[i], r.simEvents[j]] = [r.simEvents[j]!, r.simEvents[i]!];
    (r.simEvents.find((o) => o.event.type === 'Dial')!.event as Record<string, unknown>).extra = 1;
    const diffs = compare(r);
    expect(diffs.some((d) => d.startsWith('events '))).toBe(true);
    expect(diffs.some((d) => d.startsWith('shape Dial'))).toBe(true);
  });
});
