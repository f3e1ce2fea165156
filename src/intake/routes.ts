/**
 * HTTP side of the intake (thin: checks in model.ts, the path in service.ts):
 * - `POST /api/intake/:channel` — one signed endpoint per channel kind, each with its own secret;
 * - `POST /api/upstream/:platform/orders` — a higher platform's work order, signed with its secret;
 * - `GET /request` + `POST /api/public/requests` — our own public form (no login, rate-limited);
 * - `GET /api/admin/upstream/dead-letters` — pushes to platforms that gave up.
 *
 * Answers: 201 with the new ticket; 200 with the same ticket when the id was seen with the same
 * message; 409 `message-id-reused` (nothing created) when the id came with another message;
 * 401 naming the header for a bad or stale signature; 400 naming the field; 404 for a channel or
 * platform without a configured secret. The signature is checked on the raw bytes before the body's
 * fields are (only the server-wide control-character rule, http/free-text.ts, runs earlier), so an
 * unsigned request learns next to nothing about our validation.
 *
 * The public form is not signed: a browser cannot keep a secret, so "signing" in the page would
 * prove nothing, and the server signing its own request to itself would only add a loopback hop.
 * The form route is instead a trusted in-process caller of the same {@link IntakeService} path as
 * the signed `web` channel, with its own guards: per-address rate limit, no attachments, and the
 * message id `form-<id the page generated>` (a double submit or a retried post is one ticket).
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { AppError, errors } from '../http/errors.js';
import * as S from '../http/schemas.js';
import type { Ticket, UpstreamPlatform } from '../tickets/model.js';
import { INTAKE_CHANNELS, parseIntakeMessage, parseWorkOrder, signatureFault, SIGNATURE_HEADER, TIMESTAMP_HEADER, UPSTREAM_PLATFORMS, type IntakeChannelKind } from './model.js';
import type { IntakeResult, IntakeService } from './service.js';
import type { UpstreamPush } from './upstream.js';

const WEB_DIR = new URL('../web/', import.meta.url);

export interface IntakeRouteOptions {
  service: IntakeService;
  /** Secret per channel kind / per platform (configuration); absent = not accepted. */
  channelSecrets: Readonly<Record<string, string>>;
  platformSecrets: Readonly<Record<string, string>>;
  replayWindowSec: number;
  now: () => number;
  form: { enabled: boolean; perHour: number; redis: Redis; prefix: string };
  upstream?: UpstreamPush;
}

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string;
  }
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** What the channel gets back: our number, state, units and clocks — never the citizen's data. */
function answer(r: Extract<IntakeResult, { ok: true }>) {
  const t: Ticket | undefined = r.ticket;
  return {
    ticketNo: r.ticketNo,
    created: r.created,
    ...(t
      ? {
          state: t.state,
          units: t.units,
          deadlines: { dispatchBy: iso(t.dispatchBy), replyBy: iso(t.deadlines?.replyBy), finishBy: iso(t.deadlines?.finishBy) },
          ...(t.upstream ? { upstream: { platform: t.upstream.platform, orderNo: t.upstream.orderNo, replyBy: iso(t.upstream.replyBy), finishBy: iso(t.upstream.finishBy) } } : {}),
        }
      : {}),
  };
}

const reused = (field: string, ticketNo: string) =>
  new AppError('message-id-reused', 409, `${field}: 该编号已用于另一条内容不同的消息（工单 ${ticketNo}），未新建 / already used by a different message (ticket ${ticketNo}); nothing created`, field, { ticketNo });

const REQUEST_FIELDS = {
  category: S.oneOf(['consult', 'help', 'complaint', 'report', 'suggestion'], '类别（默认 consult） / category (default consult)'),
  requesterKind: S.oneOf(['citizen', 'enterprise'], '群众或企业（默认 citizen） / citizen or enterprise (default citizen)'),
  urgency: S.oneOf(['normal', 'urgent'], '紧急程度 / urgency'),
  summary: S.string('诉求内容 / the request', 2000),
  phone: S.string('诉求人电话（回访用） / the citizen’s phone (for the callback)', 30),
  name: S.string('诉求人姓名（可选） / the citizen’s name (optional)', 50),
  topics: S.array(S.string(undefined, 40), '主题编号 / topic ids'),
  attachments: S.array(
    S.object('附件引用（不含文件内容） / an attachment by reference (never the bytes)', { ref: S.string('地址或媒体编号 / URL or media id', 1000), sha256: S.string('文件的 SHA-256 / SHA-256 of the bytes', 64), name: S.string(undefined, 200), mime: S.string(), size: S.integer(undefined, { minimum: 0 }) }),
    '附件 / attachments',
  ),
};

