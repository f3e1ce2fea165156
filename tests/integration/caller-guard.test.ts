/**
 * Abuse handling (issue 5 item 6) over real calls, in both PBX modes:
 * frequent callers and repeated silent callers hear a polite notice and wait
 * behind others; a blocked caller hears the notice and is released; linkage
 * hand-ins are never limited.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { expectNoOrphans, pressAtWelcome, sessionByCaller, ticketJobRecord, useHarness } from '../support/harness.js';
import { loginAs, TEST_PASSWORD } from '../support/route-audit.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const prompts = (s: { record: { path: { kind: string; detail: string }[] } }) => s.record.path.filter((p) => p.kind === 'prompt').map((p) => p.detail);

async function callAndHangUp(app: App, caller: string, opts: { context?: string; press?: string } = {}) {
  const call = await h.side.call('12345', caller, opts.context ?? 'from-carrier');
  await call.answered();
  const s = await sessionByCaller(app, caller);
  await eventually(() => expect(prompts(s).length).toBeGreaterThanOrEqual(1));
  if (opts.press) {
    await pressAtWelcome(s, call, opts.press);
    await eventually(() => expect(s.record.path.some((p) => p.kind === 'queue' && p.detail.startsWith('skill'))).toBe(true));
  }
  await call.hangup();
  await expectNoOrphans(h, s.callId);
  return ticketJobRecord(app, s.callId);
}

describe('caller limits', () => {
  it('GIVEN a limit of 2 calls WHEN the same number calls a third time THEN it hears the notice first and queues with lower priority', async () => {
    const app = await h.startApp({ CALLER_MAX_CALLS: '2' });
    const caller = '13955550001';
    for (let i = 0; i < 2; i++) expect((await callAndHangUp(app, caller, { press: '1' })).path[0]?.detail).not.toMatch(/limited/);
    const third = await callAndHangUp(app, caller, { press: '1' });
    expect(third.path.some((p) => p.kind === 'route' && p.detail.startsWith('caller limited (frequent)'))).toBe(true);
    expect(third.path.find((p) => p.kind === 'prompt')?.detail).toBe('caller-limit-notice');
    expect(third.path.find((p) => p.kind === 'queue' && p.detail.startsWith('skill'))?.detail).toMatch(/priority -5$/);
  });

  it('GIVEN a linkage partner WHEN it hands in more calls than the limit THEN none is limited', async () => {
    const app = await h.startApp({ CALLER_MAX_CALLS: '1' });
    for (let i = 0; i < 3; i++) {
      const r = await callAndHangUp(app, '13955550002', { context: 'from-linkage' });
      expect(r.source).toBe('linkage');
      expect(r.path.some((p) => p.detail.startsWith('caller limited'))).toBe(false);
    }
  });

  it('GIVEN three silent calls WHEN the caller calls again THEN the silent-call notice plays first', async () => {
    const app = await h.startApp({ CALLER_MAX_SILENT: '3' });
    const caller = '13955550003';
    for (let i = 0; i < 3; i++) await callAndHangUp(app, caller);
    const next = await callAndHangUp(app, caller);
    expect(next.path.find((p) => p.kind === 'prompt')?.detail).toBe('silent-call-notice');
  });

  it('GIVEN a supervisor blocks a number WHEN it calls THEN it hears the notice and the call is released; the block is audited and can be lifted', async () => {
    const app = await h.startApp();
    await app.users.create({ username: 'guard-sup', roles: ['supervisor'], password: TEST_PASSWORD });
    await app.users.create({ username: 'guard-agent', roles: ['agent'], agentId: 'G1', password: TEST_PASSWORD });
    const sup = await loginAs(app.http, 'guard-sup');
    const agent = await loginAs(app.http, 'guard-agent');
    const post = (token: string, payload: object) =>
      app.http.inject({ method: 'POST', url: '/api/admin/blocklist', headers: { authorization: `Bearer ${token}` }, payload });
    expect((await post(agent.token, { number: '13955550004', reason: '恶意骚扰电话' })).statusCode).toBe(403);
    const bad = await post(sup.token, { number: '139-abc', reason: '多次恶意骚扰座席' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('number');
    // A change names the list version read (optimistic concurrency, issue 20).
    const listed = await app.http.inject({ method: 'GET', url: '/api/admin/blocklist', headers: { authorization: `Bearer ${sup.token}` } });
    const ok = await post(sup.token, { number: '13955550004', reason: '多次恶意骚扰座席', version: listed.json().version });
    expect(ok.statusCode).toBe(201);
    expect(JSON.stringify(ok.json())).not.toContain('13955550004');
    const id = ok.json().entry.id as string;

    const call = await h.side.call('12345', '13955550004');
    await call.answered();
    await call.ended();
    const s = await eventually(async () => {
      const no = await app.tickets.byCaller('13955550004', 1);
      expect(no).toHaveLength(1);
      return (await app.tickets.get(no[0]!.ticketNo))!.record;
    });
    expect(s.path.find((p) => p.kind === 'prompt')?.detail).toBe('caller-limit-notice');
    expect(s.outcome).toBe('released');
    expect((await app.audit.query({ action: 'caller-blocked' }))[0]).toMatchObject({ actor: 'guard-sup', target: `caller:${id}` });

    const del = await app.http.inject({ method: 'DELETE', url: `/api/admin/blocklist/${id}?version=${ok.json().version}`, headers: { authorization: `Bearer ${sup.token}` } });
    expect(del.statusCode).toBe(200);
    const again = await callAndHangUp(app, '13955550004');
    expect(again.path.some((p) => p.detail.includes('block list'))).toBe(false);
  });
});
