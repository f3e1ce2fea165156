/**
 * Password hashing with Node's scrypt: salted, parameters stored with the hash
 * (`scrypt$N$r$p$salt$hash`, base64), compared in constant time.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

const DEFAULTS = { N: 1 << 15, r: 8, p: 1 };
const KEYLEN = 32;

export async function hashPassword(password: string, params: { N: number; r: number; p: number } = DEFAULTS): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEYLEN, { ...params, maxmem: 128 * params.N * params.r * 2 });
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await scrypt(password, salt, expected.length, { N, r, p, maxmem: 128 * N * r * 2 });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Password rules: long enough, not all one kind of character. Returns a message or undefined. */
export function passwordProblem(password: unknown): string | undefined {
  if (typeof password !== 'string') return '密码必须是字符串 / must be a string';
  if (password.length < 10) return '密码至少 10 位 / must have at least 10 characters';
  if (password.length > 200) return '密码过长 / is too long';
  if (!/[A-Za-z]/.test(password) || !/\d/.test(password)) return '密码须包含字母和数字 / must contain letters and digits';
  return undefined;
}
