/**
 * Smoke tests of the simulated PBX through the real client libraries: ari-client connects
 * unchanged, a citizen call runs the project-shaped dialplan into Stasis, gets answered, hears a
 * prompt and hangs up; asterisk-manager logs in and sees FullyBooted and ContactStatus; restart
 * and socket drops behave like Asterisk going away.
 */
import ari from 'ari-client';
import AsteriskManager from 'asterisk-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { SimPbx } from '../../sim-pbx/index.js';

// ari-client and asterisk-manager ship no types; only the calls used here are described.
interface AriEventPayload { type: string; args?: string[]; channel?: { id: string; name: string; language: string; state: string }; playback?: { state: string; target_uri?: string }; cause?: number }
interface AriClient {
  on(type: string, fn: (event: AriEventPayload, instance: unknown) => void): void;
  start(apps: string | string[]): Promise<void>;
  stop(): void;
  channels: {
    answer(p: { channelId: string }): Promise<void>;
    play(p: { channelId: string; media: string }): Promise<{ id: string }>;
    hangup(p: { channelId: string }): Promise<void>;
    originate(p: Record<string, unknown>): Promise<{ id: string }>;
    get(p: { channelId: string }): Promise<unknown>;
  };
}
const connect = (sim: SimPbx) =>
  (ari as unknown as { connect(url: string, u: string, p: string): Promise<AriClient> }).connect(sim.ariUrl, sim.user, sim.password);

