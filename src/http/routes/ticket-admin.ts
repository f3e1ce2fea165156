/**
 * Ticket administration: the keyword dispatch rules (派单规则, validated with
 * field-named errors, audited) and the webhook's dead-letter list.
 */
import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../../access/audit.js';
import { validateDispatchRules, type DispatchRuleSet } from '../../tickets/dispatch-rules.js';
import type { DispatchRulesStore } from '../../tickets/dispatch-store.js';
import type { TicketWebhook } from '../../tickets/webhook.js';
import { AppError, bodyOf } from '../errors.js';

export async function ticketAdminRoutes(app: FastifyInstance, d: { rules: DispatchRulesStore; webhook?: TicketWebhook; audit: AuditLog }): Promise<void> {
  app.get('/api/admin/dispatch-rules', { config: { access: { roles: ['admin', 'supervisor'] } } }, async () => ({ rules: await d.rules.refresh() }));

  app.put('/api/admin/dispatch-rules', { config: { access: { roles: ['admin'] } } }, async (req) => {
    const b = bodyOf(req);
    const input = { version: d.rules.current().version, ...b };
    const errs = validateDispatchRules(input);
    if (errs.length) throw new AppError('invalid-input', 400, errs[0]!.message, errs[0]!.field, errs);
    const saved = await d.rules.put(input as DispatchRuleSet);
    await d.audit.record({ actor: req.user.username, action: 'dispatch-rules-changed', target: `dispatch-rules:v${saved.version}`, detail: `${saved.rules.length} rules`, ip: req.ip });
    return { rules: saved };
  });

  app.get('/api/admin/ticket-webhook/dead-letters', { config: { access: { permission: 'webhooks:write' } } }, async () => ({
    enabled: !!d.webhook,
    deadLetters: d.webhook ? await d.webhook.deadLetters() : [],
  }));
}
