/**
 * Users in Redis: one hash per user (`<prefix>:user:<username>`) and a set of
 * usernames (`<prefix>:users`).
 *
 * @remarks
 * Every session token carries the user's `epoch` (session epoch / token
 * version). Disabling a user, changing their roles, unit or agent id, or
 * changing their password increments it, and the access plugin compares it on
 * every request: tokens issued before stop working at once, on every instance.
 * Password hashes never leave this module.
 */
import type { Redis } from 'ioredis';
import { AppError, errors, staleVersion } from '../http/errors.js';
import { DEFAULT_SCRYPT, hashPassword, needsRehash, passwordProblem, verifyPassword, type ScryptParams } from './password.js';
import { isRole, ROLES, type Role } from './roles.js';
import { redisKey } from '../util/redis-keys.js';

export interface User {
  username: string;
  displayName: string;
  roles: Role[];
  /** 工号 of the agent this user is (agent role). */
  agentId?: string;
  /** Handling unit (unit role). */
  unitId?: string;
  disabled: boolean;
  /** Session epoch: tokens carrying an older one are refused. */
  epoch: number;
  /**
   * Revision of the record (optimistic concurrency): every change bumps it; an admin's change names the
   * one they read and is refused (409) when someone changed the user meanwhile. 0: a record from before.
   */
  version: number;
  createdAt: number;
  updatedAt?: number;
}

export interface NewUser {
  username: string;
  displayName?: string;
  roles: Role[];
  password: string;
  agentId?: string;
  unitId?: string;
}

export interface UserPatch {
  roles?: unknown;
  disabled?: unknown;
  displayName?: unknown;
  agentId?: unknown;
  unitId?: unknown;
}

const USERNAME = /^[a-z0-9_.-]{2,32}$/;
const AGENT_ID = /^[A-Za-z0-9_-]{1,32}$/;
const ROLE_LIST = ROLES.join('/');

/** Usernames are compared case-insensitively: stored and looked up in lower case. */
export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

function checkRoles(roles: unknown): Role[] {
  if (!Array.isArray(roles) || roles.length === 0 || !roles.every(isRole)) {
    throw errors.invalid('roles', `必须是非空角色列表 ${ROLE_LIST} / must be a non-empty list of ${ROLE_LIST}`);
  }
  return [...new Set(roles)];
}

function checkDisplayName(v: unknown): string {
  if (typeof v !== 'string' || v.trim().length === 0 || v.length > 64) throw errors.invalid('displayName', '1-64 个字符 / 1 to 64 characters');
  return v.trim();
}

function checkAgentId(v: unknown): string {
  if (typeof v !== 'string' || !AGENT_ID.test(v)) throw errors.invalid('agentId', '工号为 1-32 位字母、数字、_ - / 1-32 letters, digits, _ -');
  return v;
}

function checkUnitId(v: unknown): string {
  if (typeof v !== 'string' || v.trim().length === 0 || v.length > 64) throw errors.invalid('unitId', '单位编号 1-64 个字符 / 1 to 64 characters');
  return v.trim();
}

/** An agent needs its 工号, a handling-unit user its unit: otherwise their scoped reads would match nothing (or everything). */
function checkScope(roles: readonly Role[], agentId: string | undefined, unitId: string | undefined): void {
  if (roles.includes('agent') && !agentId) throw errors.invalid('agentId', '座席用户须有工号 / an agent user needs an agent id');
  if (roles.includes('unit') && !unitId) throw errors.invalid('unitId', '承办单位用户须有单位 / a unit user needs a unit id');
}

/** Validate a create-user request (API or CLI); errors name the field. */
export function validateNewUser(input: unknown): NewUser {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw errors.invalid('body', '必须是 JSON 对象 / must be a JSON object');
  const b = input as Record<string, unknown>;
  if (typeof b.username !== 'string' || !USERNAME.test(normalizeUsername(b.username))) {
    throw errors.invalid('username', '2-32 位字母、数字、_ . - / 2-32 letters, digits, _ . -');
  }
  const roles = checkRoles(b.roles);
  const problem = passwordProblem(b.password);
  if (problem) throw errors.invalid('password', problem);
  const agentId = b.agentId === undefined || b.agentId === '' ? undefined : checkAgentId(b.agentId);
  const unitId = b.unitId === undefined || b.unitId === '' ? undefined : checkUnitId(b.unitId);
  checkScope(roles, agentId, unitId);
  const username = normalizeUsername(b.username);
  return {
    username,
    displayName: b.displayName === undefined ? username : checkDisplayName(b.displayName),
    roles,
    password: b.password as string,
    ...(agentId ? { agentId } : {}),
    ...(unitId ? { unitId } : {}),
  };
}

