/**
 * The API documentation page /docs in a real headless Chromium: anonymous
 * visitors are sent to the login and back; the page lists the operations of
 * the generated OpenAPI document by area with who may call them and their
 * request fields, in zh-CN first and English on the toggle.
 */
import { describe, expect, it } from 'vitest';
import '../support/log-capture.js';
import { useHarness } from '../support/harness.js';
import { createUser, expectContains, expectText, expectVisible, openBrowser, PASSWORD, screenshot, startWebApp } from './support.js';

const h = useHarness();

describe('API documentation page (Chromium)', () => {
  it('GIVEN an anonymous visitor WHEN /docs is opened THEN the login comes first, then every operation with its roles and request fields, in both languages', async () => {
    const { app, base } = await startWebApp(h);
    await createUser(app, 'doc-sup', ['supervisor'], { displayName: '文档读者' });
    const s = await openBrowser();

    await s.page.goto(`${base}/docs`);
    await s.page.waitForURL(`${base}/login?next=%2Fdocs`);
    await s.page.fill('#username', 'doc-sup');
    await s.page.fill('#password', PASSWORD);
    await Promise.all([s.page.waitForURL(`${base}/docs`), s.page.click('#login-btn')]);
    await expectVisible(s.page.locator('section.tag[data-tag="routing"]'));

    // The operations of the document, each once, grouped by area.
    const doc = (await (await s.page.request.get(`${base}/docs/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const expected = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    expect(await s.page.locator('details.op').count()).toBe(expected);
    await expectContains(s.page.locator('#docs-info'), `${expected} 个接口`);

    const publish = s.page.locator('details.op[data-method="POST"][data-path="/api/admin/routing/publish"]');
    await expectContains(publish.locator('summary'), '发布草稿');
    await expectContains(publish.locator('.who'), 'routing:write');
    await expectContains(publish.locator('.who'), '系统管理员');
    expect(await publish.locator('.who [data-role="agent"]').count()).toBe(0);
    await publish.locator('summary').click();
    await expectContains(publish.locator('[data-prop="comment"]'), '最长 200');
    await expectContains(publish.locator('.op-body'), '可省略');

    const login = s.page.locator('details.op[data-method="POST"][data-path="/api/auth/login"]');
    await expectContains(login.locator('.who'), '公开');
    await login.locator('summary').click();
    await expectContains(login.locator('[data-prop="password"]'), '必填');

    const rules = s.page.locator('details.op[data-method="PUT"][data-path="/api/admin/dispatch-rules"]');
    await rules.locator('summary').click();
    await expectContains(rules.locator('[data-prop="rules"] [data-prop="unit"]'), '必填');

    // Every route declares its request schema: no operation says it has none (the page would badge it).
    expect(await s.page.locator('details.op summary', { hasText: '尚未声明请求格式' }).count()).toBe(0);
    const ticket = s.page.locator('details.op[data-method="GET"][data-path="/api/tickets/{ticketNo}"]');
    await ticket.locator('summary').click();
    await expectContains(ticket.locator('[data-param="ticketNo"]'), '必填');
    const extend = s.page.locator('details.op[data-method="POST"][data-path="/api/tickets/{ticketNo}/extend"]');
    await expectContains(extend.locator('summary'), '延期');
    await extend.locator('summary').click();
    await expectContains(extend.locator('[data-prop="callerConsent"]'), '必填');
    const sampling = s.page.locator('details.op[data-method="POST"][data-path="/api/quality/sampling"]');
    await sampling.locator('summary').click();
    await expectContains(sampling.locator('[data-prop="from"]'), 'integer | string');

    // The filter narrows the list; English on the toggle.
    await s.page.fill('#d-filter', '/api/admin/seats');
    await expectContains(s.page.locator('#docs-info'), '4 个接口');
    await screenshot(s.page, 'docs-zh-seats');
    await s.page.fill('#d-filter', '');
    await s.page.click('#lang');
    await expectText(s.page.locator('h1'), 'API documentation');
    await expectContains(publish.locator('summary'), 'publish the draft');
    await expectContains(publish.locator('[data-prop="comment"]'), 'max 200');
    await expectContains(s.page.locator('section.tag[data-tag="routing"] h2'), 'Routing tables');
    await expectContains(publish.locator('.who'), 'Administrator');
    await screenshot(s.page, 'docs-en');

    expect(s.errors).toEqual([]);
  });
});
