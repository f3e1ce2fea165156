// The quality page's logic (its markup: quality.html, its strings: i18n/quality.json).
import { applyI18n, api, requireUser, renderHeader, onLangChange, getLang, t, $, h, showError, showOk, clearMsg, clearFieldErrors, markField, fmtDuration, fmtTime, fmtShort as fmtShortCity, cityDate, cityDayStart, onSubmit } from './common.js';

const DAY = 86_400_000;
/** YYYY-MM-DD of `ms` in the city: periods are the city's days, as the sampling job's (never the browser's). */
const shDate = cityDate;
const dayStart = cityDayStart;
const fmtSh = (ms) => (ms ? fmtTime(ms) : '–');
/** Short form for the list: month, day and minute. */
const fmtShort = fmtShortCity;
/** Labels are stored as "中文 / English". */
const bi = (text) => { const s = String(text ?? ''); const i = s.indexOf(' / '); return i < 0 ? s : getLang() === 'en' ? s.slice(i + 3) : s.slice(0, i); };
const tOr = (key, fallback) => { const v = t(key); return v === key ? fallback : v; };
const fmtScore = (x) => (Number.isFinite(x) ? String(Math.round(x * 100) / 100) : '–');

let user = null;
let forms = [];
let samples = [];
let current = null; // { sample, inspection, call, recordings }
let playing = null; // recording name in the player
/** Outcome messages, kept as key + values so that they follow the language toggle. */
const okMsgs = new Map();
function say(box, key, vars) {
  okMsgs.set(box.id, { key, vars });
  showOk(box, t(key, vars));
}
function unsay(box) {
  okMsgs.delete(box.id);
  clearMsg(box);
}

// ---- the list ------------------------------------------------------------------------------

function period() {
  const f = $('#list-form');
  return { from: dayStart(f.from.value), to: dayStart(f.to.value) + DAY };
}

function renderList() {
  const body = $('#samples tbody');
  body.replaceChildren(...(samples.length
    ? samples.map((s) => h('tr', {
          dataset: { call: s.callId, agent: s.agentId, inspected: s.inspected ? '1' : '0' },
          'aria-selected': current && current.sample.callId === s.callId ? 'true' : 'false',
          tabindex: '0',
          onclick: () => void openSample(s.callId),
          onkeydown: (ev) => { if (ev.key === 'Enter') void openSample(s.callId); },
        },
        h('td', { title: fmtSh(s.at) }, fmtShort(s.at)),
        h('td', {}, s.agentId),
        h('td', {}, s.group),
        h('td', { class: 'mono' }, s.ticketNo ?? '–'),
        h('td', { class: 'reasons' }, s.reasons.map((r) => h('span', { class: `badge reason-${r}` }, t('reason.' + r)))),
        h('td', { class: 'status' }, s.inspected
          ? h('span', { class: 'badge ok' }, t('qa.scored', { total: fmtScore(s.total) }))
          : h('span', { class: 'badge' }, t('qa.pending')))))
    : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, t('qa.none')))]));
  $('#list-count').textContent = t('qa.count', { n: samples.length, p: samples.filter((s) => !s.inspected).length });
}

async function loadList() {
  const f = $('#list-form');
  const msg = $('#list-msg');
  clearMsg(msg);
  clearFieldErrors(f);
  if (!f.from.value || !f.to.value || f.to.value < f.from.value) {
    const err = { field: !f.from.value ? 'from' : 'to', message: t('qa.toBeforeFrom') };
    showError(msg, err, f);
    return;
  }
  const { from, to } = period();
  const q = new URLSearchParams({ from: String(from), to: String(to) });
  if (f.agentId.value.trim()) q.set('agentId', f.agentId.value.trim());
  if (f.pending.checked) q.set('pending', '1');
  try {
    samples = (await api('GET', `/api/quality/samples?${q}`)).samples;
    renderList();
  } catch (err) {
    showError(msg, err, f);
  }
}

// ---- one sampled call ------------------------------------------------------------------------

