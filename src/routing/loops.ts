/**
 * Routing loops: a target that leads a call back into our own Stasis app.
 *
 * @remarks
 * A hand-off dials its target from our app. When the target is a Local
 * channel into a dialplan context that runs `Stasis(hotline, …)`
 * (`Local/12366@from-carrier`), or a call out through the carrier trunk to a
 * number we answer ourselves (`PJSIP/12345@carrier`), the target arrives as a
 * new call, is routed to the same target again, and one caller becomes dozens
 * of calls and junk tickets. Validation refuses such targets; the hop counter
 * ({@link HOPS_VARIABLE}) stops any loop validation cannot see (a partner's
 * PBX routing the call back to us).
 *
 * The contexts and endpoints are those of `dialplan/extensions.conf` and
 * `asterisk/pjsip.conf`; tests/unit/routing-loops.test.ts checks these lists
 * against the files ({@link stasisContextsOf}, {@link endpointsIntoOf}), so a
 * new inbound context cannot be added without the guard knowing it.
 */

/** Dialplan contexts that hand calls to our Stasis app (directly or by Goto/include). */
export const OWN_STASIS_CONTEXTS: readonly string[] = ['from-carrier', 'from-linkage', 'from-subcenter', 'from-agents', 'hotline-shed'];

/** PJSIP endpoints towards the public network whose inbound calls land in the carrier context: our own numbers dialled there come back to us. */
export const CARRIER_ENDPOINTS: readonly string[] = ['carrier'];

/** Channel variable counting how often a call has passed through our app (set on every leg we originate). */
export const HOPS_VARIABLE = 'HOTLINE_HOPS';
/** A call arriving with more hops than this is refused: a legitimate call passes through us once or twice. */
export const MAX_HOPS = 2;

/** The hop count read from a channel variable (absent or malformed: 0). */
export function parseHops(v: string | undefined): number {
  return v !== undefined && /^\d{1,3}$/.test(v) ? Number(v) : 0;
}

/**
 * Channel variables that carry the hop count to a leg we originate: `__` makes
 * Asterisk pass it on through any further Dial (inheritance); the plain name is
 * set first so the value is readable under its name whatever the reader strips.
 */
export function hopVariables(hops: number): Record<string, string> {
  return { [HOPS_VARIABLE]: String(hops), [`__${HOPS_VARIABLE}`]: String(hops) };
}

export interface LoopGuardOptions {
  /** Contexts leading to our app (default {@link OWN_STASIS_CONTEXTS}). */
  ownContexts?: Iterable<string>;
  /** Carrier endpoints (default {@link CARRIER_ENDPOINTS}). */
  carrierEndpoints?: Iterable<string>;
  /** Numbers we answer (the table's), with the area dial codes that may prefix them. */
  ownNumbers?: Iterable<string>;
  dialCodes?: Iterable<string>;
}

/** Why a dial string leads back into our own app, or undefined when it does not. */
export function dialLoopProblem(dialString: string, o: LoopGuardOptions = {}): string | undefined {
  const local = /^Local\/([^@/]+)@([^/]+)(\/n)?$/i.exec(dialString);
  if (local) {
    const ctx = local[2]!;
    const own = new Set(o.ownContexts ?? OWN_STASIS_CONTEXTS);
    if (own.has(ctx)) return `leads back into our own Stasis app (dialplan context ${JSON.stringify(ctx)}): a routing loop`;
    return undefined;
  }
  const pjsip = /^(?:PJSIP|SIP|IAX2)\/([^@]+)@(.+)$/i.exec(dialString);
  if (pjsip && o.ownNumbers) {
    const endpoint = pjsip[2]!;
    if (!new Set(o.carrierEndpoints ?? CARRIER_ENDPOINTS).has(endpoint)) return undefined;
    const digits = pjsip[1]!.replace(/^(\+86|0086)/, '');
    const own = new Set(o.ownNumbers);
    const candidates = [digits, ...[...(o.dialCodes ?? [])].filter((c) => c && digits.startsWith(c)).map((c) => digits.slice(c.length))];
    const hit = candidates.find((n) => own.has(n));
    if (hit) return `dials our own number ${JSON.stringify(hit)} through the carrier (endpoint ${JSON.stringify(endpoint)}): it comes back to us, a routing loop`;
  }
  return undefined;
}

// ---- derivation from the configuration files (tests check the lists above against them) --------

interface DialplanContext {
  /** Apps of its priorities, with their data. */
  apps: { app: string; data: string }[];
  includes: string[];
}

