import { defineConfig } from 'vitest/config';
import DurationsReporter from './tests/support/durations-reporter.js';
import LongestFirstSequencer from './tests/support/sequencer.js';
import { testWorkers } from './tests/support/workers.js';

/**
 * `npm test` runs vitest twice with this config: the simulated PBX (default) and real Asterisk
 * (HOTLINE_TEST_PBX=real, tests/run-real.sh). The real half runs the integration and e2e files
 * that place calls or drive the PBX; the files below never touch a PBX (Redis, HTTP or the
 * simulator itself), so a second run would prove nothing new.
 */
const realMode = process.env.HOTLINE_TEST_PBX === 'real';
const NO_PBX = [
  'tests/integration/access-plugin.test.ts', // access rules over HTTP, no calls
  'tests/integration/access-store.test.ts', // users and audit in Redis
  'tests/integration/acd-redis.test.ts', // ACD scripts on Redis
  'tests/integration/acd-key-migration.test.ts', // ACD keys renamed in Redis at start
  'tests/e2e/supervisor-controller.test.ts', // the wallboard's controller panel over HTTP and Redis, no calls
  'tests/integration/controller-http.test.ts', // the controller's windows, leader lock and API on Redis, no calls
  'tests/integration/demo.test.ts', // the demo's engine is the simulated PBX by design
  'tests/integration/recording-http.test.ts', // recording files over HTTP
  'tests/integration/recording-quality.test.ts', // quality forms and sampling in Redis
  'tests/integration/recording-retention.test.ts', // retention of files
  'tests/integration/knowledge-http.test.ts', // knowledge base over HTTP and Redis, no calls (calls: knowledge-calls.test.ts)
  'tests/integration/routing-store.test.ts', // routing versions in Redis
  'tests/integration/call-state-store.test.ts', // durable call state in Redis (leases, claims); adoption with calls is call-adoption
  'tests/integration/seats-data.test.ts', // seat files loaded into the ACD on Redis
  'tests/integration/sim-pbx-smoke.test.ts', // the simulator itself
  'tests/integration/sim-pbx-traces.test.ts', // the simulator against recorded real traces
  'tests/integration/supervision.test.ts', // 督办单, rankings, bulletins, reply review: tickets from call records, Redis and HTTP, no calls
  'tests/integration/supervision-upstream.test.ts', // a work order's reviewed reply to a loopback receiver, no calls
  'tests/e2e/supervision-page.test.ts', // the supervision and calendar pages in Chromium over Redis and HTTP, no calls
  'tests/e2e/campaigns-page.test.ts', // the 回访 campaign section in Chromium over Redis and HTTP, no calls (the calls: integration/campaign-calls.test.ts)
  'tests/integration/intake-channels.test.ts', // channel messages and the public form over HTTP into Redis tickets, no calls
  'tests/integration/intake-upstream.test.ts', // work orders over HTTP, pushes to a loopback receiver, no calls
  'tests/e2e/request-form.test.ts', // the public form in Chromium into a web ticket, no calls
  'tests/e2e/quality-trend.test.ts', // the quality page's score trend in Chromium over Redis and HTTP, no calls
  'tests/integration/tickets-outbox.test.ts', // the ticket outbox's spool and BullMQ on Redis, no calls
  'tests/integration/tickets-create-batch.test.ts', // ticket creation in batches on its own Redis, no calls
];

/** Files only the real half runs: they need a real Asterisk's own parts (its log, SIP), which the simulated PBX does not have. */
const REAL_ONLY = [
  'tests/integration/asterisk-start.test.ts', // reads Asterisk's own log for ERROR lines of our configuration
  'tests/integration/sip-calls.test.ts', // SIPp over the carrier trunk: the simulated PBX has no SIP, RTP or RFC 4733
  'tests/integration/asterisk-restart.test.ts', // restarts a throwaway Asterisk of its own (core restart now): the simulated PBX has no restart
  'tests/e2e/agent-tls.test.ts', // HTTPS page + softphone over WSS to Asterisk's TLS server: the sim has no TLS, SIP or media
  'tests/integration/cluster-sip.test.ts', // Kamailio + SIPp in front of two Asterisk nodes: the sim has no SIP stack
  'tests/e2e/cluster-webrtc.test.ts', // a browser softphone over Kamailio's WebSocket, WebRTC media to Asterisk: no SIP or media in the sim
  'tests/integration/cluster-takeover.test.ts', // a server SIGKILLed behind Kamailio, its node taken over by a peer: Kamailio and SIPp need SIP
];

export default defineConfig({
  test: {
    include: realMode ? ['tests/integration/**/*.test.ts', 'tests/e2e/**/*.test.ts'] : ['tests/**/*.test.ts'],
    exclude: realMode ? ['**/node_modules/**', ...NO_PBX] : ['**/node_modules/**', ...REAL_ONLY],
    globalSetup: ['tests/support/global-setup.ts'],
    // Real media lasts seconds in both modes (the simulated PBX plays prompts for their real length);
    // waits inside tests are sized for it.
    testTimeout: 150_000,
    hookTimeout: 60_000,
    // Integration tests share one redis-server; each test uses its own key prefix.
    pool: 'forks',
    // The same count as the global set-up's Asterisk instances (tests/support/workers.ts). Most
    // files wait on real-length media, not CPU: 6 workers on 2 cores took each half to about 5 minutes. The real
    // half runs 4 (tests/run-real.sh): with its Asterisks, 6 kept both cores busy and timers fired late.
    poolOptions: { forks: { maxForks: testWorkers(), minForks: 1 } },
    // HOTLINE_TEST_REPORT_DIR=<dir> also writes <dir>/<sim|real>-durations.json (each file's time, hooks
    // included), the input of tests/support/durations-update.mjs.
    reporters: process.env.HOTLINE_TEST_REPORT_DIR
      ? ['default', new DurationsReporter(`${process.env.HOTLINE_TEST_REPORT_DIR}/${realMode ? 'real' : 'sim'}-durations.json`)]
      : ['default'],
    // Longest files first, from a committed table of measured durations (a clean clone has no vitest cache).
    sequence: { sequencer: LongestFirstSequencer },
  },
});
