/**
 * A small extensions.conf interpreter: parses the subset of Asterisk dialplan syntax our real
 * dialplan uses and runs it against a {@link DialplanHost} (the sim's channel model), so calls
 * reach Stasis exactly the way they do on a real Asterisk. Anything outside the subset fails
 * at load time, naming file and line, rather than silently behaving differently.
 */
import { readFileSync } from 'node:fs';

export interface Priority {
  /** 1-based priority number after resolving `n`. */
  number: number;
  label?: string;
  app: string;
  /** Raw, unsubstituted argument string. */
  args: string;
  where: string;
}

export interface Extension {
  pattern: string;
  priorities: Priority[];
}

export interface Context {
  name: string;
  extensions: Extension[];
  includes: string[];
}

/** Applications the interpreter implements (Asterisk's names, case-insensitive match). */
export const SUPPORTED_APPS = [
  'NoOp', 'Set', 'Answer', 'Ringing', 'Progress', 'Wait', 'Playback',
  'Read', 'Busy', 'Congestion', 'Stasis',
  'GotoIf', 'Goto', 'UserEvent', 'Hangup',
] as const;
export type AppName = (typeof SUPPORTED_APPS)[number];

export class DialplanError extends Error {}

export class Dialplan {
  readonly contexts = new Map<string, Context>();
  readonly globals = new Map<string, string>();

  static load(file: string): Dialplan {
    return Dialplan.parse(readFileSync(file, 'utf8'), file);
  }

  static parse(text: string, file = '<inline>'): Dialplan {
    const dp = new Dialplan();
    let current: Context | undefined;
    let section = '';
    let lastExten: Extension | undefined;
    const lines = text.split(/\r?\n/);
    lines.forEach((rawLine, i) => {
      const where = `${file}:${i + 1}`;
      const line = stripComment(rawLine).trim();
      if (!line) return;
      const header = /^\[([^\]]+)\](.*)$/.exec(line);
      if (header) {
        section = header[1]!.trim();
        if (header[2]!.includes('!')) throw new DialplanError(`${where}: templates are not supported by the sim dialplan`);
        lastExten = undefined;
        if (section === 'general' || section === 'globals') {
          current = undefined;
          return;
        }
        current = dp.contexts.get(section) ?? { name: section, extensions: [], includes: [] };
        dp.contexts.set(section, current);
        return;
      }
      const kv = /^([A-Za-z_][\w-]*)\s*=>?\s*(.*)$/.exec(line);
      if (!kv) throw new DialplanError(`${where}: cannot parse line: ${line}`);
      const key = kv[1]!.toLowerCase();
      const value = kv[2]!.trim();
      if (section === 'general') return; // settings such as autofallthrough do not change the subset we run
      if (section === 'globals') {
        dp.globals.set(kv[1]!, value);
        return;
      }
      if (!current) throw new DialplanError(`${where}: statement outside of a context`);
      if (key === 'include') {
        current.includes.push(value);
        return;
      }
      if (key !== 'exten' && key !== 'same') throw new DialplanError(`${where}: unsupported statement '${kv[1]}'`);
      let pattern: string;
      let rest: string;
      if (key === 'exten') {
        const comma = value.indexOf(',');
        if (comma < 0) throw new DialplanError(`${where}: exten without priority`);
        pattern = value.slice(0, comma).trim();
        rest = value.slice(comma + 1);
      } else {
        if (!lastExten) throw new DialplanError(`${where}: 'same' without a preceding 'exten'`);
        pattern = lastExten.pattern;
        rest = value;
      }
      const comma = rest.indexOf(',');
      const prioSpec = (comma < 0 ? rest : rest.slice(0, comma)).trim();
      const appSpec = comma < 0 ? '' : rest.slice(comma + 1).trim();
      if (prioSpec === 'hint') return;
      let ext = current.extensions.find((e) => e.pattern === pattern);
      if (!ext) {
        ext = { pattern, priorities: [] };
        current.extensions.push(ext);
      }
      lastExten = ext;
      const pm = /^(n|\d+)(?:\(([^)]+)\))?$/.exec(prioSpec);
      if (!pm) throw new DialplanError(`${where}: unsupported priority '${prioSpec}'`);
      const prev = ext.priorities[ext.priorities.length - 1];
      const number = pm[1] === 'n' ? (prev ? prev.number + 1 : 1) : Number(pm[1]);
      const am = /^([A-Za-z][\w]*)\s*(?:\((.*)\))?$/s.exec(appSpec);
      if (!am) throw new DialplanError(`${where}: cannot parse application '${appSpec}'`);
      const app = SUPPORTED_APPS.find((a) => a.toLowerCase() === am[1]!.toLowerCase());
      if (!app) {
        throw new DialplanError(
          `${where}: dialplan application '${am[1]}' is not supported by the simulated PBX (supported: ${SUPPORTED_APPS.join(', ')})`,
        );
      }
      ext.priorities.push({ number, label: pm[2], app, args: am[2] ?? '', where });
    });
    return dp;
  }

  /** Finds the extension `exten` in `context` (following includes), as Asterisk orders matches. */
  findExtension(context: string, exten: string, seen = new Set<string>()): Extension | undefined {
    const ctx = this.contexts.get(context);
    if (!ctx || seen.has(context)) return undefined;
    seen.add(context);
    const candidates = ctx.extensions.filter((e) => matchPattern(e.pattern, exten));
    candidates.sort((a, b) => comparePatterns(a.pattern, b.pattern));
    if (candidates[0]) return candidates[0];
    for (const inc of ctx.includes) {
      const found = this.findExtension(inc, exten, seen);
      if (found) return found;
    }
    return undefined;
  }
}

