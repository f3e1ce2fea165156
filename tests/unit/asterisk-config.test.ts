/**
 * Static checks of the Asterisk-side files (asterisk/*.conf, dialplan/extensions.conf)
 * and of asterisk/docker-entrypoint.sh, which renders the generated includes.
 *
 * Each check is a function returning a list of problems; every check is run on
 * the committed files (must return none) and on a deliberately broken copy
 * (must find the problem), so a check that cannot fail is caught here too.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  dialplanSteps,
  objectsOfType,
  parseIni,
  parseIniFile,
  sectionsNamed,
  value,
  values,
  type DialplanStep,
  type IniFile,
} from '../support/asterisk-ini.js';
import { evaluateExpression } from '../../sim-pbx/dialplan.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const AST = join(ROOT, 'asterisk');
const DIALPLAN = join(ROOT, 'dialplan', 'extensions.conf');
const ENTRYPOINT = join(AST, 'docker-entrypoint.sh');

const read = (p: string) => readFileSync(p, 'utf8');
const ini = (text: string, file = '<text>') => parseIni(text, { file });
/** Replace exactly one occurrence (so a mutation that silently misses fails the test). */
function mutate(text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to);
  if (out === text) throw new Error(`mutation did not apply: ${String(from)}`);
  return out;
}

// -------------------------------------------------------------------- checks

/** The only dialplan applications our simulated PBX interprets. */
const ALLOWED_APPS = new Set([
  'NoOp', 'Set', 'Answer', 'Ringing', 'Progress', 'Wait', 'Playback', 'Read', 'Busy', 'Congestion', 'Stasis', 'GotoIf', 'Goto', 'UserEvent', 'Hangup',
]);
const ALLOWED_VARS = [
  /^EXTEN$/, /^CALLERID\((num|name)\)$/, /^STASISSTATUS$/, /^PJSIP_HEADER\(read,[A-Za-z0-9-]+\)$/, /^CHANNEL\(channeltype\)$/, /^HOTLINE_REF$/, /^HOTLINE_CB$/,
  // The admission gate (src/admission/gate.ts): Asterisk's clock, a die, and the two globals the server sets over ARI.
  /^EPOCH$/, /^RAND\(\d+,\d+\)$/, /^HOTLINE_GATE_(UNTIL|PCT)$/,
];
/** GotoIf conditions the sim interprets: a string (in)equality, or numeric comparisons joined by `&` (the gate). */
const GOTOIF_STRING = /^\$\["\$\{[^}]+\}" (=|!=) "[^"]*"\]\?[A-Za-z0-9_-]+(:[A-Za-z0-9_-]+)?$/;
const NUM_TERM = String.raw`0?\$\{[A-Z_]+(?:\(\d+,\d+\))?\}`;
const GOTOIF_NUMERIC = new RegExp(String.raw`^\$\[${NUM_TERM} (<|<=|>|>=) ${NUM_TERM}( & ${NUM_TERM} (<|<=|>|>=) ${NUM_TERM})*\]\?[A-Za-z0-9_-]+(:[A-Za-z0-9_-]+)?$`);
const TEST_CONTEXTS = ['hotline-test-agents', 'hotline-test-noanswer', 'hotline-test-busy'];

function checkHttp(http: IniFile): string[] {
  const p: string[] = [];
  const g = sectionsNamed(http, 'general')[0];
  if (!g) return ['http.conf: no [general]'];
  if (value(http, g, 'enabled') !== 'yes') p.push('http.conf: enabled must be yes');
  if (value(http, g, 'bindport') !== undefined) p.push('http.conf: bindport must come from the generated include (ASTERISK_HTTP_PORT), not the committed file');
  const limit = Number(value(http, g, 'sessionlimit'));
  if (!Number.isInteger(limit) || limit < 500) p.push(`http.conf: sessionlimit must be set deliberately (>= 500), got ${String(value(http, g, 'sessionlimit'))}`);
  if (value(http, g, 'bindaddr') !== undefined) p.push('http.conf: bindaddr must come from the generated include, not the committed file');
  if (!g.directives.some((d) => d.kind === 'include' && d.target === 'generated/http-bind.conf')) p.push('http.conf: missing #include "generated/http-bind.conf" in [general]');
  // TLS (wss:// for agents' browsers) comes from the entrypoint (ASTERISK_TLS_CERT/KEY), never the committed file.
  if (!g.directives.some((d) => d.kind === 'include' && d.target === 'generated/http-tls.conf')) p.push('http.conf: missing #include "generated/http-tls.conf" in [general] (WSS)');
  if (value(http, g, 'tlsenable') !== undefined) p.push('http.conf: tlsenable must come from the generated include (ASTERISK_TLS_CERT), not the committed file');
  return p;
}

function checkAri(ari: IniFile): string[] {
  const p: string[] = [];
  const g = sectionsNamed(ari, 'general')[0];
  if (!g || value(ari, g, 'enabled') !== 'yes') p.push('ari.conf: [general] enabled must be yes');
  const u = sectionsNamed(ari, 'hotline')[0];
  if (!u) return [...p, 'ari.conf: no [hotline] user'];
  if (value(ari, u, 'type') !== 'user') p.push('ari.conf: [hotline] type must be user');
  if (value(ari, u, 'read_only') === 'yes') p.push('ari.conf: [hotline] must not be read_only');
  if (value(ari, u, 'password') !== undefined) p.push('ari.conf: a password is committed');
  if (!u.directives.some((d) => d.kind === 'include' && d.target === 'generated/ari-hotline.conf')) {
    p.push('ari.conf: [hotline] must #include "generated/ari-hotline.conf" (not #tryinclude: fail closed)');
  }
  return p;
}

