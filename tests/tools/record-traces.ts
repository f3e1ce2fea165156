/**
 * Records our own ARI traces from a real Asterisk into tests/fixtures/traces/*.jsonl (and their
 * README), for tests/integration/sim-pbx-own-traces.test.ts to replay against the simulated PBX.
 * Re-run it after an Asterisk upgrade and review the diff:
 *
 *   npx tsx tests/tools/record-traces.ts              # every scenario
 *   npx tsx tests/tools/record-traces.ts o01 o03      # only scenarios whose name starts so
 *   npx tsx tests/tools/record-traces.ts --out /tmp/t # somewhere else (compare before copying)
 *   npx tsx tests/tools/record-traces.ts --runs 10    # measure orders over 10 runs (default 6)
 *
 * It starts a throwaway Asterisk 22 (tests/support/asterisk.ts: our asterisk/ + dialplan/, our
 * built prompts, free ports, its own temporary directory), runs each scenario of
 * tests/support/trace-scenarios.ts with the two apps `hotline` and `testcaller` connected, checks
 * that nothing was left behind, and stops Asterisk. Each scenario runs several times: the first
 * run is the fixture (`<name>.jsonl`); the orders across the halves of Local pairs that held in
 * every run, and the differences between runs, are kept as `<name>.measured.json`
 * (tests/support/trace-orders.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildPrompts } from '../../prompts/build.js';
import { AsteriskInstance, asteriskVersion, INSTALL_HINT, REPO_ROOT } from '../support/asterisk.js';
import { TraceRecorder, type PbxConnection } from '../support/trace-recorder.js';
import { SCENARIOS, type Scenario } from '../support/trace-scenarios.js';
import { eventsOf, runToRunDifferences, stableOrders } from '../support/trace-orders.js';

export const TRACES_DIR = join(REPO_ROOT, 'tests', 'fixtures', 'traces');

/** Runs one scenario against a PBX and returns its trace (throws if the scenario breaks or leaks). */
export async function recordScenario(pbx: PbxConnection, scenario: Scenario): Promise<TraceRecorder> {
  const r = new TraceRecorder(pbx);
  await r.connect('hotline');
  await r.connect('testcaller');
  r.start();
  try {
    await scenario.run(r);
    await r.settle(500);
  } catch (err) {
    // Keep what was seen for diagnosis.
    (err as Error & { trace?: string }).trace = r.jsonl();
    throw err;
  } finally {
    await r.close();
  }
  const channels = (await r.raw('GET', '/channels')).body as unknown[];
  const bridges = (await r.raw('GET', '/bridges')).body as unknown[];
  if (channels.length || bridges.length) {
    throw new Error(`${scenario.name} left ${channels.length} channel(s) and ${bridges.length} bridge(s) behind`);
  }
  return r;
}

function readme(version: string): string {
  return [
    '# Our own ARI traces from a real Asterisk',
    '',
    `Recorded from ${version} with our asterisk/ and dialplan/ by \`npx tsx tests/tools/record-traces.ts\``,
    '(scenarios in tests/support/trace-scenarios.ts). Same format as ../shared/asterisk-ari/traces: one JSON object',
    'per line, `t` = ms since the scenario started; `request` (path relative to `/ari`, `query`, and `body` when',
    'one was sent), `response`, `event` (with the app whose socket got it), `note` (socket closed/reconnected).',
    'Apps: `hotline` plays the server, `testcaller` the citizens, agents and sub-centres.',
    '',
    'tests/integration/sim-pbx-own-traces.test.ts replays each against the simulated PBX and compares.',
    'Each scenario was recorded several times: `<name>.measured.json` keeps the orders across the two halves of',
    'each Local pair that held in every run (`orders`) and what differed between runs (`varies`, in the words of',
    'sim-pbx/trace-replay.ts compare()); the sim may show any of those alternatives.',
    'Ids, timestamps and `asterisk_id` differ on every run; shapes, orders, states, causes, dial statuses',
    'and status codes are what matter.',
    '',
    '| file | what it shows |',
    '|---|---|',
    ...SCENARIOS.map((s) => `| ${s.name} | ${s.shows} |`),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const out = outAt >= 0 ? resolve(args[outAt + 1]!) : TRACES_DIR;
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 6;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number of at least 1, got ${args[runsAt + 1]}`);
  const valued = new Set([outAt, runsAt].filter((i) => i >= 0).map((i) => i + 1));
  const filters = args.filter((a, i) => !a.startsWith('--') && !valued.has(i));
  const chosen = SCENARIOS.filter((s) => !filters.length || filters.some((f) => s.name.startsWith(f)));
  if (!chosen.length) throw new Error(`no scenario matches ${filters.join(' ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const version = asteriskVersion();
  if (!version) throw new Error(`record-traces needs a real Asterisk 22: ${INSTALL_HINT}`);
  const promptsDir = join(REPO_ROOT, 'sounds', 'build');
  await buildPrompts({ outDir: promptsDir, log: () => undefined });
  const ast = await AsteriskInstance.start({ promptsDir, label: 'traces-' });
  mkdirSync(out, { recursive: true });
  try {
    const pbx = { ariUrl: ast.info.ariUrl, user: ast.info.ariUser, password: ast.info.ariPassword };
    for (const s of chosen) {
      const started = Date.now();
      const recorded: TraceRecorder[] = [];
      for (let i = 0; i < runs; i++) {
        recorded.push(
          await recordScenario(pbx, s).catch((err: Error & { trace?: string }) => {
            if (err.trace) writeFileSync(join(out, `${s.name}.failed.jsonl`), err.trace);
            throw new Error(`${s.name}: ${err.message}${err.trace ? ` (partial trace in ${join(out, `${s.name}.failed.jsonl`)})` : ''}`);
          }),
        );
      }
      const orders = stableOrders(recorded.map((r) => eventsOf(r.records)));
      const varies = runToRunDifferences(recorded.map((r) => r.records));
      writeFileSync(join(out, `${s.name}.jsonl`), recorded[0]!.jsonl());
      writeFileSync(join(out, `${s.name}.measured.json`), `${JSON.stringify({ runs, orders, varies }, null, 1)}\n`);
      console.log(
        `${s.name}: ${recorded[0]!.records.length} lines, ${orders.length} cross-half orders stable and ${varies.length} differences between runs over ${runs} runs, ${Date.now() - started} ms`,
      );
    }
    writeFileSync(join(out, 'README.md'), readme(version));
  } finally {
    await ast.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
