import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { maskNumber, maskNumbersInText } from '../../src/access/mask-numbers.js';
import { maskRecordForRole } from '../../src/access/mask-for-role.js';
import { createLogger } from '../../src/log/logger.js';
import { leakedNumbers } from '../support/leaks.js';

function capture(): { stream: Writable; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

describe('masking', () => {
  it('GIVEN numbers of several lengths WHEN masked THEN only a few digits stay', () => {
    expect(maskNumber('13812345678')).toBe('138****5678');
    expect(maskNumber('+86 138-1234-5678')).toBe('861****5678');
    expect(maskNumber('053167175706')).toBe('053****5706');
    expect(maskNumber('12345')).toBe('1**45');
    expect(maskNumber('110')).toBe('***');
    expect(maskNumber('')).toBe('');
  });

  it('GIVEN free text with phone numbers and a ticket number WHEN masked THEN phones are masked and the ticket stays', () => {
    const t = maskNumbersInText('市民13812345678反映，工单063220261122000123，回拨0632-1234567');
    expect(t).toContain('138****5678');
    expect(t).not.toContain('13812345678');
    expect(t).toContain('063220261122000123');
  });

  it('GIVEN a logger WHEN numbers are logged in fields, nested objects and messages THEN no full number is written', () => {
    const cap = capture();
    const log = createLogger({ level: 'info', destination: cap.stream });
    log.info({ caller: '13812345678' }, 'call in');
    log.info({ channel: { caller: { number: '13987654321', name: 'x' } } }, 'channel');
    log.info({ detail: 'customer 13700001111 called' }, 'free text field');
    log.info('message with 13600002222 inside');
    log.child({ callerNumber: '13500003333' }).warn('child');
    const out = cap.lines().join('\n');
    for (const n of ['13812345678', '13987654321', '13700001111', '13600002222', '13500003333']) {
      expect(out).not.toContain(n);
    }
    expect(out).toContain('138****5678');
    expect(out).toContain('139****4321');
    expect(cap.lines()).toHaveLength(5);
  });

  it('GIVEN log text WHEN scanned for leaks THEN full mobiles are found, masked ones, ticket numbers and timestamps are not', () => {
    expect(leakedNumbers('{"caller":"13812345678"}')).toEqual(['13812345678']);
    expect(leakedNumbers('{"caller":"138****5678","ticket":"063220261122000123","time":1795391734380,"id":"1795392646.5"}')).toEqual([]);
    // Inside a request id (uuid) or a token the digits are not a number; next to SIP/dial syntax they are.
    expect(leakedNumbers('{"reqId":"e092e432-626a-4b74-90a3-17059415407e","sig":"Xq13912345678Z"}')).toEqual([]);
    expect(leakedNumbers('dial PJSIP/13912345678@carrier, 来电13987654321。')).toEqual(['13912345678', '13987654321']);
  });

  describe('numbers as people write them (issue 20)', () => {
    const written: [string, string][] = [
      ['市民138 0013 8000反映', '市民138****8000反映'],
      ['回拨138-0013-8000。', '回拨138****8000。'],
      ['+86 13800138000', '+86 138****8000'],
      ['+86-138-0013-8000', '+86-138****8000'],
      ['0086 13800138000', '0086 138****8000'],
      ['(+86)13800138000', '(+86)138****8000'],
      ['电话0632-1234567', '电话063****4567'],
      ['(0632) 1234 5678', '063****5678'],
      ['010-8765-4321', '010****4321'],
      ['+86 632 1234567', '+86 632****4567'],
      ['座机 6717 5706', '座机 671****5706'],
      ['138 0013 8000 2次', '138****8000 2次'],
    ];
    it.each(written)('GIVEN %j in a summary WHEN masked THEN %j', (text, masked) => {
      expect(maskNumbersInText(text)).toBe(masked);
    });

    it('GIVEN call ids, timestamps, dates, year ranges, decimals and request ids WHEN masked THEN they stay as written', () => {
      for (const t of [
        'call 1795392646.5 ended',
        '2026-11-23 10:00:00',
        '2026-11-23T10:00:00+08:00',
        'at 1795391734380',
        '2025-2026年',
        '价格3.14159265元',
        'e092e432-626a-4b74-90a3-17059415407e',
        '工单063220261122000123',
      ]) {
        expect(maskNumbersInText(t)).toBe(t);
      }
    });

    it('GIVEN a ticket export row and a webhook payload with written numbers WHEN masked for a role without full numbers THEN no digits of the middle remain', () => {
      const row = { ticketNo: '0632202611230001', summary: '来电人 138 0013 8000，另留 +86-139-8765-4321 及 0632-1234567' };
      const m = maskRecordForRole(row, null);
      expect(m.summary).toBe('来电人 138****8000，另留 +86-139****4321 及 063****4567');
      expect(m.ticketNo).toBe('0632202611230001');
    });

    it('GIVEN a logger WHEN a message holds a number written with spaces, dashes or +86 THEN it is masked in the output', () => {
      const cap = capture();
      const log = createLogger({ level: 'info', destination: cap.stream });
      log.info({ detail: '回拨 138-0013-8000' }, 'summary: 138 0013 8000 or +86 13900139000, call 1795392646.5');
      const out = cap.lines().join('\n');
      expect(out).not.toMatch(/0013|13900139000/);
      expect(out).toContain('138****8000');
      expect(out).toContain('+86 139****9000');
      expect(out).toContain('1795392646.5');
    });
  });

  it('GIVEN Asterisk call ids (<epoch>.<seq>) in fields and messages WHEN logged THEN they stay whole so one call can be grepped, while a number beside them is masked', () => {
    const cap = capture();
    const log = createLogger({ level: 'info', destination: cap.stream });
    log.info({ callId: '1790009972.4', other: '1790009972.12345678' }, 'call 1790009972.4 from 13812345678 ended.');
    const out = cap.lines().join('\n');
    expect(out).toContain('"callId":"1790009972.4"');
    expect(out).toContain('"other":"1790009972.12345678"');
    expect(out).toContain('call 1790009972.4 from 138****5678 ended.');
    expect(maskNumbersInText('号码13812345678.')).toBe('号码138****5678.');
  });

  it('GIVEN a Fastify app on the logger WHEN a request is served THEN its log lines carry method, url (numbers masked) and status', async () => {
    const { default: Fastify } = await import('fastify');
    const cap = capture();
    const log = createLogger({ level: 'info', destination: cap.stream });
    const app = Fastify({ loggerInstance: log as never });
    app.get('/x', async () => ({ ok: true }));
    await app.inject({ url: '/x?caller=13812345678' });
    await app.close();
    const lines = cap.lines().map((l) => JSON.parse(l) as { msg: string; req?: Record<string, unknown>; res?: Record<string, unknown> });
    const incoming = lines.find((l) => l.msg === 'incoming request');
    const done = lines.find((l) => l.msg === 'request completed');
    expect(incoming?.req).toMatchObject({ method: 'GET', url: '/x?caller=138****5678' });
    expect(done?.res).toEqual({ statusCode: 200 });
    expect(cap.lines().join('\n')).not.toContain('13812345678');
  });
});