function checkManager(mgr: IniFile): string[] {
  const p: string[] = [];
  const g = sectionsNamed(mgr, 'general')[0];
  if (!g || value(mgr, g, 'enabled') !== 'yes') p.push('manager.conf: [general] enabled must be yes');
  if (g && value(mgr, g, 'webenabled') !== 'no') p.push('manager.conf: webenabled must be no');
  const users = mgr.sections.filter((s) => s.name !== 'general');
  if (users.length !== 1 || users[0]!.name !== 'hotline') p.push(`manager.conf: exactly one user [hotline] expected, got ${users.map((u) => u.name).join(',')}`);
  for (const u of users) {
    // ContactStatus, FullyBooted, Shutdown are class SYSTEM; the dialplan's UserEvent(HotlineGated) is class
    // USER; PJSIPShowContacts needs write=system.
    const classes = (k: string) => values(mgr, u, k).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean).sort();
    if (classes('read').join(',') !== 'system,user') p.push(`manager.conf: [${u.name}] read must be exactly system,user, got ${classes('read').join(',')}`);
    if (classes('write').join(',') !== 'system') p.push(`manager.conf: [${u.name}] write must be exactly system, got ${classes('write').join(',')}`);
    if (value(mgr, u, 'secret') !== undefined) p.push(`manager.conf: [${u.name}] secret is committed`);
    if (!values(mgr, u, 'deny').includes('0.0.0.0/0.0.0.0')) p.push(`manager.conf: [${u.name}] must deny 0.0.0.0/0.0.0.0 before permits`);
    if (!u.directives.some((d) => d.kind === 'include' && d.target === 'generated/manager-hotline.conf')) p.push(`manager.conf: [${u.name}] must #include the generated secret`);
  }
  return p;
}

function checkPjsip(pj: IniFile, contexts: Set<string>, opts: { rendered?: boolean } = {}): string[] {
  const p: string[] = [];
  const global = objectsOfType(pj, 'global')[0];
  if (!global) return ['pjsip.conf: no type=global'];
  const order = (value(pj, global, 'endpoint_identifier_order') ?? '').split(',').map((s) => s.trim());
  const iu = order.indexOf('username');
  const ii = order.indexOf('ip');
  if (iu < 0 || ii < 0 || iu > ii) p.push(`pjsip.conf: endpoint_identifier_order must put username before ip, got ${order.join(',')}`);

  const transports = objectsOfType(pj, 'transport');
  for (const proto of ['udp', 'ws', 'wss']) {
    if (!transports.some((t) => value(pj, t, 'protocol') === proto)) p.push(`pjsip.conf: no ${proto} transport`);
  }

  const tpl = pj.sections.find((s) => s.isTemplate && value(pj, s, 'webrtc') === 'yes');
  if (!tpl) p.push('pjsip.conf: no WebRTC endpoint template (webrtc=yes)');
  else {
    if (value(pj, tpl, 'dtls_auto_generate_cert') !== 'yes') p.push('pjsip.conf: WebRTC template needs dtls_auto_generate_cert=yes');
    const allow = values(pj, tpl, 'allow').flatMap((v) => v.split(',')).map((s) => s.trim());
    if (!allow.includes('ulaw') || !allow.includes('alaw')) p.push('pjsip.conf: WebRTC template must allow ulaw and alaw');
    if (value(pj, tpl, 'disallow') !== 'all') p.push('pjsip.conf: WebRTC template must disallow=all first');
    if (value(pj, tpl, 'context') !== 'from-agents') p.push('pjsip.conf: WebRTC template context must be from-agents');
  }
  for (const s of pj.sections) {
    if (values(pj, s, 'allow').some((v) => /opus/i.test(v))) p.push(`pjsip.conf: [${s.name}] allows opus (codec_opus is not available)`);
  }

  const endpoints = objectsOfType(pj, 'endpoint');
  const aors = objectsOfType(pj, 'aor');
  const agents = endpoints.filter((e) => value(pj, e, 'webrtc') === 'yes');
  // Agents are generated from AGENT_SIP_PASSWORDS (src/acd/sip-names.ts): the committed file has
  // their templates and the include; a rendered one has the agents themselves.
  if (!pj.sections.some((sec) => sec.directives.some((d) => d.kind === 'include' && d.target === 'generated/agents.conf'))) {
    p.push('pjsip.conf: missing #include "generated/agents.conf" (the agents)');
  }
  const aorTpl = pj.sections.find((sec) => sec.isTemplate && value(pj, sec, 'type') === 'aor' && sec.name.startsWith('agent'));
  if (!aorTpl) p.push('pjsip.conf: no agent AOR template');
  else {
    if (value(pj, aorTpl, 'max_contacts') !== '1') p.push(`pjsip.conf: aor template ${aorTpl.name} needs max_contacts=1`);
    if (value(pj, aorTpl, 'remove_existing') !== 'yes') p.push(`pjsip.conf: aor template ${aorTpl.name} needs remove_existing=yes`);
  }
  if (opts.rendered && agents.length < 1) p.push('pjsip.conf: rendered with no agent endpoint');
  for (const a of agents) {
    if (!/^agent\d+$/.test(a.name)) p.push(`pjsip.conf: agent endpoint ${a.name} should be named agentNNNN (no clash with citizens' numbers)`);
    if (!value(pj, a, 'auth')) p.push(`pjsip.conf: agent ${a.name} has no auth`);
    const aorName = value(pj, a, 'aors');
    const aor = aors.find((x) => x.name === aorName);
    if (!aor) p.push(`pjsip.conf: agent ${a.name} has no aor ${String(aorName)}`);
    else {
      if (value(pj, aor, 'max_contacts') !== '1') p.push(`pjsip.conf: aor ${aor.name} needs max_contacts=1`);
      if (value(pj, aor, 'remove_existing') !== 'yes') p.push(`pjsip.conf: aor ${aor.name} needs remove_existing=yes`);
    }
  }

  const wantContexts: Record<string, RegExp> = { 'from-carrier': /^carrier$/, 'from-linkage': /^linkage-(110|119|120|122)$/, 'from-subcenter': /^subcenter-\d+$/ };
  for (const [ctx, re] of Object.entries(wantContexts)) {
    if (!endpoints.some((e) => re.test(e.name) && value(pj, e, 'context') === ctx)) p.push(`pjsip.conf: no endpoint matching ${re} with context ${ctx}`);
  }
  for (const n of ['linkage-110', 'linkage-119', 'linkage-120', 'linkage-122']) {
    if (!endpoints.some((e) => e.name === n)) p.push(`pjsip.conf: missing linkage trunk ${n}`);
  }
  for (const e of endpoints) {
    const ctx = value(pj, e, 'context');
    if (!ctx) p.push(`pjsip.conf: endpoint ${e.name} has no context`);
    else if (!contexts.has(ctx)) p.push(`pjsip.conf: endpoint ${e.name} context ${ctx} does not exist in extensions.conf`);
    if (ctx && TEST_CONTEXTS.includes(ctx)) p.push(`pjsip.conf: endpoint ${e.name} points to test context ${ctx}`);
    if (!value(pj, e, 'auth')) {
      // No auth: only reachable by IP. It must never be selectable by From user.
      if (value(pj, e, 'identify_by') !== 'ip') p.push(`pjsip.conf: endpoint ${e.name} has no auth and identify_by is not ip`);
    }
  }
  const identifies = objectsOfType(pj, 'identify');
  if (!identifies.some((i) => value(pj, i, 'endpoint') === 'carrier')) p.push('pjsip.conf: carrier trunk has no identify');
  for (const i of identifies) {
    const ep = value(pj, i, 'endpoint');
    if (!endpoints.some((e) => e.name === ep)) p.push(`pjsip.conf: identify ${i.name} points to unknown endpoint ${String(ep)}`);
  }
  if (!opts.rendered) {
    for (const s of pj.sections) {
      if (values(pj, s, 'password').length) p.push(`pjsip.conf: [${s.name}] commits a password`);
    }
  }
  return p;
}

