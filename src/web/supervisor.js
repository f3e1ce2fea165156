// The supervisor page's logic (its markup: supervisor.html, its strings: i18n/supervisor.json).
import { applyI18n, api, requireUser, renderHeader, onLangChange, getLang, t, $, h, showError, clearMsg, clearFieldErrors, fmtDuration, fmtPercent, fmtTimeTz, fmtClock, cityDate, cityDayStart, onSubmit } from './common.js';

let last = null;
let revealTimer = null;

function counterCells(c) {
  return [
    h('td', { class: 'num' }, c.offered), h('td', { class: 'num' }, c.answered), h('td', { class: 'num' }, c.abandoned),
    h('td', { class: 'num' }, c.answered + c.abandoned ? fmtPercent(c.answerRate) : '–'),
    h('td', { class: 'num' }, c.answered ? `${c.asaSec.toFixed(1)} s` : '–'),
    h('td', { class: 'num' }, c.answered + c.abandoned ? fmtPercent(c.abandonRate) : '–'),
  ];
}

/** `handled`: the seat-group table's extra column (calls the group's seats took, whichever queue). */
function counterTable(table, data, handled = false) {
  table.tHead.replaceChildren(h('tr', {},
    h('th', {}, t('sup.name')), ...['offered', 'answered', 'abandoned', 'answerRate', 'asa', 'abandonRate'].map((k) => h('th', { class: 'num' }, t('sup.' + k))),
    handled ? h('th', { class: 'num', title: t('sup.handledHint') }, t('sup.handled')) : ''));
  const rows = Object.entries(data ?? {}).sort(([a], [b]) => a.localeCompare(b));
  table.tBodies[0].replaceChildren(...(rows.length
    ? rows.map(([name, c]) => h('tr', { dataset: { key: name } }, h('td', {}, name), ...counterCells(c), handled ? h('td', { class: 'num handled' }, c.handled ?? 0) : ''))
    : [h('tr', {}, h('td', { colspan: handled ? 8 : 7, class: 'muted' }, t('sup.empty')))]));
}

/** A banner while the calendar does not cover the next 60 days (deadlines then ignore that year's 调休). */
function renderCalendar(c) {
  const el = $('#calendar-banner');
  if (!c || c.covered) { el.classList.add('hidden'); el.textContent = ''; return; }
  const years = c.years.filter((y) => y.coverage !== 'official' && y.coverage !== 'override').map((y) => y.year).join(getLang() === 'en' ? ', ' : '、');
  el.textContent = t('sup.calendarWarn', { d: c.firstUncovered, y: years });
  el.classList.remove('hidden');
}

