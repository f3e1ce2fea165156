/**
 * The answer-rate controller on the wallboard in a real headless Chromium (issue 17): its state, the
 * supervisors' alert, the sliding windows per line and seat group, the decision timeline with each
 * decision's inputs, and the switch (off gives the seats back, on the timeline at once).
 */
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import '../support/log-capture.js';
import { useHarness } from '../support/harness.js';
import { eventually } from '../support/wait.js';
import { createUser, expectContains, expectText, expectVisible, login, openBrowser, screenshot, startWebApp } from './support.js';

const h = useHarness();

/** A burst of general calls on 12345 that nobody answers, through the ACD's own scripts. */
async function overload(app: App): Promise<void> {
  expect(await app.acd.upsertGroup({ id: 'general', name: '话务受理座席', kind: 'general' })).toEqual({ ok: true });
  expect(await app.acd.upsertGroup({ id: 'peak', name: '高峰应急座席', kind: 'peak' })).toEqual({ ok: true });
  expect(await app.acd.upsertAgent({ id: '7101', name: '高峰7101', extension: '7101', skills: { general: 2 }, groups: ['peak'] })).toEqual({ ok: true });
  expect(await app.acd.login('7101')).toMatchObject({ ok: true });
  expect(await app.acd.setAgentState('7101', 'paused')).toMatchObject({ ok: true });
  const now = Date.now();
  for (let i = 0; i < 40; i++) {
    await app.acd.enqueue({ callId: `ctl-e2e-${i}`, skill: 'general', priority: 0, joinedAt: now - 45_000, lineNumber: '12345' });
    await app.acd.leave(`ctl-e2e-${i}`, 'abandoned', now);
  }
}

describe('answer-rate controller on the wallboard (Chromium)', () => {
  it('GIVEN an overload the controller acted on WHEN a supervisor opens the wallboard THEN the alert, windows and timeline with inputs show; WHEN switched off THEN the timeline shows every seat given back', async () => {
    const { app, base } = await startWebApp(h, { CONTROLLER_INTERVAL_SEC: '600' });
    await createUser(app, 'ctlsuper', ['supervisor'], { displayName: '班长' });
    await overload(app);
    await app.controller.tick();
    expect(app.controller.tuning('general')?.level).toBe(3);

    const s = await openBrowser({ viewport: { width: 1366, height: 900 } });
    const p = s.page;
    await login(s, base, 'ctlsuper', '/supervisor');
    const card = p.locator('#ctl-card');
    await expectContains(p.locator('#ctl-state'), '已开启');
    await expectVisible(p.locator('#ctl-alert'));
    await expectContains(p.locator('#ctl-alert'), '请将座席调为“示闲”');
    await expectContains(p.locator('#ctl-alert'), 'general');
    // The windows: line 12345, 40 offered in 15 minutes, none answered; its queue at level 3.
    const row = p.locator('#ctl-windows tr[data-dim="line:12345"]');
    await expectText(row.locator('td:nth-child(2)'), '40');
    await expectText(row.locator('td:nth-child(4)'), '0.0%');
    await expectText(row.locator('td:nth-child(5)'), '100.0%');
    await expectText(row.locator('td:nth-child(7)'), '3');
    await expectText(p.locator('#ctl-windows tr[data-dim="group:general"] td:nth-child(2)'), '40');
    // The timeline: the engagement with its inputs.
    const engage = p.locator('#ctl-timeline li[data-why="engage"]').first();
    await expectContains(engage, '启动');
    await expectContains(engage, '队列 general（热线 12345，目标 98.0%）');
    await expectContains(engage, '常规座席 0 + 可借 0');
    await expectContains(engage, '近 5 分钟实际 0.0%');
    await card.scrollIntoViewIfNeeded();
    await screenshot(p, 'wallboard-controller-engaged-zh');

    // WHEN the supervisor switches it off THEN the state, the alert and the timeline follow.
    await p.click('#ctl-toggle');
    await expectContains(p.locator('#ctl-state'), '已关闭');
    await expectContains(p.locator('#ctl-state'), 'ctlsuper');
    await expectVisible(p.locator('#ctl-alert'), false);
    const off = p.locator('#ctl-timeline li.off').first();
    await expectContains(off, '已关闭，全部归还');
    await expectText(row.locator('td:nth-child(7)'), '0');
    expect(app.controller.tuning('general')).toBeUndefined();
    await eventually(async () => expect((await app.audit.query({})).some((e) => e.action === 'controller-disabled' && e.actor === 'ctlsuper')).toBe(true));

    // In English, and nothing wider than the window or its card.
    await p.click('#lang');
    await expectContains(p.locator('#ctl-state'), 'Off (static overflow rule)');
    await expectContains(p.locator('#ctl-timeline li.off').first(), 'switched off, all given back');
    await expectContains(engage, 'regular seats 0 + lendable 0');
    await card.scrollIntoViewIfNeeded();
    await screenshot(p, 'wallboard-controller-off-en');
    const widths = await p.evaluate(() => {
      const c = document.querySelector('#ctl-card')!;
      return { doc: document.documentElement.scrollWidth, over: Array.from(c.querySelectorAll('table, ol')).filter((t) => t.getBoundingClientRect().right > c.getBoundingClientRect().right + 0.5).map((t) => t.id) };
    });
    expect(widths.doc).toBeLessThanOrEqual(1366);
    expect(widths.over).toEqual([]);
    expect(s.errors).toEqual([]);
  });
});