async function openSample(callId) {
  const msg = $('#detail-msg');
  clearMsg(msg);
  stopPlayer();
  try {
    const [d, recs] = await Promise.all([
      api('GET', `/api/quality/samples/${encodeURIComponent(callId)}`),
      api('GET', `/api/recordings?callId=${encodeURIComponent(callId)}`),
    ]);
    current = { ...d, recordings: recs.recordings.sort((a, b) => a.segment - b.segment) };
    history.replaceState(null, '', `/quality?call=${encodeURIComponent(callId)}`);
    $('#detail-empty').classList.add('hidden');
    $('#detail').classList.remove('hidden');
    renderList();
    renderDetail();
    fillScores(d.inspection);
  } catch (err) {
    showError(msg, err);
  }
}

function renderDetail() {
  if (!current) return;
  const { sample, call } = current;
  const kv = (key, value, cls) => [h('dt', { 'data-k': key }, t(key)), h('dd', { 'data-k': key, class: cls }, value)];
  const talk = call && call.agentAnsweredAt && call.endedAt ? fmtDuration((call.endedAt - call.agentAnsweredAt) / 1000) : '–';
  const tk = call && call.ticket;
  const r = call && call.route;
  const line = !r ? '–' : r.mode === 'hotline' ? t('mode.hotline') : `${r.line ?? r.id} · ${tOr('mode.' + r.mode, r.mode)}`;
  $('#call-info').replaceChildren(
    ...kv('qa.callId', sample.callId, 'mono'),
    ...kv('qa.at', `${fmtSh(sample.at)} ${t('tz.short')}`),
    ...kv('qa.agent', `${sample.agentId} · ${sample.group}`),
    ...kv('qa.reasons', sample.reasons.map((r) => h('span', { class: `badge reason-${r}` }, t('reason.' + r)))),
    ...(call ? [
      ...kv('qa.caller', call.caller, 'mono'),
      ...kv('qa.dialed', call.dialed, 'mono'),
      ...kv('qa.line', line),
      ...kv('qa.talk', talk),
      ...kv('qa.handoffs', String(call.handoffs)),
      ...kv('qa.survey', call.survey ? t('survey.' + call.survey) : '–'),
    ] : []),
    ...(tk ? [
      ...kv('qa.ticket', tk.ticketNo, 'mono'),
      ...kv('qa.category', tk.category ? tOr('cat.' + tk.category, tk.category) : '–'),
      ...kv('qa.requester', tk.requesterKind ? tOr('req.' + tk.requesterKind, tk.requesterKind) : '–'),
      ...kv('qa.summary', tk.summary || '–', 'summary'),
      ...kv('qa.units', tk.units.length ? tk.units.join('、') : '–'),
    ] : kv('qa.ticket', t('qa.noTicket'), 'muted')),
  );
  renderSegments();
  renderForm();
}

function renderSegments() {
  const recs = current.recordings;
  $('#segments tbody').replaceChildren(...(recs.length
    ? recs.map((r) => {
        const isThis = playing === r.name;
        const player = $('#player');
        const btn = r.state === 'done'
          ? h('button', { type: 'button', class: 'play', dataset: { rec: r.name }, onclick: () => togglePlay(r) }, t(isThis && !player.paused ? 'qa.pause' : 'qa.play'))
          : h('span', { class: 'badge bad' }, tOr('rec.' + r.state, r.state));
        return h('tr', { dataset: { rec: r.name, segment: String(r.segment) }, class: isThis ? 'playing' : '' },
          h('td', {}, t('qa.segN', { n: r.segment })),
          h('td', {}, r.agentId ?? '–'),
          h('td', {}, fmtSh(r.startedAt)),
          h('td', { class: 'num' }, r.durationSec !== undefined ? fmtDuration(r.durationSec) : r.endedAt ? fmtDuration((r.endedAt - r.startedAt) / 1000) : '–'),
          h('td', {}, h('span', { class: `badge ${r.announced ? 'ok' : 'bad'}` }, t(r.announced ? 'qa.announced' : 'qa.notAnnounced'))),
          h('td', {}, btn));
      })
    : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, t('qa.noRec')))]));
}

// ---- playback: one player, loaded only when the inspector presses play (each request is audited) ---------

function segOf(name) {
  return current?.recordings.find((r) => r.name === name)?.segment ?? '?';
}

function setPlayerStatus(key) {
  const box = $('#player-status');
  box.className = 'muted';
  box.textContent = playing ? t(key, { n: segOf(playing) }) : '';
}

