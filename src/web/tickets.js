// The tickets page's logic (its markup: tickets.html, its strings: i18n/tickets.json).
import { applyI18n, api, requireUser, renderHeader, onLangChange, getLang, t, $, $$, h, showError, showOk, clearMsg, clearFieldErrors, fmtTime, fmtShort as fmtShortCity } from './common.js';

const STATES = ['received', 'answered-directly', 'dispatched', 'accepted', 'returned', 'supervisor-review', 'in-progress', 'reply-review', 'replied', 'called-back', 'rated', 'closed', 'reopened'];
/** States whose finish clock still runs (the unit has not replied yet). */
const CLOCK_RUNS = ['dispatched', 'accepted', 'in-progress', 'reopened'];
const STATE_CLASS = {
  received: 'st-warn', 'answered-directly': 'st-done', dispatched: 'st-open', accepted: 'st-open', returned: 'st-warn', 'supervisor-review': 'st-warn',
  'in-progress': 'st-open', replied: 'st-done', 'called-back': 'st-done', rated: 'st-done', closed: 'st-closed', reopened: 'st-open',
  'reply-review': 'st-warn', 'reply-refused': 'st-warn',
};

// What the user may do comes with the ticket (GET /api/tickets/:no → actions, each with the role acted as);
// the page only arranges it. The server stays the judge and its refusals are shown.
/** The desk's work per acting role: a unit handles, a supervisor dispatches, supervises and closes. */
const DESK = {
  unit: ['accept', 'start', 'return', 'extend', 'plan', 'reply'],
  supervisor: ['dispatch', 'approve-reply', 'refuse-reply', 'extend', 'plan', 'callback', 'rate', 'reopen', 'close'],
};
const ORDER = ['accept', 'start', 'reply', 'approve-reply', 'refuse-reply', 'dispatch', 'callback', 'rate', 'close', 'extend', 'plan', 'return', 'reopen'];

// City time (common.js), whatever the browser's zone; the headers say so.
const fmtSh = (ms) => (ms ? fmtTime(ms) : '–');
const fmtShort = (ms) => (ms ? fmtShortCity(ms) : '–');
const tOr = (key, fallback) => { const v = t(key); return v === key ? fallback : v; };
const stateName = (s) => tOr('st.' + s, s);
const stateBadge = (s) => h('span', { class: `badge state ${STATE_CLASS[s] ?? ''}`, dataset: { state: s } }, stateName(s));
const joinUnits = (us) => (us && us.length ? us.join('、') : '–');
const sep = () => (getLang() === 'en' ? '; ' : '；');
/** Texts the server writes are "中文 / English": the current language's half. */
const bi = (text) => { const s = String(text ?? ''); const i = s.indexOf(' / '); return i < 0 ? s : getLang() === 'en' ? s.slice(i + 3) : s.slice(0, i); };

let user = null;
let rows = [];
let overdueSet = new Set();
let current = null; // { stored, ticket, flags, actions, returnClosedByReview }
let chosen = null; // the action whose form is open
const knownUnits = new Set();
/** Outcome messages as key + values, so that they follow the language toggle. */
let okMsg = null;

/** The role the user acts as for an action the server offers on the open ticket, or null. */
function actingRole(action) {
  return current?.actions.find((x) => x.action === action)?.as ?? null;
}

/** The actions offered on the open ticket: the server's, those that belong on this desk for the role acted as. */
function actionsFor() {
  return ORDER.filter((a) => {
    const role = actingRole(a);
    return !!role && !!DESK[role]?.includes(a);
  });
}

function remember(units) {
  for (const u of units ?? []) if (u) knownUnits.add(u);
}
function renderUnitNames() {
  $('#unit-names').replaceChildren(...[...knownUnits].sort((a, b) => a.localeCompare(b, 'zh-CN')).map((u) => h('option', { value: u })));
}

// ---- the list ------------------------------------------------------------------------------

function isOverdue(r) {
  return overdueSet.has(r.ticketNo) || (r.finishBy !== null && r.finishBy < Date.now() && CLOCK_RUNS.includes(r.state));
}

function renderStates() {
  const sel = $('#f-state');
  const v = sel.value;
  sel.replaceChildren(h('option', { value: '' }, t('tk.allStates')), ...STATES.map((s) => h('option', { value: s }, stateName(s))));
  sel.value = v;
}

