/**
 * The simulated Asterisk core: channels (Local pairs, snoops, single PJSIP legs), bridges,
 * playbacks, recordings, Stasis applications and the rules that decide which application sees
 * which event. The event orders and subscription rules follow the recorded Asterisk 22 traces in
 * ../shared/asterisk-ari/traces (see the README there); the comments below name the trace that
 * motivated each non-obvious rule.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Dialplan, runDialplan, type DialplanHost, type DialplanLocation, type StasisExit } from './dialplan.js';

// ---- JSON shapes (as Asterisk serialises them) -----------------------------------------------

export interface CallerIdJson { name: string; number: string }
export interface DialplanJson { context: string; exten: string; priority: number; app_name: string; app_data: string }
export interface ChannelJson {
  id: string; name: string; state: string; protocol_id: string; caller: CallerIdJson; connected: CallerIdJson;
  accountcode: string; dialplan: DialplanJson; creationtime: string; language: string;
}
export interface BridgeJson {
  id: string; technology: string; bridge_type: string; bridge_class: string; creator: string; name: string;
  channels: string[]; creationtime: string; video_mode: string;
}
export interface PlaybackJson {
  id: string; media_uri: string; next_media_uri?: string; target_uri: string; language: string; state: string;
}
export interface LiveRecordingJson {
  name: string; format: string; state: string; target_uri: string; duration?: number;
}
export type AriEvent = Record<string, unknown> & { type: string };

/** An HTTP-level error with Asterisk's status and body. */
export class AriError extends Error {
  constructor(readonly status: number, message: string, readonly body: object = { message }) {
    super(message);
  }
}

/** Asterisk's timestamp format: `2026-11-22T07:54:16.858+0000` (the sim always uses UTC). */
export function asteriskTime(d = new Date()): string {
  return d.toISOString().replace('Z', '+0000');
}

/**
 * `channelvars` of our asterisk/ari.conf [general]: the variables a real Asterisk loaded with it sends
 * with every channel of every event and response ("" when unset).
 */