/**
 * A user after `patch` and the fields that changed; every field checked, errors naming it (no I/O: the
 * admin API runs it before looking at the version, so a bad field is reported as such).
 */
export function applyUserPatch(user: User, patch: UserPatch): { next: User; changed: (keyof UserPatch)[] } {
  const next: User = { ...user };
  const changed: (keyof UserPatch)[] = [];
  if (patch.roles !== undefined) {
    next.roles = checkRoles(patch.roles);
    if (next.roles.join() !== user.roles.join()) changed.push('roles');
  }
  if (patch.disabled !== undefined) {
    if (typeof patch.disabled !== 'boolean') throw errors.invalid('disabled', '必须是 true 或 false / must be a boolean');
    next.disabled = patch.disabled;
    if (next.disabled !== user.disabled) changed.push('disabled');
  }
  if (patch.displayName !== undefined) {
    next.displayName = checkDisplayName(patch.displayName);
    if (next.displayName !== user.displayName) changed.push('displayName');
  }
  if (patch.agentId !== undefined) {
    if (patch.agentId === null || patch.agentId === '') delete next.agentId;
    else next.agentId = checkAgentId(patch.agentId);
    if (next.agentId !== user.agentId) changed.push('agentId');
  }
  if (patch.unitId !== undefined) {
    if (patch.unitId === null || patch.unitId === '') delete next.unitId;
    else next.unitId = checkUnitId(patch.unitId);
    if (next.unitId !== user.unitId) changed.push('unitId');
  }
  checkScope(next.roles, next.agentId, next.unitId);
  return { next, changed };
}

// Create a user only if the name is free; hash and index in one step, so a crash leaves no half user.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
redis.call('SADD', KEYS[2], ARGV[2])
return 1`;

// Fields the per-request session check reads (one HMGET, no password hash).
const SESSION_FIELDS = ['username', 'displayName', 'roles', 'agentId', 'unitId', 'disabled', 'epoch', 'createdAt', 'updatedAt', 'version'] as const;

/**
 * Change a user if it exists and (ARGV[1] non-empty) its version is still ARGV[1]; ARGV[2] '1' ends its
 * sessions (epoch + 1); ARGV[3..] field/value pairs. Returns {1, new version}, {0, current} or {-1, 0}.
 */
const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
local cur = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= cur then return {0, cur} end
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
if ARGV[2] == '1' then redis.call('HINCRBY', KEYS[1], 'epoch', 1) end
return {1, redis.call('HINCRBY', KEYS[1], 'version', 1)}`;