function renderList() {
  const body = $('#tickets tbody');
  body.replaceChildren(...(rows.length
    ? rows.map((r) => {
        const late = isOverdue(r);
        return h('tr', {
            dataset: { no: r.ticketNo, state: r.state, overdue: late ? '1' : '0' },
            'aria-selected': current && current.stored.ticketNo === r.ticketNo ? 'true' : 'false',
            tabindex: '0',
            onclick: () => void openTicket(r.ticketNo),
            onkeydown: (ev) => { if (ev.key === 'Enter') void openTicket(r.ticketNo); },
          },
          h('td', { class: 'mono no' }, r.ticketNo),
          h('td', {}, stateBadge(r.state)),
          h('td', {}, tOr('cat.' + r.category, r.category)),
          h('td', { class: 'units' }, joinUnits(r.units)),
          h('td', { class: 'received', title: fmtSh(r.receivedAt) }, fmtShort(r.receivedAt)),
          h('td', { class: `due${late ? ' overdue' : ''}`, title: r.finishBy ? fmtSh(r.finishBy) : '' }, r.finishBy ? fmtShort(r.finishBy) : '–',
            late ? h('span', { class: 'badge late' }, t('tk.overdue')) : ''),
          h('td', { class: 'mono caller' }, r.caller));
      })
    : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, t('tk.none')))]));
  $('#list-count').textContent = t('tk.count', { n: rows.length, o: rows.filter(isOverdue).length });
}

async function loadList() {
  const f = $('#filter-form');
  const msg = $('#list-msg');
  const q = new URLSearchParams({ limit: '200' });
  if (f.state.value) q.set('state', f.state.value);
  const unit = user.roles.includes('unit') && !isSupervisor() ? '' : f.unit.value.trim();
  if (unit) q.set('unit', unit);
  const overdueOnly = f.overdue.checked;
  if (overdueOnly) q.set('overdue', 'true');
  const oq = new URLSearchParams({ overdue: 'true', limit: '500' });
  if (unit) oq.set('unit', unit);
  try {
    const [list, late] = await Promise.all([
      api('GET', `/api/tickets?${q}`),
      overdueOnly ? null : api('GET', `/api/tickets?${oq}`),
    ]);
    rows = list.tickets;
    overdueSet = new Set((late ?? list).tickets.map((r) => r.ticketNo));
    for (const r of rows) remember(r.units);
    renderUnitNames();
    clearMsg(msg);
    clearFieldErrors(f);
    renderList();
  } catch (err) {
    if (err.status === 401) return;
    showError(msg, err, f);
  }
}

const isSupervisor = () => user.roles.includes('supervisor') || user.roles.includes('admin');

// ---- one ticket --------------------------------------------------------------------------------

async function openTicket(no, keepMsg = false) {
  const msg = $('#detail-msg');
  clearMsg(msg);
  if (!keepMsg) { okMsg = null; clearMsg($('#action-msg')); }
  try {
    const r = await api('GET', `/api/tickets/${encodeURIComponent(no)}`);
    const switched = !current || current.stored.ticketNo !== no;
    current = { stored: r.ticket, ticket: r.ticket.ticket, flags: r.flags ?? { reminded: [] }, actions: r.actions ?? [], returnClosedByReview: r.returnClosedByReview === true };
    if (switched) chosen = null;
    history.replaceState(null, '', `/tickets?no=${encodeURIComponent(no)}`);
    $('#detail-empty').classList.add('hidden');
    $('#actions-empty').classList.add('hidden');
    $('#detail').classList.remove('hidden');
    if (current.ticket) {
      remember(current.ticket.units);
      for (const e of current.ticket.history) remember([...(e.data?.units ?? []), e.data?.suggestedUnit, ...(e.data?.previousUnits ?? [])]);
      if (current.ticket.channel.kind === 'legacy-line') remember([current.ticket.channel.unit]);
      renderUnitNames();
    }
    renderList();
    renderDetail();
    renderActions();
    if (switched) $('#desk').scrollIntoView({ block: 'nearest' });
  } catch (err) {
    if (err.status === 401) return;
    showError(msg, err);
  }
}

