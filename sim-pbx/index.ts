/**
 * SimPbx: an in-process stand-in for Asterisk 22 — ARI over HTTP + WebSocket and AMI over TCP —
 * close enough to a real Asterisk that the same integration tests run against both.
 *
 * Sim-only conventions (not Asterisk behaviour):
 * - Every channel is a Local one (no SIP): `${PJSIP_HEADER(read,…)}` is '' as on a real Asterisk's
 *   Local channels; the dialplan takes a linkage reference from `HOTLINE_REF` on those (pass it in
 *   the originate body: `variables: { HOTLINE_REF: 'R-1' }`, copied to the `;2` half).
 * - Sounds named `sound:missing*` / `sound:no-such*`, unknown URI schemes, and (with `soundsDir`)
 *   files that do not exist play as PlaybackFinished `failed`.
 * - `PJSIP/<name>` originates ring when the AOR is registered (`ami.contactStatus(name, 'Reachable')`)
 *   and are answered by `answer(channelId)`; otherwise they fail at once (CHANUNAVAIL).
 */
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AmiServer, type ContactStatus } from './ami.js';
import { Dialplan } from './dialplan.js';
import { EventSockets } from './events-ws.js';
import { AriRoutes, type RequestLogEntry } from './http-routes.js';
import { PbxModel, type AriEvent, type BridgeJson, type ChannelJson, type PlaybackJson } from './model.js';

export type { RequestLogEntry } from './http-routes.js';
export type { AriEvent, ChannelJson, BridgeJson, PlaybackJson } from './model.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..');
export const FIXTURES_DIR = path.join(HERE, 'fixtures');
/** The dialplan the shared traces were recorded with. */
export const TRACE_DIALPLAN = path.join(FIXTURES_DIR, 'trace-readme.conf');

const ASTERISK_VERSION = '22.10.1';

export interface SimPbxOptions {
  user?: string;
  password?: string;
  /** Defaults to the repo's dialplan/extensions.conf, or a fixture of the same shape until it exists. */
  dialplanFile?: string;
  /** ari.conf `channelvars` (default: our asterisk/ari.conf's); [] for a PBX configured without. */
  channelVars?: readonly string[];
  /** How long one media item plays (see media.ts for real lengths); default 40 ms. */
  playbackMs?: (mediaUri: string, language?: string) => number;
  /** When set, `sound:` media must exist under it (`<dir>/<lang>/<name>.*` or `<dir>/<name>.*`). */
  soundsDir?: string;
  /** ARI endpoints known up front, as `TECH/resource` (e.g. `PJSIP/sipp`). */
  endpoints?: string[];
  amiUser?: string;
  amiSecret?: string;
  /** Language of new channels (asterisk.conf `defaultlanguage`); default `en`. */
  language?: string;
  /** How long HTTP refuses connections during restart(); default 300 ms. */
  restartDownMs?: number;
}

export interface SimPbxEvents {
  request: [RequestLogEntry];
  event: [string, AriEvent];
}

export class SimPbx extends EventEmitter<SimPbxEvents> {
  readonly user: string;
  readonly password: string;
  readonly amiUser: string;
  readonly amiSecret: string;
  readonly ami: { contactStatus(aor: string, status: ContactStatus): void; fullyBooted(): void };
  private port = 0;
  private model: PbxModel;
  private routes!: AriRoutes;
  private sockets!: EventSockets;
  private server?: http.Server;
  private readonly amiServer: AmiServer;

  private constructor(private readonly opts: SimPbxOptions) {
    super();
    this.user = opts.user ?? 'hotline';
    this.password = opts.password ?? 'hotline-secret';
    this.amiUser = opts.amiUser ?? this.user;
    this.amiSecret = opts.amiSecret ?? this.password;
    this.model = this.newModel();
    this.amiServer = new AmiServer(this.model, this.amiUser, this.amiSecret, ASTERISK_VERSION);
    this.ami = {
      contactStatus: (aor, status) => this.amiServer.contactStatus(aor, status),
      fullyBooted: () => this.amiServer.fullyBooted(),
    };
  }

