/**
 * Issue 4 in a real headless Chromium: the admin page edits a route of the
 * routing-table draft, sees the validation error naming the field, fixes it,
 * publishes, and test-dial shows the new path; then rolls back.
 */
import { describe, expect, it } from 'vitest';
import '../support/log-capture.js';
import { useHarness } from '../support/harness.js';
import { eventually } from '../support/wait.js';
import {
  createAgentSeat, createUser, expectAttr, expectContains, expectCount, expectText, expectVisible, login, openBrowser,
  screenshot, startWebApp,
} from './support.js';

const h = useHarness();

describe('admin routing page (Chromium)', () => {
  it('GIVEN the published Zaozhuang table WHEN an admin adds an alias with a wrong number THEN the error names the field; fixed and published, test-dial routes the alias to 12333', async () => {
    const { app, base } = await startWebApp(h);
    await createAgentSeat(app, '3001');
    await createUser(app, 'admin1', ['admin'], { displayName: '系统管理员' });
    const v1 = app.parts.current().version;

    const admin = await openBrowser();
    const p = admin.page;
    await login(admin, base, 'admin1', '/admin');
    await expectText(p.locator('#published-version'), `v${v1}`);
    await expectContains(p.locator('#draft-info'), '没有草稿');

    // Before: 12393 is nobody's number.
    await p.click('[data-tab="dial"]');
    await p.fill('#dial-number', '12393');
    await p.click('#dial-btn');
    await expectVisible(p.locator('#dial-out'));
    const before = await p.locator('#dial-decision dd[data-k="adm.d.route"]').innerText();
    expect(before).not.toBe('line-12333');

    // Start a draft from the published table and open line 12333.
    await p.click('[data-tab="routing"]');
    await p.click('#start-draft');
    await expectContains(p.locator('#draft-msg'), `已从 v${v1} 新建草稿`);
    await p.fill('#route-filter', '12333');
    await expectCount(p.locator('#routes-table tbody tr'), 1);
    await p.click('#routes-table tbody tr[data-route="line-12333"]');
    await expectText(p.locator('#edit-id'), 'line-12333');
    const index = await p.getAttribute('#routes-table tbody tr[data-route="line-12333"]', 'data-index');

    // An alias plus an emergency number (only allowed as a linkage partner): saved as a draft, with the errors shown.
    await p.fill('#route-form input[name="numbers"]', '12333, 12393, 110');
    await p.fill('#route-form input[name="priority"]', '5');
    await p.click('#apply-route');
    await expectContains(p.locator('#draft-msg'), '处错误');
    const field = `routes[${index}].numbers[2]`;
    await expectContains(p.locator('#draft-errors'), field);
    await expectContains(p.locator('#draft-errors'), 'emergency number "110"');
    await expectAttr(p.locator('#route-form input[name="numbers"]'), 'aria-invalid', 'true');
    await expectContains(p.locator('#route-form .field-msg'), field);
    await screenshot(p, 'admin-validation-error');
    // Publishing an invalid draft is refused with every error, and nothing changes.
    await p.click('#publish');
    await expectContains(p.locator('#draft-msg'), '未发布');
    await expectContains(p.locator('#draft-msg'), field);
    expect(app.parts.current().version).toBe(v1);

    // Fix it and save: the draft validates.
    await p.fill('#route-form input[name="numbers"]', '12333, 12393');
    await p.click('#apply-route');
    await expectContains(p.locator('#draft-msg'), '校验通过');
    await expectCount(p.locator('#route-form [aria-invalid]'), 0);
    // Test-dial against the draft already shows the new path.
    await p.click('[data-tab="dial"]');
    await p.selectOption('#dial-table', 'draft');
    await p.click('#dial-btn');
    await expectText(p.locator('#dial-decision dd[data-k="adm.d.route"]'), 'line-12333');

    // Publish with a comment.
    await p.click('[data-tab="routing"]');
    await p.fill('#publish-comment', '12333 增加别名 12393');
    await p.click('#publish');
    await expectContains(p.locator('#draft-msg'), `已发布为版本 v${v1 + 1}`);
    await expectText(p.locator('#published-version'), `v${v1 + 1}`);
    await eventually(() => expect(app.parts.current().version).toBe(v1 + 1), 5_000);

    // Test-dial on the published table: 12393 now goes into 12345 with skill 12333.
    await p.click('[data-tab="dial"]');
    await p.selectOption('#dial-table', 'published');
    await p.fill('#dial-number', '12393');
    await p.click('#dial-btn');
    await expectText(p.locator('#dial-decision dd[data-k="adm.d.route"]'), 'line-12333');
    await expectText(p.locator('#dial-decision dd[data-k="adm.d.skill"]'), '12333');
    await expectText(p.locator('#dial-decision dd[data-k="adm.d.version"]'), `v${v1 + 1}`);
    await expectContains(p.locator('#dial-why'), 'skill 12333');
    expect(await p.locator('#dial-heard li').count()).toBeGreaterThan(0);
    expect(await p.locator('#dial-steps li').count()).toBeGreaterThan(0);
    await screenshot(p, 'admin-test-dial');
    // A malformed number is refused naming the field.
    await p.fill('#dial-number', '12a');
    await p.click('#dial-btn');
    await expectContains(p.locator('#dial-msg'), 'number');
    await expectAttr(p.locator('#dial-number'), 'aria-invalid', 'true');

    // Versions: roll back to v1 (two clicks), and the alias is gone again.
    await p.click('[data-tab="versions"]');
    await expectCount(p.locator('#versions-table tbody tr'), 2);
    await expectContains(p.locator(`#versions-table tr[data-version="${v1 + 1}"]`), '12333 增加别名 12393');
    const rb = p.locator(`#versions-table button[data-rollback="${v1}"]`);
    await rb.click();
    await expectContains(rb, '确认');
    await rb.click();
    await expectContains(p.locator('#versions-msg'), `v${v1 + 2}`);
    await eventually(() => expect(app.parts.current().version).toBe(v1 + 2), 5_000);
    await screenshot(p, 'admin-versions');
    await p.click('[data-tab="dial"]');
    await p.fill('#dial-number', '12393');
    await p.click('#dial-btn');
    await expectText(p.locator('#dial-decision dd[data-k="adm.d.version"]'), `v${v1 + 2}`);
    expect(await p.locator('#dial-decision dd[data-k="adm.d.route"]').innerText()).toBe(before);

    // Seats list.
    await p.click('[data-tab="seats"]');
    await expectVisible(p.locator('#seat-agents-table tr[data-agent="3001"]'));
    await expectVisible(p.locator('#groups-table tr[data-group="general"]'));

    // The changes are audited.
    const audit = await app.audit.page({ action: 'routing-changed' });
    expect(audit.entries.map((e) => e.target)).toEqual([`routing:v${v1 + 2}`, `routing:v${v1 + 1}`]);
    expect(admin.errors).toEqual([]);
  });

  it('GIVEN an admin page holding a draft WHEN another admin saves the draft meanwhile and the page saves THEN the conflict is shown naming version, the other save stands, and reload shows it', async () => {
    const { app, base } = await startWebApp(h);
    await createUser(app, 'admin1', ['admin'], { displayName: '系统管理员' });
    const admin = await openBrowser();
    const p = admin.page;
    await login(admin, base, 'admin1', '/admin');
    await p.click('#start-draft');
    await expectContains(p.locator('#draft-msg'), '新建草稿');
    const read = (await app.parts.routing.getDraft())!;

    // Another admin saves the draft (from the version they read) while this page still holds the older one.
    const theirs = structuredClone(read.table) as { routes: { id: string; name: string }[] };
    theirs.routes[0]!.name = '他人的修改';
    const saved = await app.parts.routing.saveDraft(theirs, 'admin2', read.version);
    expect(saved.ok).toBe(true);

    await p.fill('#route-filter', '12333');
    await p.click('#routes-table tbody tr[data-route="line-12333"]');
    await p.fill('#route-form input[name="priority"]', '7');
    await p.click('#apply-route');
    await expectContains(p.locator('#draft-msg'), '他人已修改');
    await expectContains(p.locator('#draft-msg'), 'version');
    await screenshot(p, 'admin-version-conflict');
    const stored = (await app.parts.routing.getDraft())!;
    expect(stored.updatedBy).toBe('admin2');
    expect((stored.table as typeof theirs).routes[0]!.name).toBe('他人的修改');

    await p.click('#conflict-reload');
    await expectContains(p.locator('#draft-info'), 'admin2');
    expect(admin.errors).toEqual([]);
  });
});