const kv = (key, value, attrs = {}) => [h('dt', { 'data-k': key }, t(key)), h('dd', { 'data-k': key, ...attrs }, value)];

function renderDetail() {
  if (!current) return;
  const { stored, ticket: tk, flags } = current;
  $('#d-no').textContent = stored.ticketNo;
  if (!tk) {
    $('#d-state').replaceChildren();
    $('#info').replaceChildren(...kv('tk.state', t('tk.notReady'), { class: 'muted' }));
    $('#deadlines').replaceChildren();
    $('#history tbody').replaceChildren();
    return;
  }
  $('#d-state').replaceChildren(stateBadge(tk.state));
  const ch = tk.channel;
  const channel = ch.kind === 'legacy-line'
    ? [t('tk.legacy', { number: ch.number }), ch.unit ? ` · ${t('tk.lineUnit', { unit: ch.unit })}` : '']
    : ch.kind === 'upstream'
      ? [tOr('tk.ch.' + ch.platform, ch.platform), tk.upstream ? ` · ${t('tk.upstreamNo', { no: tk.upstream.orderNo, due: `${fmtSh(tk.upstream.finishBy)} ${t('tz.short')}` })}` : '']
      : ch.kind === '12345' ? [t('tk.line12345')] : [tOr('tk.ch.' + ch.kind, ch.kind)];
  $('#info').replaceChildren(
    ...kv('tk.channel', channel),
    ...kv('tk.category', tOr('cat.' + tk.category, tk.category)),
    ...kv('tk.requester', tOr('req.' + tk.requesterKind, tk.requesterKind)),
    ...kv('tk.urgency', tOr('urg.' + tk.urgency, tk.urgency)),
    ...kv('tk.caller', [h('span', { class: 'mono', id: 'd-caller' }, tk.callerNumber), ' ', h('span', { class: 'muted mask-note' }, t('tk.maskNote')),
      h('div', { class: 'row', id: 'call-row' }, h('button', { type: 'button', class: 'primary', id: 'call-citizen', title: t('oc.hint'), onclick: () => void callCitizen(stored.ticketNo) }, t('oc.call')), h('span', { class: 'muted' }, t('oc.hint'))),
      h('div', { class: 'msg', id: 'call-msg', 'aria-live': 'polite' }),
      h('ul', { id: 'outbound-calls', class: 'calls' })]),
    ...kv('tk.received', `${fmtSh(tk.receivedAt)} ${t('tz.short')}`),
    ...kv('tk.units', joinUnits(tk.units)),
    ...kv('tk.summary', tk.summary || '–', { class: 'summary', id: 'd-summary' }),
    ...(tk.repeatOf ? kv('tk.repeatOf', h('a', { href: `/tickets?no=${encodeURIComponent(tk.repeatOf)}`, class: 'mono', onclick: (ev) => { ev.preventDefault(); void openTicket(tk.repeatOf); } }, tk.repeatOf)) : []),
    ...(tk.returnCount ? kv('tk.returns', String(tk.returnCount)) : []),
    // The knowledge-base articles the agent answered from (the call's form), and whether each helped:
    // the unit sees what the citizen was already told.
    ...(stored.form?.knowledge?.length
      ? kv('tk.knowledge', h('ul', { id: 'd-knowledge', class: 'kb-refs' }, stored.form.knowledge.map((k) => h('li', { dataset: { article: k.articleId, helped: String(k.helped) } },
        h('span', { class: 'kb-title' }, k.title), ` · v${k.version} · `, h('span', { class: k.helped ? 'ok' : 'muted' }, t(k.helped ? 'tk.kbHelped' : 'tk.kbNotHelped'))))))
      : []),
  );
  renderDeadlines(tk, flags);
  renderHistory(tk);
  void loadCalls(stored.ticketNo);
}

// ---- click-to-call (外呼): the server dials; the page never gets a number ---------------------

