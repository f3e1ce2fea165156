/**
 * Writes how long each test file took, hooks included, for the longest-first table (sequencer.ts):
 * `{ "tests/…/x.test.ts": ms }` in `<HOTLINE_TEST_REPORT_DIR>/<sim|real>-durations.json`.
 *
 * @remarks
 * Not vitest's JSON report: it times a file from its first test's start to its last test's end, so a
 * file that does its work in `beforeAll` (the SIPp file places its 35 calls there) counted 51 ms, was
 * started last, and ran alone for the last minute of the real half. Here a file's time is its import,
 * its set-up files and its run with every hook, as the default reporter prints it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { Reporter, TestModule, Vitest } from 'vitest/node';

export default class DurationsReporter implements Reporter {
  private root = process.cwd();

  constructor(private readonly out: string) {}

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const table: Record<string, number> = {};
    for (const m of modules) {
      const d = m.diagnostic();
      table[relative(this.root, m.moduleId)] = Math.round(d.duration + d.collectDuration + d.setupDuration);
    }
    mkdirSync(dirname(this.out), { recursive: true });
    writeFileSync(this.out, `${JSON.stringify(table, null, 2)}\n`);
  }
}
