/** Starts bench/sim-process.ts as a child process and talks to it over stdin/stdout. */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '..');

export interface Samples {
  start: number[];
  dtmf: number[];
  missedStart: number;
  missedDtmf: number;
  pendingStart: number;
  pendingDtmf: number;
}

export interface SimStats {
  channels: number;
  bridges: number;
  held: number;
  rssMb: number;
  eventLoopDelayP99Ms: number;
}

export class SimProcess {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  info!: { ariUrl: string; user: string; password: string; amiPort: number };

  private constructor(private readonly child: ChildProcess) {}

  static async start(config: { menuMs: number; otherMs: number }): Promise<SimProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'sim-process.ts'), JSON.stringify(config)], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const sp = new SimProcess(child);
    const ready = new Promise<void>((res, rej) => {
      sp.pending.set(0, { resolve: () => res(), reject: rej });
      child.once('exit', (code) => rej(new Error(`sim process exited with ${code}`)));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('@@')) return;
      const msg = JSON.parse(line.slice(2)) as { id: number; ok: boolean; result?: unknown; error?: string };
      const p = sp.pending.get(msg.id);
      if (!p) return;
      sp.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error));
    });
    child.on('exit', () => {
      for (const p of sp.pending.values()) p.reject(new Error('sim process exited'));
      sp.pending.clear();
    });
    await ready;
    sp.info = await sp.call('info');
    return sp;
  }

  call<T = any>(cmd: string, args: unknown = {}): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, cmd, args })}\n`);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.call('exit').catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
