// The supervision page's logic (its markup: supervision.html, its strings: i18n/supervision.json).
import { applyI18n, api, requireUser, renderHeader, onLangChange, getLang, t, $, $$, h, showError, showOk, clearMsg, clearFieldErrors, onSubmit, fmtTime, fmtShort, fmtPercent, cityDate } from './common.js';

let user;
let centre = false;
let orders = [];
let selected = null;
let lastRanking = null;
let bulletins = [];
let campaigns = [];

/** Texts the server writes are "中文 / English": the current language's half (people's words are shown as written). */
const bi = (text) => { const s = String(text ?? ''); const i = s.indexOf(' / '); return i < 0 ? s : getLang() === 'en' ? s.slice(i + 3) : s.slice(0, i); };
const pctCell = (r) => h('td', {}, r.rate === null ? '–' : [h('span', { class: 'bar', style: `width:${Math.round(r.rate * 60)}px` }), `${fmtPercent(r.rate)} (${r.numerator}/${r.denominator})`]);

function renderOrders() {
  const body = $('#orders tbody');
  body.replaceChildren(...(orders.length ? orders.map((o) => h('tr', { dataset: { id: o.id, trigger: o.trigger }, class: selected === o.id ? 'selected' : '', style: 'cursor:pointer', onclick: () => select(o.id) },
    h('td', { class: 'mono' }, o.id),
    h('td', { class: 'mono' }, o.target.kind === 'ticket' ? h('a', { href: `/tickets?no=${o.target.ticketNo}` }, o.target.ticketNo) : t('sv.unitTarget')),
    h('td', {}, o.target.unit),
    h('td', {}, t('tr.' + o.trigger)),
    h('td', { class: `lvl lvl-${o.level}` }, t('lv.' + o.level)),
    h('td', {}, h('span', { class: `badge ${o.state === 'closed' ? 'ok' : o.state === 'open' && o.dueBy < Date.now() ? 'bad' : ''}` }, t('os.' + o.state))),
    h('td', {}, fmtShort(o.dueBy)),
    h('td', { class: 'reason' }, o.createdBy === 'system' ? bi(o.reason) : o.reason)))
    : [h('tr', {}, h('td', { colspan: 8, class: 'muted' }, t('sv.none')))]));
  renderSelected();
}

function renderSelected() {
  const f = $('#order-act');
  const o = orders.find((x) => x.id === selected);
  f.classList.toggle('hidden', !o || o.state === 'closed');
  if (!o) return;
  $('#act-title').textContent = t('sv.actTitle', { id: o.id, unit: o.target.unit });
  $('#act-responses').replaceChildren(...(o.responses.length ? [h('p', { class: 'muted' }, t('sv.responses')), h('ul', {}, o.responses.map((r) => h('li', {}, `${fmtShort(r.at)} ${r.by}：${r.text}`)))] : []));
}

function select(id) {
  selected = id;
  clearMsg($('#act-msg'));
  renderOrders();
}

async function loadOrders() {
  const q = $('#state-filter').value;
  try {
    orders = (await api('GET', `/api/supervision/orders${q ? `?state=${q}` : ''}`)).orders;
    renderOrders();
  } catch (err) {
    showError($('#orders-msg'), err);
  }
}

async function act(kind) {
  const f = $('#order-act');
  const box = $('#act-msg');
  clearMsg(box);
  clearFieldErrors(f);
  const o = orders.find((x) => x.id === selected);
  if (!o) return;
  const note = f.note.value.trim();
  const body = kind === 'respond' ? { version: o.version, text: f.text.value } : kind === 'close' ? { version: o.version, ...(note ? { note } : {}) } : { version: o.version, reason: note };
  try {
    const r = await api('POST', `/api/supervision/orders/${o.id}/${kind}`, body);
    f.reset();
    await loadOrders();
    showOk(box, t('sv.saved', { v: r.order.version }));
  } catch (err) {
    // The form names `note` for both centre fields.
    if (err?.body?.error?.field === 'reason') err.body.error.field = 'note';
    showError(box, err, f);
  }
}

