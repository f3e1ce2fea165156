/**
 * The pages we ship (login, agent console, supervisor wallboard, admin, audit,
 * quality inspection, ticket desk, supervision, calendar; the public request form and the
 * knowledge-base pages are served by their features through {@link readPage}) and
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

/**
 * The layout every console page shares. A page file (src/web/<page>.html) holds only its own: its
 * <head> parts (title, styles) and the <body> line naming its title's string, then its content.
 * The layout adds the document around them, the page's module (<page>.js, deferred: it runs once
 * the document is parsed), `data-page` (common.js loads i18n/<page>.json by it) and the <main>
 * around the content; the optional end tags </body> and </html> are left to the parser.
 */
export function layoutPage(name: string, file: string): string {
  const head = file.indexOf('<head>\n');
  const headEnd = file.indexOf('</head>\n');
  const body = /^<body( [^>]*)?>\n/m.exec(file);
  if (head !== 0 || headEnd < 0 || !body || body.index !== headEnd + '</head>\n'.length) throw new Error(`page ${name}: <head>…</head> then <body …> expected`);
  return [
    '<!doctype html>',
    '<html lang="zh-CN">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    file.slice('<head>\n'.length, headEnd).trimEnd(),
    `<script type="module" src="/web/${name}.js"></script>`,
    '</head>',
    `<body data-page="${name}"${body[1] ?? ''}>`,
    '<main>',
    file.slice(body.index + body[0].length).trimEnd(),
    '</main>',
    '',
  ].join('\n');
}

/** A page file of src/web, in the layout. */
export async function readPage(file: string): Promise<string> {
  return layoutPage(file.replace(/\.html$/, ''), await readFile(join(WEB_DIR, file), 'utf8'));
}

/** The console pages: each is <page>.html (markup), <page>.js (logic) and i18n/<page>.json (strings) in src/web. */
const CONSOLE_PAGES = ['admin', 'agent', 'audit', 'calendar', 'docs', 'kb', 'kb-public', 'login', 'quality', 'request', 'supervision', 'supervisor', 'tickets'];
/** The scripts served under /web/: the shared module and each page's own. */
const SCRIPTS: Record<string, string> = Object.fromEntries(['common', ...CONSOLE_PAGES].map((p) => [`${p}.js`, 'text/javascript; charset=utf-8']));
/** The pages' strings served under /web/i18n/. */
const STRINGS: Record<string, string> = Object.fromEntries(CONSOLE_PAGES.map((p) => [`${p}.json`, 'application/json; charset=utf-8']));

const page = (summary: string, parts?: Parameters<typeof S.route>[2]) => ({ config: { access: 'public' as const }, schema: S.route('pages', summary, parts) });

export interface PagesOptions {
  /** Browser-side softphone settings: where agents register, and ICE servers (a government intranet has no public STUN). */
  softphone: { wsUrl: string; sipDomain: string; iceServers: string[] };
}

export async function pageRoutes(app: FastifyInstance, opts: PagesOptions): Promise<void> {
  for (const [url, { file, summary }] of Object.entries(PAGES)) {
    app.get(url, page(summary), async (_req, reply) => {
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(await readPage(file));
    });
  }
  // The pages' own files: a fixed list each, nothing else from the folder.
  const files = (url: string, summary: string, param: string, dir: string, allowed: Record<string, string>, cache: string) =>
    app.get(url, page(summary, { params: S.params({ file: S.string(param) }) }), async (req, reply) => {
      const { file } = req.params as { file: string };
      const type = Object.hasOwn(allowed, file) ? allowed[file] : undefined;
      if (!type) throw errors.notFound(file);
      return reply.type(type).header('cache-control', cache).send(await readFile(join(dir, file), 'utf8'));
    });
  files(
    '/web/:file',
    '页面脚本：公共脚本 common.js 和各页面的 <页面>.js / the pages’ scripts: the shared common.js and each page’s <page>.js',
    'common.js 或 <页面>.js / common.js or <page>.js',
    WEB_DIR,
    SCRIPTS,
    'no-store',
  );
  files('/web/i18n/:file', '页面文字（中文、英文） / a page’s strings (zh-CN, English)', '<页面>.json / <page>.json', join(WEB_DIR, 'i18n'), STRINGS, 'no-store');
  files(
    '/vendor/uplot/:file',
    'uPlot 图表库（uPlot.iife.min.js、uPlot.min.css） / the uPlot chart library (uPlot.iife.min.js, uPlot.min.css)',
    '文件名 / file name',
    UPLOT_DIR,
    UPLOT_FILES,
    'public, max-age=3600',
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
