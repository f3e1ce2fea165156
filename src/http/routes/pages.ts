/**
 * The pages we ship (login, agent console, supervisor wallboard, admin, audit,
 * quality inspection) and
 * the browser build of sip.js. The pages are static shells; everything they
 * show comes from the role-checked APIs.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
const SIPJS_DIR = join(dirname(createRequire(import.meta.url).resolve('sip.js/package.json')), 'lib');

const PAGES: Record<string, string> = {
  '/': 'login.html',
  '/login': 'login.html',
  '/agent': 'agent.html',
  '/supervisor': 'supervisor.html',
  '/admin': 'admin.html',
  '/audit': 'audit.html',
  '/quality': 'quality.html',
};

export interface PagesOptions {
  /** Browser-side softphone settings: where agents register, and ICE servers (a government intranet has no public STUN). */
  softphone: { wsUrl: string; sipDomain: string; iceServers: string[] };
}

export async function pageRoutes(app: FastifyInstance, opts: PagesOptions): Promise<void> {
  for (const [url, file] of Object.entries(PAGES)) {
    app.get(url, { config: { access: 'public' } }, async (_req, reply) => {
      const html = await readFile(join(WEB_DIR, file), 'utf8');
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
    });
  }
  app.get('/web/common.js', { config: { access: 'public' } }, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').send(await readFile(join(WEB_DIR, 'common.js'), 'utf8')),
  );
  app.get('/web/softphone-config.json', { config: { access: 'public' } }, async () => opts.softphone);
  app.get('/vendor/sip.js/*', { config: { access: 'public' } }, async (req, reply) => {
    const rel = (req.params as { '*': string })['*'];
    const file = normalize(join(SIPJS_DIR, rel));
    if (!file.startsWith(SIPJS_DIR + sep) || !file.endsWith('.js')) throw errors.notFound(rel);
    try {
      return reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(await readFile(file, 'utf8'));
    } catch {
      throw errors.notFound(rel);
    }
  });
}