  static async start(opts: SimPbxOptions = {}): Promise<SimPbx> {
    const sim = new SimPbx(opts);
    await sim.listenHttp(0);
    await sim.amiServer.listen(0);
    return sim;
  }

  /** Base URL for ari-client (`ari.connect(sim.ariUrl, sim.user, sim.password)`). */
  get ariUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get amiPort(): number {
    return this.amiServer.port;
  }

  private newModel(): PbxModel {
    const file = this.opts.dialplanFile ?? defaultDialplanFile();
    const model = new PbxModel({
      dialplan: Dialplan.load(file),
      language: this.opts.language,
      playbackMs: this.opts.playbackMs ?? (() => 40),
      soundsDir: this.opts.soundsDir,
      endpoints: this.opts.endpoints,
      asteriskId: '02:51:4d:00:00:01',
      ...(this.opts.channelVars ? { channelVars: this.opts.channelVars } : {}),
    });
    model.listeners.add((app, event) => this.emit('event', app, event));
    this.routes = new AriRoutes(model, {
      user: this.user, password: this.password, version: ASTERISK_VERSION,
      onRequest: (entry) => this.emit('request', entry),
    });
    this.sockets = new EventSockets(model, this.routes);
    return model;
  }

  private async listenHttp(port: number): Promise<void> {
    const server = http.createServer((req, res) => void this.routes.handle(req, res));
    server.on('upgrade', (req, socket, head) => this.sockets.upgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  private async closeHttp(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    this.sockets.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async stop(): Promise<void> {
    this.model.wipe();
    await this.closeHttp();
    await this.amiServer.close();
  }

  /** Live channels (snapshots). */
  channels(): ChannelJson[] {
    return [...this.model.channels.values()].map((c) => c.json());
  }

  bridges(): BridgeJson[] {
    return [...this.model.bridges.values()].map((b) => b.json());
  }

  playbacks(): PlaybackJson[] {
    return [...this.model.playbacks.values()].map((p) => p.json());
  }

  /** Media URIs played to a channel (ARI play, bridge play and dialplan Playback()), also after hangup. */
  heard(channelId: string): string[] {
    return [...(this.model.heardLog.get(channelId) ?? [])];
  }

  /** Server-side close of the events websocket(s), like Asterisk dropping us. */
  dropEventSockets(app?: string): void {
    this.sockets.drop(app);
  }

  /** Test hook: a PJSIP leg originated by the app answers (the sim has no real phones). */
  answer(channelId: string): void {
    this.model.answerRemote(channelId);
  }

  /**
   * Simulates an Asterisk restart: sockets drop, every channel and bridge is gone, HTTP and AMI
   * refuse connections for `restartDownMs`, then come back on the same ports with a fresh core.
   */
  async restart(): Promise<void> {
    this.sockets.drop();
    this.model.wipe();
    await this.closeHttp();
    await this.amiServer.close();
    this.amiServer.resetContacts();
    await new Promise((r) => setTimeout(r, this.opts.restartDownMs ?? 300));
    const oldModel = this.model;
    this.model = this.newModel();
    // Stored recordings live on disk and survive a restart.
    for (const [k, v] of oldModel.storedRecordings) this.model.storedRecordings.set(k, v);
    this.amiServer.attach(this.model);
    await this.listenHttp(this.port);
    await this.amiServer.listen(this.amiServer.port);
  }
}

/** `defaultlanguage` of our asterisk/asterisk.conf: what a real Asterisk loaded with it gives new channels. */
export function configuredLanguage(): string {
  const conf = path.join(REPO_ROOT, 'asterisk', 'asterisk.conf');
  const m = existsSync(conf) ? /^\s*defaultlanguage\s*=\s*([A-Za-z_-]+)/m.exec(readFileSync(conf, 'utf8')) : null;
  return m?.[1] ?? 'en';
}

function defaultDialplanFile(): string {
  const real = path.join(REPO_ROOT, 'dialplan', 'extensions.conf');
  return existsSync(real) ? real : path.join(FIXTURES_DIR, 'hotline.conf');
}
