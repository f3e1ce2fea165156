/**
 * Ticket administration: the keyword dispatch rules (派单规则, validated with
 * field-named errors, audited) and the webhook's dead-letter list.
 */
import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../../access/audit.js';
import { validateDispatchRules, type DispatchRuleSet } from '../../tickets/dispatch-rules.js';
import type { DispatchRulesStore } from '../../tickets/dispatch-store.js';
import type { TicketWebhook } from '../../tickets/webhook.js';
import { AppError, bodyOf, staleVersion } from '../errors.js';
import * as S from '../schemas.js';
import { TICKET_CATEGORIES } from '../../tickets/model.js';

const words = (description: string) => S.array(S.string(undefined, 50), description);

/** A rule set as PUT: shapes only; ids, units, duplicates and lengths are the rule validator's (every error named). */
const RULES_BODY = S.body(
  {
    version: S.integer('所修改的版本（已被他人修改则 409） / the version edited (409 when someone changed it meanwhile; default: the one this server holds)', { minimum: 0 }),
    rules: S.array(
      S.object(
        '一条规则 / one rule',
        {
          id: S.string('规则编号（小写字母、数字、-） / rule id (lower-case letters, digits, dashes)'),
          unit: S.string('承办单位 / handling unit'),
          keywords: words('诉求内容含任一关键词即命中 / any of these in the summary selects the rule'),
          excludeKeywords: words('含这些词则不命中 / …unless one of these is there too'),
          categories: S.array(S.oneOf(TICKET_CATEGORIES), '仅限这些类别 / only for these categories'),
          enabled: S.boolean('停用的规则保留但不命中 / a disabled rule is kept but never matches'),
          note: S.string('备注 / note'),
        },
        ['id', 'unit', 'keywords'],
      ),
      '按顺序匹配，先具体后笼统 / tried in order: specific rules first',
    ),
  },
  ['rules'],
);

export async function ticketAdminRoutes(app: FastifyInstance, d: { rules: DispatchRulesStore; webhook?: TicketWebhook; audit: AuditLog }): Promise<void> {
  app.get('/api/admin/dispatch-rules', { config: { access: { roles: ['admin', 'supervisor'] } }, schema: S.route('ticket-admin', '派单规则 / the keyword dispatch rules') }, async () => ({ rules: await d.rules.refresh() }));

  app.put(
    '/api/admin/dispatch-rules',
    { config: { access: { roles: ['admin'] } }, schema: S.route('ticket-admin', '替换派单规则（留痕） / replace the dispatch rules (audited)', { body: RULES_BODY }) },
    async (req) => {
      const b = bodyOf(req);
      // Optimistic concurrency: the version the admin edited; without one, the set this instance holds.
      const input = { version: d.rules.current().version, ...b };
      const errs = validateDispatchRules(input);
      if (errs.length) throw new AppError('invalid-input', 400, errs[0]!.message, errs[0]!.field, errs);
      const put = await d.rules.put(input as DispatchRuleSet, (input as DispatchRuleSet).version);
      if (!put.ok) throw staleVersion(put.current);
      const saved = put.rules;
      await d.audit.record({ actor: req.user.username, action: 'dispatch-rules-changed', target: `dispatch-rules:v${saved.version}`, detail: `${saved.rules.length} rules`, ip: req.ip });
      return { rules: saved };
    },
  );

  app.get(
    '/api/admin/ticket-webhook/dead-letters',
    { config: { access: { permission: 'webhooks:write' } }, schema: S.route('ticket-admin', '推送失败、已放弃的工单版本 / webhook deliveries that gave up') },
    async () => ({
      enabled: !!d.webhook,
      deadLetters: d.webhook ? await d.webhook.deadLetters() : [],
    }),
  );
}
