// Why: what the cluster stores for a user's secret must be useless to whoever reads a node's disk
// or a peer's frame (decision 0025). A password becomes a salted scrypt hash (node:crypto; memory-
// hard, so guessing offline is slow), checked in constant time off the event loop; a token is 32
// random bytes, and only its SHA-256 is stored (a token is not guessable, so a fast hash suffices,
// and it can be found by its hash without a per-user scrypt).
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt's cost parameters (decision 0025): N = 2^14, r = 8, p = 1: 16 MiB and tens of ms per hash (figures in the decision). */
export const scryptParameters = Object.freeze({ N: 16_384, r: 8, p: 1 });
const saltBytes = 16;
const hashBytes = 32;
/** Largest parameters accepted back from a stored hash: a hostile entry cannot make a check take seconds or gigabytes. */
const costMax = 2 ** 17;
/** Token prefix: a token is recognisable in logs and by secret scanners. */
export const tokenPrefix = 'ew_';

/** Passwords: at least this many characters (UTF-8 bytes up to `passwordBytesMax`). */
export const passwordLimits = Object.freeze({ charactersMin: 8, bytesMax: 256 });

function scryptAsync(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, hashBytes, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (error, key) =>
      error === null ? resolve(key) : reject(error),
    );
  });
}

/** The stored form: `scrypt$N$r$p$salt$hash`, salt and hash in base64url. */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p } = scryptParameters;
  const salt = randomBytes(saltBytes);
  const hash = await scryptAsync(password, salt, N, r, p);
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** Whether `password` matches the stored hash; false for a stored text this code did not write. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((value) => Number.isSafeInteger(value) && value >= 1) || N > costMax || r > 16 || p > 4)
    return false;
  const salt = Buffer.from(parts[4] as string, 'base64url');
  const expected = Buffer.from(parts[5] as string, 'base64url');
  if (expected.length !== hashBytes) return false;
  try {
    return timingSafeEqual(await scryptAsync(password, salt, N, r, p), expected);
  } catch {
    return false;
  }
}

/** Why `password` may not be set, or undefined when it may. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < passwordLimits.charactersMin)
    return `a password has at least ${passwordLimits.charactersMin} characters`;
  if (Buffer.byteLength(password) > passwordLimits.bytesMax)
    return `a password has at most ${passwordLimits.bytesMax} bytes`;
  return undefined;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new bearer token: the prefix and 32 random bytes, base64url. */
export function newToken(): string {
  return `${tokenPrefix}${randomBytes(32).toString('base64url')}`;
}
