/**
 * Ticket reads, scoped by role: supervisors and admins see any ticket, an
 * agent only the tickets of calls they took, a handling unit only its own.
 * Caller numbers are always masked here; the full number is the audited reveal.
 */
import type { FastifyInstance } from 'fastify';
import { presentRecord } from '../../access/masking.js';
import { hasPermission } from '../../access/roles.js';
import type { StoredTicket, TicketStore } from '../../tickets/store.js';
import { errors } from '../errors.js';
import type { SessionUser } from '../plugins/access.js';

export function canReadTicket(user: SessionUser, t: StoredTicket): boolean {
  if (hasPermission(user.roles, 'tickets:any')) return true;
  if (user.roles.includes('agent') && user.agentId && t.record.agents.includes(user.agentId)) return true;
  if (user.roles.includes('unit') && user.unitId && t.units.includes(user.unitId)) return true;
  return false;
}

export function presentTicket(t: StoredTicket) {
  return { ...t, record: presentRecord(t.record), callbacks: t.callbacks.map(presentRecord) };
}

export async function ticketRoutes(app: FastifyInstance, opts: { tickets: TicketStore }): Promise<void> {
  app.get(
    '/api/tickets/:ticketNo',
    { config: { access: { roles: ['supervisor', 'admin', 'agent', 'unit'] } } },
    async (req) => {
      const { ticketNo } = req.params as { ticketNo: string };
      if (!/^\d{8,30}$/.test(ticketNo)) throw errors.invalid('ticketNo', '工单号为数字 / a ticket number is digits');
      const t = await opts.tickets.get(ticketNo);
      if (!t) throw errors.notFound(`工单 ${ticketNo}`);
      if (!canReadTicket(req.user, t)) throw errors.forbidden();
      return { ticket: presentTicket(t) };
    },
  );
}
