/**
 * Click-to-call over HTTP: `POST /api/tickets/:ticketNo/calls` places a call
 * from the user's phone to the ticket's citizen; `GET` lists the ticket's
 * outbound calls. Neither takes nor returns a number: the body must be empty
 * (a field in it is a 400 naming it), and views carry ids, outcomes and times.
 * Access is the ticket's: a unit its own tickets, an agent the calls they took.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, bodyOf, errors } from '../http/errors.js';
import { canReadTicket } from '../http/routes/tickets.js';
import * as S from '../http/schemas.js';
import type { TicketStore } from '../tickets/store.js';
import { OutboundRefused, type OutboundService } from './service.js';

export interface OutboundRouteDeps {
  service: OutboundService;
  tickets: TicketStore;
}

const NO_RE = /^\d{8,30}$/;
const PARAMS = S.params({ ticketNo: S.string('工单号（数字） / ticket number (digits)') });
const CALLERS = ['unit', 'agent', 'supervisor'] as const;

export async function outboundRoutes(app: FastifyInstance, o: OutboundRouteDeps): Promise<void> {
  const load = async (req: FastifyRequest) => {
    const { ticketNo } = req.params as { ticketNo: string };
    if (!NO_RE.test(ticketNo)) throw errors.invalid('ticketNo', '工单号为数字 / a ticket number is digits');
    const t = await o.tickets.get(ticketNo);
    if (!t) throw errors.notFound(`工单 ${ticketNo}`);
    if (!canReadTicket(req.user, t)) throw errors.forbidden();
    return t;
  };

  app.post(
    '/api/tickets/:ticketNo/calls',
    {
      config: { access: { roles: [...CALLERS] } },
      schema: S.route('tickets', '外呼：先呼您的话机，接听后以 12345 呼叫工单来电人并录音（号码不外显，请求不带号码） / click-to-call: rings your phone, then the ticket’s citizen as 12345, recorded (no number in or out)', {
        // No body: the route reads none (a field sent anyway is refused below, naming it).
        params: PARAMS,
      }),
    },
    async (req, reply) => {
      const b = bodyOf(req);
      // No free-form numbers: whatever is sent, the call goes to the ticket's stored number only.
      const extra = Object.keys(b)[0];
      if (extra !== undefined) throw errors.invalid(extra, '外呼不接受任何参数，只呼叫工单登记的号码 / takes no fields: the call goes to the ticket’s stored number');
      const st = await load(req);
      try {
        const call = await o.service.clickToCall(st, req.user, req.ip);
        return reply.code(202).send({ call });
      } catch (err) {
        if (err instanceof OutboundRefused) throw new AppError(err.refusal.code, err.refusal.status, err.refusal.message, err.refusal.field);
        throw err;
      }
    },
  );

  app.get(
    '/api/tickets/:ticketNo/calls',
    {
      config: { access: { roles: [...CALLERS, 'admin'] } },
      schema: S.route('tickets', '工单的外呼记录（不含号码） / the ticket’s outbound calls (no numbers)', { params: PARAMS }),
    },
    async (req) => {
      const st = await load(req);
      return { calls: await o.service.list(st.ticketNo) };
    },
  );
}
