/**
 * The AMI adapter: what ARI does not give us — softphone registrations
 * (ContactStatus, PJSIPShowContacts), FullyBooted/Shutdown and a health ping.
 *
 * @remarks
 * asterisk-manager's own keepConnected() logs to the console and waits 10–60 s;
 * we supervise the connection ourselves with a short capped backoff, and after
 * every login list the contacts again (registrations may have changed while we
 * were away).
 */
import Manager from 'asterisk-manager';
import type { Logger } from 'pino';
import type { LinkState } from './port.js';
import { withTimeout } from './limits.js';

export type ContactState = 'Reachable' | 'NonQualified' | 'Created' | 'Updated' | 'Unreachable' | 'Removed' | 'Unknown';

export interface ContactEvent {
  aor: string;
  endpoint: string;
  status: ContactState;
  /** True when the softphone can take calls. */
  registered: boolean;
}

/** The AMI port used by the ACD (agent registrations) and health. */
export interface Pbx {
  readonly linkState: LinkState;
  onLinkState(listener: (state: LinkState) => void): () => void;
  onContact(listener: (event: ContactEvent) => void): () => void;
  onSystem(listener: (event: 'FullyBooted' | 'Shutdown') => void): () => void;
  /** The registered contacts now (AOR names). */
  listContacts(): Promise<ContactEvent[]>;
  ping(): Promise<number>;
}

export function isRegistered(status: string): boolean {
  return status === 'Reachable' || status === 'NonQualified' || status === 'Created' || status === 'Updated';
}

export interface AmiPbxOptions {
  host: string;
  port: number;
  user: string;
  secret: string;
  logger: Logger;
  actionTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
}

type AmiManager = InstanceType<typeof Manager>;

export class AmiPbx implements Pbx {
  private state: LinkState = 'stopped';
  private manager: AmiManager | undefined;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private readonly linkListeners = new Set<(s: LinkState) => void>();
  private readonly contactListeners = new Set<(e: ContactEvent) => void>();
  private readonly systemListeners = new Set<(e: 'FullyBooted' | 'Shutdown') => void>();
  private readonly userEventListeners = new Set<(e: Record<string, string | undefined>) => void>();
  private readonly log: Logger;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly actionTimeoutMs: number;

  constructor(private readonly opts: AmiPbxOptions) {
    this.log = opts.logger.child({ component: 'ami' });
    this.backoff = opts.backoff ?? { initialMs: 500, maxMs: 10_000 };
    this.delay = this.backoff.initialMs;
    this.actionTimeoutMs = opts.actionTimeoutMs ?? 5000;
  }

  get linkState(): LinkState {
    return this.state;
  }

  onLinkState(listener: (state: LinkState) => void): () => void {
    this.linkListeners.add(listener);
    return () => this.linkListeners.delete(listener);
  }

  onContact(listener: (event: ContactEvent) => void): () => void {
    this.contactListeners.add(listener);
    return () => this.contactListeners.delete(listener);
  }

  onSystem(listener: (event: 'FullyBooted' | 'Shutdown') => void): () => void {
    this.systemListeners.add(listener);
    return () => this.systemListeners.delete(listener);
  }

  /** Dialplan UserEvent()s (the admission gate's HotlineGated), keys lower-cased as asterisk-manager gives them. */
  onUserEvent(listener: (event: Record<string, string | undefined>) => void): () => void {
    this.userEventListeners.add(listener);
    return () => this.userEventListeners.delete(listener);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.teardown();
    this.setState('stopped');
  }

  private setState(state: LinkState): void {
    if (state === this.state) return;
    this.log.info({ from: this.state, to: state }, 'AMI link state changed');
    this.state = state;
    for (const l of this.linkListeners) l(state);
  }

  private teardown(): void {
    const m = this.manager;
    this.manager = undefined;
    if (!m) return;
    m.removeAllListeners();
    m.on('error', () => undefined);
    m.disconnect();
  }

