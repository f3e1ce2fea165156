/**
 * The default wait for something that follows media: real prompts last seconds (a welcome of
 * 8 s, then a recording notice of 4 s before the menu), in both PBX modes (the simulated PBX
 * plays them for their real length). Tests wait for the state they need, up to this long.
 */
import { MEDIA_WAIT_MS } from '../../sim-pbx/test-caller.js';

export { MEDIA_WAIT_MS };

/** Retry an assertion (sync or async) until it passes or the time is up; returns its value. */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = MEDIA_WAIT_MS, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw last instanceof Error ? last : new Error(String(last));
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
