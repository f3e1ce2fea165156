/**
 * Users in Redis. Disabling a user or changing their roles bumps their
 * `epoch`, which every token carries: older tokens stop working at once.
 */
import type { Redis } from 'ioredis';
import { errors } from '../http/errors.js';
import { hashPassword, passwordProblem, verifyPassword } from './password.js';
import { isRole, type Role } from './roles.js';

export interface User {
  username: string;
  displayName: string;
  roles: Role[];
  /** 工号 of the agent this user is (agent role). */
  agentId?: string;
  /** Handling unit (unit role). */
  unitId?: string;
  disabled: boolean;
  epoch: number;
  createdAt: number;
}

export interface NewUser {
  username: string;
  displayName?: string;
  roles: Role[];
  password: string;
  agentId?: string;
  unitId?: string;
}

const USERNAME = /^[A-Za-z0-9_.-]{2,32}$/;

export function validateNewUser(input: unknown): NewUser {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw errors.invalid('body', '必须是 JSON 对象 / must be a JSON object');
  const b = input as Record<string, unknown>;
  if (typeof b.username !== 'string' || !USERNAME.test(b.username)) {
    throw errors.invalid('username', '2-32 位字母、数字、_ . - / 2-32 letters, digits, _ . -');
  }
  const roles = b.roles;
  if (!Array.isArray(roles) || roles.length === 0 || !roles.every(isRole)) {
    throw errors.invalid('roles', '必须是角色列表 admin/supervisor/agent/unit/auditor/inspector / must list roles');
  }
  const problem = passwordProblem(b.password);
  if (problem) throw errors.invalid('password', problem);
  if (roles.includes('agent') && (typeof b.agentId !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(b.agentId))) {
    throw errors.invalid('agentId', '座席用户须有工号 / an agent user needs an agent id');
  }
  if (roles.includes('unit') && (typeof b.unitId !== 'string' || b.unitId.length === 0 || b.unitId.length > 64)) {
    throw errors.invalid('unitId', '承办单位用户须有单位 / a unit user needs a unit id');
  }
  if (b.displayName !== undefined && (typeof b.displayName !== 'string' || b.displayName.length > 64)) {
    throw errors.invalid('displayName', '最长 64 字符 / at most 64 characters');
  }
  return {
    username: b.username,
    displayName: typeof b.displayName === 'string' ? b.displayName : b.username,
    roles: [...new Set(roles)] as Role[],
    password: b.password as string,
    ...(typeof b.agentId === 'string' ? { agentId: b.agentId } : {}),
    ...(typeof b.unitId === 'string' ? { unitId: b.unitId } : {}),
  };
}

export class UserStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(username: string): string {
    return `${this.prefix}:user:${username}`;
  }

  private get index(): string {
    return `${this.prefix}:users`;
  }

  async create(input: NewUser): Promise<User> {
    const hash = await hashPassword(input.password);
    const user: User = {
      username: input.username,
      displayName: input.displayName ?? input.username,
      roles: input.roles,
      ...(input.agentId ? { agentId: input.agentId } : {}),
      ...(input.unitId ? { unitId: input.unitId } : {}),
      disabled: false,
      epoch: 1,
      createdAt: Date.now(),
    };
    const created = await this.redis.hsetnx(this.key(user.username), 'username', user.username);
    if (!created) throw errors.conflict('user-exists', `用户 ${user.username} 已存在 / user exists`);
    await this.redis
      .multi()
      .hset(this.key(user.username), { ...serialize(user), passwordHash: hash })
      .sadd(this.index, user.username)
      .exec();
    return user;
  }

  async get(username: string): Promise<User | undefined> {
    const h = await this.redis.hgetall(this.key(username));
    return h.username ? deserialize(h) : undefined;
  }

  async list(): Promise<User[]> {
    const names = (await this.redis.smembers(this.index)).sort();
    const users = await Promise.all(names.map((n) => this.get(n)));
    return users.filter((u): u is User => !!u);
  }

  /** The user if the password matches and the account is enabled. */
  async authenticate(username: string, password: string): Promise<User | undefined> {
    const h = await this.redis.hgetall(this.key(username));
    if (!h.username || !h.passwordHash) {
      // Same work for unknown users, so timing does not tell which usernames exist.
      await verifyPassword(password, DUMMY_HASH);
      return undefined;
    }
    if (!(await verifyPassword(password, h.passwordHash))) return undefined;
    const user = deserialize(h);
    return user.disabled ? undefined : user;
  }

  /** The token's epoch still valid and the user enabled? One round trip. */
  async sessionValid(username: string, epoch: number): Promise<User | undefined> {
    const user = await this.get(username);
    if (!user || user.disabled || user.epoch !== epoch) return undefined;
    return user;
  }

  async update(username: string, patch: { roles?: unknown; disabled?: unknown; displayName?: unknown }): Promise<User> {
    const user = await this.get(username);
    if (!user) throw errors.notFound(`用户 ${username}`);
    const next: User = { ...user };
    if (patch.roles !== undefined) {
      if (!Array.isArray(patch.roles) || patch.roles.length === 0 || !patch.roles.every(isRole)) throw errors.invalid('roles', '必须是角色列表 / must list roles');
      next.roles = [...new Set(patch.roles)] as Role[];
    }
    if (patch.disabled !== undefined) {
      if (typeof patch.disabled !== 'boolean') throw errors.invalid('disabled', '必须是 true 或 false / must be a boolean');
      next.disabled = patch.disabled;
    }
    if (patch.displayName !== undefined) {
      if (typeof patch.displayName !== 'string' || patch.displayName.length > 64) throw errors.invalid('displayName', '最长 64 字符 / at most 64 characters');
      next.displayName = patch.displayName;
    }
    // Any change of rights ends the sessions issued under the old ones.
    if (patch.roles !== undefined || patch.disabled === true) next.epoch = user.epoch + 1;
    await this.redis.hset(this.key(username), serialize(next));
    return next;
  }

  async setPassword(username: string, password: string): Promise<void> {
    const problem = passwordProblem(password);
    if (problem) throw errors.invalid('newPassword', problem);
    const user = await this.get(username);
    if (!user) throw errors.notFound(`用户 ${username}`);
    await this.redis.hset(this.key(username), { passwordHash: await hashPassword(password), epoch: String(user.epoch + 1) });
  }

  async hasAdmin(): Promise<boolean> {
    return (await this.list()).some((u) => u.roles.includes('admin') && !u.disabled);
  }
}

// A fixed hash of a random password, verified for unknown usernames.
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
  };
}

function deserialize(h: Record<string, string>): User {
  return {
    username: h.username!,
    displayName: h.displayName ?? h.username!,
    roles: (JSON.parse(h.roles ?? '[]') as unknown[]).filter(isRole),
    ...(h.agentId ? { agentId: h.agentId } : {}),
    ...(h.unitId ? { unitId: h.unitId } : {}),
    disabled: h.disabled === '1',
    epoch: Number(h.epoch ?? 1),
    createdAt: Number(h.createdAt ?? 0),
  };
}
