/**
 * Agents' registrations from the cluster's SIP proxy, for the ACD (README "More than one machine"):
 * agents register with Kamailio, not with an Asterisk node, so the node's AMI knows nothing of them.
 * This reads Kamailio's location table over its jsonrpc (`ul.dump`, on the proxy's own HTTP listener,
 * kamailio/kamailio.cfg) every `pollMs`, and reports changes the way AMI's ContactStatus does — the
 * ACD (acd/service.ts `attachPbx`) takes either. Polled rather than pushed: a registration change is
 * seen within `pollMs`, a proxy restart or an HTTP error needs nothing replayed (the next read is the
 * whole truth), and Kamailio needs no route calling us.
 */
import type { Logger } from 'pino';
import type { ContactEvent } from '../telephony/ami-pbx.js';
import type { LinkState } from '../telephony/port.js';

/**
 * The registered AORs of a `ul.dump` result (Kamailio 5: Domains[].Domain.AoRs[].Info.{AoR, Contacts[]
 * .Contact.Expires}), as contact events. A contact whose Expires is "expired"/"deleted" (or ≤ 0) does
 * not count: usrloc keeps it until its timer runs.
 */
export function registeredOfDump(result: unknown): ContactEvent[] {
  const out = new Map<string, ContactEvent>();
  const domains = (result as { Domains?: unknown[] } | null)?.Domains;
  if (!Array.isArray(domains)) throw new Error('ul.dump: no Domains in the answer');
  for (const d of domains) {
    const aors = (d as { Domain?: { AoRs?: unknown[] } })?.Domain?.AoRs ?? [];
    for (const a of aors) {
      const info = (a as { Info?: { AoR?: unknown; Contacts?: unknown[] } })?.Info;
      if (typeof info?.AoR !== 'string') continue;
      const live = (info.Contacts ?? []).some((c) => {
        const e = (c as { Contact?: { Expires?: unknown } })?.Contact?.Expires;
        return e === 'permanent' || (typeof e === 'number' && e > 0);
      });
      // The AoR is the user part (usrloc use_domain 0): agent<ext>, as Asterisk's AOR names.
      const aor = info.AoR.replace(/@.*$/, '');
      if (live) out.set(aor, { aor, endpoint: aor, status: 'Reachable', registered: true });
    }
  }
  return [...out.values()];
}

/** What changed between two reads: newly registered, and no longer registered. */
export function registrationChanges(before: ReadonlySet<string>, now: readonly ContactEvent[]): ContactEvent[] {
  const seen = new Set(now.map((c) => c.aor));
  return [
    ...now.filter((c) => !before.has(c.aor)),
    ...[...before].filter((aor) => !seen.has(aor)).map((aor): ContactEvent => ({ aor, endpoint: aor, status: 'Removed', registered: false })),
  ];
}

export class ProxyRegistrations {
  linkState: LinkState = 'disconnected';
  private readonly contactListeners = new Set<(e: ContactEvent) => void>();
  private readonly linkListeners = new Set<(s: LinkState) => void>();
  private known = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly o: { url: string; pollMs: number; log: Logger; timeoutMs?: number },
  ) {}

  onContact(fn: (e: ContactEvent) => void): () => void {
    this.contactListeners.add(fn);
    return () => void this.contactListeners.delete(fn);
  }

  onLinkState(fn: (s: LinkState) => void): () => void {
    this.linkListeners.add(fn);
    return () => void this.linkListeners.delete(fn);
  }

  async listContacts(): Promise<ContactEvent[]> {
    const res = await fetch(this.o.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'ul.dump', id: 1 }),
      signal: AbortSignal.timeout(this.o.timeoutMs ?? 3000),
    });
    if (!res.ok) throw new Error(`SIP proxy RPC answered HTTP ${res.status}`);
    const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
    if (body.error) throw new Error(`ul.dump: ${body.error.message ?? 'error'}`);
    return registeredOfDump(body.result);
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.o.pollMs);
    this.timer.unref();
    void this.poll();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.setLink('stopped');
  }

  private setLink(s: LinkState): void {
    if (s === this.linkState) return;
    this.linkState = s;
    for (const fn of this.linkListeners) fn(s);
  }

  private async poll(): Promise<void> {
    if (this.polling || !this.timer) return;
    this.polling = true;
    try {
      const now = await this.listContacts();
      if (this.linkState !== 'connected') {
        // (Re)connected: the ACD reads the whole list itself (listContacts) and aligns every agent.
        this.known = new Set(now.map((c) => c.aor));
        this.o.log.info({ registered: this.known.size }, 'SIP proxy registrations readable');
        this.setLink('connected');
        return;
      }
      const changes = registrationChanges(this.known, now);
      this.known = new Set(now.map((c) => c.aor));
      for (const c of changes) for (const fn of this.contactListeners) fn(c);
    } catch (err) {
      if (this.linkState === 'connected') this.o.log.warn({ err: (err as Error).message }, 'SIP proxy registrations unreadable; agents keep their last known state');
      this.setLink('disconnected');
    } finally {
      this.polling = false;
    }
  }
}