function render() {
  if (!last) return;
  const { stats, queues, agents, calls, at } = last;
  const skew = Date.now() - at; // server clock vs ours
  const now = () => Date.now() - skew;
  $('#updated').textContent = fmtTimeTz(at);
  renderCalendar(last.calendar);
  const a = stats.all;
  const kpi = (id, label, value) => h('div', { class: 'kpi', id }, h('div', { class: 'v' }, value), h('div', { class: 'l' }, t(label)));
  $('#kpis').replaceChildren(
    kpi('kpi-answer-rate', 'sup.answerRate', a.answered + a.abandoned ? fmtPercent(a.answerRate) : '–'),
    kpi('kpi-asa', 'sup.asa', a.answered ? `${a.asaSec.toFixed(1)} s` : '–'),
    kpi('kpi-abandon-rate', 'sup.abandonRate', a.answered + a.abandoned ? fmtPercent(a.abandonRate) : '–'),
    kpi('kpi-offered', 'sup.offered', a.offered),
    kpi('kpi-answered', 'sup.answered', a.answered),
    kpi('kpi-abandoned', 'sup.abandoned', a.abandoned),
  );
  const qs = [...queues].sort((x, y) => y.longestWaitSec - x.longestWaitSec);
  $('#queues tbody').replaceChildren(...(qs.length
    ? qs.map((q) => h('tr', { dataset: { skill: q.skill } }, h('td', {}, q.skill), h('td', { class: 'num' }, q.waiting), h('td', { class: 'num' }, q.ringing),
        h('td', { class: 'num' }, q.callbacks), h('td', { class: 'num' }, fmtDuration(q.longestWaitSec))))
    : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, t('sup.noQueue')))]));
  const as = [...agents].sort((x, y) => x.id.localeCompare(y.id));
  $('#agents tbody').replaceChildren(...(as.length
    ? as.map((g) => h('tr', { dataset: { agent: g.id, state: g.state } },
        h('td', {}, `${g.id} ${g.name ?? ''}`),
        h('td', {}, h('span', { class: `badge ${g.state}` }, t('state.' + g.state)), g.state === 'paused' && g.reason ? h('span', { class: 'muted' }, ` ${g.reason}`) : ''),
        h('td', { class: 'num' }, g.since > 0 ? fmtDuration((now() - g.since) / 1000) : '–'),
        h('td', {}, h('span', { class: `badge ${g.registered ? 'ok' : 'offline'}` }, t(g.registered ? 'sup.reg' : 'sup.unreg')))))
    : [h('tr', {}, h('td', { colspan: 4, class: 'muted' }, t('sup.empty')))]));
  $('#calls tbody').replaceChildren(...(calls.length
    ? calls.map((c) => h('tr', { dataset: { call: c.callId } },
        h('td', { class: 'mono' }, c.caller), h('td', {}, c.dialed),
        h('td', {}, c.line && c.line.mode !== 'hotline' ? `${c.line.number ?? c.line.id} ${t('mode.' + c.line.mode)}` : t('mode.hotline')),
        h('td', {}, c.agentId ?? '–'), h('td', {}, !c.handoff || c.handoff === 'idle' ? '–' : t('handoff.' + c.handoff)), h('td', { class: 'num' }, fmtDuration((now() - c.startedAt) / 1000))))
    : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, t('sup.empty')))]));
  counterTable($('#by-line'), stats.lines);
  counterTable($('#by-group'), stats.groups, true);
  counterTable($('#by-skill'), stats.skills);
}

// ---- today by quarter hour (GET /api/supervisor/series): uPlot, served from our own origin -----------------

let series = null;
let chart = null;
let chartKey = '';

const pct = (x) => (x === null || x === undefined ? null : Math.round(x * 1000) / 10);

/** The chosen line's arrays in uPlot's shape: x in seconds, rates in %. */
function chartData(s, line) {
  const l = line === 'all' ? s.all : s.lines[line];
  const xs = Array.from({ length: s.quarters }, (_, i) => (s.from + i * s.quarterMs) / 1000);
  const empty = Array.from({ length: s.quarters }, () => null);
  return [
    xs,
    l ? l.answerRate.map(pct) : empty,
    l ? l.answerRateSoFar.map(pct) : empty,
    xs.map(() => s.target * 100),
    l ? l.queueMax : xs.map(() => 0),
  ];
}

function chartOptions(width) {
  const rateValue = (u, v) => (v === null || v === undefined ? '–' : `${v.toFixed(1)}%`);
  return {
    width,
    height: 280,
    // Times are the city's, whatever the browser's zone.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Asia/Shanghai'),
    cursor: { points: { size: 7 } },
    scales: {
      // To the end of the last quarter, so the current quarter is not drawn on the edge.
      x: { time: true, range: (u, min, max) => [min, max + 900] },
      pct: { range: (u, min) => [Math.min(90, Math.floor((Number.isFinite(min) ? min : 90) / 10) * 10), 100] },
      q: { range: (u, min, max) => [0, Math.max(4, Number.isFinite(max) ? Math.ceil(max * 1.2) : 4)] },
    },
    series: [
      { label: t('sup.chTime'), value: (u, v) => (v === null || v === undefined ? '–' : fmtClock(v * 1000, false)) },
      { label: t('sup.chRate'), scale: 'pct', stroke: '#0b5cad', width: 2, points: { show: true, size: 5 }, value: rateValue },
      { label: t('sup.chRateSoFar'), scale: 'pct', stroke: '#1c7c3a', width: 1.5, dash: [6, 4], points: { show: false }, value: rateValue },
      { label: t('sup.chTarget'), scale: 'pct', stroke: '#b00020', width: 1.5, dash: [3, 3], points: { show: false }, value: rateValue },
      { label: t('sup.chQueue'), scale: 'q', stroke: '#a86400', fill: 'rgba(168,100,0,.12)', width: 1.5, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } },
    ],
    axes: [
      { values: (u, splits) => splits.map((v) => fmtClock(v * 1000, false)) },
      { scale: 'pct', values: (u, splits) => splits.map((v) => `${v}%`), size: 52 },
      { scale: 'q', side: 1, grid: { show: false }, label: t('sup.chQueueAxis'), size: 56 },
    ],
  };
}

