/**
 * The users page of /admin in a real headless Chromium (issue 18): an admin lists
 * users, creates one (username, roles, initial password), changes roles, disables
 * and enables, resets the password — through the admin users API, every change
 * audited, a refused input named beside its field; in Chinese and in English.
 */
import { describe, expect, it } from 'vitest';
import '../support/log-capture.js';
import type { App } from '../../src/app.js';
import { useHarness } from '../support/harness.js';
import { eventually } from '../support/wait.js';
import { createUser, expectAttr, expectContains, expectText, expectVisible, login, openBrowser, screenshot, startWebApp } from './support.js';

const h = useHarness();

/** Log in through the API as a client would: the status and, on success, the bearer token. */
async function apiLogin(app: App, username: string, password: string): Promise<{ status: number; token?: string }> {
  const r = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
  return { status: r.statusCode, token: r.statusCode === 200 ? (r.json() as { token: string }).token : undefined };
}

const meStatus = async (app: App, token: string) =>
  (await app.http.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode;

describe('admin users page (Chromium)', () => {
  it('GIVEN an admin on /admin WHEN they create, re-role, disable, enable and reset a user THEN each works through the API, is audited, and refusals are shown beside the field', async () => {
    const { app, base } = await startWebApp(h);
    await createUser(app, 'admin1', ['admin'], { displayName: '系统管理员' });
    const admin = await openBrowser();
    const p = admin.page;
    await login(admin, base, 'admin1', '/admin');

    // GIVEN the users tab lists the existing admin
    await p.click('[data-tab="users"]');
    await expectVisible(p.locator('[data-panel="users"]'));
    await expectContains(p.locator('#users-table tr[data-user="admin1"]'), '系统管理员');

    // WHEN an agent is created without an agent id and with a weak password
    await p.fill('#uc-username', 'Wang.Li');
    await p.fill('#uc-display', '王丽');
    await p.check('#uc-role-agent');
    await p.fill('#uc-password', 'short1');
    await p.click('#uc-submit');
    // THEN the password is named beside its input, and nothing is created
    await expectAttr(p.locator('#uc-password'), 'aria-invalid', 'true');
    await expectContains(p.locator('#user-create .field-msg'), '密码至少 10 位');
    expect(await app.users.get('wang.li')).toBeUndefined();

    // WHEN the password is fixed but the agent id is still missing THEN the agent id is named
    await p.fill('#uc-password', 'Initial-pass-2024');
    await p.click('#uc-submit');
    await expectAttr(p.locator('#uc-agent'), 'aria-invalid', 'true');
    await expectContains(p.locator('#user-create .field-msg'), '座席用户须有工号');
    expect(await p.locator('#uc-password').getAttribute('aria-invalid')).toBeNull();

    // WHEN the agent id is given THEN the user is created (lower-cased), listed and selected
    await p.fill('#uc-agent', '2001');
    await p.click('#uc-submit');
    await expectText(p.locator('#uc-msg'), '已创建用户 wang.li。');
    await expectContains(p.locator('#users-table tr[data-user="wang.li"] td.roles'), '话务员');
    await expectText(p.locator('#ue-name'), 'wang.li');
    const created = await app.users.get('wang.li');
    expect(created).toMatchObject({ username: 'wang.li', displayName: '王丽', roles: ['agent'], agentId: '2001', disabled: false });
    const first = await apiLogin(app, 'wang.li', 'Initial-pass-2024');
    expect(first.status).toBe(200);

    // WHEN the same username is created again THEN the 409 is shown beside the username
    await p.fill('#uc-username', 'wang.li');
    await p.check('#uc-role-auditor');
    await p.fill('#uc-password', 'Another-pass-2024');
    await p.click('#uc-submit');
    await expectAttr(p.locator('#uc-username'), 'aria-invalid', 'true');
    await expectContains(p.locator('#user-create .field-msg'), '已存在');
    await screenshot(p, 'admin-users-create-error');

    // WHEN every role is taken away THEN the roles are named and nothing changes
    await p.uncheck('#ue-role-agent');
    await p.click('#ue-save');
    await expectAttr(p.locator('#user-edit fieldset[name="roles"]'), 'aria-invalid', 'true');
    await expectContains(p.locator('#user-edit .field-msg'), 'roles');
    expect((await app.users.get('wang.li'))?.roles).toEqual(['agent']);

    // WHEN inspector is added THEN the roles change and the user's old session ends
    await p.check('#ue-role-agent');
    await p.check('#ue-role-inspector');
    await p.click('#ue-save');
    await expectText(p.locator('#ue-msg'), '已保存：角色；该用户需重新登录。');
    await expectContains(p.locator('#users-table tr[data-user="wang.li"] td.roles'), '质检员');
    expect((await app.users.get('wang.li'))?.roles).toEqual(['agent', 'inspector']);
    expect(await meStatus(app, first.token!)).toBe(401);

    // WHEN the user is disabled THEN they cannot log in; enabled again THEN they can
    await p.click('#ue-toggle');
    await expectText(p.locator('#ue-msg'), '已停用 wang.li，其会话已结束。');
    await expectText(p.locator('#users-table tr[data-user="wang.li"] td.status'), '已停用');
    expect((await apiLogin(app, 'wang.li', 'Initial-pass-2024')).status).toBe(401);
    await screenshot(p, 'admin-users-disabled');
    await p.click('#ue-toggle');
    await expectText(p.locator('#ue-msg'), '已启用 wang.li。');
    await expectText(p.locator('#users-table tr[data-user="wang.li"] td.status'), '启用');
    const second = await apiLogin(app, 'wang.li', 'Initial-pass-2024');
    expect(second.status).toBe(200);

    // WHEN a weak password is set THEN it is named beside the input; a good one ends the sessions
    await p.fill('#up-password', 'abcdefghij');
    await p.click('#up-submit');
    await expectAttr(p.locator('#up-password'), 'aria-invalid', 'true');
    await expectContains(p.locator('#user-password .field-msg'), '须包含字母和数字');
    await p.fill('#up-password', 'Reset-by-admin-2024');
    await p.click('#up-submit');
    await expectText(p.locator('#up-msg'), '已重置 wang.li 的密码，其会话已结束。');
    expect(await meStatus(app, second.token!)).toBe(401);
    expect((await apiLogin(app, 'wang.li', 'Initial-pass-2024')).status).toBe(401);
    expect((await apiLogin(app, 'wang.li', 'Reset-by-admin-2024')).status).toBe(200);

    // THEN every change is in the audit log, by the admin, about the user
    const entries = (await app.audit.query({ target: 'user:wang.li' })).filter((e) => e.actor === 'admin1');
    expect(entries.map((e) => e.action).sort()).toEqual(['password-reset', 'user-created', 'user-disabled', 'user-enabled', 'user-role-changed']);
    expect(entries.find((e) => e.action === 'user-role-changed')?.detail).toBe('roles agent → agent,inspector');

    // AND in English the page reads in English, errors still beside the field
    await p.click('#lang');
    await expectText(p.locator('[data-tab="users"]'), 'Users');
    await expectText(p.locator('#ue-msg'), 'wang.li enabled.');
    await expectText(p.locator('#up-msg'), 'Password of wang.li reset; their sessions have ended.');
    await expectText(p.locator('#users-table tr[data-user="wang.li"] td.roles'), /Agent.*Quality inspector/s);
    await p.fill('#uc-username', 'x');
    await p.click('#uc-submit');
    await expectAttr(p.locator('#uc-username'), 'aria-invalid', 'true');
    await expectContains(p.locator('#user-create .field-msg'), '2-32 letters');
    await screenshot(p, 'admin-users-en');
    expect(admin.errors).toEqual([]);
    await eventually(async () => expect(await app.users.list()).toHaveLength(2));
  });
});