  private scheduleReconnect(reason: string): void {
    if (this.stopped || this.timer) return;
    this.teardown();
    this.setState('disconnected');
    this.log.warn({ reason, retryInMs: this.delay }, 'AMI connection lost');
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect();
    }, this.delay);
    this.delay = Math.min(this.delay * 2, this.backoff.maxMs);
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState(this.state === 'stopped' ? 'connecting' : 'reconnecting');
    const m = new Manager(undefined, this.opts.host, this.opts.user, this.opts.secret, true);
    this.manager = m;
    m.on('error', (err: Error) => this.log.debug({ err: err.message }, 'AMI socket error'));
    m.on('close', () => {
      if (this.manager === m) this.scheduleReconnect('closed');
    });
    m.on('managerevent', (evt: Record<string, string>) => {
      if (this.manager === m) this.onManagerEvent(evt);
    });
    const loginTimer = setTimeout(() => {
      if (this.manager === m && this.state !== 'connected') this.scheduleReconnect('login timeout');
    }, this.actionTimeoutMs);
    m.connect(this.opts.port, this.opts.host, () => {
      m.login((err?: unknown) => {
        clearTimeout(loginTimer);
        if (this.manager !== m) return;
        if (err) {
          // Wrong credentials are a configuration error; keep retrying slowly but say so.
          this.log.error('AMI login refused (check AMI_USER/AMI_SECRET)');
          this.scheduleReconnect('login refused');
          return;
        }
        this.delay = this.backoff.initialMs;
        this.setState('connected');
        void this.refreshContacts();
      });
    });
  }

  private async refreshContacts(): Promise<void> {
    try {
      for (const c of await this.listContacts()) this.emitContact(c);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'PJSIPShowContacts failed');
    }
  }

  private emitContact(c: ContactEvent): void {
    for (const l of this.contactListeners) l(c);
  }

  private onManagerEvent(evt: Record<string, string>): void {
    const name = String(evt.event ?? '');
    if (name === 'ContactStatus') {
      const status = (evt.contactstatus ?? 'Unknown') as ContactState;
      this.emitContact({
        aor: String(evt.aor ?? ''),
        endpoint: String(evt.endpointname ?? evt.aor ?? ''),
        status,
        registered: isRegistered(status),
      });
    } else if (name === 'UserEvent') {
      for (const l of this.userEventListeners) l(evt);
    } else if (name === 'FullyBooted' || name === 'Shutdown') {
      this.log.info({ event: name }, 'Asterisk system event');
      for (const l of this.systemListeners) l(name);
    }
  }

  /** Send one action; resolves with the response, rejects on Error or timeout. */
  private action(action: Record<string, unknown>): Promise<Record<string, string>> {
    const m = this.manager;
    if (!m || this.state !== 'connected') return Promise.reject(new Error('AMI is not connected'));
    return withTimeout(
      new Promise((resolve, reject) => {
        m.action(action, (err: Record<string, string> | undefined, res: Record<string, string>) => {
          if (err) reject(Object.assign(new Error(String(err.message ?? 'AMI error')), { response: err }));
          else resolve(res);
        });
      }),
      this.actionTimeoutMs,
      `AMI ${String(action.action)}`,
    );
  }

  /** Calls in progress on the whole Asterisk (CoreStatus): its own load, whoever's calls they are. */
  async currentCalls(): Promise<number> {
    const r = await this.action({ action: 'CoreStatus' });
    const n = Number(r.corecurrentcalls ?? r.CoreCurrentCalls);
    if (!Number.isFinite(n)) throw new Error('AMI CoreStatus without CoreCurrentCalls');
    return n;
  }

  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.action({ action: 'Ping' });
    return performance.now() - t0;
  }

  async listContacts(): Promise<ContactEvent[]> {
    const m = this.manager;
    if (!m || this.state !== 'connected') throw new Error('AMI is not connected');
    const actionId = `contacts-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const items: ContactEvent[] = [];
    return withTimeout(
      new Promise<ContactEvent[]>((resolve, reject) => {
        const onEvent = (evt: Record<string, string>) => {
          if (evt.actionid !== actionId) return;
          if (evt.event === 'ContactList') {
            const status = (evt.status ?? 'Unknown') as ContactState;
            items.push({ aor: evt.aor ?? '', endpoint: evt.endpoint ?? evt.aor ?? '', status, registered: isRegistered(status) });
          } else if (evt.event === 'ContactListComplete') {
            done();
            resolve(items);
          }
        };
        const done = () => m.removeListener('managerevent', onEvent);
        m.on('managerevent', onEvent);
        m.action({ action: 'PJSIPShowContacts', actionid: actionId }, (err: Record<string, string> | undefined) => {
          if (err) {
            // Asterisk answers "No Contacts found" as an Error: an empty list, not a failure.
            done();
            if (/no contacts found/i.test(String(err.message))) resolve([]);
            else reject(new Error(String(err.message ?? 'PJSIPShowContacts failed')));
          }
        });
      }),
      this.actionTimeoutMs,
      'AMI PJSIPShowContacts',
    );
  }
}
