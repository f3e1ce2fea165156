/**
 * Roles and what they may do ("谁管理、谁使用、谁负责"). Permissions are data so
 * that a route declares the permission it needs rather than a list of roles.
 */

export const ROLES = ['admin', 'supervisor', 'agent', 'unit', 'auditor', 'inspector'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = {
  /** Routing tables, flows, seats, users. */
  'routing:write': ['admin'],
  'routing:read': ['admin', 'supervisor'],
  'users:write': ['admin'],
  'seats:write': ['admin', 'supervisor'],
  /** Queues, agents and KPIs live. */
  'monitor:read': ['supervisor', 'admin'],
  /** The full caller number, only through an audited reveal. */
  'number:full': ['supervisor'],
  'audit:read': ['auditor'],
  /** Agent console: own state, own calls, hand-offs, ticket form. */
  'agent:console': ['agent', 'supervisor'],
  /** Tickets: any ticket (supervisor), own unit's (unit), own calls' (agent). */
  'tickets:any': ['supervisor', 'admin'],
  'tickets:unit': ['unit'],
  'tickets:own': ['agent'],
  'tickets:export': ['supervisor'],
  'recordings:play': ['supervisor', 'inspector', 'agent'],
  'quality:score': ['inspector', 'supervisor'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function isRole(x: unknown): x is Role {
  return typeof x === 'string' && (ROLES as readonly string[]).includes(x);
}

export function hasPermission(roles: readonly Role[], permission: Permission): boolean {
  const allowed = PERMISSIONS[permission] as readonly Role[];
  return roles.some((r) => allowed.includes(r));
}

export function canSeeFullNumber(roles: readonly Role[]): boolean {
  return hasPermission(roles, 'number:full');
}
