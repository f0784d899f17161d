import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** Hashes a Basic-auth password as `scrypt$N$r$p$salt$hash` (the form the config file takes). */
export async function hashPassword(password: string, params = { N: 16384, r: 8, p: 1 }): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32, { ...params, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

// Bounds on a stored hash's parameters. A hash comes from the configuration, yet a check runs for
// every failed login, so its cost must be bounded however the hash was made: memory 128·N·r within
// `maxmem`, and CPU N·r·p within 32 times the default (N=16384, r=8, p=1).
const MAX_MEMORY_BYTES = 64 * 1024 * 1024;
const MAX_WORK = 32 * 16384 * 8;

function usableParams(n: string, r: string, p: string): { N: number; r: number; p: number } | undefined {
  const [N, R, P] = [n, r, p].map((v) => (/^\d{1,8}$/.test(v) ? Number(v) : Number.NaN)) as [number, number, number];
  if (!(N >= 2 && (N & (N - 1)) === 0) || !(R >= 1 && R <= 32) || !(P >= 1 && P <= 16)) return undefined;
  if (128 * N * R > MAX_MEMORY_BYTES || N * R * P > MAX_WORK) return undefined;
  return { N, r: R, p: P };
}

/**
 * Constant-time check of a password against a stored hash. Answers false, without running scrypt,
 * for a hash that is malformed or whose parameters exceed the bounds above, and never throws.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, saltB64, hashB64] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !saltB64 || !hashB64) return false;
  const params = usableParams(n, r, p);
  const expected = Buffer.from(hashB64, 'base64');
  if (!params || expected.length < 16 || expected.length > 64) return false;
  try {
    const actual = await scryptAsync(password, Buffer.from(saltB64, 'base64'), expected.length, {
      ...params,
      maxmem: 2 * MAX_MEMORY_BYTES,
    });
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  } catch {
    return false;
  }
}