function togglePlay(r) {
  const player = $('#player');
  if (playing === r.name && !player.paused) {
    player.pause();
    return;
  }
  if (playing !== r.name) {
    playing = r.name;
    player.src = `/api/recordings/${encodeURIComponent(r.name)}/audio`;
    setPlayerStatus('qa.loadingAudio');
  }
  player.play().catch(() => undefined); // failures arrive as the element's error event
  renderSegments();
}

function stopPlayer() {
  const player = $('#player');
  player.pause();
  player.removeAttribute('src');
  player.load();
  playing = null;
  setPlayerStatus('');
}

function wirePlayer() {
  const player = $('#player');
  player.addEventListener('playing', () => { setPlayerStatus('qa.playing'); renderSegments(); });
  player.addEventListener('pause', () => { if (playing && !player.ended) setPlayerStatus('qa.paused'); renderSegments(); });
  player.addEventListener('ended', () => { setPlayerStatus('qa.ended'); renderSegments(); });
  player.addEventListener('error', async () => {
    if (!playing || !player.getAttribute('src')) return;
    // The element does not see the API's error; a HEAD request (not audited, no audio) tells why.
    let key = 'qa.playError';
    try {
      const r = await fetch(player.getAttribute('src'), { method: 'HEAD', credentials: 'same-origin' });
      if ([403, 404, 409].includes(r.status)) key = 'qa.playError' + r.status;
    } catch { /* network: the generic message */ }
    const box = $('#player-status');
    box.textContent = t(key);
    box.className = 'msg err';
    renderSegments();
  });
}

// ---- the score form -------------------------------------------------------------------------

function formById(id) {
  return forms.find((f) => f.id === id) ?? forms[0];
}

function renderForm() {
  const f = $('#score-form');
  const sel = $('#q-form');
  const chosen = sel.value || current?.inspection?.formId || 'standard';
  sel.replaceChildren(...forms.map((x) => h('option', { value: x.id }, bi(x.name))));
  sel.value = formById(chosen)?.id ?? '';
  $('#form-select-label').classList.toggle('hidden', forms.length < 2);
  const form = formById(sel.value);
  const keep = Object.fromEntries([...f.querySelectorAll('input[name^="scores."]')].map((i) => [i.name, i.value]));
  $('#items').replaceChildren(...(form ? form.items.map((it) => h('label', { dataset: { item: it.id } },
    h('span', {}, bi(it.label)),
    h('span', { class: 'muted' }, t('qa.max', { max: it.maxScore, w: it.weight })),
    h('input', { type: 'number', name: `scores.${it.id}`, id: `q-${it.id}`, min: '0', max: String(it.maxScore), step: '0.5', inputmode: 'decimal', value: keep[`scores.${it.id}`] ?? '' }))) : []));
  const prev = current?.inspection;
  $('#prev').classList.toggle('hidden', !prev);
  if (prev) $('#prev').textContent = t('qa.prev', { who: prev.inspector, at: `${fmtSh(prev.inspectedAt)} ${t('tz.short')}`, total: fmtScore(prev.total) });
  updateTotal();
}

function fillScores(inspection) {
  const f = $('#score-form');
  clearFieldErrors(f);
  unsay($('#score-msg'));
  if (inspection && forms.some((x) => x.id === inspection.formId)) $('#q-form').value = inspection.formId;
  renderForm();
  for (const input of f.querySelectorAll('input[name^="scores."]')) {
    const v = inspection?.scores[input.name.slice('scores.'.length)];
    input.value = v === undefined ? '' : String(v);
  }
  f.comment.value = inspection?.comment ?? '';
  updateTotal();
}

/** The weighted total as the server computes it (shown while typing; the server's is the one kept). */
function updateTotal() {
  const form = formById($('#q-form').value);
  const out = $('#total');
  if (!form) { out.textContent = '–'; return; }
  let sum = 0;
  let weights = 0;
  for (const it of form.items) {
    const raw = $('#score-form').querySelector(`[name="scores.${CSS.escape(it.id)}"]`)?.value ?? '';
    const v = Number(raw);
    weights += it.weight;
    if (raw === '' || !Number.isFinite(v) || v < 0 || v > it.maxScore) { out.textContent = '–'; return; }
    sum += (it.weight * v) / it.maxScore;
  }
  out.textContent = fmtScore(Math.round((sum / weights) * 10000) / 100);
}

