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

  /** Create the ticket of an ended call, or return the one it already has. */
  async createFromCall(record: CallRecord, now = Date.now()): Promise<{ ticketNo: string; created: boolean }> {
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
    const h = await this.redis.hgetall(this.key('ticket', ticketNo));
    if (!h.ticketNo) return undefined;
    return {
      ticketNo: h.ticketNo,
      callId: h.callId ?? '',
      createdAt: Number(h.createdAt),
      status: h.status ?? 'received',
      record: JSON.parse(h.record ?? '{}') as CallRecord,
    };
  }
}
