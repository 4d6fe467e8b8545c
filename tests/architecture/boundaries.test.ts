/**
 * The import boundaries of docs/architecture.md, as `npm run lint` enforces them (Biome noRestrictedImports,
 * biome.json): a party never imports another party, node/ imports no party, shared/ imports nothing outside
 * shared/ (its tests may read the protocol's vectors), and the cloud reaches SQLite only in cloud/store/. Each
 * rule is shown to fail on a deliberate crossing, written for a moment into the tree as a probe file and linted
 * like any other.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../node/child-process.js';

const BIOME = join(ROOT, 'node_modules/.bin/biome');

/** Lints `source` as if it were the file at `path` (relative to the root); the restricted imports it reports. */
function restrictedImports(path: string, source: string): number {
  const file = join(ROOT, path.replace(/(\.test)?\.ts$/, `-boundary-probe-${process.pid}$1.ts`));
  // the first folder this call creates, if any, so it leaves the tree as it found it
  const createdDir = mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, `${source}\nexport const used = [probe].length;\n`);
    const run = spawnSync(BIOME, ['lint', '--max-diagnostics=50', file], { cwd: ROOT, encoding: 'utf8' });
    return (run.stdout + run.stderr).split('lint/style/noRestrictedImports').length - 1;
  } finally {
    rmSync(createdDir ?? file, { recursive: true, force: true });
  }
}

describe('import boundaries (npm run lint)', () => {
  it.each([
    ['cloud/probe.ts', "import { startBroker as probe } from '../broker/server.js';"],
    ['cloud/store/probe.ts', "import { startGateway as probe } from '../../pile-gateway/gateway.js';"],
    ['cloud/probe.ts', "import probe from 'better-sqlite3';"],
    ['broker/probe.ts', "import { openRegistry as probe } from '../cloud/registry.js';"],
    ['pile-gateway/probe.ts', "import { VehicleClient as probe } from '../head-unit/vehicle/client.js';"],
    ['head-unit/ui/probe.ts', "import { PileRuntime as probe } from '../../pile-gateway/pile.js';"],
    ['cloud/probe.test.ts', "import { LoginView as probe } from '../broker/login-view.js';"],
    ['cloud/probe.ts', "import { testPileSpec as probe } from '../tests/support/pile-spec.js';"],
    ['node/probe.ts', "import { Registry as probe } from '../cloud/registry.js';"],
    ['shared/probe.ts', "import { ROOT as probe } from '../node/child-process.js';"],
    ['shared/crypto/probe.ts', "import probe from 'pino';"],
    ['shared/crypto/probe.test.ts', "import { waitFor as probe } from '../../tests/support/mqtt.js';"],
  ])('refuses %s importing across a boundary', (path, source) => {
    expect(restrictedImports(path, source)).toBe(1);
  });

  it.each([
    ['pile-gateway/probe.ts', "import { connectMqtt as probe } from '../node/mqtt-client.js';"],
    ['cloud/probe.ts', "import { topics as probe } from '../shared/index.js';"],
    ['cloud/store/probe.ts', "import probe from 'better-sqlite3';"],
    [
      'shared/crypto/probe.test.ts',
      "import probe from '../../tests/vectors/evauth-v1.json' with { type: 'json' };",
    ],
    ['cloud/probe.test.ts', "import { testPileSpec as probe } from '../tests/support/pile-spec.js';"],
    ['tests/integration/probe.test.ts', "import { openRegistry as probe } from '../../cloud/registry.js';"],
  ])('allows %s its own kind of import', (path, source) => {
    expect(restrictedImports(path, source)).toBe(0);
  });
});
