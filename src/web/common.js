// Shared by every console page: i18n (zh-CN first, English on demand, kept in
// localStorage; each page's strings in i18n/<page>.json), fetch with the CSRF header, the
// logged-in user, the header, error display that names the field, small DOM helpers and the
// shared look. The document around a page (doctype, meta) is the server's layout
// (src/http/routes/pages.ts). No build step, no external resources.

const LANG_KEY = 'hotline.lang';

const STRINGS = {
  'app.title': ['12345 政务服务便民热线', '12345 Government Service Hotline'],
  'lang.toggle': ['English', '中文'],
  'logout': ['退出登录', 'Log out'],
  'loading': ['加载中…', 'Loading…'],
  'saved': ['已保存', 'Saved'],
  'error': ['出错了', 'Error'],
  'error.network': ['网络错误，请稍后重试', 'Network error, please retry'],
  'error.field': ['字段 {field}', 'Field {field}'],
  'error.forbidden.page': ['当前账号无权使用此页面。', 'Your account may not use this page.'],
  'none': ['无', 'none'],
  'tz.short': ['北京时间', 'UTC+8'],
  'tz.label': ['北京时间（UTC+8）', 'China Standard Time (UTC+8)'],
  'role.admin': ['系统管理员', 'Administrator'],
  'role.supervisor': ['班长', 'Supervisor'],
  'role.agent': ['话务员', 'Agent'],
  'role.unit': ['承办单位', 'Handling unit'],
  'role.auditor': ['审计员', 'Auditor'],
  'role.inspector': ['质检员', 'Quality inspector'],
  'state.offline': ['离线', 'Offline'],
  'state.available': ['示闲', 'Available'],
  'state.ringing': ['振铃', 'Ringing'],
  'state.on-call': ['通话中', 'On call'],
  'state.wrap-up': ['话后处理', 'Wrap-up'],
  'state.paused': ['示忙', 'Paused'],
  'mode.hotline': ['12345 主线', '12345 hotline'],
  'mode.merged': ['整体并入', 'Merged'],
  'mode.parallel': ['双号并行', 'Parallel'],
  'mode.subcenter': ['设分中心', 'Sub-center'],
  'mode.subplatform': ['分平台', 'Sub-platform'],
  'mode.transfer': ['转接', 'Transfer'],
  'mode.linkage': ['双向联动', 'Linkage'],
  'nav.label': ['页面', 'Pages'],
  'nav.agent': ['座席', 'Agent console'],
  'nav.supervisor': ['班长监控', 'Wallboard'],
  'nav.tickets': ['工单办理台', 'Ticket desk'],
  'nav.supervision': ['督办', 'Supervision'],
  'nav.quality': ['质检', 'Quality'],
  'nav.kb': ['知识库', 'Knowledge base'],
  'nav.calendar': ['工作日历', 'Calendar'],
  'nav.admin': ['管理', 'Administration'],
  'nav.audit': ['审计日志', 'Audit log'],
};

/**
 * The console pages and the roles each admits (as its own requireUser call does), for the page
 * links under the top bar: every page a user may open is one click away (the knowledge base was
 * reachable by typing its address only). The agent console is listed for agents alone: a
 * supervisor may open it but does not take calls from it.
 */
const NAV = [
  ['/agent', 'nav.agent', ['agent']],
  ['/supervisor', 'nav.supervisor', ['supervisor', 'admin']],
  ['/tickets', 'nav.tickets', ['unit', 'supervisor', 'admin']],
  ['/supervision', 'nav.supervision', ['supervisor', 'admin', 'unit']],
  ['/quality', 'nav.quality', ['inspector', 'supervisor']],
  ['/kb', 'nav.kb', ['unit', 'supervisor', 'admin']],
  ['/calendar', 'nav.calendar', ['admin', 'supervisor']],
  ['/admin', 'nav.admin', ['admin', 'supervisor']],
  ['/audit', 'nav.audit', ['auditor']],
];

export function getLang() {
  const v = localStorage.getItem(LANG_KEY);
  return v === 'en' ? 'en' : 'zh';
}

export function setLang(lang) {
  localStorage.setItem(LANG_KEY, lang === 'en' ? 'en' : 'zh');
  applyI18n();
  for (const fn of langListeners) fn(getLang());
}

