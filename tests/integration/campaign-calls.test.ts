/**
 * 回访 campaigns (issue 15), in both PBX modes: a supervisor starts a campaign over 20 closed
 * tickets on a Friday evening; nothing is dialled until Monday's first window (the weekend is
 * skipped); then the server calls each ticket's citizen from its stored number as 12345, plays the
 * survey, and the test side acts as the citizens: most rate by DTMF, some are busy or do not answer
 * first and are retried after the interval, two stay busy until their attempts run out, one presses
 * only invalid keys. Ratings land on the tickets as phone-verified ratings the 满意率 KPI counts;
 * every call has one audit entry; no number appears in any response; no channel is left.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { CampaignItem } from '../../src/campaigns/plan.js';
import { ticketKpis } from '../../src/tickets/kpi.js';
import type { Ticket } from '../../src/tickets/model.js';
import { useHarness } from '../support/harness.js';
import { at, callRecord, TestClock, ticketFromRecord, userApi, type Api } from '../support/tickets.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
const UNIT = '市住房城乡建设局';
const FORM = { category: 'complaint', requesterKind: 'citizen', summary: '反映小区电梯长期故障', unitSuggestion: UNIT } as const;

type Act = 'busy' | 'no-answer' | 'invalid' | { rate: string };

/** A closed ticket (dispatched, accepted, replied, closed without a rating yet). */
async function closedTicket(app: App, number: string, startedAt: number): Promise<string> {
  const st = await ticketFromRecord(app, callRecord(number, startedAt), FORM);
  const unit = { id: 'unit-zj', role: 'unit' as const, unit: UNIT };
  await app.ticketService.act(st.ticketNo, { type: 'accept', unit: UNIT }, unit);
  await app.ticketService.act(st.ticketNo, { type: 'reply', content: '已联系物业维修，电梯恢复运行' }, unit);
  await app.ticketService.act(st.ticketNo, { type: 'close', reason: '已答复，待回访评价 / replied, rating by the campaign' }, { id: 'sup', role: 'supervisor' });
  return st.ticketNo;
}

/** City time of an instant as "YYYY-MM-DD HH:MM:SS" (independent of the code under test). */
const cityTime = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');

