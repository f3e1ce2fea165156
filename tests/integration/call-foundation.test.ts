/**
 * Foundation acceptance (issue 2), in both PBX modes: a call to 12345 is
 * answered, hears the welcome prompt and ends as exactly one ticket job —
 * also when its end is observed twice, when the server restarts mid-call,
 * when the ARI socket drops and when Redis restarts.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { ticketJobId } from '../../src/tickets/queue.js';
import { jobsForCall, sessionByCaller, useHarness } from '../support/harness.js';
import { OwnRedis } from '../../src/demo/own-redis.js';
import type { TestCall } from '../../sim-pbx/test-caller.js';
import { eventually } from '../support/wait.js';

const CALLER = '13800138000';
const h = useHarness();

function startApp(env: Record<string, string> = {}, instanceId?: string): Promise<App> {
  return h.startApp(env, instanceId ? { instanceId } : {});
}

/** The hotline's view of a call placed by the test side: its session once it exists. */
async function sessionOf(app: App, call: TestCall) {
  await call.answered();
  return sessionByCaller(app, CALLER);
}

describe('a call to 12345', () => {
  it('GIVEN the server WHEN a citizen calls 12345 and hangs up after the welcome THEN exactly one ticket job holds the call record', async () => {
    const app = await startApp();
    const call = await h.side.call('12345', CALLER);
    const session = await sessionOf(app, call);
    await eventually(() => expect(session.record.path.some((p) => p.kind === 'prompt' && p.detail.includes('welcome'))).toBe(true));
    expect(session.record.answeredAt).toBeTypeOf('number');
    await eventually(() => expect(h.side.heard(session.callId)).toContain('sound:hotline/welcome'));
    await call.hangup();
    await call.ended();

    const jobs = await eventually(async () => {
      const js = await jobsForCall(app, session.callId);
      expect(js).toHaveLength(1);
      return js;
    });
    const record = jobs[0]!.data.record;
    expect(jobs[0]!.id).toBe(ticketJobId(session.callId));
    expect(record.dialed).toBe('12345');
    expect(record.source).toBe('carrier');
    expect(record.caller.number).toBe(CALLER); // stored in full for callbacks; masked in logs
    expect(record.endedBy).toBe('caller');
    expect(record.outcome).toBe('abandoned-ivr');
    expect(record.endedAt! >= record.startedAt).toBe(true);

    // The worker turns it into exactly one ticket.
    const ticketNo = await eventually(async () => {
      const no = await app.tickets.byCall(session.callId);
      expect(no).toMatch(/^0632\d{8}\d{6}$/);
      return no!;
    });
    // WHEN the end is observed again (duplicate events, a second submission)
    await session.finish('caller', 'abandoned-ivr');
    await app.outbox.submit(record);
    await app.outbox.flush();
    // THEN still one job and the same ticket
    expect(await jobsForCall(app, session.callId)).toHaveLength(1);
    expect(await app.tickets.byCall(session.callId)).toBe(ticketNo);
    await eventually(async () => expect((await h.side.channels()).filter((c) => c.id === session.callId)).toHaveLength(0));
  });

  it('GIVEN a call in the IVR WHEN the server restarts THEN the new instance adopts it and the call still yields exactly one ticket job', async () => {
    const prefix = `restart${Date.now().toString(36)}`;
    const first = await startApp({ HOTLINE_KEY_PREFIX: prefix }, 'first');
    const call = await h.side.call('12345', CALLER);
    const s1 = await sessionOf(first, call);
    const callId = s1.callId;
    await eventually(() => expect(s1.record.path.some((p) => p.kind === 'prompt')).toBe(true));

    // WHEN the server stops without hanging up (a crash or a deploy) and a new one starts
    await h.stopApp(first);
    const second = await startApp({ HOTLINE_KEY_PREFIX: prefix }, 'second');
    const adopted = await eventually(() => {
      const s = second.calls.session(callId);
      if (!s) throw new Error('not adopted yet');
      return s;
    });
    expect(adopted.record.recovered).toBe(true);
    // The adopted caller is not left in silence: the flow starts again.
    await eventually(() => expect(adopted.record.path.some((p) => p.kind === 'prompt')).toBe(true));

    await call.hangup();
    await call.ended();
    const jobs = await eventually(async () => {
      const js = await jobsForCall(second, callId);
      expect(js).toHaveLength(1);
      return js;
    });
    expect(jobs[0]!.data.record.recovered).toBe(true);
    expect(jobs[0]!.data.record.instance).toBe('second');
  });
});

