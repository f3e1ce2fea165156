// The request page's logic (its markup: request.html, its strings: i18n/request.json).
import { applyI18n, api, langButton, onSubmit, t, $ } from './common.js';

$('#lang-slot').append(langButton());
applyI18n();

// One id per request the citizen writes: a double click or a retried post is the same ticket.
let formId = crypto.randomUUID();
const form = $('#req-form');
const box = $('#req-msg');

onSubmit(form, box, async () => {
  const btn = $('#submit');
  btn.disabled = true;
  btn.textContent = t('req.sending');
  try {
    const body = {
      formId,
      category: form.category.value,
      requesterKind: form.requesterKind.value,
      summary: form.summary.value,
      phone: form.phone.value,
      ...(form.name.value.trim() ? { name: form.name.value } : {}),
    };
    const r = await api('POST', '/api/public/requests', body);
    $('#ticket-no').textContent = r.ticketNo;
    form.hidden = true;
    $('#done').hidden = false;
  } finally {
    btn.disabled = false;
    btn.textContent = t('req.submit');
  }
});

$('#again').addEventListener('click', () => {
  formId = crypto.randomUUID();
  form.reset();
  form.hidden = false;
  $('#done').hidden = true;
});
