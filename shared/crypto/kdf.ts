/** Key hierarchy of PROTOCOL §2. HKDF is HKDF-SHA256 with 32 bytes of output. */
import { cryptoBackend } from './backend.js';
import { u32be, utf8ToBytes } from './bytes.js';
import { LABEL } from './labels.js';
import { labelPrefix, type MacKeyInput, mac } from './mac.js';

const EMPTY = new Uint8Array(0);

/** INFO(label, id) = utf8(label) || 0x00 || utf8(id) */
export function info(label: string, id: string | Uint8Array): Uint8Array {
  const prefix = labelPrefix(label);
  const idBytes = typeof id === 'string' ? utf8ToBytes(id) : id;
  const out = new Uint8Array(prefix.length + idBytes.length);
  out.set(prefix);
  out.set(idBytes, prefix.length);
  return out;
}

export function hkdf32(ikm: Uint8Array, salt: Uint8Array, infoBytes: Uint8Array): Uint8Array {
  return cryptoBackend().hkdfSha256(ikm, salt, infoBytes);
}

function assertKey(key: Uint8Array, name: string): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new TypeError(
      `${name}: expected 32 bytes, got ${key instanceof Uint8Array ? key.length : typeof key}`,
    );
  }
}

/** TK = HKDF(RK, u32be(off), INFO("evauth/v1/ticket-key", pid)) */
export function deriveTicketKey(rootKey: Uint8Array, keyOffset: number, pid: string): Uint8Array {
  assertKey(rootKey, 'root key');
  return hkdf32(rootKey, u32be(keyOffset), info(LABEL.ticketKey, pid));
}

/** AK = MAC(TK, "evauth/v1/auth-key", T) over the ticket's exact bytes. */
export function deriveAuthKey(ticketKey: MacKeyInput, ticketBytes: Uint8Array): Uint8Array {
  return mac(ticketKey, LABEL.authKey, ticketBytes);
}

/** CK = HKDF(RK, empty, INFO("evauth/v1/control-key", pid)) */
export function deriveControlKey(rootKey: Uint8Array, pid: string): Uint8Array {
  assertKey(rootKey, 'root key');
  return hkdf32(rootKey, EMPTY, info(LABEL.controlKey, pid));
}

/** SEAL = HKDF(KV, empty, INFO("evauth/v1/seal-key", vid)) */
export function deriveSealKey(vehicleKey: Uint8Array, vid: string): Uint8Array {
  assertKey(vehicleKey, 'vehicle key');
  return hkdf32(vehicleKey, EMPTY, info(LABEL.sealKey, vid));
}

/** VMK = HKDF(KV, empty, INFO("evauth/v1/vehicle-mac-key", vid)) */
export function deriveVehicleMacKey(vehicleKey: Uint8Array, vid: string): Uint8Array {
  assertKey(vehicleKey, 'vehicle key');
  return hkdf32(vehicleKey, EMPTY, info(LABEL.vehicleMacKey, vid));
}

/** SK = HKDF(AK, r1 || r3, utf8("evauth/v1/session-key") || 0x00 || sid) */
export function deriveSessionKey(
  authKey: Uint8Array,
  r1: Uint8Array,
  r3: Uint8Array,
  sid: Uint8Array,
): Uint8Array {
  const salt = new Uint8Array(r1.length + r3.length);
  salt.set(r1);
  salt.set(r3, r1.length);
  return hkdf32(authKey, salt, info(LABEL.sessionKey, sid));
}
