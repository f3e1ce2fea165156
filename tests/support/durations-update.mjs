// Rewrites tests/support/durations.json from the durations reporter's files (see sequencer.ts):
//   node tests/support/durations-update.mjs <dir>/sim-durations.json <dir>/real-durations.json
// Either report may be '-' to keep that mode's current figures.
import { readFileSync, writeFileSync } from 'node:fs';

const out = new URL('./durations.json', import.meta.url);
const current = (() => {
  try {
    return JSON.parse(readFileSync(out, 'utf8'));
  } catch {
    return { sim: {}, real: {} };
  }
})();

/** A `<sim|real>-durations.json` of tests/support/durations-reporter.ts: `{ "tests/…": ms }`. */
function fromReport(path) {
  const report = JSON.parse(readFileSync(path, 'utf8'));
  const table = {};
  for (const [name, ms] of Object.entries(report)) {
    if (!(typeof ms === 'number' && ms >= 0)) throw new Error(`${path}: no duration for ${name}`);
    // Relative to the checkout the report came from (it may be another clone of the repo).
    const at = name.lastIndexOf('tests/');
    if (at < 0) throw new Error(`${path}: ${name} is not under tests/`);
    table[name.slice(at)] = ms;
  }
  return Object.fromEntries(Object.entries(table).sort(([a], [b]) => (a < b ? -1 : 1)));
}

const [sim, real] = process.argv.slice(2);
if (!sim || !real) {
  console.error('usage: node tests/support/durations-update.mjs <sim-durations.json|-> <real-durations.json|->');
  process.exit(2);
}
const next = { sim: sim === '-' ? current.sim : fromReport(sim), real: real === '-' ? current.real : fromReport(real) };
writeFileSync(out, JSON.stringify(next, null, 2) + '\n');
console.log(`durations: ${Object.keys(next.sim).length} sim files, ${Object.keys(next.real).length} real files`);
