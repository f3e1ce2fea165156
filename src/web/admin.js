// The admin page's logic (its markup: admin.html, its strings: i18n/admin.json).
import {
  applyI18n, api, requireUser, renderHeader, onLangChange, getLang, t, $, $$, h,
  showOk, showError, clearMsg, clearFieldErrors, markField, fieldErrorList, fmtTimeTz, fmtTime, cityLocalToIso, onSubmit,
} from './common.js';

const state = {
  publishedVersion: 0,
  published: null,   // published table
  draft: null,       // { version, table, baseVersion, updatedAt, updatedBy } as saved
  draftVersion: 0,   // the draft version read: every save, publish and schedule names it (409 when stale)
  work: null,        // the table being edited (saved on "save")
  dirty: false,
  errors: [],        // validation errors of the saved draft
  selected: -1,      // index in work.routes
};

// ---- tabs ----------------------------------------------------------------------------------------

function showTab(name) {
  for (const b of $$('[data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  for (const p of $$('[data-panel]')) p.classList.toggle('hidden', p.dataset.panel !== name);
  if (name === 'versions') void loadVersions();
  if (name === 'seats') void loadSeats();
  if (name === 'users') void loadUsers();
}

// ---- routing table draft ---------------------------------------------------------------------------

async function loadRouting() {
  const [pub, d] = await Promise.all([api('GET', '/api/admin/routing'), api('GET', '/api/admin/routing/draft')]);
  state.publishedVersion = pub.version;
  state.published = pub.table;
  state.draft = d.draft;
  state.draftVersion = d.version ?? 0;
  state.errors = d.errors ?? [];
  state.work = d.draft ? structuredClone(d.draft.table) : null;
  state.dirty = false;
  renderRouting();
}

function renderDraftInfo() {
  $('#published-version').textContent = `v${state.publishedVersion}`;
  const info = $('#draft-info');
  if (!state.draft) info.textContent = t('adm.noDraft');
  else info.textContent = t('adm.draftInfo', { v: state.draft.baseVersion, who: state.draft.updatedBy, at: fmtTimeTz(Date.parse(state.draft.updatedAt)), dirty: state.dirty ? t('adm.dirty') : '' });
  $('#save-draft').disabled = !state.work;
  $('#publish').disabled = !state.draft;
}

function routeErrors(i) {
  const prefix = `routes[${i}]`;
  return state.errors.filter((e) => e.field === prefix || e.field.startsWith(prefix + '.') || e.field.startsWith(prefix + '['));
}

function renderErrors() {
  const box = $('#draft-errors');
  if (!state.errors.length) { box.replaceChildren(); return; }
  const list = fieldErrorList(state.errors);
  // Clicking an error opens the line it is about.
  list.querySelectorAll('li').forEach((li, k) => {
    const m = /^routes\[(\d+)\]/.exec(state.errors[k].field);
    if (m) li.addEventListener('click', () => selectRoute(Number(m[1])));
  });
  box.replaceChildren(list);
}

function renderRoutes() {
  const body = $('#routes-table tbody');
  const routes = state.work?.routes ?? state.published?.routes ?? [];
  const q = $('#route-filter').value.trim().toLowerCase();
  const rows = [];
  routes.forEach((r, i) => {
    const text = `${r.id} ${(r.numbers ?? []).join(' ')} ${r.name} ${r.nameEn ?? ''}`.toLowerCase();
    if (q && !text.includes(q)) return;
    const tr = h('tr', {
      dataset: { route: r.id, index: i },
      class: [i === state.selected ? 'selected' : '', state.work && routeErrors(i).length ? 'has-error' : ''].join(' ').trim() || undefined,
      onclick: () => selectRoute(i),
    },
      h('td', { class: 'mono' }, (r.numbers ?? []).join(', ') || '–'),
      h('td', {}, r.name, h('div', { class: 'muted mono' }, r.id)),
      h('td', {}, h('span', { class: `badge mode-${r.mode}` }, t('mode.' + r.mode))),
      h('td', {}, (r.skills ?? []).join(', ')),
      h('td', { class: 'num' }, r.priority ?? ''));
    rows.push(tr);
  });
  body.replaceChildren(...rows);
}

function renderRouting() {
  renderDraftInfo();
  renderErrors();
  renderRoutes();
  renderEditor();
}

function selectRoute(i) {
  if (!state.work) return;
  state.selected = i;
  renderRoutes();
  renderEditor();
  document.getElementById('editor-card').scrollIntoView({ block: 'nearest' });
}

function showModeFields(form, mode) {
  for (const el of form.querySelectorAll('[data-for-modes]')) el.classList.toggle('hidden', !el.dataset.forModes.split(' ').includes(mode));
}

function renderEditor() {
  const form = $('#route-form');
  const r = state.work?.routes?.[state.selected];
  $('#editor-empty').classList.toggle('hidden', Boolean(r));
  form.classList.toggle('hidden', !r);
  $('#edit-id').textContent = r ? r.id : '';
  clearFieldErrors(form);
  if (!r) return;
  form.numbers.value = (r.numbers ?? []).join(', ');
  form.mode.value = r.mode;
  form.name.value = r.name ?? '';
  form.nameEn.value = r.nameEn ?? '';
  form.unit.value = r.unit ?? '';
  form.area.value = r.area ?? '';
  form.skills.value = (r.skills ?? []).join(', ');
  form.priority.value = r.priority ?? '';
  form.expertSeats.checked = Boolean(r.expertSeats);
  const tg = r.target ?? null;
  form.targetKind.value = tg?.kind ?? '';
  form.targetValue.value = tg ? tg.group ?? tg.dialString ?? tg.routeId ?? '' : '';
  form.transitionFrom.value = r.transition?.from ?? '';
  form.transitionUntil.value = r.transition?.until ?? '';
  form.afterCancel.value = r.afterCancel ?? 'hotline';
  form.note.value = r.note ?? '';
  $('#route-json').value = JSON.stringify(r, null, 2);
  showModeFields(form, r.mode);
  markRouteErrors();
}

/** Put the draft's errors about the selected line next to the inputs they concern. */
function markRouteErrors() {
  const form = $('#route-form');
  const errs = routeErrors(state.selected);
  const prefix = `routes[${state.selected}]`;
  const inputFor = (rest) => {
    const key = rest.replace(/^[.]/, '').split(/[.[]/)[0];
    if (key === 'target') return rest.includes('kind') ? 'targetKind' : 'targetValue';
    if (key === 'transition') return rest.includes('until') ? 'transitionUntil' : 'transitionFrom';
    return form.querySelector(`[name="${key}"]`) ? key : 'json';
  };
  for (const e of errs) {
    const name = inputFor(e.field.slice(prefix.length));
    if (name === 'json') $('#json-box').open = true;
    markField(form, name, `${e.field}: ${e.message}`);
  }
  const msg = $('#route-msg');
  if (errs.length) { msg.className = 'msg err'; msg.textContent = t('adm.routeErrs', { n: errs.length }); }
  else clearMsg(msg);
}

const list = (v) => v.split(/[\s,，、;；]+/).map((x) => x.trim()).filter(Boolean);
/** A number when it looks like one; otherwise the text as typed, so the server names the field. */
const numOrRaw = (v) => (/^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v.trim());

/** The selected route with the form's values (fields the form does not show are kept). */
function routeFromForm() {
  const form = $('#route-form');
  const r = structuredClone(state.work.routes[state.selected]);
  const set = (k, v) => { if (v === undefined || v === '') delete r[k]; else r[k] = v; };
  r.numbers = list(form.numbers.value);
  r.mode = form.mode.value;
  r.name = form.name.value.trim();
  r.nameEn = form.nameEn.value.trim();
  r.unit = form.unit.value.trim();
  r.area = form.area.value.trim();
  const skills = list(form.skills.value);
  set('skills', skills.length ? skills : undefined);
  set('priority', form.priority.value.trim() === '' ? undefined : numOrRaw(form.priority.value));
  const mode = r.mode;
  if (['merged', 'parallel', 'subcenter', 'subplatform', 'transfer'].includes(mode)) {
    if (mode === 'parallel') r.expertSeats = form.expertSeats.checked;
    else set('expertSeats', form.expertSeats.checked || undefined);
  } else delete r.expertSeats;
  if (['subcenter', 'subplatform', 'transfer', 'linkage'].includes(mode)) {
    const kind = form.targetKind.value;
    const v = form.targetValue.value.trim();
    if (!kind) delete r.target;
    else r.target = kind === 'queue' ? { kind, group: v } : kind === 'dial' ? { kind, dialString: v } : { kind, routeId: v };
  } else delete r.target;
  if (mode === 'merged') {
    const from = form.transitionFrom.value.trim();
    const until = form.transitionUntil.value.trim();
    if (from || until) r.transition = { from, until };
    else delete r.transition;
    r.afterCancel = form.afterCancel.value;
  } else {
    delete r.transition;
    delete r.afterCancel;
  }
  set('note', form.note.value.trim() || undefined);
  return r;
}

async function saveDraft(msgBox = $('#draft-msg')) {
  if (!state.work) return;
  clearMsg(msgBox);
  try {
    const r = await api('PUT', '/api/admin/routing/draft', { table: state.work, version: state.draftVersion });
    state.draft = r.draft;
    state.draftVersion = r.version;
    state.errors = r.errors ?? [];
    state.dirty = false;
    renderRouting();
    if (state.errors.length) {
      msgBox.className = 'msg err';
      msgBox.setAttribute('role', 'alert');
      msgBox.replaceChildren(t('adm.savedErr', { n: state.errors.length }));
    } else showOk(msgBox, t('adm.savedOk'));
  } catch (err) {
    showConflictOr(msgBox, err);
  }
}

/**
 * An error, and for a stale write (409 version-conflict: another admin saved first) what to do next:
 * the local edits stay on screen, a button reloads what is stored now.
 */
function showConflictOr(msgBox, err) {
  showError(msgBox, err);
  if (err && err.code === 'version-conflict') {
    const reload = h('button', { type: 'button', id: 'conflict-reload' }, t('adm.reload'));
    reload.addEventListener('click', async () => {
      try {
        await loadRouting();
        clearMsg(msgBox);
      } catch (e) {
        showError(msgBox, e);
      }
    });
    msgBox.append(h('div', { class: 'conflict' }, t('adm.conflict'), ' ', reload));
  }
}

function wireRouting() {
  $('#route-filter').addEventListener('input', renderRoutes);
  $('#start-draft').addEventListener('click', async () => {
    const msg = $('#draft-msg');
    clearMsg(msg);
    try {
      const pub = await api('GET', '/api/admin/routing');
      state.work = structuredClone(pub.table);
      state.draft = null;
      await saveDraft();
      const m = $('#draft-msg');
      if (!state.errors.length) showOk(m, t('adm.started', { v: pub.version }));
    } catch (err) {
      showError(msg, err);
    }
  });
  $('#save-draft').addEventListener('click', () => void saveDraft());
  $('#route-form').mode.addEventListener('change', (e) => showModeFields($('#route-form'), e.target.value));
  $('#route-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (state.selected < 0) return;
    state.work.routes[state.selected] = routeFromForm();
    state.dirty = true;
    await saveDraft();
  });
  $('#revert-route').addEventListener('click', renderEditor);
  $('#apply-json').addEventListener('click', async () => {
    const form = $('#route-form');
    clearFieldErrors(form);
    let r;
    try {
      r = JSON.parse($('#route-json').value);
    } catch (err) {
      markField(form, 'json', t('adm.badJson', { m: err.message }));
      return;
    }
    state.work.routes[state.selected] = r;
    state.dirty = true;
    await saveDraft();
  });
  $('#publish').addEventListener('click', async () => {
    const msg = $('#draft-msg');
    clearMsg(msg);
    if (state.dirty) await saveDraft();
    try {
      const comment = $('#publish-comment').value.trim();
      const body = { draftVersion: state.draftVersion, expectedVersion: state.publishedVersion };
      const r = await api('POST', '/api/admin/routing/publish', comment ? { ...body, comment } : body);
      await loadRouting();
      state.selected = -1;
      renderRouting();
      showOk(msg, t('adm.publishedOk', { v: r.version }));
      $('#publish-comment').value = '';
    } catch (err) {
      if (Array.isArray(err.details)) { state.errors = err.details; renderRouting(); }
      showConflictOr(msg, err);
    }
  });
}

// ---- test dial ---------------------------------------------------------------------------------------

function wireDial() {
  const f = $('#dial-form');
  onSubmit(f, $('#dial-msg'), async () => {
    const body = { number: f.number.value.trim(), table: f.table.value, source: f.source.value, lang: f.lang.value };
    // Typed as the city's time, whatever the browser's zone.
    if (f.at.value) body.at = cityLocalToIso(f.at.value);
    renderDial(await api('POST', '/api/admin/routing/test-dial', body));
  });
}

function renderDial(r) {
  const d = r.decision;
  $('#dial-empty').classList.add('hidden');
  $('#dial-out').classList.remove('hidden');
  const rows = [['adm.d.action', d.action], ['adm.d.route', d.routeId]];
  if (d.line) rows.push(['adm.d.line', `${d.line.number} ${d.line.name} · ${t('mode.' + d.line.mode)}`]);
  if (d.skill) rows.push(['adm.d.skill', d.skill + (d.expertFirst ? ` (+ ${d.expertGroup ?? 'expert'})` : '')]);
  if (d.flowId) rows.push(['adm.d.flow', d.flowId]);
  if (d.target) rows.push(['adm.d.target', d.target]);
  rows.push(['adm.d.version', `v${d.tableVersion}`]);
  $('#dial-decision').replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, t(k)), h('dd', { dataset: { k } }, v)]));
  $('#dial-why').replaceChildren(...(d.why ?? []).map((x) => h('li', {}, x)));
  $('#dial-heard').replaceChildren(...(r.heard ?? []).map((x) => h('li', { class: 'mono' }, x)));
  $('#dial-steps').replaceChildren(...(r.steps ?? []).map((x) => h('li', {}, x)));
}

