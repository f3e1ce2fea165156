/**
 * Ticket storage in Redis. Creating the ticket of a call is idempotent: the
 * call id maps to exactly one ticket number, whatever the number of times the
 * job runs (BullMQ delivers at least once; a worker may crash mid-job).
 */
import type { Redis } from 'ioredis';
import type { CallRecord } from '../calls/record.js';

/** yyyymmdd in China Standard Time (UTC+8, no DST), whatever the machine's TZ. */
export function shanghaiDate(ms: number): string {
  const d = new Date(ms + 8 * 3600_000);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
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
}

// KEYS[1] by-call index, KEYS[2] daily sequence, KEYS[3] ticket hash prefix (used as a string)
// ARGV[1] ticket number prefix, ARGV[2] json record, ARGV[3] now, ARGV[4] call id
const CREATE_FROM_CALL = `
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 0} end
local seq = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 172800)
local no = ARGV[1] .. string.format('%06d', seq)
redis.call('SET', KEYS[1], no)
redis.call('HSET', KEYS[3] .. no, 'ticketNo', no, 'callId', ARGV[4], 'createdAt', ARGV[3], 'status', 'received', 'record', ARGV[2])
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
      3,
      this.key('ticket', 'by-call', record.callId),
      this.key('ticket', 'seq', this.cityCode, day),
      this.key('ticket', ''),
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

  async get(ticketNo: string): Promise<StoredTicket | undefined> {
    const [h, callbacks] = await Promise.all([
      this.redis.hgetall(this.key('ticket', ticketNo)),
      this.redis.lrange(this.key('ticket', ticketNo, 'callbacks'), 0, -1),
    ]);
    if (!h.ticketNo) return undefined;
    return {
      ticketNo: h.ticketNo,
      callId: h.callId ?? '',
      createdAt: Number(h.createdAt),
      status: h.status ?? 'received',
      record: JSON.parse(h.record ?? '{}') as CallRecord,
      callbacks: callbacks.map((c) => JSON.parse(c) as CallRecord),
      units: JSON.parse(h.units ?? '[]') as string[],
    };
  }
}
