/**
 * GET /metrics scraped from a running app over real HTTP after a real call,
 * parsed as Prometheus text exposition; and who may scrape.
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { addAgent, sessionByCaller, useHarness } from '../support/harness.js';
import { eventually } from '../support/wait.js';

const h = useHarness();

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the text format (0.0.4): every line is HELP, TYPE or a sample, or it throws.
 * NaN is matched case-insensitively as Prometheus does (Go's ParseFloat): prom-client writes `Nan`.
 */
export function parseExposition(text: string): { samples: Sample[]; types: Map<string, string>; help: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      help.set(m[1]!, m[2]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|[Nn]a[Nn]|[+-]Inf)(?: -?\d+)?$/.exec(line);
    if (!m) throw new Error(`not exposition format: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
      let lm: RegExpExecArray | null;
      let consumed = 0;
      while ((lm = re.exec(m[2]))) {
        labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        consumed = re.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`bad labels: ${line}`);
    }
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types, help };
}

async function listen(app: App): Promise<string> {
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.http.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return `http://127.0.0.1:${addr.port}`;
}

const find = (s: Sample[], name: string, labels: Record<string, string> = {}) =>
  s.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));

describe('GET /metrics', () => {
  it('GIVEN a call that reached an agent WHEN Prometheus scrapes from loopback THEN the exposition parses and tells calls by line and outcome, IVR exits, queue wait, agents, answer rate, ARI latency, BullMQ depths and HTTP', async () => {
    const app = await h.startApp();
    const base = await listen(app);
    await addAgent(app, '1001');
    const caller = '13900000071';
    const call = await h.side.call('12345', caller);
    await call.answered();
    const s = await sessionByCaller(app, caller);
    await eventually(() => expect(s.record.path.some((p) => p.detail.includes('.main: menu'))).toBe(true));
    await call.press('0');
    await eventually(() => expect(s.record.agents).toEqual(['1001']));
    await call.hangup();
    await eventually(() => expect(s.isEnded).toBe(true));

    // The call's end reaches the metrics with its record (after the session's last step).
    const { samples, types, help } = await eventually(async () => {
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
      const parsed = parseExposition(await res.text());
      expect(find(parsed.samples, 'hotline_calls_total').length).toBeGreaterThan(0);
      return parsed;
    });
    // Every sample belongs to a declared metric with help text.
    for (const x of samples) {
      const family = [...types.keys()].find((t) => x.name === t || x.name.startsWith(`${t}_`));
      expect(family, `${x.name} has no TYPE`).toBeDefined();
      expect(help.get(family!)?.length, `${family} has no HELP`).toBeGreaterThan(0);
    }
    const line = s.record.route?.line ?? s.record.dialed;
    expect(find(samples, 'hotline_calls_total', { line, outcome: 'answered' })[0]?.value).toBe(1);
    expect(find(samples, 'hotline_ivr_exits_total', { line, exit: 'queue' })[0]?.value).toBe(1);
    expect(find(samples, 'hotline_queue_wait_seconds_count', { result: 'answered' })[0]?.value).toBe(1);
    expect(find(samples, 'hotline_agents').reduce((n, x) => n + x.value, 0)).toBe(1);
    expect(find(samples, 'hotline_today_answered', { line: 'all' })[0]?.value).toBe(1);
    expect(find(samples, 'hotline_today_answer_rate', { line: 'all' })[0]?.value).toBe(1);
    // The dialplan answers citizens' calls, so the first ARI request of a call is its welcome prompt.
    expect(find(samples, 'hotline_ari_request_duration_seconds_count', { operation: 'play' })[0]?.value).toBeGreaterThanOrEqual(1);
    expect(find(samples, 'hotline_ari_connected')[0]?.value).toBe(1);
    expect(find(samples, 'hotline_ticket_outbox_pending')).toHaveLength(1);
    expect(find(samples, 'hotline_bullmq_jobs', { queue: 'tickets', state: 'waiting' })).toHaveLength(1);
    expect(find(samples, 'hotline_bullmq_jobs', { queue: 'ticket-clocks', state: 'delayed' })).toHaveLength(1);
    expect(find(samples, 'hotline_tickets_overdue')).toHaveLength(1);
    expect(find(samples, 'hotline_metrics_source_errors_total')).toHaveLength(0);

    // The scrape itself is counted by route pattern on the next scrape.
    const again = parseExposition(await (await fetch(`${base}/metrics`)).text());
    expect(find(again.samples, 'hotline_http_request_duration_seconds_count', { method: 'GET', route: '/metrics', status: '200' })[0]?.value).toBeGreaterThanOrEqual(1);
  });

  it('GIVEN loopback is not an allowed network WHEN scraped without, with a wrong and with the right token THEN 401, 401, 200', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const app = await h.startApp({ METRICS_ALLOW: '192.0.2.0/24', METRICS_TOKEN: token });
    const base = await listen(app);
    const none = await fetch(`${base}/metrics`);
    expect(none.status).toBe(401);
    const body = (await none.json()) as { error: { code: string; field: string } };
    expect(body.error).toMatchObject({ code: 'metrics-denied', field: 'authorization' });
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    const ok = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('# TYPE hotline_calls_total counter');
  });
});
