/**
 * User administration from the server's shell, for the first admin and for
 * recovery when no admin can log in:
 *
 *   npx tsx src/access/cli.ts create-user --username wang --role admin < password.txt
 *   npx tsx src/access/cli.ts create-user --username li --role agent --agent-id 1001 --password-file /run/secrets/li
 *   npx tsx src/access/cli.ts reset-password --username wang --password-file /run/secrets/wang
 *
 * The password is read from stdin or `--password-file`, never from the command
 * line (it would be in `ps` and the shell history). Redis comes from
 * `REDIS_URL` and `HOTLINE_KEY_PREFIX` (or `--redis-url`, `--key-prefix`); the hash cost from
 * `PASSWORD_HASH_COST`, as the server's.
 * Every change is written to the audit log with actor `cli`.
 */
import { loadDotEnv } from '../config/index.js';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { AppError } from '../http/errors.js';
import { AuditLog } from './audit.js';
import { ROLES } from './roles.js';
import { normalizeUsername, UserStore, validateNewUser } from './users.js';

const USAGE = `usage:
  cli.ts create-user --username <name> --role <role>[,<role>…] [--role …] [--agent-id <工号>] [--unit-id <unit>]
                     [--display-name <name>] [--password-file <file>]   (else the password is read from stdin)
  cli.ts reset-password --username <name> [--password-file <file>]
options: --redis-url <url> (REDIS_URL)  --key-prefix <prefix> (HOTLINE_KEY_PREFIX, default hotline)
environment: PASSWORD_HASH_COST (scrypt log2 N, 10-20, default 15)
roles: ${ROLES.join(', ')}`;

export interface CliIo {
  env: Record<string, string | undefined>;
  /** The whole of stdin (read only when no --password-file is given). */
  readStdin: () => Promise<string>;
  /** A connection to use instead of one made from the URL (tests). */
  redis?: Redis;
}

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

const FLAGS = new Set(['username', 'role', 'agent-id', 'unit-id', 'display-name', 'password-file', 'redis-url', 'key-prefix']);

function parseArgs(argv: readonly string[]): { command: string | undefined; flags: Map<string, string[]> } {
  const [command, ...rest] = argv;
  const flags = new Map<string, string[]>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !FLAGS.has(m[1]!)) throw new UsageError(`unknown argument ${a}`);
    const value = m[2] ?? rest[++i];
    if (value === undefined || (m[2] === undefined && value.startsWith('--'))) throw new UsageError(`--${m[1]} needs a value`);
    flags.set(m[1]!, [...(flags.get(m[1]!) ?? []), value]);
  }
  return { command, flags };
}

class UsageError extends Error {}

/** Strip exactly one trailing newline (echo, heredoc), keep every other character of the password. */
function passwordFrom(text: string): string {
  return text.replace(/\r?\n$/, '');
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<CliResult> {
  let redis: Redis | undefined;
  try {
    const { command, flags } = parseArgs(argv);
    if (command !== 'create-user' && command !== 'reset-password') throw new UsageError(command ? `unknown command ${command}` : 'no command');
    const one = (name: string): string | undefined => {
      const v = flags.get(name);
      if (v && v.length > 1) throw new UsageError(`--${name} given twice`);
      return v?.[0];
    };
    const username = one('username');
    if (!username) throw new UsageError('--username is required');
    const file = one('password-file');
    const password = passwordFrom(file ? readFileSync(file, 'utf8') : await io.readStdin());
    if (!password) throw new UsageError('no password: pipe it on stdin or give --password-file');

    const cost = io.env.PASSWORD_HASH_COST ? Number(io.env.PASSWORD_HASH_COST) : 15;
    if (!Number.isInteger(cost) || cost < 10 || cost > 20) throw new UsageError(`PASSWORD_HASH_COST must be an integer from 10 to 20, got '${io.env.PASSWORD_HASH_COST}'`);
    redis = io.redis ?? new Redis(one('redis-url') ?? io.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    if (!io.redis) await redis.connect();
    const prefix = one('key-prefix') ?? (io.env.HOTLINE_KEY_PREFIX || 'hotline');
    const users = new UserStore(redis, prefix, { N: 2 ** cost, r: 8, p: 1 });
    const audit = new AuditLog(redis, prefix);

    if (command === 'create-user') {
      const roles = (flags.get('role') ?? []).flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean);
      const input = validateNewUser({
        username,
        password,
        roles,
        ...(one('agent-id') !== undefined ? { agentId: one('agent-id') } : {}),
        ...(one('unit-id') !== undefined ? { unitId: one('unit-id') } : {}),
        ...(one('display-name') !== undefined ? { displayName: one('display-name') } : {}),
      });
      const user = await users.create(input);
      await audit.record({ actor: 'cli', action: 'user-created', target: `user:${user.username}`, detail: `roles=${user.roles.join(',')}` });
      return { code: 0, out: `created user ${user.username} (${user.roles.join(', ')})\n`, err: '' };
    }
    await users.resetPassword(username, password);
    await audit.record({ actor: 'cli', action: 'password-reset', target: `user:${normalizeUsername(username)}` });
    return { code: 0, out: `password of ${normalizeUsername(username)} reset; their sessions have ended\n`, err: '' };
  } catch (err) {
    if (err instanceof UsageError) return { code: 2, out: '', err: `${err.message}\n${USAGE}\n` };
    if (err instanceof AppError) return { code: 2, out: '', err: `${err.field ? `${err.field}: ` : ''}${err.message.replace(/^[\w.]+: /, '')}\n` };
    return { code: 1, out: '', err: `failed: ${(err as Error).message}\n` };
  } finally {
    if (redis && !io.redis) redis.disconnect();
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  if ((stream as NodeJS.ReadStream).isTTY) throw new UsageError('refusing to read a password from a terminal: pipe it or use --password-file');
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  loadDotEnv(); // same REDIS_URL / HOTLINE_KEY_PREFIX as `npm start` reads
  const r = await runCli(process.argv.slice(2), { env: process.env, readStdin: () => readAll(process.stdin) });
  process.stdout.write(r.out);
  process.stderr.write(r.err);
  process.exitCode = r.code;
}
