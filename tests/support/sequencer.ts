/**
 * The order in which the test files start: longest first, from the durations a full run measured
 * (`tests/support/durations.json`, per PBX mode). Vitest hands the next file to whichever worker
 * is free, so longest-first keeps a two-minute file from starting last and running alone while the
 * other workers idle. Vitest's own sequencer does this only from its cache, which a clean clone (CI)
 * does not have; there it orders by file size, and our longest files (menu timeouts, Redis
 * restarts) are short files. A file the table does not know yet counts as {@link UNKNOWN_MS}.
 *
 * Refresh the table after a change that moves durations a lot, from a full run on an otherwise idle machine:
 *   HOTLINE_TEST_REPORT_DIR=/tmp/durations npm test
 *   node tests/support/durations-update.mjs /tmp/durations/sim-durations.json /tmp/durations/real-durations.json
 * A stale table only costs time, never correctness: every file still runs.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** What an unmeasured file is assumed to take: about the median of our integration files. */
export const UNKNOWN_MS = 20_000;

type Durations = Record<'sim' | 'real', Record<string, number>>;

export function loadDurations(path = new URL('./durations.json', import.meta.url)): Durations {
  try {
    const d = JSON.parse(readFileSync(path, 'utf8')) as Partial<Durations>;
    return { sim: d.sim ?? {}, real: d.real ?? {} };
  } catch {
    return { sim: {}, real: {} };
  }
}

/** Files (relative paths) ordered longest first; ties by name so the order is the same on every machine. */
export function longestFirst(files: string[], known: Record<string, number>): string[] {
  const ms = (f: string) => known[f] ?? UNKNOWN_MS;
  return [...files].sort((a, b) => ms(b) - ms(a) || (a < b ? -1 : a > b ? 1 : 0));
}

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const mode = process.env.HOTLINE_TEST_PBX === 'real' ? 'real' : 'sim';
    const root = this.ctx.config.root;
    const byPath = new Map(files.map((f) => [relative(root, f.moduleId), f]));
    return longestFirst([...byPath.keys()], loadDurations()[mode]).map((p) => byPath.get(p)!);
  }
}
