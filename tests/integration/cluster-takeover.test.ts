/**
 * More than one machine, a server dies (issue 17): Kamailio in front of two Asterisk nodes; node A's
 * server runs in a child process, node B's in this one. Citizens call through the proxy (calls land
 * on both nodes), agents answer through the proxy; node A's server is SIGKILLed mid-call. Node B's
 * server takes node A over (src/cluster/): it connects to node A's ARI app once node A's leases ran
 * out and adopts its calls — a bridged call keeps talking, a queued caller keeps waiting and gets the
 * next agent — and every call ends with exactly one ticket, node A's by the peer. When node A's server
 * comes back, the peer hands the node back and node A's server takes its calls again; when it stops
 * cleanly (a rolling restart), it frees its node at once and the peer continues its calls.
 *
 * REAL ONLY, by necessity: Kamailio and SIPp need a SIP stack, which the simulated PBX does not have.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { AsteriskInstance, type AsteriskInfo } from '../support/asterisk.js';
import { childServerEnv, killChildren, startServerChild, type ServerChild } from '../support/child-server.js';
import { addAgent } from '../support/harness.js';
import { logSink } from '../support/log-capture.js';
import { PROMPTS_DIR, realPbx, testConfig, uniquePrefix } from '../support/pbx.js';
import { AgentPhone, kamailioProblem, PROXY_HOST, SipProxy } from '../support/sip-proxy.js';
import { placeCitizenCalls, sippProblem } from '../support/sipp.js';
import { TestSide } from '../support/test-side.js';
import { eventually } from '../support/wait.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';
import { MAX_WORKERS } from '../support/global-setup.js';

const AGENTS = 'agent4101:takeover-secret-4101,agent4102:takeover-secret-4102';
const ARI_PASSWORD = `takeover-ari-${Math.random().toString(36).slice(2)}`;
/** Short leases so the switch-over fits the test; production's default is 15 s (CALL_STATE_LEASE_MS). */
const LEASE_MS = 3000;
const nodes: AsteriskInstance[] = [];
const phones: AgentPhone[] = [];
let proxy: SipProxy;
let serverA: ServerChild | undefined;
let appB: App;
let sideA: TestSide;
const prefix = uniquePrefix('takeover');

const nodeUri = (a: AsteriskInfo) => `sip:127.0.0.1:${a.sipPort}`;

function clusterEnv(): Record<string, string> {
  return {
    HOTLINE_KEY_PREFIX: prefix,
    AGENT_DIAL_TEMPLATE: `PJSIP/carrier/sip:agent{ext}@${PROXY_HOST}:${proxy.port}`,
    // Registrations from the proxy (ul.dump): an agent must be registered there to get an offer.
    ACD_REQUIRE_REGISTRATION: 'true',
    SIP_PROXY_RPC_URL: `http://${PROXY_HOST}:${proxy.port}/RPC`,
    SIP_PROXY_POLL_MS: '500',
    ACD_NO_ANSWER_SEC: '10',
    CLUSTER_NODES: `node-a=${nodes[0]!.info.ariUrl},node-b=${nodes[1]!.info.ariUrl}`,
    CALL_STATE_LEASE_MS: String(LEASE_MS),
  };
}

async function startServerA(): Promise<ServerChild> {
  const env = childServerEnv(realPbx(nodes[0]!.info), { ...clusterEnv(), CLUSTER_NODE: 'node-a', HOTLINE_DATA_DIR: `${inject('runDir')}/takeover-${prefix}-a` });
  return startServerChild(env, 'node-a');
}

