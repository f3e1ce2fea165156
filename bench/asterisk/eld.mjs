// Preloaded into the server under test (node --import): an event-loop delay histogram of the
// server's own loop. On SIGUSR2 it appends one JSON line (p50/p99/max in ms since the last signal)
// to BENCH_ELD_FILE and starts over. With BENCH_CPU_PROF_FILE set, the same signals also bound a CPU
// profile (started on the first, written on the second), so the profile holds the step alone and not
// the server's start-up (module loading, compiling schemas). Bench-only; production never loads it.
import { appendFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_ELD_FILE;
const profFile = process.env.BENCH_CPU_PROF_FILE;
let session;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  process.on('SIGUSR2', () => {
    const ms = (ns) => Math.round(ns / 1e4) / 100;
    appendFileSync(file, `${JSON.stringify({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) })}\n`);
    h.reset();
    if (!profFile) return;
    if (!session) {
      session = new Session();
      session.connect();
      session.post('Profiler.enable', () => session.post('Profiler.start'));
    } else {
      const s = session;
      s.post('Profiler.stop', (err, r) => {
        if (!err) writeFileSync(profFile, JSON.stringify(r.profile));
        s.disconnect();
      });
    }
  });
}
