/** Test support for the cloud tests: a valid pile as the registry takes it. Not used in production code. */
import type { PileSpec } from '../../cloud/registry-records.js';

export function testPileSpec(overrides: Partial<PileSpec> = {}): PileSpec {
  return {
    site: 'A',
    name: 'pile',
    address: 'street 1',
    lat: 50,
    lon: 7,
    connectors: [{ id: 1, maxW: 22000 }],
    pricePerKWh: '0.40',
    currency: 'EUR',
    ...overrides,
  };
}
