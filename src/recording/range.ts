/**
 * HTTP Range (RFC 9110 §14) for recording playback: one `bytes` range.
 *
 * @remarks
 * Browsers' audio elements ask `bytes=0-` first and then seek with
 * `bytes=<n>-`. A header in another unit, or asking for several ranges, is
 * ignored (the whole file is served with 200, which RFC 9110 allows); a
 * malformed or unsatisfiable bytes range is answered 416 with
 * `Content-Range: bytes *\/<size>`.
 */

export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

const SPEC = /^(\d*)-(\d*)$/;

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined || header.trim() === '') return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return { kind: 'full' };
  const specs = m[1]!.split(',').map((s) => s.trim());
  if (specs.length > 1) return { kind: 'full' };
  const s = SPEC.exec(specs[0]!);
  if (!s || (s[1] === '' && s[2] === '')) return { kind: 'unsatisfiable' };
  if (s[1]!.length > 15 || s[2]!.length > 15) return { kind: 'unsatisfiable' };
  if (size <= 0) return { kind: 'unsatisfiable' };
  if (s[1] === '') {
    // Suffix: the last n bytes.
    const n = Number(s[2]);
    if (n === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(s[1]);
  const end = s[2] === '' ? size - 1 : Math.min(Number(s[2]), size - 1);
  if (start >= size || (s[2] !== '' && Number(s[2]) < start)) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

export function contentRange(r: { start: number; end: number }, size: number): string {
  return `bytes ${r.start}-${r.end}/${size}`;
}