let callsTimer = null;
async function loadCalls(no) {
  clearTimeout(callsTimer);
  let calls = [];
  try {
    calls = (await api('GET', `/api/tickets/${encodeURIComponent(no)}/calls`)).calls ?? [];
  } catch { return; }
  if (!current || current.stored.ticketNo !== no) return;
  const ul = $('#outbound-calls');
  if (!ul) return;
  ul.replaceChildren(...calls.slice(0, 5).map((c) => h('li', { 'data-state': c.state, 'data-outcome': c.outcome ?? '' },
    `${fmtShort(c.startedAt)} · ${c.by} · `,
    c.state === 'ended' ? h('span', { class: c.outcome === 'answered' ? 'badge ok' : 'badge st-warn' }, t('oc.out.' + c.outcome)) : h('span', { class: 'badge' }, t('oc.state.' + c.state)),
    c.talkSec ? ` ${t('oc.talk', { n: c.talkSec })}` : '')));
  // Follow a call in progress until it ends; then the list says how it went.
  if (calls.some((c) => c.state !== 'ended')) callsTimer = setTimeout(() => void loadCalls(no), 1500);
  else if ($('#call-msg')?.classList.contains('ok')) clearMsg($('#call-msg'));
}

async function callCitizen(no) {
  const msg = $('#call-msg');
  clearMsg(msg);
  const btn = $('#call-citizen');
  btn.disabled = true;
  try {
    await api('POST', `/api/tickets/${encodeURIComponent(no)}/calls`, {});
    showOk(msg, t('oc.placed'));
    await loadCalls(no);
  } catch (err) {
    if (err.status === 401) return;
    showError(msg, err);
  } finally {
    btn.disabled = false;
  }
}

function renderDeadlines(tk, flags) {
  const d = tk.deadlines;
  const badges = [];
  if (flags.reminded.length) badges.push(h('span', { class: 'badge st-warn', id: 'flag-reminded' }, t('flag.reminded', { n: flags.reminded.length })));
  if (flags.replyOverdueAt) badges.push(h('span', { class: 'badge bad', id: 'flag-reply-overdue' }, t('flag.replyOverdue', { at: fmtShort(flags.replyOverdueAt) })));
  if (flags.finishOverdueAt) badges.push(h('span', { class: 'badge bad', id: 'flag-finish-overdue' }, t('flag.finishOverdue', { at: fmtShort(flags.finishOverdueAt) })));
  const passed = d && d.finishBy < Date.now() && CLOCK_RUNS.includes(tk.state);
  if (passed && !flags.finishOverdueAt) badges.push(h('span', { class: 'badge bad' }, t('flag.passed')));
  if (!badges.length) badges.push(h('span', { class: 'badge ok', id: 'flag-none' }, t('flag.none')));
  $('#deadlines').replaceChildren(...(d ? [
    ...kv('tk.startedAt', fmtSh(d.startedAt)),
    ...(d.replyBy ? kv('tk.replyBy', fmtSh(d.replyBy), { id: 'd-reply-by' }) : []),
    ...kv('tk.finishBy', fmtSh(d.finishBy), { id: 'd-finish-by', class: passed || flags.finishOverdueAt ? 'overdue' : undefined }),
    ...kv('tk.remindAt', d.remindAt.length ? d.remindAt.map(fmtShort).join(sep()) : t('none')),
    ...(tk.extendedWorkingDays ? kv('tk.extended', t('tk.days', { n: tk.extendedWorkingDays }), { id: 'd-extended' }) : []),
  ] : kv('tk.finishBy', t('tk.noDeadlines'), { class: 'muted' })), ...kv('tk.flags', badges, { id: 'd-flags' }));
}

function actorText(a) {
  if (!a) return '–';
  if (a.role === 'system') return t('role.system');
  const parts = [tOr('role.' + a.role, a.role)];
  if (a.unit) parts.push(a.unit);
  parts.push(a.id);
  return parts.join(' · ');
}