const REQUIRED_MODULES = [
  'res_ari.so', 'res_stasis.so', 'app_stasis.so', 'res_http_websocket.so', 'res_pjsip.so', 'chan_pjsip.so',
  'res_pjsip_transport_websocket.so', 'res_musiconhold.so', 'codec_ulaw.so', 'codec_alaw.so', 'app_playback.so', 'pbx_config.so',
];

function checkModules(mods: IniFile): string[] {
  const p: string[] = [];
  const m = sectionsNamed(mods, 'modules')[0];
  if (!m) return ['modules.conf: no [modules]'];
  const noload = new Set(values(mods, m, 'noload'));
  const autoload = value(mods, m, 'autoload') === 'yes';
  const loaded = new Set([...values(mods, m, 'load'), ...values(mods, m, 'require'), ...values(mods, m, 'preload')]);
  for (const mod of REQUIRED_MODULES) {
    if (noload.has(mod)) p.push(`modules.conf: ${mod} is noloaded`);
    if (!autoload && !loaded.has(mod)) p.push(`modules.conf: ${mod} is not loaded`);
  }
  if (!values(mods, m, 'require').includes('res_ari.so')) p.push('modules.conf: res_ari.so should be `require`d');
  for (const r of values(mods, m, 'require')) if (noload.has(r)) p.push(`modules.conf: ${r} both required and noloaded`);
  return p;
}

/** Dialplan: only the interpreted subset; contexts, globals, general. */
function checkDialplanSubset(dp: IniFile): string[] {
  const p: string[] = [];
  const g = sectionsNamed(dp, 'general')[0];
  if (!g || value(dp, g, 'static') !== 'yes' || value(dp, g, 'writeprotect') !== 'yes') p.push('extensions.conf: [general] needs static=yes, writeprotect=yes');
  const globals = sectionsNamed(dp, 'globals')[0];
  const globalNames = new Set(globals?.entries.map((e) => e.key) ?? []);
  if (!globals || value(dp, globals, 'HOTLINE_APP') !== 'hotline') p.push('extensions.conf: [globals] HOTLINE_APP=hotline missing');
  let steps: DialplanStep[];
  try {
    steps = dialplanSteps(dp);
  } catch (err) {
    return [...p, `extensions.conf: ${(err as Error).message}`];
  }
  for (const s of steps) {
    if (!ALLOWED_APPS.has(s.app)) p.push(`extensions.conf:${s.line}: application ${s.app} is outside the interpreted subset`);
    // _cb. and callback-ok: the shed caller's callback offer ([hotline-shed])
    if (!['_X.', 's', '_cb.', 'callback-ok'].includes(s.exten) && !/^\d+$/.test(s.exten)) p.push(`extensions.conf:${s.line}: pattern ${s.exten} outside the subset`);
    for (const m of s.args.matchAll(/\$\{([^}]*)\}/g)) {
      const name = m[1]!;
      if (!globalNames.has(name) && !ALLOWED_VARS.some((re) => re.test(name))) p.push(`extensions.conf:${s.line}: variable \${${name}} outside the subset`);
    }
    if (s.app === 'Set' && !/^(CHANNEL\(language\)|[A-Za-z_][A-Za-z0-9_]*)=/.test(s.args)) p.push(`extensions.conf:${s.line}: Set(${s.args}) outside the subset`);
    if (s.app === 'GotoIf' && !GOTOIF_STRING.test(s.args) && !GOTOIF_NUMERIC.test(s.args)) p.push(`extensions.conf:${s.line}: GotoIf(${s.args}) outside the subset`);
  }
  for (const t of TEST_CONTEXTS) if (!sectionsNamed(dp, t).length) p.push(`extensions.conf: test context [${t}] missing`);
  return p;
}

