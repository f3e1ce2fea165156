// The docs page's logic (its markup: docs.html, its strings: i18n/docs.json).
import { applyI18n, api, requireUser, renderHeader, onLangChange, getLang, t, $, h, showError } from './common.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
let spec = null;
/** Operations the reader opened: they stay open when the list is drawn again (filter, language). */
const opened = new Set();

/** Server texts are "中文 / English": the half of the current language. */
function pick(text) {
  if (typeof text !== 'string') return '';
  const i = text.indexOf(' / ');
  if (i < 0) return text;
  return getLang() === 'en' ? text.slice(i + 3) : text.slice(0, i);
}

function operations() {
  const ops = [];
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const m of METHODS) if (item[m]) ops.push({ path, method: m, op: item[m] });
  }
  return ops;
}

function whoBadges(access) {
  if (!access) return [];
  if (!access.login) return [h('span', { class: 'badge ok' }, t('docs.public'))];
  const out = [];
  if (access.permission) out.push(h('span', { class: 'badge', title: t('docs.permission') }, h('code', {}, access.permission)));
  const allRoles = ['admin', 'supervisor', 'agent', 'unit', 'auditor', 'inspector'];
  if (allRoles.every((r) => access.roles.includes(r))) out.push(h('span', { class: 'badge' }, t('docs.anyUser')));
  else for (const r of access.roles) out.push(h('span', { class: 'badge', dataset: { role: r } }, t('role.' + r)));
  return out;
}

function typeOf(s) {
  if (!s) return '';
  let ty = s.type || (s.properties ? 'object' : '');
  if (!ty && Array.isArray(s.anyOf)) ty = s.anyOf.map(typeOf).join(' | ');
  if (ty === 'array' && s.items) ty = `${typeOf(s.items)}[]`;
  return ty;
}

function constraints(s) {
  const bits = [];
  if (Array.isArray(s.enum)) bits.push(s.enum.filter((v) => v !== null).join(' | '));
  if (s.maxLength !== undefined) bits.push(t('docs.maxLength', { n: s.maxLength }));
  if (s.minimum !== undefined && s.maximum !== undefined) bits.push(t('docs.range', { min: s.minimum, max: s.maximum }));
  else if (s.minimum !== undefined) bits.push(`≥ ${s.minimum}`);
  else if (s.maximum !== undefined) bits.push(`≤ ${s.maximum}`);
  if (s.nullable) bits.push(t('docs.nullable'));
  if (s.items && Array.isArray(s.items.enum)) bits.push(s.items.enum.join(' | '));
  return bits;
}

/** An object schema's properties as a nested list (name, type, required, constraints, description). */
function schemaList(s, depth = 0) {
  const props = Object.entries(s.properties || {});
  const required = new Set(s.required || []);
  const items = props.map(([name, p]) => {
    const inner = p.type === 'array' && p.items && p.items.properties ? p.items : p.properties ? p : null;
    return h('li', { dataset: { prop: name } },
      h('code', {}, name), ' ', h('span', { class: 'muted' }, typeOf(p)),
      required.has(name) ? [' ', h('span', { class: 'req' }, t('docs.required'))] : '',
      constraints(p).flatMap((c) => [' ', h('span', { class: 'badge' }, c)]),
      p.description ? [' — ', pick(p.description)] : '',
      inner && depth < 4 ? schemaList(inner, depth + 1) : '',
      p.additionalProperties && typeof p.additionalProperties === 'object'
        ? h('ul', { class: 'schema-list' }, h('li', {}, h('code', {}, '*'), ' ', h('span', { class: 'muted' }, typeOf(p.additionalProperties)), constraints(p.additionalProperties).flatMap((c) => [' ', h('span', { class: 'badge' }, c)])))
        : '');
  });
  return h('ul', { class: 'schema-list' }, items);
}

