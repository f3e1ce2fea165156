/**
 * A deep copy of plain data (objects with Object.prototype, arrays, primitives), as a call step
 * needs it for every event.
 *
 * @remarks
 * `structuredClone` goes through V8's serializer and back, which the server's CPU profile at 100
 * set-ups/s showed as the largest single cost of a call step. The call state is plain JSON data by
 * invariant (calls/state.ts `callStateProblems`: no Map, Date, class instance or undefined), so a
 * recursive copy gives the same value at a fraction of the cost. Anything else (a Map, a Date …)
 * still goes through structuredClone, so the result is never a shared reference.
 */
export function clonePlain<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = clonePlain(v[i]);
    return out as T;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return structuredClone(v);
  const out: Record<string, unknown> = {};
  for (const k in v) out[k] = clonePlain((v as Record<string, unknown>)[k]);
  return out as T;
}