function stripComment(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && line[i + 1] === ';') {
      out += ';';
      i++;
      continue;
    }
    if (c === ';') break;
    out += c;
  }
  return out;
}

/** Expands an Asterisk pattern (`_X.`, `_NXX`, `_[1-5]!`) into one "choice set" per position. */
function patternTokens(pattern: string): Array<{ set?: string; any?: 'one-or-more' | 'zero-or-more' }> {
  const tokens: Array<{ set?: string; any?: 'one-or-more' | 'zero-or-more' }> = [];
  const body = pattern.slice(1);
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    switch (c.toUpperCase()) {
      case 'X': tokens.push({ set: '0123456789' }); break;
      case 'Z': tokens.push({ set: '123456789' }); break;
      case 'N': tokens.push({ set: '23456789' }); break;
      case '.': tokens.push({ any: 'one-or-more' }); break;
      case '!': tokens.push({ any: 'zero-or-more' }); break;
      case '[': {
        const end = body.indexOf(']', i);
        const spec = body.slice(i + 1, end);
        let set = '';
        for (let j = 0; j < spec.length; j++) {
          if (spec[j + 1] === '-' && spec[j + 2] !== undefined) {
            for (let k = spec.charCodeAt(j); k <= spec.charCodeAt(j + 2); k++) set += String.fromCharCode(k);
            j += 2;
          } else set += spec[j];
        }
        tokens.push({ set });
        i = end;
        break;
      }
      default: tokens.push({ set: c });
    }
  }
  return tokens;
}

export function matchPattern(pattern: string, exten: string): boolean {
  if (!pattern.startsWith('_')) return pattern === exten;
  const tokens = patternTokens(pattern);
  const go = (ti: number, ei: number): boolean => {
    if (ti === tokens.length) return ei === exten.length;
    const t = tokens[ti]!;
    if (t.any) return exten.length - ei >= (t.any === 'one-or-more' ? 1 : 0);
    if (ei >= exten.length || !t.set!.includes(exten[ei]!)) return false;
    return go(ti + 1, ei + 1);
  };
  return go(0, 0);
}

