/**
 * Embedded default ("demo mode"): the server on the built-in simulated PBX
 * with a throwaway Redis — no Asterisk needed. Open http://127.0.0.1:8080/demo,
 * or pass --cli to dial from the terminal.
 *
 *   npm run demo            # page on HTTP_PORT (default 8080)
 *   npm run demo -- --cli   # page + an interactive prompt: dial 12345 / press 1 / hangup / quit
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildApp } from '../app.js';
import { loadConfigOrExit } from '../config/index.js';
import { OwnRedis } from '../../tests/support/redis-server.js';
import { SimPbx } from '../../tests/support/sim-pbx/index.js';
import { TestSide } from '../../tests/support/test-side.js';
import { DemoCalls, demoRoutes, loadCatalogue } from './demo-calls.js';

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
  }
  // Prompts take about as long as a person needs to read them.
  const sim = await SimPbx.start({ playbackMs: () => 700 });
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
    HOTLINE_ADMIN_USER: process.env.HOTLINE_ADMIN_USER ?? 'admin',
    HOTLINE_ADMIN_PASSWORD: process.env.HOTLINE_ADMIN_PASSWORD ?? 'demo-admin-12345',
    HOTLINE_DATA_DIR: process.env.HOTLINE_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'hotline-demo-')),
    // Demo agents answer through the dialplan's test context, like the integration tests' agents.
    AGENT_DIAL_TEMPLATE: 'Local/{ext}@hotline-test-agents',
    ACD_REQUIRE_REGISTRATION: 'false',
    ACD_WRAP_UP_SEC: '5',
  });
  const app = await buildApp(config);
  await app.start();
  await app.telephony.whenConnected(10_000);
  const side = await TestSide.connect({
    mode: 'sim',
    ariUrl: sim.ariUrl,
    user: sim.user,
    password: sim.password,
    sim,
    carrierContext: config.carrierContext,
    agentContext: 'hotline-test-agents',
    noAnswerContext: 'hotline-test-noanswer',
    stop: () => sim.stop(),
  });
  // Two demo agents (general skill), answered by the simulated PBX's test side after 2 s.
  side.agentBehaviour = () => ({ action: 'answer', delayMs: 2000 });
  await app.acd.upsertGroup({ id: 'general', name: '话务受理座席', kind: 'general' });
  for (const id of ['1001', '1002']) {
    await app.acd.upsertAgent({ id, name: `演示座席${id}`, extension: id, skills: { general: 3, enterprise: 2, 'medical-insurance': 2 }, groups: ['general'] });
    await app.acd.login(id);
    await app.acd.setAgentState(id, 'available');
  }
  const demo = new DemoCalls(app, side, loadCatalogue());
  const page = readFileSync(new URL('../web/demo.html', import.meta.url), 'utf8');
  await app.http.register(demoRoutes, { demo, page });
  const address = await app.http.listen({ host: config.http.host, port: config.http.port });
  process.stdout.write(`12345 demo ready: ${address}/demo  (simulated PBX at ${sim.ariUrl})\n`);

  const stop = async () => {
    await side.close();
    await app.stop();
    await sim.stop();
    await redis?.destroy();
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
    const v = demo.view(current);
    for (const step of v.path.slice(shown)) process.stdout.write(`  ${step.kind}: ${step.detail}\n`);
    shown = v.path.length;
    if (v.state === 'ended') {
      process.stdout.write(`  call ended (${v.outcome ?? 'unknown'})\n`);
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

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
