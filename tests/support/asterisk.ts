/**
 * A throwaway real Asterisk 22 for a test run, like the throwaway redis-server: its own temporary
 * directory, free ports on loopback, our `asterisk/` + `dialplan/` rendered into it by the same
 * `asterisk/docker-entrypoint.sh --render-only` production uses, our prompts built and linked
 * into its sounds directory, stopped (and its directory removed) at the end.
 *
 * Asterisk itself comes from `../shared/asterisk/install.sh` (/usr/sbin/asterisk, modules in
 * /usr/lib/asterisk/modules, Debian's English sounds and music on hold in /var/lib/asterisk).
 * Nothing is written outside the run's directory: `astdatadir` points into it, and its sounds
 * and moh folders hold links to the installed files plus our own prompts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './redis-server.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const ASTERISK_BIN = process.env.HOTLINE_TEST_ASTERISK_BIN ?? '/usr/sbin/asterisk';
const INSTALLED_DATA = '/var/lib/asterisk';
const MODULES = '/usr/lib/asterisk/modules';

export const INSTALL_HINT =
  'install it with `sh ../shared/asterisk/install.sh` (Asterisk 22.10.1, prebuilt) and run `npm test` again';

/** Is a usable Asterisk 22 installed? Returns its version line, or undefined. */
export function asteriskVersion(): string | undefined {
  if (!existsSync(ASTERISK_BIN)) return undefined;
  const r = spawnSync(ASTERISK_BIN, ['-V'], { encoding: 'utf8' });
  const v = r.stdout?.trim();
  return r.status === 0 && /^Asterisk 22\./.test(v ?? '') ? v : undefined;
}

export interface AsteriskOptions {
  /** Directory of built prompts (`<dir>/<lang>/hotline/*.wav`, `<dir>/<lang>/digits/*.wav`). */
  promptsDir: string;
  /** Agent softphone passwords, `agent1001:secret,…` (AGENT_SIP_PASSWORDS). */
  agentSipPasswords?: string;
  /** Source address of the carrier trunk (sipp); default 127.0.0.1. */
  carrierAddress?: string;
  /** RTP port range for this instance (instances of one run get disjoint ranges). */
  rtpPorts?: [number, number];
  label?: string;
  /** PEM certificate and key: HTTPS + SIP over WSS on a port of its own (`info.httpsPort`). */
  tls?: { certFile: string; keyFile: string };
  /**
   * The nodes of one cluster share their ARI password (one rendered configuration); and ari-client
   * keeps credentials in a process-wide registry, so two servers in one test process must use the
   * same. Default: a random one.
   */
  ariPassword?: string;
  /** asterisk.conf `systemname` (ASTERISK_SYSTEM_NAME): prefixes channel ids, distinct per cluster node. */
  systemName?: string;
}

export interface AsteriskInfo {
  ariUrl: string;
  ariUser: string;
  ariPassword: string;
  amiHost: string;
  amiPort: number;
  amiUser: string;
  amiSecret: string;
  sipPort: number;
  httpPort: number;
  /** The TLS port of http.conf (wss://…/ws), when started with `tls`. */
  httpsPort?: number;
  dir: string;
  /** Full path of the instance's asterisk.conf (for `asterisk -C … -rx`). */
  conf: string;
  logFile: string;
  agentSipPasswords: string;
}

const OUR_CONF_FILES = new Set([...readdirSync(join(REPO_ROOT, 'asterisk')).filter((f) => f.endsWith('.conf')), 'extensions.conf']);

/**
 * Is this ERROR line (without its timestamp/level prefix) the noise of a module we do not configure
 * (CDR/CEL back-ends, AMD …: no config file of its own, so it declines to load)? Returns the file or
 * 'declined'; undefined for anything else - including a complaint about a config file we ship.
 */
export function unconfiguredModule(line: string): string | undefined {
  const file =
    /Unable to load config file '([^']+)'/.exec(line)?.[1] ??
    /Unable to load (\S+\.conf)\. Not logging/.exec(line)?.[1] ??
    /Configuration file (\S+\.conf) missing/.exec(line)?.[1] ??
    /configuration file '([^']+)' not found/.exec(line)?.[1] ??
    /Missing config file '([^']+)'/.exec(line)?.[1];
  if (file) return OUR_CONF_FILES.has(file) ? undefined : file;
  if (/^(loader\.c: )?\S+ declined to load\.$/.test(line)) return 'declined';
  return undefined;
}

/** The ERROR lines of a messages.log, prefix stripped, without the noise of unconfigured modules. */
export function errorsOfOurs(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => /\bERROR\[/.test(l))
    .map((l) => l.replace(/^\[[^\]]*\] ERROR\[\d+\]( \S+)? /, '').trim())
    .filter((l) => unconfiguredModule(l) === undefined);
}

