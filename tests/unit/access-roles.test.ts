/**
 * Roles and permissions as data, and the access rules routes declare.
 */
import { describe, expect, it } from 'vitest';
import { canSeeFullNumber, hasPermission, isPermission, PERMISSIONS, permissionsOf, ROLES, rolesWith, type Role } from '../../src/access/roles.js';
import { validateNewUser } from '../../src/access/users.js';
import { AppError } from '../../src/http/errors.js';
import { accessAllows, accessProblem, rolesAllowed } from '../../src/http/plugins/access.js';

describe('permissions', () => {
  it('every permission names only known roles', () => {
    for (const [perm, roles] of Object.entries(PERMISSIONS)) {
      expect(roles.length, perm).toBeGreaterThan(0);
      for (const r of roles) expect(ROLES, `${perm}: ${r}`).toContain(r);
    }
  });

  it('GIVEN the seeds’ division of duties THEN full numbers are the supervisor’s, the audit log the auditor’s, routing the admin’s', () => {
    expect(rolesWith('number:full')).toEqual(['supervisor']);
    expect(rolesWith('audit:read')).toEqual(['auditor']);
    expect(rolesWith('routing:write')).toEqual(['admin']);
    expect(rolesWith('users:write')).toEqual(['admin']);
    // The auditor reads the log and nothing else.
    expect(permissionsOf(['auditor'])).toEqual(['audit:read']);
    expect(hasPermission(['agent'], 'audit:read')).toBe(false);
    expect(hasPermission(['admin'], 'audit:read')).toBe(false);
  });

  it('canSeeFullNumber takes a user, a session user or a role list', () => {
    expect(canSeeFullNumber({ roles: ['supervisor'] })).toBe(true);
    expect(canSeeFullNumber({ username: 'a', roles: ['agent', 'inspector'] } as { roles: Role[] })).toBe(false);
    expect(canSeeFullNumber(['admin'])).toBe(false);
    expect(canSeeFullNumber(['agent', 'supervisor'])).toBe(true);
    expect(canSeeFullNumber(null)).toBe(false);
    expect(canSeeFullNumber(undefined)).toBe(false);
  });

  it('isPermission knows the catalogue and nothing else', () => {
    expect(isPermission('number:full')).toBe(true);
    expect(isPermission('number:ful')).toBe(false);
    expect(isPermission('toString')).toBe(false);
  });
});

describe('route access rules', () => {
  it('GIVEN a declaration WHEN checked THEN only public, known roles or a known permission pass', () => {
    expect(accessProblem('public')).toBeUndefined();
    expect(accessProblem({ roles: ['agent', 'supervisor'] })).toBeUndefined();
    expect(accessProblem({ permission: 'audit:read' })).toBeUndefined();
    expect(accessProblem(undefined)).toMatch(/declares no config.access/);
    expect(accessProblem('everyone')).toMatch(/must be 'public'/);
    expect(accessProblem({ roles: [] })).toMatch(/non-empty/);
    expect(accessProblem({ roles: ['root'] })).toMatch(/unknown roles: root/);
    expect(accessProblem({ permission: 'tickets:rad' })).toMatch(/not a known permission/);
    expect(accessProblem({ roles: ['admin'], permission: 'audit:read' })).toMatch(/not both/);
  });

  it('GIVEN a rule WHEN roles are checked THEN roles and permissions decide, no roles never pass', () => {
    expect(accessAllows({ roles: ['agent'] }, ['agent'])).toBe(true);
    expect(accessAllows({ roles: ['agent'] }, ['unit'])).toBe(false);
    expect(accessAllows({ permission: 'monitor:read' }, ['admin'])).toBe(true);
    expect(accessAllows({ permission: 'monitor:read' }, [])).toBe(false);
    expect(rolesAllowed({ permission: 'tickets:any' }).sort()).toEqual(['admin', 'supervisor']);
    expect(rolesAllowed('public')).toEqual([...ROLES]);
  });
});

describe('new-user validation', () => {
  const field = (input: unknown): string | undefined => {
    try {
      validateNewUser(input);
      return undefined;
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      return (e as AppError).field;
    }
  };
  const ok = { username: 'Li.Si', roles: ['agent'], agentId: '1001', password: 'correct-horse-42' };

  it('names the field at fault', () => {
    expect(field(null)).toBe('body');
    expect(field({ ...ok, username: 'x' })).toBe('username');
    expect(field({ ...ok, username: '张三' })).toBe('username');
    expect(field({ ...ok, roles: [] })).toBe('roles');
    expect(field({ ...ok, roles: ['agent', 'root'] })).toBe('roles');
    expect(field({ ...ok, password: 'short' })).toBe('password');
    expect(field({ ...ok, agentId: undefined })).toBe('agentId');
    expect(field({ ...ok, roles: ['unit'] })).toBe('unitId');
    expect(field({ ...ok, displayName: 'x'.repeat(65) })).toBe('displayName');
    expect(field(ok)).toBeUndefined();
  });

  it('lower-cases usernames and drops duplicate roles', () => {
    const u = validateNewUser({ ...ok, roles: ['agent', 'agent', 'inspector'] });
    expect(u.username).toBe('li.si');
    expect(u.roles).toEqual(['agent', 'inspector']);
    expect(u.displayName).toBe('li.si');
  });
});