beforeAll(async () => {
  const problem = kamailioProblem() ?? sippProblem();
  if (problem) throw new Error(problem);
  // Two nodes of the test's own, RTP ports above the workers', the TLS test's and cluster-sip's.
  for (const [i, label] of ['tk-a-', 'tk-b-'].entries()) {
    const rtp = 20000 + 2000 * (MAX_WORKERS + 3 + i);
    nodes.push(
      await AsteriskInstance.start({
        promptsDir: PROMPTS_DIR,
        label,
        rtpPorts: [rtp, rtp + 1999],
        carrierAddress: PROXY_HOST,
        agentSipPasswords: AGENTS,
        ariPassword: ARI_PASSWORD,
        systemName: `node-${'ab'[i]}`,
      }),
    );
  }
  proxy = await SipProxy.start({ nodes: nodes.map((n) => nodeUri(n.info)), agents: AGENTS });
  await eventually(async () => {
    const states = await proxy.nodeStates();
    for (const n of nodes) expect(states[nodeUri(n.info)]).toMatch(/^A/);
  }, 20_000);
  // Agents talk 32 s: node A's bridged call outlives the second wave's IVR and the switch-over (which took
  // 16 s once in a loaded CI run, against 3-6 s usually; at 22 s of talk the agent had hung up before
  // the adoption). The queued callers still reach an agent within their 45 s on the line.
  for (const user of ['agent4101', 'agent4102']) {
    phones.push(await AgentPhone.start(proxy, user, `takeover-secret-${user.slice(5)}`, { talkMs: 32_000 }));
  }
  serverA = await startServerA();
  appB = await buildApp(
    testConfig(realPbx(nodes[1]!.info), { ...clusterEnv(), CLUSTER_NODE: 'node-b', HOTLINE_DATA_DIR: `${inject('runDir')}/takeover-${prefix}-b` }),
    { instanceId: 'node-b', logDestination: logSink, ariBackoff: { initialMs: 50, maxMs: 500 }, outboxRetryMs: 200, acdOverrides: { dispatchIntervalMs: 100 } },
  );
  await appB.start();
  await appB.telephony.whenConnected(10_000);
  for (const ext of ['4101', '4102']) await addAgent(appB, ext);
  sideA = await TestSide.connect(realPbx(nodes[0]!.info));
}, 120_000);

afterAll(async () => {
  try {
    await appB?.stop();
    await serverA?.kill();
  } finally {
    killChildren();
    await sideA?.close();
    for (const p of phones) await p.stop();
    await proxy?.stop();
    for (const n of nodes) await n.stop();
  }
}, 60_000);

/** The calls' ticket jobs by caller number, each caller's exactly once. */
async function ticketJobsOf(callers: string[]): Promise<Map<string, { callId: string; instance: string; agents: string[]; outcome: string }>> {
  const jobs = await appB.ticketsQueue.getJobs(['completed', 'active', 'waiting', 'delayed']);
  const found = new Map<string, { callId: string; instance: string; agents: string[]; outcome: string }>();
  for (const j of jobs) {
    const r = j.data.record;
    if (!callers.includes(r.caller.number)) continue;
    expect(found.has(r.caller.number), `one ticket job for ${r.caller.number}`).toBe(false);
    found.set(r.caller.number, { callId: r.callId, instance: r.instance, agents: r.agents, outcome: String(r.outcome) });
  }
  return found;
}

/**
 * Node A's calls in Redis (call states name their node), with owner, phase and caller. A call's state
 * outlives its end until its record is spooled (src/calls/effects.ts), so a test looking for its own
 * call names the caller too.
 */
async function nodeACalls(): Promise<Array<{ callId: string; owner: string; phase: string; caller: string }>> {
  const ids = await appB.redis.smembers(`${prefix}:callstates`);
  const out = [];
  for (const callId of ids) {
    if (!callId.startsWith('node-a-')) continue;
    const s = await appB.callStates.load(callId);
    if (s) out.push({ callId, owner: s.owner, phase: s.state.phase, caller: s.state.record.caller.number });
  }
  return out;
}

