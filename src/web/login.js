// The login page's logic (its markup: login.html, its strings: i18n/login.json).
import { applyI18n, api, setCsrf, homeOf, showError, clearMsg, clearFieldErrors, langButton, t, $ } from './common.js';

$('#lang-slot').append(langButton());
applyI18n();

/** Only same-site paths are accepted as ?next= (no open redirect). */
function nextPath() {
  const n = new URLSearchParams(location.search).get('next');
  return n && /^\/(?!\/)[\w\-./?=&%]*$/.test(n) && !n.startsWith('/login') ? n : null;
}

const form = $('#login-form');

// Demo mode only: the demo server answers /api/demo/logins; a production server has no such route (404).
fetch('/api/demo/logins').then((r) => (r.ok ? r.json() : null)).then((d) => {
  if (!d || !d.logins || d.logins.length === 0) return;
  const body = $('#demo-logins tbody');
  for (const l of d.logins) {
    const tr = document.createElement('tr');
    tr.style.cursor = 'pointer';
    for (const v of [l.username, l.password, l.page]) { const td = document.createElement('td'); td.textContent = v; tr.append(td); }
    tr.addEventListener('click', () => { form.username.value = l.username; form.password.value = l.password; });
    body.append(tr);
  }
  $('#demo-logins').hidden = false;
}).catch(() => undefined);
const msg = $('#login-msg');
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearMsg(msg);
  clearFieldErrors(form);
  const btn = $('#login-btn');
  btn.disabled = true;
  try {
    const r = await api('POST', '/api/auth/login', { username: form.username.value.trim(), password: form.password.value });
    setCsrf(r.csrfToken);
    const home = homeOf(r.user.roles);
    const next = nextPath();
    if (next) location.href = next;
    else if (home) location.href = home;
    else showError(msg, { message: t('login.noPage') });
  } catch (err) {
    form.password.value = '';
    showError(msg, err, form);
  } finally {
    btn.disabled = false;
  }
});