/** A tiny interpreter of one context's `_X.` extension, enough for the fallback logic. */
function runContext(
  dp: IniFile,
  context: string,
  exten: string,
  opts: { stasis: 'SUCCESS' | 'FAILED'; header?: string; channelType?: 'PJSIP' | 'Local'; vars?: Record<string, string> },
) {
  const globals = sectionsNamed(dp, 'globals')[0];
  const vars: Record<string, string> = Object.fromEntries(globals?.entries.map((e) => [e.key, e.value]) ?? []);
  // Asterisk's clock and a fixed die (a test sets others through opts.vars).
  vars.EPOCH = String(Math.floor(Date.now() / 1000));
  vars['RAND(1,100)'] = '50';
  Object.assign(vars, opts.vars ?? {});
  vars.EXTEN = exten;
  const channelType = opts.channelType ?? 'PJSIP';
  vars['CHANNEL(channeltype)'] = channelType;
  const steps = dialplanSteps(dp).filter((s) => s.context === context && s.exten === '_X.').sort((a, b) => a.priority - b.priority);
  // PJSIP_HEADER on a non-PJSIP channel is an ERROR on a real Asterisk: remember if it happens.
  let headerOnLocal = false;
  const sub = (s: string) =>
    s.replace(/\$\{([^}]*)\}/g, (_m, name: string) => {
      if (!name.startsWith('PJSIP_HEADER(')) return vars[name] ?? '';
      if (channelType !== 'PJSIP') headerOnLocal = true;
      return channelType === 'PJSIP' ? opts.header ?? '' : '';
    });
  const trace: string[] = [];
  let stasisArgs: string[] | undefined;
  let i = 0;
  for (let guard = 0; guard < 100 && i < steps.length; guard++) {
    const s = steps[i]!;
    const args = sub(s.args);
    trace.push(`${s.app}(${args})`);
    if (s.app === 'Set') {
      const eq = args.indexOf('=');
      vars[args.slice(0, eq)] = args.slice(eq + 1);
    }
    if (s.app === 'Stasis') {
      stasisArgs = args.split(',');
      vars.STASISSTATUS = opts.stasis;
    } else if (s.app === 'Hangup' || s.app === 'Busy' || s.app === 'Congestion') {
      return { trace, stasisArgs, ended: true, headerOnLocal };
    } else if (s.app === 'GotoIf') {
      const m = /^\$\[(.*)\]\?([^:]+)(?::(.+))?$/.exec(args);
      if (!m) throw new Error(`bad GotoIf ${args}`);
      const value = evaluateExpression(m[1]!);
      const target = value !== '' && value !== '0' ? m[2] : m[3];
      if (target) {
        const j = steps.findIndex((x) => x.label === target);
        if (j < 0) throw new Error(`label ${target} not found in ${context}`);
        i = j;
        continue;
      }
    }
    i++;
  }
  return { trace, stasisArgs, ended: false, headerOnLocal };
}

function checkInboundContext(dp: IniFile, context: string, source: string, withRef: boolean): string[] {
  const p: string[] = [];
  let ok: ReturnType<typeof runContext>;
  let fail: ReturnType<typeof runContext>;
  try {
    ok = runContext(dp, context, '12345', { stasis: 'SUCCESS', header: 'REF-1' });
    fail = runContext(dp, context, '12345', { stasis: 'FAILED', header: 'REF-1' });
  } catch (err) {
    return [`[${context}]: ${(err as Error).message}`];
  }
  const want = withRef ? ['hotline', '12345', source, 'REF-1'] : ['hotline', '12345', source];
  if (JSON.stringify(ok.stasisArgs) !== JSON.stringify(want)) p.push(`[${context}]: Stasis args ${JSON.stringify(ok.stasisArgs)}, want ${JSON.stringify(want)}`);
  if (withRef) {
    // A Local channel (internal hand-over, tests): the reference comes from HOTLINE_REF, and
    // PJSIP_HEADER is never evaluated (on a real Asterisk it logs an ERROR on Local channels).
    const local = runContext(dp, context, '12345', { stasis: 'SUCCESS', channelType: 'Local', vars: { HOTLINE_REF: 'REF-2' } });
    const wantLocal = ['hotline', '12345', source, 'REF-2'];
    if (JSON.stringify(local.stasisArgs) !== JSON.stringify(wantLocal)) p.push(`[${context}]: on a Local channel Stasis args ${JSON.stringify(local.stasisArgs)}, want ${JSON.stringify(wantLocal)}`);
    if (local.headerOnLocal) p.push(`[${context}]: PJSIP_HEADER is read on a Local channel (an ERROR on a real Asterisk)`);
  }
  if (!ok.ended || ok.trace.some((t) => t.startsWith('Playback'))) p.push(`[${context}]: after Stasis SUCCESS the call must just hang up (${ok.trace.join(' → ')})`);
  const pb = fail.trace.findIndex((t) => t === 'Playback(hotline/system-busy)');
  const ans = fail.trace.findIndex((t) => t.startsWith('Answer'));
  if (pb < 0) p.push(`[${context}]: when Stasis fails the caller must hear hotline/system-busy (${fail.trace.join(' → ')})`);
  if (ans < 0 || ans > pb) p.push(`[${context}]: Answer() must precede the system-busy playback`);
  if (!fail.ended) p.push(`[${context}]: fallback must end with Hangup()`);
  if (!fail.trace.includes('Set(CHANNEL(language)=zh)')) p.push(`[${context}]: language must be set to zh before Stasis`);
  // The extension must take every number: no other extension in the context.
  const extens = new Set(dialplanSteps(dp).filter((s) => s.context === context).map((s) => s.exten));
  if (extens.size !== 1 || !extens.has('_X.')) p.push(`[${context}]: must route every number (_X.) and only that, got ${[...extens].join(',')}`);
  return p;
}

