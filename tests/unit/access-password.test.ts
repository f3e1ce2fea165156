/**
 * Password hashing: salted scrypt with its parameters stored in the hash,
 * constant-time verification, malformed or tampered hashes refused.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRYPT, hashPassword, needsRehash, passwordProblem, verifyPassword } from '../../src/access/password.js';

describe('password hashing', () => {
  it('GIVEN a password WHEN hashed twice THEN both verify, differ (salt) and carry N=2^15, r=8, p=1', async () => {
    const a = await hashPassword('s3cret-password');
    const b = await hashPassword('s3cret-password');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('s3cret-password', a)).toBe(true);
    expect(await verifyPassword('s3cret-password', b)).toBe(true);
  });

  it('GIVEN a hash WHEN a wrong or differently-cased password is tried THEN it does not verify', async () => {
    const h = await hashPassword('s3cret-password');
    expect(await verifyPassword('s3cret-passworD', h)).toBe(false);
    expect(await verifyPassword('', h)).toBe(false);
    expect(await verifyPassword('s3cret-password ', h)).toBe(false);
  });

  it('GIVEN weaker parameters WHEN hashed THEN the hash still verifies and asks to be rehashed', async () => {
    const weak = await hashPassword('abc123abc123', { N: 1 << 10, r: 8, p: 1 });
    expect(weak.startsWith('scrypt$1024$8$1$')).toBe(true);
    expect(await verifyPassword('abc123abc123', weak)).toBe(true);
    expect(needsRehash(weak)).toBe(true);
    expect(needsRehash(await hashPassword('abc123abc123', DEFAULT_SCRYPT))).toBe(false);
  });

  it('GIVEN malformed or tampered hashes WHEN verified THEN false, never a throw or a runaway cost', async () => {
    const h = await hashPassword('abc123abc123');
    const parts = h.split('$');
    for (const bad of [
      '',
      'plain',
      'bcrypt$2b$10$xxx',
      ['scrypt', String(1 << 30), ...parts.slice(2)].join('$'), // absurd N
      ['scrypt', '1000', ...parts.slice(2)].join('$'), // N not a power of two
      [...parts.slice(0, 4), '', parts[5]].join('$'), // no salt
    ]) {
      expect(await verifyPassword('abc123abc123', bad), bad).toBe(false);
    }
  });

  it('GIVEN Unicode passwords WHEN typed in another normal form THEN they still match (NFKC)', async () => {
    const h = await hashPassword('密码Ａ12345678'); // full-width A
    expect(await verifyPassword('密码A12345678', h)).toBe(true);
  });
});

describe('password rules', () => {
  it('names what is wrong, in Chinese and English', () => {
    expect(passwordProblem(undefined)).toMatch(/字符串.*string/);
    expect(passwordProblem('short1')).toMatch(/10/);
    expect(passwordProblem('onlyletterspassword')).toMatch(/letters and digits/);
    expect(passwordProblem('1234567890123')).toMatch(/letters and digits/);
    expect(passwordProblem('x1'.repeat(101))).toMatch(/too long/);
    expect(passwordProblem('correct-horse-42')).toBeUndefined();
    expect(passwordProblem('热线一二三四五六七8')).toBeUndefined();
  });
});
