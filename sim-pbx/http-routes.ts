/**
 * The ARI REST surface of the simulated PBX: authentication, api-docs, and one thin handler per
 * operation that validates like Asterisk (status codes and `{"message": ...}` bodies as recorded
 * in the traces) and delegates to the {@link PbxModel}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resourceDeclaration, resourceListing } from './declarations.js';
import { AriError, HANGUP_REASONS, type PbxModel, type SimChannel } from './model.js';

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  body: unknown;
}

type Params = Record<string, string | undefined> & { body?: Record<string, unknown> };
type Handler = (params: Params) => unknown | Promise<unknown>;
interface Route { method: string; pattern: RegExp; keys: string[]; handler: Handler; status: number }

export interface RoutesOptions {
  user: string;
  password: string;
  version: string;
  onRequest(entry: RequestLogEntry): void;
}

export class AriRoutes {
  private readonly routes: Route[] = [];

  constructor(private readonly model: PbxModel, private readonly opts: RoutesOptions) {
    this.register();
  }

  /** Basic auth or `api_key=user:pass`, as res_ari accepts either. */
  authorized(req: IncomingMessage, query: URLSearchParams): boolean {
    const expected = `${this.opts.user}:${this.opts.password}`;
    const apiKey = query.get('api_key');
    if (apiKey !== null) return apiKey === expected;
    const h = req.headers.authorization ?? '';
    if (!h.startsWith('Basic ')) return false;
    return Buffer.from(h.slice(6), 'base64').toString('utf8') === expected;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const query = url.searchParams;
    const rel = url.pathname.startsWith('/ari') ? url.pathname.slice(4) : null;
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const payload = body === undefined || status === 204 ? '' : JSON.stringify(body);
      res.writeHead(status, { ...(payload ? { 'Content-Type': 'application/json' } : {}), ...headers });
      res.end(payload);
      if (rel !== null && !rel.startsWith('/api-docs')) {
        this.opts.onRequest({ method, path: rel, query: Object.fromEntries(query), status, body: body ?? null });
      }
    };
    if (rel === null) return send(404, { message: 'Resource not found' });
    if (!this.authorized(req, query)) {
      return send(401, { message: 'Authentication required' }, { 'WWW-Authenticate': 'Basic realm="Asterisk REST Interface"' });
    }
    const docs = /^\/api-docs\/([\w]+)\.json$/.exec(rel);
    if (docs && method === 'GET') {
      // basePath follows the Host the client used, as Asterisk rewrites it.
      const basePath = `http://${req.headers.host ?? '127.0.0.1'}/ari`;
      const decl = docs[1] === 'resources' ? resourceListing(basePath) : resourceDeclaration(docs[1]!, basePath);
      return decl ? send(200, decl) : send(404, { message: 'Resource not found' });
    }
    const params: Params = Object.fromEntries(query);
    delete params.api_key;
    if (raw.length) {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return send(400, { message: 'Invalid JSON body' });
      }
      if (body && typeof body === 'object' && !Array.isArray(body)) {
        // Asterisk accepts query parameters in a JSON body too; `variables` stays an object.
        params.body = body as Record<string, unknown>;
        for (const [k, v] of Object.entries(body)) {
          if (k !== 'variables' && params[k] === undefined && v !== null && typeof v !== 'object') params[k] = String(v);
        }
      }
    }
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(rel);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1]!)));
      try {
        const result = await r.handler(params);
        return send(result === undefined ? 204 : r.status, result);
      } catch (e) {
        if (e instanceof AriError) return send(e.status, e.body);
        return send(500, { message: (e as Error).message });
      }
    }
    return pathMatched ? send(405, { message: 'Invalid method' }) : send(404, { message: 'Resource not found' });
  }

  private on(method: string, path: string, handler: Handler, status = 200): void {
    const keys: string[] = [];
    const pattern = new RegExp(`^${path.replace(/\{(\w+)\}/g, (_, k: string) => (keys.push(k), '([^/]+)'))}$`);
    this.routes.push({ method, pattern, keys, handler, status });
  }

  private register(): void {
    const m = this.model;
    const ch = (p: Params) => m.channel(p.channelId!);
    const ctl = (p: Params) => m.controlled(p.channelId!);
    const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));

    // asterisk
    this.on('GET', '/asterisk/info', (p) => {
      const info: Record<string, unknown> = {
        build: { os: 'Linux', kernel: 'sim', machine: 'x86_64', options: 'OPTIONAL_API', date: m.startedAt, user: 'sim' },
        system: { version: this.opts.version, entity_id: m.asteriskId },
        config: { name: '', default_language: 'en', setid: { user: '', group: '' } },
        status: { startup_time: m.startedAt, last_reload_time: m.startedAt },
      };
      if (!p.only) return info;
      const only = p.only.split(',');
      return Object.fromEntries(Object.entries(info).filter(([k]) => only.includes(k)));
    });
    this.on('GET', '/asterisk/ping', () => ({ asterisk_id: m.asteriskId, ping: 'pong', timestamp: new Date().toISOString().replace('Z', '+0000') }));
    this.on('GET', '/asterisk/variable', (p) => {
      if (!p.variable) throw new AriError(400, 'Variable name is required');
      return { value: m.globals.get(p.variable) ?? '' };
    });
    this.on('POST', '/asterisk/variable', (p) => {
      if (!p.variable) throw new AriError(400, 'Variable name is required');
      m.globals.set(p.variable, p.value ?? '');
    });

    // applications
    this.on('GET', '/applications', () =>
      [...m.apps.values()].sort((a, b) => a.name.localeCompare(b.name)).map((a) => m.applicationJson(a)));
    const app = (p: Params) => {
      const a = m.apps.get(p.applicationName!);
      if (!a) throw new AriError(404, 'Application not found');
      return a;
    };
    this.on('GET', '/applications/{applicationName}', (p) => m.applicationJson(app(p)));
    const subscription = (p: Params, add: boolean) => {
      const a = app(p);
      if (!p.eventSource) throw new AriError(400, 'Missing parameter eventSource');
      for (const src of p.eventSource.split(',')) {
        const [scheme, id = ''] = src.split(':') as [string, string?];
        const set = scheme === 'channel' ? a.channelSubs : scheme === 'bridge' ? a.bridgeSubs : scheme === 'endpoint' ? a.endpointSubs : undefined;
        if (!set) throw new AriError(400, 'Invalid event source URI scheme');
        const exists = scheme === 'channel' ? m.channels.has(id) : scheme === 'bridge' ? m.bridges.has(id) : m.endpoints.has(id);
        if (!exists) throw new AriError(422, 'Unable to find event source');
        if (add) set.add(id);
        else set.delete(id);
      }
      return m.applicationJson(a);
    };
    this.on('POST', '/applications/{applicationName}/subscription', (p) => subscription(p, true));
    this.on('DELETE', '/applications/{applicationName}/subscription', (p) => subscription(p, false));
    // Asterisk's rules (applications.json): an empty body clears both lists; a list given replaces its own only.
    this.on('PUT', '/applications/{applicationName}/eventFilter', (p) => {
      const a = app(p);
      const body = p.body ?? {};
      const types = (list: unknown, which: string): string[] => {
        if (!Array.isArray(list) || list.some((x) => !x || typeof (x as { type?: unknown }).type !== 'string')) throw new AriError(400, `Invalid format for ${which}: a list of {"type": ...} objects`);
        return (list as { type: string }[]).map((x) => x.type);
      };
      const empty = !('allowed' in body) && !('disallowed' in body);
      if (empty || 'allowed' in body) a.eventsAllowed = empty ? [] : types(body.allowed, 'allowed');
      if (empty || 'disallowed' in body) a.eventsDisallowed = empty ? [] : types(body.disallowed, 'disallowed');
      return m.applicationJson(a);
    });

    // channels
    this.on('GET', '/channels', () => [...m.channels.values()].map((c) => c.json()));
    const originate = (p: Params) =>
      m.originate({
        endpoint: p.endpoint, app: p.app, appArgs: p.appArgs, callerId: p.callerId, timeout: num(p.timeout),
        channelId: p.channelId, otherChannelId: p.otherChannelId, context: p.context, extension: p.extension,
        priority: num(p.priority), label: p.label, variables: variablesOf(p.body),
      }).json();
    this.on('POST', '/channels', originate);
    this.on('GET', '/channels/{channelId}', (p) => ch(p).json());
    this.on('POST', '/channels/{channelId}', originate);
    this.on('DELETE', '/channels/{channelId}', (p) => {
      const c = ch(p);
      let cause = 16;
      if (p.reason_code !== undefined && p.reason_code !== '') cause = Number(p.reason_code);
      else if (p.reason !== undefined) {
        const mapped = HANGUP_REASONS[p.reason];
        if (mapped === undefined) throw new AriError(400, 'Invalid reason for hangup provided');
        cause = mapped;
      }
      // ARI hangup is a soft hangup: its request carries AST_SOFTHANGUP_EXPLICIT (32) (s01, s02).
      m.hangup(c, { requestCause: 32, soft: true, cause });
    });
    this.on('POST', '/channels/{channelId}/continue', (p) => {
      m.continueInDialplan(ctl(p), { context: p.context, extension: p.extension, priority: num(p.priority), label: p.label });
    });
    this.on('POST', '/channels/{channelId}/answer', (p) => void m.answer(ctl(p)));
    this.on('POST', '/channels/{channelId}/ring', (p) => void m.indicate(ctl(p), 'ringing'));
    this.on('DELETE', '/channels/{channelId}/ring', (p) => void m.stopRinging(ctl(p)));
    this.on('POST', '/channels/{channelId}/progress', (p) => void m.indicate(ctl(p), 'progress'));
    this.on('POST', '/channels/{channelId}/dtmf', (p) => {
      const c = ctl(p);
      if (!p.dtmf) throw new AriError(400, 'DTMF is required');
      m.sendDtmf(c, p.dtmf, { before: num(p.before), between: num(p.between), duration: num(p.duration) });
    });
    const flag = (path: string, set: (c: SimChannel, p: Params) => void, clear: (c: SimChannel) => void) => {
      this.on('POST', path, (p) => void set(ctl(p), p));
      this.on('DELETE', path, (p) => void clear(ctl(p)));
    };
    flag('/channels/{channelId}/moh', (c, p) => (c.mohClass = p.mohClass ?? 'default'), (c) => (c.mohClass = undefined));
    flag('/channels/{channelId}/hold', (c) => (c.onHold = true), (c) => (c.onHold = false));
    flag('/channels/{channelId}/mute', () => undefined, () => undefined);
    flag('/channels/{channelId}/silence', () => undefined, () => undefined);
    const playOnChannel = (p: Params) => {
      const c = ctl(p);
      if (!p.media) throw new AriError(400, 'media is required');
      return m.play({ kind: 'channel', channel: c }, p.media.split(','), p.lang, p.playbackId).json();
    };
    this.on('POST', '/channels/{channelId}/play', playOnChannel, 201);
    this.on('POST', '/channels/{channelId}/play/{playbackId}', playOnChannel, 201);
    this.on('POST', '/channels/{channelId}/record', (p) => {
      const c = ctl(p);
      return m.record({ kind: 'channel', channel: c }, recordParams(p)).json();
    }, 201);
    this.on('GET', '/channels/{channelId}/variable', (p) => {
      if (!p.variable) throw new AriError(400, 'Variable name is required');
      // get_channel_var looks the channel up itself, with its own message (o08).
      const c = m.channels.get(p.channelId!);
      if (!c) throw new AriError(404, 'Provided channel was not found');
      return { value: m.readVariable(c, p.variable) };
    });
    this.on('POST', '/channels/{channelId}/variable', (p) => {
      if (!p.variable) throw new AriError(400, 'Variable name is required');
      m.setVariable(ctl(p), p.variable, p.value ?? '');
    });
    const snoop = (p: Params) =>
      m.snoop(ch(p), { app: p.app, appArgs: p.appArgs, snoopId: p.snoopId, spy: p.spy, whisper: p.whisper }).json();
    this.on('POST', '/channels/{channelId}/snoop', snoop);
    this.on('POST', '/channels/{channelId}/snoop/{snoopId}', snoop);

    // bridges
    this.on('GET', '/bridges', () => [...m.bridges.values()].map((b) => b.json()));
    this.on('POST', '/bridges', (p) => m.createBridge({ type: p.type, bridgeId: p.bridgeId, name: p.name }).json());
    this.on('POST', '/bridges/{bridgeId}', (p) => m.createBridge({ type: p.type, bridgeId: p.bridgeId, name: p.name }).json());
    this.on('GET', '/bridges/{bridgeId}', (p) => m.bridge(p.bridgeId!).json());
    this.on('DELETE', '/bridges/{bridgeId}', (p) => void m.destroyBridge(m.bridge(p.bridgeId!)));
    const bridgeChannels = (p: Params): SimChannel[] => {
      if (!p.channel) throw new AriError(400, 'Missing parameter channel');
      return p.channel.split(',').map((id) => {
        const c = m.channels.get(id);
        if (!c) throw new AriError(400, 'Channel not found');
        return c;
      });
    };
    this.on('POST', '/bridges/{bridgeId}/addChannel', (p) => {
      const br = m.bridge(p.bridgeId!);
      const list = bridgeChannels(p);
      for (const c of list) if (!c.stasis) throw new AriError(422, 'Channel not in Stasis application');
      for (const c of list) m.addToBridge(br, c);
    });
    this.on('POST', '/bridges/{bridgeId}/removeChannel', (p) => {
      const br = m.bridge(p.bridgeId!);
      const list = bridgeChannels(p);
      for (const c of list) if (c.bridge !== br) throw new AriError(422, 'Channel not in this bridge');
      for (const c of list) m.removeFromBridge(br, c, true);
    });
    this.on('POST', '/bridges/{bridgeId}/moh', (p) => {
      const br = m.bridge(p.bridgeId!);
      m.mediaChannel(br, 'moh');
      br.mohClass = p.mohClass ?? 'default';
    });
    this.on('DELETE', '/bridges/{bridgeId}/moh', (p) => void (m.bridge(p.bridgeId!).mohClass = undefined));
    const playOnBridge = (p: Params) => {
      const br = m.bridge(p.bridgeId!);
      if (!p.media) throw new AriError(400, 'media is required');
      m.mediaChannel(br, 'play');
      return m.play({ kind: 'bridge', bridge: br }, p.media.split(','), p.lang, p.playbackId).json();
    };
    this.on('POST', '/bridges/{bridgeId}/play', playOnBridge, 201);
    this.on('POST', '/bridges/{bridgeId}/play/{playbackId}', playOnBridge, 201);
    this.on('POST', '/bridges/{bridgeId}/record', (p) => {
      const br = m.bridge(p.bridgeId!);
      return m.record({ kind: 'bridge', bridge: br }, recordParams(p)).json();
    }, 201);

    // playbacks
    const playback = (p: Params) => {
      const pb = m.playbacks.get(p.playbackId!);
      if (!pb) throw new AriError(404, 'Playback not found');
      return pb;
    };
    this.on('GET', '/playbacks/{playbackId}', (p) => playback(p).json());
    this.on('DELETE', '/playbacks/{playbackId}', (p) => void m.stopPlayback(playback(p)));

    // recordings
    const stored = (p: Params) => {
      const r = m.storedRecordings.get(p.recordingName!);
      if (!r) throw new AriError(404, 'Recording not found');
      return r;
    };
    const live = (p: Params) => {
      const r = m.liveRecordings.get(p.recordingName!);
      if (!r) throw new AriError(404, 'Recording not found');
      return r;
    };
    this.on('GET', '/recordings/stored', () => [...m.storedRecordings.values()].map((r) => ({ ...r })));
    this.on('GET', '/recordings/stored/{recordingName}', (p) => ({ ...stored(p) }));
    this.on('DELETE', '/recordings/stored/{recordingName}', (p) => void m.storedRecordings.delete(stored(p).name));
    this.on('POST', '/recordings/stored/{recordingName}/copy', (p) => {
      const r = stored(p);
      const dest = p.destinationRecordingName;
      if (!dest) throw new AriError(400, 'Missing parameter destinationRecordingName');
      if (m.storedRecordings.has(dest)) throw new AriError(409, 'A recording with the same name already exists on the system');
      const copy = { name: dest, format: r.format };
      m.storedRecordings.set(dest, copy);
      return copy;
    });
    this.on('GET', '/recordings/live/{recordingName}', (p) => live(p).json());
    this.on('DELETE', '/recordings/live/{recordingName}', (p) => void m.stopRecording(live(p), 'canceled'));
    this.on('POST', '/recordings/live/{recordingName}/stop', (p) => void m.stopRecording(live(p), 'done'));

    // endpoints
    this.on('GET', '/endpoints', () => [...m.endpoints.values()].map((e) => m.endpointJson(e)));
    this.on('GET', '/endpoints/{tech}', (p) => {
      const list = [...m.endpoints.values()].filter((e) => e.technology.toLowerCase() === p.tech!.toLowerCase());
      if (!list.length) throw new AriError(404, 'No Endpoints found - invalid tech');
      return list.map((e) => m.endpointJson(e));
    });
    this.on('GET', '/endpoints/{tech}/{resource}', (p) => {
      const e = [...m.endpoints.values()].find((x) => x.technology.toLowerCase() === p.tech!.toLowerCase() && x.resource === p.resource);
      if (!e) throw new AriError(404, 'Endpoint not found');
      return m.endpointJson(e);
    });
  }
}

function variablesOf(body: Record<string, unknown> | undefined): Record<string, string> | undefined {
  const v = body?.variables;
  if (!v || typeof v !== 'object') return undefined;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)]));
}

function recordParams(p: Params) {
  return {
    name: p.name, format: p.format, ifExists: p.ifExists,
    maxDurationSeconds: p.maxDurationSeconds === undefined ? undefined : Number(p.maxDurationSeconds),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').trim()));
    req.on('error', reject);
  });
}
