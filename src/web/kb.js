// The kb page's logic (its markup: kb.html, its strings: i18n/kb.json).
import { applyI18n, api, requireUser, renderHeader, onLangChange, t, $, $$, h, showError, showOk, clearMsg, clearFieldErrors, fmtTime, cityLocalToIso, cityParts } from './common.js';

let user = null;
let centre = false;
let articles = [];
let current = null;

const list = (v) => v.split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean);
const localOf = (ms) => {
  if (ms === undefined || ms === null) return '';
  const p = cityParts(ms);
  return `${p.y}-${p.mo}-${p.d}T${p.h}:${p.mi}`;
};

function renderList() {
  const body = $('#kb-list tbody');
  body.replaceChildren(...(articles.length ? articles.map((a) => h('tr', { class: current && current.id === a.id ? 'sel' : '', dataset: { id: a.id }, onclick: () => void open(a.id) },
    h('td', {}, a.title, a.expired ? h('span', { class: 'status retired' }, ' ', t('kb.expired')) : ''), h('td', {}, a.ownerUnit),
    h('td', {}, h('span', { class: `status ${a.status}` }, t('st.' + a.status))), h('td', {}, String(a.version), a.liveVersion ? ` / ${a.liveVersion}` : '')))
    : [h('tr', {}, h('td', { colspan: 4, class: 'muted' }, t('kb.none')))]));
}

async function loadList() {
  articles = (await api('GET', '/api/kb/articles')).articles;
  renderList();
  const r = await api('GET', '/api/kb/reminders');
  $('#kb-reminders').replaceChildren(...(r.reminders.length ? r.reminders.map((x) => h('li', { class: 'reminder' }, t('kb.reminder', { title: x.title, at: fmtTime(x.validUntil) })))
    : [h('li', { class: 'muted' }, t('kb.noReminders'))]));
}

function fill(a) {
  const f = $('#kb-form');
  f.reset();
  for (const k of ['title', 'shortAnswer', 'shortAnswerEn', 'body', 'category', 'sourceDepartment']) f[k].value = a ? a[k] ?? '' : '';
  for (const k of ['keywords', 'lines', 'skills', 'units']) f[k].value = a ? (a[k] ?? []).join('，') : '';
  f.validFrom.value = a ? localOf(a.validFrom) : '';
  f.validUntil.value = a ? localOf(a.validUntil) : '';
  $('#kb-editing').textContent = a ? t('kb.edit', { id: a.id }) : t('kb.new');
  $('#kb-state').textContent = a ? `${t('st.' + a.status)} · v${a.version} · ${a.live ? t('kb.live', { v: a.live.version }) : t('kb.notLive')}` : '';
  for (const b of $$('#kb-form button[data-action]')) b.disabled = !a;
}

async function open(id) {
  clearMsg($('#kb-msg'));
  const r = await api('GET', `/api/kb/articles/${encodeURIComponent(id)}`);
  current = r.article;
  fill(current);
  $('#kb-history').replaceChildren(...r.history.map((e) => h('li', {}, `v${e.version} · ${fmtTime(e.at)} · ${e.actor} · ${t('ev.' + e.action)}${e.note ? ' · ' + e.note : ''}`)));
  renderList();
}

function body() {
  const f = $('#kb-form');
  const b = { title: f.title.value, body: f.body.value, shortAnswer: f.shortAnswer.value, shortAnswerEn: f.shortAnswerEn.value, category: f.category.value, sourceDepartment: f.sourceDepartment.value,
    keywords: list(f.keywords.value), lines: list(f.lines.value), skills: list(f.skills.value), units: list(f.units.value) };
  if (f.validFrom.value) b.validFrom = cityLocalToIso(f.validFrom.value);
  if (f.validUntil.value) b.validUntil = cityLocalToIso(f.validUntil.value);
  if (!current && centre && f.ownerUnit.value.trim()) b.ownerUnit = f.ownerUnit.value.trim();
  return b;
}

async function save(ev) {
  ev.preventDefault();
  const f = $('#kb-form');
  const msg = $('#kb-msg');
  clearMsg(msg);
  clearFieldErrors(f);
  try {
    const r = current ? await api('PUT', `/api/kb/articles/${encodeURIComponent(current.id)}`, { ...body(), version: current.version }) : await api('POST', '/api/kb/articles', body());
    await loadList();
    await open(r.article.id);
    showOk(msg, t('kb.saved', { v: r.article.version }));
  } catch (err) {
    showError(msg, err, f);
  }
}

async function act(action) {
  const f = $('#kb-form');
  const msg = $('#kb-msg');
  clearMsg(msg);
  clearFieldErrors(f);
  if (!current) return;
  try {
    const note = f.note.value.trim();
    const r = await api('POST', `/api/kb/articles/${encodeURIComponent(current.id)}/${action}`, { version: current.version, ...(note ? { note } : {}) });
    await loadList();
    await open(r.article.id);
    showOk(msg, t('kb.done', { s: t('st.' + r.article.status), v: r.article.version }));
  } catch (err) {
    showError(msg, err, f);
  }
}

user = await requireUser(['unit', 'supervisor', 'admin']);
if (user) {
  centre = user.roles.includes('supervisor') || user.roles.includes('admin');
  renderHeader(user, 'kb.title');
  applyI18n();
  for (const b of $$('#kb-form .centre')) b.classList.toggle('hidden', !centre);
  $('#kb-owner-l').classList.toggle('hidden', !centre);
  onLangChange(() => { renderList(); fill(current); });
  $('#kb-form').addEventListener('submit', save);
  $('#kb-new').addEventListener('click', () => { current = null; fill(null); $('#kb-history').replaceChildren(); renderList(); });
  for (const b of $$('#kb-form button[data-action]')) b.addEventListener('click', () => void act(b.dataset.action));
  fill(null);
  await loadList();
}
