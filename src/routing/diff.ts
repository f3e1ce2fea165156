/**
 * What changed between two routing tables, route by route: for audit entries
 * ("what") and the admin page's version diff. Works on unvalidated drafts too.
 */

export interface RouteChange {
  id: string;
  /** Top-level route fields whose JSON differs, e.g. `["mode", "transition"]`. */
  fields: string[];
}

export interface TableDiff {
  /** Table-level fields (other than `routes` and `version`) that differ. */
  table: string[];
  added: string[];
  removed: string[];
  changed: RouteChange[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function routesById(t: unknown): Map<string, Obj> {
  const out = new Map<string, Obj>();
  if (!isObj(t) || !Array.isArray(t.routes)) return out;
  t.routes.forEach((r, i) => {
    if (isObj(r)) out.set(typeof r.id === 'string' ? r.id : `#${i}`, r);
  });
  return out;
}

export function diffTables(before: unknown, after: unknown): TableDiff {
  const a = isObj(before) ? before : {};
  const b = isObj(after) ? after : {};
  const table = [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => k !== 'routes' && k !== 'version' && !same(a[k], b[k]))
    .sort();
  const ra = routesById(before);
  const rb = routesById(after);
  const added = [...rb.keys()].filter((id) => !ra.has(id));
  const removed = [...ra.keys()].filter((id) => !rb.has(id));
  const changed: RouteChange[] = [];
  for (const [id, r] of rb) {
    const old = ra.get(id);
    if (!old) continue;
    const fields = [...new Set([...Object.keys(old), ...Object.keys(r)])].filter((k) => !same(old[k], r[k])).sort();
    if (fields.length > 0) changed.push({ id, fields });
  }
  return { table, added, removed, changed };
}

export function isEmptyDiff(d: TableDiff): boolean {
  return d.table.length === 0 && d.added.length === 0 && d.removed.length === 0 && d.changed.length === 0;
}

/** One line for logs and audit views: `+line-1 -line-2 ~line-3(mode,transition)`. */
export function summarizeDiff(d: TableDiff): string {
  const parts = [
    ...d.table.map((f) => `table.${f}`),
    ...d.added.map((id) => `+${id}`),
    ...d.removed.map((id) => `-${id}`),
    ...d.changed.map((c) => `~${c.id}(${c.fields.join(',')})`),
  ];
  return parts.length ? parts.join(' ') : 'no changes';
}