/** The facts of a history entry, in words. */
function facts(e) {
  const d = e.data ?? {};
  const out = [];
  switch (e.type) {
    case 'dispatched':
      out.push(t('fact.units', { u: joinUnits(d.units) }));
      if (d.afterReview) out.push(t('fact.afterReview'));
      if (d.finishBy) out.push(t('fact.finishBy', { at: fmtShort(d.finishBy) }));
      break;
    case 'accepted':
      if (d.unit) out.push(t('fact.unit', { u: d.unit }));
      break;
    case 'returned':
      if (d.unit) out.push(t('fact.unit', { u: d.unit }));
      if (d.suggestedUnit) out.push(t('fact.suggested', { u: d.suggestedUnit }));
      break;
    case 'in-progress':
      if (d.replyLate) out.push(t('fact.replyLate'));
      break;
    case 'extended':
      if (d.kind === 'planned') out.push(t('fact.planned', { n: d.naturalDays, from: fmtShort(d.previousFinishBy), to: fmtShort(d.finishBy) }));
      else {
        out.push(t('fact.extension', { n: d.workingDays, from: fmtShort(d.previousFinishBy), to: fmtShort(d.finishBy) }));
        if (d.callerConsent) out.push(t('fact.consent'));
      }
      break;
    case 'replied':
      if (d.late) out.push(t('fact.late'));
      if (d.reviewed) out.push(t('fact.reviewed'));
      if (d.reviewLate) out.push(t('fact.reviewLate'));
      break;
    case 'reply-review':
      if (d.reviewBy) out.push(t('tk.reviewBy', { at: fmtShort(d.reviewBy) }));
      if (d.late) out.push(t('fact.late'));
      break;
    case 'reply-refused':
      if (d.reviewLate) out.push(t('fact.reviewLate'));
      break;
    case 'called-back':
      out.push(t(d.reached ? 'fact.reached' : 'fact.notReached'));
      if (d.resolved !== undefined) out.push(t(d.resolved ? 'fact.resolved' : 'fact.unresolved'));
      break;
    case 'rated':
      out.push(t('fact.rating', { s: t('survey.' + d.satisfaction) }));
      if (d.resolved !== undefined) out.push(t(d.resolved ? 'fact.resolved' : 'fact.unresolved'));
      break;
    case 'reopened':
      if (d.ground) out.push(t('fact.ground', { g: t('ground.' + d.ground) }));
      if (d.finishBy) out.push(t('fact.finishBy', { at: fmtShort(d.finishBy) }));
      break;
    default:
  }
  return out;
}

function renderHistory(tk) {
  $('#history tbody').replaceChildren(...tk.history.map((e, i) => {
    const what = e.type === 'extended' && e.data?.kind === 'planned' ? 'planned' : e.type;
    // People's words are shown as written; the system's own reasons are bilingual.
    const said = e.reason ?? e.data?.content ?? e.data?.answer;
    const text = said && e.actor?.role === 'system' ? bi(said) : said;
    const f = facts(e);
    return h('tr', { dataset: { type: e.type, i: String(i) } },
      h('td', { class: 'when' }, fmtSh(e.at)),
      h('td', { class: 'who' }, actorText(e.actor)),
      h('td', { class: 'what' }, h('span', { class: `badge ${STATE_CLASS[e.type] ?? 'st-warn'}` }, stateName(what))),
      h('td', { class: 'why' }, text ? h('div', { class: 'text' }, text) : '', f.length ? h('div', { class: 'facts' }, f.join(sep())) : '', !text && !f.length ? '–' : ''));
  }));
}

// ---- the actions ---------------------------------------------------------------------------------

/** Form controls. Labels carry data-i18n so that the toggle translates them without losing what was typed. */
const label = (key, control, cls) => h('label', { class: cls }, h('span', { 'data-i18n': key }, t(key)), control);
const textarea = (name, key, max) => label(key, h('textarea', { name, rows: '3', maxlength: String(max) }), 'block');
const textInput = (name, key, max, attrs = {}) => label(key, h('input', { name, maxlength: String(max), ...attrs }), 'block');
const numberInput = (name, key, attrs = {}) => label(key, h('input', { type: 'number', name, step: '1', inputmode: 'numeric', size: '6', ...attrs }));
const option = (value, key) => h('option', { value, 'data-i18n': key }, t(key));
const select = (name, key, options) => label(key, h('select', { name }, options));
const yesNo = (name, key, unknown) => select(name, key, [...(unknown ? [option('', 'opt.unknown')] : []), option('true', 'opt.yes'), option('false', 'opt.no')]);
const checkbox = (name, key) => h('label', { class: 'inline' }, h('input', { type: 'checkbox', name }), h('span', { 'data-i18n': key }, t(key)));

