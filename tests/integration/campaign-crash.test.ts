/**
 * 回访 campaigns survive a server's death, in both PBX modes: the server running the campaign is a
 * child process (tests/support/child-server.ts) SIGKILLed while a survey call is in progress. The
 * next instance hangs the orphaned leg up, finds the attempt's job stalled, and — its Redis claim
 * taken — does not dial that attempt again: it counts as interrupted, the next attempt follows the
 * retry interval and the citizen rates on it. Exactly two calls reach the citizen; two audit entries.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { childServerEnv, killChildren, startServerChild } from '../support/child-server.js';
import { useHarness } from '../support/harness.js';
import { uniquePrefix } from '../support/pbx.js';
import { at, callRecord, TestClock, ticketFromRecord } from '../support/tickets.js';
import { eventually } from '../support/wait.js';

const h = useHarness();
afterEach(() => killChildren());
const UNIT = '市住房城乡建设局';
const FORM = { category: 'complaint', requesterKind: 'citizen', summary: '反映小区电梯长期故障', unitSuggestion: UNIT } as const;

describe('回访 campaign across a crash', () => {
  it('GIVEN a survey call in progress WHEN its server is SIGKILLed THEN the next instance does not dial that attempt again, counts it as interrupted, and the retry after the interval is rated', async () => {
    const prefix = uniquePrefix('cmpcrash');
    const monday = at('2026-12-14', '10:00:00');
    const env = { HOTLINE_KEY_PREFIX: prefix, HOTLINE_DATA_DIR: `${inject('runDir')}/cmp-${prefix}` };
    // The campaign's worker and calls run in the child; the test's own app (another Stasis app, no
    // workers) only writes tickets and the campaign into the same Redis.
    const first = await startServerChild(childServerEnv(h.pbx, env), undefined, monday);
    // A minute ahead of the child's clock (which started first): ticket events stay in order.
    const clock = new TestClock(monday + 60_000);
    const app = await h.startApp({ ...env, ARI_APP: 'hotline-aux', HOTLINE_DATA_DIR: `${inject('runDir')}/cmp-aux-${prefix}` }, { now: clock.now, ticketWorker: false });
    const number = '13966667777';
    const st = await ticketFromRecord(app, callRecord(number, clock.now() - 86_400_000), FORM);
    const unit = { id: 'unit-zj', role: 'unit' as const, unit: UNIT };
    await app.ticketService.act(st.ticketNo, { type: 'accept', unit: UNIT }, unit);
    await app.ticketService.act(st.ticketNo, { type: 'reply', content: '已维修' }, unit);
    await app.ticketService.act(st.ticketNo, { type: 'close', reason: '待回访评价 / rating by the campaign' }, { id: 'sup', role: 'supervisor' });

    // The citizen: answers the first call and says nothing; answers the second and presses 2 until the call ends.
    const legs: string[] = [];
    h.side.agentBehaviour = (ext) => {
      if (ext !== number) return { action: 'answer', delayMs: 20 };
      const leg = h.side.agentLegs.get(ext)!;
      legs.push(leg);
      if (legs.length >= 2) {
        void (async () => {
          for (let i = 0; i < 20 && !h.side.events.some((e) => (e.type === 'ChannelDestroyed' || e.type === 'StasisEnd') && e.channel?.id === leg); i++) {
            await new Promise((r) => setTimeout(r, 1500));
            const r = await h.side.request('POST', `/channels/${leg}/dtmf`, { dtmf: '2', duration: 100 }).catch(() => undefined);
            if (r?.status === 404) break; // the call is over
          }
        })();
      }
      return { action: 'answer', delayMs: 50 };
    };

    // Back to the child's time: the campaign's first call is due at once on the child's clock.
    clock.set(monday);
    const c = await app.campaigns.create({ ticketNos: [st.ticketNo], retries: 2, retryIntervalSec: 3, hours: '09:00-12:00,14:00-20:00' }, 'sup-zhao');
    // The first call is answered; the survey is under way when the server dies.
    await eventually(() => expect(legs).toHaveLength(1), 30_000);
    await eventually(async () => expect(h.side.events.some((e) => e.type === 'ChannelStateChange' && e.channel?.id === legs[0] && e.channel?.state === 'Up')).toBe(true), 15_000);
    await new Promise((r) => setTimeout(r, 2000));
    await first.kill();

    // The next instance's clock is ahead of the dead one's (which ran for some seconds from 10:00).
    await startServerChild(childServerEnv(h.pbx, env), undefined, monday + 120_000);
    await eventually(async () => expect((await app.campaigns.get(c.id))?.status).toBe('done'), 90_000);
    const [item] = await app.campaigns.items(c.id);
    expect(item!.history.map((a) => a.outcome)).toEqual(['interrupted', 'rated']);
    expect(item!.history[1]!.at - item!.history[0]!.endedAt).toBeGreaterThanOrEqual(3000);
    expect(legs).toHaveLength(2);
    const t = (await app.tickets.get(st.ticketNo))!.ticket!;
    expect(t.satisfaction).toBe(2);
    expect(t.history.filter((e) => e.type === 'rated').map((e) => e.data?.verified)).toEqual(['phone']);
    const audit = (await app.audit.query({ target: `ticket:${st.ticketNo}` })).filter((e) => e.action === 'campaign-call');
    expect(audit.map((e) => e.detail).sort()).toEqual([`${c.id} attempt 1: interrupted`, `${c.id} attempt 2: rated (rating 2)`]);
    await eventually(async () => expect(await h.side.channels()).toEqual([]), 15_000);
  });
});