describe('a cluster: a server dies, a peer takes its node over', () => {
  it('GIVEN calls through the proxy on both nodes WHEN node A’s server is SIGKILLed THEN node B’s server drives node A, the calls continue and each ends with one ticket, node A’s by the peer', async () => {
    // Two waves through the proxy's round robin, one call of each on each node: the first two talk to
    // the two agents, the next two wait in the queue. Node A then has one bridged and one queued call.
    const first = ['13900042001', '13900042002'];
    const second = ['13900042003', '13900042004'];
    const callers = [...first, ...second];
    const run1 = await placeCitizenCalls(proxy.port, first.map((c) => ({ dialed: '12345', caller: c, press: '0' })), { host: PROXY_HOST });
    // Both agents talking (the ACD's word, shared by both servers; SIPp's log file may lag behind).
    await eventually(async () => expect((await appB.acd.agents()).map((a) => a.state)).toEqual(['on-call', 'on-call']), 40_000);
    const run2 = await placeCitizenCalls(proxy.port, second.map((c) => ({ dialed: '12345', caller: c, press: '0' })), { host: PROXY_HOST });
    const atKill = await eventually(async () => {
      const calls = await nodeACalls();
      expect(calls.map((c) => [c.owner, c.phase]).sort()).toEqual([
        ['node-a', 'agent'],
        ['node-a', 'queue'],
      ]);
      return calls;
    }, 40_000);
    const bridged = atKill.find((c) => c.phase === 'agent')!;
    const queued = atKill.find((c) => c.phase === 'queue')!;
    const queuedAt = (await appB.callStates.load(queued.callId))!.state.queue!.queuedAt;

    const t0 = Date.now();
    expect(await serverA!.kill()).toMatchObject({ signal: 'SIGKILL' });
    serverA = undefined;
    // THEN node B's server drives node A (a foster app on node A's ARI) and owns node A's calls.
    await eventually(() => expect([...appB.cluster.fostered().keys()]).toEqual(['node-a']), 20_000);
    await eventually(async () => {
      for (const c of await nodeACalls()) expect(c.owner).toBe('node-b-for-node-a');
    }, 20_000);
    // A figure for the README's "More than one machine" (printed, not asserted: it depends on the machine).
    console.log(`cluster takeover: node A's calls owned by node B's server ${Date.now() - t0} ms after node A's server was killed (lease ${LEASE_MS} ms)`);
    // The bridged call kept talking: adopted with its agent, both legs still in its bridge.
    const foster = appB.cluster.fostered().get('node-a') as App;
    const adopted = foster.calls.session(bridged.callId);
    // Read from the adoption's own note, not the phase now: under load the agent's 32 s of talk may end
    // between the adoption and this line, and the caller then goes on to the survey, as a call should.
    const note = adopted?.record.path.find((p) => p.kind === 'note' && p.detail.startsWith('adopted by node-b-for-node-a from node-a'));
    expect(note?.detail).toMatch(/\(agent; bridge of 2\)$/);
    expect(adopted?.record.agents.filter((a) => /^410[12]$/.test(a))).toHaveLength(1);
    // The queued caller waits on with their original join time (their place in the queue).
    const waiting = foster.calls.session(queued.callId);
    expect(waiting?.state.phase).toBe('queue');
    expect(waiting?.state.queue?.queuedAt).toBe(queuedAt);
    // Supervisors see who drives each node (an agent may not).
    await appB.users.create({ username: 'tk-super', roles: ['supervisor'], password: TEST_PASSWORD });
    await appB.users.create({ username: 'tk-agent', roles: ['agent'], password: TEST_PASSWORD, agentId: '4101' });
    const view = async (user: string) => {
      const { token } = await loginAs(appB.http, user);
      return appB.http.inject({ method: 'GET', url: '/api/supervisor/cluster', headers: { authorization: `Bearer ${token}` } });
    };
    const seen = await view('tk-super');
    expect(seen.statusCode, seen.body).toBe(200);
    expect(seen.json()).toEqual({
      node: 'node-b',
      instance: 'node-b',
      nodes: [
        { name: 'node-a', home: null, driver: 'node-b-for-node-a', takenOver: true, drivenFromHere: true },
        { name: 'node-b', home: 'node-b', driver: 'node-b', takenOver: false, drivenFromHere: true },
      ],
    });
    expect((await view('tk-agent')).statusCode).toBe(403);

    for (const run of [run1, run2]) {
      const outcome = await run.done;
      expect(outcome.exitCode, outcome.errors).toBe(0);
      for (const c of outcome.calls.keys()) expect(outcome.calls.get(c), outcome.errors).toMatchObject({ answered: true, pressed: '0' });
    }
    const jobs = await eventually(async () => {
      const j = await ticketJobsOf(callers);
      expect(j.size).toBe(4);
      return j;
    }, 30_000);
    for (const [caller, j] of jobs) {
      // Every caller reached an agent: node A's queued caller too, offered by the peer.
      expect(j, caller).toMatchObject({ outcome: 'answered', agents: [expect.stringMatching(/^410[12]$/)] });
      expect(j.instance, caller).toBe(j.callId.startsWith('node-a-') ? 'node-b-for-node-a' : 'node-b');
    }
    // Node A's queued caller was offered by the peer to the agent who came free: answered on node A.
    const byCall = new Map([...jobs.values()].map((j) => [j.callId, j]));
    expect(byCall.get(bridged.callId)).toMatchObject({ instance: 'node-b-for-node-a', outcome: 'answered' });
    expect(byCall.get(queued.callId)).toMatchObject({ instance: 'node-b-for-node-a', outcome: 'answered' });
    expect(phones.flatMap((p) => p.answered())).toHaveLength(4);
  });

  it('GIVEN node A taken over, a caller in its IVR WHEN node A’s server comes back THEN the peer hands the node back and node A’s server continues the call', async () => {
    // A call on node A while the peer drives it (the test's own ARI leg into node A's dialplan).
    const caller = '13900042010';
    const c = await sideA.call('12345', caller);
    await c.answered();
    const callId = await eventually(async () => {
      const mine = (await nodeACalls()).filter((x) => x.owner === 'node-b-for-node-a' && x.phase === 'ivr' && x.caller === caller);
      expect(mine).toHaveLength(1);
      return mine[0]!.callId;
    }, 20_000);
    const starting = startServerA();
    // Node A's server announces itself (home lease) before it connects; the peer lets go, then it drives.
    const homeAt = await eventually(async () => {
      expect(await appB.redis.get(`${prefix}:cluster:home:node-a`)).toBe('node-a');
      return Date.now();
    }, 60_000);
    await eventually(() => expect(appB.cluster.fostered().size).toBe(0), 20_000);
    const letGoAt = Date.now();
    serverA = await starting;
    expect(await appB.redis.get(`${prefix}:cluster:driver:node-a`)).toBe('node-a');
    await eventually(async () => expect(await appB.callStates.ownerOf(callId)).toBe('node-a'), 20_000);
    console.log(`cluster hand-back: the peer let go ${letGoAt - homeAt} ms after node A's server announced itself; node A's server owned the live call ${Date.now() - homeAt} ms after it announced itself`);
    await c.hangup();
    const jobs = await eventually(async () => {
      const j = await ticketJobsOf([caller]);
      expect(j.size).toBe(1);
      return j;
    }, 30_000);
    expect(jobs.get(caller)).toMatchObject({ callId, instance: 'node-a' });
  });

  it('GIVEN node A’s server with a live call WHEN it stops cleanly (SIGTERM, a rolling restart) THEN it frees its node at once and the peer continues the call', async () => {
    const caller = '13900042011';
    const c = await sideA.call('12345', caller);
    await c.answered();
    const callId = await eventually(async () => {
      // Test 2's call may still be stored for a moment after it ended (same owner and phase).
      const mine = (await nodeACalls()).filter((x) => x.owner === 'node-a' && x.phase === 'ivr' && x.caller === caller);
      expect(mine).toHaveLength(1);
      return mine[0]!.callId;
    }, 20_000);
    expect(await serverA!.terminate()).toMatchObject({ code: 0 });
    serverA = undefined;
    const stoppedAt = Date.now();
    // Freed, not left to run out: no home lease, and the driver lease free or already the peer's.
    expect(await appB.redis.get(`${prefix}:cluster:home:node-a`)).toBeNull();
    expect([null, 'node-b-for-node-a']).toContain(await appB.redis.get(`${prefix}:cluster:driver:node-a`));
    await eventually(async () => expect(await appB.callStates.ownerOf(callId)).toBe('node-b-for-node-a'), 20_000);
    console.log(`cluster rolling restart: node A's live call owned by node B's server ${Date.now() - stoppedAt} ms after node A's server stopped cleanly (lease ${LEASE_MS} ms, not waited for)`);
    await c.hangup();
    const jobs = await eventually(async () => {
      const j = await ticketJobsOf([caller]);
      expect(j.size).toBe(1);
      return j;
    }, 30_000);
    expect(jobs.get(caller)).toMatchObject({ callId, instance: 'node-b-for-node-a' });
  });
});