// ---- versions ---------------------------------------------------------------------------------------

async function loadVersions() {
  const msg = $('#versions-msg');
  try {
    const { versions } = await api('GET', '/api/admin/routing/versions');
    const body = $('#versions-table tbody');
    body.replaceChildren(...versions.map((v) => {
      const isCurrent = v.version === state.publishedVersion;
      const btn = isCurrent
        ? h('span', { class: 'badge ok' }, t('adm.current'))
        : h('button', { type: 'button', dataset: { rollback: v.version } }, t('adm.rollback'));
      if (!isCurrent) {
        let armed = false;
        btn.addEventListener('click', async () => {
          // Two clicks: a rollback changes what every caller hears.
          if (!armed) {
            armed = true;
            btn.textContent = t('adm.rollbackConfirm', { v: v.version });
            btn.classList.add('danger');
            setTimeout(() => { armed = false; btn.textContent = t('adm.rollback'); btn.classList.remove('danger'); }, 6000);
            return;
          }
          clearMsg(msg);
          try {
            const r = await api('POST', '/api/admin/routing/rollback', { version: v.version, expectedVersion: state.publishedVersion });
            await loadRouting();
            await loadVersions();
            showOk(msg, t('adm.rolledBack', { to: v.version, v: r.version }));
          } catch (err) {
            showConflictOr(msg, err);
          }
        });
      }
      return h('tr', { dataset: { version: v.version } },
        h('td', {}, `v${v.version}`), h('td', {}, fmtTime(Date.parse(v.publishedAt))), h('td', {}, v.publishedBy),
        h('td', {}, (v.comment ?? '') + (v.rollbackOf ? t('adm.rollbackOf', { v: v.rollbackOf }) : '')),
        h('td', { class: 'num' }, v.routes), h('td', {}, btn));
    }));
  } catch (err) {
    showError(msg, err);
  }
}

