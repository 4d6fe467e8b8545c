/**
 * OCMF's signature algorithms (SA, OCMF 1.4.1 table 22): curve and hash per name. The spec's own names come first;
 * the aliases are spellings other implementations write (brainpool curves with RFC 5639's "P", and the
 * 384-bit curves with SHA-384), accepted on reading only. We sign with ECDSA-secp256r1-SHA256 alone (§8a).
 */

/** OCMF's curve names (table 23). */
export type OcmfCurve =
  | 'secp256r1'
  | 'secp256k1'
  | 'secp384r1'
  | 'secp192r1'
  | 'secp192k1'
  | 'brainpool256r1'
  | 'brainpool384r1';

export type OcmfHash = 'SHA-256' | 'SHA-384';

export interface OcmfAlgorithm {
  /** the name as written in SA */
  name: string;
  /** the spec's name for the same curve and hash; differs from `name` for an alias, absent where the spec has none */
  specName?: string;
  curve: OcmfCurve;
  hash: OcmfHash;
}

/** §8a: what an evauth pile signs with, and what an OCMF record without SA means (the spec's default). */
export const RECEIPT_SIGNATURE_ALGORITHM = 'ECDSA-secp256r1-SHA256';

const SPEC: readonly [string, OcmfCurve][] = [
  ['ECDSA-secp192k1-SHA256', 'secp192k1'],
  ['ECDSA-secp256k1-SHA256', 'secp256k1'],
  ['ECDSA-secp192r1-SHA256', 'secp192r1'],
  ['ECDSA-secp256r1-SHA256', 'secp256r1'],
  ['ECDSA-brainpool256r1-SHA256', 'brainpool256r1'],
  ['ECDSA-secp384r1-SHA256', 'secp384r1'],
  ['ECDSA-brainpool384r1-SHA256', 'brainpool384r1'],
];

const ALIASES: readonly OcmfAlgorithm[] = [
  {
    name: 'ECDSA-brainpoolP256r1-SHA256',
    specName: 'ECDSA-brainpool256r1-SHA256',
    curve: 'brainpool256r1',
    hash: 'SHA-256',
  },
  {
    name: 'ECDSA-brainpoolP384r1-SHA256',
    specName: 'ECDSA-brainpool384r1-SHA256',
    curve: 'brainpool384r1',
    hash: 'SHA-256',
  },
  { name: 'ECDSA-secp384r1-SHA384', curve: 'secp384r1', hash: 'SHA-384' },
  { name: 'ECDSA-brainpool384r1-SHA384', curve: 'brainpool384r1', hash: 'SHA-384' },
  { name: 'ECDSA-brainpoolP384r1-SHA384', curve: 'brainpool384r1', hash: 'SHA-384' },
];

const BY_NAME = new Map<string, OcmfAlgorithm>();
for (const [name, curve] of SPEC) BY_NAME.set(name, { name, specName: name, curve, hash: 'SHA-256' });
for (const alias of ALIASES) BY_NAME.set(alias.name, alias);

/** The algorithm an SA value names, or undefined for a name OCMF does not define. */
export function ocmfAlgorithm(name: string): OcmfAlgorithm | undefined {
  return BY_NAME.get(name);
}

/** Every SA value the parser accepts (spec names and aliases). */
export function ocmfAlgorithmNames(): string[] {
  return [...BY_NAME.keys()];
}