describe('when the server is down', () => {
  it('GIVEN no hotline app connected WHEN a citizen calls THEN the dialplan answers, plays system-busy and ends the call (no dead air)', async () => {
    // No app is started in this test: the dialplan's Stasis() fails and its fallback runs.
    const call = await h.side.call('12345', CALLER);
    const up = await call.answered();
    expect(up.channel.state).toBe('Up');
    const end = await call.ended();
    expect(end.cause).toBe(16); // normal clearing: the dialplan hung up after the prompt
    // The test app also sees the ;2 half (Local originate subscribes both halves).
    const twoName = String(up.channel.name).replace(/;1$/, ';2');
    const two = h.side.events.find((e) => e.channel?.name === twoName);
    expect(two).toBeDefined();
    expect(h.side.heard(two!.channel.id)).toContain('sound:hotline/system-busy');
    await eventually(async () => expect(await h.side.channels()).toHaveLength(0));
  });
});

describe('losing and regaining links', () => {
  it('GIVEN a connected server WHEN the ARI events socket drops THEN /readyz reports it, the adapter reconnects and the next call works', async () => {
    const app = await startApp();
    const ready = await app.http.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks.ari).toBe('connected');

    // Ask /readyz the moment the link is reported lost (reconnecting needs network round trips, so it cannot be back yet).
    const states: string[] = [];
    const during: Promise<{ statusCode: number; json: () => any }>[] = [];
    app.telephony.onLinkState((s) => {
      states.push(s);
      if (s === 'reconnecting') during.push(app.http.inject({ method: 'GET', url: '/readyz' }));
    });
    app.telephony.dropEventSocket();
    await eventually(() => expect(during.length).toBeGreaterThan(0));
    const lost = await during[0]!;
    expect(lost.statusCode).toBe(503);
    expect(lost.json().checks.ari).toBe('reconnecting');
    await app.telephony.whenConnected(10_000);
    expect((await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    // The adapter asked again for the event types it handles only (Asterisk's application event filter).
    const ariApp = await eventually(async () => {
      const r = await fetch(`${h.pbx.ariUrl}/ari/applications/hotline?api_key=${h.pbx.user}:${h.pbx.password}`);
      const a = (await r.json()) as { events_allowed: { type: string }[] };
      expect(a.events_allowed.length).toBeGreaterThan(0);
      return a;
    });
    const allowed = ariApp.events_allowed.map((e) => e.type);
    expect(allowed).toEqual(expect.arrayContaining(['StasisStart', 'StasisEnd', 'PlaybackFinished', 'ChannelDtmfReceived']));
    expect(allowed).not.toContain('ChannelVarset');

    const call = await h.side.call('12345', CALLER);
    const session = await sessionOf(app, call);
    await eventually(() => expect(session.record.path.some((p) => p.detail.includes('welcome'))).toBe(true));
    await call.hangup();
    await eventually(async () => expect(await jobsForCall(app, session.callId)).toHaveLength(1));
  });

  it('GIVEN Redis goes away WHEN calls arrive THEN they are answered, and their ticket jobs are delivered once Redis is back', async () => {
    const redis = await OwnRedis.create();
    try {
      const app = await startApp({ REDIS_URL: redis.url });
      await eventually(() => expect(app.redis.status).toBe('ready'));
      await redis.stop();
      await eventually(async () => {
        const r = await app.http.inject({ method: 'GET', url: '/readyz' });
        expect(r.statusCode).toBe(503);
        expect(r.json().checks.redis).not.toBe('ready');
      });

      const call = await h.side.call('12345', CALLER);
      const session = await sessionOf(app, call);
      await eventually(() => expect(session.record.path.some((p) => p.detail.includes('welcome'))).toBe(true));
      await call.hangup();
      await call.ended();
      await eventually(() => expect(app.outbox.pending).toBe(1));

      // WHEN Redis comes back
      await redis.start();
      await eventually(() => expect(app.outbox.pending).toBe(0), 20_000);
      const jobs = await eventually(async () => {
        const js = await jobsForCall(app, session.callId);
        expect(js).toHaveLength(1);
        return js;
      }, 20_000);
      expect(jobs[0]!.data.record.callId).toBe(session.callId);
      await eventually(async () => expect(await app.tickets.byCall(session.callId)).toBeTruthy(), 20_000);
    } finally {
      await redis.destroy();
    }
  });
});