function waitFor<T>(client: AriClient, type: string, pred: (e: AriEventPayload) => boolean = () => true, ms = 3000): Promise<AriEventPayload> {
  return new Promise<AriEventPayload>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${type} within ${ms} ms`)), ms);
    client.on(type, (e) => {
      if (pred(e)) {
        clearTimeout(t);
        resolve(e);
      }
    });
  }) as Promise<AriEventPayload> & T;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: Parameters<typeof SimPbx.start>[0] = {}) {
  const sim = await SimPbx.start(opts);
  cleanups.push(() => sim.stop());
  const hotline = await connect(sim);
  cleanups.push(() => hotline.stop());
  await hotline.start('hotline');
  const caller = await connect(sim);
  cleanups.push(() => caller.stop());
  await caller.start('testcaller');
  return { sim, hotline, caller };
}

describe('simulated PBX with the real client libraries', () => {
  it('ari-client connects unchanged, answers a call from the dialplan, plays a prompt and hangs up', async () => {
    // GIVEN the sim with the project-shaped dialplan and two ari-client apps
    const { sim, hotline, caller } = await setup();
    const started = waitFor(hotline, 'StasisStart');
    // from-carrier answers before Stasis: the citizen's half may be up before hotline sees the call.
    const callerUp = waitFor(caller, 'StasisStart');
    // WHEN a citizen calls 12345 through from-carrier
    await caller.channels.originate({ endpoint: 'Local/12345@from-carrier', app: 'testcaller', appArgs: 'caller', callerId: '"Citizen" <13800138000>' });
    const start = await started;
    // THEN the call enters Stasis as the real dialplan does: answered, args, language set by Set(CHANNEL(language)=zh)
    expect(start.args).toEqual(['12345', 'carrier']);
    expect(start.channel!.language).toBe('zh');
    expect(start.channel!.state).toBe('Up');
    await hotline.channels.answer({ channelId: start.channel!.id });
    expect((await callerUp).args).toEqual(['caller']);
    const finished = waitFor(hotline, 'PlaybackFinished');
    await hotline.channels.play({ channelId: start.channel!.id, media: 'sound:hotline/welcome' });
    expect((await finished).playback!.state).toBe('done');
    expect(sim.heard(start.channel!.id)).toEqual(['sound:hotline/welcome']);
    const destroyed = waitFor(caller, 'ChannelDestroyed', (e) => e.channel!.name.endsWith(';1'));
    await hotline.channels.hangup({ channelId: start.channel!.id });
    expect((await destroyed).cause).toBe(16);
    await new Promise((r) => setTimeout(r, 20));
    expect(sim.channels()).toEqual([]);
    expect(sim.playbacks()).toEqual([]);
  });

  it('reports ARI errors with Asterisk status codes through ari-client', async () => {
    const { hotline } = await setup();
    await expect(hotline.channels.get({ channelId: 'nope' })).rejects.toThrow(/Channel not found/);
  });

  it('runs the dialplan fallback when the app is not connected, and passes a Local originator’s HOTLINE_REF to Stasis', async () => {
    const { sim, hotline, caller } = await setup();
    // GIVEN hotline connected: a linkage call over a Local channel carries HOTLINE_REF into StasisStart args
    const started = waitFor(hotline, 'StasisStart');
    await caller.channels.originate({
      endpoint: 'Local/12366@from-linkage', app: 'testcaller', appArgs: 'caller',
      variables: { HOTLINE_REF: 'REF-42' },
    });
    expect((await started).args).toEqual(['12366', 'linkage', 'REF-42']);
    // WHEN hotline goes away (ari-client would reconnect after a server-side drop, so stop it) and a citizen calls
    hotline.stop();
    await new Promise((r) => setTimeout(r, 50));
    const failed = waitFor(caller, 'ChannelVarset', (e) => (e as { value?: string }).value === 'FAILED');
    const one = await caller.channels.originate({ endpoint: 'Local/12345@from-carrier', app: 'testcaller', appArgs: 'caller' });
    // THEN Stasis() fails, the dialplan answers (the caller leg enters testcaller) and plays the busy prompt, then hangs up
    const second = (await failed).channel!;
    expect(second.name).toMatch(/^Local\/12345@from-carrier-.*;2$/);
    await waitFor(caller, 'ChannelDestroyed', (e) => e.channel!.id === one.id);
    expect(sim.heard(second.id)).toEqual(['sound:hotline/system-busy']);
    expect(sim.channels().map((c) => c.name)).toEqual([
      expect.stringMatching(/^Local\/12366@from-linkage-.*;1$/),
      expect.stringMatching(/^Local\/12366@from-linkage-.*;2$/),
    ]);
  });

  it('dropEventSockets() closes the socket server-side; ari-client reconnects and the call stays controllable', async () => {
    const { sim, hotline, caller } = await setup();
    const started = waitFor(hotline, 'StasisStart');
    await caller.channels.originate({ endpoint: 'Local/12345@from-carrier', app: 'testcaller', appArgs: 'caller' });
    const ch = (await started).channel!;
    const reconnected = waitFor(hotline, 'WebSocketReconnecting', () => true);
    sim.dropEventSockets('hotline');
    await reconnected;
    await new Promise((r) => setTimeout(r, 500));
    const apps = await (await fetch(`${sim.ariUrl}/ari/applications/hotline?api_key=${sim.user}:${sim.password}`)).json();
    expect(apps.channel_ids).toEqual([ch.id]);
    const playing = waitFor(hotline, 'PlaybackStarted');
    await hotline.channels.play({ channelId: ch.id, media: 'sound:hotline/welcome' });
    expect((await playing).playback!.target_uri).toBe(`channel:${ch.id}`);
  });

  it('restart() drops everything, refuses HTTP for a while, then serves again', async () => {
    const sim = await SimPbx.start({ restartDownMs: 200 });
    cleanups.push(() => sim.stop());
    const auth = `api_key=${sim.user}:${sim.password}`;
    await fetch(`${sim.ariUrl}/ari/bridges?type=mixing&${auth}`, { method: 'POST' });
    expect(sim.bridges()).toHaveLength(1);
    const restarting = sim.restart();
    await new Promise((r) => setTimeout(r, 50));
    await expect(fetch(`${sim.ariUrl}/ari/bridges?${auth}`)).rejects.toThrow();
    await restarting;
    const res = await fetch(`${sim.ariUrl}/ari/bridges?${auth}`);
    expect(await res.json()).toEqual([]);
    expect((await fetch(`${sim.ariUrl}/ari/bridges?api_key=bad:creds`)).status).toBe(401);
  });

  it('asterisk-manager logs in and receives FullyBooted and ContactStatus', async () => {
    const sim = await SimPbx.start();
    cleanups.push(() => sim.stop());
    type Manager = { on(e: string, f: (ev: Record<string, string>) => void): void; disconnect(): void; keepConnected(): void };
    const ami = new (AsteriskManager as unknown as new (...a: unknown[]) => Manager)(sim.amiPort, '127.0.0.1', sim.amiUser, sim.amiSecret, true);
    cleanups.push(() => ami.disconnect());
    const booted = new Promise<Record<string, string>>((r) => ami.on('fullybooted', r));
    expect((await booted).status).toBe('Fully Booted');
    const contact = new Promise<Record<string, string>>((r) => ami.on('contactstatus', r));
    sim.ami.contactStatus('agent1001', 'Reachable');
    const ev = await contact;
    expect([ev.aor, ev.contactstatus]).toEqual(['agent1001', 'Reachable']);
    const ep = await (await fetch(`${sim.ariUrl}/ari/endpoints/PJSIP/agent1001?api_key=${sim.user}:${sim.password}`)).json();
    expect(ep).toMatchObject({ technology: 'PJSIP', resource: 'agent1001', state: 'online' });
  });
});
