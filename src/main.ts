/**
 * Production entry: read the configuration, build the app, listen, and stop
 * gracefully on SIGTERM/SIGINT. `.env` in the working directory is read first
 * (the environment wins); a bad configuration exits non-zero with one line per
 * bad variable.
 */
import { buildApp } from './app.js';
import { describeConfig, loadConfigOrExit, loadDotEnv } from './config/index.js';

async function main(): Promise<void> {
  loadDotEnv();
  const config = loadConfigOrExit();
  const app = await buildApp(config);
  app.log.info({ config: describeConfig(config) }, 'configuration loaded');
  await app.start();
  await app.http.listen({ host: config.http.host, port: config.http.port });
  app.log.info(
    config.http.tls
      ? { scheme: 'https', names: config.http.tls.names, validTo: config.http.tls.validTo }
      : { scheme: 'http' },
    config.http.tls ? 'serving HTTPS' : 'serving plain HTTP (agents outside localhost need HTTPS for the microphone)',
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    app
      .stop()
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
