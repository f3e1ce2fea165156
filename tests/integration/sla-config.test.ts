/**
 * The SLA policy at start-up: no silent fallback to another city's policy. A
 * policy named in TICKET_SLA_POLICY that does not exist stops the app with one
 * line naming the variable; Lu'an starts on its own policy and warns that its
 * figures are provisional (the seed sets none).
 */
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { useHarness } from '../support/harness.js';
import { logSink, logTee } from '../support/log-capture.js';
import { testConfig } from '../support/pbx.js';

const h = useHarness();

describe('SLA policy at start-up', () => {
  it('GIVEN TICKET_SLA_POLICY names no bundled policy WHEN the app is built THEN it fails with one line naming the variable', async () => {
    const err = await buildApp(testConfig(h.pbx, { TICKET_SLA_POLICY: 'nowhere' }), { logDestination: logSink }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^configuration error: TICKET_SLA_POLICY "nowhere" is not one of [a-z, -]+$/);
    for (const id of ['luan', 'yantai', 'yantai-laishan', 'zaozhuang', 'zhengzhou']) expect(err!.message.split(' of ')[1]!.split(', ')).toContain(id);
  });

  it('GIVEN Lu’an WHEN the app starts THEN it uses the luan policy and warns that its figures are provisional', async () => {
    const { stream: dest, lines: chunks } = logTee();
    const app = await h.startApp({ HOTLINE_CITY: 'luan' }, { logDestination: dest });
    const lines = chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; policy?: string });
    const warn = lines.find((l) => l.level === 40 && l.policy === 'luan');
    expect(warn?.msg).toMatch(/^SLA policy luan: provisional figures — 六政办秘〔2021〕125号 asks for 限时办理/);
    expect(lines.some((l) => /using zaozhuang/.test(l.msg))).toBe(false);
    expect(app.ticketService).toBeDefined();
  });
});
