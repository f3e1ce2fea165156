import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics/index.js';

interface Panel {
  id: number;
  title: string;
  type: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: string; uid: string };
  targets: { refId: string; expr: string }[];
}

const dashboard = JSON.parse(readFileSync(new URL('../../ops/grafana/hotline.json', import.meta.url), 'utf8')) as {
  uid: string;
  title: string;
  timezone: string;
  panels: Panel[];
};

/** Every series name we export: counters, gauges, and histograms with their _bucket/_sum/_count. */
async function exportedSeries(): Promise<Set<string>> {
  const m = new Metrics({ defaultMetrics: false });
  const names = new Set<string>();
  for (const metric of await m.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s);
  }
  return names;
}

describe('Grafana dashboard ops/grafana/hotline.json', () => {
  it('GIVEN the dashboard WHEN its panels are read THEN each has an id, a position inside 24 columns, the Prometheus datasource input and at least one query', () => {
    expect(dashboard.uid).toBe('hotline12345');
    expect(dashboard.timezone).toBe('Asia/Shanghai');
    expect(dashboard.panels.length).toBeGreaterThan(10);
    const ids = new Set<number>();
    for (const p of dashboard.panels) {
      expect(ids.has(p.id), `duplicate panel id ${p.id}`).toBe(false);
      ids.add(p.id);
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
      expect(p.targets.length, p.title).toBeGreaterThan(0);
    }
  });

  it('GIVEN every query of every panel WHEN the metric names in it are listed THEN each is a series the server exports', async () => {
    const exported = await exportedSeries();
    expect(exported.has('hotline_queue_wait_seconds_bucket')).toBe(true);
    const used = new Set<string>();
    for (const p of dashboard.panels) {
      for (const t of p.targets) {
        const names = t.expr.match(/\bhotline_[a-z0-9_]+/g) ?? [];
        expect(names.length, `${p.title} ${t.refId} queries no hotline metric`).toBeGreaterThan(0);
        for (const n of names) {
          used.add(n);
          expect(exported.has(n), `${p.title}: ${n} is not exported`).toBe(true);
        }
      }
    }
    // And the other way: nothing we export for operations is left off the dashboard.
    for (const n of exported) {
      if (n.startsWith('hotline_process_') || n === 'hotline_metrics_source_errors_total' || /_(sum|count)$/.test(n)) continue;
      const base = n.replace(/_bucket$/, '');
      expect([...used].some((u) => u === n || u.startsWith(base)), `${n} is on no panel`).toBe(true);
    }
  });
});