const langListeners = new Set();
/** Re-render dynamic parts when the language changes. */
export function onLangChange(fn) {
  langListeners.add(fn);
}

/** Page-specific strings: { key: [zh, en] }. */
export function addStrings(dict) {
  Object.assign(STRINGS, dict);
}

// A page's own strings are data, src/web/i18n/<page>.json, named by <body data-page="…">: loaded
// before any page script runs (they import this module), so a page holds only its markup and logic.
const PAGE = document.body?.dataset.page;
if (PAGE) {
  const res = await fetch(`/web/i18n/${encodeURIComponent(PAGE)}.json`).catch(() => undefined);
  if (res?.ok) addStrings(await res.json());
}

/** The request categories (诉求类别) in their order; each page's strings name them `cat.<value>`. */
export const CATEGORIES = ['consult', 'help', 'complaint', 'report', 'suggestion'];
// A <select data-categories> gets one option per category after the ones it holds (a "choose" option).
for (const sel of document.querySelectorAll('select[data-categories]')) {
  for (const value of CATEGORIES) {
    const o = document.createElement('option');
    o.value = value;
    o.dataset.i18n = `cat.${value}`;
    sel.append(o);
  }
}

/** The text of `key` in the current language, `{name}` replaced from `vars`. */
export function t(key, vars = {}) {
  const pair = STRINGS[key];
  const text = pair ? pair[getLang() === 'en' ? 1 : 0] : key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (vars[k] === undefined ? `{${k}}` : String(vars[k])));
}

/** Fill `data-i18n` (text), `data-i18n-placeholder`, `data-i18n-title` and `data-i18n-aria` elements. */
export function applyI18n(root = document) {
  document.documentElement.lang = getLang() === 'en' ? 'en' : 'zh-CN';
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  const titleKey = document.body?.dataset.titleKey;
  if (titleKey) document.title = `${t(titleKey)} · 12345`;
}

