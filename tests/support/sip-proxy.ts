/**
 * The cluster's SIP front for tests: Kamailio started from the repo's kamailio/ (run.sh renders
 * the dispatcher list and the agents' credentials), listening on its own loopback address so the
 * Asterisk nodes tell it from SIPp's 127.0.0.1 by source IP; and agents' phones that register
 * through it (SIPp: agent-register.xml, then agent-phone.xml answering on the registered Contact).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './asterisk.js';
import { freeUdpPort, SIPP_BIN } from './sipp.js';
import { freePort } from './redis-server.js';

/** The proxy's address: a loopback address of its own (Linux answers on all of 127.0.0.0/8). */
export const PROXY_HOST = '127.0.0.10';

export function kamailioProblem(): string | undefined {
  const v = spawnSync('sh', ['-c', 'kamailio -v 2>/dev/null | head -1'], { encoding: 'utf8' }).stdout ?? '';
  if (!/kamailio 5\./.test(v)) return 'Kamailio 5 is not installed: apt-get install kamailio';
  return undefined;
}

export class SipProxy {
  private constructor(
    private readonly proc: ChildProcess,
    private readonly dir: string,
    readonly port: number,
    private readonly output: () => string,
  ) {}

  static async start(opts: { nodes: string[]; agents: string; tls?: { port: number; certFile: string; keyFile: string } }): Promise<SipProxy> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'hotline-kamailio-'));
    let out = '';
    const proc = spawn('sh', [join(REPO_ROOT, 'kamailio/run.sh')], {
      env: {
        ...process.env,
        SIP_PROXY_LISTEN: `${PROXY_HOST}:${port}`,
        SIP_PROXY_NODES: opts.nodes.join(' '),
        AGENT_SIP_PASSWORDS: opts.agents,
        SIP_PROXY_DIR: dir,
        ...(opts.tls ? { SIP_PROXY_TLS_PORT: String(opts.tls.port), SIP_PROXY_TLS_CERT: opts.tls.certFile, SIP_PROXY_TLS_KEY: opts.tls.keyFile } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    proc.stdout!.on('data', (b: Buffer) => (out += String(b)));
    proc.stderr!.on('data', (b: Buffer) => (out += String(b)));
    const proxy = new SipProxy(proc, dir, port, () => out);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`kamailio exited (${proc.exitCode}):\n${out.slice(-3000)}`);
      if (await proxy.rpc('core.version').then(() => true, () => false)) return proxy;
      await new Promise((r) => setTimeout(r, 100));
    }
    await proxy.stop();
    throw new Error(`kamailio did not answer its RPC within 15 s:\n${out.slice(-3000)}`);
  }

  /** jsonrpc over HTTP on the SIP port's TCP listener (kamailio.cfg event_route[xhttp:request]). */
  async rpc(method: string, params: unknown[] = []): Promise<any> {
    const r = await fetch(`http://${PROXY_HOST}:${this.port}/RPC`, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }),
      signal: AbortSignal.timeout(3000),
    });
    const body = (await r.json()) as { result?: unknown; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  }

  /** Each Asterisk node's dispatcher state: 'A' active, 'I' inactive, 'P' probing (e.g. AP, IP). */
  async nodeStates(): Promise<Record<string, string>> {
    const res = await this.rpc('dispatcher.list');
    const out: Record<string, string> = {};
    for (const rec of res.RECORDS ?? []) for (const t of rec.SET.TARGETS ?? []) out[t.DEST.URI] = t.DEST.FLAGS;
    return out;
  }

  /** Registered contacts by user (usrloc). */
  async registered(user: string): Promise<string[]> {
    try {
      const res = await this.rpc('ul.lookup', ['location', user]);
      return (res.Contacts ?? []).map((c: any) => c.Contact.Address as string);
    } catch {
      return [];
    }
  }

  log(): string {
    return this.output();
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      // The whole process group: run.sh execs kamailio, which forks its workers.
      try {
        process.kill(-this.proc.pid!, 'SIGTERM');
      } catch {
        /* already gone */
      }
      await new Promise((r) => this.proc.once('exit', r));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An agent's SIP phone registered through the proxy, answering every call it is offered (`talkMs` talk, 3 s by default, then BYE). */
export class AgentPhone {
  private constructor(
    private readonly proc: ChildProcess,
    private readonly dir: string,
    readonly user: string,
    readonly port: number,
    private readonly password: string,
  ) {}

  static async start(proxy: SipProxy, user: string, password: string, opts: { talkMs?: number } = {}): Promise<AgentPhone> {
    const dir = mkdtempSync(join(tmpdir(), `hotline-agent-${user}-`));
    const port = await freeUdpPort();
    const mediaPort = 10_000 + 4 * Math.floor(Math.random() * 2_500);
    const phone = spawn(
      SIPP_BIN,
      ['-sf', join(REPO_ROOT, 'tests/support/sipp/agent-phone.xml'), '-i', '127.0.0.1', '-p', String(port), '-mi', '127.0.0.1', '-mp', String(mediaPort), '-cp', String(await freeUdpPort()), '-d', String(opts.talkMs ?? 3000), '-nostdin', '-trace_logs', '-log_file', join(dir, 'phone.log'), '-trace_err', '-error_file', join(dir, 'phone-errors.log')],
      { cwd: dir, stdio: 'ignore' },
    );
    const agent = new AgentPhone(phone, dir, user, port, password);
    try {
      await agent.register(proxy, 300);
    } catch (err) {
      await agent.stop();
      throw err;
    }
    return agent;
  }

  /** REGISTER this phone's Contact with the proxy for `expires` seconds (0: unregister it). */
  async register(proxy: SipProxy, expires: number): Promise<void> {
    const dir = this.dir;
    writeFileSync(join(dir, 'reg.csv'), `SEQUENTIAL\n${this.user};-;${this.port};${expires};\n`);
    rmSync(join(dir, 'reg-errors.log'), { force: true });
    const reg = spawnSync(
      SIPP_BIN,
      [`${PROXY_HOST}:${proxy.port}`, '-sf', join(REPO_ROOT, 'tests/support/sipp/agent-register.xml'), '-inf', join(dir, 'reg.csv'), '-au', this.user, '-ap', this.password, '-i', '127.0.0.1', '-p', String(await freeUdpPort()), '-cp', String(await freeUdpPort()), '-m', '1', '-nostdin', '-timeout', '15s', '-timeout_error', '-trace_err', '-error_file', join(dir, 'reg-errors.log')],
      { cwd: dir, encoding: 'utf8' },
    );
    if (reg.status !== 0) {
      const errors = existsSync(join(dir, 'reg-errors.log')) ? readFileSync(join(dir, 'reg-errors.log'), 'utf8') : '';
      throw new Error(`${this.user} did not ${expires > 0 ? 'register' : 'unregister'} through the proxy (sipp ${reg.status}): ${errors.slice(-2000)}${reg.stderr}`);
    }
  }

  /** The calls this phone answered: the offering node's Contact, one per call. */
  answered(): string[] {
    const f = join(this.dir, 'phone.log');
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .map((l) => /^answered (\S+)/.exec(l.trim())?.[1])
      .filter((x): x is string => !!x);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      await new Promise((r) => this.proc.once('exit', r));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
