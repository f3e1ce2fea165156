/**
 * Users, sessions epochs, the first admin, the CLI and the audit stream on a
 * real Redis, each test under its own key prefix.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { AuditLog } from '../../src/access/audit.js';
import { runCli } from '../../src/access/cli.js';
import { ensureFirstAdmin, UserStore } from '../../src/access/users.js';
import { AppError } from '../../src/http/errors.js';

const url = inject('redisUrl');
let redis: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(url);
});

afterEach(async () => {
  for (const p of prefixes.splice(0)) {
    const keys = await redis.keys(`${p}:*`);
    if (keys.length) await redis.del(...keys);
  }
});

afterAll(() => redis.disconnect());

function prefix(): string {
  const p = `t-access-${randomUUID().slice(0, 8)}`;
  prefixes.push(p);
  return p;
}

const PW = 'correct-horse-42';

async function fails(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

describe('user store', () => {
  it('GIVEN PASSWORD_HASH_COST WHEN users are created and log in THEN new hashes use that cost; a weaker stored hash is upgraded at login, a stronger one is kept', async () => {
    const p = prefix();
    const hashOf = async (name: string) => String(await redis.hget(`${p}:user:${name}`, 'passwordHash'));
    const cheap = new UserStore(redis, p, { N: 1 << 10, r: 8, p: 1 });
    await cheap.create({ username: 'li', roles: ['agent'], agentId: '1002', password: PW });
    expect(await hashOf('li')).toMatch(/^scrypt\$1024\$8\$1\$/);
    const strong = new UserStore(redis, p); // the default, 2^15
    expect(await strong.authenticate('li', PW)).toMatchObject({ username: 'li' });
    expect(await hashOf('li')).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await cheap.authenticate('li', PW)).toMatchObject({ username: 'li' });
    expect(await hashOf('li')).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await cheap.authenticate('li', 'wrong-horse-42')).toBeUndefined();
  });

  it('GIVEN a new user WHEN created THEN it is listed without its hash, a second one of the same name (any case) is a 409', async () => {
    const users = new UserStore(redis, prefix());
    const u = await users.create({ username: 'wang', roles: ['agent'], agentId: '1001', password: PW });
    expect(u).toMatchObject({ username: 'wang', roles: ['agent'], agentId: '1001', disabled: false, epoch: 1 });
    expect(JSON.stringify(await users.list())).not.toContain('scrypt');
    expect((await users.get('WANG'))?.username).toBe('wang');
    const e = await fails(users.create({ username: 'Wang', roles: ['admin'], password: PW }));
    expect(e.status).toBe(409);
    expect((await users.get('wang'))?.roles).toEqual(['agent']);
  });

  it('GIVEN a user WHEN roles change or they are disabled THEN the epoch moves (tokens die); a display name does not', async () => {
    const users = new UserStore(redis, prefix());
    await users.create({ username: 'sup', roles: ['supervisor'], password: PW });
    expect(await users.sessionValid('sup', 1)).toBeDefined();
    expect((await users.update('sup', { displayName: '王班长' })).user.epoch).toBe(1);
    const r = await users.update('sup', { roles: ['supervisor', 'inspector'] });
    expect(r.changed).toEqual(['roles']);
    expect(r.user.epoch).toBe(2);
    expect(await users.sessionValid('sup', 1)).toBeUndefined();
    expect(await users.sessionValid('sup', 2)).toBeDefined();
    const d = await users.disable('sup');
    expect(d.disabled).toBe(true);
    expect(await users.sessionValid('sup', d.epoch)).toBeUndefined();
    expect(await users.authenticate('sup', PW)).toBeUndefined();
  });

  it('GIVEN a session WHEN revoked (logout) THEN that session alone is refused', async () => {
    const users = new UserStore(redis, prefix());
    await users.create({ username: 'a', roles: ['auditor'], password: PW });
    await users.revokeSession('s1', 60);
    expect(await users.sessionValid('a', 1, 's1')).toBeUndefined();
    expect(await users.sessionValid('a', 1, 's2')).toBeDefined();
  });

  it('GIVEN a password change THEN the old password is required, the new one works and sessions end', async () => {
    const users = new UserStore(redis, prefix());
    await users.create({ username: 'li', roles: ['unit'], unitId: 'u-1', password: PW });
    expect((await fails(users.changePassword('li', 'wrong-pass-1', 'another-pass-2'))).field).toBe('oldPassword');
    expect((await fails(users.changePassword('li', PW, PW))).field).toBe('newPassword');
    expect((await fails(users.changePassword('li', PW, 'short'))).field).toBe('newPassword');
    await users.changePassword('li', PW, 'another-pass-2');
    expect(await users.authenticate('li', PW)).toBeUndefined();
    expect((await users.authenticate('li', 'another-pass-2'))?.epoch).toBe(2);
    await users.resetPassword('li', 'admin-reset-3x');
    expect((await users.authenticate('li', 'admin-reset-3x'))?.epoch).toBe(3);
  });

  it('GIVEN one admin WHEN they would be disabled or lose the role THEN refused; with a second admin allowed', async () => {
    const users = new UserStore(redis, prefix());
    await users.create({ username: 'root1', roles: ['admin'], password: PW });
    expect((await fails(users.update('root1', { disabled: true }))).field).toBe('disabled');
    expect((await fails(users.update('root1', { roles: ['auditor'] }))).field).toBe('roles');
    await users.create({ username: 'root2', roles: ['admin'], password: PW });
    expect((await users.update('root1', { disabled: true })).user.disabled).toBe(true);
  });

  it('GIVEN scope fields WHEN a role needs one and it is missing THEN the field is named', async () => {
    const users = new UserStore(redis, prefix());
    await users.create({ username: 'x1', roles: ['inspector'], password: PW });
    expect((await fails(users.update('x1', { roles: ['agent'] }))).field).toBe('agentId');
    expect((await fails(users.update('x1', { roles: ['unit'] }))).field).toBe('unitId');
    expect((await fails(users.update('x1', { disabled: 'yes' }))).field).toBe('disabled');
    expect((await fails(users.update('nobody', { disabled: true }))).status).toBe(404);
    expect((await users.update('x1', { roles: ['unit'], unitId: '区住建局' })).user).toMatchObject({ roles: ['unit'], unitId: '区住建局', epoch: 2 });
  });
});

describe('first admin', () => {
  it('GIVEN HOTLINE_ADMIN_USER/PASSWORD WHEN no admin exists THEN one is created and audited, once', async () => {
    const p = prefix();
    const users = new UserStore(redis, p);
    const audit = new AuditLog(redis, p);
    const env = { HOTLINE_ADMIN_USER: 'Admin', HOTLINE_ADMIN_PASSWORD: 'first-admin-1' };
    const [a, b] = await Promise.all([ensureFirstAdmin(users, env, audit), ensureFirstAdmin(users, env, audit)]);
    expect([a, b].filter(Boolean)).toEqual(['admin']);
    expect((await users.authenticate('admin', 'first-admin-1'))?.roles).toEqual(['admin']);
    expect(await ensureFirstAdmin(users, { ...env, HOTLINE_ADMIN_USER: 'other' }, audit)).toBeUndefined();
    expect(await users.get('other')).toBeUndefined();
    expect(await audit.query({ action: 'user-created' })).toMatchObject([{ actor: 'system', target: 'user:admin' }]);
  });

  it('GIVEN no variables THEN nothing; a user without password or a weak one THEN the field is named', async () => {
    const users = new UserStore(redis, prefix());
    expect(await ensureFirstAdmin(users, {})).toBeUndefined();
    expect((await fails(ensureFirstAdmin(users, { HOTLINE_ADMIN_USER: 'admin' }))).field).toBe('HOTLINE_ADMIN_PASSWORD');
    expect((await fails(ensureFirstAdmin(users, { HOTLINE_ADMIN_USER: 'admin', HOTLINE_ADMIN_PASSWORD: 'weak' }))).field).toBe('password');
  });
});

describe('CLI', () => {
  it('GIVEN create-user with the password on stdin THEN the user can log in and the creation is audited', async () => {
    const p = prefix();
    const r = await runCli(['create-user', '--username', 'Zhao', '--role', 'agent,inspector', '--agent-id', '2001', '--key-prefix', p], {
      env: {},
      readStdin: async () => 'cli-password-9\n',
      redis,
    });
    expect(r, r.err).toMatchObject({ code: 0 });
    expect(r.out).toContain('zhao');
    const users = new UserStore(redis, p);
    expect((await users.authenticate('zhao', 'cli-password-9'))?.roles).toEqual(['agent', 'inspector']);
    expect(await new AuditLog(redis, p).query()).toMatchObject([{ actor: 'cli', action: 'user-created', target: 'user:zhao' }]);
  });

  it('GIVEN bad input THEN exit 2 naming the field or the flag, nothing created', async () => {
    const p = prefix();
    const run = (argv: string[], pw = 'cli-password-9') => runCli([...argv, '--key-prefix', p], { env: {}, readStdin: async () => pw, redis });
    expect(await run(['create-user', '--username', 'q1', '--role', 'agent'])).toMatchObject({ code: 2, err: expect.stringMatching(/^agentId:/) });
    expect(await run(['create-user', '--username', 'q1', '--role', 'root'])).toMatchObject({ code: 2, err: expect.stringMatching(/^roles:/) });
    expect(await run(['create-user', '--username', 'q1', '--role', 'admin'], 'weak')).toMatchObject({ code: 2, err: expect.stringMatching(/^password:/) });
    expect(await run(['create-user', '--role', 'admin'])).toMatchObject({ code: 2, err: expect.stringMatching(/--username is required/) });
    expect(await run(['create-user', '--username', 'q1', '--password', 'x'])).toMatchObject({ code: 2, err: expect.stringMatching(/unknown argument --password/) });
    expect(await run(['drop-all'])).toMatchObject({ code: 2 });
    const weakCost = await runCli(['create-user', '--username', 'q1', '--role', 'unit', '--key-prefix', p], { env: { PASSWORD_HASH_COST: '9' }, readStdin: async () => 'cli-password-9', redis });
    expect(weakCost).toMatchObject({ code: 2, err: expect.stringMatching(/^PASSWORD_HASH_COST must be an integer from 10 to 20, got '9'/) });
    expect(await new UserStore(redis, p).list()).toEqual([]);
  });

  it('GIVEN the real entry point WHEN run with tsx and --password-file THEN it creates the user; reset-password works too', () => {
    const p = prefix();
    const dir = mkdtempSync(join(tmpdir(), 'hotline-cli-'));
    try {
      const file = join(dir, 'pw');
      writeFileSync(file, 'file-password-7\n', { mode: 0o600 });
      const env = { ...process.env, REDIS_URL: url, HOTLINE_KEY_PREFIX: p };
      const run = (args: string[]) =>
        spawnSync(process.execPath, ['--import', 'tsx', 'src/access/cli.ts', ...args], { env, encoding: 'utf8', input: '', timeout: 30_000 });
      const c = run(['create-user', '--username', 'qian', '--role', 'auditor', '--password-file', file]);
      expect(c.status, c.stderr).toBe(0);
      writeFileSync(file, 'file-password-8');
      const r = run(['reset-password', '--username', 'qian', '--password-file', file]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('sessions have ended');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return new UserStore(redis, p).authenticate('qian', 'file-password-8').then((u) => expect(u?.roles).toEqual(['auditor']));
  });
});

describe('audit log', () => {
  it('GIVEN entries WHEN queried THEN newest first, filtered by action, actor, target and time range', async () => {
    const audit = new AuditLog(redis, prefix());
    await audit.record({ actor: 'sup', action: 'number-revealed', target: 'ticket:0632202611230001', detail: '核实投诉人身份', ip: '10.0.0.5', at: 1000 });
    await audit.record({ actor: 'wang', action: 'login', ip: '10.0.0.6', at: 2000 });
    await audit.record({ actor: 'sup', action: 'login', at: 3000 });
    expect((await audit.query()).map((e) => e.actor + ':' + e.action)).toEqual(['sup:login', 'wang:login', 'sup:number-revealed']);
    expect(await audit.query({ action: 'number-revealed' })).toMatchObject([
      { actor: 'sup', target: 'ticket:0632202611230001', detail: '核实投诉人身份', ip: '10.0.0.5', at: 1000 },
    ]);
    expect((await audit.query({ actor: 'sup' })).length).toBe(2);
    expect((await audit.query({ target: 'ticket:0632202611230001' })).length).toBe(1);
    // Time range over entry ids (XADD assigns ids by arrival; `at` is informational).
    const all = await audit.query();
    const mid = Number(all[1]!.id!.split('-')[0]);
    expect((await audit.query({ from: mid, to: mid })).some((e) => e.id === all[1]!.id)).toBe(true);
    expect(await audit.query({ from: Date.now() + 60_000 })).toEqual([]);
  });

  it('GIVEN many entries WHEN paged THEN pages do not overlap and cover everything', async () => {
    const audit = new AuditLog(redis, prefix());
    for (let i = 0; i < 25; i++) await audit.record({ actor: `u${i}`, action: 'login' });
    const seen: string[] = [];
    let before: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await audit.page({ limit: 10, ...(before ? { before } : {}) });
      seen.push(...page.entries.map((e) => e.actor));
      if (!page.next) break;
      before = page.next;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `u${24 - i}`));
  });

  it('GIVEN a free-text detail with a phone number THEN the entry stores it masked', async () => {
    const audit = new AuditLog(redis, prefix());
    await audit.record({ actor: 'sup', action: 'number-revealed', target: 'call:1732320000.42', detail: '回拨 13812345678 核实' });
    const [e] = await audit.query();
    expect(e).toMatchObject({ target: 'call:1732320000.42', detail: '回拨 138****5678 核实' });
    expect(JSON.stringify(await redis.xrange(audit.key, '-', '+'))).not.toContain('13812345678');
  });

  it('GIVEN retention by count or by age THEN the stream is trimmed', async () => {
    const byCount = new AuditLog(redis, prefix(), 100);
    for (let i = 0; i < 600; i++) await byCount.record({ actor: 'x', action: 'login' });
    expect(await redis.xlen(byCount.key)).toBeLessThan(600);
    expect(await redis.xlen(byCount.key)).toBeGreaterThanOrEqual(100);

    let now = Date.now() - 10 * 86_400_000;
    const byAge = new AuditLog(redis, prefix(), { maxAgeDays: 1 }, () => now);
    await redis.xadd(byAge.key, `${now}-0`, 'at', String(now), 'actor', 'old', 'action', 'login');
    now = Date.now();
    await byAge.record({ actor: 'new', action: 'login' });
    expect((await byAge.query()).map((e) => e.actor)).toEqual(['new']);
  });

  it('GIVEN an action that is not kebab-case THEN record refuses it', async () => {
    const audit = new AuditLog(redis, prefix());
    await expect(audit.record({ actor: 'x', action: 'DROP TABLE' })).rejects.toThrow(/invalid action/);
    await audit.record({ actor: 'x', action: 'flow-changed', target: 'flow:hotline-zh' });
    expect((await audit.query()).length).toBe(1);
  });
});