export const CHANNEL_VARS: readonly string[] = (() => {
  // sim-pbx/ sits at the top of the repository (dist/sim-pbx/ when compiled); the image ships no
  // asterisk/, and then the simulator sends none (sim-pbx-own-traces.test.ts fails if the source
  // tree's file is not found).
  const conf = [path.resolve(import.meta.dirname, '../asterisk/ari.conf'), path.resolve(import.meta.dirname, '../../asterisk/ari.conf')].find((f) => existsSync(f)) ?? '';
  const general = conf ? /^\[general\]([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(readFileSync(conf, 'utf8'))?.[1] ?? '' : '';
  const m = /^\s*channelvars\s*=\s*([^;\n]*)/m.exec(general);
  return m ? m[1]!.split(',').map((v) => v.trim()).filter(Boolean) : [];
})();

const CAUSE_TEXT: Record<number, string> = {
  0: 'Unknown', 1: 'Unallocated (unassigned) number', 3: 'No route to destination', 16: 'Normal Clearing',
  17: 'User busy', 18: 'No user responding', 19: 'User alerting, no answer', 21: 'Call Rejected',
  26: 'Answered elsewhere', 27: 'Destination out of order', 28: 'Invalid number format (incomplete number)',
  31: 'Normal, unspecified', 34: 'Circuit/channel congestion', 38: 'Network out of order',
  41: 'Temporary failure', 58: 'Bearer capability not presently available', 127: 'Interworking, unspecified',
};
export function causeText(cause: number): string {
  return CAUSE_TEXT[cause] ?? 'Unknown';
}

/** `reason` values of DELETE /channels/{id} → Q.850 cause, as res_ari_channels maps them. */
export const HANGUP_REASONS: Record<string, number> = {
  normal: 16, busy: 17, congestion: 34, no_answer: 19, timeout: 18, rejected: 21, unallocated: 1,
  normal_unspecified: 31, number_incomplete: 28, codec_mismatch: 58, interworking: 127, failure: 38,
  answered_elsewhere: 26,
};

/** Dial status reported to the caller side when the dialled `;2` half ends before answer. */
function dialStatusFor(cause: number): string {
  if (cause === 17) return 'BUSY';
  if (cause === 34 || cause === 38 || cause === 41) return 'CONGESTION';
  if (cause === 16 || cause === 18 || cause === 19) return 'NOANSWER';
  return 'CHANUNAVAIL';
}

// ---- objects -----------------------------------------------------------------------------------

export class SimChannel {
  state = 'Down';
  language = 'en';
  readonly vars = new Map<string, string>();
  readonly dialplan: DialplanJson;
  /** What ChannelDestroyed shows: `;1` halves go back to AppDial2, dialplan channels to nothing. */
  baseApp = { app_name: '', app_data: '' };
  peer?: SimChannel;
  half?: 1 | 2;
  dialstring = '';
  /** Apps subscribed because they originated this channel (or its Local peer): they see everything. */
  readonly originApps = new Set<string>();
  /** For an originated channel with `app`: the Stasis app it enters once answered. */
  originTarget?: { app: string; args: string[] };
  /** For an originated channel without `app`: where it runs dialplan once answered. */
  originDialplan?: DialplanLocation;
  stasis?: { app: string; args: string[]; exit: (e: StasisExit) => void };
  hasPbx = false;
  bridge?: SimBridge;
  bridgePeerValue = '';
  hangingUp = false;
  destroyed = false;
  progressSent = false;
  mohClass?: string;
  onHold = false;
  ringing = false;
  readonly snoops = new Set<SimChannel>();
  readonly timers = new Set<NodeJS.Timeout>();
  /** Pending sleeps of the dialplan interpreter, woken early on hangup. */
  readonly wakers = new Set<() => void>();
  /** Dialplan applications collecting digits (Read): each DTMF digit the channel receives. */
  readonly dtmfListeners = new Set<(digit: string) => void>();
  readonly heard: string[] = [];
  readonly creationtime = asteriskTime();

  constructor(
    readonly id: string,
    readonly name: string,
    readonly tech: string,
    public caller: CallerIdJson,
    public connected: CallerIdJson,
    dialplan: DialplanJson,
  ) {
    this.dialplan = dialplan;
  }

  /** Variables sent with the channel (set by the model from its configuration). */
  channelVars: readonly string[] = CHANNEL_VARS;

  json(): ChannelJson {
    return {
      id: this.id, name: this.name, state: this.state, protocol_id: '',
      caller: { ...this.caller }, connected: { ...this.connected }, accountcode: '',
      dialplan: { ...this.dialplan }, creationtime: this.creationtime, language: this.language,
      ...(this.channelVars.length ? { channelvars: Object.fromEntries(this.channelVars.map((v) => [v, this.vars.get(v) ?? ''])) } : {}),
    };
  }
}

export class SimBridge {
  readonly channels: SimChannel[] = [];
  technology: string;
  mohClass?: string;
  /** The bridge's playback channel exists (created by the first play, kept with the bridge). */
  announcer = false;
  /** Apps subscribed through their channels being added (decremented by explicit removeChannel). */
  readonly subs = new Map<string, number>();
  readonly creationtime = asteriskTime();
  constructor(readonly id: string, readonly type: 'mixing' | 'holding', readonly name: string) {
    this.technology = type === 'holding' ? 'holding_bridge' : 'simple_bridge';
  }
  json(): BridgeJson {
    return {
      id: this.id, technology: this.technology, bridge_type: this.type, bridge_class: 'stasis', creator: 'Stasis',
      name: this.name, channels: this.channels.map((c) => c.id), creationtime: this.creationtime, video_mode: 'talker',
    };
  }
}

type Target = { kind: 'channel'; channel: SimChannel } | { kind: 'bridge'; bridge: SimBridge };

export class SimPlayback {
  state = 'queued';
  index = 0;
  timer?: NodeJS.Timeout;
  constructor(readonly id: string, readonly media: string[], readonly language: string, readonly target: Target) {}
  json(): PlaybackJson {
    const j: PlaybackJson = {
      id: this.id, media_uri: this.media[this.index]!, target_uri: targetUri(this.target), language: this.language, state: this.state,
    };
    if (this.index + 1 < this.media.length) j.next_media_uri = this.media[this.index + 1]!;
    // Key order as Asterisk: next_media_uri comes right after media_uri.
    const { id, media_uri, next_media_uri, ...rest } = j;
    return next_media_uri === undefined ? { id, media_uri, ...rest } : { id, media_uri, next_media_uri, ...rest };
  }
}

export class SimRecording {
  state = 'queued';
  startedAt = 0;
  timer?: NodeJS.Timeout;
  constructor(readonly name: string, readonly format: string, readonly target: Target) {}
  json(): LiveRecordingJson {
    return { name: this.name, format: this.format, state: this.state, target_uri: targetUri(this.target) };
  }
}

function targetUri(t: Target): string {
  return t.kind === 'channel' ? `channel:${t.channel.id}` : `bridge:${t.bridge.id}`;
}

export class SimApp {
  readonly sockets = new Set<{ send(data: string): void }>();
  subscribeAll = false;
  /** Explicit subscriptions (POST /applications/{app}/subscription). */
  readonly channelSubs = new Set<string>();
  readonly bridgeSubs = new Set<string>();
  readonly endpointSubs = new Set<string>();
  /** PUT /applications/{app}/eventFilter: event types let through / held back (empty: no filter of that kind). */
  eventsAllowed: string[] = [];
  eventsDisallowed: string[] = [];
  constructor(readonly name: string) {}
  /** As Asterisk's stasis app filter: disallowed wins; an empty allowed list allows everything. */
  wants(type: string): boolean {
    if (this.eventsDisallowed.includes(type)) return false;
    return this.eventsAllowed.length === 0 || this.eventsAllowed.includes(type);
  }
  get active(): boolean {
    return this.sockets.size > 0;
  }
}

export interface SimEndpoint { technology: string; resource: string; state: string }

export interface ModelOptions {
  dialplan: Dialplan;
  /** asterisk.conf `defaultlanguage` of new channels; default `en` (Asterisk's own default). */
  language?: string;
  playbackMs: (mediaUri: string, language?: string) => number;
  soundsDir?: string;
  endpoints?: string[];
  asteriskId: string;
  /** ari.conf `channelvars`; default: those of our asterisk/ari.conf. */
  channelVars?: readonly string[];
}

interface OriginateParams {
  endpoint?: string; app?: string; appArgs?: string; callerId?: string; timeout?: number;
  channelId?: string; otherChannelId?: string; variables?: Record<string, string>;
  context?: string; extension?: string; priority?: number; label?: string;
}

/** Events observed by the test hook (every delivered event, with its app). */
export type EventListener = (app: string, event: AriEvent) => void;

export class PbxModel implements DialplanHost<SimChannel> {
  readonly channels = new Map<string, SimChannel>();
  readonly bridges = new Map<string, SimBridge>();
  readonly playbacks = new Map<string, SimPlayback>();
  readonly liveRecordings = new Map<string, SimRecording>();
  readonly storedRecordings = new Map<string, { name: string; format: string }>();
  readonly apps = new Map<string, SimApp>();
  readonly endpoints = new Map<string, SimEndpoint>();
  readonly globals = new Map<string, string>();
  /** Media heard per channel id; kept after hangup so tests can assert on it. */
  readonly heardLog = new Map<string, string[]>();
  readonly startedAt = asteriskTime();
  readonly listeners = new Set<EventListener>();
  /** Dialplan UserEvent()s, for the AMI side (sim-pbx/ami.ts): the channel's snapshot fields, then the event's. */
  readonly userEventListeners = new Set<(fields: Record<string, string>) => void>();
  private idSeq = 1;
  private localSeq = 0;
  private snoopSeq = 0;
  private readonly epoch = Math.floor(Date.now() / 1000);
  private readonly playQueues = new Map<string, SimPlayback[]>();

  /** A new channel carries the variables this PBX is configured to send with it (ari.conf channelvars). */
  private addChannel(ch: SimChannel): void {
    ch.channelVars = this.opts.channelVars ?? CHANNEL_VARS;
    this.channels.set(ch.id, ch);
  }

  constructor(private readonly opts: ModelOptions) {
    for (const [k, v] of opts.dialplan.globals) this.globals.set(k, v);
    for (const ep of opts.endpoints ?? []) {
      const [technology, resource] = ep.split('/') as [string, string];
      this.endpoints.set(ep, { technology, resource, state: 'offline' });
    }
  }

  get language(): string {
    return this.opts.language ?? 'en';
  }

  get asteriskId(): string {
    return this.opts.asteriskId;
  }

  // ---- event delivery ----------------------------------------------------------------------

  app(name: string): SimApp {
    let a = this.apps.get(name);
    if (!a) {
      a = new SimApp(name);
      this.apps.set(name, a);
    }
    return a;
  }

  private deliver(apps: Iterable<string>, type: string, fields: Record<string, unknown>): void {
    const timestamp = asteriskTime();
    for (const name of new Set(apps)) {
      const app = this.apps.get(name);
      if (!app?.active) continue; // Asterisk does not queue events for a disconnected app (s09)
      if (!app.wants(type)) continue;
      const event: AriEvent = { type, timestamp, ...fields, asterisk_id: this.asteriskId, application: name };
      const data = JSON.stringify(event);
      for (const s of app.sockets) s.send(data);
      for (const l of this.listeners) l(name, event);
    }
  }

  private subscribersOf(ch: SimChannel): string[] {
    const out = new Set(ch.originApps);
    if (ch.stasis) out.add(ch.stasis.app);
    for (const a of this.apps.values()) if (a.subscribeAll || a.channelSubs.has(ch.id)) out.add(a.name);
    return [...out];
  }

  private bridgeSubscribers(br: SimBridge): string[] {
    const out = new Set<string>();
    for (const [app, n] of br.subs) if (n > 0) out.add(app);
    for (const a of this.apps.values()) if (a.subscribeAll || a.bridgeSubs.has(br.id)) out.add(a.name);
    return [...out];
  }

  channelEvent(ch: SimChannel, type: string, fields: Record<string, unknown> = {}, key = 'channel'): void {
    this.deliver(this.subscribersOf(ch), type, { ...fields, [key]: ch.json() });
  }

  private bridgeEvent(br: SimBridge, type: string, fields: Record<string, unknown> = {}): void {
    this.deliver(this.bridgeSubscribers(br), type, { ...fields, bridge: br.json() });
  }

  private targetEvent(t: Target, type: string, fields: Record<string, unknown>): void {
    const apps = t.kind === 'channel' ? this.subscribersOf(t.channel) : this.bridgeSubscribers(t.bridge);
    this.deliver(apps, type, fields);
  }

  // ---- lookups -----------------------------------------------------------------------------

  channel(id: string): SimChannel {
    const ch = this.channels.get(id);
    if (!ch) throw new AriError(404, 'Channel not found');
    return ch;
  }

  /** Asterisk's find_control(): the channel must exist and be in a Stasis application. */
  controlled(id: string): SimChannel {
    const ch = this.channel(id);
    if (!ch.stasis) throw new AriError(409, 'Channel not in Stasis application');
    return ch;
  }

  bridge(id: string): SimBridge {
    const br = this.bridges.get(id);
    if (!br) throw new AriError(404, 'Bridge not found');
    return br;
  }

  private nextId(): string {
    return `${this.epoch}.${this.idSeq++}`;
  }

  private timer(ch: SimChannel, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      ch.timers.delete(t);
      fn();
    }, ms);
    ch.timers.add(t);
  }

  // ---- origination ------------------------------------------------------------------------

  originate(p: OriginateParams): SimChannel {
    if (!p.endpoint) throw new AriError(400, 'Endpoint must be specified');
    if (!p.app && !p.extension) throw new AriError(400, 'Application or extension must be specified');
    const slash = p.endpoint.indexOf('/');
    const tech = slash > 0 ? p.endpoint.slice(0, slash) : '';
    for (const id of [p.channelId, p.otherChannelId]) {
      if (id && this.channels.has(id)) {
        // The Local pair was already allocated (and named) when the id clash is found (o08).
        if (tech.toLowerCase() === 'local') this.localSeq++;
        throw new AriError(409, 'Channel with given unique ID already exists');
      }
    }
    const resource = p.endpoint.slice(slash + 1);
    const caller = parseCallerId(p.callerId);
    let first: SimChannel;
    if (tech.toLowerCase() === 'local') {
      first = this.createLocalPair(resource, caller, p);
    } else if (tech.toUpperCase() === 'PJSIP') {
      first = this.createSingleLeg('PJSIP', resource, caller, p);
    } else {
      // Asterisk fails to allocate a channel of an unknown technology (s06).
      throw new AriError(500, 'Allocation failed', { error: 'Allocation failed' });
    }
    const timeoutS = p.timeout === undefined ? 30 : Number(p.timeout);
    if (timeoutS > 0) this.timer(first, timeoutS * 1000, () => this.originateTimedOut(first));
    return first;
  }

  private createLocalPair(resource: string, caller: CallerIdJson, p: OriginateParams): SimChannel {
    const [dest = ''] = resource.split('/');
    const at = dest.indexOf('@');
    const exten = at < 0 ? dest : dest.slice(0, at);
    const context = at < 0 ? 'default' : dest.slice(at + 1);
    const base = `Local/${exten}@${context}-${hex8(this.localSeq++)}`;
    const one = new SimChannel(p.channelId || this.nextId(), `${base};1`, 'Local', { ...caller }, { ...caller }, {
      context, exten, priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)',
    });
    // Given only channelId, core_unreal names the other half `<channelId>;2` (o01).
    const twoId = p.otherChannelId || (p.channelId ? `${p.channelId};2` : this.nextId());
    const two = new SimChannel(twoId, `${base};2`, 'Local', { ...caller }, { ...caller }, {
      context, exten, priority: 1, app_name: '', app_data: '',
    });
    one.language = two.language = this.language;
    one.baseApp = { app_name: 'AppDial2', app_data: '(Outgoing Line)' };
    one.half = 1;
    two.half = 2;
    one.peer = two;
    two.peer = one;
    two.state = 'Ring';
    two.hasPbx = true;
    one.dialstring = `${exten}@${context}`;
    const variables = originateVariables(p.variables);
    for (const [k, v] of variables) one.vars.set(bareName(k), v);
    this.configureOrigin(one, p);
    if (p.app) two.originApps.add(p.app); // originating a Local channel subscribes the app to both halves
    this.addChannel(one);
    this.addChannel(two);
    setImmediate(() => {
      if (two.hangingUp) return;
      if (!this.opts.dialplan.findExtension(context, exten)) {
        // local_call() finds no such extension: the call fails before it is placed. POST /channels
        // already said 200; both halves are destroyed with cause 0, no Dial, no variables (o08).
        two.hangingUp = one.hangingUp = true;
        this.destroy(two, 0);
        this.destroy(one, 0);
        return;
      }
      // core_local copies ;1's variables to ;2 as it places the call: ChannelVarset on ;2 in
      // ;1's list order, before the caller id events (o01, o03).
      for (const [k, v] of variables) {
        two.vars.set(bareName(k), v);
        this.channelEvent(two, 'ChannelVarset', { variable: k, value: v });
      }
      this.channelEvent(two, 'ChannelCallerId', { caller_presentation: 0, caller_presentation_txt: 'Presentation Allowed, Not Screened' });
      this.channelEvent(two, 'ChannelConnectedLine');
      this.dialEvent(one, '');
      void runDialplan(this.opts.dialplan, this, two, { context, exten, priority: 1 });
    });
    return one;
  }

  private createSingleLeg(tech: string, resource: string, caller: CallerIdJson, p: OriginateParams): SimChannel {
    const ch = new SimChannel(p.channelId || this.nextId(), `${tech}/${resource}-${hex8(this.localSeq++)}`, tech, { ...caller }, { ...caller }, {
      context: 'default', exten: 's', priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)',
    });
    ch.baseApp = { app_name: 'AppDial2', app_data: '(Outgoing Line)' };
    ch.language = this.language;
    ch.dialstring = resource;
    for (const [k, v] of originateVariables(p.variables)) ch.vars.set(bareName(k), v);
    this.configureOrigin(ch, p);
    this.addChannel(ch);
    setImmediate(() => {
      if (ch.hangingUp) return;
      this.dialEvent(ch, '');
      // A registered endpoint rings; an unregistered one is unavailable straight away.
      const ep = this.endpoints.get(`${tech}/${resource}`);
      if (ep && ep.state === 'online') {
        this.setState(ch, 'Ringing');
        this.dialEvent(ch, 'RINGING');
      } else {
        this.dialEvent(ch, 'CHANUNAVAIL');
        this.destroy(ch, 20);
      }
    });
    return ch;
  }

  private configureOrigin(ch: SimChannel, p: OriginateParams): void {
    if (p.app) {
      ch.originApps.add(p.app);
      ch.originTarget = { app: p.app, args: p.appArgs ? p.appArgs.split(',') : [] };
    } else {
      ch.originDialplan = {
        context: p.context || 'default', exten: p.extension || 's', priority: p.priority ? Number(p.priority) : 1,
      };
    }
  }

  private dialEvent(peer: SimChannel, dialstatus: string): void {
    this.channelEvent(peer, 'Dial', { dialstatus, forward: '', dialstring: peer.dialstring }, 'peer');
  }

  /** Originate timeout: the dialled side is torn down with cause 19 (s06). */
  private originateTimedOut(first: SimChannel): void {
    if (first.state === 'Up' || first.hangingUp) return;
    // No NOANSWER Dial status: RINGING stays the last one. ;2 is asked to hang up, ;1 is destroyed
    // without a request of its own, then ;2's pbx ends (o02).
    this.abandonDial(first, 19, 19);
  }

  /**
   * The originate of an unanswered Local `;1` gives up (timeout, or a busy/congestion indication
   * from `;2`): a hangup request on `;2` with `requestCause`, `;1` destroyed with it, then `;2`'s
   * pbx ends and it is destroyed with its own `cause` (o01: 0 then 17; o02: 19 and 19).
   */
  private abandonDial(first: SimChannel, requestCause: number, cause: number): void {
    const two = first.peer;
    first.hangingUp = true;
    const alive = two && !two.hangingUp;
    if (alive) this.channelEvent(two, 'ChannelHangupRequest', { cause: requestCause });
    this.destroy(first, requestCause);
    if (alive) this.hangup(two, { cause, peerPolicy: 'none' });
  }

  /** Test hook: a single-leg channel (e.g. a PJSIP agent) answers. */
  answerRemote(id: string): void {
    const ch = this.channel(id);
    this.answer(ch);
  }

  // ---- state changes ------------------------------------------------------------------------

  private setState(ch: SimChannel, state: string): void {
    if (ch.state === state) return;
    ch.state = state;
    this.channelEvent(ch, 'ChannelStateChange');
  }

  answer(ch: SimChannel): void {
    if (ch.hangingUp || ch.state === 'Up') return;
    this.setState(ch, 'Up');
    const first = ch.half === 2 ? ch.peer : ch.half === undefined && ch.originTarget ? ch : undefined;
    if (first && first !== ch && first.state !== 'Up' && !first.hangingUp) this.setState(first, 'Up');
    if (first && !first.hangingUp && first.dialplan.app_name === 'AppDial2') {
      this.dialEvent(first, 'ANSWER');
      if (first.originTarget) {
        const { app, args } = first.originTarget;
        first.dialplan.app_name = 'Stasis';
        first.dialplan.app_data = [app, ...args].join(',');
        void this.stasis(first, app, args).then((exit) => {
          if (exit.kind === 'continue' && !first.hangingUp) this.continueWithoutPbx(first, exit);
          else if (exit.kind === 'failed' && !first.hangingUp) this.hangup(first, { cause: 16 });
        });
      } else if (first.originDialplan) {
        first.hasPbx = true;
        void runDialplan(this.opts.dialplan, this, first, first.originDialplan);
      }
    }
  }

  /** `continue` on a channel that entered Stasis by origination: it gets a PBX at the target. */
  private continueWithoutPbx(ch: SimChannel, exit: Extract<StasisExit, { kind: 'continue' }>): void {
    if (!exit.context && !exit.extension && exit.priority === undefined && !exit.label) {
      this.hangup(ch, { cause: 16 });
      return;
    }
    ch.hasPbx = true;
    const loc: DialplanLocation = {
      context: exit.context || ch.dialplan.context, exten: exit.extension || ch.dialplan.exten, priority: exit.priority ?? 1,
    };
    void runDialplan(this.opts.dialplan, this, ch, loc);
  }

  indicate(ch: SimChannel, what: 'ringing' | 'progress' | 'busy' | 'congestion'): void {
    const first = ch.half === 2 ? ch.peer : undefined;
    if (!first || first.hangingUp || first.state === 'Up') return;
    if (what === 'ringing') {
      ch.ringing = true;
      this.setState(first, 'Ringing');
      // ;1's originate thread reports it after ;2's dialplan has moved on (o02: after Wait's ChannelDialplan).
      queueMicrotask(() => {
        if (!first.hangingUp && first.state !== 'Up') this.dialEvent(first, 'RINGING');
      });
    } else if (what === 'progress') {
      if (ch.progressSent) return;
      ch.progressSent = true;
      this.dialEvent(first, 'PROGRESS');
    } else {
      // Busy()/Congestion() on ;2 while ;1's originate waits: the originate sees the indication,
      // reports Dial BUSY/CONGESTION and gives up; ;1 ends with cause 0, ;2 with its app's cause
      // (17/34) — not the other way round (o01, issue 13 point 4).
      if (first.dialplan.app_name !== 'AppDial2') return;
      if (what === 'busy') this.setState(ch, 'Busy');
      this.dialEvent(first, what === 'busy' ? 'BUSY' : 'CONGESTION');
      this.abandonDial(first, 0, what === 'busy' ? 17 : 34);
    }
  }

  stopRinging(ch: SimChannel): void {
    ch.ringing = false;
  }

  setVariable(ch: SimChannel, name: string, value: string, emit = true): void {
    const fn = /^([A-Z_]+)\((.*)\)$/i.exec(name);
    if (fn) {
      const [, func, arg] = fn as unknown as [string, string, string];
      const f = func.toUpperCase();
      if (f === 'CHANNEL' && arg === 'language') ch.language = value;
      else if (f === 'CALLERID' && (arg === 'num' || arg === 'number')) ch.caller.number = value;
      else if (f === 'CALLERID' && arg === 'name') ch.caller.name = value;
      else ch.vars.set(name, value);
      return; // dialplan functions do not raise ChannelVarset
    }
    ch.vars.set(bareName(name), value);
    if (emit) this.channelEvent(ch, 'ChannelVarset', { variable: name, value });
  }

  /** Reads a variable or dialplan function the way `${...}` and GET .../variable do. */
  resolve(ch: SimChannel, expr: string): string {
    const fn = /^([A-Z_]+)\((.*)\)$/i.exec(expr);
    if (fn) {
      const f = fn[1]!.toUpperCase();
      const args = fn[2]!.split(',');
      if (f === 'CALLERID') {
        if (args[0] === 'num' || args[0] === 'number') return ch.caller.number;
        if (args[0] === 'name') return ch.caller.name;
        if (args[0] === 'all') return ch.caller.name ? `"${ch.caller.name}" <${ch.caller.number}>` : ch.caller.number;
      }
      if (f === 'CHANNEL') {
        if (args[0] === 'language') return ch.language;
        if (args[0] === 'name') return ch.name;
        if (args[0] === 'uniqueid') return ch.id;
        if (args[0] === 'state') return ch.state;
        if (args[0] === 'channeltype') return ch.name.split('/')[0] ?? '';
      }
      if (f === 'RAND') {
        // RAND(min,max): an integer in [min, max] (func_rand; defaults 0 and RAND_MAX).
        const min = args[0] === undefined || args[0] === '' ? 0 : Number(args[0]);
        const max = args[1] === undefined || args[1] === '' ? 2147483647 : Number(args[1]);
        const [lo, hi] = min <= max ? [min, max] : [max, min];
        return String(lo + Math.floor(Math.random() * (hi - lo + 1)));
      }
      if (f === 'PJSIP_HEADER' && args[0] === 'read') {
        // As on a real Asterisk 22: only a PJSIP channel has SIP headers; on any other
        // (every sim channel is a Local one) Asterisk logs an ERROR and returns ''.
        return '';
      }
      return ch.vars.get(expr) ?? '';
    }
    switch (expr) {
      case 'EXTEN': return ch.dialplan.exten;
      case 'CONTEXT': return ch.dialplan.context;
      case 'PRIORITY': return String(ch.dialplan.priority);
      case 'UNIQUEID': return ch.id;
      case 'EPOCH': return String(Math.floor(Date.now() / 1000));
      case 'CHANNEL': return ch.name;
      case 'LANGUAGE': return ch.language;
    }
    return ch.vars.get(bareName(expr)) ?? this.globals.get(expr) ?? '';
  }

  /** GET /channels/{id}/variable: functions always resolve; unset plain variables are a 404. */
  readVariable(ch: SimChannel, name: string): string {
    if (/^[A-Z_]+\(.*\)$/i.test(name)) return this.resolve(ch, name);
    const v = ch.vars.get(bareName(name)) ?? this.globals.get(name);
    if (v === undefined) throw new AriError(404, 'Provided variable was not found');
    return v;
  }

  // ---- DialplanHost -----------------------------------------------------------------------

  isGone(ch: SimChannel): boolean {
    return ch.hangingUp || ch.destroyed;
  }

  location(ch: SimChannel): DialplanLocation {
    return { context: ch.dialplan.context, exten: ch.dialplan.exten, priority: ch.dialplan.priority };
  }

  enterApp(ch: SimChannel, loc: DialplanLocation, app: string, data: string): void {
    Object.assign(ch.dialplan, { context: loc.context, exten: loc.exten, priority: loc.priority, app_name: app, app_data: data });
    this.channelEvent(ch, 'ChannelDialplan', { dialplan_app: app, dialplan_app_data: data });
  }

  sleep(ch: SimChannel, ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.isGone(ch)) return resolve();
      const wake = () => {
        ch.wakers.delete(wake);
        resolve();
      };
      ch.wakers.add(wake);
      this.timer(ch, ms, wake);
    });
  }

  async playFile(ch: SimChannel, file: string): Promise<boolean> {
    const uri = `sound:${file}`;
    this.recordHeard(ch, uri);
    await this.sleep(ch, this.opts.playbackMs(uri, ch.language));
    return !this.isMissing(uri, ch.language);
  }

  /**
   * Read(): play the prompts (the first digit interrupts them), then wait up to `timeoutMs` for the
   * digits; `#` ends early, `max` digits end at once (0 = until `#` or the timeout).
   */
  async read(ch: SimChannel, files: string[], max: number, timeoutMs: number): Promise<string> {
    let got = '';
    let finished = false;
    let wake: (() => void) | undefined;
    const digitOrEnd = new Promise<void>((resolve) => (wake = resolve));
    const listener = (d: string) => {
      if (finished) return;
      if (d === '#') finished = true;
      else got += d;
      if (max > 0 && got.length >= max) finished = true;
      wake?.();
    };
    ch.dtmfListeners.add(listener);
    try {
      for (const f of files) {
        if (this.isGone(ch) || got !== '' || finished) break;
        const uri = `sound:${f}`;
        this.recordHeard(ch, uri);
        await Promise.race([this.sleep(ch, this.opts.playbackMs(uri, ch.language)), digitOrEnd]);
      }
      const deadline = Date.now() + timeoutMs;
      while (!finished && !this.isGone(ch) && Date.now() < deadline) {
        const next = new Promise<void>((resolve) => (wake = resolve));
        await Promise.race([this.sleep(ch, deadline - Date.now()), next]);
      }
      return got;
    } finally {
      ch.dtmfListeners.delete(listener);
    }
  }

  stasis(ch: SimChannel, appName: string, args: string[]): Promise<StasisExit> {
    this.setVariable(ch, 'STASISSTATUS', '');
    const app = this.apps.get(appName);
    if (!app?.active) {
      // Stasis() into an app without a websocket fails and the dialplan carries on (s09).
      this.setVariable(ch, 'STASISSTATUS', 'FAILED');
      return Promise.resolve({ kind: 'failed' });
    }
    return new Promise((resolve) => {
      ch.stasis = { app: appName, args, exit: resolve };
      this.deliver([appName], 'StasisStart', { args, channel: ch.json() });
    });
  }

  /** Leaves Stasis: StasisEnd to the app only, then STASISSTATUS=SUCCESS to whoever still listens. */
  private leaveStasis(ch: SimChannel, exit: StasisExit): void {
    const s = ch.stasis;
    if (!s) return;
    if (ch.bridge) this.removeFromBridge(ch.bridge, ch, false);
    this.deliver([s.app], 'StasisEnd', { channel: ch.json() });
    ch.stasis = undefined;
    this.setVariable(ch, 'STASISSTATUS', 'SUCCESS');
    s.exit(exit);
  }

  continueInDialplan(ch: SimChannel, target: { context?: string; extension?: string; priority?: number; label?: string }): void {
    this.leaveStasis(ch, { kind: 'continue', ...target });
  }

  // ---- hangup -------------------------------------------------------------------------------

  hangup(
    ch: SimChannel,
    o: { requestCause?: number; soft?: boolean; cause: number; peerPolicy?: 'cascade' | 'none'; fromPeer?: boolean },
  ): void {
    if (ch.hangingUp || ch.destroyed) return;
    ch.hangingUp = true;
    if (o.requestCause !== undefined) {
      this.channelEvent(ch, 'ChannelHangupRequest', o.soft ? { cause: o.requestCause, soft: true } : { cause: o.requestCause });
    }
    for (const w of [...ch.wakers]) w();
    this.failPlaybacksOf({ kind: 'channel', channel: ch });
    this.finishRecordingsOf((r) => r.target.kind === 'channel' && r.target.channel === ch);
    for (const s of ch.snoops) this.hangup(s, { cause: 16 });
    if (ch.bridge) this.removeFromBridge(ch.bridge, ch, false);
    if (ch.stasis) this.leaveStasis(ch, { kind: 'hangup' });
    if (o.fromPeer && ch.dialplan.app_name === 'AppDial2' && ch.state !== 'Up') this.dialEvent(ch, dialStatusFor(o.cause));
    // The side that ran a PBX gets a final soft hangup as its pbx thread ends (every trace).
    if (ch.hasPbx) this.channelEvent(ch, 'ChannelHangupRequest', { cause: 16, soft: true });
    // The other half of a Local pair is asked to hang up before this half is destroyed; the rest
    // of its teardown follows (o02, o03, o05: ChannelHangupRequest of ;2 before ChannelDestroyed of ;1).
    const peer = ch.peer;
    const cascade = peer && !peer.hangingUp && o.peerPolicy !== 'none';
    if (cascade) this.channelEvent(peer, 'ChannelHangupRequest', { cause: o.cause });
    this.destroy(ch, o.cause);
    if (cascade) this.hangup(peer, { cause: o.cause, fromPeer: true });
  }

  /** UserEvent(name[,key: value...]): as Asterisk's manager event, the channel's snapshot then the body. */
  userEvent(ch: SimChannel, name: string, body: string[]): void {
    const fields: Record<string, string> = {
      Channel: ch.name,
      ChannelState: String(ch.state === 'Up' ? 6 : ch.state === 'Ringing' ? 5 : ch.state === 'Ring' ? 4 : 0),
      ChannelStateDesc: ch.state,
      CallerIDNum: ch.caller.number || '<unknown>',
      CallerIDName: ch.caller.name || '<unknown>',
      ConnectedLineNum: '<unknown>',
      ConnectedLineName: '<unknown>',
      Language: ch.language,
      AccountCode: '',
      Context: ch.dialplan.context,
      Exten: ch.dialplan.exten,
      Priority: String(ch.dialplan.priority),
      Uniqueid: ch.id,
      Linkedid: ch.id,
      UserEvent: name,
    };
    const userevent: Record<string, string> = { eventname: name };
    for (const item of body) {
      const i = item.indexOf(':');
      if (i > 0) fields[item.slice(0, i).trim()] = userevent[item.slice(0, i).trim()] = item.slice(i + 1).trim();
    }
    // ARI apps subscribed to the channel get it too (trace o09: the originator's app).
    this.channelEvent(ch, 'ChannelUserevent', { eventname: name, userevent });
    for (const l of this.userEventListeners) l(fields);
  }

  /** Dialplan Hangup()/Busy()/end of dialplan: the pbx thread ends, no separate request. */
  hangupFromDialplan(ch: SimChannel, cause: number): void {
    this.hangup(ch, { cause });
  }

  private destroy(ch: SimChannel, cause: number): void {
    if (ch.destroyed) return;
    ch.destroyed = true;
    ch.hangingUp = true;
    for (const t of ch.timers) clearTimeout(t);
    ch.timers.clear();
    for (const w of [...ch.wakers]) w();
    ch.dialplan.app_name = ch.baseApp.app_name;
    ch.dialplan.app_data = ch.baseApp.app_data;
    this.channelEvent(ch, 'ChannelDestroyed', { cause, cause_txt: causeText(cause) });
    this.channels.delete(ch.id);
    for (const a of this.apps.values()) a.channelSubs.delete(ch.id);
  }

  // ---- DTMF ---------------------------------------------------------------------------------

  sendDtmf(ch: SimChannel, dtmf: string, o: { before?: number; between?: number; duration?: number }): void {
    const receiver = ch.peer;
    const between = o.between ?? 100;
    const duration = o.duration ?? 100;
    let at = o.before ?? 0;
    for (const digit of dtmf) {
      // ast_dtmf_stream waits `between` before each digit and the receiver sees it at its end.
      at += between + duration;
      if (!/[0-9A-D*#]/i.test(digit)) continue;
      if (!receiver) continue;
      this.timer(ch, at, () => {
        if (receiver.destroyed) return;
        this.channelEvent(receiver, 'ChannelDtmfReceived', { digit, duration_ms: duration });
        for (const l of [...receiver.dtmfListeners]) l(digit.toUpperCase());
      });
    }
  }

  // ---- bridges ------------------------------------------------------------------------------

  createBridge(p: { type?: string; bridgeId?: string; name?: string }): SimBridge {
    const id = p.bridgeId || randomUUID();
    if (this.bridges.has(id)) throw new AriError(409, `Bridge with id '${id}' already exists`);
    const types = (p.type ?? 'mixing').split(',').map((s) => s.trim());
    const br = new SimBridge(id, types.includes('holding') ? 'holding' : 'mixing', p.name ?? '');
    this.bridges.set(id, br);
    return br;
  }

  addToBridge(br: SimBridge, ch: SimChannel): void {
    // Re-adding a channel makes it leave and enter again; moving it leaves the old bridge (s06).
    if (ch.bridge) this.removeFromBridge(ch.bridge, ch, false);
    br.channels.push(ch);
    ch.bridge = br;
    const app = ch.stasis?.app;
    if (app) br.subs.set(app, (br.subs.get(app) ?? 0) + 1);
    this.bridgeEvent(br, 'ChannelEnteredBridge', { channel: ch.json() });
    this.updateTechnology(br);
    this.updateBridgePeers(br);
  }

  removeFromBridge(br: SimBridge, ch: SimChannel, explicit: boolean): void {
    const i = br.channels.indexOf(ch);
    if (i < 0) return;
    if (ch.bridgePeerValue) {
      ch.bridgePeerValue = '';
      this.setVariable(ch, 'BRIDGEPEER', '');
    }
    br.channels.splice(i, 1);
    ch.bridge = undefined;
    this.bridgeEvent(br, 'ChannelLeftBridge', { channel: ch.json() });
    this.updateTechnology(br);
    // Only an explicit removeChannel unsubscribes the app from the bridge (s05 vs s03).
    const app = ch.stasis?.app;
    if (explicit && app) br.subs.set(app, Math.max(0, (br.subs.get(app) ?? 0) - 1));
    this.updateBridgePeers(br);
  }

  /**
   * softmix takes over from simple_bridge only after a third participant has entered (s04), a
   * bridge recorder included (o03), and hands back when two or fewer are left. Events raised
   * before the change show the old technology.
   */
  private updateTechnology(br: SimBridge): void {
    if (br.type !== 'mixing') return;
    let recorders = 0;
    for (const r of this.liveRecordings.values()) if (r.target.kind === 'bridge' && r.target.bridge === br) recorders++;
    br.technology = br.channels.length + recorders > 2 ? 'softmix' : 'simple_bridge';
  }

  /** Bridge MOH and bridge playback run on an Announcer channel, numbered like Local ones (see record()). */
  mediaChannel(br: SimBridge, kind: 'moh' | 'play'): void {
    if (kind === 'moh' && br.mohClass === undefined) this.localSeq++;
    if (kind === 'play' && !br.announcer) {
      br.announcer = true;
      this.localSeq++;
    }
  }

  private updateBridgePeers(br: SimBridge): void {
    if (br.type !== 'mixing') return;
    for (const ch of br.channels) {
      const others = br.channels.filter((c) => c !== ch).map((c) => c.name).join(',');
      if (others !== ch.bridgePeerValue) {
        ch.bridgePeerValue = others;
        this.setVariable(ch, 'BRIDGEPEER', others);
      }
    }
  }

  destroyBridge(br: SimBridge): void {
    for (const ch of [...br.channels]) this.removeFromBridge(br, ch, false);
    this.failPlaybacksOf({ kind: 'bridge', bridge: br });
    this.finishRecordingsOf((r) => r.target.kind === 'bridge' && r.target.bridge === br);
    this.bridgeEvent(br, 'BridgeDestroyed');
    this.bridges.delete(br.id);
    for (const a of this.apps.values()) a.bridgeSubs.delete(br.id);
  }

  // ---- playbacks ----------------------------------------------------------------------------

  play(target: Target, media: string[], lang: string | undefined, playbackId: string | undefined): SimPlayback {
    const id = playbackId || randomUUID();
    if (this.playbacks.has(id)) throw new AriError(409, 'Playback with the same id already exists');
    const language = lang || (target.kind === 'channel' ? target.channel.language : 'en');
    const pb = new SimPlayback(id, media, language, target);
    this.playbacks.set(id, pb);
    const key = targetUri(target);
    const queue = this.playQueues.get(key) ?? [];
    this.playQueues.set(key, queue);
    queue.push(pb);
    // Started after the 201 is on its way, like Asterisk's playback thread.
    if (queue.length === 1) setImmediate(() => this.startPlayback(pb));
    return pb;
  }

  private startPlayback(pb: SimPlayback): void {
    if (pb.state !== 'queued' && pb.state !== 'continuing') return;
    const t = pb.target;
    if (t.kind === 'channel' && t.channel.hangingUp) return;
    pb.state = 'playing';
    const uri = pb.media[pb.index]!;
    if (t.kind === 'channel') {
      this.recordHeard(t.channel, uri);
      // Media on an unanswered Local ;2 sends progress to the dialling side (s06).
      if (t.channel.state !== 'Up') this.indicate(t.channel, 'progress');
    } else for (const ch of t.bridge.channels) this.recordHeard(ch, uri);
    this.targetEvent(t, 'PlaybackStarted', { playback: pb.json() });
    if (!KNOWN_SCHEMES.has(uri.slice(0, Math.max(0, uri.indexOf(':'))))) {
      // res_stasis_playback logs "scheme is unsupported" and returns without a final update:
      // no PlaybackFinished at all, the playback just disappears (s06, media "nonsense").
      pb.state = 'failed';
      this.finishPlayback(pb, 'failed', false);
      return;
    }
    const missing = this.isMissing(uri, pb.language);
    pb.timer = setTimeout(() => this.advancePlayback(pb, missing ? 'failed' : 'ok'), missing ? 0 : this.opts.playbackMs(uri, pb.language));
  }

  private advancePlayback(pb: SimPlayback, outcome: 'ok' | 'failed'): void {
    if (pb.state !== 'playing') return;
    if (outcome === 'ok' && pb.index + 1 < pb.media.length) {
      pb.state = 'continuing';
      this.targetEvent(pb.target, 'PlaybackContinuing', { playback: pb.json() });
      pb.index++;
      this.startPlayback(pb);
      return;
    }
    this.finishPlayback(pb, outcome === 'ok' ? 'done' : 'failed');
  }

  private finishPlayback(pb: SimPlayback, state: string, announce = true): void {
    clearTimeout(pb.timer);
    const wasActive = pb.state === 'playing' || pb.state === 'continuing' || !announce;
    pb.state = state;
    this.playbacks.delete(pb.id);
    const key = targetUri(pb.target);
    const queue = this.playQueues.get(key) ?? [];
    const i = queue.indexOf(pb);
    if (i >= 0) queue.splice(i, 1);
    if (wasActive && announce) this.targetEvent(pb.target, 'PlaybackFinished', { playback: pb.json() });
    if (queue.length === 0) this.playQueues.delete(key);
    else if (wasActive) {
      const next = queue[0]!;
      setImmediate(() => this.startPlayback(next));
    }
  }

  /** DELETE /playbacks/{id}: a stopped playback finishes with state `done` (s02). */
  stopPlayback(pb: SimPlayback): void {
    this.finishPlayback(pb, pb.state === 'queued' ? 'canceled' : 'done');
  }

  private failPlaybacksOf(t: Target): void {
    const key = targetUri(t);
    const queue = this.playQueues.get(key) ?? [];
    // A hangup during playback reports the active playback as failed (s07); queued ones vanish.
    for (const pb of [...queue].reverse()) this.finishPlayback(pb, 'failed');
  }

  private recordHeard(ch: SimChannel, uri: string): void {
    ch.heard.push(uri);
    const log = this.heardLog.get(ch.id) ?? [];
    log.push(uri);
    this.heardLog.set(ch.id, log);
  }

  /** Missing media fail like Asterisk: `sound:missing*`/`sound:no-such*`, unknown schemes, or absent files. */
  isMissing(uri: string, lang: string): boolean {
    const colon = uri.indexOf(':');
    const scheme = colon < 0 ? '' : uri.slice(0, colon);
    const name = uri.slice(colon + 1);
    switch (scheme) {
      case 'sound': {
        if (/^(missing|no-such)/.test(path.basename(name))) return true;
        if (!this.opts.soundsDir) return false;
        return ![path.join(this.opts.soundsDir, lang, name), path.join(this.opts.soundsDir, name)].some((base) => fileWithAnyExt(base));
      }
      case 'recording':
        return !this.storedRecordings.has(name);
      case 'number':
      case 'digits':
      case 'characters':
      case 'tone':
        return false;
      default:
        return true;
    }
  }

  // ---- recordings ---------------------------------------------------------------------------

  record(target: Target, p: { name?: string; format?: string; maxDurationSeconds?: number; ifExists?: string }): SimRecording {
    if (!p.name || !p.format) throw new AriError(400, 'Invalid parameters');
    if (!['wav', 'gsm', 'ulaw', 'alaw', 'sln', 'g722', 'wav49', 'g729', 'slin'].includes(p.format)) {
      throw new AriError(422, `Unknown format: ${p.format}`);
    }
    const ifExists = p.ifExists ?? 'fail';
    // A bridge is recorded by a Recorder/ channel that joins it: it takes a number from the same
    // sequence as Local channels, even when the name then clashes (o08), and it counts as a
    // participant for the mixing technology (o03: softmix with caller + agent + recorder).
    if (target.kind === 'bridge') this.localSeq++;
    if (this.liveRecordings.has(p.name) || (ifExists === 'fail' && this.storedRecordings.has(p.name))) {
      throw new AriError(409, `Recording '${p.name}' already exists and can not be overwritten`);
    }
    const rec = new SimRecording(p.name, p.format, target);
    this.liveRecordings.set(rec.name, rec);
    if (target.kind === 'bridge') this.updateTechnology(target.bridge);
    setImmediate(() => {
      if (rec.state !== 'queued') return;
      rec.state = 'recording';
      rec.startedAt = Date.now();
      this.targetEvent(target, 'RecordingStarted', { recording: rec.json() });
      if (p.maxDurationSeconds && p.maxDurationSeconds > 0) {
        rec.timer = setTimeout(() => this.stopRecording(rec, 'done'), p.maxDurationSeconds * 1000);
      }
    });
    return rec;
  }

  stopRecording(rec: SimRecording, state: 'done' | 'canceled'): void {
    clearTimeout(rec.timer);
    if (!this.liveRecordings.has(rec.name)) return;
    this.liveRecordings.delete(rec.name);
    const duration = rec.startedAt ? Math.floor((Date.now() - rec.startedAt) / 1000) : 0;
    rec.state = state;
    if (state === 'done') this.storedRecordings.set(rec.name, { name: rec.name, format: rec.format });
    this.targetEvent(rec.target, 'RecordingFinished', { recording: { ...rec.json(), duration } });
    if (rec.target.kind === 'bridge') this.updateTechnology(rec.target.bridge);
  }

  private finishRecordingsOf(pred: (r: SimRecording) => boolean): void {
    for (const r of [...this.liveRecordings.values()]) if (pred(r)) this.stopRecording(r, 'done');
  }

  // ---- snoop --------------------------------------------------------------------------------

  snoop(target: SimChannel, p: { app?: string; appArgs?: string; snoopId?: string; spy?: string; whisper?: string }): SimChannel {
    if (!p.app) throw new AriError(400, 'Invalid parameters');
    for (const dir of [p.spy, p.whisper]) {
      if (dir !== undefined && !['none', 'both', 'out', 'in'].includes(dir)) throw new AriError(400, 'Invalid direction specified');
    }
    if (p.snoopId && this.channels.has(p.snoopId)) throw new AriError(409, 'Channel with given unique ID already exists');
    const ch = new SimChannel(p.snoopId || this.nextId(), `Snoop/${target.id}-${hex8(this.snoopSeq++)}`, 'Snoop',
      { name: '', number: '' }, { name: '', number: '' }, { context: 'default', exten: 's', priority: 1, app_name: '', app_data: '' });
    ch.state = 'Up';
    ch.language = this.language;
    target.snoops.add(ch);
    this.addChannel(ch);
    const args = p.appArgs ? p.appArgs.split(',') : [];
    setImmediate(() => {
      if (ch.hangingUp) return;
      ch.dialplan.app_name = 'Stasis';
      ch.dialplan.app_data = [p.app, ...args].join(',');
      void this.stasis(ch, p.app!, args).then((exit) => {
        if (exit.kind !== 'hangup' && !ch.hangingUp) this.hangup(ch, { cause: 16 });
      });
    });
    return ch;
  }

  // ---- applications and endpoints ----------------------------------------------------------

  applicationJson(app: SimApp): object {
    const channelIds = [...this.channels.values()]
      .filter((ch) => ch.originApps.has(app.name) || ch.stasis?.app === app.name || app.channelSubs.has(ch.id))
      .map((ch) => ch.id);
    const bridgeIds = [...this.bridges.values()]
      .filter((br) => (br.subs.get(app.name) ?? 0) > 0 || app.bridgeSubs.has(br.id))
      .map((br) => br.id);
    return {
      name: app.name, channel_ids: channelIds, bridge_ids: bridgeIds, endpoint_ids: [...app.endpointSubs],
      device_names: [], events_allowed: app.eventsAllowed.map((type) => ({ type })), events_disallowed: app.eventsDisallowed.map((type) => ({ type })),
    };
  }

  endpointJson(ep: SimEndpoint): object {
    const prefix = `${ep.technology}/${ep.resource}-`;
    const ids = [...this.channels.values()].filter((c) => c.name.startsWith(prefix)).map((c) => c.id);
    return { technology: ep.technology, resource: ep.resource, state: ep.state, channel_ids: ids };
  }

  /** Used by the AMI side: a contact status change also moves the ARI endpoint state. */
  setEndpointState(technology: string, resource: string, state: 'online' | 'offline'): void {
    const key = `${technology}/${resource}`;
    const ep = this.endpoints.get(key) ?? { technology, resource, state: 'offline' };
    this.endpoints.set(key, ep);
    if (ep.state === state) return;
    ep.state = state;
    const apps = [...this.apps.values()].filter((a) => a.subscribeAll || a.endpointSubs.has(key)).map((a) => a.name);
    this.deliver(apps, 'EndpointStateChange', { endpoint: this.endpointJson(ep) });
  }

  /** Asterisk restart: everything vanishes without events (the sockets are already gone). */
  wipe(): void {
    for (const ch of this.channels.values()) {
      for (const t of ch.timers) clearTimeout(t);
      ch.hangingUp = ch.destroyed = true;
      for (const w of [...ch.wakers]) w();
      ch.stasis?.exit({ kind: 'hangup' });
    }
    for (const pb of this.playbacks.values()) clearTimeout(pb.timer);
    for (const r of this.liveRecordings.values()) clearTimeout(r.timer);
    this.channels.clear();
    this.bridges.clear();
    this.playbacks.clear();
    this.playQueues.clear();
    this.liveRecordings.clear();
    this.apps.clear();
  }
}

/**
 * A variable's name without its inheritance underscores (`__X` and `_X` are `X`), as
 * ast_var_name() reads it: GET .../variable?variable=X finds `__X`.
 */
export function bareName(name: string): string {
  return name.replace(/^_{1,2}/, '');
}

/**
 * Originate variables in the order Asterisk keeps them on the new channel: each one set in turn
 * at the head of the list (pbx_builtin_setvar_helper), replacing any of the same bare name.
 */
function originateVariables(vars: Record<string, string> | undefined): Array<[string, string]> {
  const list: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(vars ?? {})) {
    const i = list.findIndex(([name]) => bareName(name) === bareName(k));
    if (i >= 0) list.splice(i, 1);
    list.unshift([k, String(v)]);
  }
  return list;
}

const KNOWN_SCHEMES = new Set(['sound', 'recording', 'number', 'digits', 'characters', 'tone']);

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function fileWithAnyExt(base: string): boolean {
  const dir = path.dirname(base);
  const stem = path.basename(base);
  if (!existsSync(dir)) return false;
  return readdirSync(dir).some((f) => f === stem || f.startsWith(`${stem}.`));
}

/** `"Citizen" <13800138000>` / `Citizen <123>` / `123` → {name, number}. */
export function parseCallerId(s: string | undefined): CallerIdJson {
  if (!s) return { name: '', number: '' };
  const m = /^\s*(?:"([^"]*)"|([^<]*?))\s*<([^>]*)>\s*$/.exec(s);
  if (m) return { name: (m[1] ?? m[2] ?? '').trim(), number: m[3]!.trim() };
  return { name: '', number: s.trim() };
}
