/**
 * Click-to-call from a ticket (issue 15, 外呼 with number privacy), in both PBX
 * modes: a handling unit's user (and an agent) asks to call the ticket's citizen;
 * the server rings the user's phone first (a Local channel into the dialplan's
 * test context, answered by the test side), then the citizen from the ticket's
 * stored number with caller id 12345, bridges and records them under the
 * ticket. No response the user receives carries the full number; limits and
 * bad requests change nothing; every call is audited with its outcome.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { addAgent, useHarness } from '../support/harness.js';
import type { AriEvent } from '../support/test-side.js';
import { callRecord, ticketFromRecord, userApi, type Api, type ApiResponse } from '../support/tickets.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const UNIT = '市住房城乡建设局';
const FORM = { category: 'complaint', requesterKind: 'citizen', summary: '反映工地夜间施工噪音扰民', unitSuggestion: '' } as const;

/** Every response a user got, to scan for the full number. */
function recorder(api: Api, seen: string[]): Api {
  return async (method, url, payload) => {
    const r: ApiResponse = await api(method, url, payload);
    seen.push(JSON.stringify(r.body ?? ''));
    return r;
  };
}

/** The test side's StasisStart of the leg dialled to `ext` (user's phone or the citizen) after `since` events. */
function legOf(ext: string, since: number): Promise<AriEvent> {
  return h.side.waitFor((e) => e.type === 'StasisStart' && e.args?.[0] === 'agent' && String(e.args[1]) === ext && h.side.events.indexOf(e) >= since, 15_000, `leg to ${ext}`);
}

async function talkedAndHungUp(app: App, api: Api, ticketNo: string, userExt: string, citizen: string, whileTalking?: () => Promise<void>) {
  const before = h.side.events.length;
  const placed = await api('POST', `/api/tickets/${ticketNo}/calls`);
  expect(placed.status, JSON.stringify(placed.body)).toBe(202);
  const id = placed.body.call.id as string;
  expect(placed.body.call).toMatchObject({ ticketNo, state: 'ringing-user' });
  const userLeg = await legOf(userExt, before);
  // The user's phone is rung with the hotline's number, never the citizen's.
  expect(userLeg.channel.caller.number).not.toContain(citizen.slice(3));
  const citizenLeg = await legOf(citizen, before);
  expect(citizenLeg.channel.caller.number).toBe('12345');
  const bridge = await eventually(async () => {
    const r = await h.side.request('GET', `/bridges/outbound-${id}`);
    expect(r.status).toBe(200);
    expect(r.body.channels).toHaveLength(2);
    return r.body as { channels: string[] };
  }, 15_000);
  expect(bridge.channels.sort()).toEqual([`${id}-c`, `${id}-u`].sort());
  const live = await api('GET', `/api/tickets/${ticketNo}/calls`);
  expect(live.body.calls[0]).toMatchObject({ id, state: 'talking' });
  await whileTalking?.();
  // The recording runs on the bridge (started once the citizen answered).
  await eventually(async () => expect((await app.recordings.store.byCall(`${id}-c`)).map((m) => m.name)).toEqual([`call-${id}-c-seg1`]), 15_000);
  // The citizen hangs up.
  await h.side.request('DELETE', `/channels/${citizenLeg.channel.id}`);
  await eventually(async () => {
    const done = await api('GET', `/api/tickets/${ticketNo}/calls`);
    expect(done.body.calls[0]).toMatchObject({ id, state: 'ended', outcome: 'answered' });
  }, 15_000);
  return id;
}