function renderTrend() {
  const s = series;
  if (!s) return;
  const sel = $('#trend-line');
  const lines = ['all', ...Object.keys(s.lines).sort()];
  const chosen = lines.includes(sel.value) ? sel.value : 'all';
  sel.replaceChildren(...lines.map((l) => h('option', { value: l }, l === 'all' ? t('sup.trendAll') : l)));
  sel.value = chosen;
  const data = chartData(s, chosen);
  const box = $('#trend-chart');
  box.dataset.points = String(data[0].length);
  box.dataset.line = chosen;
  const key = `${chosen}|${getLang()}|${s.day}`;
  if (chart && chartKey === key) chart.setData(data);
  else {
    chart?.destroy();
    chart = new uPlot(chartOptions(Math.max(320, box.clientWidth)), data, box);
    chartKey = key;
  }
  const i = data[0].length - 1;
  const l = chosen === 'all' ? s.all : s.lines[chosen];
  if (i >= 0 && l) {
    $('#trend-summary').textContent = t('sup.trendSummary', {
      from: fmtClock(s.from + i * s.quarterMs, false),
      to: fmtClock(s.from + (i + 1) * s.quarterMs, false),
      rate: l.answerRate[i] === null ? '–' : fmtPercent(l.answerRate[i]),
      soFar: l.answerRateSoFar[i] === null ? '–' : fmtPercent(l.answerRateSoFar[i]),
      queue: l.queueMax[i],
    });
  }
}

async function loadTrend() {
  const data = await loadPanel($('#trend-msg'), 'sup.trendError', '/api/supervisor/series');
  if (data) { series = data; renderTrend(); }
}

function startTrend() {
  $('#trend-line').addEventListener('change', renderTrend);
  window.addEventListener('resize', () => { if (chart) chart.setSize({ width: Math.max(320, $('#trend-chart').clientWidth), height: 280 }); });
  void loadTrend();
  setInterval(() => void loadTrend(), 30_000);
}

// ---- KPIs over weeks: GET /api/supervisor/kpis per week (Monday to Sunday, city time) --------------------

const WEEKS = 8;
let weeks = null; // [{ from, to, kpis }]
let weeksChart = null;
let weeksKey = '';

function weekPeriods(now = Date.now()) {
  const DAYMS = 86_400_000;
  const today = cityDayStart(cityDate(now));
  const dow = new Date(today + 8 * 3600_000).getUTCDay(); // 0 = Sunday, in the city
  const monday = today - ((dow + 6) % 7) * DAYMS;
  return Array.from({ length: WEEKS }, (_, k) => {
    const from = monday - (WEEKS - 1 - k) * 7 * DAYMS;
    return { from, to: Math.min(from + 7 * DAYMS, today + DAYMS) };
  });
}

