/**
 * Citizens' calls over real SIP (issue 13, point 4): SIPp calls the carrier trunk of a real
 * Asterisk 22 as a carrier delivers a citizen's call — INVITE with SDP (G.711 A-law and RFC 4733
 * telephone-event), the caller's number in P-Asserted-Identity, ACK, RTP, the menu choice as
 * RFC 4733 events where the route needs one, then the citizen's BYE — to 12345 and to every
 * number of the active city preset, all at once. Each call must end where the server's own
 * test-dial (POST /api/admin/routing/test-dial) says, hear media there, yield exactly one ticket
 * job and leave no channel behind.
 *
 * REAL MODE ONLY, by necessity: the simulated PBX has no SIP stack. It serves ARI and AMI and
 * interprets our dialplan, but has no SIP transport, no RTP and no RFC 4733 decoder for SIPp to
 * call into (its calls are originated over ARI; tests/integration/routing-calls.test.ts checks
 * the same routing that way in both modes). The sim half of `npm test` leaves this file out
 * (REAL_ONLY in vitest.config.ts); a simulated run that names it fails at once, saying so.
 *
 * SIPp is Debian's sip-tester (3.6.1), which CI installs; it sends RTP and RFC 4733 events from a
 * raw socket, so the run needs root or CAP_NET_RAW on /usr/bin/sipp (checked first, one line).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { CallRecord } from '../../src/calls/record.js';
import type { CallFlow, FlowMedia, RouteDecision } from '../../src/calls/ports.js';
import { loadPreset } from '../../src/routing/presets.js';
import { expectNoOrphans, jobsForCall, sessionByCaller, ticketJobRecord, useHarness } from '../support/harness.js';
import { realMode } from '../support/pbx.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';
import { CITIZEN_HOLD_MS, placeCitizenCalls, sippProblem, sippVersion, type CitizenResult, type CitizenRunOutcome, type G711Codec } from '../support/sipp.js';
import { eventually } from '../support/wait.js';

/** The harness's city (HOTLINE_CITY of tests/support/pbx.ts testConfig): its preset is the active table. */
const CITY = 'zaozhuang';
const NUMBERS = [...new Set(loadPreset(CITY).routes.flatMap((r) => r.numbers))];
/** What a caller presses where the route waits for a menu choice: not the digit the menu falls back to on silence. */
const MENU_CHOICE = '2';

/** test-dial's answer. */
interface TestDial {
  decision: RouteDecision;
  heard: string[];
  steps: string[];
}

interface Observed {
  number: string;
  dial: TestDial;
  /** P-Asserted-Identity (the citizen) and the From user the carrier set (its own line). */
  caller: string;
  fromUser: string;
  press?: string;
  /** The one codec the citizen's SDP offers and its RTP uses; Asterisk's name for it. */
  codec: G711Codec;
  nativeFormat?: string;
  /** What the caller should hear before the destination, and the destination (test-dial's step). */
  expected: { heard: string[]; end: string };
  sipp?: CitizenResult;
  callId?: string;
  /** RTP of the caller's channel: packets from SIPp, and packets to the caller at the destination. */
  rtp?: { rx: number; txAtDestination: number; txSoonAfter: number };
  record?: CallRecord;
  jobs?: number;
  orphans?: string;
  error?: string;
}

const describeMedia = (m: FlowMedia): string => (m.kind === 'prompt' ? m.id : `${m.kind}:${m.value}`);

/**
 * Where the server's own flow takes a caller who presses `digits` during the first prompt (the
 * welcome, which callers may barge into): the prompts after the digits and the destination, in
 * test-dial's words.
 */
function afterDigits(flow: CallFlow, decision: RouteDecision, digits: string): { heard: string[]; end: string } {
  const now = Date.now();
  let step = flow.start({ decision, language: 'zh', source: 'carrier', now });
  for (const digit of digits) step = flow.next(step.state, { type: 'dtmf', digit }, now);
  const heard: string[] = [];
  for (let i = 0; i < 20; i++) {
    for (const c of step.commands) {
      if (c.type === 'queue') return { heard, end: `queue ${c.skill} (priority ${c.priority})` };
      if (c.type === 'transfer') return { heard, end: `transfer ${c.target}` };
      if (c.type === 'hangup') return { heard, end: 'hang up' };
    }
    const play = step.commands.find((c) => c.type === 'play');
    if (!play || play.type !== 'play') break;
    heard.push(play.media.map(describeMedia).join(' '));
    step = flow.next(step.state, { type: 'playback-done', token: play.token }, now);
  }
  throw new Error(`after pressing ${digits} the flow waits for the caller again`);
}

/** test-dial's destination step as the call record writes it. */
function recordStep(end: string): { kind: 'queue' | 'transfer'; detail: string } | undefined {
  const queue = /^queue (\S+) \(priority (\d+)\)$/.exec(end);
  if (queue) return { kind: 'queue', detail: `skill ${queue[1]} priority ${queue[2]}` };
  const transfer = /^transfer (.+)$/.exec(end);
  if (transfer) return { kind: 'transfer', detail: `dialing ${transfer[1]}` };
  return undefined;
}