describe('回访 campaign', () => {
  it('GIVEN 20 closed tickets and a campaign started on Friday evening WHEN it runs THEN calls go out from Monday 09:00 only, busy/no-answer are retried after the interval up to the attempts, ratings land on the tickets (counted by 满意率), one audit entry per call, no number in any response', async () => {
    const clock = new TestClock(at('2026-12-11', '20:30:00'));
    const app = await h.startApp({}, { now: clock.now });
    const numbers = Array.from({ length: 20 }, (_, k) => `1391234${String(1000 + k)}`);
    const script = new Map<string, Act[]>();
    numbers.forEach((n, k) => {
      if (k < 12) script.set(n, [{ rate: String((k % 4) + 1) }]);
      else if (k < 15) script.set(n, ['busy', { rate: '2' }]);
      else if (k < 17) script.set(n, ['no-answer', { rate: '1' }]);
      else if (k < 19) script.set(n, ['busy', 'busy', 'busy']);
      else script.set(n, ['invalid']);
    });
    const ticketOf = new Map<string, string>();
    for (const n of numbers) ticketOf.set(n, await closedTicket(app, n, clock.now() - 3 * 86_400_000));
    const numberOf = new Map([...ticketOf].map(([n, no]) => [no, n]));

    // The citizens: each leg reaching the test side is one attempt, acted out by the script.
    const legs: { number: string; at: number; callerId: string; live: number }[] = [];
    const pressing: Promise<void>[] = [];
    h.side.agentBehaviour = (ext) => {
      const acts = script.get(ext);
      if (!acts) return { action: 'answer', delayMs: 20 };
      const n = legs.filter((l) => l.number === ext).length;
      const leg = h.side.agentLegs.get(ext)!;
      const start = h.side.events.find((e) => e.type === 'StasisStart' && e.channel?.id === leg);
      legs.push({ number: ext, at: clock.now(), callerId: String(start?.channel?.caller?.number), live: app.campaigns.liveCalls().length });
      const act = acts[Math.min(n, acts.length - 1)]!;
      if (act === 'busy') {
        setTimeout(() => void h.side.request('DELETE', `/channels/${leg}`, { reason: 'busy' }).catch(() => undefined), 100);
        return { action: 'ignore' };
      }
      if (act === 'no-answer') return { action: 'ignore' };
      // Keys pressed every 1.5 s until the call ends: ignored during the introduction (no barge-in
      // there), taken as soon as the question plays; no wait on the server's state or timing.
      const digit = act === 'invalid' ? '9' : act.rate;
      pressing.push(
        (async () => {
          for (let i = 0; i < 120 && !h.side.events.some((e) => (e.type === 'ChannelDestroyed' || e.type === 'StasisEnd') && e.channel?.id === leg); i++) {
            await new Promise((r) => setTimeout(r, 1500));
            const r = await h.side.request('POST', `/channels/${leg}/dtmf`, { dtmf: digit, duration: 100 }).catch(() => undefined);
            if (r?.status === 404) break; // the call is over
          }
        })(),
      );
      return { action: 'answer', delayMs: 50 };
    };

    const sup = await userApi(app, 'sup-wang', ['supervisor']);
    const seen: string[] = [];
    const api: Api = async (m, u, p) => {
      const r = await sup(m, u, p);
      seen.push(JSON.stringify(r.body ?? ''));
      return r;
    };
    const created = await api('POST', '/api/campaigns', { name: '12月回访', ticketNos: [...ticketOf.values()], retries: 2, retryIntervalSec: 2, concurrency: 10, hours: '09:00-12:00,14:00-20:00' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.campaign.id as string;
    expect(created.body.campaign).toMatchObject({ status: 'running', maxAttempts: 3, progress: { total: 20, pending: 20 } });
    // Friday 20:30 is after hours, and Saturday and Sunday are not working days: the next call is Monday 09:00.
    expect(created.body.campaign.nextCallAt).toBe(at('2026-12-14', '09:00:00'));
    await new Promise((r) => setTimeout(r, 1500));
    expect(legs).toEqual([]);

    // Monday, two seconds before the window: the campaign wakes, waits for 09:00, then calls.
    clock.set(at('2026-12-14', '08:59:58'));
    await app.campaigns.wake();
    await eventually(async () => {
      const r = await api('GET', `/api/campaigns/${id}`);
      expect(r.body.campaign.status, JSON.stringify({ progress: r.body.campaign.progress, live: app.campaigns.liveCalls() })).toBe('done');
    }, 240_000);
    await Promise.all(pressing);

    // Every leg was placed inside the allowed hours (Monday, 09:00–12:00 here).
    expect(legs.length).toBe(12 + 3 * 2 + 2 * 2 + 2 * 3 + 1);
    for (const l of legs) expect(cityTime(l.at) >= '2026-12-14 09:00:00' && cityTime(l.at) < '2026-12-14 12:00:00', cityTime(l.at)).toBe(true);
    // The citizen sees the hotline's number; never more than the campaign's 10 calls at once.
    expect(new Set(legs.map((l) => l.callerId))).toEqual(new Set(['12345']));
    expect(Math.max(...legs.map((l) => l.live))).toBeLessThanOrEqual(10);

    const view = await api('GET', `/api/campaigns/${id}`);
    expect(view.body.campaign.progress).toMatchObject({ total: 20, rated: 17, exhausted: 2, 'no-rating': 1, pending: 0, calling: 0, calls: 29 });
    const items = view.body.items as CampaignItem[];
    for (const item of items) {
      const n = numberOf.get(item.ticketNo)!;
      const k = numbers.indexOf(n);
      const outcomes = item.history.map((a) => a.outcome);
      if (k < 12) expect(outcomes).toEqual(['rated']);
      else if (k < 15) expect(outcomes).toEqual(['busy', 'rated']);
      else if (k < 17) expect(outcomes).toEqual(['no-answer', 'rated']);
      else if (k < 19) expect(outcomes).toEqual(['busy', 'busy', 'busy']);
      else expect(outcomes).toEqual(['no-rating']);
      // Retries came no sooner than the interval after the previous attempt ended.
      for (let i = 1; i < item.history.length; i++) expect(item.history[i]!.at - item.history[i - 1]!.endedAt).toBeGreaterThanOrEqual(2000);
    }

    // Ratings on the tickets, phone-verified, and counted by the 满意率 KPI.
    const tickets: Ticket[] = [];
    for (const [n, no] of ticketOf) {
      const t = (await app.tickets.get(no))!.ticket!;
      tickets.push(t);
      const k = numbers.indexOf(n);
      const expected = k < 12 ? (k % 4) + 1 : k < 15 ? 2 : k < 17 ? 1 : undefined;
      expect(t.satisfaction).toBe(expected);
      expect(t.state).toBe('closed');
      const rated = t.history.filter((e) => e.type === 'rated');
      expect(rated.map((e) => e.data)).toEqual(expected ? [expect.objectContaining({ satisfaction: expected, verified: 'phone', campaign: id })] : []);
    }
    const kpi = ticketKpis(tickets, { asOf: clock.now() });
    expect(kpi.satisfaction).toMatchObject({ denominator: 17, numerator: 17 - 3 });

    // One audit entry per call, naming who started the campaign; never a number.
    let calls = 0;
    for (const item of items) {
      const audit = (await app.audit.query({ target: `ticket:${item.ticketNo}` })).filter((e) => e.action === 'campaign-call');
      expect(audit).toHaveLength(item.history.length);
      for (const e of audit) expect(e).toMatchObject({ actor: 'sup-wang', detail: expect.stringContaining(`${id} attempt`) });
      calls += audit.length;
    }
    expect(calls).toBe(29);
    for (const body of seen) for (const n of numbers) expect(body).not.toContain(n);
    await eventually(async () => expect(await h.side.channels()).toEqual([]), 15_000);
  }, 360_000);

  it('GIVEN bad requests and a running campaign WHEN a supervisor writes THEN errors name the field and change nothing; pause and cancel need the version read; an agent may not', async () => {
    const clock = new TestClock(at('2026-12-12', '10:00:00')); // a Saturday: nothing is dialled
    const app = await h.startApp({}, { now: clock.now });
    const sup = await userApi(app, 'sup-li', ['supervisor']);
    const open = await ticketFromRecord(app, callRecord('13712340000', clock.now() - 86_400_000), FORM);
    const closed = await closedTicket(app, '13712340001', clock.now() - 86_400_000);

    const notClosed = await sup('POST', '/api/campaigns', { ticketNos: [closed, open.ticketNo] });
    expect(notClosed.status).toBe(400);
    expect(notClosed.body.error).toMatchObject({ code: 'invalid-input', field: 'ticketNos[1]' });
    const badHours = await sup('POST', '/api/campaigns', { ticketNos: [closed], hours: '20:00-09:00' });
    expect(badHours.body.error).toMatchObject({ field: 'hours' });
    const freeNumber = await sup('POST', '/api/campaigns', { ticketNos: [closed], number: '13800000000' });
    expect(freeNumber.status).toBe(400);
    expect(freeNumber.body.error.field).toBe('number');
    const both = await sup('POST', '/api/campaigns', { ticketNos: [closed], period: { from: '2026-12-01', to: '2026-12-12' } });
    expect(both.body.error).toMatchObject({ field: 'period' });
    expect((await sup('GET', '/api/campaigns')).body.campaigns).toEqual([]);
    const agent = await userApi(app, 'agent9001', ['agent'], { agentId: '9001' });
    expect((await agent('POST', '/api/campaigns', { ticketNos: [closed] })).status).toBe(403);

    // A rule: every closed ticket received in the period (the open one is left out).
    const made = await sup('POST', '/api/campaigns', { period: { from: '2026-12-01', to: '2026-12-12', percent: 100 } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const c = made.body.campaign;
    expect(c.progress).toMatchObject({ total: 1, pending: 1 });
    expect(c.nextCallAt).toBe(at('2026-12-14', '09:00:00'));
    const stale = await sup('POST', `/api/campaigns/${c.id}/pause`, { version: c.version + 5 });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'version-conflict', field: 'version' });
    const paused = await sup('POST', `/api/campaigns/${c.id}/pause`, { version: c.version });
    expect(paused.body.campaign).toMatchObject({ status: 'paused', version: c.version + 1 });
    const cancelled = await sup('POST', `/api/campaigns/${c.id}/cancel`, { version: c.version + 1 });
    expect(cancelled.body.campaign).toMatchObject({ status: 'cancelled', progress: { cancelled: 1, pending: 0 } });
    const again = await sup('POST', `/api/campaigns/${c.id}/resume`, { version: c.version + 2 });
    expect(again.status).toBe(409);
    expect((await app.audit.query({ target: `campaign:${c.id}` })).map((e) => e.action).sort()).toEqual(['campaign-cancel', 'campaign-create', 'campaign-pause']);
    expect(await h.side.channels()).toEqual([]);
  });
});
