// The agent page's logic (its markup: agent.html, its strings: i18n/agent.json).
import {
  applyI18n, api, requireUser, renderHeader, onLangChange, onUnauthorized, setCsrf, t, $, $$, h,
  showOk, showError, clearMsg, clearFieldErrors, fmtDuration, fmtTime, fmtTimeTz, fmtClock, onSubmit,
} from './common.js';


let agent = null;
let call = null;       // the call shown (stays after it ends so the form can be saved)
let callEnded = false;
let stateEvents = 0;  // agent-state events received so far (wireState's `set` compares)

async function start() {
  wireSession();
  wireState();
  wireTicket();
  wireKnowledge();
  wireHandoff();
  wireSoftphone();
  await loadState();
  await loadCall();
  void loadHandoffTargets();
  connectEvents();
  setInterval(tick, 1000);
  onLangChange(() => { renderState(); renderCall(); renderSoftphone(); });
}

// ---- the login session ---------------------------------------------------------------------------
// A console must never drop a live call because of its own login state. While the softphone is
// registered (or a call is up) the page refreshes its session token well before it expires
// (TOKEN_TTL_SEC, within the session's maximum age); and a 401 then never sends it to /login (that
// would unload the page: softphone and call gone, the caller in silence) - it says so and offers to
// log in again in another window, and picks the new session up from there.

const session = { timer: null, lost: false, everyMs: 60_000 };

function holdsPhone() {
  return sp.wanted || Boolean(sp.session) || Boolean(call && !callEnded);
}

function wireSession() {
  onUnauthorized(() => {
    if (!holdsPhone()) return false;
    sessionLost();
    return true;
  });
}

function sessionLost() {
  session.lost = true;
  $('#session-lost').classList.remove('hidden');
  $('#session-relogin').href = `/login?next=${encodeURIComponent('/agent')}`;
  keepSession(5000);
}

function sessionBack(csrf) {
  if (csrf) setCsrf(csrf);
  if (!session.lost) return;
  session.lost = false;
  $('#session-lost').classList.add('hidden');
  void loadState();
  void loadCall();
}

/**
 * Keeps the session alive while the page holds a phone: one loop at a time (a call with `inMs`
 * reschedules it); it stops by itself when the page holds no phone and the session is fine.
 */
function keepSession(inMs) {
  if (session.timer && inMs === undefined) return;
  clearTimeout(session.timer);
  session.timer = setTimeout(sessionTick, inMs ?? 0);
}

async function sessionTick() {
  session.timer = null;
  if (!holdsPhone() && !session.lost) return;
  try {
    if (session.lost) {
      // Logged in again elsewhere (same browser): the new cookie is ours too, with a new CSRF token.
      const me = await api('GET', '/api/auth/me');
      // Only this agent's own login brings the page back (not whoever logged in on this browser).
      if (me.user?.username === user.username) sessionBack(me.csrfToken);
    } else {
      const r = await api('POST', '/api/auth/refresh');
      session.everyMs = Math.max(10_000, Math.floor(((r.expiresInSec ?? 180) * 1000) / 3));
      sessionBack(r.csrfToken);
    }
  } catch {
    // 401: onUnauthorized showed the notice; a network error: try again soon.
  }
  if (!session.timer && (holdsPhone() || session.lost)) session.timer = setTimeout(sessionTick, session.lost ? 5000 : session.everyMs);
}

// ---- agent state --------------------------------------------------------------------------------

async function loadState() {
  try {
    const r = await api('GET', '/api/agent/state');
    agent = r.agent;
    renderState();
    if (!$('#sip-user').value && agent.extension) $('#sip-user').value = `agent${agent.extension}`;
  } catch (err) {
    showError($('#state-msg'), err);
  }
}

function renderState() {
  if (!agent) return;
  const b = $('#state-badge');
  b.className = `badge ${agent.state}`;
  b.dataset.state = agent.state;
  b.textContent = t('state.' + agent.state);
  // The ACD's own reasons in words (an auto-pause after missed calls, a softphone that dropped); the agent's as chosen.
  const known = { 'auto-pause:no-answer': 'agent.reason.autoPause', unregistered: 'agent.reason.unregistered' };
  const shown = agent.state === 'paused' || (agent.state === 'offline' && agent.reason === 'unregistered');
  $('#state-reason').textContent = shown && agent.reason ? t('agent.reason', { r: known[agent.reason] ? t(known[agent.reason]) : agent.reason }) : '';
  $('#agent-info').replaceChildren(
    h('dt', {}, t('agent.id')), h('dd', {}, `${agent.id} ${agent.name ?? ''}`),
    h('dt', {}, t('agent.ext')), h('dd', {}, agent.extension ?? ''),
    h('dt', {}, t('agent.skills')), h('dd', {}, Object.entries(agent.skills ?? {}).map(([k, v]) => `${k}(${v})`).join(' ')),
  );
  tick();
}