// Readers: an empty text or number is left out (the server names what is missing), the rest as typed.
const readText = (f, name) => { const v = f.elements[name].value.trim(); return v === '' ? undefined : v; };
const readNumber = (f, name) => { const v = f.elements[name].value.trim(); return v === '' ? undefined : Number(v); };
const readBool = (f, name) => { const v = f.elements[name].value; return v === '' ? undefined : v === 'true'; };
const compact = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const FORMS = {
  accept: { fields: () => [], body: () => ({}) },
  start: { fields: () => [textarea('note', 'f.note', 1000)], body: (f) => compact({ note: readText(f, 'note') }) },
  return: {
    fields: () => [textarea('reason', 'f.returnReason', 1000), textInput('suggestedUnit', 'f.suggestedUnit', 100, { list: 'unit-names' })],
    body: (f) => compact({ reason: readText(f, 'reason'), suggestedUnit: readText(f, 'suggestedUnit') }),
  },
  extend: {
    fields: () => [numberInput('workingDays', 'f.workingDays', { min: '1', max: '10' }), textarea('reason', 'f.extReason', 1000), checkbox('callerConsent', 'f.consent')],
    body: (f) => compact({ workingDays: readNumber(f, 'workingDays'), reason: readText(f, 'reason'), callerConsent: f.elements.callerConsent.checked }),
    hint: (tk) => t('hint.extend', { n: tk.extendedWorkingDays }),
  },
  plan: {
    fields: () => [numberInput('naturalDays', 'f.naturalDays', { min: '1', max: '90' }), textarea('reason', 'f.planReason', 1000)],
    body: (f) => compact({ naturalDays: readNumber(f, 'naturalDays'), reason: readText(f, 'reason') }),
  },
  reply: { fields: () => [textarea('content', 'f.content', 4000)], body: (f) => compact({ content: readText(f, 'content') }) },
  dispatch: {
    fields: (tk) => {
      // 研判 (or after a return): the unit the returning unit suggested is the first guess.
      const suggested = [...tk.history].reverse().find((e) => e.type === 'returned')?.data?.suggestedUnit;
      const units = tk.units.length ? tk.units : suggested ? [suggested] : tk.channel.unit ? [tk.channel.unit] : [];
      return [textInput('units', 'f.units', 500, { list: 'unit-names', value: units.join('、') }), textarea('reason', 'f.dispatchReason', 500)];
    },
    body: (f) => compact({ units: f.elements.units.value.split(/[、,，;；\n]+/).map((u) => u.trim()).filter(Boolean), reason: readText(f, 'reason') }),
    hint: (tk) => `${t('hint.dispatch')}${tk.state === 'supervisor-review' ? (getLang() === 'en' ? ' ' : '') + t('hint.decide') : ''}`,
  },
  callback: {
    fields: () => [yesNo('reached', 'f.reached', false), yesNo('resolved', 'f.resolved', true), textarea('note', 'f.callbackNote', 1000)],
    body: (f) => compact({ reached: readBool(f, 'reached'), resolved: readBool(f, 'resolved'), note: readText(f, 'note') }),
  },
  rate: {
    fields: () => [select('satisfaction', 'f.satisfaction', [option('', 'f.survey'), ...[1, 2, 3, 4].map((s) => option(String(s), 'survey.' + s))]), yesNo('resolved', 'f.resolved', true)],
    body: (f) => compact({ satisfaction: readNumber(f, 'satisfaction'), resolved: readBool(f, 'resolved') }),
  },
  reopen: {
    fields: () => [select('ground', 'f.ground', [option('dissatisfied', 'ground.dissatisfied'), option('not-handled', 'ground.not-handled')]), textarea('reason', 'f.reopenReason', 1000)],
    body: (f) => compact({ ground: f.elements.ground.value, reason: readText(f, 'reason') }),
  },
  close: { fields: () => [textarea('reason', 'f.closeReason', 1000)], body: (f) => compact({ reason: readText(f, 'reason') }) },
  // 审核: the pending reply is shown above the forms (#pending-reply).
  'approve-reply': { fields: () => [textarea('note', 'f.reviewNote', 1000)], body: (f) => compact({ note: readText(f, 'note') }) },
  'refuse-reply': { fields: () => [textarea('reason', 'f.refuseReason', 1000)], body: (f) => compact({ reason: readText(f, 'reason') }) },
};

