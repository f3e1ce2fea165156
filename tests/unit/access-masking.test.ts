/**
 * Masking by role: numbers in full only for roles holding number:full;
 * exports and webhooks (no user) always masked.
 */
import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/calls/record.js';
import { maskName, maskRecordForRole, presentNumber, presentRecord, presentRecordFor } from '../../src/access/mask-for-role.js';

const supervisor = { username: 'sup', roles: ['supervisor' as const] };
const agent = { username: 'a', roles: ['agent' as const], agentId: '1001' };

const record: CallRecord = {
  callId: '1732320000.42',
  channelName: 'PJSIP/carrier-00000001',
  caller: { number: '13812345678', name: '张三丰' },
  dialed: '12345',
  source: 'carrier',
  language: 'zh',
  startedAt: 1,
  path: [{ at: 1, kind: 'note', detail: '市民留了另一个电话 13987654321' }],
  agents: ['1001'],
  handoffs: [],
  recovered: false,
  instance: 'i',
};

describe('presentNumber', () => {
  it('GIVEN a number WHEN shown THEN full to a supervisor, masked to others and to no one', () => {
    expect(presentNumber(supervisor, '13812345678')).toBe('13812345678');
    expect(presentNumber(agent, '13812345678')).toBe('138****5678');
    expect(presentNumber(['unit', 'inspector'], '13812345678')).toBe('138****5678');
    expect(presentNumber(null, '13812345678')).toBe('138****5678');
    expect(presentNumber(agent, undefined)).toBe('');
  });
});

describe('maskRecordForRole', () => {
  it('GIVEN a ticket export row WHEN prepared for an agent or a webhook THEN numbers, names and numbers in text are masked; ids stay', () => {
    const row = {
      ticketNo: '0632202611230001',
      record,
      contact: { phone: '0632-3312345', name: '李四' },
      summary: '来电反映噪音，回电 13700001111',
      callbacks: [{ number: '13600002222' }],
    };
    for (const who of [agent, null]) {
      const m = maskRecordForRole(row, who);
      expect(m.ticketNo).toBe('0632202611230001');
      expect(m.record.callId).toBe('1732320000.42');
      expect(m.record.caller).toEqual({ number: '138****5678', name: '张*' });
      expect(m.record.path[0]!.detail).toBe('市民留了另一个电话 139****4321');
      expect(m.contact).toEqual({ phone: '063****2345', name: '李*' });
      expect(m.summary).toBe('来电反映噪音，回电 137****1111');
      expect(m.callbacks[0]!.number).toBe('136****2222');
      expect(JSON.stringify(m)).not.toMatch(/13812345678|13987654321|13700001111|13600002222/);
    }
    // The input is untouched.
    expect(row.record.caller.number).toBe('13812345678');
  });

  it('GIVEN a supervisor THEN the copy is in full (and still a copy)', () => {
    const m = maskRecordForRole({ record }, supervisor);
    expect(m.record.caller.number).toBe('13812345678');
    expect(m.record).not.toBe(record);
  });

  it('masks extra number keys on request', () => {
    expect(maskRecordForRole({ dialed: '13512345678' }, null, { numberKeys: ['dialed'] }).dialed).toBe('135****5678');
    expect(maskRecordForRole({ dialed: '12345' }, null).dialed).toBe('12345');
  });
});

describe('call records for people', () => {
  it('presentRecord masks the caller; presentRecordFor keeps it for a supervisor', () => {
    expect(presentRecord(record).caller).toEqual({ number: '138****5678', name: '张*' });
    expect(presentRecordFor(agent, record).caller.number).toBe('138****5678');
    expect(presentRecordFor(supervisor, record).caller.number).toBe('13812345678');
    expect(presentRecord({ ...record, source: 'callback', dialed: '13812345678' }).dialed).toBe('138****5678');
    expect(maskName('')).toBe('');
    expect(maskName('欧阳')).toBe('欧*');
  });
});