function tick() {
  if (agent?.since) $('#state-since').textContent = t('agent.since', { d: fmtDuration((Date.now() - agent.since) / 1000) });
  if (call && !callEnded && call.phase !== 'ringing' && call.startedAt) $('#call-duration').textContent = fmtDuration((Date.now() - call.startedAt) / 1000);
  if (typeof sp.detail === 'function') renderSoftphone();
  if (sp.session) void spMediaStats();
}

function wireState() {
  const set = async (state, reason) => {
    const msg = $('#state-msg');
    clearMsg(msg);
    try {
      const seen = stateEvents;
      const r = await api('POST', '/api/agent/state', reason ? { state, reason } : { state });
      // A state event that came while this request was under way is newer than its answer (the ACD
      // publishes every change, ours included): the answer must not put an older state back.
      if (agent && stateEvents === seen) { agent.state = r.state; agent.reason = reason ?? ''; agent.since = Date.now(); }
      renderState();
      showOk(msg, t('agent.stateSet', { s: t('state.' + r.state) }));
    } catch (err) {
      showError(msg, err);
    }
  };
  $('#btn-available').addEventListener('click', () => set('available'));
  $('#btn-pause').addEventListener('click', () => set('paused', $('#pause-reason').value));
  $('#btn-offline').addEventListener('click', () => set('offline'));
}

// ---- live events -----------------------------------------------------------------------------------

