/**
 * Password hashing with Node's scrypt: salted, parameters stored with the hash
 * (`scrypt$N$r$p$salt$hash`, base64), compared in constant time.
 *
 * @remarks
 * The parameters travel with each hash so they can be raised later: old hashes
 * still verify, and {@link needsRehash} tells the login to store a new one.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** N=2^15, r=8: about 32 MiB and tens of milliseconds per hash. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 15, r: 8, p: 1 };
const KEYLEN = 32;
const SALT_BYTES = 16;

const maxmem = (q: ScryptParams) => 256 * q.N * q.r + 1024 * 1024;

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password.normalize('NFKC'), salt, KEYLEN, { ...params, maxmem: maxmem(params) });
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

function parse(stored: string): (ScryptParams & { salt: Buffer; key: Buffer }) | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Refuse parameters no hash of ours has: a tampered record must not make a login burn the CPU.
  if (![N, r, p].every(Number.isInteger) || N < 2 || N > 1 << 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(parts[4]!, 'base64');
  const key = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8 || key.length < 16) return undefined;
  return { N, r, p, salt, key };
}

/** True when the password matches the stored hash; false for a wrong password or a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parse(stored);
  if (!h) return false;
  const key = await scrypt(password.normalize('NFKC'), h.salt, h.key.length, { N: h.N, r: h.r, p: h.p, maxmem: maxmem(h) });
  return key.length === h.key.length && timingSafeEqual(key, h.key);
}

/** The stored hash was made with weaker parameters than today's. */
export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  const h = parse(stored);
  return !h || h.N < params.N || h.r < params.r || h.p < params.p;
}

/** Password rules: long enough, not all one kind of character. Returns a message or undefined. */
export function passwordProblem(password: unknown): string | undefined {
  if (typeof password !== 'string') return '密码必须是字符串 / must be a string';
  if (password.length < 10) return '密码至少 10 位 / must have at least 10 characters';
  if (password.length > 200) return '密码过长（最多 200 位） / is too long (at most 200 characters)';
  if (!/\p{L}/u.test(password) || !/\d/.test(password)) return '密码须包含字母和数字 / must contain letters and digits';
  return undefined;
}