function renderWeeks() {
  if (!weeks) return;
  const rate = (r) => (r && r.rate !== null ? Math.round(r.rate * 1000) / 10 : null);
  const data = [
    weeks.map((w) => w.from / 1000),
    weeks.map((w) => rate(w.kpis.answerRate)),
    weeks.map((w) => rate(w.kpis.onTimeCompletion)),
    weeks.map((w) => rate(w.kpis.satisfaction)),
  ];
  const box = $('#weeks-chart');
  box.dataset.points = String(weeks.length);
  const key = getLang();
  const value = (u, v) => (v === null || v === undefined ? '–' : `${v.toFixed(1)}%`);
  if (weeksChart && weeksKey === key) weeksChart.setData(data);
  else {
    weeksChart?.destroy();
    weeksChart = new uPlot({
      width: Math.max(320, box.clientWidth),
      height: 220,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Asia/Shanghai'),
      scales: { x: { time: true, range: (u, min, max) => [min - 3.5 * 86_400, max + 3.5 * 86_400] }, pct: { range: (u, min) => [Math.min(80, Math.floor((Number.isFinite(min) ? min : 80) / 10) * 10), 100] } },
      series: [
        { label: t('sup.wkWeek'), value: (u, v) => (v === null || v === undefined ? '–' : cityDate(v * 1000)) },
        { label: t('sup.answerRate'), scale: 'pct', stroke: '#0b5cad', width: 2, points: { show: true, size: 6 }, value },
        { label: t('sup.tkOnTime'), scale: 'pct', stroke: '#1c7c3a', width: 2, points: { show: true, size: 6 }, value },
        { label: t('sup.tkSatisfaction'), scale: 'pct', stroke: '#a86400', width: 2, points: { show: true, size: 6 }, value },
      ],
      axes: [
        // One tick per week, at its Monday.
        { splits: (u) => u.data[0], values: (u, splits) => splits.map((v) => cityDate(v * 1000).slice(5)) },
        { scale: 'pct', values: (u, splits) => splits.map((v) => `${v}%`), size: 52 },
      ],
    }, data, box);
    weeksKey = key;
  }
  const last = weeks[weeks.length - 1];
  const txt = (r) => (r && r.rate !== null ? fmtPercent(r.rate) : '–');
  $('#weeks-summary').textContent = t('sup.weeksSummary', { from: cityDate(last.from), a: txt(last.kpis.answerRate), o: txt(last.kpis.onTimeCompletion), s: txt(last.kpis.satisfaction) });
}

async function loadWeeks() {
  const msg = $('#weeks-msg');
  try {
    const periods = weekPeriods();
    const all = await Promise.all(periods.map((w) => api('GET', `/api/supervisor/kpis?from=${w.from}&to=${w.to}`)));
    weeks = periods.map((w, i) => ({ ...w, kpis: all[i] }));
    clearMsg(msg);
    renderWeeks();
  } catch (err) {
    if (err.status !== 401) { msg.className = 'msg err'; msg.textContent = t('sup.weeksError', { m: err.message }); }
  }
}

function renderAll() {
  render();
  renderTrend();
  renderWeeks();
  renderQuality();
  renderTicketKpis();
  renderController();
}

// ---- ticket KPIs (GET /api/supervisor/kpis), by the day tickets were received -------------------------

let ticketKpis = null;
const rateText = (r) => (r && r.rate !== null ? fmtPercent(r.rate) : '–');
const rateTitle = (r) => (r ? `${r.numerator} / ${r.denominator}` : '');