const actionKey = (a, tk) => (a === 'dispatch' && tk.state === 'supervisor-review' ? 'act.decide' : 'act.' + a);
// The tab above already names the action: the form's button confirms it ("确认签收"), so no label shows twice.
const submitLabel = (a, tk) => t('tk.submit', { a: t(actionKey(a, tk)) });

function renderActions() {
  const tabs = $('#action-tabs');
  const forms = $('#action-forms');
  const review = $('#review');
  const tk = current?.ticket;
  tabs.replaceChildren();
  forms.replaceChildren();
  review.replaceChildren();
  if (!tk) return;
  const acts = actionsFor();
  // 研判: the returns the supervisor decides on.
  if (tk.state === 'supervisor-review' || tk.state === 'returned') {
    const returns = tk.history.filter((e) => e.type === 'returned');
    if (returns.length) {
      review.append(h('div', { class: 'review', id: 'review-box' }, h('h3', { 'data-i18n': 'tk.review' }, t('tk.review')),
        h('ul', {}, returns.map((e) => h('li', {}, t('tk.reviewItem', { u: e.data?.unit ?? actorText(e.actor), at: fmtShort(e.at), r: e.reason ?? '' }),
          e.data?.suggestedUnit ? t('tk.reviewSuggested', { u: e.data.suggestedUnit }) : '')))));
    }
  }
  if (tk.state === 'reply-review') {
    const p = [...tk.history].reverse().find((e) => e.type === 'reply-review');
    if (p) review.append(h('div', { class: 'review', id: 'pending-reply' }, h('h3', { 'data-i18n': 'tk.pendingReply' }, t('tk.pendingReply')),
      h('p', { class: 'text' }, p.data?.content ?? ''), h('p', { class: 'muted' }, `${actorText(p.actor)} · ${fmtShort(p.at)} · ${t('tk.reviewBy', { at: fmtShort(p.data?.reviewBy) })}`)));
  }
  if (!user.roles.includes('supervisor') && !user.roles.includes('unit')) {
    forms.append(h('p', { class: 'muted', id: 'no-actions' }, t('tk.readOnly')));
    return;
  }
  if (!acts.length) {
    forms.append(h('p', { class: 'muted', id: 'no-actions' }, t('tk.noActions')));
    if (current.returnClosedByReview && user.roles.includes('unit')) forms.append(h('p', { class: 'muted' }, t('tk.noReturn')));
    return;
  }
  if (!acts.includes(chosen)) chosen = acts[0];
  for (const a of acts) {
    tabs.append(h('button', { type: 'button', role: 'tab', id: `act-${a}`, dataset: { action: a }, 'aria-selected': a === chosen ? 'true' : 'false', onclick: () => choose(a) }, t(actionKey(a, tk))));
    forms.append(actionForm(a, tk));
  }
  if (current.returnClosedByReview && user.roles.includes('unit')) {
    forms.append(h('p', { class: 'muted' }, t('tk.noReturn')));
  }
}

function choose(a) {
  chosen = a;
  for (const b of $$('#action-tabs button')) b.setAttribute('aria-selected', b.dataset.action === a ? 'true' : 'false');
  for (const f of $$('#action-forms form')) f.classList.toggle('hidden', f.dataset.action !== a);
}