/** Literal extensions win over patterns; among patterns, fewer choices at the first difference wins. */
function comparePatterns(a: string, b: string): number {
  const la = !a.startsWith('_');
  const lb = !b.startsWith('_');
  if (la !== lb) return la ? -1 : 1;
  if (la) return 0;
  const ta = patternTokens(a);
  const tb = patternTokens(b);
  for (let i = 0; i < Math.max(ta.length, tb.length); i++) {
    const wa = weight(ta[i]);
    const wb = weight(tb[i]);
    if (wa !== wb) return wa - wb;
  }
  return 0;
}
function weight(t: { set?: string; any?: string } | undefined): number {
  if (!t) return -1;
  if (t.any) return t.any === 'one-or-more' ? 1000 : 1001;
  return t.set!.length;
}

// ---- variables and expressions ---------------------------------------------------------------

/** Resolves `${NAME}` / `${FUNC(args)}` / `${NAME:offset:length}` for one channel. */
export type VariableResolver = (expr: string) => string;

/** Substitutes `${...}` (innermost first, so nested references work) and evaluates `$[...]`. */
export function substitute(text: string, resolve: VariableResolver): string {
  let out = text;
  for (let guard = 0; guard < 100; guard++) {
    const start = out.lastIndexOf('${');
    if (start < 0) break;
    const end = findClose(out, start + 2, '{', '}');
    if (end < 0) break;
    out = out.slice(0, start) + resolveWithSubstring(out.slice(start + 2, end), resolve) + out.slice(end + 1);
  }
  for (let guard = 0; guard < 100; guard++) {
    const start = out.lastIndexOf('$[');
    if (start < 0) break;
    const end = findClose(out, start + 2, '[', ']');
    if (end < 0) break;
    out = out.slice(0, start) + evaluateExpression(out.slice(start + 2, end)) + out.slice(end + 1);
  }
  return out;
}

function findClose(s: string, from: number, open: string, close: string): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    if (s[i] === open) depth++;
    else if (s[i] === close && --depth === 0) return i;
  }
  return -1;
}

function resolveWithSubstring(expr: string, resolve: VariableResolver): string {
  const m = /^([^():]+(?:\([^)]*\))?)(?::(-?\d+)(?::(-?\d+))?)?$/.exec(expr);
  if (!m || m[2] === undefined) return resolve(expr);
  const value = resolve(m[1]!);
  const offset = Number(m[2]);
  const start = offset < 0 ? Math.max(0, value.length + offset) : offset;
  const length = m[3] === undefined ? undefined : Number(m[3]);
  return length === undefined ? value.slice(start) : length < 0 ? value.slice(start, length) : value.slice(start, start + length);
}

/**
 * `$[...]` with the operators our dialplan uses: `=`, `!=`, `<`, `<=`, `>`, `>=`, `&`, `|`, `!`. As in
 * Asterisk's expression parser, a comparison of two integers is numeric, anything else compares strings.
 */
