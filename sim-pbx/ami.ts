/**
 * A minimal AMI (manager) server, wire-compatible with npm `asterisk-manager`: the banner,
 * Login/Logoff, Ping, CoreSettings, PJSIP contact and endpoint listings, and the events our
 * telephony layer listens to (FullyBooted, ContactStatus). Response texts follow trace ami-01.
 */
import net from 'node:net';
import type { PbxModel } from './model.js';

export type ContactStatus = 'Created' | 'Reachable' | 'NonQualified' | 'Removed' | 'Unreachable';

type Message = Record<string, string>;

interface Session {
  socket: net.Socket;
  authenticated: boolean;
  events: boolean;
  buffer: string;
}

interface Contact { aor: string; uri: string; status: ContactStatus }

const BANNER = 'Asterisk Call Manager/11.0.0\r\n';

export class AmiServer {
  private server?: net.Server;
  private readonly sessions = new Set<Session>();
  private readonly contacts = new Map<string, Contact>();
  private readonly startedAt = Date.now();
  port = 0;

  /** Dialplan UserEvent()s go out as Asterisk sends them (class `user`). */
  private readonly onUserEvent = (fields: Record<string, string>) => this.broadcast({ Event: 'UserEvent', Privilege: 'user,all', ...fields });

  constructor(
    private model: PbxModel,
    readonly user: string,
    readonly secret: string,
    private readonly version: string,
  ) {
    model.userEventListeners.add(this.onUserEvent);
  }

  /** After a simulated restart the AMI side talks to the fresh core. */
  attach(model: PbxModel): void {
    this.model.userEventListeners.delete(this.onUserEvent);
    this.model = model;
    model.userEventListeners.add(this.onUserEvent);
  }

