/**
 * Secrets at rest: the master key file, root and vehicle keys sealed under it, and MQTT password hashes
 * (scrypt for our broker; Mosquitto's own PBKDF2-SHA512 form, computed when the password is created, for the
 * Mosquitto export). Clear passwords are never stored.
 */
import { pbkdf2Sync, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  AEAD_NONCE_BYTES,
  aeadOpen,
  aeadSeal,
  b64uEncode,
  tryB64uDecode,
  utf8ToBytes,
} from '../shared/index.js';

export const MASTER_KEY_FILE = 'master.key';
const SCRYPT = { N: 16384, r: 8, p: 1 } as const;

/** Writes a new file readable by its owner only; fails if it already exists. */
export function writePrivateFile(path: string, content: string | Uint8Array): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    if (typeof content === 'string') writeSync(fd, content);
    else writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

export function loadOrCreateMasterKey(dataDir: string): Uint8Array {
  const path = join(dataDir, MASTER_KEY_FILE);
  if (!existsSync(path)) writePrivateFile(path, b64uEncode(randomBytes(32)));
  const key = tryB64uDecode(readFileSync(path, 'utf8').trim(), 32);
  if (!key) throw new Error(`${path} is not a 32-byte base64url key`);
  return key;
}

function aad(purpose: string, id: string): Uint8Array {
  return utf8ToBytes(`evauth/cloud/${purpose}\u0000${id}`);
}

/** nonce || XChaCha20-Poly1305(master, nonce, secret, aad = purpose and id), so a blob cannot be moved. */
export function sealSecret(masterKey: Uint8Array, purpose: string, id: string, secret: Uint8Array): Buffer {
  const nonce = randomBytes(AEAD_NONCE_BYTES);
  return Buffer.concat([nonce, aeadSeal(masterKey, nonce, secret, aad(purpose, id))]);
}

export function openSecret(masterKey: Uint8Array, purpose: string, id: string, blob: Uint8Array): Uint8Array {
  const plain = aeadOpen(
    masterKey,
    blob.subarray(0, AEAD_NONCE_BYTES),
    blob.subarray(AEAD_NONCE_BYTES),
    aad(purpose, id),
  );
  if (!plain) throw new Error(`${purpose} of ${id} does not open with this master key`);
  return plain;
}

export function generatePassword(): string {
  return b64uEncode(randomBytes(24));
}

/** `scrypt$N$r$p$salt$hash` (base64url). */
export function scryptHash(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${b64uEncode(salt)}$${b64uEncode(hash)}`;
}

export function verifyScrypt(stored: string, password: string): boolean {
  const [tag, n, r, p, saltText, hashText] = stored.split('$');
  if (tag !== 'scrypt' || !saltText || !hashText) return false;
  const salt = tryB64uDecode(saltText);
  const expected = tryB64uDecode(hashText);
  if (!salt || !expected) return false;
  const actual = scryptSync(password, salt, expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected);
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
