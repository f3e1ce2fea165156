/**
 * Roles and what they may do ("谁管理、谁使用、谁负责"). Permissions are data so
 * that a route declares the permission it needs rather than a list of roles,
 * and so that the route audit test can tell which roles must be refused.
 */

export const ROLES = ['admin', 'supervisor', 'agent', 'unit', 'auditor', 'inspector'] as const;
export type Role = (typeof ROLES)[number];

/** Names shown in the consoles. */
export const ROLE_LABELS: Record<Role, string> = {
  admin: '系统管理员 / administrator',
  supervisor: '班长（值班长） / supervisor',
  agent: '话务员 / agent',
  unit: '承办单位 / handling unit',
  auditor: '审计员 / auditor',
  inspector: '质检员 / quality inspector',
};

export const PERMISSIONS = {
  /** Routing tables (merge lists, sub-centers). */
  'routing:write': ['admin'],
  'routing:read': ['admin', 'supervisor'],
  /** IVR flows and prompts. */
  'flows:write': ['admin'],
  /** User accounts and their roles. */
  'users:read': ['admin'],
  'users:write': ['admin'],
  'seats:write': ['admin', 'supervisor'],
  /** Queues, agents and KPIs live. */
  'monitor:read': ['supervisor', 'admin'],
  /** The full caller number, only through an audited reveal. */
  'number:full': ['supervisor'],
  /** The audit log, read-only; nobody may write it through the API. */
  'audit:read': ['auditor'],
  /** Agent console: own state, own calls, hand-offs, ticket form. */
  'agent:console': ['agent', 'supervisor'],
  /** Tickets: any ticket (supervisor), own unit's (unit), own calls' (agent). */
  'tickets:any': ['supervisor', 'admin'],
  'tickets:unit': ['unit'],
  'tickets:own': ['agent'],
  /** Ticket decisions (assign, return, close) and exports. */
  'tickets:decide': ['supervisor'],
  'tickets:export': ['supervisor'],
  'recordings:play': ['supervisor', 'inspector', 'agent'],
  'quality:score': ['inspector', 'supervisor'],
  /** Knowledge base: units write their own articles; the centre (supervisors, admins) reviews and publishes. */
  'kb:edit': ['unit', 'supervisor', 'admin'],
  /** Knowledge base search and published articles (the public reads through the public API). */
  'kb:read': ['agent', 'supervisor', 'admin', 'unit', 'inspector'],
  /** Webhook targets and whether they receive full numbers. */
  'webhooks:write': ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

/** Anything that carries roles: a user, a session user, or a bare list. */
export type HasRoles = { readonly roles: readonly Role[] } | readonly Role[] | null | undefined;

function rolesOf(who: HasRoles): readonly Role[] {
  if (!who) return [];
  return Array.isArray(who) ? (who as readonly Role[]) : (who as { roles: readonly Role[] }).roles ?? [];
}

export function isRole(x: unknown): x is Role {
  return typeof x === 'string' && (ROLES as readonly string[]).includes(x);
}

export function isPermission(x: unknown): x is Permission {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(PERMISSIONS, x);
}

/** The roles granted a permission. */
export function rolesWith(permission: Permission): readonly Role[] {
  return PERMISSIONS[permission];
}

export function hasPermission(who: HasRoles, permission: Permission): boolean {
  const allowed = PERMISSIONS[permission] as readonly Role[];
  return rolesOf(who).some((r) => allowed.includes(r));
}

/** Every permission the roles hold (for `/api/auth/me`, so pages show only what works). */
export function permissionsOf(who: HasRoles): Permission[] {
  return (Object.keys(PERMISSIONS) as Permission[]).filter((p) => hasPermission(who, p));
}

/** May this user see a caller's full number (through the audited reveal)? */
export function canSeeFullNumber(who: HasRoles): boolean {
  return hasPermission(who, 'number:full');
}