// ---- seats ---------------------------------------------------------------------------------------------

async function loadSeats() {
  const msg = $('#seats-msg');
  try {
    const { groups, agents } = await api('GET', '/api/admin/seats');
    $('#groups-table tbody').replaceChildren(...groups.map((g) => h('tr', { dataset: { group: g.id } },
      h('td', { class: 'mono' }, g.id), h('td', {}, g.name), h('td', {}, g.kind), h('td', {}, g.lineNumber ?? ''), h('td', {}, g.department ?? ''))));
    $('#seat-agents-table tbody').replaceChildren(...agents.map((a) => h('tr', { dataset: { agent: a.id } },
      h('td', { class: 'mono' }, a.id), h('td', {}, a.name), h('td', {}, a.extension),
      h('td', {}, Object.entries(a.skills ?? {}).map(([k, v]) => `${k}(${v})`).join(' ')), h('td', {}, (a.groups ?? []).join(', ')))));
  } catch (err) {
    showError(msg, err);
  }
}

// ---- users (GET/POST /api/admin/users, PATCH /api/admin/users/:u, POST …/password; the server audits each change) ----

const users = { list: [], selected: null, msgs: new Map() };
/** Outcome messages kept as key + values, so that they follow the language toggle. */
function sayUser(box, key, vars) {
  users.msgs.set(box.id, { key, vars });
  showOk(box, t(key, vars));
}
function unsayUser(box) {
  users.msgs.delete(box.id);
  clearMsg(box);
}