export class UserStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Parameters of the hashes this store writes (PASSWORD_HASH_COST); stronger stored ones are kept. */
    private readonly hashParams: ScryptParams = DEFAULT_SCRYPT,
  ) {}

  private key(username: string): string {
    return redisKey(this.prefix, 'user', normalizeUsername(username));
  }

  private get index(): string {
    return redisKey(this.prefix, 'users');
  }

  private revokedKey(sid: string): string {
    return redisKey(this.prefix, 'session-revoked', sid);
  }

  /** Create a user (input validated by {@link validateNewUser}); 409 if the name is taken. */
  async create(input: NewUser, now = Date.now()): Promise<User> {
    const username = normalizeUsername(input.username);
    checkScope(input.roles, input.agentId, input.unitId);
    const problem = passwordProblem(input.password);
    if (problem) throw errors.invalid('password', problem);
    const user: User = {
      username,
      displayName: input.displayName ?? username,
      roles: [...new Set(input.roles)],
      ...(input.agentId ? { agentId: input.agentId } : {}),
      ...(input.unitId ? { unitId: input.unitId } : {}),
      disabled: false,
      epoch: 1,
      version: 1,
      createdAt: now,
    };
    const fields = { ...serialize(user), version: '1', passwordHash: await hashPassword(input.password, this.hashParams) };
    const argv = Object.entries(fields).flat();
    const created = await this.redis.eval(CREATE, 2, this.key(username), this.index, ...argv);
    // 409 naming the field, so a form shows it beside the username.
    if (created !== 1) throw new AppError('user-exists', 409, `username: 用户 ${username} 已存在 / user ${username} already exists`, 'username');
    return user;
  }

  async get(username: string): Promise<User | undefined> {
    const values = await this.redis.hmget(this.key(username), ...SESSION_FIELDS);
    return fromFields(values);
  }

  async list(): Promise<User[]> {
    const names = (await this.redis.smembers(this.index)).sort();
    if (names.length === 0) return [];
    const p = this.redis.pipeline();
    for (const n of names) p.hmget(this.key(n), ...SESSION_FIELDS);
    const rows = (await p.exec()) ?? [];
    return rows.map(([, v]) => fromFields(v as (string | null)[])).filter((u): u is User => !!u);
  }

  /** The user if the password matches and the account is enabled; undefined otherwise (same work either way). */
  async authenticate(username: string, password: string): Promise<User | undefined> {
    const key = this.key(username);
    const [hash, ...values] = await this.redis.hmget(key, 'passwordHash', ...SESSION_FIELDS);
    const user = fromFields(values);
    if (!user || !hash) {
      // Same work for unknown users, so timing does not tell which usernames exist.
      await verifyPassword(password, DUMMY_HASH);
      return undefined;
    }
    if (!(await verifyPassword(password, hash))) return undefined;
    if (user.disabled) return undefined;
    if (needsRehash(hash, this.hashParams)) await this.redis.hset(key, 'passwordHash', await hashPassword(password, this.hashParams));
    return user;
  }

  /**
   * The per-request check: the user exists, is enabled, the token's epoch is
   * current and its session was not logged out. One round trip (pipeline).
   */
  async sessionValid(username: string, epoch: number, sid?: string): Promise<User | undefined> {
    const p = this.redis.pipeline().hmget(this.key(username), ...SESSION_FIELDS);
    if (sid) p.exists(this.revokedKey(sid));
    const rows = (await p.exec()) ?? [];
    if (rows.some(([err]) => err)) throw rows.find(([err]) => err)![0]!;
    const user = fromFields(rows[0]?.[1] as (string | null)[]);
    if (!user || user.disabled || user.epoch !== epoch) return undefined;
    if (sid && rows[1]?.[1] === 1) return undefined;
    return user;
  }

  /** End one session (logout) until its token would have expired anyway. */
  async revokeSession(sid: string, ttlSec: number): Promise<void> {
    await this.redis.set(this.revokedKey(sid), '1', 'EX', Math.max(1, Math.ceil(ttlSec)));
  }

  /**
   * Change roles, disabled, display name, agent id or unit id. Any change of
   * rights ends the sessions issued under the old ones (epoch + 1). The last
   * enabled admin cannot be disabled or lose the admin role. With `expectedVersion` (the version an admin
   * read) the change is refused with 409 naming `version` when the user was changed meanwhile — checked
   * again in the script that writes, so two instances cannot both win.
   */
  async update(username: string, patch: UserPatch, now = Date.now(), expectedVersion?: number): Promise<{ user: User; changed: (keyof UserPatch)[] }> {
    const user = await this.get(username);
    if (!user) throw errors.notFound(`用户 ${username}`);
    const { next, changed } = applyUserPatch(user, patch);
    if (expectedVersion !== undefined && user.version !== expectedVersion) throw staleVersion(user.version);
    const losesAdmin = user.roles.includes('admin') && !user.disabled && (next.disabled || !next.roles.includes('admin'));
    if (losesAdmin && (await this.enabledAdmins()).filter((n) => n !== user.username).length === 0) {
      throw errors.invalid(
        next.disabled ? 'disabled' : 'roles',
        '不能停用或降级最后一个管理员 / the last enabled admin cannot be disabled or lose the admin role',
      );
    }
    if (changed.length === 0) return { user, changed };
    next.updatedAt = now;
    const endsSessions = changed.some((c) => c !== 'displayName');
    // epoch and version move inside the script; the read-modify-write above is safe because the script
    // refuses the write if the version moved since `user` was read.
    const { epoch: _epoch, ...fields } = serialize(next);
    await this.write(username, user.version, endsSessions, fields);
    return { user: (await this.get(username)) ?? next, changed };
  }

  /** Run {@link UPDATE}: a stale version is a 409 naming `version`, a vanished user a 404. */
  private async write(username: string, expected: number | undefined, endsSessions: boolean, fields: Record<string, string>): Promise<number> {
    const argv = [expected === undefined ? '' : String(expected), endsSessions ? '1' : '0', ...Object.entries(fields).flat()];
    const [ok, v] = (await this.redis.eval(UPDATE, 1, this.key(username), ...argv)) as [number, number];
    if (ok === -1) throw errors.notFound(`用户 ${username}`);
    if (ok === 0) throw staleVersion(v);
    return v;
  }

  /** Disable a user: every session of theirs ends at once. */
  async disable(username: string): Promise<User> {
    return (await this.update(username, { disabled: true })).user;
  }

  /** A user changes their own password: the old one is required. Ends every session of theirs. */
  async changePassword(username: string, oldPassword: string, newPassword: string): Promise<void> {
    if (!(await this.authenticate(username, oldPassword))) throw errors.invalid('oldPassword', '原密码错误 / the current password is wrong');
    if (oldPassword === newPassword) throw errors.invalid('newPassword', '新密码不能与原密码相同 / must differ from the current password');
    await this.resetPassword(username, newPassword);
  }

  /**
   * Set a password without the old one (admin reset, CLI). Ends every session of the user. With
   * `expectedVersion` (an admin's reset) refused with 409 naming `version` when the user changed meanwhile.
   */
  async resetPassword(username: string, newPassword: string, expectedVersion?: number): Promise<void> {
    const problem = passwordProblem(newPassword);
    if (problem) throw errors.invalid('newPassword', problem);
    const user = await this.get(username);
    if (!user) throw errors.notFound(`用户 ${username}`);
    if (expectedVersion !== undefined && user.version !== expectedVersion) throw staleVersion(user.version);
    await this.write(username, expectedVersion, true, { passwordHash: await hashPassword(newPassword, this.hashParams), updatedAt: String(Date.now()) });
  }

  /** @deprecated use {@link resetPassword}. */
  async setPassword(username: string, password: string): Promise<void> {
    await this.resetPassword(username, password);
  }

  async hasAdmin(): Promise<boolean> {
    return (await this.enabledAdmins()).length > 0;
  }

  private async enabledAdmins(): Promise<string[]> {
    return (await this.list()).filter((u) => u.roles.includes('admin') && !u.disabled).map((u) => u.username);
  }

  /** A short lock so that two instances starting together create one first admin, not two. */
  async withBootstrapLock<T>(fn: () => Promise<T>): Promise<T | undefined> {
    const key = redisKey(this.prefix, 'bootstrap-admin-lock');
    if ((await this.redis.set(key, '1', 'EX', 30, 'NX')) !== 'OK') return undefined;
    try {
      return await fn();
    } finally {
      await this.redis.del(key);
    }
  }
}