function renderRanking() {
  const r = lastRanking;
  if (!r) return;
  const k = { day: 'p.day', week: 'p.week', month: 'p.month' }[r.period.kind];
  $('#rank-period').textContent = t('sv.periodText', { k: t(k), l: r.period.label, from: cityDate(r.period.from), to: cityDate(r.period.to - 1) });
  $('#ranking tbody').replaceChildren(...(r.ranking.length ? r.ranking.map((u) => h('tr', { dataset: { unit: u.unit, band: u.band } },
    h('td', { class: 'num' }, String(u.rank)), h('td', {}, u.unit), h('td', {}, h('span', { class: `band ${u.band}` }, t('band.' + u.band))),
    h('td', { class: 'num' }, String(u.tickets)), pctCell(u.onTimeCompletion), pctCell(u.satisfaction),
    h('td', { class: 'num' }, u.score === null ? '–' : fmtPercent(u.score))))
    : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, t('sv.noRank')))]));
  const th = r.thresholds;
  $('#thresholds').textContent = t('sv.thresholds', { s: fmtPercent(th.satisfactionMin), o: fmtPercent(th.onTimeMin), r: fmtPercent(th.redMin), n: th.minSample });
}

async function loadRanking() {
  const f = $('#rank-form');
  clearMsg($('#rank-msg'));
  clearFieldErrors(f);
  const q = new URLSearchParams({ period: f.period.value });
  if (f.date.value) q.set('date', f.date.value);
  try {
    lastRanking = await api('GET', `/api/supervision/ranking?${q}`);
    renderRanking();
  } catch (err) {
    showError($('#rank-msg'), err, f);
  }
}

function renderBulletins() {
  $('#bulletins tbody').replaceChildren(...(bulletins.length ? bulletins.map((b) => h('tr', { dataset: { id: b.id } },
    h('td', {}, t('b.' + b.kind)), h('td', { class: 'mono' }, b.label), h('td', { class: 'num' }, String(b.summary.tickets)),
    h('td', {}, `${b.summary.red} / ${b.summary.yellow} / ${b.summary.blue}`), h('td', {}, fmtTime(b.generatedAt)),
    h('td', {}, h('a', { href: `/api/supervision/bulletins/${b.id}/file`, download: b.fileName, class: 'download' }, t('sv.download')))))
    : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, t('sv.noBulletins')))]));
}

async function loadBulletins() {
  try {
    bulletins = (await api('GET', '/api/supervision/bulletins')).bulletins;
    renderBulletins();
  } catch (err) {
    showError($('#bul-msg'), err);
  }
}

// ---- 回访 campaigns: start one, follow its progress, pause / resume / cancel (naming the version read).
function renderCampaigns() {
  const body = $('#campaigns tbody');
  body.replaceChildren(...(campaigns.length ? campaigns.map((c) => {
    const p = c.progress;
    const acts = [];
    if (c.status === 'running') acts.push(['pause', 'cmp.pause', '']);
    if (c.status === 'paused') acts.push(['resume', 'cmp.resume', 'primary']);
    if (c.status === 'running' || c.status === 'paused') acts.push(['cancel', 'cmp.cancel', 'danger']);
    return h('tr', { dataset: { id: c.id, status: c.status } },
      h('td', {}, c.name),
      h('td', {}, h('span', { class: `badge ${c.status === 'done' ? 'ok' : c.status === 'cancelled' ? 'bad' : ''}` }, t('cs.' + c.status))),
      h('td', { class: 'progress' }, [h('span', { class: 'bar', style: `width:${p.total ? Math.round(((p.total - p.pending - p.calling) / p.total) * 60) : 0}px` }),
        t('cmp.progressText', { rated: p.rated, total: p.total, noRating: p['no-rating'], exhausted: p.exhausted, pending: p.pending, calling: p.calling, calls: p.calls })]),
      h('td', {}, c.nextCallAt ? fmtShort(c.nextCallAt) : '–'),
      h('td', {}, t('cmp.rulesText', { hours: c.hours, r: c.maxAttempts - 1, m: Math.round(c.retryIntervalSec / 60), c: c.concurrency })),
      h('td', {}, c.createdBy),
      h('td', {}, acts.map(([a, key, cls]) => h('button', { type: 'button', class: cls, dataset: { act: a }, onclick: () => void campaignAct(c, a) }, t(key)))));
  }) : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, t('cmp.none')))]));
}

async function loadCampaigns() {
  try {
    campaigns = (await api('GET', '/api/campaigns')).campaigns;
    renderCampaigns();
  } catch (err) {
    showError($('#cmp-msg'), err);
  }
}

async function campaignAct(c, action) {
  const box = $('#cmp-msg');
  clearMsg(box);
  try {
    await api('POST', `/api/campaigns/${c.id}/${action}`, { version: c.version });
    await loadCampaigns();
    showOk(box, t('cmp.done'));
  } catch (err) {
    showError(box, err);
  }
}