// --------------------------------------------------------------------- tests

const texts = {
  http: read(join(AST, 'http.conf')),
  ari: read(join(AST, 'ari.conf')),
  manager: read(join(AST, 'manager.conf')),
  pjsip: read(join(AST, 'pjsip.conf')),
  modules: read(join(AST, 'modules.conf')),
  dialplan: read(DIALPLAN),
};
const dialplan = ini(texts.dialplan, 'extensions.conf');
const contexts = new Set(dialplan.sections.map((s) => s.name).filter((n) => n !== 'general' && n !== 'globals'));

describe('asterisk/ and dialplan/ parse', () => {
  it('every .conf file parses', () => {
    const files = readdirSync(AST).filter((f) => f.endsWith('.conf'));
    expect(files.sort()).toEqual(
      expect.arrayContaining(['ari.conf', 'http.conf', 'manager.conf', 'modules.conf', 'musiconhold.conf', 'pjsip.conf', 'rtp.conf']),
    );
    for (const f of files) expect(() => parseIniFile(join(AST, f)), f).not.toThrow();
    expect(() => dialplanSteps(dialplan)).not.toThrow();
  });

  it('the parser itself rejects garbage and handles templates and comments', () => {
    expect(() => ini('[a]\nthis is not a setting\n')).toThrow();
    const t = ini('[tpl](!)\nallow = ulaw ; comment\n;-- block\nallow=opus\n--;\n[x](tpl)\ntype=endpoint\nallow=alaw\n');
    const x = sectionsNamed(t, 'x')[0]!;
    expect(values(t, x, 'allow')).toEqual(['ulaw', 'alaw']);
    expect(objectsOfType(t, 'endpoint').map((s) => s.name)).toEqual(['x']);
  });
});

describe('http.conf', () => {
  it('is enabled on 8088 with a deliberate sessionlimit and a generated bind address', () => {
    expect(checkHttp(ini(texts.http))).toEqual([]);
  });
  it('fails without sessionlimit (the measured pitfall: default 100)', () => {
    expect(checkHttp(ini(mutate(texts.http, /^sessionlimit = .*$/m, '')))).toContainEqual(expect.stringContaining('sessionlimit'));
  });
  it('fails without the generated TLS include, or with TLS committed', () => {
    expect(checkHttp(ini(mutate(texts.http, '#include "generated/http-tls.conf"', '')))).toContainEqual(expect.stringContaining('http-tls.conf'));
    expect(checkHttp(ini(mutate(texts.http, 'enabled = yes', 'enabled = yes\ntlsenable = yes')))).toContainEqual(expect.stringContaining('tlsenable'));
  });
});

describe('ari.conf', () => {
  it('has the hotline user and no committed password', () => {
    expect(checkAri(ini(texts.ari))).toEqual([]);
  });
  it('fails when a password is committed', () => {
    expect(checkAri(ini(mutate(texts.ari, 'password_format = plain', 'password_format = plain\npassword = change-me')))).toContainEqual(
      expect.stringContaining('password is committed'),
    );
  });
});

describe('manager.conf', () => {
  it('gives the AMI user only classes system (ContactStatus/FullyBooted/Shutdown, PJSIPShowContacts) and user (the gate\'s UserEvent)', () => {
    expect(checkManager(ini(texts.manager))).toEqual([]);
  });
  it('fails with extra classes', () => {
    expect(checkManager(ini(mutate(texts.manager, /^write = system$/m, 'write = system,call,originate')))).toContainEqual(
      expect.stringContaining('write must be exactly system'),
    );
  });
});

