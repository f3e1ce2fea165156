/**
 * Ticket storage in Redis. Creating the ticket of a call is idempotent: the
 * call id maps to exactly one ticket number, whatever the number of times the
 * job runs (BullMQ delivers at least once; a worker may crash mid-job).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CallRecord } from '../calls/record.js';

/** yyyymmdd in China Standard Time (UTC+8, no DST), whatever the machine's TZ. */
export function shanghaiDate(ms: number): string {
  const d = new Date(ms + 8 * 3600_000);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

export const TICKET_CATEGORIES = ['consult', 'help', 'complaint', 'report', 'suggestion'] as const;
export const REQUESTER_KINDS = ['citizen', 'enterprise'] as const;

/** What the agent fills in during or after the call (咨询/求助/投诉/举报/建议, 市民/企业 …). */
export interface TicketForm {
  category: (typeof TICKET_CATEGORIES)[number];
  requesterKind: (typeof REQUESTER_KINDS)[number];
  summary: string;
  unitSuggestion: string;
  by: string;
  at: number;
}

/** Index key of a caller's tickets: a hash, so no phone number appears in key names. */
function callerKey(number: string): string {
  return createHash('sha256').update(`hotline-caller:${number}`).digest('hex').slice(0, 32);
}

export interface StoredTicket {
  ticketNo: string;
  callId: string;
  createdAt: number;
  status: string;
  record: CallRecord;
  /** Callbacks made for this ticket's call (虚拟拨号 through the platform). */
  callbacks: CallRecord[];
  /** Handling units the ticket is dispatched to. */
  units: string[];
  form?: TicketForm;
}

// KEYS[1] by-call index, KEYS[2] daily sequence, KEYS[3] ticket hash prefix (used as a string), KEYS[4] caller index
// ARGV[1] ticket number prefix, ARGV[2] json record, ARGV[3] now, ARGV[4] call id
const CREATE_FROM_CALL = `
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 0} end
local seq = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 172800)
local no = ARGV[1] .. string.format('%06d', seq)
redis.call('SET', KEYS[1], no)
redis.call('HSET', KEYS[3] .. no, 'ticketNo', no, 'callId', ARGV[4], 'createdAt', ARGV[3], 'status', 'received', 'record', ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], no)
return {no, 1}
`;

// KEYS[1] by-call index of the callback, KEYS[2] the ticket's callback list; ARGV[1] ticket no, ARGV[2] record
const ATTACH_CALLBACK = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
`;

export class TicketStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Digits that start every ticket number of this city (its telephone area code). */
    private readonly cityCode: string,
  ) {}

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  /**
   * Create the ticket of an ended call, or return the one it already has. A
   * callback is attached to the ticket of the call it calls back.
   */
  async createFromCall(record: CallRecord, now = Date.now()): Promise<{ ticketNo: string; created: boolean }> {
    if (record.callbackOf) {
      const original = await this.byCall(record.callbackOf);
      if (original) {
        const res = (await this.redis.eval(
          ATTACH_CALLBACK,
          2,
          this.key('ticket', 'by-call', record.callId),
          this.key('ticket', original, 'callbacks'),
          original,
          JSON.stringify(record),
        )) as number;
        return { ticketNo: original, created: res === 1 };
      }
      // The original's ticket is not there yet (its job is still queued): retried by BullMQ.
      throw new Error(`ticket of call ${record.callbackOf} not created yet`);
    }
    const day = shanghaiDate(record.startedAt);
    const res = (await this.redis.eval(
      CREATE_FROM_CALL,
      4,
      this.key('ticket', 'by-call', record.callId),
      this.key('ticket', 'seq', this.cityCode, day),
      this.key('ticket', ''),
      this.key('ticket', 'by-caller', callerKey(record.caller.number)),
      `${this.cityCode}${day}`,
      JSON.stringify(record),
      String(now),
      record.callId,
    )) as [string, number];
    return { ticketNo: res[0], created: res[1] === 1 };
  }

  async byCall(callId: string): Promise<string | undefined> {
    return (await this.redis.get(this.key('ticket', 'by-call', callId))) ?? undefined;
  }

  /** The agent's form for a call; kept by call id so it can be saved before the ticket exists. */
  async saveForm(callId: string, form: TicketForm): Promise<void> {
    await this.redis.set(this.key('ticket', 'form', callId), JSON.stringify(form), 'EX', 90 * 24 * 3600);
  }

  /** Agents who talked on a (finished) call, from its ticket. */
  async agentsOfCall(callId: string): Promise<string[]> {
    const no = await this.byCall(callId);
    const t = no ? await this.get(no) : undefined;
    return t?.record.agents ?? [];
  }

  /** The caller's latest tickets (numbers and states only), newest first. */
  async byCaller(number: string, limit = 5): Promise<{ ticketNo: string; status: string; createdAt: number }[]> {
    if (!number) return [];
    const nos = await this.redis.zrevrange(this.key('ticket', 'by-caller', callerKey(number)), 0, limit - 1);
    const out = await Promise.all(nos.map((n) => this.get(n)));
    return out.filter((t): t is StoredTicket => !!t).map((t) => ({ ticketNo: t.ticketNo, status: t.status, createdAt: t.createdAt }));
  }

  async get(ticketNo: string): Promise<StoredTicket | undefined> {
    const [h, callbacks] = await Promise.all([
      this.redis.hgetall(this.key('ticket', ticketNo)),
      this.redis.lrange(this.key('ticket', ticketNo, 'callbacks'), 0, -1),
    ]);
    if (!h.ticketNo) return undefined;
    const form = await this.redis.get(this.key('ticket', 'form', h.callId ?? ''));
    return {
      ticketNo: h.ticketNo,
      callId: h.callId ?? '',
      createdAt: Number(h.createdAt),
      status: h.status ?? 'received',
      record: JSON.parse(h.record ?? '{}') as CallRecord,
      callbacks: callbacks.map((c) => JSON.parse(c) as CallRecord),
      units: JSON.parse(h.units ?? '[]') as string[],
      ...(form ? { form: JSON.parse(form) as TicketForm } : {}),
    };
  }
}
