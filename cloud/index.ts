/** The evauth cloud: the registry (its store: SQLite, or PostgreSQL for several instances), the credential service, exports and the demo seed. */

import { writeGatewayExport } from './export.js';
import { openRegistry } from './registry.js';

export { DEFAULT_TICKET_LIFE_SECONDS } from './issuer.js';
export { exportMosquitto, type MosquittoExportOptions } from './mosquitto.js';
export { reconcile } from './reconcile.js';
export { type GrantSpec, openRegistry, type PileSpec, Registry, RegistryError } from './registry.js';
export { type DemoSummary, seedDemo } from './seed.js';
export { type CloudService, type CloudServiceOptions, startCloudService } from './service.js';

/** Writes <outDir>/config.json and keystore.json for gateway `gid` (docs/architecture.md). */
export async function exportGateway(
  dataDir: string,
  gid: string,
  options: {
    mqttUrl: string | readonly string[];
    outDir: string;
    httpPort?: number;
    meterIntervalMs?: number;
  },
): Promise<void> {
  const registry = await openRegistry(dataDir);
  try {
    await writeGatewayExport(registry, gid, options);
  } finally {
    await registry.close();
  }
}