describe('pjsip.conf', () => {
  it('identifies agents by username first, has the WebRTC template, agents, trunks, contexts that exist', () => {
    expect(checkPjsip(ini(texts.pjsip), contexts)).toEqual([]);
  });
  it('fails when ip comes before username', () => {
    expect(checkPjsip(ini(mutate(texts.pjsip, 'endpoint_identifier_order = username,ip,anonymous', 'endpoint_identifier_order = ip,username,anonymous')), contexts)).toContainEqual(
      expect.stringContaining('username before ip'),
    );
  });
  it('fails with opus, with max_contacts > 1, with a missing context, with a trunk selectable by username', () => {
    const pj = texts.pjsip;
    expect(checkPjsip(ini(mutate(pj, 'allow = ulaw,alaw', 'allow = opus,ulaw,alaw')), contexts).join('\n')).toMatch(/opus/);
    expect(checkPjsip(ini(mutate(pj, 'max_contacts = 1', 'max_contacts = 5')), contexts).join('\n')).toMatch(/max_contacts=1/);
    expect(checkPjsip(ini(mutate(pj, 'context = from-subcenter', 'context = from-nowhere')), contexts).join('\n')).toMatch(/from-nowhere does not exist/);
    expect(checkPjsip(ini(mutate(pj, /^identify_by = ip$/m, 'identify_by = username,ip')), contexts).join('\n')).toMatch(/identify_by is not ip/);
    expect(checkPjsip(ini(mutate(pj, 'context = from-carrier', 'context = hotline-test-agents')), contexts).join('\n')).toMatch(/test context/);
  });
  it('fails without the wss transport (agents outside localhost)', () => {
    expect(checkPjsip(ini(mutate(texts.pjsip, 'protocol = wss', 'protocol = tls')), contexts).join('\n')).toMatch(/no wss transport/);
  });
});

describe('modules.conf', () => {
  it('loads ARI, Stasis, PJSIP + websocket transport, MOH, G.711', () => {
    expect(checkModules(ini(texts.modules))).toEqual([]);
  });
  it('fails when a needed module is noloaded', () => {
    expect(checkModules(ini(`${texts.modules}\nnoload = res_pjsip_transport_websocket.so\n`))).toContainEqual(
      expect.stringContaining('res_pjsip_transport_websocket.so is noloaded'),
    );
  });
});