function renderTicketKpis() {
  const k = ticketKpis;
  if (!k) return;
  const kpi = (id, label, r) => h('div', { class: 'kpi', id, title: rateTitle(r) }, h('div', { class: 'v' }, rateText(r)), h('div', { class: 'l' }, t(label)));
  const count = (id, label, n) => h('div', { class: 'kpi', id }, h('div', { class: 'v' }, n), h('div', { class: 'l' }, t(label)));
  $('#tk-kpis').replaceChildren(
    kpi('tk-answer', 'sup.answerRate', k.answerRate),
    kpi('tk-ontime', 'sup.tkOnTime', k.onTimeCompletion),
    kpi('tk-satisfaction', 'sup.tkSatisfaction', k.satisfaction),
    kpi('tk-reopen', 'sup.tkReopen', k.reopen),
    kpi('tk-urge', 'sup.tkUrge', k.urge),
    kpi('tk-repeat', 'sup.tkRepeat', k.repeats),
    count('tk-tickets', 'sup.tkTickets', k.tickets),
    count('tk-overdue', 'sup.tkOverdue', k.overdueOpen),
  );
  $('#tk-range').textContent = `${shDay(k.period.from)} – ${shDay(k.period.to - 1)} ${t('tz.short')}`;
  const cols = [['tickets', 'sup.tkTickets'], ['onTimeCompletion', 'sup.tkOnTime'], ['satisfaction', 'sup.tkSatisfaction'], ['reopen', 'sup.tkReopen'], ['urge', 'sup.tkUrge'], ['repeats', 'sup.tkRepeat'], ['resolution', 'sup.tkResolution'], ['returns', 'sup.tkReturns'], ['overdueOpen', 'sup.tkOverdue']];
  const table = $('#tk-units');
  table.tHead.replaceChildren(h('tr', {}, h('th', { class: 'num' }, t('sup.tkRank')), h('th', {}, t('sup.tkUnit')), ...cols.map(([, l]) => h('th', { class: 'num' }, t(l)))));
  const byUnit = new Map(k.units.map((u) => [u.unit, u]));
  table.tBodies[0].replaceChildren(...(k.ranking.length
    ? k.ranking.map(({ rank, unit }) => {
        const u = byUnit.get(unit);
        return h('tr', { dataset: { unit } }, h('td', { class: 'num' }, rank), h('td', {}, unit),
          ...cols.map(([key]) => (typeof u[key] === 'number' ? h('td', { class: 'num', dataset: { col: key } }, u[key]) : h('td', { class: 'num', dataset: { col: key }, title: rateTitle(u[key]) }, rateText(u[key])))));
      })
    : [h('tr', {}, h('td', { colspan: 2 + cols.length, class: 'muted' }, t('sup.tkNone')))]));
}

async function loadTicketKpis() {
  const msg = $('#tk-msg');
  const { from, to } = qaPeriod($('#tk-period').value);
  // Downloads go through the same session cookie; the server audits each one.
  $('#tk-csv').href = `/api/supervisor/kpis?from=${from}&to=${to}&format=csv`;
  $('#tk-export').href = `/api/tickets/export?from=${shDay(from)}&to=${shDay(to - 1)}&format=csv`;
  const data = await loadPanel(msg, 'sup.tkError', `/api/supervisor/kpis?from=${from}&to=${to}`);
  if (data) { ticketKpis = data; renderTicketKpis(); }
}

/** One panel's data; on failure the panel's message says why (a lost session goes to /login by itself). */
async function loadPanel(msg, errorKey, url) {
  try {
    const data = await api('GET', url);
    clearMsg(msg);
    return data;
  } catch (err) {
    if (err.status !== 401) {
      msg.className = 'msg err';
      msg.textContent = t(errorKey, { m: err.message });
    }
    return null;
  }
}

async function startTicketKpis(user) {
  if (!user.permissions.includes('tickets:export')) $('#tk-export').classList.add('hidden');
  $('#tk-period').addEventListener('change', () => void loadTicketKpis());
  await loadTicketKpis();
  setInterval(() => void loadTicketKpis(), 60_000);
  void loadWeeks();
  setInterval(() => void loadWeeks(), 10 * 60_000);
  window.addEventListener('resize', () => { if (weeksChart) weeksChart.setSize({ width: Math.max(320, $('#weeks-chart').clientWidth), height: 220 }); });
}

// ---- quality inspection roll-up (GET /api/quality/summary), by call time in Shanghai days -------------

const SH_OFFSET = 8 * 3600_000;
const DAY = 86_400_000;
let quality = null;
let qaItems = {}; // item id → "中文 / English" label, from the forms
let qaOrder = []; // item ids in the forms' order
let qaNames = '';

