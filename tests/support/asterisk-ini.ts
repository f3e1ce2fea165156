/**
 * A small parser for Asterisk's config format (the subset our files use), for
 * tests that check asterisk/*.conf and dialplan/extensions.conf.
 *
 * Understands: `;` comments (and `\;` escapes), `;-- block comments --;`,
 * `[section]`, `[section](!)` templates, `[section](tpl1,tpl2)` inheritance,
 * `key = value`, `key => value`, `#include` / `#tryinclude` (optionally resolved
 * against a directory) and `#exec` (recorded, never run).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export interface IniEntry {
  key: string;
  value: string;
  /** `=` or `=>` */
  op: '=' | '=>';
  line: number;
  file: string;
}

export interface IniDirective {
  kind: 'include' | 'tryinclude' | 'exec';
  target: string;
  line: number;
  file: string;
}

export interface IniSection {
  name: string;
  isTemplate: boolean;
  templates: string[];
  entries: IniEntry[];
  directives: IniDirective[];
}

export interface IniFile {
  file: string;
  sections: IniSection[];
  /** Directives before the first section. */
  topDirectives: IniDirective[];
}

export interface ParseOptions {
  /** Resolve #include/#tryinclude relative to this directory (Asterisk's astetcdir). */
  includeDir?: string;
  /** Name used in error messages / entries. */
  file?: string;
}

function stripComment(raw: string, state: { inBlock: boolean }): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    if (state.inBlock) {
      if (raw.startsWith('--;', i)) {
        state.inBlock = false;
        i += 2;
      }
      continue;
    }
    const ch = raw[i];
    if (ch === '\\' && raw[i + 1] === ';') {
      out += ';';
      i++;
      continue;
    }
    if (ch === ';') {
      if (raw.startsWith(';--', i)) {
        state.inBlock = true;
        i += 2;
        continue;
      }
      break;
    }
    out += ch;
  }
  return out;
}

export function parseIni(text: string, opts: ParseOptions = {}): IniFile {
  const result: IniFile = { file: opts.file ?? '<text>', sections: [], topDirectives: [] };
  parseInto(result, text, opts, { current: undefined, depth: 0 });
  return result;
}

interface Ctx {
  current: IniSection | undefined;
  depth: number;
}

function parseInto(result: IniFile, text: string, opts: ParseOptions, ctx: Ctx): void {
  const file = opts.file ?? '<text>';
  const state = { inBlock: false };
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    const line = stripComment(raw, state).trim();
    if (line === '') return;

    const directive = /^#(include|tryinclude|exec)\s+(.+)$/.exec(line);
    if (directive) {
      const kind = directive[1] as IniDirective['kind'];
      const target = directive[2]!.trim().replace(/^["<](.*)[">]$/, '$1');
      const d: IniDirective = { kind, target, line: lineNo, file };
      (ctx.current ? ctx.current.directives : result.topDirectives).push(d);
      if (kind !== 'exec' && opts.includeDir !== undefined) {
        if (ctx.depth > 10) throw new Error(`${file}:${lineNo}: #include nested too deep`);
        const path = isAbsolute(target) ? target : join(opts.includeDir, target);
        if (!existsSync(path)) {
          if (kind === 'include') throw new Error(`${file}:${lineNo}: #include "${target}" not found at ${path}`);
          return;
        }
        // Asterisk continues the current category inside an included file.
        parseInto(result, readFileSync(path, 'utf8'), { ...opts, file: target }, { ...ctx, depth: ctx.depth + 1 });
        // An included file may open new categories; Asterisk keeps the last one current.
        ctx.current = result.sections[result.sections.length - 1] ?? ctx.current;
      }
      return;
    }
    if (line.startsWith('#')) throw new Error(`${file}:${lineNo}: unknown directive: ${line}`);

    const header = /^\[([^\]]+)\]\s*(?:\(([^)]*)\))?$/.exec(line);
    if (header) {
      const opts2 = (header[2] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const section: IniSection = {
        name: header[1]!.trim(),
        isTemplate: opts2.includes('!'),
        templates: opts2.filter((o) => o !== '!' && o !== '+'),
        entries: [],
        directives: [],
      };
      result.sections.push(section);
      ctx.current = section;
      return;
    }

    const kv = /^([^=]+?)\s*(=>|=)\s*(.*)$/.exec(line);
    if (!kv) throw new Error(`${file}:${lineNo}: cannot parse line: ${line}`);
    if (!ctx.current) throw new Error(`${file}:${lineNo}: entry outside any section: ${line}`);
    ctx.current.entries.push({ key: kv[1]!.trim(), op: kv[2] as '=' | '=>', value: kv[3]!.trim(), line: lineNo, file });
  });
}