  async listen(port = 0): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
  }

  /** Stops listening and drops every manager connection (used by stop() and restart()). */
  async close(): Promise<void> {
    for (const s of this.sessions) s.socket.destroy();
    this.sessions.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const session: Session = { socket, authenticated: false, events: true, buffer: '' };
    this.sessions.add(session);
    socket.setEncoding('utf8');
    socket.write(BANNER);
    socket.on('data', (chunk: string) => {
      session.buffer += chunk;
      let end: number;
      while ((end = session.buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = session.buffer.slice(0, end);
        session.buffer = session.buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        const msg = parseBlock(block);
        if (Object.keys(msg).length) this.action(session, msg);
      }
    });
    socket.on('close', () => this.sessions.delete(session));
    socket.on('error', () => undefined);
  }

  private send(session: Session, msg: Message): void {
    if (session.socket.destroyed) return;
    session.socket.write(Object.entries(msg).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n');
  }

  /** Sends an event to every logged-in session that asked for events. */
  broadcast(msg: Message): void {
    for (const s of this.sessions) if (s.authenticated && s.events) this.send(s, msg);
  }

  private action(session: Session, msg: Message): void {
    const name = (get(msg, 'action') ?? '').toLowerCase();
    const id = get(msg, 'actionid');
    const reply = (fields: Message) => this.send(session, id === undefined ? fields : withActionId(fields, id));
    if (name === 'login') {
      if (get(msg, 'username') === this.user && get(msg, 'secret') === this.secret) {
        session.authenticated = true;
        session.events = (get(msg, 'events') ?? 'on').toLowerCase() !== 'off';
        reply({ Response: 'Success', Message: 'Authentication accepted' });
        if (session.events) this.send(session, this.fullyBootedEvent());
      } else {
        // Asterisk answers, then drops the connection (ami-01).
        reply({ Response: 'Error', Message: 'Authentication failed' });
        session.socket.end();
      }
      return;
    }
    if (!session.authenticated) {
      reply({ Response: 'Error', Message: 'Permission denied' });
      return;
    }
    switch (name) {
      case 'logoff':
        reply({ Response: 'Goodbye', Message: 'Thanks for all the fish.' });
        session.socket.end();
        return;
      case 'ping':
        reply({ Response: 'Success', Ping: 'Pong', Timestamp: (Date.now() / 1000).toFixed(6) });
        return;
      case 'coresettings':
        reply({
          Response: 'Success', AMIversion: '11.0.0', AsteriskVersion: this.version, SystemName: '', CoreMaxCalls: '0',
          CoreMaxLoadAvg: '0.000000', CoreRunUser: '', CoreRunGroup: '', CoreMaxFilehandles: '0', CoreRealTimeEnabled: 'No',
          CoreCDRenabled: 'Yes', CoreHTTPenabled: 'Yes', SoundsSearchCustomDir: 'No',
        });
        return;
      case 'pjsipshowcontacts':
        this.showContacts(session, id);
        return;
      case 'pjsipshowendpoints':
        this.showEndpoints(session, id);
        return;
      case 'pjsipshowendpoint':
        this.showEndpoint(session, id, get(msg, 'endpoint') ?? '');
        return;
      default:
        reply({
          Response: 'Error',
          Message: `Invalid/unknown command: ${get(msg, 'action')}. Use Action: ListCommands to show available commands.`,
        });
    }
  }

  private listStart(session: Session, id: string | undefined, message: string): void {
    this.send(session, withActionId({ Response: 'Success', EventList: 'start', Message: message }, id));
  }

  private showContacts(session: Session, id: string | undefined): void {
    const list = [...this.contacts.values()];
    if (!list.length) {
      this.send(session, withActionId({ Response: 'Error', Message: 'No Contacts found' }, id));
      return;
    }
    this.listStart(session, id, 'A listing of Contacts follows, presented as ContactList events');
    for (const c of list) {
      this.send(session, withActionId({
        Event: 'ContactList', ObjectType: 'contact', ObjectName: `${c.aor};@sim`, ViaAddr: '', QualifyTimeout: '3.000000',
        CallId: '', RegServer: '', PruneOnBoot: 'no', Path: '', Endpoint: c.aor, ViaPort: '0', AuthenticateQualify: 'no',
        Uri: c.uri, QualifyFrequency: '0', UserAgent: 'sim', ExpirationTime: String(Math.floor(Date.now() / 1000) + 3600),
        OutboundProxy: '', Status: c.status === 'Unreachable' ? 'Unreachable' : c.status === 'Reachable' ? 'Reachable' : 'NonQualified',
        RoundtripUsec: '0',
      }, id));
    }
    this.send(session, withActionId({ Event: 'ContactListComplete', EventList: 'Complete', ListItems: String(list.length) }, id));
  }

  private pjsipEndpoints(): string[] {
    return [...this.model.endpoints.values()].filter((e) => e.technology === 'PJSIP').map((e) => e.resource);
  }

  private showEndpoints(session: Session, id: string | undefined): void {
    const names = this.pjsipEndpoints();
    if (!names.length) {
      this.send(session, withActionId({ Response: 'Error', Message: 'No endpoints found' }, id));
      return;
    }
    this.listStart(session, id, 'A listing of Endpoints follows, presented as EndpointList events');
    for (const name of names) {
      const contacts = [...this.contacts.values()].filter((c) => c.aor === name && c.status !== 'Unreachable');
      this.send(session, withActionId({
        Event: 'EndpointList', ObjectType: 'endpoint', ObjectName: name, Transport: '', Aor: name, Auths: name,
        OutboundAuths: '', Contacts: contacts.map((c) => `${c.aor}/${c.uri}`).join(','),
        DeviceState: contacts.length ? 'Not in use' : 'Unavailable', ActiveChannels: '',
      }, id));
    }
    this.send(session, withActionId({ Event: 'EndpointListComplete', EventList: 'Complete', ListItems: String(names.length) }, id));
  }

  private showEndpoint(session: Session, id: string | undefined, name: string): void {
    if (!this.pjsipEndpoints().includes(name)) {
      this.send(session, withActionId({ Response: 'Error', Message: `Unable to retrieve endpoint ${name}` }, id));
      return;
    }
    this.listStart(session, id, 'Following are Events for each object associated with the Endpoint');
    const contacts = [...this.contacts.values()].filter((c) => c.aor === name);
    this.send(session, withActionId({ Event: 'EndpointDetail', ObjectType: 'endpoint', ObjectName: name, Webrtc: 'yes', Aors: name, Auth: name, DeviceState: contacts.length ? 'Not in use' : 'Unavailable' }, id));
    this.send(session, withActionId({ Event: 'AuthDetail', ObjectType: 'auth', ObjectName: name, Username: name, AuthType: 'userpass', EndpointName: name }, id));
    this.send(session, withActionId({ Event: 'TransportDetail', ObjectType: 'transport', ObjectName: 'transport-ws', Protocol: 'ws', EndpointName: name }, id));
    this.send(session, withActionId({ Event: 'AorDetail', ObjectType: 'aor', ObjectName: name, MaxContacts: '1', RemoveExisting: 'true', Contacts: contacts.map((c) => c.uri).join(','), TotalContacts: String(contacts.length), ContactsRegistered: String(contacts.length), EndpointName: name }, id));
    this.send(session, withActionId({ Event: 'EndpointDetailComplete', EventList: 'Complete', ListItems: '4' }, id));
  }

  private fullyBootedEvent(): Message {
    const uptime = String(Math.floor((Date.now() - this.startedAt) / 1000));
    return { Event: 'FullyBooted', Privilege: 'system,all', Uptime: uptime, LastReload: uptime, Status: 'Fully Booted' };
  }

  /** Emits FullyBooted to every logged-in session (Asterisk does so after start and reload). */
  fullyBooted(): void {
    this.broadcast(this.fullyBootedEvent());
  }

  /** A contact of `aor` changed status (register, qualify, unregister); also moves the ARI endpoint state. */
  contactStatus(aor: string, status: ContactStatus): void {
    const uri = this.contacts.get(aor)?.uri ?? `sip:${aor}@127.0.0.1:5060;transport=ws`;
    if (status === 'Removed') this.contacts.delete(aor);
    else this.contacts.set(aor, { aor, uri, status });
    this.model.setEndpointState('PJSIP', aor, status === 'Removed' || status === 'Unreachable' ? 'offline' : 'online');
    this.broadcast({
      Event: 'ContactStatus', Privilege: 'system,all', URI: uri, ContactStatus: status, AOR: aor, EndpointName: aor, RoundtripUsec: '0',
    });
  }

  /** Forgets registrations (an Asterisk restart loses them). */
  resetContacts(): void {
    this.contacts.clear();
  }
}

function parseBlock(block: string): Message {
  const msg: Message = {};
  for (const line of block.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    msg[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return msg;
}

/** AMI keys are case-insensitive (asterisk-manager sends them lower-case). */
function get(msg: Message, key: string): string | undefined {
  const k = Object.keys(msg).find((x) => x.toLowerCase() === key);
  return k === undefined ? undefined : msg[k];
}

/** ActionID goes right after Response/Event, as Asterisk orders it. */
function withActionId(fields: Message, id: string | undefined): Message {
  if (id === undefined) return fields;
  const [firstKey, firstValue] = Object.entries(fields)[0]!;
  return { [firstKey]: firstValue, ActionID: id, ...fields };
}