/** The role checkboxes of a user form (create, edit): one per role, ids `<prefix>-role-<role>`. */
function fillRoleBoxes() {
  for (const fs of $$('fieldset[data-role-boxes]')) {
    const prefix = fs.dataset.roleBoxes;
    fs.append(...['admin', 'supervisor', 'agent', 'unit', 'auditor', 'inspector'].map((role) =>
      h('label', { class: 'inline' }, h('input', { type: 'checkbox', dataset: { role }, id: `${prefix}-role-${role}` }), ' ', h('span', { 'data-i18n': `role.${role}` }, t(`role.${role}`)))));
  }
}
fillRoleBoxes();

const rolesOf = (form) => $$('input[data-role]', form).filter((c) => c.checked).map((c) => c.dataset.role);
const setRoles = (form, roles) => { for (const c of $$('input[data-role]', form)) c.checked = roles.includes(c.dataset.role); };

function renderUsers() {
  const body = $('#users-table tbody');
  body.replaceChildren(...(users.list.length
    ? users.list.map((u) => h('tr', {
        dataset: { user: u.username },
        class: [u.username === users.selected ? 'selected' : '', u.disabled ? 'disabled' : ''].join(' ').trim() || undefined,
        onclick: () => selectUser(u.username),
      },
        h('td', { class: 'mono' }, u.username),
        h('td', {}, u.displayName),
        h('td', { class: 'roles' }, u.roles.map((r) => h('span', { class: 'badge', dataset: { role: r } }, t('role.' + r))), ''),
        h('td', { class: 'mono' }, [u.agentId, u.unitId].filter(Boolean).join(' / ') || '–'),
        h('td', { class: 'status' }, h('span', { class: `badge ${u.disabled ? 'bad' : 'ok'}` }, t(u.disabled ? 'usr.disabled' : 'usr.enabled'))),
        h('td', {}, fmtTime(u.updatedAt ?? u.createdAt))))
    : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, t('usr.none')))]));
  renderUserEditor();
}

