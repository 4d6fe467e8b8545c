/**
 * MQTT password hashes, the one format the cloud writes and the broker checks: scrypt for our broker
 * (`scrypt$N$r$p$salt$hash`, base64url), and Mosquitto 2's PBKDF2-SHA512 form for a Mosquitto export. Clear
 * passwords are never stored. Checking a password runs scrypt in libuv's thread pool: a flood of wrong passwords
 * must not stall the event loop that serves everyone else.
 */
import { pbkdf2Sync, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { b64uEncode, tryB64uDecode } from '../shared/crypto/bytes.js';

const SCRYPT = { N: 16384, r: 8, p: 1 } as const;
/** scrypt's memory is 128·N·r bytes; a stored hash asking for more than this is refused, not computed */
const SCRYPT_MAX_MEMORY = 64 * 1024 * 1024;

export function generatePassword(): string {
  return b64uEncode(randomBytes(24));
}

/** `scrypt$N$r$p$salt$hash` (base64url). */
export function scryptHash(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${b64uEncode(salt)}$${b64uEncode(hash)}`;
}

interface ScryptParams {
  N: number;
  r: number;
  p: number;
  salt: Uint8Array;
  expected: Uint8Array;
}

function parseScryptHash(stored: string): ScryptParams | undefined {
  const [tag, n, r, p, saltText, hashText] = stored.split('$');
  if (tag !== 'scrypt' || !saltText || !hashText) return undefined;
  const salt = tryB64uDecode(saltText);
  const expected = tryB64uDecode(hashText);
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (!salt || !expected || !Object.values(params).every((x) => Number.isInteger(x) && x > 0))
    return undefined;
  return { ...params, salt, expected };
}

/** Whether `password` matches the stored scrypt hash; computed off the event loop. */
export function verifyScryptHash(stored: string, password: string): Promise<boolean> {
  const params = parseScryptHash(stored);
  if (!params) return Promise.resolve(false);
  const { N, r, p, salt, expected } = params;
  return new Promise((resolve) => {
    scrypt(password, salt, expected.length, { N, r, p, maxmem: SCRYPT_MAX_MEMORY }, (error, actual) => {
      resolve(!error && timingSafeEqual(actual, expected));
    });
  });
}

/** The same check, blocking: for the admin CLI only, never in a server. */
export function verifyScryptHashSync(stored: string, password: string): boolean {
  const params = parseScryptHash(stored);
  if (!params) return false;
  const { N, r, p, salt, expected } = params;
  try {
    return timingSafeEqual(
      scryptSync(password, salt, expected.length, { N, r, p, maxmem: SCRYPT_MAX_MEMORY }),
      expected,
    );
  } catch {
    return false;
  }
}

/** Mosquitto 2 password-file hash: `$7$101$<b64 salt>$<b64 PBKDF2-SHA512(password, salt, 101)>`. */
export function mosquittoHash(
  password: string,
  salt: Uint8Array = randomBytes(12),
  iterations = 101,
): string {
  const hash = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${Buffer.from(salt).toString('base64')}$${hash.toString('base64')}`;
}
