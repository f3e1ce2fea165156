/**
 * The supervisor wallboard's calendar banner in a real headless Chromium:
 * hidden while the next 60 days are covered, shown (zh-CN and English) when
 * the app's clock is in a year the calendar has no notice for, and gone once an
 * admin confirms the year.
 */
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import '../support/log-capture.js';
import { useHarness } from '../support/harness.js';
import { at, TestClock, userApi } from '../support/tickets.js';
import { createUser, expectContains, expectVisible, login, openBrowser, screenshot } from './support.js';

const h = useHarness();

describe('supervisor calendar banner (Chromium)', () => {
  it('GIVEN the clock on 2026-10-01 THEN no banner; WHEN it moves to 2027-01-04 THEN the banner names the gap; WHEN an admin confirms 2027 THEN it goes', async () => {
    const clock = new TestClock(at('2026-10-01', '09:00:00'));
    const app = await h.startApp({}, { now: clock.now });
    await app.http.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.http.server.address() as AddressInfo).port}`;
    await createUser(app, 'wang-sup', ['supervisor'], { displayName: '王班长' });
    const admin = await userApi(app, 'cal-admin-e2e', ['admin']);

    const sup = await openBrowser();
    await login(sup, base, 'wang-sup', '/supervisor');
    const banner = sup.page.locator('#calendar-banner');
    // A poll has rendered (the update time is set) and the banner stayed hidden.
    await expectContains(sup.page.locator('#updated'), ':');
    await expectVisible(banner, false);

    clock.set(at('2027-01-04', '10:00:00'));
    await expectVisible(banner);
    await expectContains(banner, '工作日历未覆盖 2027-01-04 起的日期（2027）');
    expect(await banner.getAttribute('role')).toBe('alert');
    const shot = await screenshot(sup.page, 'supervisor-calendar-banner');
    expect(shot).toMatch(/\.png$/);

    await sup.page.click('#lang');
    await expectContains(banner, 'does not cover 2027-01-04 onwards (2027)');
    await screenshot(sup.page, 'supervisor-calendar-banner-en');

    const ok = await admin('PUT', '/api/admin/calendar/years/2027', { version: 0, source: '国务院办公厅关于2027年部分节假日安排的通知' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    await expectVisible(banner, false);
    expect(sup.errors).toEqual([]);
  });
});
