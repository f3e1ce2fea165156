// Preloaded into the server under test (node --import): an event-loop delay histogram of the
// server's own loop. On SIGUSR2 it appends one JSON line (p50/p99/max in ms since the last signal)
// to BENCH_ELD_FILE and starts over. Bench-only; production never loads it.
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_ELD_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  process.on('SIGUSR2', () => {
    const ms = (ns) => Math.round(ns / 1e4) / 100;
    appendFileSync(file, `${JSON.stringify({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) })}\n`);
    h.reset();
  });
}
