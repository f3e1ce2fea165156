/**
 * Helpers of the ticket integration tests (tests/integration/tickets-*.test.ts):
 * a controllable clock for the app (AppOptions.now), users logged in through
 * the real login route, calls whose agent saves the ticket form through the
 * agent console API, and waiting for a call's ticket to be built.
 */
import { expect } from 'vitest';
import type { App } from '../../src/app.js';
import type { CallRecord } from '../../src/calls/record.js';
import type { CallSession } from '../../src/calls/session.js';
import type { Ticket } from '../../src/tickets/model.js';
import { ticketJobId } from '../../src/tickets/queue.js';
import type { StoredTicket, TicketForm } from '../../src/tickets/store.js';
import type { Role } from '../../src/access/roles.js';
import { addAgent, pressAtWelcome, sessionByCaller, type Harness } from './harness.js';
import { loginAs, TEST_PASSWORD } from './route-audit.js';
import type { TestCall } from '../../sim-pbx/test-caller.js';
import { eventually } from './wait.js';

/**
 * The app's clock: runs at real speed from a chosen instant, and can be moved
 * (forward) to any instant. Real time keeps flowing, so calls, ACD and BullMQ
 * behave as usual; only what reads `now()` sees the moved date.
 */
export class TestClock {
  private offset: number;
  constructor(start: number) {
    this.offset = start - Date.now();
  }
  readonly now = (): number => Date.now() + this.offset;
  set(at: number): void {
    this.offset = at - Date.now();
  }
}

export type DomainTicket = StoredTicket & { ticket: Ticket };

/** The call's ticket once the worker built it and its job completed (after-ticket work done). */
export async function ticketOfCall(app: App, callId: string, timeoutMs = 15_000): Promise<DomainTicket> {
  return eventually(async () => {
    const no = await app.tickets.byCall(callId);
    expect(no, `ticket of call ${callId}`).toBeTruthy();
    const job = await app.ticketsQueue.getJob(ticketJobId(callId));
    expect(await job?.getState()).toBe('completed');
    const st = await app.tickets.get(no!);
    expect(st?.ticket, 'domain ticket built').toBeDefined();
    return st as DomainTicket;
  }, timeoutMs);
}

let recordSeq = 0;

/** A finished call's record as the call manager hands it to the outbox (for tickets that need no PBX). */
export function callRecord(caller: string, startedAt: number, extra: Partial<CallRecord> = {}): CallRecord {
  const callId = `rec-${process.pid}-${Date.now().toString(36)}-${++recordSeq}`;
  return {
    callId,
    channelName: `PJSIP/carrier-${recordSeq}`,
    caller: { number: caller, name: '' },
    dialed: '12345',
    source: 'carrier',
    language: 'zh',
    route: { id: 'hotline', mode: 'hotline', line: '12345' },
    startedAt,
    answeredAt: startedAt + 1_000,
    agentAnsweredAt: startedAt + 20_000,
    endedAt: startedAt + 180_000,
    endedBy: 'caller',
    outcome: 'answered',
    path: [],
    agents: ['9001'],
    handoffs: [],
    recovered: false,
    instance: 'test',
    ...extra,
  };
}

export type FormInput = Omit<TicketForm, 'by' | 'at'>;

/**
 * A ticket through the app's pipeline without a PBX call: the agent's form is
 * saved (as the console does during the call), the record goes to the outbox,
 * the worker builds the ticket.
 */
export async function ticketFromRecord(app: App, record: CallRecord, form?: FormInput): Promise<DomainTicket> {
  if (form) await app.tickets.saveForm(record.callId, { ...form, by: record.agents[0] ?? '9001', at: Date.now() });
  await app.outbox.submit(record);
  return ticketOfCall(app, record.callId);
}

export interface ApiResponse {
  status: number;
  body: any;
}
export type Api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) => Promise<ApiResponse>;

/** Create a user and log in through POST /api/auth/login; returns a Bearer-authenticated API caller. */
export async function userApi(app: App, username: string, roles: Role[], scope: { agentId?: string; unitId?: string } = {}): Promise<Api> {
  await app.users.create({ username, roles, password: TEST_PASSWORD, ...scope });
  const { token } = await loginAs(app.http, username);
  return async (method, url, payload) => {
    const r = await app.http.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
    return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
  };
}

/** Available agent `id` (with skills) who can log into the console. */
export async function consoleAgent(app: App, id: string, skills: Record<string, number> = { general: 3 }): Promise<Api> {
  await addAgent(app, id, skills);
  return userApi(app, `agent${id}`, ['agent'], { agentId: id });
}

export interface AgentCall {
  call: TestCall;
  session: CallSession;
  ticket: DomainTicket;
}

/**
 * A citizen's call through the PBX: dial `number` (on 12345, press 0 at the
 * menu), the agent answers, saves the ticket form through
 * POST /api/agent/calls/:callId/ticket, the caller hangs up. Resolves once the
 * call has ended (its ticket job is then on its way).
 */
export async function talkAndFill(h: Harness, app: App, o: { number: string; caller: string; agentId: string; agent: Api; form: FormInput }): Promise<Omit<AgentCall, 'ticket'>> {
  const call = await h.side.call(o.number, o.caller);
  await call.answered();
  const session = await sessionByCaller(app, o.caller);
  if (o.number === '12345') {
    await pressAtWelcome(session, call, '0');
  }
  // A bound, not a speed check: a legacy line's announcements on a real Asterisk under a full run's load
  // took this past 30 s once (CI, tickets-calls' second call of the same caller).
  await eventually(() => expect(session.record.agents).toEqual([o.agentId]), 60_000);
  const saved = await o.agent('POST', `/api/agent/calls/${session.callId}/ticket`, o.form);
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  await call.hangup();
  await call.ended();
  return { call, session };
}

/** {@link talkAndFill}, then the ticket the worker built. */
export async function callWithForm(h: Harness, app: App, o: Parameters<typeof talkAndFill>[2]): Promise<AgentCall> {
  const done = await talkAndFill(h, app, o);
  return { ...done, ticket: await ticketOfCall(app, done.session.callId) };
}

/** End of a Shanghai day (23:59:59.999) — the instant a day-counted deadline runs out. */
export function endOfDay(date: string): number {
  return Date.parse(`${date}T23:59:59.999+08:00`);
}

/** A Shanghai local instant written out in full (independent of src/tickets/calendar.ts). */
export function at(date: string, time = '00:00:00'): number {
  return Date.parse(`${date}T${time}+08:00`);
}