export class AsteriskInstance {
  private exited = false;
  private constructor(
    readonly info: AsteriskInfo,
    private readonly child: ChildProcess,
    private readonly output: string[],
  ) {
    child.once('exit', () => (this.exited = true));
  }

  /** Still running (not stopped, not crashed). */
  get running(): boolean {
    return !this.exited;
  }

  static async start(opts: AsteriskOptions): Promise<AsteriskInstance> {
    const dir = mkdtempSync(join(tmpdir(), `hotline-asterisk-${opts.label ?? ''}`));
    const etc = join(dir, 'etc');
    for (const d of ['etc', 'db/keys', 'spool/recording', 'run', 'log', 'data/sounds', 'lib']) mkdirSync(join(dir, d), { recursive: true });
    const httpPort = await freePort();
    const amiPort = await freePort();
    const sipPort = await freePort();
    const httpsPort = opts.tls ? await freePort() : undefined;
    const ariPassword = opts.ariPassword ?? `ari-${Math.random().toString(36).slice(2)}-test`;
    const amiSecret = `ami-${Math.random().toString(36).slice(2)}-test`;
    const agentSipPasswords = opts.agentSipPasswords ?? 'agent1001:sip-test-secret-1001,agent1002:sip-test-secret-1002,agent1003:sip-test-secret-1003';
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ASTERISK_CONF_SRC: join(REPO_ROOT, 'asterisk'),
      DIALPLAN_SRC: join(REPO_ROOT, 'dialplan'),
      ASTERISK_ETC: etc,
      HOTLINE_ENV: 'development',
      ARI_PASSWORD: ariPassword,
      AMI_SECRET: amiSecret,
      AGENT_SIP_PASSWORDS: agentSipPasswords,
      ASTERISK_HTTP_BIND: '127.0.0.1',
      ASTERISK_HTTP_PORT: String(httpPort),
      ASTERISK_AMI_BIND: '127.0.0.1',
      ASTERISK_AMI_PORT: String(amiPort),
      ASTERISK_SIP_BIND: '127.0.0.1',
      ASTERISK_SIP_PORT: String(sipPort),
      SIP_TRUNK_CARRIER: opts.carrierAddress ?? '127.0.0.1',
      // Agents' browsers reach Asterisk's media on this machine's own interface address, as in
      // production: Asterisk never offers loopback ICE host candidates (measured: with only
      // 127.0.0.0/8 permitted the offer carried no a=candidate and Chromium's ICE stayed "new"; an
      // interface candidate re-advertised as 127.0.0.1 or RTP bound to 127.0.0.1 gave no media
      // either). The address is the host's own: the kernel delivers that media locally, it never
      // leaves the machine.
      AGENT_MEDIA_ADDRESS: agentMediaAddress(),
      RTP_ICE_PERMIT: `${agentMediaAddress()}/32`,
      ...(opts.tls && httpsPort
        ? { ASTERISK_TLS_CERT: opts.tls.certFile, ASTERISK_TLS_KEY: opts.tls.keyFile, ASTERISK_HTTPS_PORT: String(httpsPort) }
        : {}),
      ...(opts.systemName ? { ASTERISK_SYSTEM_NAME: opts.systemName } : {}),
      ...(opts.rtpPorts ? { RTP_PORT_START: String(opts.rtpPorts[0]), RTP_PORT_END: String(opts.rtpPorts[1]) } : {}),
    };
    const render = spawnSync('sh', [join(REPO_ROOT, 'asterisk/docker-entrypoint.sh'), '--render-only'], { env, encoding: 'utf8' });
    if (render.status !== 0) throw new Error(`rendering asterisk/ failed: ${render.stderr}`);
    // Our asterisk.conf keeps the compiled-in directories (the container relies on them); a
    // throwaway instance points every directory into its own folder instead.
    appendFileSync(
      join(etc, 'asterisk.conf'),
      [
        '',
        '; --- added by tests/support/asterisk.ts for a throwaway instance ---',
        '[directories]',
        `astetcdir => ${etc}`,
        `astmoddir => ${MODULES}`,
        `astvarlibdir => ${join(dir, 'lib')}`,
        `astdatadir => ${join(dir, 'data')}`,
        `astdbdir => ${join(dir, 'db')}`,
        `astkeydir => ${join(dir, 'db')}`,
        `astspooldir => ${join(dir, 'spool')}`,
        `astrundir => ${join(dir, 'run')}`,
        `astlogdir => ${join(dir, 'log')}`,
        '',
      ].join('\n'),
    );
    // Everything else Asterisk reads from its data directory (documentation XML, which the
    // Stasis core needs to start; ARI's rest-api declarations; moh …) links to the installed one.
    for (const entry of readdirSync(INSTALLED_DATA)) {
      if (entry !== 'sounds') symlinkSync(join(INSTALLED_DATA, entry), join(dir, 'data', entry));
    }
    linkSounds(join(dir, 'data', 'sounds'), opts.promptsDir);
    const conf = join(etc, 'asterisk.conf');
    const output: string[] = [];
    const child = spawn(ASTERISK_BIN, ['-C', conf, '-f', '-n', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => {
      output.push(String(b));
      if (output.length > 400) output.splice(0, 100);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const info: AsteriskInfo = {
      ariUrl: `http://127.0.0.1:${httpPort}`,
      ariUser: 'hotline',
      ariPassword,
      amiHost: '127.0.0.1',
      amiPort,
      amiUser: 'hotline',
      amiSecret,
      sipPort,
      httpPort,
      ...(httpsPort ? { httpsPort } : {}),
      dir,
      conf,
      logFile: join(dir, 'log', 'messages.log'),
      agentSipPasswords,
    };
    const ast = new AsteriskInstance(info, child, output);
    try {
      await ast.waitReady(30_000);
    } catch (err) {
      await ast.stop({ keepDir: true });
      throw new Error(`${(err as Error).message}\n--- asterisk output (${dir}) ---\n${output.join('').slice(-4000)}`);
    }
    return ast;
  }

  /** ARI answers and the core is fully booted. */
  private async waitReady(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    const auth = `Basic ${Buffer.from(`${this.info.ariUser}:${this.info.ariPassword}`).toString('base64')}`;
    while (Date.now() < until) {
      if (this.exited) throw new Error('asterisk exited during start');
      try {
        const res = await fetch(`${this.info.ariUrl}/ari/asterisk/info`, { headers: { authorization: auth } });
        if (res.ok) {
          const fully = this.cli('core waitfullybooted');
          if (fully.ok) return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`asterisk did not become ready within ${timeoutMs} ms`);
  }

  /** Run a CLI command on this instance (`asterisk -C … -rx`). */
  cli(command: string): { ok: boolean; out: string } {
    const r = spawnSync(ASTERISK_BIN, ['-C', this.info.conf, '-rx', command], { encoding: 'utf8', timeout: 10_000 });
    return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
  }

  /** The instance's messages.log (notice, warning, error). */
  log(): string {
    return existsSync(this.info.logFile) ? readFileSync(this.info.logFile, 'utf8') : '';
  }

  async stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    if (!this.exited) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.cli('core stop now');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (!opts.keepDir) rmSync(this.info.dir, { recursive: true, force: true });
  }
}

/**
 * The address the agents' browsers (headless Chromium on this machine) reach Asterisk's media at:
 * this machine's first non-loopback IPv4 address (127.0.0.1 only when it has none, where WebRTC
 * media cannot flow).
 */
export function agentMediaAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * `<sounds>/<lang>/…`: links to the installed sounds of that language (Debian's English set)
 * and to our built prompts (`hotline/`, `digits/` words for zh). Links, not copies, so that a
 * run never writes into Debian's package files nor copies hundreds of files.
 */
function linkSounds(soundsDir: string, promptsDir: string): void {
  const installed = join(INSTALLED_DATA, 'sounds');
  const langs = new Set<string>([
    ...(existsSync(installed) ? readdirSync(installed) : []),
    ...(existsSync(promptsDir) ? readdirSync(promptsDir).filter((d) => !d.endsWith('.json')) : []),
  ]);
  for (const lang of langs) {
    const dest = join(soundsDir, lang);
    mkdirSync(dest, { recursive: true });
    const ours = join(promptsDir, lang);
    const oursEntries = existsSync(ours) ? readdirSync(ours) : [];
    // Our folders win (digits/ in zh); within a folder Asterisk's own files stay reachable.
    const theirs = join(installed, lang);
    for (const entry of existsSync(theirs) ? readdirSync(theirs) : []) {
      if (oursEntries.includes(entry)) continue;
      symlinkSync(join(theirs, entry), join(dest, entry));
    }
    for (const entry of oursEntries) {
      const theirsEntry = join(theirs, entry);
      if (existsSync(theirsEntry)) {
        // Merge: a folder both have (en/digits) gets Asterisk's files, then ours over them.
        mkdirSync(join(dest, entry), { recursive: true });
        for (const f of readdirSync(theirsEntry)) symlinkSync(join(theirsEntry, f), join(dest, entry, f));
        for (const f of readdirSync(join(ours, entry))) {
          rmSync(join(dest, entry, f), { force: true });
          symlinkSync(join(ours, entry, f), join(dest, entry, f));
        }
      } else {
        symlinkSync(join(ours, entry), join(dest, entry));
      }
    }
  }
  writeFileSync(join(soundsDir, '.hotline-test'), 'linked by tests/support/asterisk.ts\n');
}