describe('click-to-call from a ticket', () => {
  it('GIVEN a unit user with a phone WHEN they call the ticket’s citizen THEN both legs are bridged, the citizen sees 12345, the call is recorded and audited on the ticket, and no response holds the number; limits and free-form numbers are refused without change', async () => {
    const app = await h.startApp({ OUTBOUND_USER_EXTENSIONS: 'unit-zj:8801', OUTBOUND_MAX_PER_TICKET_DAY: '1' });
    const citizen = '13912345678';
    const st = await ticketFromRecord(app, callRecord(citizen, Date.now()), FORM);
    expect(st.ticket.units).toEqual([UNIT]);
    const no = st.ticketNo;
    const seen: string[] = [];
    const unit = recorder(await userApi(app, 'unit-zj', ['unit'], { unitId: UNIT }), seen);

    // A free-form number is refused, naming the field; nothing is dialled or counted.
    const free = await unit('POST', `/api/tickets/${no}/calls`, { number: '13800000000' });
    expect(free.status).toBe(400);
    expect(free.body.error).toMatchObject({ code: 'invalid-input', field: 'number' });

    const id = await talkedAndHungUp(app, unit, no, '8801', citizen);

    // Recorded under the ticket, audited once with the outcome, attached to the ticket as its call.
    await eventually(async () => expect((await app.recordings.store.byTicket(no)).map((m) => m.name)).toContain(`call-${id}-c-seg1`), 15_000);
    const audit = (await app.audit.query({ target: `ticket:${no}` })).filter((e) => e.action === 'outbound-call');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'unit-zj', detail: expect.stringContaining(`${id}: answered`) });
    await eventually(async () => {
      const t = await app.tickets.get(no);
      expect(t?.callbacks.map((c) => c.callId)).toEqual([`${id}-c`]);
      expect(t?.callbacks[0]?.outbound).toEqual({ kind: 'click-to-call', by: 'unit-zj' });
      // The citizen heard the recording notice before being connected.
      expect(t?.callbacks[0]?.path.map((p) => p.detail)).toContain('play recording-notice');
    }, 15_000);
    const page = await unit('GET', `/api/tickets/${no}`);
    expect(page.status).toBe(200);
    expect(page.body.ticket.callbacks).toHaveLength(1);

    // The ticket's daily limit (1) is reached: 409 naming the rule, nothing dialled, nothing audited.
    const legsBefore = h.side.events.filter((e) => e.type === 'StasisStart').length;
    const again = await unit('POST', `/api/tickets/${no}/calls`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('outbound-limit-ticket');
    expect(h.side.events.filter((e) => e.type === 'StasisStart').length).toBe(legsBefore);
    expect((await app.audit.query({ target: `ticket:${no}` })).filter((e) => e.action === 'outbound-call')).toHaveLength(1);

    // Another unit's user cannot call this ticket; a unit user without a configured phone is told so.
    const other = recorder(await userApi(app, 'unit-cg', ['unit'], { unitId: '市城市管理局' }), seen);
    expect((await other('POST', `/api/tickets/${no}/calls`)).status).toBe(403);
    const nophone = recorder(await userApi(app, 'unit-zj-2', ['unit'], { unitId: UNIT }), seen);
    const np = await nophone('POST', `/api/tickets/${no}/calls`);
    expect(np.status).toBe(409);
    expect(np.body.error.code).toBe('no-phone');

    // Not one response to the unit's users carried the full number.
    expect(seen.length).toBeGreaterThan(6);
    for (const body of seen) expect(body).not.toContain(citizen);
    expect(seen.join('\n')).toContain('139****5678');
    await eventually(async () => expect(await h.side.channels()).toEqual([]), 15_000);
  });

  it('GIVEN the agent who took the call WHEN they call the citizen back from the ticket THEN their softphone (the ACD extension) rings first, the citizen is bridged with caller id 12345, and the agent is paused in the ACD for the call', async () => {
    const app = await h.startApp();
    await addAgent(app, '9001');
    const citizen = '13722223333';
    const st = await ticketFromRecord(app, callRecord(citizen, Date.now()), FORM);
    const seen: string[] = [];
    const agent = recorder(await userApi(app, 'agent9001', ['agent'], { agentId: '9001' }), seen);
    const stateOf = async () => (await app.acd.agents()).find((a) => a.id === '9001');
    // No queue call rings the agent meanwhile: paused for the outbound call, available again after it.
    await talkedAndHungUp(app, agent, st.ticketNo, '9001', citizen, async () => {
      expect(await stateOf()).toMatchObject({ state: 'paused', reason: '外呼中 / on an outbound call' });
    });
    await eventually(async () => expect((await stateOf())?.state).toBe('available'));
    for (const body of seen) expect(body).not.toContain(citizen);
    await eventually(async () => expect(await h.side.channels()).toEqual([]), 15_000);
  });

  it('GIVEN a citizen whose line is busy WHEN a unit user calls THEN the outcome is citizen-busy: audited once, nothing recorded or attached to the ticket, the user’s leg released', async () => {
    const app = await h.startApp({ OUTBOUND_USER_EXTENSIONS: 'unit-zj:8802', CALLBACK_DIAL_TEMPLATE: 'Local/{number}@hotline-test-busy' });
    const citizen = '13644445555';
    const st = await ticketFromRecord(app, callRecord(citizen, Date.now()), FORM);
    const unit = await userApi(app, 'unit-zj', ['unit'], { unitId: UNIT });
    const placed = await unit('POST', `/api/tickets/${st.ticketNo}/calls`);
    expect(placed.status, JSON.stringify(placed.body)).toBe(202);
    const id = placed.body.call.id as string;
    await eventually(async () => {
      const done = await unit('GET', `/api/tickets/${st.ticketNo}/calls`);
      expect(done.body.calls[0]).toMatchObject({ id, state: 'ended', outcome: 'citizen-busy', talkSec: 0 });
    }, 15_000);
    const audit = (await app.audit.query({ target: `ticket:${st.ticketNo}` })).filter((e) => e.action === 'outbound-call');
    expect(audit.map((e) => e.detail)).toEqual([`${id}: citizen-busy`]);
    expect(await app.recordings.store.byTicket(st.ticketNo)).toEqual([]);
    expect((await app.tickets.get(st.ticketNo))?.callbacks).toEqual([]);
    await eventually(async () => expect(await h.side.channels()).toEqual([]), 15_000);
  });

  it('GIVEN a click-to-call in progress WHEN the server restarts THEN the new instance hangs up both legs and removes the bridge (never adopts them as callers); the call was audited when placed', async () => {
    const env = { OUTBOUND_USER_EXTENSIONS: 'unit-zj:8803' };
    const app = await h.startApp(env);
    const citizen = '13511112222';
    const st = await ticketFromRecord(app, callRecord(citizen, Date.now()), FORM);
    const unit = await userApi(app, 'unit-zj', ['unit'], { unitId: UNIT });
    const placed = await unit('POST', `/api/tickets/${st.ticketNo}/calls`);
    expect(placed.status, JSON.stringify(placed.body)).toBe(202);
    const id = placed.body.call.id as string;
    await eventually(async () => expect((await h.side.request('GET', `/bridges/outbound-${id}`)).body?.channels).toHaveLength(2), 15_000);
    expect((await app.audit.query({ target: `ticket:${st.ticketNo}` })).filter((e) => e.action === 'outbound-call-placed').map((e) => e.detail)).toEqual([id]);
    await h.stopApp(app);
    const next = await h.startApp(env);
    await eventually(async () => {
      expect(await h.side.channels()).toEqual([]);
      expect((await h.side.request('GET', '/bridges')).body).toEqual([]);
    }, 15_000);
    expect(next.calls.active).toEqual([]);
  });
});
