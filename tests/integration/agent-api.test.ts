/**
 * The agent console's API over a real call (issues 6 and 7), in both PBX
 * modes: an agent logs in, goes available, gets the call (caller masked, line,
 * IVR path), hands it to a sub-center named in the routing table, and saves
 * the ticket form; bad input is refused with the field named.
 */
import { describe, expect, it } from 'vitest';
import { addAgent, expectNoOrphans, pressAtWelcome, sessionByCaller, useHarness } from '../support/harness.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';
import { eventually } from '../support/wait.js';

const h = useHarness();

describe('agent console API', () => {
  it('GIVEN an agent on a call WHEN they use the console API THEN state, call view, hand-off by routing target and ticket form work', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang' });
    // The tax sub-center is reached by a dial string in this deployment's table.
    const published = (await app.parts.routing.getPublished())!;
    const table = structuredClone(published.table);
    const route = table.routes.find((r) => r.id === 'line-12366')! as { target?: unknown };
    route.target = { kind: 'dial', dialString: 'Local/12366@hotline-test-agents' };
    expect((await app.parts.routing.publish('test', { table })).ok).toBe(true);
    await eventually(() => expect(app.parts.current().version).toBe(published.version + 1));

    await addAgent(app, '5001');
    await app.acd.setAgentState('5001', 'paused', 'training');
    await app.users.create({ username: 'agent5001', roles: ['agent'], agentId: '5001', password: TEST_PASSWORD });
    await app.users.create({ username: 'agent5002', roles: ['agent'], agentId: '5002', password: TEST_PASSWORD });
    const { token } = await loginAs(app.http, 'agent5001');
    const other = await loginAs(app.http, 'agent5002');
    const auth = { authorization: `Bearer ${token}` };
    const api = (method: 'GET' | 'POST', url: string, payload?: object, headers = auth) => app.http.inject({ method, url, headers, ...(payload ? { payload } : {}) });

    const badState = await api('POST', '/api/agent/state', { state: 'paused' });
    expect(badState.statusCode).toBe(400);
    expect(badState.json().error.field).toBe('reason');
    expect((await api('POST', '/api/agent/state', { state: 'available' })).statusCode).toBe(200);
    expect((await api('GET', '/api/agent/state')).json().agent.state).toBe('available');
    expect((await api('GET', '/api/agent/call')).json().call).toBeNull();

    const caller = '13911118888';
    const call = await h.side.call('12345', caller);
    await call.answered();
    const s = await sessionByCaller(app, caller);
    await pressAtWelcome(s, call, '0');
    const view = await eventually(async () => {
      const v = (await api('GET', '/api/agent/call')).json().call;
      expect(v?.phase).toBe('connected'); // (shown while ringing too, as 'ringing')
      return v;
    }, 15_000);
    expect(view.caller).toBe('139****8888');
    expect(JSON.stringify(view)).not.toContain(caller);
    expect(view.ivrPath.some((p: string) => p.includes('.main: dtmf 0'))).toBe(true);

    const badKind = await api('POST', '/api/agent/call/handoff', { kind: 'teleport', target: '12366' });
    expect(badKind.statusCode).toBe(400);
    expect(badKind.json().error.field).toBe('kind');
    const badTarget = await api('POST', '/api/agent/call/handoff', { kind: 'three-way', target: '99999' });
    expect(badTarget.statusCode).toBe(400);
    expect(badTarget.json().error.field).toBe('target');
    expect(s.handoffPhase).toBe('idle');

    const three = await api('POST', '/api/agent/call/handoff', { kind: 'three-way', target: '12366' });
    expect(three.statusCode).toBe(200);
    await eventually(() => expect(s.handoffPhase).toBe('conference'));
    expect((await api('POST', '/api/agent/call/handoff/merge')).statusCode).toBe(409);

    const form = { category: 'complaint', requesterKind: 'citizen', summary: '反映小区夜间施工噪音扰民', unitSuggestion: '区住建局' };
    expect((await api('POST', `/api/agent/calls/${s.callId}/ticket`, form, { authorization: `Bearer ${other.token}` })).statusCode).toBe(403);
    const badForm = await api('POST', `/api/agent/calls/${s.callId}/ticket`, { ...form, category: 'gossip' });
    expect(badForm.statusCode).toBe(400);
    expect(badForm.json().error.field).toBe('category');
    expect((await api('POST', `/api/agent/calls/${s.callId}/ticket`, form)).statusCode).toBe(200);

    expect((await api('POST', '/api/agent/call/handoff/agent-leave')).statusCode).toBe(200);
    await eventually(async () => expect((await app.acd.agents()).find((a) => a.id === '5001')?.state).toBe('available'));
    await call.hangup();
    await expectNoOrphans(h, s.callId);
    const ticketNo = await eventually(async () => {
      const no = await app.tickets.byCall(s.callId);
      expect(no).toBeTruthy();
      return no!;
    });
    const ticket = await app.tickets.get(ticketNo);
    expect(ticket?.form).toMatchObject({ category: 'complaint', summary: '反映小区夜间施工噪音扰民', by: '5001' });
    expect(ticket?.record.handoffs.map((x) => x.result)).toEqual(['answered', 'agent-left', 'call-ended']);
  });

  it('GIVEN the shipped Zaozhuang table (12366 = seat group subcenter-12366) WHEN a call rings an agent THEN the console API shows it ringing; a three-way or consult to 12366 is refused naming the kind, and a blind transfer queues the caller for that group', async () => {
    const app = await h.startApp({ HOTLINE_CITY: 'zaozhuang', ACD_NO_ANSWER_SEC: '20' });
    const route = app.parts.current().table.routes.find((r) => r.id === 'line-12366') as { target?: unknown };
    expect(route.target).toEqual({ kind: 'queue', group: 'subcenter-12366' });
    await addAgent(app, '5101');
    await addAgent(app, '5102', { 'subcenter-12366': 3 });
    // 5101 lets it ring for a while before answering; the tax seat answers at once.
    h.side.agentBehaviour = (ext) => ({ action: 'answer', delayMs: ext === '5101' ? 4000 : 20 });
    await app.users.create({ username: 'agent5101', roles: ['agent'], agentId: '5101', password: TEST_PASSWORD });
    const { token } = await loginAs(app.http, 'agent5101');
    const api = (method: 'GET' | 'POST', url: string, payload?: object) =>
      app.http.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });

    // The console's list of targets: a seat group takes blind transfers only.
    const targets = (await api('GET', '/api/agent/handoff-targets')).json().targets as { target: string; kinds: string[] }[];
    expect(targets.find((x) => x.target === '12366')?.kinds).toEqual(['blind']);
    expect(targets.find((x) => x.target === 'skill:subcenter-12366')?.kinds).toEqual(['blind']);
    expect(targets.some((x) => x.kinds.includes('three-way'))).toBe(true); // dial targets (linkage lines) allow all

    const caller = '13922223333';
    const call = await h.side.call('12345', caller);
    await call.answered();
    const s = await sessionByCaller(app, caller);
    await pressAtWelcome(s, call, '0');
    const ringing = await eventually(async () => {
      const v = (await api('GET', '/api/agent/call')).json().call;
      expect(v?.phase).toBe('ringing');
      return v;
    });
    expect(ringing).toMatchObject({ callId: s.callId, caller: '139****3333', dialed: '12345' });
    expect(s.connectedAgentId).toBeUndefined();
    // Not taken yet: its ticket form is not this agent's.
    const early = await api('POST', `/api/agent/calls/${s.callId}/ticket`, { category: 'consult', requesterKind: 'citizen', summary: '咨询' });
    expect(early.statusCode).toBe(403);
    await eventually(async () => expect((await api('GET', '/api/agent/call')).json().call?.phase).toBe('connected'));

    for (const kind of ['three-way', 'consult']) {
      const r = await api('POST', '/api/agent/call/handoff', { kind, target: '12366' });
      expect(r.statusCode, kind).toBe(400);
      expect(r.json().error.field).toBe('kind');
      expect(r.json().error.message).toContain('座席组');
    }
    expect((await api('POST', '/api/agent/call/handoff', { kind: 'three-way', target: 'skill:subcenter-12366' })).json().error.field).toBe('kind');
    expect(s.handoffPhase).toBe('idle');
    expect(s.connectedAgentId).toBe('5101');

    const blind = await api('POST', '/api/agent/call/handoff', { kind: 'blind', target: '12366' });
    expect(blind.statusCode).toBe(200);
    await eventually(() => expect(s.connectedAgentId).toBe('5102'));
    expect(s.record.agents).toEqual(['5101', '5102']);
    await call.hangup();
    await expectNoOrphans(h, s.callId);
  });
});
