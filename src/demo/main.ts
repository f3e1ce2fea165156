/**
 * Embedded default ("demo mode"): the server on the built-in simulated PBX
 * with a throwaway Redis — no Asterisk needed. Open http://127.0.0.1:8080/demo,
 * or pass --cli to dial from the terminal.
 *
 *   npm run demo            # page on HTTP_PORT (default 8080)
 *   npm run demo -- --cli   # page + an interactive prompt: dial 12345 / press 1 / hangup / quit
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildApp } from '../app.js';
import { loadConfigOrExit } from '../config/index.js';
import { OwnRedis } from './own-redis.js';
import { SimPbx } from '../../sim-pbx/index.js';
import { TestSide } from '../../sim-pbx/test-caller.js';
import { DemoCalls, demoRoutes, loadCatalogue, type DemoLogin } from './demo-calls.js';

/** The demo's users, one per console, created at start and printed (and shown on /login in demo mode only). */
export const DEMO_LOGINS: readonly DemoLogin[] = [
  { username: 'admin', password: 'demo-admin-12345', roles: ['admin'], page: '/admin' },
  { username: 'supervisor', password: 'demo-super-12345', roles: ['supervisor'], page: '/supervisor' },
  { username: 'agent1001', password: 'demo-agent-12345', roles: ['agent'], page: '/agent', agentId: '1001' },
  { username: 'inspector', password: 'demo-inspect-12345', roles: ['inspector'], page: '/quality' },
  { username: 'auditor', password: 'demo-audit-12345', roles: ['auditor'], page: '/audit' },
];

/** What to undo when the demo stops or fails: every step pushes its own undo, run in reverse. */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
async function cleanUp(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // best effort: the next undo still runs
    }
  }
}