describe('dialplan/extensions.conf', () => {
  it('uses only the interpreted subset', () => {
    expect(checkDialplanSubset(dialplan)).toEqual([]);
  });
  it('fails on an application outside the subset', () => {
    const bad = ini(mutate(texts.dialplan, ' same => n,Answer()\n', ' same => n,Answer()\n same => n,Dial(PJSIP/agent1001)\n'));
    expect(checkDialplanSubset(bad)).toContainEqual(expect.stringContaining('Dial is outside'));
  });

  it('[from-carrier] sends every number to Stasis(hotline,<exten>,carrier), system-busy fallback', () => {
    expect(checkInboundContext(dialplan, 'from-carrier', 'carrier', false)).toEqual([]);
    // A legacy short code and an arbitrary number take the same path.
    expect(runContext(dialplan, 'from-carrier', '12315', { stasis: 'SUCCESS' }).stasisArgs).toEqual(['hotline', '12315', 'carrier']);
    expect(runContext(dialplan, 'from-carrier', '075512345678', { stasis: 'SUCCESS' }).stasisArgs).toEqual(['hotline', '075512345678', 'carrier']);
  });
  it('[from-linkage], [from-subcenter] pass the X-Hotline-Ref header; [from-agents] goes to Stasis as agent', () => {
    expect(checkInboundContext(dialplan, 'from-linkage', 'linkage', true)).toEqual([]);
    expect(checkInboundContext(dialplan, 'from-subcenter', 'subcenter', true)).toEqual([]);
    expect(checkInboundContext(dialplan, 'from-agents', 'agent', false)).toEqual([]);
  });
  it('the fallback check fails when the playback is removed or the GotoIf is inverted', () => {
    const noPlay = ini(mutate(texts.dialplan, /(\[from-carrier\][\s\S]*?) same => n,Playback\(hotline\/system-busy\)[^\n]*\n/, '$1'));
    expect(checkInboundContext(noPlay, 'from-carrier', 'carrier', false).join('\n')).toMatch(/system-busy/);
    const inverted = ini(mutate(texts.dialplan, '"${STASISSTATUS}" = "SUCCESS"', '"${STASISSTATUS}" != "SUCCESS"'));
    expect(checkInboundContext(inverted, 'from-carrier', 'carrier', false)).not.toEqual([]);
    const wrongSource = ini(mutate(texts.dialplan, 'Stasis(${HOTLINE_APP},${EXTEN},carrier)', 'Stasis(${HOTLINE_APP},carrier)'));
    expect(checkInboundContext(wrongSource, 'from-carrier', 'carrier', false).join('\n')).toMatch(/Stasis args/);
  });
  it('[from-carrier] gate: while HOTLINE_GATE_UNTIL is ahead of EPOCH, a caller whose die is within HOTLINE_GATE_PCT is told over AMI and refused busy before any Answer or Stasis', () => {
    const now = Math.floor(Date.now() / 1000);
    const run = (vars: Record<string, string>) => runContext(dialplan, 'from-carrier', '12345', { stasis: 'SUCCESS', vars });
    const gated = run({ HOTLINE_GATE_UNTIL: String(now + 3), HOTLINE_GATE_PCT: '60', 'RAND(1,100)': '60' });
    expect(gated.stasisArgs).toBeUndefined();
    expect(gated.trace.slice(-2)).toEqual(['UserEvent(HotlineGated)', 'Hangup(17)']);
    expect(gated.trace.some((t) => t.startsWith('Answer'))).toBe(false);
    // Over the share, past its time, unset or at 0: the call goes on as before.
    for (const vars of [
      { HOTLINE_GATE_UNTIL: '', HOTLINE_GATE_PCT: '' },
      { HOTLINE_GATE_UNTIL: String(now + 3), HOTLINE_GATE_PCT: '60', 'RAND(1,100)': '61' },
      { HOTLINE_GATE_UNTIL: String(now - 1), HOTLINE_GATE_PCT: '100', 'RAND(1,100)': '1' },
      { HOTLINE_GATE_UNTIL: String(now + 3), HOTLINE_GATE_PCT: '0', 'RAND(1,100)': '1' },
    ] as Array<Record<string, string>>) {
      expect(run(vars).stasisArgs, JSON.stringify(vars)).toEqual(['hotline', '12345', 'carrier']);
    }
    // The checks can fail: a gate after Answer, or one whose comparison is inverted.
    const late = ini(mutate(texts.dialplan, /( same => n,GotoIf\(\$\[\$\{EPOCH\}[^\n]*\n)([\s\S]*? same => n,Answer\(\)\n)/, '$2$1'));
    expect(runContext(late, 'from-carrier', '12345', { stasis: 'SUCCESS', vars: { HOTLINE_GATE_UNTIL: String(now + 3), HOTLINE_GATE_PCT: '100' } }).trace.some((t) => t.startsWith('Answer'))).toBe(true);
    const inverted = ini(mutate(texts.dialplan, '${EPOCH} < 0${HOTLINE_GATE_UNTIL}', '${EPOCH} > 0${HOTLINE_GATE_UNTIL}'));
    expect(runContext(inverted, 'from-carrier', '12345', { stasis: 'SUCCESS', vars: { HOTLINE_GATE_UNTIL: String(now + 3), HOTLINE_GATE_PCT: '100' } }).stasisArgs).toEqual(['hotline', '12345', 'carrier']);
  });
  it('test contexts behave as the integration tests expect', () => {
    const steps = dialplanSteps(dialplan);
    const first = (ctx: string) => steps.find((s) => s.context === ctx && s.priority === 1);
    expect(first('hotline-test-agents')).toMatchObject({ exten: '_X.', app: 'Stasis', args: 'testcaller,agent,${EXTEN}' });
    expect(steps.filter((s) => s.context === 'hotline-test-noanswer').map((s) => s.app)).toEqual(['Ringing', 'Wait', 'Hangup']);
    expect(first('hotline-test-busy')).toMatchObject({ app: 'Busy' });
  });
});

// -------------------------------------------------------- entrypoint rendering

describe('asterisk/docker-entrypoint.sh', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const STRONG = {
    ARI_PASSWORD: 'Ari-Str0ng-Passw0rd-42',
    AMI_SECRET: 'Ami-Str0ng-Secret-42',
    AMI_PERMIT: '172.30.12.0/24',
    AGENT_SIP_PASSWORDS: 'agent1001:Seat1001-Secret!a,agent1002:Seat1002-Secret!b,agent1003:Seat1003-Secret!c',
    SIP_TRUNK_CARRIER: '10.10.1.5,10.10.1.6',
    RTP_ICE_PERMIT: '10.20.0.0/16',
  };
  function render(env: Record<string, string>) {
    const etc = mkdtempSync(join(tmpdir(), 'hotline-ast-'));
    dirs.push(etc);
    const r = spawnSync('sh', [ENTRYPOINT, '--render-only'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ASTERISK_ETC: etc, ASTERISK_CONF_SRC: AST, DIALPLAN_SRC: dirname(DIALPLAN), ...env },
      encoding: 'utf8',
    });
    return { etc, status: r.status, stderr: r.stderr };
  }

  it('is a POSIX sh script that parses', () => {
    expect(() => execFileSync('sh', ['-n', ENTRYPOINT])).not.toThrow();
  });

  it('renders every include the committed files need, with the secrets, 0600', () => {
    const { etc, status, stderr } = render(STRONG);
    expect(status, stderr).toBe(0);
    const full = (f: string) => parseIniFile(join(etc, f), { includeDir: etc });
    // Every #include of every rendered file resolves (parseIniFile throws otherwise).
    for (const f of readdirSync(etc).filter((x) => x.endsWith('.conf'))) expect(() => full(f), f).not.toThrow();

    const ari = full('ari.conf');
    expect(value(ari, sectionsNamed(ari, 'hotline')[0]!, 'password')).toBe(STRONG.ARI_PASSWORD);
    const mgr = full('manager.conf');
    const hot = sectionsNamed(mgr, 'hotline')[0]!;
    expect(value(mgr, hot, 'secret')).toBe(STRONG.AMI_SECRET);
    expect(values(mgr, hot, 'permit')).toEqual(['172.30.12.0/24']);
    expect(values(mgr, hot, 'read')).toEqual(['system,user']);
    const http = full('http.conf');
    expect(value(http, sectionsNamed(http, 'general')[0]!, 'bindaddr')).toBe('0.0.0.0');

    const pj = full('pjsip.conf');
    const auths = objectsOfType(pj, 'auth');
    expect(auths.map((a) => a.name).sort()).toEqual(['agent1001', 'agent1002', 'agent1003']);
    for (const ep of objectsOfType(pj, 'endpoint').filter((e) => value(pj, e, 'auth'))) {
      expect(auths.some((a) => a.name === value(pj, ep, 'auth')), ep.name).toBe(true);
    }
    const carrierId = objectsOfType(pj, 'identify').find((i) => value(pj, i, 'endpoint') === 'carrier')!;
    expect(values(pj, carrierId, 'match')).toEqual(['10.10.1.5', '10.10.1.6']);
    const carrier = objectsOfType(pj, 'endpoint').find((e) => e.name === 'carrier')!;
    expect(values(pj, carrier, 'deny')).toEqual(['0.0.0.0/0.0.0.0']);
    expect(values(pj, carrier, 'permit')).toEqual(['10.10.1.5', '10.10.1.6']);
    // Unconfigured trunks match only TEST-NET-1 and permit nothing.
    const l110 = objectsOfType(pj, 'identify').find((i) => value(pj, i, 'endpoint') === 'linkage-110')!;
    expect(values(pj, l110, 'match')).toEqual(['192.0.2.1']);
    // The rendered pjsip.conf still passes every static check.
    expect(checkPjsip(pj, contexts, { rendered: true })).toEqual([]);

    const gen = join(etc, 'generated');
    for (const f of readdirSync(gen)) expect((statSync(join(gen, f)).mode & 0o077).toString(8), f).toBe('0');
    expect(read(join(etc, 'extensions.conf'))).toBe(texts.dialplan);
  });

  it('refuses placeholder, short or missing secrets in production', () => {
    for (const bad of [{ ARI_PASSWORD: 'change-me' }, { AMI_SECRET: 'short' }, { ARI_PASSWORD: '' }, { AGENT_SIP_PASSWORDS: 'agent1001:changeme' }]) {
      const r = render({ ...STRONG, ...bad });
      expect(r.status, JSON.stringify(bad)).not.toBe(0);
      expect(r.stderr).toMatch(/ARI_PASSWORD|AMI_SECRET|AGENT_SIP_PASSWORDS/);
    }
  });

  it('refuses values that would corrupt an Asterisk config line', () => {
    for (const bad of [{ ARI_PASSWORD: 'Str0ng-but;comment' }, { AMI_SECRET: 'Str0ng secret here' }, { SIP_TRUNK_CARRIER: 'carrier.example.com' }, { AMI_PERMIT: '0.0.0.0/0;x' }]) {
      expect(render({ ...STRONG, ...bad }).status, JSON.stringify(bad)).not.toBe(0);
    }
  });

  it('renders no TLS by default, and HTTPS/WSS on ASTERISK_HTTPS_PORT from ASTERISK_TLS_CERT/KEY (copied, 0600)', () => {
    const off = render(STRONG);
    expect(off.status, off.stderr).toBe(0);
    const offHttp = parseIniFile(join(off.etc, 'http.conf'), { includeDir: off.etc });
    expect(value(offHttp, sectionsNamed(offHttp, 'general')[0]!, 'tlsenable')).toBeUndefined();
    expect(off.stderr).toMatch(/warning: ASTERISK_TLS_CERT is not set/);

    const pki = mkdtempSync(join(tmpdir(), 'hotline-ast-tls-'));
    dirs.push(pki);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(pki, 'k.pem'), '-out', join(pki, 'c.pem'), '-days', '1', '-subj', '/CN=hotline.test'], { stdio: 'ignore' });
    const on = render({ ...STRONG, ASTERISK_TLS_CERT: join(pki, 'c.pem'), ASTERISK_TLS_KEY: join(pki, 'k.pem'), ASTERISK_HTTPS_PORT: '8443' });
    expect(on.status, on.stderr).toBe(0);
    const http = parseIniFile(join(on.etc, 'http.conf'), { includeDir: on.etc });
    const g = sectionsNamed(http, 'general')[0]!;
    expect(value(http, g, 'tlsenable')).toBe('yes');
    expect(value(http, g, 'tlsbindaddr')).toBe('0.0.0.0:8443');
    expect(value(http, g, 'tlscertfile')).toBe(join(on.etc, 'generated', 'http-tls.crt'));
    expect(value(http, g, 'tlsprivatekey')).toBe(join(on.etc, 'generated', 'http-tls.key'));
    expect(read(join(on.etc, 'generated', 'http-tls.key'))).toBe(read(join(pki, 'k.pem')));
    expect((statSync(join(on.etc, 'generated', 'http-tls.key')).mode & 0o077).toString(8)).toBe('0');
    expect(on.stderr).not.toMatch(/ASTERISK_TLS_CERT is not set/);

    for (const [bad, message] of [
      [{ ASTERISK_TLS_CERT: join(pki, 'c.pem') }, 'ASTERISK_TLS_KEY is required'],
      [{ ASTERISK_TLS_KEY: join(pki, 'k.pem') }, 'ASTERISK_TLS_CERT is required'],
      [{ ASTERISK_TLS_CERT: join(pki, 'missing.pem'), ASTERISK_TLS_KEY: join(pki, 'k.pem') }, 'ASTERISK_TLS_CERT: cannot read'],
      [{ ASTERISK_TLS_CERT: join(pki, 'k.pem'), ASTERISK_TLS_KEY: join(pki, 'k.pem') }, 'ASTERISK_TLS_CERT: ' + join(pki, 'k.pem') + ' is not a PEM certificate'],
      [{ ASTERISK_TLS_CERT: join(pki, 'c.pem'), ASTERISK_TLS_KEY: join(pki, 'c.pem') }, 'is not a PEM private key'],
      [{ ASTERISK_TLS_CERT: join(pki, 'c.pem'), ASTERISK_TLS_KEY: join(pki, 'k.pem'), ASTERISK_HTTPS_PORT: '8088' }, 'ASTERISK_HTTPS_PORT must differ'],
    ] as const) {
      const r = render({ ...STRONG, ...bad });
      expect(r.status, JSON.stringify(bad)).not.toBe(0);
      expect(r.stderr).toContain(message);
    }
  });

  it('accepts placeholders only with HOTLINE_ENV=development (local tests), with a warning', () => {
    const r = render({ HOTLINE_ENV: 'development', ARI_PASSWORD: 'change-me', AMI_SECRET: 'change-me' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: ARI_PASSWORD is a placeholder/);
  });
});
