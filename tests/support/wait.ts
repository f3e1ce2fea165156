/**
 * The default wait for something that follows media: real prompts last seconds (a welcome of
 * about 6 s, then a recording notice of 3 s before the menu), in both PBX modes (the simulated PBX
 * plays them for their real length). Tests wait for the state they need, up to this long.
 */
import { MEDIA_WAIT_MS } from '../../sim-pbx/test-caller.js';

export { MEDIA_WAIT_MS };

/** The longest pause between two tries of {@link eventually}. */
const MAX_INTERVAL_MS = 250;

/**
 * Retry an assertion (sync or async) until it passes or the time is up; returns its value.
 *
 * @remarks
 * Tries again after `intervalMs`, then backs off (×1.5 a try) to at most 250 ms: what comes within
 * a moment is still seen within a moment, and a wait for a prompt of half a minute does not fail an
 * assertion 40 times a second. Each failed try builds an assertion error with its formatted diff;
 * at a steady 25 ms that was most of the CPU a waiting test file used (5.5 s for one silent call).
 */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = MEDIA_WAIT_MS, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const most = Math.max(intervalMs, MAX_INTERVAL_MS);
  let pause = intervalMs;
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      last = err;
    }
    const left = deadline - Date.now();
    if (left < 0) throw last instanceof Error ? last : new Error(String(last));
    // The last try falls on the deadline rather than a whole pause after it.
    await new Promise((r) => setTimeout(r, Math.min(pause, left + 1)));
    pause = Math.min(most, Math.ceil(pause * 1.5));
  }
}
