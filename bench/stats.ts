/** Small statistics helpers for the benchmark. */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(values: number[]): LatencySummary {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), max: round(s.length ? s[s.length - 1]! : NaN) };
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function ratio(a: number, b: number): number {
  return b > 0 && Number.isFinite(a) ? round(a / b, 2) : NaN;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Event-loop delay and peak RSS of this process over a window. */
export class ProcessProbe {
  private h: IntervalHistogram = monitorEventLoopDelay({ resolution: 5 });
  private peakRss = 0;
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.h.reset();
    this.h.enable();
    this.peakRss = process.memoryUsage.rss();
    this.timer = setInterval(() => (this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss())), 100);
  }

  stop(): { eventLoopDelayP50Ms: number; eventLoopDelayP99Ms: number; eventLoopDelayMaxMs: number; rssPeakMb: number; rssEndMb: number } {
    this.h.disable();
    clearInterval(this.timer);
    const rss = process.memoryUsage.rss();
    return {
      eventLoopDelayP50Ms: round(this.h.percentile(50) / 1e6),
      eventLoopDelayP99Ms: round(this.h.percentile(99) / 1e6),
      eventLoopDelayMaxMs: round(this.h.max / 1e6),
      rssPeakMb: round(Math.max(this.peakRss, rss) / 2 ** 20, 1),
      rssEndMb: round(rss / 2 ** 20, 1),
    };
  }
}

/** A pino destination that drops everything (logging cost is still paid: serialization happens). */
export const nullLog = { write(_s: string): void {} };