function wireScoreForm() {
  const f = $('#score-form');
  f.addEventListener('input', updateTotal);
  $('#q-form').addEventListener('change', () => { renderForm(); });
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!current) return;
    const msg = $('#score-msg');
    unsay(msg);
    clearFieldErrors(f);
    const scores = {};
    for (const input of f.querySelectorAll('input[name^="scores."]')) {
      // An empty field is sent as missing (the server names it); anything else as the number typed.
      if (input.value.trim() !== '') scores[input.name.slice('scores.'.length)] = Number(input.value);
    }
    const btn = $('#q-submit');
    btn.disabled = true;
    try {
      const body = { callId: current.sample.callId, formId: $('#q-form').value || undefined, scores, comment: f.comment.value.trim() || undefined };
      const r = await api('POST', '/api/quality/inspections', body);
      const i = r.inspection;
      current.inspection = i;
      say(msg, 'qa.submitted', { agent: i.agentId, total: fmtScore(i.total) });
      renderForm();
      await loadList();
      void loadTrend();
    } catch (err) {
      showError(msg, err, f);
      // Every field the server named gets its message beside the input, not only the first.
      const details = Array.isArray(err.details) ? err.details.filter((d) => d && d.field) : [];
      if (details.length) {
        clearFieldErrors(f);
        let marked = 0;
        for (const d of details) if (markField(f, d.field, d.message)) marked++;
        if (marked > 1) msg.prepend(h('div', {}, t('qa.fix', { n: marked })));
      }
      f.querySelector('[aria-invalid="true"]')?.focus();
    } finally {
      btn.disabled = false;
    }
  });
}

// ---- sampling (supervisors) -----------------------------------------------------------------

function wireSampling() {
  $('#sampling-card').classList.remove('hidden');
  const f = $('#sampling-form');
  const msg = $('#sampling-msg');
  onSubmit(f, msg, async () => {
    unsay(msg);
    if (!f.day.value) throw { field: 'day', message: t('qa.day') };
    const from = dayStart(f.day.value);
    const rate = f.ratePercent.value.trim();
    const btn = $('#s-run');
    btn.disabled = true;
    try {
      const r = await api('POST', '/api/quality/sampling', { from, to: from + DAY, ...(rate !== '' ? { ratePercent: Number(rate) } : {}) });
      say(msg, 'qa.sampled', { day: f.day.value, n: r.samples.length, added: r.added });
      await loadList();
    } finally {
      btn.disabled = false;
    }
  }, { from: 'day', to: 'day' });
}

// ---- score trend (GET /api/quality/trend): uPlot, served from our own origin -----------------------

/** Lines drawn besides "all" and the target: the agents or groups with the most scores. */
const TREND_MAX_SERIES = 8;
const TREND_COLORS = ['#0b5cad', '#1c7c3a', '#a86400', '#6a3d9a', '#00838f', '#c2185b', '#5d4037', '#607d8b'];
let trend = null;
let trendChart = null;
let trendKey = '';

/** The series drawn: the most-scored first (ties by id), at most TREND_MAX_SERIES, then shown by id. */
function trendSeries(tr) {
  const total = (s) => s.count.reduce((a, b) => a + b, 0);
  return [...tr.series].sort((a, b) => total(b) - total(a) || (a.id < b.id ? -1 : 1)).slice(0, TREND_MAX_SERIES).sort((a, b) => (a.id < b.id ? -1 : 1));
}

