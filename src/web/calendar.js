// The calendar page's logic (its markup: calendar.html, its strings: i18n/calendar.json).
import { applyI18n, api, requireUser, renderHeader, onLangChange, t, $, $$, h, showError, showOk, clearMsg, clearFieldErrors, fmtTime } from './common.js';

let view = null;
let admin = false;

function render() {
  if (!view) return;
  const c = view.coverage;
  const warn = $('#coverage-warning');
  if (c.covered) { warn.classList.add('hidden'); warn.textContent = ''; }
  else {
    const years = c.years.filter((y) => y.coverage !== 'official' && y.coverage !== 'override').map((y) => y.year).join('、');
    warn.textContent = t('cal.warn', { d: c.firstUncovered, y: years });
    warn.classList.remove('hidden');
  }
  const kv = (k, v, attrs = {}) => [h('dt', { 'data-i18n': k }, t(k)), h('dd', attrs, v)];
  $('#source').replaceChildren(
    ...kv('cal.package', `${view.source.package} ${view.source.version}`),
    ...kv('cal.official', `${Math.min(...view.source.officialYears)}–${Math.max(...view.source.officialYears)}`),
    ...kv('cal.window', `${c.from} – ${c.to}`),
    ...kv('cal.status', h('span', { class: `badge ${c.covered ? 'ok' : 'bad'}`, id: 'coverage-status' }, t(c.covered ? 'cal.covered' : 'cal.notCovered'))),
  );
  $('#years-coverage tbody').replaceChildren(...c.years.map((y) => h('tr', { dataset: { year: String(y.year) } }, h('td', {}, String(y.year)), h('td', {}, t('cov.' + y.coverage)))));
  $('#years tbody').replaceChildren(...(view.years.length ? view.years.map((y) => h('tr', { dataset: { year: String(y.year) } },
    h('td', {}, String(y.year)), h('td', {}, y.source), h('td', {}, `${y.by ?? ''} ${y.at ? fmtTime(y.at) : ''}`),
    h('td', {}, admin ? h('button', { type: 'button', class: 'danger', onclick: () => void withdraw(y.year) }, t('cal.withdraw')) : '')))
    : [h('tr', {}, h('td', { colspan: 4, class: 'muted' }, t('cal.noYears')))]));
  const days = [...view.days].sort((a, b) => a.date.localeCompare(b.date));
  $('#days tbody').replaceChildren(...(days.length ? days.map((d) => h('tr', { dataset: { date: d.date } },
    h('td', { class: 'mono' }, d.date), h('td', {}, h('span', { class: `badge ${d.kind === 'holiday' ? 'ok' : ''}` }, t('k.' + d.kind))), h('td', {}, d.name ?? ''), h('td', {}, d.note ?? ''),
    h('td', {}, `${d.by ?? ''} ${d.at ? fmtTime(d.at) : ''}`),
    h('td', {}, admin ? h('button', { type: 'button', class: 'danger', dataset: { remove: d.date }, onclick: () => void removeDay(d.date) }, t('cal.remove')) : '')))
    : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, t('cal.noDays')))]));
  $('#version').textContent = t('cal.version', { v: view.version });
}

async function load() {
  view = await api('GET', '/api/admin/calendar');
  render();
}

async function write(box, form, method, url, body) {
  clearMsg(box);
  if (form) clearFieldErrors(form);
  try {
    view = await api(method, url, body);
    render();
    showOk(box, t('cal.saved', { v: view.version }));
    return true;
  } catch (err) {
    showError(box, err, form);
    // A 409 (someone else changed it): show the current state, so a retry uses its version.
    if (err?.status === 409) await load().catch(() => undefined);
    return false;
  }
}

const removeDay = (date) => write($('#day-msg'), null, 'DELETE', `/api/admin/calendar/days/${date}?version=${view.version}`);
const withdraw = (year) => write($('#year-msg'), null, 'DELETE', `/api/admin/calendar/years/${year}?version=${view.version}`);

const user = await requireUser(['admin', 'supervisor']);
if (user) {
  admin = user.roles.includes('admin');
  for (const el of $$('.admin-only')) el.classList.toggle('hidden', !admin);
  renderHeader(user, 'cal.title');
  applyI18n();
  onLangChange(() => { render(); for (const id of ['#day-msg', '#year-msg']) if ($(id).classList.contains('ok')) clearMsg($(id)); });
  $('#day-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const body = { version: view.version, date: f.date.value, kind: f.kind.value };
    if (f.elements.name.value.trim()) body.name = f.elements.name.value.trim();
    if (f.note.value.trim()) body.note = f.note.value.trim();
    if (await write($('#day-msg'), f, 'POST', '/api/admin/calendar/days', body)) { f.elements.name.value = ''; f.note.value = ''; }
  });
  $('#year-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const year = f.year.value.trim();
    if (await write($('#year-msg'), f, 'PUT', `/api/admin/calendar/years/${encodeURIComponent(year || '-')}`, { version: view.version, source: f.source.value })) f.reset();
  });
  await load();
}