function campaignSource() {
  const byPeriod = $('#cmp-form').source.value === 'period';
  for (const el of $$('#cmp-form .src-period')) el.classList.toggle('hidden', !byPeriod);
  for (const el of $$('#cmp-form .src-tickets')) el.classList.toggle('hidden', byPeriod);
}

user = await requireUser(['supervisor', 'admin', 'unit']);
if (user) {
  centre = user.roles.includes('supervisor') || user.roles.includes('admin');
  for (const el of $$('.centre-only')) el.classList.toggle('hidden', !centre);
  for (const el of $$('.unit-only')) el.classList.toggle('hidden', centre);
  if (!centre) { $('#back-link').href = '/tickets'; $('#back-link').dataset.i18n = 'sv.backUnit'; }
  renderHeader(user, 'sv.title');
  applyI18n();
  // Outcome messages are in the language they were shown in: cleared on a switch rather than left half-translated.
  onLangChange(() => { renderOrders(); renderRanking(); renderBulletins(); renderCampaigns(); for (const id of ['#orders-msg', '#act-msg', '#bul-msg', '#cmp-msg']) if ($(id).classList.contains('ok')) clearMsg($(id)); });
  $('#state-filter').addEventListener('change', () => void loadOrders());
  onSubmit($('#new-order'), $('#orders-msg'), async (f) => {
    const body = { reason: f.reason.value };
    if (f.ticketNo.value.trim()) body.ticketNo = f.ticketNo.value.trim();
    if (f.unit.value.trim()) body.unit = f.unit.value.trim();
    if (f.workingDays.value !== '') body.workingDays = Number(f.workingDays.value);
    const r = await api('POST', '/api/supervision/orders', body);
    f.reason.value = '';
    await loadOrders();
    showOk($('#orders-msg'), t('sv.created', { id: r.order.id }));
  });
  $('#run-rules').addEventListener('click', async () => {
    const box = $('#orders-msg');
    clearMsg(box);
    try {
      const r = await api('POST', '/api/supervision/evaluate', {});
      await loadOrders();
      showOk(box, t('sv.rulesDone', { c: r.created.length, e: r.escalated.length }));
    } catch (err) {
      showError(box, err);
    }
  });
  $('#respond').addEventListener('click', () => void act('respond'));
  $('#close').addEventListener('click', () => void act('close'));
  $('#escalate').addEventListener('click', () => void act('escalate'));
  $('#order-act').addEventListener('submit', (ev) => ev.preventDefault());
  if (centre) {
    $('#rank-form').date.value = cityDate();
    $('#bul-form').date.value = cityDate();
    $('#rank-form').addEventListener('submit', (ev) => { ev.preventDefault(); void loadRanking(); });
    onSubmit($('#bul-form'), $('#bul-msg'), async (f) => {
      const r = await api('POST', '/api/supervision/bulletins', { kind: f.kind.value, date: f.date.value });
      await loadBulletins();
      showOk($('#bul-msg'), t('sv.generatedOk', { f: r.bulletin.fileName }));
    });
    $('#cmp-form').source.addEventListener('change', campaignSource);
    onSubmit($('#cmp-form'), $('#cmp-msg'), async (f) => {
      const body = {};
      if (f.name.value.trim()) body.name = f.name.value.trim();
      if (f.source.value === 'period') body.period = { from: f.from.value, to: f.to.value, ...(f.percent.value !== '' ? { percent: Number(f.percent.value) } : {}) };
      else body.ticketNos = f.ticketNos.value.split(/[\s,，]+/).filter(Boolean);
      if (f.hours.value.trim()) body.hours = f.hours.value.trim();
      if (f.retries.value !== '') body.retries = Number(f.retries.value);
      if (f.retryIntervalSec.value !== '') body.retryIntervalSec = Number(f.retryIntervalSec.value) * 60;
      if (f.concurrency.value !== '') body.concurrency = Number(f.concurrency.value);
      const r = await api('POST', '/api/campaigns', body);
      f.ticketNos.value = '';
      await loadCampaigns();
      showOk($('#cmp-msg'), t('cmp.started', { n: r.campaign.progress.total }));
    }, { 'period.from': 'from', 'period.to': 'to', 'period.percent': 'percent' });
    // Progress moves while calls are made: refreshed now and then.
    setInterval(() => void loadCampaigns(), 5000);
    await Promise.all([loadRanking(), loadBulletins(), loadCampaigns()]);
  }
  await loadOrders();
}