async function main(): Promise<void> {
  const cli = process.argv.includes('--cli');
  let redis: OwnRedis | undefined;
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    try {
      redis = await OwnRedis.create();
    } catch (err) {
      process.stderr.write(`demo needs redis-server on PATH (apt-get install redis-server) or REDIS_URL: ${(err as Error).message}\n`);
      process.exit(2);
    }
    redisUrl = redis.url;
    const own = redis;
    cleanups.push(() => own.destroy());
  }
  // Prompts take about as long as a person needs to read them.
  const sim = await SimPbx.start({ playbackMs: () => 700 });
  cleanups.push(() => sim.stop());
  const ownDataDir = process.env.HOTLINE_DATA_DIR ? undefined : mkdtempSync(join(tmpdir(), 'hotline-demo-'));
  if (ownDataDir) cleanups.push(() => rmSync(ownDataDir, { recursive: true, force: true }));
  const config = loadConfigOrExit({
    ...process.env,
    ARI_URL: sim.ariUrl,
    ARI_USER: sim.user,
    ARI_PASSWORD: sim.password,
    AMI_HOST: '127.0.0.1',
    AMI_PORT: String(sim.amiPort),
    AMI_USER: sim.amiUser,
    AMI_SECRET: sim.amiSecret,
    REDIS_URL: redisUrl,
    // The demo runs on plain http on loopback: a throwaway signing secret, non-secure cookies.
    JWT_SECRET: process.env.JWT_SECRET ?? randomBytes(32).toString('hex'),
    COOKIE_SECURE: process.env.COOKIE_SECURE ?? 'false',
    HOTLINE_ADMIN_USER: process.env.HOTLINE_ADMIN_USER ?? DEMO_LOGINS[0]!.username,
    HOTLINE_ADMIN_PASSWORD: process.env.HOTLINE_ADMIN_PASSWORD ?? DEMO_LOGINS[0]!.password,
    HOTLINE_DATA_DIR: process.env.HOTLINE_DATA_DIR ?? ownDataDir!,
    // Demo agents answer through the dialplan's test context, like the integration tests' agents.
    AGENT_DIAL_TEMPLATE: 'Local/{ext}@hotline-test-agents',
    ACD_REQUIRE_REGISTRATION: 'false',
    ACD_WRAP_UP_SEC: '5',
  });
  const app = await buildApp(config);
  cleanups.push(() => app.stop());
  await app.start();
  await app.telephony.whenConnected(10_000);
  const side = await TestSide.connect({ ariUrl: sim.ariUrl, user: sim.user, password: sim.password, carrierContext: config.carrierContext });
  cleanups.push(() => side.close());
  // Two demo agents (general skill), answered by the simulated PBX's test side after 2 s.
  side.agentBehaviour = () => ({ action: 'answer', delayMs: 2000 });
  await app.acd.upsertGroup({ id: 'general', name: '话务受理座席', kind: 'general' });
  for (const id of ['1001', '1002']) {
    await app.acd.upsertAgent({ id, name: `演示座席${id}`, extension: id, skills: { general: 3, enterprise: 2, 'medical-insurance': 2 }, groups: ['general'] });
    await app.acd.login(id);
    await app.acd.setAgentState(id, 'available');
  }
  // The demo's users (the admin came from HOTLINE_ADMIN_USER above, unless the environment set another).
  const logins = DEMO_LOGINS.filter((l) => l.username !== 'admin' || !process.env.HOTLINE_ADMIN_USER);
  for (const l of logins.slice(process.env.HOTLINE_ADMIN_USER ? 0 : 1)) {
    if (await app.users.get(l.username)) continue;
    await app.users.create({ username: l.username, displayName: l.username, roles: [...l.roles], password: l.password, ...(l.agentId ? { agentId: l.agentId } : {}) });
  }
  const demo = new DemoCalls(app, side, loadCatalogue());
  const page = readFileSync(new URL('../web/demo.html', import.meta.url), 'utf8');
  await app.http.register(demoRoutes, { demo, page, logins });
  let address: string;
  try {
    address = await app.http.listen({ host: config.http.host, port: config.http.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    process.stderr.write(
      `demo: port ${config.http.port} on ${config.http.host} is already in use (HTTP_PORT=${config.http.port}).\n` +
        `      Stop the other server, or start the demo on another port: HTTP_PORT=${config.http.port + 1} npm run demo\n`,
    );
    await cleanUp();
    process.exit(2);
  }
  process.stdout.write(
    [
      `12345 demo ready: ${address}/demo  (simulated PBX at ${sim.ariUrl})`,
      '  logins (demo only, also shown on /login):',
      ...logins.map((l) => `    ${l.username.padEnd(11)} ${l.password.padEnd(19)} ${address}${l.page}`),
      `  this demo's Redis: ${redisUrl}`,
      `  user CLI against it: REDIS_URL=${redisUrl} npx tsx src/access/cli.ts create-user --username wang --role supervisor < password.txt`,
      '',
    ].join('\n'),
  );

  const stop = async () => {
    await cleanUp();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  if (cli) runCli(demo, stop);
}

function runCli(demo: DemoCalls, stop: () => Promise<void>): void {
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: 'demo> ' });
  let current: string | undefined;
  let shown = 0;
  const show = () => {
    if (!current) return;
    const v = demo.viewNow(current);
    for (const step of v.path.slice(shown)) process.stdout.write(`  ${step.kind}: ${step.detail}\n`);
    shown = v.path.length;
    if (v.state === 'ended') {
      process.stdout.write(`  call ended (${v.outcome ?? 'unknown'})${v.ticket ? `, ticket ${v.ticket.no}` : ''}\n`);
      current = undefined;
    }
  };
  const ticker = setInterval(show, 300);
  process.stdout.write('commands: dial <number> [caller] | press <digits> | hangup | quit\n');
  rl.prompt();
  rl.on('line', (line) => {
    const [cmd, ...args] = line.trim().split(/\s+/);
    void (async () => {
      try {
        if (cmd === 'dial') {
          current = await demo.dial(args[0] ?? '12345', args[1] ?? '13800138000');
          shown = 0;
        } else if (cmd === 'press' && current) await demo.press(current, args.join(''));
        else if (cmd === 'hangup' && current) await demo.hangup(current);
        else if (cmd === 'quit') {
          clearInterval(ticker);
          rl.close();
          await stop();
        } else if (cmd) process.stdout.write('commands: dial <number> [caller] | press <digits> | hangup | quit\n');
      } catch (err) {
        process.stdout.write(`error: ${(err as Error).message}\n`);
      }
      rl.prompt();
    })();
  });
  rl.on('close', () => clearInterval(ticker));
}

main().catch(async (err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  // Never leave a redis-server or temp folders behind.
  await cleanUp();
  process.exit(1);
});
