/** The registry's record shapes, its typed error, and the checks a record passes before it is stored. */
import * as v from 'valibot';
import { isValidId } from '../shared/index.js';
import type { GrantScope } from './store/records.js';

export type { GrantScope, PileRow } from './store/records.js';

/** TOO_LARGE: a pile's control body would not fit (PROTOCOL §7); the unit of work is undone */
export type RegistryErrorCode = 'NOT_FOUND' | 'EXISTS' | 'INVALID' | 'NOT_INITIALISED' | 'TOO_LARGE';

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ConnectorSpec {
  id: number;
  maxW: number;
  kind?: string;
}

export interface PileSpec {
  gid?: string;
  site: string;
  name: string;
  address: string;
  lat: number;
  lon: number;
  connectors: ConnectorSpec[];
  pricePerKWh: string;
  currency: string;
  /**
   * PROTOCOL §8a: the public key of a signing key the operator made on the pile (SEC1 base64url or hex, or PEM);
   * without it the cloud makes the pile a key.
   */
  signKey?: string;
  /** the pile's charger is this OCPP station (cloud/ocpp-stations.ts); default: the simulator */
  ocppStation?: string;
}

export interface GrantSpec {
  scope: GrantScope;
  /** pid for scope pile, site name for scope site */
  target?: string;
  nbf?: number;
  exp?: number;
  maxWh?: number;
}

export function requireId(value: string, what: string): string {
  if (!isValidId(value)) {
    throw new RegistryError(
      'INVALID',
      `${what} ${JSON.stringify(value)} is not a valid id (^[A-Za-z0-9._-]{1,64}$)`,
    );
  }
  return value;
}

const ConnectorsSchema = v.pipe(
  v.array(
    v.object({
      id: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255)),
      maxW: v.pipe(v.number(), v.integer(), v.minValue(1)),
      kind: v.optional(v.string()),
    }),
  ),
  v.minLength(1),
  v.maxLength(64),
);

export function validatePileSpec(spec: PileSpec): void {
  const problems: string[] = [];
  if (!v.is(ConnectorsSchema, spec.connectors))
    problems.push('connectors must be 1-64 of {id 1-255, maxW > 0}');
  else if (new Set(spec.connectors.map((c) => c.id)).size !== spec.connectors.length)
    problems.push('connector ids repeat');
  if (!/^\d{1,12}(\.\d{1,6})?$/.test(spec.pricePerKWh))
    problems.push(`price ${JSON.stringify(spec.pricePerKWh)} is not a decimal`);
  if (!/^[A-Z]{3}$/.test(spec.currency))
    problems.push(`currency ${JSON.stringify(spec.currency)} is not ISO 4217`);
  if (!(Number.isFinite(spec.lat) && Math.abs(spec.lat) <= 90)) problems.push('lat must be within -90..90');
  if (!(Number.isFinite(spec.lon) && Math.abs(spec.lon) <= 180))
    problems.push('lon must be within -180..180');
  if (!spec.site || spec.site.length > 200) problems.push('site must be 1-200 characters');
  if (spec.name.length > 200 || spec.address.length > 400) problems.push('name or address too long');
  if (problems.length) throw new RegistryError('INVALID', problems.join('; '));
}