function parseDialplan(text: string): Map<string, DialplanContext> {
  const contexts = new Map<string, DialplanContext>();
  let cur: DialplanContext | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    if (!line) continue;
    const head = /^\[([^\]]+)\]/.exec(line);
    if (head) {
      const name = head[1]!;
      cur = name === 'general' || name === 'globals' ? undefined : { apps: [], includes: [] };
      if (cur) contexts.set(name, cur);
      continue;
    }
    if (!cur) continue;
    const inc = /^include\s*=>\s*(\S+)/.exec(line);
    if (inc) {
      cur.includes.push(inc[1]!);
      continue;
    }
    const prio = /^(?:exten|same)\s*=>\s*(?:[^,]*,){1,2}([A-Za-z]+)\((.*)\)\s*$/.exec(line) ?? /^(?:exten|same)\s*=>\s*(?:[^,]*,){1,2}([A-Za-z]+)\s*$/.exec(line);
    if (prio) cur.apps.push({ app: prio[1]!, data: prio[2] ?? '' });
  }
  return contexts;
}

/**
 * The contexts of a dialplan that reach `Stasis(<app>, …)` — the app named
 * literally or through a global variable (`${HOTLINE_APP}`) whose value is
 * `app` — directly, by `Goto`/`GotoIf` or by `include`.
 */
export function stasisContextsOf(dialplan: string, app: string): string[] {
  const globals = new Map<string, string>();
  let inGlobals = false;
  for (const raw of dialplan.split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    const head = /^\[([^\]]+)\]/.exec(line);
    if (head) inGlobals = head[1] === 'globals';
    else if (inGlobals) {
      const kv = /^([A-Za-z0-9_]+)\s*=\s*(\S*)/.exec(line);
      if (kv) globals.set(kv[1]!, kv[2]!);
    }
  }
  const appOf = (data: string): string => {
    const first = data.split(',')[0]!.trim();
    const v = /^\$\{([A-Za-z0-9_]+)\}$/.exec(first);
    return v ? (globals.get(v[1]!) ?? first) : first;
  };
  const contexts = parseDialplan(dialplan);
  const edges = new Map<string, string[]>();
  const direct = new Set<string>();
  for (const [name, c] of contexts) {
    const to = [...c.includes];
    for (const { app: a, data } of c.apps) {
      if (/^stasis$/i.test(a) && appOf(data) === app) direct.add(name);
      if (/^goto(if)?$/i.test(a)) {
        // Goto(ctx,exten,prio) / GotoIf(cond?ctx,exten,prio:…): a three-part label names another context.
        for (const label of data.split(/[?:]/)) {
          const parts = label.split(',').map((s) => s.trim());
          if (parts.length === 3 && parts[0]) to.push(parts[0]);
        }
      }
    }
    edges.set(name, to);
  }
  const reaches = (name: string, seen = new Set<string>()): boolean => {
    if (direct.has(name)) return true;
    if (seen.has(name)) return false;
    seen.add(name);
    return (edges.get(name) ?? []).some((n) => reaches(n, seen));
  };
  return [...contexts.keys()].filter((n) => reaches(n)).sort();
}

/** PJSIP endpoints (`type = endpoint` sections, templates resolved) whose `context` is one of `contexts`. */
export function endpointsIntoOf(pjsip: string, contexts: Iterable<string>): string[] {
  const want = new Set(contexts);
  const sections: { name: string; templates: string[]; props: Map<string, string> }[] = [];
  for (const raw of pjsip.split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    const head = /^\[([^\]]+)\](?:\(([^)]*)\))?/.exec(line);
    if (head) {
      sections.push({ name: head[1]!, templates: (head[2] ?? '').split(',').map((s) => s.trim()).filter((s) => s && s !== '!'), props: new Map() });
      continue;
    }
    const kv = /^([A-Za-z_]+)\s*=\s*(.*)$/.exec(line);
    if (kv && sections.length) sections[sections.length - 1]!.props.set(kv[1]!, kv[2]!.trim());
  }
  const prop = (s: (typeof sections)[number], k: string, depth = 0): string | undefined => {
    if (s.props.has(k)) return s.props.get(k);
    if (depth > 5) return undefined;
    for (const t of s.templates) {
      const tpl = sections.find((x) => x.name === t);
      const v = tpl ? prop(tpl, k, depth + 1) : undefined;
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const out = new Set<string>();
  for (const s of sections) {
    if (prop(s, 'type') === 'endpoint' && want.has(prop(s, 'context') ?? '')) out.add(s.name);
  }
  return [...out].sort();
}
