/**
 * Citizens' calls over real SIP with SIPp (Debian package `sip-tester`): one `sipp` run places
 * many calls at once with tests/support/sipp/citizen.xml against the carrier trunk of a real
 * Asterisk. The calls' values go in an injection file, SIPp's files in a directory of its own,
 * and the scenario's <log> lines (named by caller number) say how each call went.
 */
import { spawn, type ChildProcess, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './asterisk.js';

export const SIPP_BIN = process.env.HOTLINE_TEST_SIPP_BIN ?? '/usr/bin/sipp';
export const CITIZEN_SCENARIO = join(REPO_ROOT, 'tests/support/sipp/citizen.xml');
/** How long the citizen stays on the line before hanging up (the scenario's wait for the hotline's BYE). */
export const CITIZEN_HOLD_MS = Number(/<recv request="BYE" timeout="(\d+)"/.exec(readFileSync(CITIZEN_SCENARIO, 'utf8'))?.[1]);
/** The recording the citizens play (shipped with Debian's sip-tester: 7 s of G.711 A-law RTP). */
export const SIPP_AUDIO = '/usr/share/sip-tester/g711a.pcap';

/** The G.711 codecs our carrier trunk allows (pjsip.conf `allow = alaw,ulaw`), by SDP name and payload type. */
export const G711 = { PCMA: 8, PCMU: 0 } as const;
export type G711Codec = keyof typeof G711;

/** SIPp's version line, or why SIPp cannot place our calls here (one line, with the fix). */
export function sippProblem(): string | undefined {
  if (!existsSync(SIPP_BIN)) return `SIPp is not installed (${SIPP_BIN}): apt-get install sip-tester`;
  if (!existsSync(SIPP_AUDIO)) return `SIPp's audio ${SIPP_AUDIO} is missing: apt-get install --reinstall sip-tester`;
  // play_pcap_audio / play_dtmf send RTP from a raw socket.
  if (process.getuid?.() !== 0) {
    const caps = spawnSync('sh', ['-c', `command -v getcap >/dev/null && getcap ${SIPP_BIN}`], { encoding: 'utf8' }).stdout ?? '';
    if (!/cap_net_raw/.test(caps)) return `SIPp sends RTP from a raw socket: run the tests as root or 'setcap cap_net_raw+ep ${SIPP_BIN}'`;
  }
  return undefined;
}

export function sippVersion(): string {
  const out = spawnSync(SIPP_BIN, ['-v'], { encoding: 'utf8' }).stdout ?? '';
  return /SIPp v[^\s]+/.exec(out)?.[0] ?? 'unknown';
}

export interface CitizenCall {
  /** The number dialed (the Request-URI user; the dialplan's ${EXTEN}). */
  dialed: string;
  /** The caller's number, sent in P-Asserted-Identity; it names the call in SIPp's log. */
  caller: string;
  /** The From user as the carrier set it (default: the caller's number). */
  fromUser?: string;
  /** Digits pressed (RFC 4733) 4 s after the answer, inside the welcome; none by default. */
  press?: string;
}

/** G.711 A-law byte → 16-bit linear sample (ITU-T G.711). */
function alawToLinear(a: number): number {
  a ^= 0x55;
  const seg = (a & 0x70) >> 4;
  let t = ((a & 0x0f) << 4) + (seg === 0 ? 8 : 0x108);
  if (seg > 1) t <<= seg - 1;
  return a & 0x80 ? t : -t;
}

/** 16-bit linear sample → G.711 µ-law byte (ITU-T G.711). */
function linearToUlaw(pcm: number): number {
  const sign = pcm < 0 ? 0x80 : 0;
  let v = Math.min(Math.abs(pcm), 32635) + 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (v & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (v >> (exponent + 3)) & 0x0f;
  v = ~(sign | (exponent << 4) | mantissa) & 0xff;
  return v;
}

/**
 * SIPp's A-law recording in the codec asked for: the same RTP packets (Ethernet/IPv4/UDP, as
 * SIPp ships them), the payload type and every sample converted; UDP checksums cleared (0: none).
 */
export function recordingIn(codec: G711Codec): Buffer {
  const pcap = Buffer.from(readFileSync(SIPP_AUDIO));
  if (codec === 'PCMA') return pcap;
  const table = Buffer.from(Array.from({ length: 256 }, (_, a) => linearToUlaw(alawToLinear(a))));
  if (pcap.readUInt32LE(0) !== 0xa1b2c3d4 || pcap.readUInt32LE(20) !== 1) throw new Error(`${SIPP_AUDIO}: not a little-endian Ethernet pcap`);
  for (let off = 24; off + 16 <= pcap.length; ) {
    const len = pcap.readUInt32LE(off + 8);
    const ip = off + 16 + 14;
    const udp = ip + (pcap[ip]! & 0x0f) * 4;
    const rtp = udp + 8;
    pcap.writeUInt16BE(0, udp + 6);
    if (((pcap[rtp + 1]! & 0x7f) as number) !== G711.PCMA) throw new Error(`${SIPP_AUDIO}: a packet that is not A-law`);
    pcap[rtp + 1] = (pcap[rtp + 1]! & 0x80) | G711[codec];
    const payload = rtp + 12 + (pcap[rtp]! & 0x0f) * 4;
    for (let i = payload; i < off + 16 + len; i++) pcap[i] = table[pcap[i]!]!;
    off += 16 + len;
  }
  return pcap;
}

export interface CitizenResult {
  answered: boolean;
  pressed?: string;
  /** Who sent the BYE. */
  endedBy?: 'citizen' | 'hotline';
}

export interface CitizenRunOutcome {
  /** SIPp's exit code: 0 when every call went through the scenario without error. */
  exitCode: number | null;
  /** Each call's result by caller number. */
  calls: Map<string, CitizenResult>;
  /** SIPp's error log (unexpected messages, timeouts) and stderr, for failure messages. */
  errors: string;
}

export interface CitizenRun {
  readonly done: Promise<CitizenRunOutcome>;
  /** Stop SIPp (the test is failing; its calls are cleared by the harness). */
  kill(): void;
}

/** A free loopback UDP port now (SIPp's SIP, media and control sockets). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** An even UDP port with the three above it free now (SIPp's RTP/RTCP, and the pair it may open above). */
async function freeMediaPort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    // Between 10000 and 19999: below the throwaway Asterisks' RTP ranges (20000+) and the ephemeral range.
    const base = 10_000 + 4 * Math.floor(Math.random() * 2_500);
    const ok = await Promise.all([0, 1, 2, 3].map((d) => udpFree(base + d)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no free UDP port range for SIPp media');
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * Place `calls` at once from one SIPp run to the carrier trunk at `host` (127.0.0.1 by default; the
 * cluster's SIP proxy in the cluster test):`sipPort` (SIPp starts them all within a second and keeps
 * them up side by side), offering and sending `codec` (A-law by default) and RFC 4733 events.
 */
export async function placeCitizenCalls(sipPort: number, calls: CitizenCall[], opts: { codec?: G711Codec; host?: string } = {}): Promise<CitizenRun> {
  const codec = opts.codec ?? 'PCMA';
  const ok = /^\+?\d{3,20}$/;
  for (const c of calls) {
    if (!ok.test(c.caller) || !ok.test(c.dialed) || (c.fromUser !== undefined && !ok.test(c.fromUser))) throw new Error(`not a number: ${JSON.stringify(c)}`);
    if (c.press !== undefined && !/^[0-9*#A-D]+$/.test(c.press)) throw new Error(`press: not DTMF digits: ${c.press}`);
  }
  if (new Set(calls.map((c) => c.caller)).size !== calls.length) throw new Error('every call needs its own caller number (it names the call in SIPp\'s log)');
  const dir = mkdtempSync(join(tmpdir(), 'hotline-sipp-'));
  const inf = join(dir, 'calls.csv');
  writeFileSync(inf, `SEQUENTIAL\n${calls.map((c) => `${c.caller};${c.fromUser ?? c.caller};${c.press ?? '-'};${c.dialed};${G711[codec]};${codec};\n`).join('')}`);
  // The scenario plays audio.pcap from its working directory.
  writeFileSync(join(dir, 'audio.pcap'), recordingIn(codec));
  const logFile = join(dir, 'logs.log');
  const errorFile = join(dir, 'errors.log');
  const n = String(calls.length);
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  // The ports are free when chosen, but another process (or the other SIPp run beside this one) may take
  // one before SIPp binds it: SIPp then exits at once ("Unable to bind main socket"). Try new ports.
  let child!: ChildProcess;
  let stderr = '';
  for (let attempt = 1; ; attempt++) {
    const args = [
      `${opts.host ?? '127.0.0.1'}:${sipPort}`,
      '-sf', CITIZEN_SCENARIO,
      '-inf', inf,
      '-i', '127.0.0.1',
      // SIPp's default is 5060, where every throwaway Asterisk qualifies its carrier contact.
      '-p', String(await freeUdpPort()),
      '-mi', '127.0.0.1',
      '-mp', String(await freeMediaPort()),
      // SIPp's remote-control socket (default 8888 on every address): a free loopback port instead.
      '-cp', String(await freeUdpPort()),
      // All calls within the first second, side by side.
      '-m', n, '-l', n, '-r', n, '-rp', '1000',
      '-nostdin',
      '-trace_logs', '-log_file', logFile,
      '-trace_err', '-error_file', errorFile,
      // A safety net well above the scenario's 45 s on the line: SIPp never outlives the test.
      '-timeout', '120s', '-timeout_error',
    ];
    stderr = '';
    child = spawn(SIPP_BIN, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (b: Buffer) => (stderr += String(b)));
    const exitedEarly = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1500);
      child.once('exit', () => (clearTimeout(timer), resolve(true)));
    });
    if (exitedEarly && attempt < 4 && /Unable to bind/.test(`${read(errorFile)}${stderr}`)) {
      rmSync(errorFile, { force: true });
      rmSync(logFile, { force: true });
      continue;
    }
    break;
  }
  const done = new Promise<CitizenRunOutcome>((resolve) => {
    const finish = (code: number | null) => {
      const results = new Map<string, CitizenResult>(calls.map((c) => [c.caller, { answered: false }]));
      for (const line of read(logFile).split('\n')) {
        const m = /^(\S+) (answered|pressing (\S+)|ended-by (citizen|hotline))$/.exec(line.trim());
        const r = m ? results.get(m[1]!) : undefined;
        if (!r) continue;
        if (m![2] === 'answered') r.answered = true;
        else if (m![3]) r.pressed = m![3];
        else if (m![4]) r.endedBy = m![4] as 'citizen' | 'hotline';
      }
      const errors = `${read(errorFile)}${stderr}`.slice(-6000);
      rmSync(dir, { recursive: true, force: true });
      resolve({ exitCode: code, calls: results, errors });
    };
    if (child.exitCode !== null || child.signalCode !== null) finish(child.exitCode);
    else child.once('exit', (code) => finish(code));
  });
  return {
    done,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
