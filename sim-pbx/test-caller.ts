/**
 * The test side of a call, as Asterisk's own testsuite does it: a Stasis app
 * of its own (`testcaller`) that places citizens' calls by originating
 * `Local/<number>@<carrier context>`, presses digits, answers as agents
 * (`Local/<ext>@hotline-test-agents` lands here), observes and hangs up.
 *
 * Written on plain fetch + ws (not ari-client) so it also checks our adapter
 * against an independent client, and so it works unchanged against the
 * simulated PBX and a real Asterisk.
 */
import WebSocket from 'ws';

/** What the caller needs of a PBX: its ARI (the simulated one, or a real Asterisk). */
export interface AriEndpoint {
  ariUrl: string;
  user: string;
  password: string;
  /** Dialplan context citizens' calls enter (from-carrier). */
  carrierContext: string;
}

/** Real prompts last seconds (a welcome of 8 s) on either PBX: waits for what follows media are this long by default. */
export const MEDIA_WAIT_MS = 30_000;

export type AriEvent = Record<string, any> & { type: string };

export interface AgentBehaviour {
  /** 'answer' (after delayMs), or 'ignore' (let it ring). */
  action: 'answer' | 'ignore';
  delayMs?: number;
}

export class TestSide {
  readonly events: AriEvent[] = [];
  private readonly waiters = new Set<{ pred: (e: AriEvent) => boolean; resolve: (e: AriEvent) => void }>();
  /** Agent legs that reached the test app: extension → ;2 channel id (latest). */
  readonly agentLegs = new Map<string, string>();
  agentBehaviour: (ext: string) => AgentBehaviour = () => ({ action: 'answer', delayMs: 20 });

  private constructor(
    private readonly pbx: AriEndpoint,
    private readonly ws: WebSocket,
    readonly app: string,
  ) {}

  static async connect(pbx: AriEndpoint, app = 'testcaller'): Promise<TestSide> {
    const url = `${pbx.ariUrl.replace(/^http/, 'ws')}/ari/events?app=${encodeURIComponent(app)}&api_key=${encodeURIComponent(pbx.user)}:${encodeURIComponent(pbx.password)}`;
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const side = new TestSide(pbx, ws, app);
    ws.on('message', (data) => side.onMessage(JSON.parse(String(data)) as AriEvent));
    return side;
  }

  private onMessage(e: AriEvent): void {
    this.events.push(e);
    for (const w of [...this.waiters]) {
      if (w.pred(e)) {
        this.waiters.delete(w);
        w.resolve(e);
      }
    }
    if (e.type === 'StasisStart' && e.args?.[0] === 'agent') {
      const ext = String(e.args[1]);
      this.agentLegs.set(ext, e.channel.id);
      const b = this.agentBehaviour(ext);
      if (b.action === 'answer') {
        setTimeout(() => void this.request('POST', `/channels/${e.channel.id}/answer`).catch(() => undefined), b.delayMs ?? 20);
      }
    }
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) {
      const closed = new Promise((r) => this.ws.once('close', r));
      this.ws.close();
      await closed;
    }
  }

  async request(method: string, path: string, query: Record<string, string | number> = {}, body?: unknown): Promise<{ status: number; body: any }> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
    const res = await fetch(`${this.pbx.ariUrl}/ari${path}${qs ? `?${qs}` : ''}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${this.pbx.user}:${this.pbx.password}`).toString('base64')}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /** Wait for the first event (already seen or future) matching `pred`. */
  waitFor(pred: (e: AriEvent) => boolean, timeoutMs = MEDIA_WAIT_MS, what = 'event'): Promise<AriEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return this.waitForNext(pred, timeoutMs, what);
  }

  /** Wait for a future event matching `pred`. */
  waitForNext(pred: (e: AriEvent) => boolean, timeoutMs = MEDIA_WAIT_MS, what = 'event'): Promise<AriEvent> {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (e: AriEvent) => (clearTimeout(timer), resolve(e)) };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  /**
   * What a channel we can see played, in order, from ARI events alone (so in both PBX modes):
   * the media of every PlaybackStarted on it (a list plays one PlaybackStarted per item), and the
   * `sound:` of each dialplan Playback() it ran (ChannelDialplan). Originating a Local channel
   * subscribes the test app to both halves, so this works for the hotline's side of our calls.
   */
  heard(channelId: string): string[] {
    const out: string[] = [];
    for (const e of this.events) {
      if (e.type === 'PlaybackStarted' && e.playback?.target_uri === `channel:${channelId}`) out.push(String(e.playback.media_uri));
      if (e.type === 'ChannelDialplan' && e.channel?.id === channelId && e.dialplan_app === 'Playback') {
        for (const f of String(e.dialplan_app_data).split('&')) out.push(`sound:${f.split(',')[0]}`);
      }
      // Read(variable,prompts,…): its prompts
      if (e.type === 'ChannelDialplan' && e.channel?.id === channelId && e.dialplan_app === 'Read') {
        for (const f of String(e.dialplan_app_data).split(',')[1]?.split('&') ?? []) if (f) out.push(`sound:${f}`);
      }
    }
    return out;
  }

  /** The PBX's channels now. */
  async channels(): Promise<{ id: string; name: string; state: string }[]> {
    return ((await this.request('GET', '/channels')).body ?? []) as { id: string; name: string; state: string }[];
  }

  /** Place a citizen's call to `number` from `callerNumber`. */
  async call(number: string, callerNumber = '13800138000', context = this.pbx.carrierContext, variables?: Record<string, string>): Promise<TestCall> {
    const query = {
      endpoint: `Local/${number}@${context}`,
      app: this.app,
      appArgs: 'caller',
      callerId: `"Citizen" <${callerNumber}>`,
    };
    // Channel variables on a Local originate are copied to the ;2 half (core_local), in both modes.
    const res = variables ? await this.request('POST', '/channels', query, { variables }) : await this.request('POST', '/channels', query);
    if (res.status !== 200) throw new Error(`originate failed: ${res.status} ${JSON.stringify(res.body)}`);
    return new TestCall(this, String(res.body.id));
  }

  /** Hang up an agent's leg from the agent side (the agent hangs up). */
  async agentHangsUp(ext: string): Promise<void> {
    const id = this.agentLegs.get(ext);
    if (!id) throw new Error(`agent ${ext} has no leg`);
    await this.request('DELETE', `/channels/${id}`);
  }
}

export class TestCall {
  constructor(
    private readonly side: TestSide,
    /** The ;1 half, owned by the test app. */
    readonly id: string,
  ) {}

  /** The hotline answered: the ;1 half entered the test app. */
  answered(timeoutMs = MEDIA_WAIT_MS): Promise<AriEvent> {
    return this.side.waitFor((e) => e.type === 'StasisStart' && e.channel?.id === this.id, timeoutMs, `answer of ${this.id}`);
  }

  ended(timeoutMs = MEDIA_WAIT_MS): Promise<AriEvent> {
    return this.side.waitFor((e) => e.type === 'ChannelDestroyed' && e.channel?.id === this.id, timeoutMs, `end of ${this.id}`);
  }

  async press(digits: string): Promise<void> {
    const res = await this.side.request('POST', `/channels/${this.id}/dtmf`, { dtmf: digits, duration: 100, between: 100 });
    if (res.status >= 300) throw new Error(`dtmf failed: ${res.status} ${JSON.stringify(res.body)}`);
  }

  async hangup(): Promise<void> {
    await this.side.request('DELETE', `/channels/${this.id}`);
  }
}
