/**
 * The piles' receipt signing keys (PROTOCOL §8a) in the registry: a P-256 key made by the cloud (its public key
 * in the registry, its private scalar sealed under the master key so every keystore export can carry it), or the
 * public key of one the operator made on the pile (nothing private kept). A pile registered before §8a gets one
 * when the registry opens; a new key means new credentials for every vehicle, issued by the service's next pass.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { parseOcmfPublicKey } from '../node/receipt-signing.js';
import {
  b64uDecode,
  checkP256PublicKey,
  compressedSignKey,
  signKeyOf,
  unixSeconds,
} from '../shared/index.js';
import { audit } from './audit.js';
import { RegistryError } from './registry-records.js';
import type { MasterKey } from './secrets.js';
import type { CloudTx } from './store/cloud-store.js';
import type { PileRow } from './store/records.js';

/** A pile's signing key as the registry stores it. */
export interface PileSigningKey {
  /** the public key, SEC1 compressed, base64url */
  signKey: string;
  /** the private scalar, where the cloud made the key (it goes into the keystore entry) */
  scalar?: Uint8Array;
}

/** A new P-256 key pair from OpenSSL. */
export function newPileSigningKey(): Required<PileSigningKey> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const scalar = b64uDecode(privateKey.export({ format: 'jwk' }).d!);
  return { signKey: signKeyOf(scalar), scalar };
}

/** An OpenSSL public key on P-256 as its uncompressed SEC1 point, or undefined on another curve. */
function p256Point(key: KeyObject): Uint8Array | undefined {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || !jwk.x || !jwk.y) return undefined;
  return new Uint8Array([4, ...b64uDecode(jwk.x), ...b64uDecode(jwk.y)]);
}

/**
 * The public key of a signing key the operator made (`--sign-key`): SEC1 in base64url or hex, compressed or not,
 * or PEM; it must be a point of P-256. Returns the signKey (compressed, base64url); a RegistryError naming `field`
 * otherwise.
 */
export function operatorSignKey(text: string, field = '--sign-key'): string {
  const fail = (problem: string) => new RegistryError('INVALID', `${field}: ${problem}`);
  const key = parseOcmfPublicKey(text);
  if (!key.ok) throw fail(key.message.slice(key.field.length + 2));
  const point = key.value instanceof Uint8Array ? key.value : p256Point(key.value);
  if (!point) throw fail('is not a P-256 public key (receipts are signed with ECDSA-secp256r1-SHA256)');
  const checked = checkP256PublicKey(point, { field });
  if (!checked.ok) throw fail(checked.message.slice(checked.field.length + 2));
  return compressedSignKey(checked.value);
}

/** Stores a pile's signing key in the caller's unit of work (the private scalar sealed, where there is one). */
export async function storeSigningKey(
  tx: CloudTx,
  masterKey: MasterKey,
  pid: string,
  key: PileSigningKey,
): Promise<void> {
  await tx.setSignKey(pid, key.signKey, key.scalar ? masterKey.sealPileSigningKey(pid, key.scalar) : null);
}

/** Gives `pile` the signing key `key` in the caller's unit of work, audited; what it was and is now. */
export async function rotatePileSignKey(
  tx: CloudTx,
  masterKey: MasterKey,
  pile: PileRow,
  key: PileSigningKey,
  nowMs: number,
): Promise<{ previous: string | null; current: string; made: boolean }> {
  await storeSigningKey(tx, masterKey, pile.pid, key);
  await audit(tx, 'cli', 'pile.sign-key', pile.pid, unixSeconds(nowMs), {
    previous: pile.sign_key,
    signKey: key.signKey,
    reason: 'rotation',
  });
  return { previous: pile.sign_key, current: key.signKey, made: key.scalar !== undefined };
}

/** The columns of a new pile's row for its signing key. */
export function signingKeyColumns(masterKey: MasterKey, pid: string, key: PileSigningKey) {
  return {
    sign_key: key.signKey,
    signing_key_sealed: key.scalar ? masterKey.sealPileSigningKey(pid, key.scalar) : null,
  };
}

/** Gives every pile registered before §8a a signing key; returns their ids. */
export async function giveMissingSigningKeys(
  tx: CloudTx,
  masterKey: MasterKey,
  nowMs: number,
): Promise<string[]> {
  const pids = await tx.pileIdsWithoutSignKey();
  for (const pid of pids) {
    const key = newPileSigningKey();
    await storeSigningKey(tx, masterKey, pid, key);
    await audit(tx, 'cli', 'pile.sign-key', pid, unixSeconds(nowMs), {
      signKey: key.signKey,
      reason: 'migration',
    });
  }
  return pids;
}