const SIGNED_HEADERS = S.object(undefined, {
  [TIMESTAMP_HEADER]: S.string('Unix 秒 / Unix seconds'),
  [SIGNATURE_HEADER]: S.string('sha256=<十六进制 HMAC-SHA256(密钥, 时间戳 + "." + 正文)> / sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>'),
});

export async function intakeRoutes(app: FastifyInstance, o: IntakeRouteOptions): Promise<void> {
  // The signature covers the exact bytes: keep them (this plugin's routes only).
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 256 * 1024 }, (req, body, done) => {
    const raw = String(body);
    (req as FastifyRequest).rawBody = raw;
    if (raw.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(raw));
    } catch {
      done(errors.invalid('body', '不是有效的 JSON / is not valid JSON'), undefined);
    }
  });

  const verify = (req: FastifyRequest, secret: string) => {
    const f = signatureFault({ secret, timestamp: req.headers[TIMESTAMP_HEADER], signature: req.headers[SIGNATURE_HEADER], body: req.rawBody ?? '', nowMs: o.now(), windowSec: o.replayWindowSec });
    if (f) throw new AppError('bad-signature', 401, `${f.field}: ${f.message}`, f.field);
  };

  app.post(
    '/api/intake/:channel',
    {
      config: { access: 'public' },
      schema: S.route('intake', '渠道来件（网站、微信、小程序、APP、短信、市长信箱）：按渠道密钥签名，按消息编号幂等 / a request from a channel, signed with the channel’s secret, idempotent by message id', {
        params: S.params({ channel: S.oneOf(INTAKE_CHANNELS, '渠道 / channel kind') }),
        headers: SIGNED_HEADERS,
        body: S.body({ messageId: S.string('渠道的消息编号（幂等键） / the channel’s message id (idempotency key)', 128), ...REQUEST_FIELDS }, ['messageId', 'summary', 'phone']),
      }),
      // Before the body schema: an unsigned request is refused for its signature, not its shape.
      preValidation: async (req) => {
        const { channel } = req.params as { channel: string };
        if (!(INTAKE_CHANNELS as readonly string[]).includes(channel)) throw errors.invalid('channel', `必须是 ${INTAKE_CHANNELS.join(', ')} 之一 / must be one of ${INTAKE_CHANNELS.join(', ')}`);
        const secret = Object.hasOwn(o.channelSecrets, channel) ? o.channelSecrets[channel] : undefined;
        if (!secret) throw new AppError('channel-not-enabled', 404, `channel: 渠道 ${channel} 未启用（无密钥） / channel ${channel} is not enabled (no secret configured)`, 'channel');
        verify(req, secret);
      },
    },
    async (req, reply) => {
      const { channel } = req.params as { channel: IntakeChannelKind };
      const m = parseIntakeMessage(req.body);
      if (!m.ok) throw errors.invalid(m.field, m.message);
      const r = await o.service.submitMessage(channel, m.value);
      if (!r.ok) throw reused('messageId', r.ticketNo);
      return reply.code(r.created ? 201 : 200).send(answer(r));
    },
  );

  app.post(
    '/api/upstream/:platform/orders',
    {
      config: { access: 'public' },
      schema: S.route('intake', '上级平台转办工单（国家/省/市平台、政企通、接诉即办）：保留平台编号与时限，按平台密钥签名，按工单编号幂等 / a higher platform’s work order: its number and deadlines kept, signed with the platform’s secret, idempotent by order number', {
        params: S.params({ platform: S.oneOf(UPSTREAM_PLATFORMS, '平台 / platform') }),
        headers: SIGNED_HEADERS,
        body: S.body(
          {
            orderNo: S.string('平台的工单编号 / the platform’s order number', 64),
            issuedAt: S.string('平台交办时间（ISO 8601 带时区） / when the platform issued it (ISO 8601 with offset)'),
            replyBy: S.string('平台的答复时限 / the platform’s reply deadline'),
            finishBy: S.string('平台的办结反馈时限 / the platform’s finish-and-feedback deadline'),
            ...REQUEST_FIELDS,
          },
          ['orderNo', 'issuedAt', 'finishBy', 'summary', 'phone'],
        ),
      }),
      preValidation: async (req) => {
        const { platform } = req.params as { platform: string };
        if (!(UPSTREAM_PLATFORMS as readonly string[]).includes(platform)) throw errors.invalid('platform', `必须是 ${UPSTREAM_PLATFORMS.join(', ')} 之一 / must be one of ${UPSTREAM_PLATFORMS.join(', ')}`);
        const secret = Object.hasOwn(o.platformSecrets, platform) ? o.platformSecrets[platform] : undefined;
        if (!secret) throw new AppError('platform-not-enabled', 404, `platform: 平台 ${platform} 未启用（无密钥） / platform ${platform} is not enabled (no secret configured)`, 'platform');
        verify(req, secret);
      },
    },
    async (req, reply) => {
      const { platform } = req.params as { platform: UpstreamPlatform };
      const w = parseWorkOrder(req.body);
      if (!w.ok) throw errors.invalid(w.field, w.message);
      const r = await o.service.submitOrder(platform, w.value);
      if (!r.ok) throw reused('orderNo', r.ticketNo);
      return reply.code(r.created ? 201 : 200).send(answer(r));
    },
  );

  app.get(
    '/api/admin/upstream/dead-letters',
    { config: { access: { permission: 'webhooks:write' } }, schema: S.route('intake', '推送上级平台失败、已放弃的工单版本 / pushes to higher platforms that gave up') },
    async () => ({ enabled: !!o.upstream, deadLetters: o.upstream ? await o.upstream.deadLetters() : [] }),
  );

  if (!o.form.enabled) return;

  app.get('/request', { config: { access: 'public' }, schema: S.route('pages', '公众诉求表单（免登录） / the public request form (no login)') }, async (_req, reply) => {
    const html = await readFile(new URL('request.html', WEB_DIR), 'utf8');
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
  });

  app.post(
    '/api/public/requests',
    {
      config: { access: 'public' },
      schema: S.route('intake', '公众诉求表单提交（免登录，按来源地址限流，按表单编号幂等） / the public form’s submission (no login, rate-limited per address, idempotent by form id)', {
        body: S.body({ formId: S.string('页面生成的表单编号 / the id the page generated', 64), category: REQUEST_FIELDS.category, requesterKind: REQUEST_FIELDS.requesterKind, summary: REQUEST_FIELDS.summary, phone: REQUEST_FIELDS.phone, name: REQUEST_FIELDS.name }, ['formId', 'summary', 'phone']),
      }),
    },
    async (req, reply) => {
      // Counted before anything else: a flood of bad posts is limited like good ones.
      const bucket = Math.floor(o.now() / 3_600_000);
      const key = `${o.form.prefix}:intake:form-rate:${req.ip}:${bucket}`;
      const n = await o.form.redis.multi().incr(key).expire(key, 3600).exec();
      const count = Number(n?.[0]?.[1] ?? 0);
      if (count > o.form.perHour) throw errors.rateLimited(3600 - Math.floor((o.now() % 3_600_000) / 1000));
      const b = (req.body ?? {}) as Record<string, unknown>;
      if (typeof b !== 'object' || Array.isArray(b)) throw errors.invalid('body', '必须是 JSON 对象 / must be a JSON object');
      if (typeof b.formId !== 'string' || !/^[A-Za-z0-9-]{8,64}$/.test(b.formId)) throw errors.invalid('formId', '必填：8–64 位字母、数字或 - / is required: 8–64 letters, digits or -');
      const m = parseIntakeMessage({ category: b.category, requesterKind: b.requesterKind, summary: b.summary, phone: b.phone, name: b.name, messageId: `form-${b.formId}` });
      if (!m.ok) throw errors.invalid(m.field, m.message);
      const r = await o.service.submitMessage('web', m.value);
      if (!r.ok) throw reused('formId', r.ticketNo);
      return reply.code(r.created ? 201 : 200).send({ ticketNo: r.ticketNo, created: r.created, finishBy: iso(r.ticket?.deadlines?.finishBy) });
    },
  );
}