export function evaluateExpression(expr: string): string {
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|!=|<=|>=|<|>|=|&|\||!|\(|\)|[^\s"=!&|()<>]+)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < expr.length && (m = re.exec(expr))) tokens.push(m[1]!);
  let pos = 0;
  const unq = (t: string) => (t.startsWith('"') ? t.slice(1, -1) : t);
  const truthy = (v: string) => v !== '' && v !== '0';
  const primary = (): string => {
    const t = tokens[pos++] ?? '';
    if (t === '(') {
      const v = or();
      pos++;
      return v;
    }
    if (t === '!') return truthy(primary()) ? '0' : '1';
    return unq(t);
  };
  const COMPARE = new Set(['=', '!=', '<', '<=', '>', '>=']);
  const isInt = (v: string) => /^-?\d+$/.test(v);
  const cmp = (): string => {
    let left = primary();
    while (COMPARE.has(tokens[pos] ?? '')) {
      const op = tokens[pos++]!;
      const right = primary();
      const order = isInt(left) && isInt(right) ? Math.sign(Number(left) - Number(right)) : left < right ? -1 : left > right ? 1 : 0;
      const holds = op === '=' ? order === 0 : op === '!=' ? order !== 0 : op === '<' ? order < 0 : op === '<=' ? order <= 0 : op === '>' ? order > 0 : order >= 0;
      left = holds ? '1' : '0';
    }
    return left;
  };
  const and = (): string => {
    let left = cmp();
    while (tokens[pos] === '&') {
      pos++;
      const right = cmp();
      left = truthy(left) && truthy(right) ? left : '0';
    }
    return left;
  };
  const or = (): string => {
    let left = and();
    while (tokens[pos] === '|') {
      pos++;
      const right = and();
      left = truthy(left) ? left : truthy(right) ? right : '0';
    }
    return left;
  };
  return tokens.length ? or() : '';
}

/** Splits application arguments on commas that are not inside parentheses or quotes. */
export function splitArgs(args: string): string[] {
  if (args === '') return [];
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (const c of args) {
    if (c === '"') quoted = !quoted;
    if (!quoted && (c === '(' || c === '[')) depth++;
    if (!quoted && (c === ')' || c === ']')) depth--;
    if (c === ',' && depth === 0 && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

// ---- interpreter -------------------------------------------------------------------------------

export interface DialplanLocation {
  context: string;
  exten: string;
  priority: number;
}

/** What the interpreter needs from the channel model. */
export interface DialplanHost<C> {
  isGone(ch: C): boolean;
  location(ch: C): DialplanLocation;
  /** Moves the channel to a new location and application (emits ChannelDialplan). */
  enterApp(ch: C, loc: DialplanLocation, app: string, data: string): void;
  resolve(ch: C, expr: string): string;
  setVariable(ch: C, name: string, value: string): void;
  answer(ch: C): void;
  indicate(ch: C, what: 'ringing' | 'progress' | 'busy' | 'congestion'): void;
  sleep(ch: C, ms: number): Promise<void>;
  playFile(ch: C, file: string): Promise<boolean>;
  /** Read(): prompts interrupted by the first digit, then digits until `max`, `#` or the timeout. */
  read(ch: C, files: string[], max: number, timeoutMs: number): Promise<string>;
  /** Resolves when the channel leaves Stasis: `failed` (app not connected), `hangup`, or `continue`. */
  stasis(ch: C, app: string, args: string[]): Promise<StasisExit>;
  hangupFromDialplan(ch: C, cause: number): void;
  /** UserEvent(): a manager event with the channel's snapshot (sim-pbx/ami.ts sends it). */
  userEvent(ch: C, name: string, body: string[]): void;
}

export type StasisExit =
  | { kind: 'failed' }
  | { kind: 'hangup' }
  | { kind: 'continue'; context?: string; extension?: string; priority?: number; label?: string };

export async function runDialplan<C>(dp: Dialplan, host: DialplanHost<C>, ch: C, start: DialplanLocation): Promise<void> {
  let { context, exten } = start;
  let ext = dp.findExtension(context, exten);
  if (!ext) {
    // Asterisk hangs up with "Unallocated (unassigned) number" when nothing matches.
    host.hangupFromDialplan(ch, 1);
    return;
  }
  let index = ext.priorities.findIndex((p) => p.number === start.priority);
  const jump = (target: string): boolean => {
    // [[context,]exten,]priority|label
    const parts = target.split(',').map((s) => s.trim());
    const prio = parts.pop()!;
    if (parts.length === 2) [context, exten] = parts as [string, string];
    else if (parts.length === 1) exten = parts[0]!;
    const found = dp.findExtension(context, exten);
    if (!found) return false;
    ext = found;
    index = /^\d+$/.test(prio) ? found.priorities.findIndex((p) => p.number === Number(prio)) : found.priorities.findIndex((p) => p.label === prio);
    return index >= 0;
  };
  while (!host.isGone(ch)) {
    const prio = ext.priorities[index];
    if (!prio) {
      // Falling off the end of an extension: Asterisk's autofallthrough hangs up normally.
      host.hangupFromDialplan(ch, 16);
      return;
    }
    const data = substitute(prio.args, (e) => host.resolve(ch, e));
    host.enterApp(ch, { context, exten, priority: prio.number }, prio.app, data);
    const args = splitArgs(data);
    let next = true;
    switch (prio.app) {
      case 'NoOp':
        break;
      case 'Set': {
        const eq = data.indexOf('=');
        if (eq > 0) host.setVariable(ch, data.slice(0, eq).trim(), data.slice(eq + 1));
        break;
      }
      case 'Answer':
        host.answer(ch);
        break;
      case 'Ringing':
        host.indicate(ch, 'ringing');
        break;
      case 'Progress':
        host.indicate(ch, 'progress');
        break;
      case 'Wait':
        await host.sleep(ch, Number(args[0] ?? 0) * 1000);
        break;
      case 'Playback': {
        const files = (args[0] ?? '').split('&').filter(Boolean);
        const noAnswer = (args[1] ?? '').includes('noanswer');
        if (!noAnswer) host.answer(ch);
        let ok = true;
        for (const f of files) {
          if (host.isGone(ch)) return;
          ok = (await host.playFile(ch, f)) && ok;
        }
        if (!host.isGone(ch)) host.setVariable(ch, 'PLAYBACKSTATUS', ok ? 'SUCCESS' : 'FAILED');
        break;
      }
      case 'Read': {
        // Read(variable,filenames,maxdigits,options,attempts,timeout): one attempt, timeout in seconds
        const [variable = '', files = '', max = '0', , , timeout = ''] = args;
        const t = Number(timeout);
        const digits = await host.read(ch, files.split('&').filter(Boolean), Number(max) || 0, (Number.isFinite(t) && t > 0 ? t : 10) * 1000);
        if (host.isGone(ch)) return;
        host.setVariable(ch, variable.trim(), digits);
        host.setVariable(ch, 'READSTATUS', digits ? 'OK' : 'TIMEOUT');
        break;
      }
      case 'Busy':
      case 'Congestion': {
        host.indicate(ch, prio.app === 'Busy' ? 'busy' : 'congestion');
        if (args[0]) await host.sleep(ch, Number(args[0]) * 1000);
        else await host.sleep(ch, 24 * 3600 * 1000);
        if (!host.isGone(ch)) host.hangupFromDialplan(ch, prio.app === 'Busy' ? 17 : 34);
        return;
      }
      case 'Stasis': {
        const [app = '', ...appArgs] = args;
        const exit = await host.stasis(ch, app, appArgs);
        if (exit.kind === 'hangup' || host.isGone(ch)) return;
        if (exit.kind === 'continue' && (exit.context || exit.extension || exit.priority !== undefined || exit.label)) {
          const loc = host.location(ch);
          context = exit.context || loc.context;
          exten = exit.extension || loc.exten;
          const target = exit.label ?? String(exit.priority ?? 1);
          if (!jump(`${context},${exten},${target}`)) {
            host.hangupFromDialplan(ch, 16);
            return;
          }
          next = false;
        }
        break;
      }
      case 'GotoIf': {
        const q = data.indexOf('?');
        const cond = q < 0 ? data : data.slice(0, q);
        const [onTrue = '', onFalse = ''] = (q < 0 ? '' : data.slice(q + 1)).split(':');
        const truthy = cond.trim() !== '' && cond.trim() !== '0';
        const target = truthy ? onTrue : onFalse;
        if (target) {
          if (!jump(target)) {
            host.hangupFromDialplan(ch, 16);
            return;
          }
          next = false;
        }
        break;
      }
      case 'Goto':
        if (!jump(data)) {
          host.hangupFromDialplan(ch, 16);
          return;
        }
        next = false;
        break;
      case 'UserEvent':
        host.userEvent(ch, (args[0] ?? '').trim(), args.slice(1));
        break;
      case 'Hangup':
        host.hangupFromDialplan(ch, args[0] ? Number(args[0]) : 16);
        return;
    }
    if (next) index++;
  }
}
