/**
 * The server's default log destination (src/log/logger.ts `BatchedStdout`): lines are written in
 * batches, not one write(2) each, yet none is lost when the process exits or dies of an uncaught
 * exception, lines of several loggers stay in order, and numbers are masked as in every line.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'log-to-stdout.ts');

function run(ending: 'exit' | 'throw' | 'wait', killAfterLoggedMs?: number): Promise<{ lines: Array<{ msg: string; i?: number; caller?: string }>; chunks: number }> {
  return new Promise((resolve, reject) => {
    // node itself with tsx's loader (not the tsx wrapper, whose SIGKILL would leave its child running).
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ending], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let chunks = 0;
    child.stdout.on('data', (d: Buffer) => {
      chunks++;
      out += d.toString();
    });
    // The fixture says on stderr when it has logged its last line; the kill is timed from there.
    child.stderr.on('data', (d: Buffer) => {
      if (killAfterLoggedMs && d.toString().includes('logged')) setTimeout(() => child.kill('SIGKILL'), killAfterLoggedMs);
    });
    child.on('error', reject);
    child.on('close', () => resolve({ lines: out.split('\n').filter(Boolean).map((l) => JSON.parse(l)), chunks }));
  });
}

describe('logs on stdout', () => {
  it('GIVEN 51 lines from two loggers WHEN the process exits THEN every line is there, in order, the numbers masked, in a few writes', async () => {
    const { lines, chunks } = await run('exit');
    expect(lines.map((l) => l.msg)).toEqual([...Array.from({ length: 50 }, (_, i) => `line ${i}`), 'last']);
    expect(lines[0]!.caller).toBe('138****8000');
    expect(chunks).toBeLessThanOrEqual(5);
  });

  it('GIVEN lines logged just before an uncaught exception WHEN the process dies of it THEN they are written too', async () => {
    const { lines } = await run('throw');
    expect(lines.map((l) => l.msg).at(-1)).toBe('last');
    expect(lines).toHaveLength(51);
  });

  it('GIVEN a process that keeps running WHEN 200 ms have passed THEN its lines are out without waiting for more', async () => {
    // Killed (no exit handler runs) 1 s after the last line was logged, well after the 200 ms
    // batching delay: what arrived was written by the timer.
    const { lines } = await run('wait', 1000);
    expect(lines).toHaveLength(51);
  });
});