function qaPeriod(kind) {
  const today = Math.floor((Date.now() + SH_OFFSET) / DAY) * DAY - SH_OFFSET;
  const to = today + DAY;
  if (kind === 'today') return { from: today, to };
  if (kind === '30d') return { from: to - 30 * DAY, to };
  if (kind === 'month') {
    const d = new Date(today + SH_OFFSET);
    return { from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - SH_OFFSET, to };
  }
  return { from: to - 7 * DAY, to };
}

const bi = (text) => { const s = String(text ?? ''); const i = s.indexOf(' / '); return i < 0 ? s : getLang() === 'en' ? s.slice(i + 3) : s.slice(0, i); };
const score = (x) => (Number.isFinite(x) ? String(Math.round(x * 100) / 100) : '–');
const shDay = cityDate;

function qaTable(table, rows, kind) {
  const rank = (id) => (qaOrder.includes(id) ? qaOrder.indexOf(id) : qaOrder.length);
  const items = [...new Set(rows.flatMap((r) => Object.keys(r.items)))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  table.tHead.replaceChildren(h('tr', {},
    h('th', {}, t(kind === 'agent' ? 'sup.agent' : 'sup.qaGroup')),
    ...['qaCount', 'qaAvg', 'qaMin', 'qaMax'].map((k) => h('th', { class: 'num' }, t('sup.' + k))),
    ...items.map((id) => h('th', { class: 'num', title: t('sup.qaItemsNote') }, qaItems[id] ? bi(qaItems[id]) : id))));
  const names = new Map((last?.agents ?? []).map((a) => [a.id, a.name]));
  table.tBodies[0].replaceChildren(...(rows.length
    ? rows.map((r) => h('tr', { dataset: { [kind]: r.id } },
        h('td', {}, kind === 'agent' && names.get(r.id) ? `${r.id} ${names.get(r.id)}` : r.id),
        h('td', { class: 'num' }, r.count),
        h('td', { class: 'num avg' }, score(r.average)),
        h('td', { class: 'num' }, score(r.min)),
        h('td', { class: 'num' }, score(r.max)),
        ...items.map((id) => h('td', { class: 'num', dataset: { item: id } }, r.items[id] !== undefined ? `${score(r.items[id])}%` : '–'))))
    : [h('tr', {}, h('td', { colspan: 5 + items.length, class: 'muted' }, t('sup.qaNone')))]));
}

function renderQuality() {
  if (!quality) return;
  const kpi = (id, label, value) => h('div', { class: 'kpi', id }, h('div', { class: 'v' }, value), h('div', { class: 'l' }, t(label)));
  $('#qa-kpis').replaceChildren(
    kpi('qa-kpi-avg', 'sup.qaAvg', quality.overall.count ? score(quality.overall.average) : '–'),
    kpi('qa-kpi-count', 'sup.qaCount', quality.overall.count),
    kpi('qa-kpi-sampled', 'sup.qaSampled', quality.sampled),
    kpi('qa-kpi-pending', 'sup.qaPending', quality.pending),
  );
  $('#qa-range').textContent = `${shDay(quality.from)} – ${shDay(quality.to - 1)} ${t('tz.short')}`;
  qaTable($('#qa-agents'), quality.agents, 'agent');
  qaTable($('#qa-groups'), quality.groups, 'group');
}

async function loadQuality() {
  const msg = $('#qa-msg');
  const { from, to } = qaPeriod($('#qa-period').value);
  const data = await loadPanel(msg, 'sup.qaError', `/api/quality/summary?from=${from}&to=${to}`);
  if (data) { quality = data; renderQuality(); }
}

async function startQuality() {
  // Item labels come from the forms (supervisors may read them; without them the item ids are shown).
  try {
    for (const f of (await api('GET', '/api/quality/forms')).forms) {
      for (const it of f.items) {
        qaItems[it.id] ??= it.label;
        if (!qaOrder.includes(it.id)) qaOrder.push(it.id);
      }
    }
  } catch { /* labels are a nicety */ }
  $('#qa-period').addEventListener('change', () => void loadQuality());
  await loadQuality();
  setInterval(() => void loadQuality(), 60_000);
}

async function poll() {
  const msg = $('#poll-msg');
  try {
    last = await api('GET', '/api/supervisor/overview');
    clearMsg(msg);
    render();
    // Agent names in the quality tables come from the overview.
    const names = last.agents.map((a) => `${a.id}=${a.name ?? ''}`).join(',');
    if (names !== qaNames) { qaNames = names; renderQuality(); }
  } catch (err) {
    if (err.status === 401) return;
    msg.className = 'msg err stale';
    msg.textContent = t('sup.stale', { m: err.message });
  } finally {
    setTimeout(poll, 2000);
  }
}

function wireReveal() {
  const f = $('#reveal-form');
  const msg = $('#reveal-msg');
  onSubmit(f, msg, async () => {
    $('#reveal-out').classList.add('hidden');
    clearInterval(revealTimer);
    const ticketNo = f.ticketNo.value.trim();
    const r = await api('POST', '/api/numbers/reveal', { ticketNo, reason: f.reason.value.trim() });
    $('#revealed').textContent = r.number;
    $('#reveal-out').classList.remove('hidden');
    // The full number stays on screen only briefly.
    const until = Date.now() + 60_000;
    const note = () => { $('#revealed-note').textContent = t('sup.revealed', { id: r.id, s: Math.max(0, Math.ceil((until - Date.now()) / 1000)) }); };
    note();
    revealTimer = setInterval(() => {
      if (Date.now() >= until) { clearInterval(revealTimer); $('#revealed').textContent = ''; $('#reveal-out').classList.add('hidden'); }
      else note();
    }, 1000);
  // The server names the field (ticketId for a malformed number): point at our input.
  }, { ticketId: 'ticketNo' });
}

/** The period choices of the ticket and quality cards (the default one named by `data-periods`). */
for (const sel of document.querySelectorAll('select[data-periods]')) {
  sel.append(...[['today', 'sup.qaToday'], ['7d', 'sup.qa7d'], ['30d', 'sup.qa30d'], ['month', 'sup.qaMonth']].map(([value, key]) =>
    h('option', { value, 'data-i18n': key, selected: value === sel.dataset.periods }, t(key))));
}

// ---- answer-rate controller (GET/PUT /api/supervisor/controller) ---------------------------------------
let ctl = null;

function renderController() {
  if (!ctl) return;
  const on = ctl.switch.enabled;
  const st = $('#ctl-state');
  st.className = `ctl-state ${on ? 'on' : 'off'}`;
  st.textContent = t(on ? 'ctl.on' : 'ctl.off') + (ctl.switch.by ? ` · ${t('ctl.switched', { who: ctl.switch.by, when: fmtTimeTz(ctl.switch.at) })}` : '');
  $('#ctl-toggle').textContent = t(on ? 'ctl.turnOff' : 'ctl.turnOn');
  const alert = $('#ctl-alert');
  if (ctl.actions.alerts.length) { alert.textContent = t('ctl.alert', { q: ctl.actions.alerts.join(getLang() === 'en' ? ', ' : '、') }); alert.classList.remove('hidden'); }
  else { alert.textContent = ''; alert.classList.add('hidden'); }
  const table = $('#ctl-windows');
  table.tHead.replaceChildren(h('tr', {}, h('th', {}, t('ctl.dim')), ...['off15', 'rate5', 'rate15', 'ab15', 'asa15'].map((k) => h('th', { class: 'num' }, t('ctl.' + k))), h('th', { class: 'num' }, t('ctl.level'))));
  const dims = Object.entries(ctl.windows).filter(([d]) => d === 'all' || d.startsWith('line:') || d.startsWith('group:'));
  const settled = (w) => w.answered + w.abandoned;
  table.tBodies[0].replaceChildren(...(dims.length ? dims.map(([d, w]) => {
    const skill = d === 'line:12345' ? 'general' : d.startsWith('line:') ? d.slice(5) : undefined;
    const level = skill ? ctl.actions.queues[skill]?.level ?? 0 : undefined;
    return h('tr', { dataset: { dim: d } },
      h('td', {}, d === 'all' ? t('sup.trendAll') : d.startsWith('line:') ? t('ctl.lineDim', { n: d.slice(5) }) : t('ctl.groupDim', { n: d.slice(6) })),
      h('td', { class: 'num' }, w.long.offered),
      h('td', { class: 'num' }, settled(w.short) ? fmtPercent(w.short.answerRate) : '–'),
      h('td', { class: 'num' }, settled(w.long) ? fmtPercent(w.long.answerRate) : '–'),
      h('td', { class: 'num' }, settled(w.long) ? fmtPercent(w.long.abandonRate) : '–'),
      h('td', { class: 'num' }, w.long.answered ? `${w.long.asaSec.toFixed(1)} s` : '–'),
      h('td', { class: 'num' }, level === undefined ? '' : h('span', { class: `level l${level}` }, level)));
  }) : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, t('sup.empty')))]));
  const items = [];
  for (const e of ctl.timeline) {
    for (const q of e.queues) {
      if (q.levelBefore === q.levelAfter && !q.alert && e.enabled) continue;
      const dir = !e.enabled ? 'off' : q.levelAfter > q.levelBefore ? 'up' : q.levelAfter < q.levelBefore ? 'down' : '';
      const f = q.forecast;
      const why = q.levelBefore === q.levelAfter && q.alert ? 'alert' : q.why;
      items.push(h('li', { class: dir, dataset: { skill: q.skill, why } },
        h('span', { class: 'when' }, fmtClock(e.at)),
        h('span', { class: `level l${q.levelBefore}` }, q.levelBefore), ' → ', h('span', { class: `level l${q.levelAfter}` }, q.levelAfter), ' ',
        h('strong', {}, t(`ctl.why.${why}`) || why), ' · ', t('ctl.queue', { q: q.skill, l: q.line, t: fmtPercent(q.target) }),
        h('div', { class: 'inputs' }, t('ctl.inputs', {
          a: Math.round(f.arrivalsPerHour), h: Math.round(f.handleSec), p: Math.round(f.patienceSec), r: f.regularSeats, k: f.lendableSeats,
          f: fmtPercent(f.answerRateRegular), g: fmtPercent(f.answerRatePooled),
          o: q.inputs.short.answered + q.inputs.short.abandoned ? fmtPercent(q.inputs.short.answerRate) : '–', w: q.inputs.waiting,
        }))));
    }
  }
  $('#ctl-timeline').replaceChildren(...(items.length ? items : [h('li', { class: 'muted' }, t('ctl.noEntries'))]));
}

async function loadController() {
  const data = await loadPanel($('#ctl-msg'), 'ctl.error', '/api/supervisor/controller?limit=30');
  if (data) { ctl = data; renderController(); }
}

function startController() {
  $('#ctl-toggle').addEventListener('click', async () => {
    if (!ctl) return;
    const msg = $('#ctl-msg');
    try {
      await api('PUT', '/api/supervisor/controller', { enabled: !ctl.switch.enabled, version: ctl.switch.version });
      clearMsg(msg);
    } catch (err) {
      showError(msg, err);
    }
    await loadController();
  });
  void loadController();
  setInterval(() => void loadController(), 5000);
}

const user = await requireUser(['supervisor', 'admin']);
if (user) {
  renderHeader(user, 'sup.title');
  applyI18n();
  onLangChange(renderAll);
  if (user.permissions.includes('number:full')) wireReveal();
  else $('#reveal-form').closest('section').classList.add('hidden');
  void poll();
  startTrend();
  startController();
  void startQuality();
  void startTicketKpis(user);
  setInterval(render, 1000); // times in state tick between polls
}