export function parseIniFile(path: string, opts: Omit<ParseOptions, 'file'> = {}): IniFile {
  return parseIni(readFileSync(path, 'utf8'), { ...opts, file: path });
}

/** Sections named `name` (Asterisk allows several with the same name, e.g. pjsip endpoint + aor). */
export function sectionsNamed(ini: IniFile, name: string): IniSection[] {
  return ini.sections.filter((s) => s.name === name);
}

/**
 * All values of `key` in a section, including those inherited from its
 * templates (template values first, as Asterisk copies them in first).
 */
export function values(ini: IniFile, section: IniSection, key: string, seen = new Set<IniSection>()): string[] {
  if (seen.has(section)) throw new Error(`template loop at [${section.name}]`);
  seen.add(section);
  const inherited: string[] = [];
  for (const t of section.templates) {
    const tpl = ini.sections.filter((s) => s.name === t && s !== section);
    if (tpl.length === 0) throw new Error(`[${section.name}] uses unknown template ${t}`);
    for (const s of tpl) inherited.push(...values(ini, s, key, seen));
  }
  return [...inherited, ...section.entries.filter((e) => e.key === key).map((e) => e.value)];
}

/** The effective (last) value of `key`, with template inheritance. */
export function value(ini: IniFile, section: IniSection, key: string): string | undefined {
  const all = values(ini, section, key);
  return all[all.length - 1];
}

/** Non-template sections whose effective `type` is `type` (pjsip-style files). */
export function objectsOfType(ini: IniFile, type: string): IniSection[] {
  return ini.sections.filter((s) => !s.isTemplate && value(ini, s, 'type') === type);
}

// ------------------------------------------------------------------ dialplan

export interface DialplanStep {
  context: string;
  exten: string;
  /** Numeric priority (1-based, `n` resolved). */
  priority: number;
  label?: string;
  app: string;
  args: string;
  line: number;
}

/** Parse `exten =>` / `same =>` lines of an extensions.conf into steps per context. */
export function dialplanSteps(ini: IniFile): DialplanStep[] {
  const steps: DialplanStep[] = [];
  for (const section of ini.sections) {
    if (section.name === 'general' || section.name === 'globals') continue;
    let exten: string | undefined;
    let prio = 0;
    for (const e of section.entries) {
      if (e.op !== '=>' || (e.key !== 'exten' && e.key !== 'same')) {
        throw new Error(`${e.file}:${e.line}: unexpected dialplan line "${e.key} ${e.op} ${e.value}"`);
      }
      let rest = e.value;
      if (e.key === 'exten') {
        const comma = rest.indexOf(',');
        if (comma < 0) throw new Error(`${e.file}:${e.line}: exten without priority`);
        exten = rest.slice(0, comma).trim();
        rest = rest.slice(comma + 1);
      } else if (exten === undefined) {
        throw new Error(`${e.file}:${e.line}: "same" before any "exten"`);
      }
      const m = /^\s*(\d+|n)(?:\(([^)]+)\))?\s*,\s*(.*)$/.exec(rest);
      if (!m) throw new Error(`${e.file}:${e.line}: bad priority in "${e.value}"`);
      if (m[1] === 'n') prio += 1;
      else prio = Number(m[1]);
      const call = m[3]!.trim();
      const am = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?$/.exec(call);
      if (!am) throw new Error(`${e.file}:${e.line}: bad application call "${call}"`);
      const step: DialplanStep = { context: section.name, exten, priority: prio, app: am[1]!, args: am[2] ?? '', line: e.line };
      if (m[2] !== undefined) step.label = m[2];
      steps.push(step);
    }
  }
  return steps;
}