function actionForm(a, tk) {
  const spec = FORMS[a];
  const hintKey = 'hint.' + a;
  const hint = spec.hint ? spec.hint(tk) : tOr(hintKey, '');
  const box = h('div', { class: 'msg', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: a === 'return' || a === 'reopen' || a === 'refuse-reply' ? 'danger' : 'primary', id: `submit-${a}` }, submitLabel(a, tk));
  const form = h('form', { class: `action-form${a === chosen ? '' : ' hidden'}`, id: `form-${a}`, dataset: { action: a }, novalidate: true },
    hint ? h('p', { class: 'muted hint' }, hint) : '',
    ...spec.fields(tk),
    h('div', { class: 'buttons' }, submit),
    box);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearMsg(box);
    clearFieldErrors(form);
    okMsg = null;
    clearMsg($('#action-msg'));
    const no = current.stored.ticketNo;
    submit.disabled = true;
    try {
      const r = await api('POST', `/api/tickets/${encodeURIComponent(no)}/${a}`, spec.body(form));
      okMsg = { key: 'tk.done', vars: { a: actionKey(a, tk), s: r.ticket.ticket.state } };
      // A unit that returned the ticket no longer holds it (nor may read it): close it here.
      if (!isSupervisor() && !r.ticket.ticket.units.includes(user.unitId)) closeDetail();
      else await openTicket(no, true);
      showDone();
      await loadList();
    } catch (err) {
      if (err.status === 401) return;
      // The server names a unit as units[i]: that is our one units input.
      if (err.field && /^units\[\d+\]$/.test(err.field)) err.field = 'units';
      if (err.code === 'illegal-transition' && err.field === 'type') {
        // Someone else moved the ticket: show it as it is now, with the server's word.
        await openTicket(no, true);
        const m = $('#action-msg');
        m.className = 'msg err';
        m.setAttribute('role', 'alert');
        m.textContent = t('tk.conflict', { m: err.message });
        await loadList();
        return;
      }
      showError(box, err, form);
      form.querySelector('[aria-invalid="true"]')?.focus();
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function closeDetail() {
  current = null;
  chosen = null;
  history.replaceState(null, '', '/tickets');
  $('#d-no').textContent = '';
  $('#d-state').replaceChildren();
  $('#detail').classList.add('hidden');
  $('#detail-empty').classList.remove('hidden');
  $('#actions-empty').classList.remove('hidden');
  for (const id of ['#action-tabs', '#action-forms', '#review']) $(id).replaceChildren();
  renderList();
}

function showDone() {
  if (!okMsg) return;
  showOk($('#action-msg'), t(okMsg.key, { a: t(okMsg.vars.a), s: stateName(okMsg.vars.s) }));
}

function renderAll() {
  renderStates();
  renderList();
  if (current) {
    renderDetail();
    // Forms keep what was typed (their labels follow the toggle); the tabs and hints are redrawn.
    const tk = current.ticket;
    if (tk) {
      for (const b of $$('#action-tabs button')) b.textContent = t(actionKey(b.dataset.action, tk));
      for (const f of $$('#action-forms form')) {
        const spec = FORMS[f.dataset.action];
        const hint = f.querySelector('.hint');
        if (hint) hint.textContent = spec.hint ? spec.hint(tk) : t('hint.' + f.dataset.action);
        f.querySelector('button[type="submit"]').textContent = submitLabel(f.dataset.action, tk);
      }
      const box = $('#review-box');
      if (box) renderActionsReviewOnly();
      const none = $('#no-actions');
      if (none) none.textContent = t(user.roles.includes('supervisor') || user.roles.includes('unit') ? 'tk.noActions' : 'tk.readOnly');
    }
  }
  showDone();
}

function renderActionsReviewOnly() {
  // The review box has no inputs: redraw it in the new language.
  const tk = current.ticket;
  const returns = tk.history.filter((e) => e.type === 'returned');
  $('#review-box ul').replaceChildren(...returns.map((e) => h('li', {}, t('tk.reviewItem', { u: e.data?.unit ?? actorText(e.actor), at: fmtShort(e.at), r: e.reason ?? '' }),
    e.data?.suggestedUnit ? t('tk.reviewSuggested', { u: e.data.suggestedUnit }) : '')));
}

user = await requireUser(['unit', 'supervisor', 'admin']);
if (user) {
  renderHeader(user, 'tk.title');
  renderStates();
  applyI18n();
  onLangChange(renderAll);
  // Supervisors pick any unit; a unit user always sees its own (the server holds it to that).
  if (isSupervisor()) $('#f-unit-label').classList.remove('hidden');
  const params = new URLSearchParams(location.search);
  if (params.get('overdue') === 'true') $('#f-overdue').checked = true;
  if (params.get('state') && STATES.includes(params.get('state'))) $('#f-state').value = params.get('state');
  $('#filter-form').addEventListener('submit', (ev) => { ev.preventDefault(); void loadList(); });
  $('#f-state').addEventListener('change', () => void loadList());
  $('#f-overdue').addEventListener('change', () => void loadList());
  await loadList();
  setInterval(() => void loadList(), 60_000);
  const deep = params.get('no');
  if (deep && /^\d{8,30}$/.test(deep)) await openTicket(deep);
}
