/**
 * Citizens' calls over real SIP with SIPp (Debian package `sip-tester`): one `sipp` process per
 * call, running tests/support/sipp/citizen.xml against the carrier trunk of a real Asterisk.
 * Each process gets its own SIP and media ports, its own directory for SIPp's files, and the
 * call's values in an injection file; the scenario's <log> lines say how the call went.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './asterisk.js';

export const SIPP_BIN = process.env.HOTLINE_TEST_SIPP_BIN ?? '/usr/bin/sipp';
export const CITIZEN_SCENARIO = join(REPO_ROOT, 'tests/support/sipp/citizen.xml');
/** How long the citizen stays on the line before hanging up (the scenario's wait for the hotline's BYE). */
export const CITIZEN_HOLD_MS = Number(/<recv request="BYE" timeout="(\d+)"/.exec(readFileSync(CITIZEN_SCENARIO, 'utf8'))?.[1]);
/** The media the scenario plays (shipped with Debian's sip-tester). */
export const SIPP_AUDIO = '/usr/share/sip-tester/g711a.pcap';

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
  /** The caller's number, sent in P-Asserted-Identity. */
  caller: string;
  /** The From user as the carrier set it (default: the caller's number). */
  fromUser?: string;
  /** Digits pressed (RFC 4733) 4 s after the answer, inside the welcome; none by default. */
  press?: string;
}

export interface CitizenResult {
  /** SIPp's exit code: 0 when the call went through the scenario without error. */
  exitCode: number | null;
  answered: boolean;
  pressed?: string;
  /** Who sent the BYE. */
  endedBy?: 'citizen' | 'hotline';
  /** SIPp's error log (unexpected messages, timeouts), for failure messages. */
  errors: string;
  /** When the process ended (ms since epoch). */
  endedAt: number;
}

export interface RunningCitizen {
  readonly call: CitizenCall;
  readonly done: Promise<CitizenResult>;
  /** Stop SIPp (the test is failing; its call is cleared by the harness). */
  kill(): void;
}

/** A UDP port pair (RTP and RTCP, plus the pair above that SIPp may open) that is free now. */
async function freeMediaPort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    // Even ports between 10000 and 19996: below the throwaway Asterisks' RTP ranges (20000+)
    // and the ephemeral range, where our other sockets come from.
    const base = 10_000 + 4 * Math.floor(Math.random() * 2_500);
    const ok = await Promise.all([0, 1, 2, 3].map((d) => udpFree(base + d)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no free UDP port range for SIPp media');
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

const claimed = new Set<number>();

/** Place one citizen call to `asterisk` (its carrier trunk listens on 127.0.0.1:`sipPort`). */
export async function placeCitizenCall(sipPort: number, call: CitizenCall): Promise<RunningCitizen> {
  let media = await freeMediaPort();
  while (claimed.has(media)) media = await freeMediaPort();
  claimed.add(media);
  const dir = mkdtempSync(join(tmpdir(), 'hotline-sipp-'));
  const inf = join(dir, 'call.csv');
  writeFileSync(inf, `SEQUENTIAL\n${call.caller};${call.fromUser ?? call.caller};${call.press ?? '-'};\n`);
  const logFile = join(dir, 'logs.log');
  const errorFile = join(dir, 'errors.log');
  const args = [
    `127.0.0.1:${sipPort}`,
    '-sf', CITIZEN_SCENARIO,
    '-inf', inf,
    '-s', call.dialed,
    '-i', '127.0.0.1',
    // SIPp's default is 5060, where every throwaway Asterisk qualifies its carrier contact.
    '-p', String(await freeUdpPort()),
    '-mi', '127.0.0.1',
    '-mp', String(media),
    '-m', '1',
    '-l', '1',
    '-nostdin',
    '-trace_logs', '-log_file', logFile,
    '-trace_err', '-error_file', errorFile,
    // A safety net well above the scenario's 45 s on the line: SIPp never outlives the test.
    '-timeout', '90s', '-timeout_error',
  ];
  const child = spawn(SIPP_BIN, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += String(b)));
  const done = new Promise<CitizenResult>((resolve) => {
    child.once('exit', (code) => {
      claimed.delete(media);
      const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
      const log = read(logFile);
      const result: CitizenResult = {
        exitCode: code,
        answered: /^answered$/m.test(log),
        ...(/^pressing (\S+)$/m.exec(log) ? { pressed: /^pressing (\S+)$/m.exec(log)![1]! } : {}),
        ...(/^ended-by (citizen|hotline)$/m.exec(log) ? { endedBy: /^ended-by (citizen|hotline)$/m.exec(log)![1] as 'citizen' | 'hotline' } : {}),
        errors: `${read(errorFile)}${stderr}`.slice(-4000),
        endedAt: Date.now(),
      };
      rmSync(dir, { recursive: true, force: true });
      resolve(result);
    });
  });
  return {
    call,
    done,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
