// The audit page's logic (its markup: audit.html, its strings: i18n/audit.json).
import { applyI18n, api, requireUser, renderHeader, onLangChange, t, $, h, showError, clearMsg, clearFieldErrors, fmtTime } from './common.js';

let entries = [];
let next = null;

function actionLabel(a) {
  const k = 'act.' + a;
  const label = t(k);
  return label === k ? a : `${label} (${a})`;
}

function render() {
  const body = $('#audit-table tbody');
  body.replaceChildren(...(entries.length
    ? entries.map((e) => h('tr', { dataset: { action: e.action } },
        h('td', {}, fmtTime(e.at)), h('td', {}, e.actor), h('td', {}, actionLabel(e.action)),
        h('td', { class: 'mono' }, e.target ?? ''), h('td', {}, e.detail ?? ''), h('td', { class: 'mono' }, e.ip ?? '')))
    : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, t('audit.none')))]));
  $('#a-more').classList.toggle('hidden', !next);
}

async function search(more) {
  const f = $('#audit-form');
  const msg = $('#audit-msg');
  clearMsg(msg);
  clearFieldErrors(f);
  const q = new URLSearchParams();
  for (const k of ['action', 'actor', 'target']) if (f[k].value.trim()) q.set(k, f[k].value.trim());
  q.set('limit', '100');
  if (more && next) q.set('before', next);
  try {
    const r = await api('GET', `/api/audit?${q}`);
    entries = more ? entries.concat(r.entries) : r.entries;
    next = r.next ?? null;
    render();
    msg.className = 'msg info';
    msg.textContent = t('audit.count', { n: entries.length });
  } catch (err) {
    showError(msg, err, f);
  }
}

const user = await requireUser(['auditor']);
if (user) {
  renderHeader(user, 'audit.title');
  applyI18n();
  onLangChange(render);
  $('#audit-form').addEventListener('submit', (ev) => { ev.preventDefault(); void search(false); });
  $('#a-more').addEventListener('click', () => void search(true));
  await search(false);
}
