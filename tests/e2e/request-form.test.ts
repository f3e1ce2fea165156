/**
 * The public request form (/request) in a real headless Chromium, no login: a field error from
 * the server shown beside its input, a request that becomes a `web` ticket through the intake
 * path with the number the page shows, English on the same page, a second request with a new
 * form id, and nothing loaded from elsewhere. No call is placed: NO_PBX in vitest.config.ts.
 */
import { describe, expect, it } from 'vitest';
import '../support/log-capture.js';
import { useHarness } from '../support/harness.js';
import { expectContains, expectText, expectVisible, openBrowser, screenshot, startWebApp } from './support.js';

const h = useHarness();

describe('public request form (Chromium)', () => {
  it('GIVEN a citizen on /request WHEN they submit with a bad phone, fix it and submit THEN the error names the field, then a web ticket is made and its number shown; English works too', async () => {
    const { app, base } = await startWebApp(h);
    const s = await openBrowser();
    const foreign: string[] = [];
    s.page.on('request', (r) => {
      if (!r.url().startsWith(base)) foreign.push(r.url());
    });
    await s.page.goto(`${base}/request`);
    await expectText(s.page.locator('h1'), '12345 网上诉求');
    expect(await s.page.title()).toBe('网上诉求 · 12345');

    await s.page.selectOption('#category', 'complaint');
    await s.page.fill('#summary', '小区旁工地夜间施工噪音，凌晨两点还在施工');
    await s.page.fill('#phone', '1391234');
    await s.page.fill('#name', '王五');
    await s.page.click('#submit');
    await expectVisible(s.page.locator('.field-msg'));
    await expectContains(s.page.locator('#req-msg'), 'phone');
    expect(await s.page.locator('#phone').getAttribute('aria-invalid')).toBe('true');
    await screenshot(s.page, 'request-form-error');

    await s.page.fill('#phone', '139 1234 5620');
    await s.page.click('#submit');
    await expectVisible(s.page.locator('#done'));
    const no = (await s.page.locator('#ticket-no').textContent())!.trim();
    expect(no).toMatch(/^0632\d{14}$/);
    await screenshot(s.page, 'request-form-done');
    const t = (await app.tickets.get(no))!.ticket!;
    expect(t.channel.kind).toBe('web');
    expect(t.category).toBe('complaint');
    expect(t.callerNumber).toBe('13912345620');
    expect(t.units, 'dispatched by the keyword rule like a call').toEqual(['市住房城乡建设局']);
    // The page never received the number back.
    expect(s.received.join('\n')).not.toContain('13912345620');

    // English, and a second request: a new form id, a new ticket.
    await s.page.click('#lang');
    await expectText(s.page.locator('#again'), 'Submit another request');
    await s.page.click('#again');
    await expectText(s.page.locator('h1'), '12345 online request');
    await expectText(s.page.locator('label span').first(), 'Kind of request');
    await s.page.fill('#summary', 'The street light at the gate of Block 3 has been off for a week');
    await s.page.fill('#phone', '13912345621');
    await screenshot(s.page, 'request-form-en');
    await s.page.click('#submit');
    await expectVisible(s.page.locator('#done'));
    const no2 = (await s.page.locator('#ticket-no').textContent())!.trim();
    expect(no2).not.toBe(no);
    expect((await app.tickets.get(no2))!.ticket!.channel.kind).toBe('web');

    expect(foreign).toEqual([]);
    expect(s.errors).toEqual([]);
  });
});