function requestPart(op) {
  const parts = [];
  const params = op.parameters || [];
  if (params.length) {
    parts.push(h('h3', {}, t('docs.params')), h('ul', { class: 'schema-list' }, params.map((p) =>
      h('li', { dataset: { param: p.name } },
        h('code', {}, p.name), ' ', h('span', { class: 'badge' }, t('docs.in.' + p.in)), ' ', h('span', { class: 'muted' }, typeOf(p.schema)),
        p.required ? [' ', h('span', { class: 'req' }, t('docs.required'))] : '',
        constraints(p.schema || {}).flatMap((c) => [' ', h('span', { class: 'badge' }, c)]),
        p.description ? [' — ', pick(p.description)] : ''))));
  }
  const body = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
  if (body && body.schema) {
    parts.push(h('h3', {}, t('docs.body'), op.requestBody.required === false ? h('span', { class: 'muted' }, ` (${t('docs.bodyOptional')})`) : ''));
    parts.push(body.schema.properties ? schemaList(body.schema) : h('p', { class: 'muted' }, typeOf(body.schema)));
  }
  if (!parts.length) parts.push(h('p', { class: 'muted' }, op['x-request-schema'] === false ? t('docs.noSchema') : t('docs.noInput')));
  return parts;
}

function render() {
  if (!spec) return;
  const filter = $('#d-filter').value.trim().toLowerCase();
  const tag = $('#d-tag').value;
  const all = operations();
  const shown = all.filter(({ path, op }) =>
    (!tag || (op.tags || []).includes(tag)) &&
    (!filter || path.toLowerCase().includes(filter) || String(op.summary || '').toLowerCase().includes(filter)));
  $('#docs-info').textContent = t('docs.count', { n: shown.length, total: all.length, version: spec.info.version });
  const byTag = new Map((spec.tags || []).map((x) => [x.name, []]));
  for (const o of shown) {
    const name = (o.op.tags || ['pages'])[0];
    if (!byTag.has(name)) byTag.set(name, []);
    byTag.get(name).push(o);
  }
  const tagDesc = new Map((spec.tags || []).map((x) => [x.name, x.description]));
  const sections = [...byTag].filter(([, ops]) => ops.length).map(([name, ops]) =>
    h('section', { class: 'card tag', dataset: { tag: name } },
      h('h2', {}, pick(tagDesc.get(name) || name), ' ', h('span', { class: 'muted' }, `(${name})`)),
      ops.map(({ path, method, op }) =>
        h('details', {
          class: 'op',
          dataset: { method: method.toUpperCase(), path },
          open: opened.has(`${method} ${path}`),
          ontoggle: (ev) => (ev.currentTarget.open ? opened.add(`${method} ${path}`) : opened.delete(`${method} ${path}`)),
        },
          h('summary', {},
            h('span', { class: `method ${method}` }, method.toUpperCase()),
            h('span', { class: 'path' }, path),
            h('span', {}, pick(op.summary)),
            op['x-request-schema'] === false ? h('span', { class: 'badge bad' }, t('docs.noSchema')) : '',
            h('span', { class: 'who' }, whoBadges(op['x-access']))),
          h('div', { class: 'op-body' }, requestPart(op))))));
  $('#docs-list').replaceChildren(...(sections.length ? sections : [h('p', { class: 'card muted' }, t('docs.none'))]));
}

function fillTags() {
  const sel = $('#d-tag');
  const keep = sel.value;
  sel.replaceChildren(h('option', { value: '' }, t('docs.allTags')), ...(spec.tags || []).map((x) => h('option', { value: x.name }, pick(x.description) || x.name)));
  sel.value = keep;
}

let user = null;
try {
  user = await requireUser();
} catch (err) {
  // 401: api() is already taking the browser to /login?next=/docs.
  if (err.status !== 401) showError($('#docs-msg'), err);
}
if (user) {
  renderHeader(user, 'docs.title');
  applyI18n();
  try {
    spec = await api('GET', '/docs/openapi.json');
    fillTags();
    render();
  } catch (err) {
    showError($('#docs-msg'), err);
  }
  onLangChange(() => { if (spec) { fillTags(); render(); } });
  $('#d-filter').addEventListener('input', render);
  $('#d-tag').addEventListener('change', render);
}
