// The kb-public page's logic (its markup: kb-public.html, its strings: i18n/kb-public.json).
import { applyI18n, api, langButton, onLangChange, t, $, h, showError, clearMsg, fmtTime } from './common.js';

async function search(ev) {
  ev?.preventDefault();
  const msg = $('#pub-msg');
  clearMsg(msg);
  const q = $('#pub-q').value.trim();
  try {
    const r = await api('GET', `/api/public/kb${q ? `?q=${encodeURIComponent(q)}` : ''}`);
    $('#pub-results').replaceChildren(...(r.results.length ? r.results.map((x) => h('li', { dataset: { id: x.id } },
      h('a', { href: '#' + x.id, onclick: (e) => { e.preventDefault(); void show(x.id); } }, x.title), h('div', {}, x.shortAnswer)))
      : [h('li', { class: 'muted' }, t('pub.none'))]));
  } catch (err) {
    showError(msg, err);
  }
}

async function show(id) {
  try {
    const a = (await api('GET', `/api/public/kb/${encodeURIComponent(id)}`)).article;
    const box = $('#pub-article');
    box.classList.remove('hidden');
    box.querySelector('.title').textContent = a.title;
    box.querySelector('.short').textContent = a.shortAnswer;
    box.querySelector('.body').textContent = a.body;
    box.querySelector('.meta').textContent = t('pub.meta', { src: a.sourceDepartment || '12345', at: fmtTime(a.publishedAt) });
  } catch (err) {
    showError($('#pub-msg'), err);
  }
}

document.body.prepend(h('header', { class: 'topbar' }, h('strong', { class: 'brand' }, '12345 · ', h('span', { 'data-i18n': 'pub.title' }, t('pub.title'))), h('span', { class: 'spacer' }), langButton()));
applyI18n();
onLangChange(() => applyI18n());
$('#pub-form').addEventListener('submit', search);
await search();