let wsBackoff = 1000;
function connectEvents() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/agent/events`);
  const status = $('#ws-status');
  ws.addEventListener('open', () => {
    wsBackoff = 1000;
    status.className = 'badge ok';
    status.dataset.i18n = 'agent.ws.up';
    status.textContent = t('agent.ws.up');
    // Anything missed while disconnected.
    void loadState();
    void loadCall();
  });
  ws.addEventListener('message', (m) => {
    let e;
    try { e = JSON.parse(m.data); } catch { return; }
    onEvent(e);
  });
  ws.addEventListener('close', () => {
    status.className = 'badge bad';
    status.dataset.i18n = 'agent.ws.down';
    status.textContent = t('agent.ws.down');
    setTimeout(connectEvents, wsBackoff);
    wsBackoff = Math.min(wsBackoff * 2, 15000);
  });
}

function onEvent(e) {
  if (e.type === 'agent-state') {
    stateEvents++;
    if (agent) { agent.state = e.state; agent.reason = e.reason; agent.since = e.at; }
    renderState();
    // Leaving on-call also means the call is over (in case its call-ended event was missed).
    if (call && !callEnded && e.state !== 'on-call' && e.state !== 'ringing') void loadCall();
  } else if (e.type === 'call-pop') {
    // Ringing (before the answer) or connected: show what the event carries at once, then the
    // details (IVR path, earlier tickets). The form stays when the same call is answered.
    const same = call && call.callId === e.callId;
    if (!same) resetTicketForm();
    call = {
      ...(same ? call : { ivrPath: [], earlierTickets: [], handoff: 'idle' }),
      callId: e.callId, caller: e.caller, dialed: e.dialed, line: same && call.line ? call.line : e.line ? { number: e.line } : null,
      phase: e.phase ?? 'connected', startedAt: same && call.phase === 'connected' ? call.startedAt : e.at,
    };
    callEnded = false;
    renderCall();
    keepSession();
    void loadCall();
  } else if (e.type === 'call-withdrawn') {
    // It rang here and was not answered (no answer, the caller left): nothing of it stays.
    if (call && call.callId === e.callId && call.phase === 'ringing') { call = null; callEnded = false; resetTicketForm(); renderCall(); }
  } else if (e.type === 'call-ended') {
    if (call && call.callId === e.callId) { callEnded = true; renderCall(); }
  } else if (e.type === 'handoff') {
    addNotice(e.target ? `${e.target}: ${e.message}` : e.message, e.code, e.at, e.unit);
    void loadCall();
  }
}

// ---- the call ----------------------------------------------------------------------------------------

async function loadCall() {
  try {
    const r = await api('GET', '/api/agent/call');
    if (r.call) {
      if (!call || call.callId !== r.call.callId) resetTicketForm();
      call = r.call;
      callEnded = false;
    } else if (call && call.phase === 'ringing') {
      call = null; // rang here, never answered
    } else if (call) {
      callEnded = true;
    }
    renderCall();
  } catch (err) {
    if (err.status !== 401) showError($('#ho-msg'), err);
  }
}

function lineText(line) {
  if (!line || line.mode === 'hotline') return [t('call.hotline'), line?.skill ? t('call.skill', { s: line.skill }) : ''].filter(Boolean).join(' · ');
  const parts = [line.number ?? line.id ?? ''];
  if (line.mode) parts.push(t('mode.' + line.mode));
  if (line.skill) parts.push(t('call.skill', { s: line.skill }));
  return parts.filter(Boolean).join(' · ');
}

function renderCall() {
  const has = Boolean(call);
  const ringing = has && !callEnded && call.phase === 'ringing';
  $('#call-card').classList.toggle('has-call', has && !callEnded);
  $('#no-call').classList.toggle('hidden', has);
  $('#call-detail').classList.toggle('hidden', !has);
  // The form belongs to a call this agent took: not before the answer.
  $('#t-save').disabled = !has || ringing;
  if (!has) { $('#t-for').textContent = ''; $('#call-duration').textContent = ''; updateHandoffButtons(); return; }
  $('#caller').textContent = call.caller;
  const st = $('#call-status');
  st.className = callEnded ? 'badge offline' : ringing ? 'badge ringing' : 'badge on-call';
  st.dataset.phase = callEnded ? 'ended' : ringing ? 'ringing' : 'connected';
  st.textContent = t(callEnded ? 'call.ended' : ringing ? 'call.ringing' : 'call.active');
  $('#call-dialed').textContent = call.dialed ?? '';
  $('#call-line').textContent = lineText(call.line);
  $('#call-handoff').textContent = t('handoff.' + (call.handoff || 'idle'));
  $('#call-id').textContent = call.callId;
  $('#call-ivr').replaceChildren(...(call.ivrPath ?? []).map((p) => h('li', {}, p)));
  const earlier = call.earlierTickets ?? [];
  $('#call-earlier').replaceChildren(
    ...(earlier.length
      ? earlier.map((x) => h('li', {}, h('span', { class: 'mono' }, x.ticketNo), ' · ', x.status, ' · ', fmtTimeTz(x.createdAt)))
      : [h('li', { class: 'muted' }, t('call.noEarlier'))]),
  );
  $('#t-for').textContent = t('ticket.for', { id: call.callId });
  suggestForCall();
  updateHandoffButtons();
  tick();
}

// ---- ticket form ---------------------------------------------------------------------------------------

function resetTicketForm() {
  const f = $('#ticket-form');
  kbRefs = [];
  renderKbRefs();
  f.reset();
  clearFieldErrors(f);
  clearMsg($('#ticket-msg'));
}

function wireTicket() {
  const f = $('#ticket-form');
  const msg = $('#ticket-msg');
  onSubmit(f, msg, async () => {
    if (!call) return;
    const body = {
      category: f.category.value || undefined,
      requesterKind: f.requesterKind.value,
      summary: f.summary.value.trim(),
      unitSuggestion: f.unitSuggestion.value.trim(),
      knowledge: kbRefs.map((r) => ({ articleId: r.articleId, helped: r.helped })),
    };
    $('#t-save').disabled = true;
    try {
      const url = `/api/agent/calls/${encodeURIComponent(call.callId)}/ticket`;
      for (let attempt = 0; ; attempt++) {
        try {
          await api('POST', url, body);
          break;
        } catch (err) {
          // Right after the call ends the server only knows who took it once the ticket exists (a few hundred ms): retry briefly.
          if (!(err.status === 403 && callEnded && attempt < 5)) throw err;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      showOk(msg, t('ticket.saved', { id: call.callId }));
    } finally {
      $('#t-save').disabled = !call;
    }
  });
}

// ---- knowledge base ------------------------------------------------------------------------------------

let kbRefs = [];          // articles put on the ticket form: { articleId, version, title, helped }
let kbSuggestedFor = '';  // the call (and its path) the suggestions were made for
let kbHits = [];

function callWords() {
  // The IVR path's node names and choices say what the caller chose (e.g. "pension", "medical-insurance").
  return (call?.ivrPath ?? []).join(' ').replace(/[._:→-]+/g, ' ').slice(0, 400);
}

function callQuery(extra) {
  const q = new URLSearchParams(extra);
  const line = call?.line?.number ?? (call?.dialed && /^123\d\d$/.test(call.dialed) ? call.dialed : '');
  if (line && /^[0-9]{3,8}$/.test(line)) q.set('line', line);
  if (call?.line?.skill) q.set('skill', call.line.skill);
  return q;
}

function renderKbResults(title) {
  $('#kb-for').textContent = title;
  $('#kb-results').replaceChildren(...(kbHits.length ? kbHits.map((x) => {
    const added = kbRefs.some((r) => r.articleId === x.id);
    return h('li', { dataset: { id: x.id } },
      h('div', {}, h('span', { class: 'kb-title' }, x.title), ' ', h('span', { class: 'muted' }, `v${x.version}${x.sourceDepartment ? ' · ' + x.sourceDepartment : ''}${x.validUntil ? ' · ' + t('kb.validUntil', { d: fmtTime(x.validUntil).slice(0, 10) }) : ''}`)),
      x.shortAnswer ? h('div', { class: 'kb-short' }, x.shortAnswer) : '',
      h('div', { class: 'muted' }, x.snippet),
      h('button', { type: 'button', class: 'kb-insert', disabled: !call || added, onclick: () => addKbRef(x) }, t(added ? 'kb.inserted' : 'kb.insert')));
  }) : [h('li', { class: 'muted' }, t('kb.none'))]));
}

async function kbSearch(params, title) {
  const msg = $('#kb-msg');
  clearMsg(msg);
  try {
    kbHits = (await api('GET', `/api/kb/search?${params}`)).results;
    renderKbResults(typeof title === 'function' ? title(kbHits) : title);
  } catch (err) {
    showError(msg, err, $('#kb-search'));
  }
}

/** On call pop (and when the call's details arrive): suggestions from its line, skill and IVR path. */
function suggestForCall() {
  if (!call) return;
  const key = `${call.callId}|${call.line?.number ?? ''}|${call.line?.skill ?? ''}|${(call.ivrPath ?? []).length}`;
  if (key === kbSuggestedFor || $('#kb-q').value.trim()) return;
  kbSuggestedFor = key;
  const q = callQuery({ limit: '5' });
  const words = callWords();
  if (words) q.set('context', words);
  void kbSearch(q, () => t('kb.suggested', { w: [q.get('line'), q.get('skill')].filter(Boolean).join(' · ') || t('call.hotline') }));
}

function addKbRef(x) {
  if (!call || kbRefs.some((r) => r.articleId === x.id)) return;
  kbRefs.push({ articleId: x.id, version: x.version, title: x.title, helped: true });
  renderKbRefs();
  renderKbResults($('#kb-for').textContent);
}

function renderKbRefs() {
  const ul = $('#t-kb');
  if (!ul) return;
  ul.replaceChildren(...(kbRefs.length ? kbRefs.map((r) => h('li', { dataset: { id: r.articleId } },
    h('span', {}, `${r.title} (v${r.version})`),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', class: 'kb-helped', checked: r.helped, onchange: (e) => { r.helped = e.target.checked; } }), t('kb.helped')),
    h('button', { type: 'button', class: 'kb-remove', onclick: () => { kbRefs = kbRefs.filter((y) => y !== r); renderKbRefs(); renderKbResults($('#kb-for').textContent); } }, t('kb.remove'))))
    : [h('li', { class: 'muted' }, t('kb.noRefs'))]));
}

function wireKnowledge() {
  $('#kb-search').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $('#kb-q').value.trim();
    if (!text) { kbSuggestedFor = ''; suggestForCall(); return; }
    void kbSearch(callQuery({ q: text, limit: '10' }), (hits) => t('kb.results', { n: hits.length }));
  });
  renderKbRefs();
}

// ---- hand-offs -------------------------------------------------------------------------------------------

// Hand-off targets from the routing table with the kinds each allows (a seat group: blind only).
let handoffTargets = [];
async function loadHandoffTargets() {
  try {
    handoffTargets = (await api('GET', '/api/agent/handoff-targets')).targets ?? [];
  } catch {
    handoffTargets = [];
  }
  $('#ho-targets').replaceChildren(...handoffTargets.map((x) => h('option', { value: x.target }, x.label)));
  updateHandoffButtons();
}

/** The kinds the typed target allows: from the list; `skill:` is a seat group; anything else is the server's to judge. */
function kindsOf(target) {
  const v = target.trim();
  const known = handoffTargets.find((x) => x.target === v);
  if (known) return known.kinds;
  if (v.startsWith('skill:')) return ['blind'];
  return ['blind', 'consult', 'three-way'];
}

function updateHandoffButtons() {
  const phase = call && !callEnded && call.phase !== 'ringing' ? call.handoff || 'idle' : null;
  const live = phase !== null;
  for (const b of $$('[data-kind], [data-linkage]')) b.disabled = !live || phase !== 'idle';
  // Never offer what the target cannot take: a seat group has nobody to consult or conference.
  const target = $('#ho-target').value.trim();
  const kinds = kindsOf(target);
  for (const b of $$('[data-kind]')) if (!kinds.includes(b.dataset.kind)) b.disabled = true;
  $('#ho-hint').textContent = target && !kinds.includes('three-way') ? t('ho.groupOnly', { t: target }) : '';
  $('#ho-complete').disabled = phase !== 'consulting';
  $('#ho-merge').disabled = phase !== 'consulting';
  $('#ho-cancel').disabled = !(phase === 'consulting' || phase === 'dialing');
  $('#ho-leave').disabled = phase !== 'conference';
}

/** A notice; a failed hand-off to a unit offers to dispatch the ticket to it instead (派单). */
function addNotice(text, code, at, unit) {
  const li = h('li', { dataset: { code: code ?? '' } }, h('span', { class: 'muted', title: t('tz.label') }, fmtClock(at ?? Date.now()), ' '), text);
  if (unit) {
    const b = h('button', { type: 'button', dataset: { dispatchUnit: unit } }, t('ho.dispatch', { u: unit }));
    b.addEventListener('click', () => {
      $('#t-unit').value = unit;
      $('#t-summary').focus();
    });
    li.append(' ', b);
  }
  $('#notices').prepend(li);
}

function wireHandoff() {
  const msg = $('#ho-msg');
  const f = $('#handoff-form');
  const request = async (kind, target) => {
    clearMsg(msg);
    clearFieldErrors(f);
    try {
      const r = await api('POST', '/api/agent/call/handoff', { kind, target });
      if (call) call.handoff = r.handoff;
      const label = t({ blind: 'ho.blind', consult: 'ho.consult', 'three-way': 'ho.three', linkage: 'ho.linkage' }[kind]);
      showOk(msg, t('ho.requested', { k: label, t: target }));
      addNotice(t('ho.requested', { k: label, t: target }), 'requested');
      renderCall();
    } catch (err) {
      showError(msg, err, f);
    }
  };
  for (const b of $$('[data-kind]')) b.addEventListener('click', () => request(b.dataset.kind, f.target.value.trim()));
  f.target.addEventListener('input', updateHandoffButtons);
  for (const b of $$('[data-linkage]')) b.addEventListener('click', () => request('linkage', b.dataset.linkage));
  for (const b of $$('[data-cmd]')) {
    b.addEventListener('click', async () => {
      clearMsg(msg);
      try {
        const r = await api('POST', `/api/agent/call/handoff/${b.dataset.cmd}`);
        if (call) call.handoff = r.handoff;
        showOk(msg, t('ho.done', { c: b.textContent }));
        renderCall();
      } catch (err) {
        showError(msg, err);
      }
    });
  }
  updateHandoffButtons();
}

// ---- softphone (sip.js: UserAgent + Registerer) ------------------------------------------------------------

const sp = { cfg: null, sip: null, ua: null, registerer: null, session: null, wanted: false, attempt: 0, timer: null, status: 'unregistered', detail: '' };

function setSp(status, detail = '') {
  sp.status = status;
  sp.detail = detail;
  renderSoftphone();
}

function renderSoftphone() {
  const s = $('#sp-status');
  s.dataset.status = sp.status;
  s.dataset.i18n = 'sp.st.' + sp.status;
  s.className = `badge ${sp.status === 'registered' ? 'ok' : sp.status === 'connecting' ? 'ringing' : 'bad'}`;
  s.textContent = t('sp.st.' + sp.status);
  $('#sp-detail').textContent = typeof sp.detail === 'function' ? sp.detail() : sp.detail;
  $('#sp-register').disabled = sp.wanted;
  $('#sp-unregister').disabled = !sp.wanted;
  const sess = sp.session;
  const ringing = sess && sess.state === sp.sip?.SessionState.Initial;
  $('#sp-answer').disabled = !ringing;
  $('#sp-hangup').disabled = !sess;
  $('#sp-call').textContent = sess ? t(ringing ? 'sp.ringing' : 'sp.incall') : '';
  if (sp.cfg) {
    const ice = sp.cfg.iceServers.length ? sp.cfg.iceServers.join(', ') : t('sp.noice');
    $('#sp-server').textContent = t('sp.server', { u: sp.cfg.wsUrl, i: ice });
  }
}

async function loadSoftphoneConfig() {
  if (!sp.cfg) {
    const res = await fetch('/web/softphone-config.json', { credentials: 'same-origin' });
    if (!res.ok) throw new Error(`softphone-config.json: HTTP ${res.status}`);
    sp.cfg = await res.json();
  }
  return sp.cfg;
}

function wireSoftphone() {
  renderSoftphone();
  loadSoftphoneConfig().then(renderSoftphone, (err) => setSp('unregistered', err.message));
  $('#sp-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void spStart($('#sip-user').value.trim(), $('#sip-password').value);
  });
  $('#sp-unregister').addEventListener('click', () => void spStop());
  $('#sp-answer').addEventListener('click', () => void spAnswer());
  $('#sp-hangup').addEventListener('click', () => void spHangup());
  // The browser says the network is back: try at once instead of waiting for the timer.
  window.addEventListener('online', () => { if (sp.wanted && sp.status !== 'registered') spRetryNow(); });
  window.addEventListener('beforeunload', () => { try { sp.registerer?.unregister(); } catch { /* page is leaving */ } });
}

async function spStart(sipUser, password) {
  if (!sipUser) { setSp('unregistered', t('sp.needUser')); return; }
  await spStop();
  try {
    const cfg = await loadSoftphoneConfig();
    sp.sip ??= await import('/vendor/sip.js/index.js');
    const { UserAgent, Registerer, RegistererState } = sp.sip;
    const uri = UserAgent.makeURI(`sip:${sipUser}@${cfg.sipDomain}`);
    if (!uri) throw new Error(`bad SIP address sip:${sipUser}@${cfg.sipDomain}`);
    sp.wanted = true;
    sp.attempt = 0;
    keepSession();
    const ua = new UserAgent({
      uri,
      authorizationUsername: sipUser,
      authorizationPassword: password,
      displayName: agent?.name ?? sipUser,
      transportOptions: { server: cfg.wsUrl, connectionTimeout: 5, keepAliveInterval: 30 },
      // Only the centre's own STUN/TURN from configuration: never sip.js's public default.
      sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: cfg.iceServers.map((u) => ({ urls: u })) } },
      logBuiltinEnabled: false,
      delegate: {
        onConnect: () => void spRegister(),
        onDisconnect: (error) => {
          if (!sp.wanted || sp.ua !== ua) return;
          setSp('reconnecting', error?.message ?? '');
          spScheduleRetry();
        },
        onInvite: (invitation) => spIncoming(invitation),
      },
    });
    sp.ua = ua;
    sp.registerer = new Registerer(ua, { expires: 300 });
    sp.registerer.stateChange.addListener((state) => {
      if (sp.ua !== ua) return;
      if (state === RegistererState.Registered) { sp.attempt = 0; setSp('registered'); }
      else if (state === RegistererState.Unregistered && sp.wanted && sp.status === 'registered') setSp('unregistered');
    });
    setSp('connecting');
    await ua.start();
  } catch (err) {
    if (!sp.wanted) { setSp('unregistered', err.message); return; }
    setSp('reconnecting', err.message);
    spScheduleRetry();
  }
}

async function spRegister() {
  if (!sp.registerer || !sp.wanted) return;
  try {
    await sp.registerer.register({
      requestDelegate: {
        // The Registerer may already be in state Registered (re-registering after a drop): the 200 OK is what counts.
        onAccept: () => { sp.attempt = 0; setSp('registered'); },
        onReject: (res) => {
          const m = res.message;
          setSp('failed', `${m.statusCode} ${m.reasonPhrase}`);
        },
      },
    });
  } catch (err) {
    setSp('failed', err.message);
  }
}

function spScheduleRetry() {
  if (sp.timer) return; // one retry pending at a time (a failed connect may also report a disconnect)
  sp.attempt += 1;
  const delay = Math.min(30, 2 ** Math.min(sp.attempt - 1, 5));
  const due = Date.now() + delay * 1000;
  sp.detail = () => t('sp.retry', { s: Math.max(0, Math.ceil((due - Date.now()) / 1000)), n: sp.attempt });
  renderSoftphone();
  sp.timer = setTimeout(spRetryNow, delay * 1000);
}

function spRetryNow() {
  clearTimeout(sp.timer);
  sp.timer = null;
  if (!sp.wanted || !sp.ua) return;
  setSp('connecting');
  sp.ua.reconnect().catch((err) => {
    if (!sp.wanted) return;
    setSp('reconnecting', err.message);
    spScheduleRetry();
  });
}

async function spStop() {
  clearTimeout(sp.timer);
  sp.timer = null;
  sp.wanted = false;
  const ua = sp.ua;
  const reg = sp.registerer;
  sp.ua = null;
  sp.registerer = null;
  if (sp.session) await spHangup();
  if (reg) { try { await reg.unregister(); } catch { /* not registered or offline */ } }
  if (ua) { try { await ua.stop(); } catch { /* already stopped */ } }
  setSp('unregistered');
}

/** Packets of the call's audio, sent and received (RTCPeerConnection stats): the agent sees media flow both ways. */
async function spMediaStats() {
  const s = sp.session;
  const pc = s?.sessionDescriptionHandler?.peerConnection;
  if (!pc) return;
  let sent = 0;
  let received = 0;
  try {
    (await pc.getStats()).forEach((r) => {
      if ((r.kind ?? r.mediaType) !== 'audio') return;
      if (r.type === 'outbound-rtp') sent += r.packetsSent ?? 0;
      if (r.type === 'inbound-rtp') received += r.packetsReceived ?? 0;
    });
  } catch {
    return; // the connection closed meanwhile
  }
  if (sp.session !== s) return;
  const el = $('#sp-media');
  el.dataset.sent = String(sent);
  el.dataset.received = String(received);
  el.textContent = t('sp.media', { s: sent, r: received });
}

function spIncoming(invitation) {
  if (sp.session) {
    invitation.reject({ statusCode: 486 }).catch(() => undefined);
    return;
  }
  const { SessionState } = sp.sip;
  sp.session = invitation;
  const media = $('#sp-media');
  media.dataset.sent = '0';
  media.dataset.received = '0';
  media.textContent = '';
  invitation.delegate = {
    // Asterisk waits for the 200 OK to its BYE: always accept it.
    onBye: (bye) => { bye.accept().catch(() => undefined); },
  };
  invitation.stateChange.addListener((state) => {
    if (state === SessionState.Established) {
      const sdh = invitation.sessionDescriptionHandler;
      const audio = $('#sp-audio');
      if (sdh?.remoteMediaStream) { audio.srcObject = sdh.remoteMediaStream; audio.play().catch(() => undefined); }
    }
    if (state === SessionState.Terminated) {
      if (sp.session === invitation) sp.session = null;
      $('#sp-audio').srcObject = null;
    }
    renderSoftphone();
  });
  renderSoftphone();
  if ($('#sp-auto').checked) void spAnswer();
}

async function spAnswer() {
  const s = sp.session;
  if (!s || s.state !== sp.sip.SessionState.Initial) return;
  try {
    await s.accept({ sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } });
  } catch (err) {
    sp.detail = err.message;
    renderSoftphone();
  }
}

async function spHangup() {
  const s = sp.session;
  if (!s) return;
  const { SessionState } = sp.sip;
  try {
    if (s.state === SessionState.Initial || s.state === SessionState.Establishing) await s.reject();
    else if (s.state === SessionState.Established) await s.bye();
  } catch { /* already gone */ }
}

// Last, so that every binding above is initialised.
const user = await requireUser(['agent', 'supervisor']);
if (user) {
  renderHeader(user, 'agent.title');
  applyI18n();
  await start();
}
