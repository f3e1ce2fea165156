/**
 * The pages we ship (login, agent console, supervisor wallboard, admin, audit,
 * quality inspection, ticket desk) and
 * the browser build of sip.js. The pages are static shells; everything they
 * show comes from the role-checked APIs.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';
import * as S from '../schemas.js';

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
const SIPJS_DIR = join(dirname(createRequire(import.meta.url).resolve('sip.js/package.json')), 'lib');
/** uPlot (the wallboard's charts), served from our own origin: pages load nothing from elsewhere. */
const UPLOT_DIR = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
const UPLOT_FILES: Record<string, string> = { 'uPlot.iife.min.js': 'text/javascript; charset=utf-8', 'uPlot.min.css': 'text/css; charset=utf-8' };

/** Each page: its file and its summary in the OpenAPI document. */
const PAGES: Record<string, { file: string; summary: string }> = {
  '/': { file: 'login.html', summary: '登录页 / login page' },
  '/login': { file: 'login.html', summary: '登录页 / login page' },
  '/agent': { file: 'agent.html', summary: '座席控制台页面 / agent console page' },
  '/supervisor': { file: 'supervisor.html', summary: '班长监控页面 / supervisor wallboard page' },
  '/admin': { file: 'admin.html', summary: '管理页面 / administration page' },
  '/audit': { file: 'audit.html', summary: '审计日志页面 / audit log page' },
  '/quality': { file: 'quality.html', summary: '质检页面 / quality inspection page' },
  '/tickets': { file: 'tickets.html', summary: '工单办理台页面（承办单位、班长） / ticket desk page (handling units, supervisors)' },
  '/supervision': { file: 'supervision.html', summary: '督办、红黄蓝榜与通报页面 / supervision orders, rankings and bulletins page' },
  '/calendar': { file: 'calendar.html', summary: '工作日历管理页面 / working-day calendar admin page' },
};

const page = (summary: string, parts?: Parameters<typeof S.route>[2]) => ({ config: { access: 'public' as const }, schema: S.route('pages', summary, parts) });

export interface PagesOptions {
  /** Browser-side softphone settings: where agents register, and ICE servers (a government intranet has no public STUN). */
  softphone: { wsUrl: string; sipDomain: string; iceServers: string[] };
}

export async function pageRoutes(app: FastifyInstance, opts: PagesOptions): Promise<void> {
  for (const [url, { file, summary }] of Object.entries(PAGES)) {
    app.get(url, page(summary), async (_req, reply) => {
      const html = await readFile(join(WEB_DIR, file), 'utf8');
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
    });
  }
  app.get('/web/common.js', page('页面公共脚本 / the pages’ shared script'), async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').send(await readFile(join(WEB_DIR, 'common.js'), 'utf8')),
  );
  app.get(
    '/vendor/uplot/:file',
    page('uPlot 图表库（uPlot.iife.min.js、uPlot.min.css） / the uPlot chart library (uPlot.iife.min.js, uPlot.min.css)', {
      params: S.params({ file: S.string('文件名 / file name') }),
    }),
    async (req, reply) => {
      const { file } = req.params as { file: string };
      const type = Object.hasOwn(UPLOT_FILES, file) ? UPLOT_FILES[file] : undefined;
      if (!type) throw errors.notFound(file);
      return reply.type(type).header('cache-control', 'public, max-age=3600').send(await readFile(join(UPLOT_DIR, file), 'utf8'));
    },
  );
  app.get('/web/softphone-config.json', page('网页软电话配置（注册地址、ICE 服务器） / browser softphone settings (where to register, ICE servers)'), async () => opts.softphone);
  app.get(
    '/vendor/sip.js/*',
    page('sip.js 浏览器构建（仅 .js 文件） / the browser build of sip.js (.js files only)', {
      params: S.params({ '*': S.string('sip.js lib/ 下的路径 / a path under sip.js lib/') }),
    }),
    async (req, reply) => {
      const rel = (req.params as { '*': string })['*'];
      const file = normalize(join(SIPJS_DIR, rel));
      if (!file.startsWith(SIPJS_DIR + sep) || !file.endsWith('.js')) throw errors.notFound(rel);
      try {
        return reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(await readFile(file, 'utf8'));
      } catch {
        throw errors.notFound(rel);
      }
    },
  );
}