// ---- DOM helpers ------------------------------------------------------------------------------

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Build an element: h('td', { class: 'x', dataset: { id } }, 'text', child…). Text is never parsed as HTML. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function fmtDuration(sec) {
  const s = Math.max(0, Math.round(sec));
  const m = Math.floor(s / 60);
  const hh = Math.floor(m / 60);
  const pad = (n) => String(n).padStart(2, '0');
  return hh > 0 ? `${hh}:${pad(m % 60)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

// ---- times: always the city's, whatever the browser's time zone -------------------------------------

/** The city's time zone. Every time a page shows is in it, labelled (tz.*), so a browser set to UTC reads the same. */
export const CITY_TZ = 'Asia/Shanghai';

const partsFmt = new Intl.DateTimeFormat('en-GB', {
  timeZone: CITY_TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
});

/** { y, mo, d, h, mi, s } of an instant in the city, as zero-padded strings. */
export function cityParts(ms) {
  const p = {};
  for (const x of partsFmt.formatToParts(new Date(ms))) p[x.type] = x.value;
  return { y: p.year, mo: p.month, d: p.day, h: p.hour, mi: p.minute, s: p.second };
}

/** `YYYY-MM-DD HH:mm:ss` in the city (the same in both languages: no day/month order to misread). */
export function fmtTime(ms) {
  if (!ms) return '';
  const p = cityParts(ms);
  return `${p.y}-${p.mo}-${p.d} ${p.h}:${p.mi}:${p.s}`;
}

/** `MM-DD HH:mm` in the city, for lists. */
export function fmtShort(ms) {
  if (!ms) return '';
  const p = cityParts(ms);
  return `${p.mo}-${p.d} ${p.h}:${p.mi}`;
}

/** `HH:mm:ss` (or `HH:mm` with `seconds: false`) in the city. */
export function fmtClock(ms, seconds = true) {
  if (!ms) return '';
  const p = cityParts(ms);
  return seconds ? `${p.h}:${p.mi}:${p.s}` : `${p.h}:${p.mi}`;
}

/** A single time shown on its own, with the zone: `2026-12-01 09:20:00 北京时间`. */
export function fmtTimeTz(ms) {
  return ms ? `${fmtTime(ms)} ${t('tz.short')}` : '';
}

/** The city's calendar day `YYYY-MM-DD` of an instant (default: now). */
export function cityDate(ms = Date.now()) {
  const p = cityParts(ms);
  return `${p.y}-${p.mo}-${p.d}`;
}

/** Epoch ms of the city's midnight starting `YYYY-MM-DD` (China keeps UTC+8 all year). */
export function cityDayStart(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  return Date.UTC(y, m - 1, d) - 8 * 3600_000;
}

/** A `datetime-local` value (`YYYY-MM-DDTHH:mm`, typed as city time) as ISO 8601 with the city's offset. */
export function cityLocalToIso(value) {
  if (!value) return '';
  return `${value.length === 16 ? value + ':00' : value}+08:00`;
}

/** A small label naming the zone, for column headers and panels (follows the language). */
export function tzTag() {
  return h('span', { class: 'tz', 'data-i18n': 'tz.label', title: 'Asia/Shanghai' }, t('tz.label'));
}

export function fmtPercent(x) {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–';
}

// ---- API --------------------------------------------------------------------------------------

let csrfToken = '';

/** An API error: HTTP status plus the server's `{error:{code,message,field?,details?}}`. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'http-' + status;
    this.field = e.field;
    this.details = e.details;
  }
}

/** fetch a JSON API with the session cookie and, for writes, the CSRF header. */
export async function api(method, url, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res;
  try {
    res = await fetch(url, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { error: { code: 'network', message: t('error.network') } });
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = {};
  }
  if (res.status === 401 && !url.startsWith('/api/auth/login')) {
    // A page may keep itself open on a lost session (the agent console with a live call or a
    // registered softphone must never be torn down by its own login state): then no redirect.
    if (!(unauthorizedHandler && unauthorizedHandler(url) === true)) goLogin();
    throw new ApiError(401, json);
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

let unauthorizedHandler = null;
/**
 * `fn(url)` is asked first when an API call answers 401; returning true keeps the page (no redirect
 * to /login): the page then says so itself and offers to log in again beside it.
 */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

export function setCsrf(token) {
  csrfToken = token || '';
}

function goLogin() {
  const next = location.pathname + location.search;
  location.href = `/login?next=${encodeURIComponent(next)}`;
}

/** Where a user lands after login. */
export function homeOf(roles) {
  const homes = { agent: '/agent', supervisor: '/supervisor', admin: '/admin', auditor: '/audit', inspector: '/quality', unit: '/tickets' };
  for (const r of roles || []) if (homes[r]) return homes[r];
  return null;
}

/**
 * The logged-in user (redirects to /login when there is none). When `roles` is given and the
 * user has none of them, the page body is replaced by a notice and null is returned.
 */
export async function requireUser(roles) {
  const me = await api('GET', '/api/auth/me');
  setCsrf(me.csrfToken);
  const user = me.user;
  if (roles && !user.roles.some((r) => roles.includes(r))) {
    const home = homeOf(user.roles);
    document.querySelector('main')?.replaceChildren(
      h('p', { class: 'msg err', role: 'alert' }, t('error.forbidden.page'), ' ', home ? h('a', { href: home }, home) : ''),
    );
    return null;
  }
  return user;
}

/** The top bar: title, user, language toggle, logout. */
export function renderHeader(user, titleKey) {
  const bar = h(
    'header',
    { class: 'topbar' },
    h('strong', { class: 'brand' }, h('span', { 'data-i18n': 'app.title' }, t('app.title')), ' · ', h('span', { 'data-i18n': titleKey }, t(titleKey))),
    h('span', { class: 'spacer' }),
    user
      ? h('span', { class: 'who', id: 'who' }, `${user.displayName || user.username} (${user.roles.map((r) => t('role.' + r)).join(', ')})`)
      : '',
    langButton(),
    user
      ? h('button', {
          type: 'button',
          id: 'logout',
          'data-i18n': 'logout',
          onclick: async () => {
            try {
              await api('POST', '/api/auth/logout');
            } finally {
              location.href = '/login';
            }
          },
        }, t('logout'))
      : '',
  );
  document.body.prepend(bar);
  const pages = user ? NAV.filter(([, , roles]) => user.roles.some((r) => roles.includes(r))) : [];
  // One page only (an agent, an auditor): nothing to go to.
  if (pages.length > 1) {
    bar.after(h('nav', { class: 'pagenav', id: 'pagenav', 'data-i18n-aria': 'nav.label', 'aria-label': t('nav.label') },
      ...pages.map(([href, key]) => h('a', { href, 'data-i18n': key, ...(location.pathname === href ? { 'aria-current': 'page' } : {}) }, t(key)))));
  }
  onLangChange(() => {
    const who = document.getElementById('who');
    if (who && user) who.textContent = `${user.displayName || user.username} (${user.roles.map((r) => t('role.' + r)).join(', ')})`;
  });
  return bar;
}

export function langButton() {
  const b = h('button', { type: 'button', id: 'lang', class: 'lang', 'data-i18n': 'lang.toggle' }, t('lang.toggle'));
  b.addEventListener('click', () => setLang(getLang() === 'zh' ? 'en' : 'zh'));
  return b;
}

// ---- messages and errors ---------------------------------------------------------------------------

/** Show a success (or neutral) message in `box`. */
export function showOk(box, text) {
  box.className = 'msg ok';
  box.setAttribute('role', 'status');
  box.replaceChildren(text);
}

export function clearMsg(box) {
  box.className = 'msg';
  box.replaceChildren();
}

/**
 * Wire a form: on submit the default is prevented, `box` and the form's field marks are cleared,
 * then `handler(form)` runs; an error it throws is shown in `box`, naming the field, marked in the
 * form. `fields` renames a server's field to the form's input (e.g. `{ ticketId: 'ticketNo' }`).
 */
export function onSubmit(form, box, handler, fields = {}) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearMsg(box);
    clearFieldErrors(form);
    try {
      await handler(form);
    } catch (err) {
      if (err && Object.hasOwn(fields, err.field)) err.field = fields[err.field];
      showError(box, err, form);
    }
  });
}

/**
 * Show an error in `box`, naming the field. When `form` is given, the input named like the field
 * is marked invalid and gets the message beside it. `details` of field errors are listed.
 */
export function showError(box, err, form) {
  box.className = 'msg err';
  box.setAttribute('role', 'alert');
  const parts = [];
  const field = err && err.field;
  const message = (err && err.message) || String(err);
  if (field && !message.startsWith(field + ':')) parts.push(h('code', { class: 'field' }, field), ': ');
  parts.push(message);
  const children = [h('div', {}, ...parts)];
  if (Array.isArray(err && err.details) && err.details.length > 0 && err.details.some((d) => d && d.field !== undefined)) {
    children.push(fieldErrorList(err.details));
  }
  box.replaceChildren(...children);
  if (form) {
    clearFieldErrors(form);
    if (field) markField(form, field, message);
  }
}

/** A list of {field, message} errors with their paths. */
export function fieldErrorList(list) {
  return h('ul', { class: 'field-errors' }, list.map((e) => h('li', {}, h('code', { class: 'field' }, e.field || '(table)'), ' ', e.message)));
}

export function clearFieldErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.field-msg')) el.remove();
}

/** Mark the input named `field` in `form` with `message`; returns whether one was found. */
export function markField(form, field, message) {
  const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
  if (!input) return false;
  input.setAttribute('aria-invalid', 'true');
  const msg = h('div', { class: 'field-msg', role: 'alert' }, message);
  (input.closest('label') ?? input).after(msg);
  return true;
}

// ---- the shared look ------------------------------------------------------------------------------

const CSS_TEXT = `
:root { --fg:#1d2733; --muted:#5b6878; --line:#d5dce5; --bg:#f4f6f9; --card:#fff; --accent:#0b5cad; --ok:#1c7c3a; --err:#b00020; --warn:#a86400; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.5 system-ui, "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; color:var(--fg); background:var(--bg); }
.topbar { display:flex; align-items:center; gap:.75rem; padding:.55rem 1rem; background:#0b3a66; color:#fff; }
.topbar .brand { font-size:1rem; }
.topbar .spacer { flex:1; }
.topbar button { background:transparent; color:#fff; border:1px solid #8fb3d9; }
.pagenav { display:flex; flex-wrap:wrap; gap:.2rem 1rem; padding:.3rem 1rem; background:#e6edf5; border-bottom:1px solid var(--line); font-size:.9rem; }
.pagenav a { color:var(--accent); text-decoration:none; }
.pagenav a:hover { text-decoration:underline; }
.pagenav a[aria-current="page"] { color:var(--fg); font-weight:600; }
main { padding:1rem; max-width:1400px; margin:0 auto; }
h1 { font-size:1.3rem; margin:.2rem 0 1rem; }
h2 { font-size:1.05rem; margin:0 0 .6rem; }
h3 { font-size:.95rem; margin:.8rem 0 .4rem; }
.grid { display:grid; gap:1rem; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); align-items:start; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:.9rem 1rem; }
.wide { grid-column: 1 / -1; }
button { font:inherit; padding:.35rem .8rem; border:1px solid #9aa7b6; border-radius:5px; background:#fff; color:var(--fg); cursor:pointer; }
button:hover:not(:disabled) { border-color:var(--accent); }
button.primary { background:var(--accent); border-color:var(--accent); color:#fff; }
button.danger { background:#fff3f3; border-color:#d99; color:var(--err); }
button:disabled { opacity:.5; cursor:default; }
input, select, textarea { font:inherit; padding:.3rem .45rem; border:1px solid #aab6c4; border-radius:4px; background:#fff; color:var(--fg); }
textarea { width:100%; }
label { display:inline-flex; flex-direction:column; gap:.15rem; margin:0 .6rem .5rem 0; color:var(--muted); font-size:.85rem; }
label > input, label > select, label > textarea { color:var(--fg); font-size:.95rem; }
label.inline { flex-direction:row; align-items:center; gap:.3rem; }
label.block { display:flex; }
[aria-invalid="true"] { border-color:var(--err); background:#fff6f6; }
.field-msg { color:var(--err); font-size:.85rem; margin:-.3rem 0 .5rem; }
.msg { min-height:1.2rem; margin:.4rem 0; }
.msg.ok { color:var(--ok); }
.msg.err { color:var(--err); }
.msg.info { color:var(--muted); }
.field-errors { margin:.3rem 0 0; padding-left:1.2rem; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size:.88em; }
code.field { background:#fde8ea; color:var(--err); padding:0 .25rem; border-radius:3px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:.3rem .45rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:.85rem; background:#f8fafc; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
.badge { display:inline-block; padding:.05rem .5rem; border-radius:999px; font-size:.8rem; border:1px solid var(--line); background:#eef2f6; white-space:nowrap; }
.badge.available { background:#e3f5e8; color:var(--ok); border-color:#a6d8b4; }
.badge.paused, .badge.wrap-up { background:#fff4df; color:var(--warn); border-color:#e8c98c; }
.badge.ringing, .badge.on-call { background:#e4efff; color:var(--accent); border-color:#9cc0ec; }
.badge.offline { background:#eee; color:#666; }
.badge.ok { background:#e3f5e8; color:var(--ok); border-color:#a6d8b4; }
.badge.bad { background:#fde8ea; color:var(--err); border-color:#eab0b8; }
.row { display:flex; flex-wrap:wrap; gap:.4rem; align-items:center; margin:.3rem 0; }
.kpis { display:grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap:.6rem; }
.kpi { background:#f8fafc; border:1px solid var(--line); border-radius:6px; padding:.5rem .7rem; }
.kpi .v { font-size:1.5rem; font-weight:600; font-variant-numeric: tabular-nums; }
.kpi .l { color:var(--muted); font-size:.8rem; }
dl.kv { display:grid; grid-template-columns: max-content 1fr; gap:.25rem .8rem; margin:0; }
dl.kv dt { color:var(--muted); }
dl.kv dd { margin:0; }
.muted { color:var(--muted); }
ol.path, ul.plain { margin:.2rem 0; padding-left:1.3rem; }
.tabs { display:flex; gap:.3rem; margin-bottom:1rem; flex-wrap:wrap; }
.tabs button[aria-selected="true"] { background:var(--accent); color:#fff; border-color:var(--accent); }
.hidden { display:none !important; }
.tz { color:var(--muted); font-size:.78rem; font-weight:400; white-space:nowrap; }
th .tz { display:block; }
`;

function injectStyle() {
  if (document.getElementById('hotline-style')) return;
  const s = document.createElement('style');
  s.id = 'hotline-style';
  s.textContent = CSS_TEXT;
  document.head.append(s);
}

injectStyle();