/**
 * The first admin from the environment (HOTLINE_ADMIN_USER, HOTLINE_ADMIN_PASSWORD):
 * created only when no enabled admin exists. Returns the username created, if any.
 */
export async function ensureFirstAdmin(
  users: UserStore,
  env: Record<string, string | undefined>,
  audit?: { record(e: { actor: string; action: string; target?: string; detail?: string }): Promise<unknown> },
): Promise<string | undefined> {
  const username = env.HOTLINE_ADMIN_USER?.trim();
  const password = env.HOTLINE_ADMIN_PASSWORD;
  if (!username) return undefined;
  if (!password) throw errors.invalid('HOTLINE_ADMIN_PASSWORD', '设置了 HOTLINE_ADMIN_USER 就须设置密码 / is required with HOTLINE_ADMIN_USER');
  return users.withBootstrapLock(async () => {
    if (await users.hasAdmin()) return undefined;
    const input = validateNewUser({ username, password, roles: ['admin'] });
    const user = await users.create(input);
    await audit?.record({ actor: 'system', action: 'user-created', target: `user:${user.username}`, detail: 'first admin from HOTLINE_ADMIN_USER' });
    return user.username;
  });
}

// A fixed, well-formed hash of a random password, verified for unknown usernames.
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=';

function serialize(u: User): Record<string, string> {
  return {
    username: u.username,
    displayName: u.displayName,
    roles: JSON.stringify(u.roles),
    agentId: u.agentId ?? '',
    unitId: u.unitId ?? '',
    disabled: u.disabled ? '1' : '0',
    epoch: String(u.epoch),
    createdAt: String(u.createdAt),
    updatedAt: String(u.updatedAt ?? u.createdAt),
  };
}

function fromFields(values: readonly (string | null)[] | undefined): User | undefined {
  if (!values) return undefined;
  const h: Partial<Record<(typeof SESSION_FIELDS)[number], string>> = {};
  SESSION_FIELDS.forEach((f, i) => {
    const v = values[i];
    if (v !== null && v !== undefined) h[f] = v;
  });
  if (!h.username) return undefined;
  let roles: Role[] = [];
  try {
    roles = (JSON.parse(h.roles ?? '[]') as unknown[]).filter(isRole);
  } catch {
    roles = [];
  }
  return {
    username: h.username,
    displayName: h.displayName || h.username,
    roles,
    ...(h.agentId ? { agentId: h.agentId } : {}),
    ...(h.unitId ? { unitId: h.unitId } : {}),
    disabled: h.disabled === '1',
    epoch: Number(h.epoch ?? 1),
    version: Number(h.version ?? 0),
    createdAt: Number(h.createdAt ?? 0),
    ...(h.updatedAt ? { updatedAt: Number(h.updatedAt) } : {}),
  };
}
