/**
 * The one intake path: a checked message (a channel's, the public form's) or a higher platform's
 * work order becomes a ticket through {@link TicketStore.createFromIntake}, which numbers it like
 * a call's, indexes it under the citizen's number (repeat detection) and builds the domain ticket
 * with the same dispatch rules and SLA clocks (service.ts buildIntakeTicket); the store's change
 * listeners then schedule the clocks, link repeats and deliver the webhook as for a call.
 */
import type { Ticket, UpstreamPlatform } from '../tickets/model.js';
import type { IntakeRecord, StoredTicket, TicketStore } from '../tickets/store.js';
import { messageHash, type IntakeChannelKind, type IntakeMessage, type WorkOrder } from './model.js';

export type IntakeResult =
  | { ok: true; ticketNo: string; created: boolean; ticket: Ticket | undefined }
  /** The id was used by another message: nothing created, the first ticket stands. */
  | { ok: false; ticketNo: string };

export class IntakeService {
  constructor(
    private readonly d: {
      tickets: TicketStore;
      now: () => number;
      instanceId: string;
      /**
       * The app's after-change work (repeat link, clocks, webhook), idempotent. The store runs it
       * after every commit; a repeated delivery runs it again, as the ticket worker does for a
       * call's job, in case the process died between the commit and that work.
       */
      resync?: (st: StoredTicket) => Promise<void>;
    },
  ) {}

  private async create(intake: IntakeRecord): Promise<IntakeResult> {
    const r = await this.d.tickets.createFromIntake(intake, this.d.instanceId, this.d.now());
    if (!r.sameMessage) return { ok: false, ticketNo: r.ticketNo };
    let st = await this.d.tickets.get(r.ticketNo);
    if (!r.created && st && this.d.resync) {
      await this.d.resync(st);
      st = await this.d.tickets.get(r.ticketNo);
    }
    return { ok: true, ticketNo: r.ticketNo, created: r.created, ticket: st?.ticket };
  }

  /** A request from one of the centre's own channels (web, WeChat, mini-program, app, SMS, mailbox). */
  submitMessage(kind: IntakeChannelKind, m: IntakeMessage): Promise<IntakeResult> {
    return this.create({
      channel: { kind, messageId: m.messageId },
      category: m.category,
      requesterKind: m.requesterKind,
      urgency: m.urgency,
      topics: m.topics,
      summary: m.summary,
      phone: m.phone,
      ...(m.name ? { name: m.name } : {}),
      attachments: m.attachments,
      receivedAt: this.d.now(),
      hash: messageHash(m),
    });
  }

  /**
   * A higher platform's work order: `origin` is the platform (SLA rules match on it: Laishan's
   * 政企通 3 working days, 接诉即办 2/13), and its number and deadlines stay beside ours.
   */
  submitOrder(platform: UpstreamPlatform, o: WorkOrder): Promise<IntakeResult> {
    return this.create({
      channel: { kind: 'upstream', platform, orderNo: o.orderNo },
      origin: platform,
      category: o.category,
      requesterKind: o.requesterKind,
      urgency: o.urgency,
      topics: o.topics,
      summary: o.summary,
      phone: o.phone,
      ...(o.name ? { name: o.name } : {}),
      attachments: o.attachments,
      receivedAt: this.d.now(),
      upstream: { platform, orderNo: o.orderNo, issuedAt: o.issuedAt, finishBy: o.finishBy, ...(o.replyBy !== undefined ? { replyBy: o.replyBy } : {}) },
      hash: messageHash(o),
    });
  }
}
