/**
 * Secrets at rest: the master key file and the root and vehicle keys sealed under it. (MQTT password hashes are
 * node/password-hash.ts: the broker checks them too.)
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  AEAD_NONCE_BYTES,
  aeadOpen,
  aeadSeal,
  b64uEncode,
  tryB64uDecode,
  utf8Decode,
  utf8ToBytes,
} from '../shared/index.js';

export const MASTER_KEY_FILE = 'master.key';

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

/** The master key and what it seals: vehicle keys, pile root keys, signing keys and station passwords, each bound to its owner's id. */
export class MasterKey {
  constructor(private readonly key: Uint8Array) {}

  static loadOrCreate(dataDir: string): MasterKey {
    return new MasterKey(loadOrCreateMasterKey(dataDir));
  }

  sealVehicleKey(vid: string, vehicleKey: Uint8Array): Buffer {
    return sealSecret(this.key, 'vehicle-key', vid, vehicleKey);
  }

  openVehicleKey(vid: string, sealed: Uint8Array): Uint8Array {
    return openSecret(this.key, 'vehicle-key', vid, sealed);
  }

  sealPileRootKey(pid: string, rootKey: Uint8Array): Buffer {
    return sealSecret(this.key, 'pile-root-key', pid, rootKey);
  }

  openPileRootKey(pid: string, sealed: Uint8Array): Uint8Array {
    return openSecret(this.key, 'pile-root-key', pid, sealed);
  }

  /** PROTOCOL §8a: a pile's P-256 private scalar, kept (sealed) only to write it into keystore exports. */
  sealPileSigningKey(pid: string, scalar: Uint8Array): Buffer {
    return sealSecret(this.key, 'pile-signing-key', pid, scalar);
  }

  openPileSigningKey(pid: string, sealed: Uint8Array): Uint8Array {
    return openSecret(this.key, 'pile-signing-key', pid, sealed);
  }

  /** The HTTP Basic password of the OCPP station behind pile `pid`. */
  sealStationPassword(pid: string, password: string): Buffer {
    return sealSecret(this.key, 'ocpp-station-password', pid, utf8ToBytes(password));
  }

  openStationPassword(pid: string, sealed: Uint8Array): string {
    return utf8Decode(openSecret(this.key, 'ocpp-station-password', pid, sealed));
  }
}