function renderUserEditor() {
  const u = users.list.find((x) => x.username === users.selected);
  const form = $('#user-edit');
  $('#ue-empty').classList.toggle('hidden', Boolean(u));
  form.classList.toggle('hidden', !u);
  $('#user-password').classList.toggle('hidden', !u);
  $('#ue-name').textContent = u ? u.username : '';
  if (!u) return;
  $('#ue-state').replaceChildren(h('span', { class: `badge ${u.disabled ? 'bad' : 'ok'}` }, t(u.disabled ? 'usr.disabled' : 'usr.enabled')));
  const toggle = $('#ue-toggle');
  toggle.textContent = t(u.disabled ? 'usr.enable' : 'usr.disable');
  toggle.classList.toggle('danger', !u.disabled);
}

/** Fill the edit form from the stored user (an unsaved edit is dropped). */
function fillUserForm(u) {
  const form = $('#user-edit');
  clearFieldErrors(form);
  form.displayName.value = u.displayName ?? '';
  form.agentId.value = u.agentId ?? '';
  form.unitId.value = u.unitId ?? '';
  setRoles(form, u.roles);
}

function selectUser(username) {
  users.selected = username;
  const u = users.list.find((x) => x.username === username);
  unsayUser($('#ue-msg'));
  unsayUser($('#up-msg'));
  clearFieldErrors($('#user-password'));
  $('#user-password').newPassword.value = '';
  if (u) fillUserForm(u);
  renderUsers();
}

async function loadUsers() {
  try {
    users.list = (await api('GET', '/api/admin/users')).users;
    clearMsg($('#users-msg'));
    renderUsers();
  } catch (err) {
    showError($('#users-msg'), err);
  }
}

/** Replace one user in the list with the server's copy. */
function storeUser(u) {
  const i = users.list.findIndex((x) => x.username === u.username);
  if (i < 0) users.list.push(u); else users.list[i] = u;
  users.list.sort((a, b) => a.username.localeCompare(b.username));
}