/** The route as the call record keeps it, from test-dial's decision. */
function routeOf(d: RouteDecision): CallRecord['route'] {
  return {
    id: d.routeId,
    mode: d.line?.mode ?? d.action,
    ...(d.line ? { line: d.line.number } : {}),
    ...(d.action === 'hotline' ? { skill: d.skill } : {}),
  };
}

const rtpOf = async (h: ReturnType<typeof useHarness>, callId: string): Promise<{ txcount: number; rxcount: number }> => {
  const r = await h.side.request('GET', `/channels/${callId}/rtp_statistics`);
  if (r.status !== 200) throw new Error(`rtp_statistics of ${callId}: ${r.status}`);
  return r.body as { txcount: number; rxcount: number };
};

if (!realMode) throw new Error('sip-calls.test.ts needs a real Asterisk: run it with HOTLINE_TEST_PBX=real (the sim half of npm test leaves it out)');

describe(`citizens' SIP calls over the carrier trunk (${CITY})`, () => {
  const h = useHarness();
  const observed = new Map<string, Observed>();
  let activeNumbers: string[] = [];
  let sippRuns: CitizenRunOutcome[] = [];

  /** One citizen's call, watched from the INVITE to its ticket job; failures are kept for the call's own test. */
  async function watch(app: App, o: Observed, outcome: Promise<CitizenRunOutcome>): Promise<void> {
    try {
      const s = await sessionByCaller(app, o.caller);
      o.callId = s.callId;
      const format = await h.side.request('GET', `/channels/${s.callId}/variable`, { variable: 'CHANNEL(audionativeformat)' });
      o.nativeFormat = (format.body as { value?: string } | undefined)?.value;
      const dest = recordStep(o.expected.end);
      if (dest) {
        // The destination is reached while the citizen is still on the line; then they hear something there.
        await eventually(() => expect(s.record.path).toContainEqual(expect.objectContaining(dest)), CITIZEN_HOLD_MS);
        await new Promise((r) => setTimeout(r, 500));
        const at = await rtpOf(h, s.callId);
        await new Promise((r) => setTimeout(r, 1500));
        const later = await rtpOf(h, s.callId);
        o.rtp = { rx: later.rxcount, txAtDestination: at.txcount, txSoonAfter: later.txcount };
      }
      o.sipp = (await outcome).calls.get(o.caller);
      o.record = await ticketJobRecord(app, s.callId);
      await expectNoOrphans(h, s.callId).catch((err: Error) => (o.orphans = err.message));
      o.jobs = (await jobsForCall(app, s.callId)).length;
    } catch (err) {
      o.error = (err as Error).message;
    }
  }

  beforeAll(async () => {
    const problem = sippProblem();
    if (problem) throw new Error(problem);
    if (!h.pbx.asterisk) throw new Error('SIPp calls need the throwaway Asterisk of the test set-up (its SIP port): unset HOTLINE_TEST_ARI_URL');
    const app = await h.startApp({ HOTLINE_CITY: CITY });
    activeNumbers = [...new Set(app.parts.current().table.routes.flatMap((r) => r.numbers))];
    await app.users.create({ username: 'sip-admin', roles: ['admin'], password: TEST_PASSWORD });
    const admin = await loginAs(app.http, 'sip-admin');
    let seq = 0;
    for (const number of NUMBERS) {
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/admin/routing/test-dial',
        headers: { authorization: `Bearer ${admin.token}` },
        payload: { number, source: 'carrier' },
      });
      expect(res.statusCode, res.body).toBe(200);
      const dial = res.json() as TestDial;
      const i = ++seq;
      const last = dial.steps.at(-1) ?? '';
      // The route waits for the caller (a menu) when test-dial stops before a destination.
      const menu = !/^(queue |transfer |hang up)/.test(last);
      const after = menu ? afterDigits(app.parts.flow, dial.decision, MENU_CHOICE) : undefined;
      observed.set(number, {
        number,
        dial,
        caller: `1390012${String(i).padStart(4, '0')}`,
        fromUser: `0632${String(6_100_000 + i)}`,
        ...(menu ? { press: MENU_CHOICE } : {}),
        // Both codecs the trunk allows, alternately.
        codec: i % 2 === 1 ? 'PCMA' : 'PCMU',
        expected: after ? { heard: [dial.heard[0]!, ...after.heard], end: after.end } : { heard: dial.heard, end: last },
      });
    }
    const started = Date.now();
    const all = [...observed.values()];
    const runs = await Promise.all(
      (['PCMA', 'PCMU'] as const).map(async (codec) => {
        const mine = all.filter((o) => o.codec === codec);
        const run = await placeCitizenCalls(
          h.pbx.asterisk!.sipPort,
          mine.map((o) => ({ dialed: o.number, caller: o.caller, fromUser: o.fromUser, ...(o.press ? { press: o.press } : {}) })),
          { codec },
        );
        return { run, mine };
      }),
    );
    try {
      await Promise.all(runs.flatMap(({ run, mine }) => mine.map((o) => watch(app, o, run.done))));
    } finally {
      for (const { run } of runs) run.kill();
    }
    sippRuns = await Promise.all(runs.map(({ run }) => run.done));
    console.log(`${observed.size} calls from two SIPp runs side by side (${sippVersion()}, A-law and µ-law): ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 150_000);

  it(`GIVEN the server on ${CITY} WHEN its published table is read THEN it holds exactly the preset's numbers this file dials, and SIPp placed every call without error`, () => {
    expect(activeNumbers.sort()).toEqual([...NUMBERS].sort());
    expect(NUMBERS).toContain('12345');
    expect(sippRuns.map((r) => r.exitCode), sippRuns.map((r) => r.errors).join('\n')).toEqual([0, 0]);
  });

  it.each(NUMBERS)(
    'GIVEN a citizen on the carrier trunk WHEN they dial %s with SIPp (SDP, RTP, RFC 4733 where a menu asks, BYE) THEN the call ends where test-dial says, with media there, one ticket job and no channel left',
    (number) => {
      const o = observed.get(number)!;
      const errors = sippRuns.map((r) => r.errors).join('\n');
      expect(o.error, `${o.error}\n--- SIPp ---\n${errors}`).toBeUndefined();
      const r = o.record!;

      // SIP: answered, the menu choice sent where one is asked, and the citizen's own BYE after the destination.
      expect(o.sipp, errors).toMatchObject({ answered: true, endedBy: o.expected.end === 'hang up' ? 'hotline' : 'citizen' });
      if (o.press) expect(o.sipp!.pressed).toBe(o.press);

      // The caller is the P-Asserted-Identity (trust_id_inbound), not the carrier's From user.
      expect(r.caller.number).toBe(o.caller);
      expect(r.caller.number).not.toBe(o.fromUser);
      expect(r).toMatchObject({ dialed: number, source: 'carrier', channelName: expect.stringMatching(/^PJSIP\/carrier-/) });

      // Routed as test-dial decides, hearing what it says, up to its destination.
      expect(r.route).toEqual(routeOf(o.dial.decision));
      const dest = recordStep(o.expected.end);
      expect(dest, `test-dial's destination "${o.expected.end}"`).toBeDefined();
      const destIndex = r.path.findIndex((p) => p.kind === dest!.kind && p.detail === dest!.detail);
      expect(destIndex, JSON.stringify(r.path, null, 1)).toBeGreaterThanOrEqual(0);
      const before = r.path.slice(0, destIndex);
      expect(before.filter((p) => p.kind === 'prompt').map((p) => p.detail)).toEqual(o.expected.heard);
      expect(before.filter((p) => p.kind === 'dtmf').map((p) => p.detail).join('')).toBe(o.press ?? '');
      expect(r.path[destIndex]!.at).toBeLessThan(r.endedAt!);
      expect(r.endedBy).toBe('caller');

      if (dest!.kind === 'transfer') {
        // The test PBX has no contact for the linkage and sub-centre trunks (SIP_TRUNK_* unset): the
        // hand-off fails at once, and the caller goes to a 12345 agent ahead of new callers - in the
        // queue with music, not dropped and not in silence.
        expect(r.handoffs).toEqual([expect.objectContaining({ kind: 'blind', target: o.expected.end.replace(/^transfer /, ''), result: 'unreachable' })]);
        const requeue = r.path.findIndex((p, i) => i > destIndex && p.kind === 'queue');
        expect(r.path[requeue]?.detail).toMatch(/^skill general priority [1-9]\d*$/);
        // What happens in between, as it is today: the failed originate, the hand-off logged, straight into
        // the queue's music - no prompt tells the caller that the partner line could not be reached.
        expect(r.path.slice(destIndex, requeue + 1).map((p) => p.kind)).toEqual(['transfer', 'error', 'transfer', 'queue']);
      }
      expect(r.outcome).toBe('abandoned-queue');

      // RTP both ways in the offered codec: SIPp's recording reached Asterisk, and media flows to the caller at the destination.
      expect(o.nativeFormat).toBe({ PCMA: '(alaw)', PCMU: '(ulaw)' }[o.codec]);
      expect(o.rtp!.rx).toBeGreaterThanOrEqual(50);
      expect(o.rtp!.txSoonAfter - o.rtp!.txAtDestination).toBeGreaterThanOrEqual(40);

      // Exactly one ticket job, nothing left on the PBX.
      expect(o.jobs).toBe(1);
      expect(o.orphans).toBeUndefined();
    },
  );
});