function renderTrend() {
  const tr = trend;
  if (!tr) return;
  const shown = trendSeries(tr);
  const data = [tr.starts.map((s) => s / 1000), tr.overall.average, tr.starts.map(() => tr.target), ...shown.map((s) => s.average)];
  const box = $('#trend-chart');
  box.dataset.points = String(tr.starts.length);
  box.dataset.series = shown.map((s) => s.id).join(',');
  const unit = t(tr.bucket === 'week' ? 'qa.trendUnitWeek' : 'qa.trendUnitDay');
  $('#trend-note').textContent = t('qa.trendNote', { unit, target: tr.target }) + (tr.series.length > shown.length ? ` ${t('qa.trendMore', { n: tr.series.length - shown.length })}` : '');
  const key = `${getLang()}|${tr.bucket}|${tr.by}|${box.dataset.series}`;
  const score = (u, v) => (v === null || v === undefined ? '–' : fmtScore(v));
  if (trendChart && trendKey === key) trendChart.setData(data);
  else {
    trendChart?.destroy();
    const half = (tr.bucket === 'week' ? 3.5 : 0.5) * 86_400;
    trendChart = new uPlot({
      width: Math.max(320, box.clientWidth),
      height: 300,
      // Dates are the city's, whatever the browser's zone.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Asia/Shanghai'),
      scales: {
        x: { time: true, range: (u, min, max) => [min - half, max + half] },
        s: { range: (u, min) => [Math.min(Math.max(0, tr.target - 20), Math.floor((Number.isFinite(min) ? min : tr.target) / 10) * 10), 100] },
      },
      series: [
        { label: t(tr.bucket === 'week' ? 'qa.trendWeekOf' : 'qa.trendDayOf'), value: (u, v) => (v === null || v === undefined ? '–' : shDate(v * 1000)) },
        { label: t('qa.trendAll'), scale: 's', stroke: '#1d2733', width: 3, points: { show: true, size: 7 }, value: score },
        { label: t('qa.trendTarget'), scale: 's', stroke: '#b00020', width: 1.5, dash: [5, 4], points: { show: false }, value: score },
        ...shown.map((s, i) => ({ label: s.id, scale: 's', stroke: TREND_COLORS[i % TREND_COLORS.length], width: 1.5, points: { show: true, size: 5 }, value: score })),
      ],
      axes: [
        // One tick per bucket at its start (MM-DD), thinned by uPlot when they do not fit.
        { splits: (u) => u.data[0], values: (u, splits) => splits.map((v) => shDate(v * 1000).slice(5)) },
        { scale: 's', size: 44 },
      ],
    }, data, box);
    trendKey = key;
  }
  // The latest bucket with scores, against the target.
  let last = -1;
  for (let i = tr.starts.length - 1; i >= 0 && last < 0; i--) if (tr.overall.average[i] !== null) last = i;
  const from = shDate(tr.starts[Math.max(0, last)] ?? tr.from);
  $('#trend-summary').textContent = last < 0
    ? t('qa.trendNone', { from: shDate(tr.starts[0] ?? tr.from) })
    : t('qa.trendSummary', { from, avg: fmtScore(tr.overall.average[last]), n: tr.overall.count[last], target: tr.target, verdict: t(tr.overall.average[last] >= tr.target ? 'qa.trendMet' : 'qa.trendMissed') });
}

async function loadTrend() {
  const msg = $('#trend-msg');
  try {
    trend = await api('GET', `/api/quality/trend?bucket=${encodeURIComponent($('#t-bucket').value)}&by=${encodeURIComponent($('#t-by').value)}`);
    clearMsg(msg);
    renderTrend();
  } catch (err) {
    if (err.status !== 401) showError(msg, err);
  }
}

function wireTrend() {
  $('#t-bucket').addEventListener('change', () => void loadTrend());
  $('#t-by').addEventListener('change', () => void loadTrend());
  window.addEventListener('resize', () => { if (trendChart) trendChart.setSize({ width: Math.max(320, $('#trend-chart').clientWidth), height: 300 }); });
  void loadTrend();
}

function renderAll() {
  for (const [id, m] of okMsgs) showOk(document.getElementById(id), t(m.key, m.vars));
  renderTrend();
  renderList();
  if (current) renderDetail();
  if (playing) setPlayerStatus($('#player').paused ? 'qa.paused' : 'qa.playing');
}

user = await requireUser(['inspector', 'supervisor']);
if (user) {
  renderHeader(user, 'qa.title');
  applyI18n();
  onLangChange(renderAll);
  // The nightly sampling picks yesterday's calls: show yesterday and today (the city's days).
  // A supervisor's own sampling defaults to the city's today, the day whose calls they can see now.
  const today = shDate(Date.now());
  const yesterday = shDate(Date.now() - DAY);
  $('#f-from').value = yesterday;
  $('#f-to').value = today;
  $('#s-day').value = today;
  wirePlayer();
  wireScoreForm();
  if (user.roles.includes('supervisor')) wireSampling();
  else $('#filter-card').classList.add('single');
  wireTrend();
  $('#list-form').addEventListener('submit', (ev) => { ev.preventDefault(); void loadList(); });
  try {
    forms = (await api('GET', '/api/quality/forms')).forms;
  } catch (err) {
    showError($('#list-msg'), err);
  }
  await loadList();
  const deep = new URLSearchParams(location.search).get('call');
  if (deep) await openSample(deep);
}