function wireUsers() {
  const create = $('#user-create');
  create.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const msg = $('#uc-msg');
    unsayUser(msg);
    clearFieldErrors(create);
    const body = { username: create.username.value.trim(), roles: rolesOf(create), password: create.password.value };
    if (create.displayName.value.trim()) body.displayName = create.displayName.value.trim();
    if (create.agentId.value.trim()) body.agentId = create.agentId.value.trim();
    if (create.unitId.value.trim()) body.unitId = create.unitId.value.trim();
    const btn = $('#uc-submit');
    btn.disabled = true;
    try {
      const { user: u } = await api('POST', '/api/admin/users', body);
      create.reset();
      storeUser(u);
      selectUser(u.username);
      sayUser(msg, 'usr.created', { u: u.username });
    } catch (err) {
      showError(msg, err, create);
    } finally {
      btn.disabled = false;
    }
  });

  const edit = $('#user-edit');
  const patch = async (body, okKey) => {
    const msg = $('#ue-msg');
    const name = users.selected;
    unsayUser(msg);
    clearFieldErrors(edit);
    try {
      // The version read with the list: a change made meanwhile by another admin is refused (409).
      const version = users.list.find((x) => x.username === name)?.version;
      const r = await api('PATCH', `/api/admin/users/${encodeURIComponent(name)}`, { ...body, version });
      storeUser(r.user);
      renderUsers();
      if (okKey) sayUser(msg, okKey, { u: name });
      else if (!r.changed.length) sayUser(msg, 'usr.unchanged', {});
      else {
        const f = r.changed.map((c) => t('usr.f.' + c)).join(getLang() === 'en' ? ', ' : '、');
        sayUser(msg, r.changed.some((c) => c !== 'displayName') ? 'usr.savedEnds' : 'usr.saved', { f });
      }
      return r;
    } catch (err) {
      showError(msg, err, edit);
      return null;
    }
  };
  edit.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const u = users.list.find((x) => x.username === users.selected);
    if (!u) return;
    // Only what changed is sent: each change is its own audit entry on the server.
    const body = {};
    const roles = rolesOf(edit);
    if (roles.join() !== u.roles.join()) body.roles = roles;
    const dn = edit.displayName.value.trim();
    if (dn !== (u.displayName ?? '')) body.displayName = dn;
    const agentId = edit.agentId.value.trim();
    if (agentId !== (u.agentId ?? '')) body.agentId = agentId;
    const unitId = edit.unitId.value.trim();
    if (unitId !== (u.unitId ?? '')) body.unitId = unitId;
    await patch(body);
  });
  $('#ue-toggle').addEventListener('click', async () => {
    const u = users.list.find((x) => x.username === users.selected);
    if (!u) return;
    const r = await patch({ disabled: !u.disabled }, u.disabled ? 'usr.enabledOk' : 'usr.disabledOk');
    if (r) fillUserForm(r.user);
  });

  const pw = $('#user-password');
  const pwMsg = $('#up-msg');
  onSubmit(pw, pwMsg, async () => {
    const name = users.selected;
    unsayUser(pwMsg);
    const version = users.list.find((x) => x.username === name)?.version;
    await api('POST', `/api/admin/users/${encodeURIComponent(name)}/password`, { newPassword: pw.newPassword.value, version });
    pw.newPassword.value = '';
    sayUser(pwMsg, 'usr.resetOk', { u: name });
    await loadUsers();
  });
  onLangChange(() => {
    renderUsers();
    for (const [id, m] of users.msgs) showOk(document.getElementById(id), t(m.key, m.vars));
  });
}

const user = await requireUser(['admin', 'supervisor']);
if (user) {
  renderHeader(user, 'adm.title');
  applyI18n();
  for (const b of $$('[data-tab]')) b.addEventListener('click', () => showTab(b.dataset.tab));
  const canWrite = user.permissions.includes('routing:write');
  if (!canWrite) for (const id of ['#start-draft', '#save-draft', '#publish', '#apply-route', '#apply-json']) $(id).classList.add('hidden');
  if (!user.permissions.includes('seats:write')) $('[data-tab="seats"]').classList.add('hidden');
  if (user.permissions.includes('users:read')) {
    $('[data-tab="users"]').classList.remove('hidden');
    wireUsers();
    if (!user.permissions.includes('users:write')) for (const id of ['#user-create-card', '#user-edit', '#user-password']) $(id).classList.add('hidden');
  }
  wireRouting();
  wireDial();
  onLangChange(() => { renderRouting(); });
  try {
    await loadRouting();
  } catch (err) {
    showError($('#draft-msg'), err);
  }
}
