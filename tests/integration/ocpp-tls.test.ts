/**
 * What `evauth-cloud gateway export` writes for an OCPP pile, served by the real gateway with TLS (security
 * profile 2): the registry makes the station's password, the export puts the endpoint (with its certificate and
 * key) and the pile's charger into the config, and a station given that password and trusting the CA connects
 * over wss:// and charges a car. Plain ws:// to the TLS port, or wss:// without trusting the CA, gets nowhere.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RPCClient } from 'ocpp-rpc';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { writeGatewayExport } from '../../cloud/export.js';
import { openRegistry } from '../../cloud/registry.js';
import { loadGatewayConfig } from '../../pile-gateway/config.js';
import { removeTempDirs, type TestPile, tempDir } from '../../pile-gateway/testkit.js';
import { b64uDecode } from '../../shared/index.js';
import { OcppSystem } from '../support/ocpp-system.js';
import { testPileSpec } from '../support/pile-spec.js';
import { makeCertificate } from '../support/tls.js';

let system: OcppSystem | undefined;

afterEach(async () => {
  await system?.close();
  system = undefined;
});
afterAll(() => removeTempDirs());

/** Registers gateway G-T with OCPP pile T1 and exports it with a TLS endpoint; returns the exported files. */
async function exportOcppGateway() {
  const dataDir = tempDir('ocpp-export');
  const outDir = path.join(dataDir, 'gateway');
  const registry = await openRegistry(dataDir);
  try {
    await registry.init();
    await registry.addGateway('G-T', {});
    await registry.addPile('T1', testPileSpec({ gid: 'G-T', ocppStation: 'CS-TLS' }));
    await writeGatewayExport(registry, 'G-T', {
      mqttUrl: 'mqtt://127.0.0.1:1883',
      outDir,
      ocpp: { port: 9443, tls: { cert: 'cert.pem', key: 'key.pem' } },
    });
  } finally {
    await registry.close();
  }
  const read = (file: string) => JSON.parse(readFileSync(path.join(outDir, file), 'utf8'));
  return { outDir, config: read('config.json'), keystore: read('keystore.json') };
}

describe('OCPP over TLS (security profile 2), as exported by the cloud', () => {
  it('a station with the exported password and the CA charges over wss://; ws:// and an untrusted CA fail', async () => {
    const { outDir, config, keystore } = await exportOcppGateway();
    expect(config.ocpp).toEqual({
      host: '127.0.0.1',
      port: 9443,
      tls: { cert: 'cert.pem', key: 'key.pem' },
    });
    const charger = config.piles[0].charger;
    expect(charger).toMatchObject({ kind: 'ocpp', stationId: 'CS-TLS' });
    // the gateway takes the exported files as they are
    expect(loadGatewayConfig(path.join(outDir, 'config.json')).config.piles[0]?.charger).toEqual(charger);
    // The exported pile (key, connectors, charger) behind a gateway on the test broker, TLS from the export's
    // folder; only the port is a free one.
    const { certPath, keyPath, ca } = makeCertificate(outDir);
    const pile: TestPile = {
      pid: 'T1',
      rootKey: b64uDecode(keystore.piles[0].rootKey),
      keyOffset: keystore.piles[0].keyOffset,
      connectors: config.piles[0].connectors,
      charger,
    };
    system = await new OcppSystem([pile], { tls: { cert: certPath, key: keyPath } }).start();
    expect(system.endpoint).toMatch(/^wss:/);

    const station = await system.station('CS-TLS', 'ocpp2.0.1', { password: charger.password, ca });
    const car = await system.vehicle('car-t1', pile);
    await station.plug(1);
    const outcome = await car.authenticate('T1', 1);
    if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
    while ((outcome.session.lastMeter?.reading.wh ?? 0) < 10) await outcome.session.once('meter');
    const receipt = await outcome.session.stop();
    const tx = station.ended[0]!;
    expect(receipt.receipt.wh).toBe(tx.endRegister - tx.startRegister);

    const attempt = async (endpoint: string, wsOpts: Record<string, unknown> = {}) => {
      const client = new RPCClient({
        endpoint,
        identity: 'CS-TLS',
        password: charger.password,
        protocols: ['ocpp2.0.1'],
        reconnect: false,
        wsOpts,
      } as ConstructorParameters<typeof RPCClient>[0]);
      try {
        await client.connect();
        return 'connected';
      } catch (error) {
        return (error as Error).message;
      } finally {
        await client.close({ force: true }).catch(() => undefined);
      }
    };
    const port = system.gateway.ocppPort;
    expect(await attempt(`ws://127.0.0.1:${port}/ocpp`)).not.toBe('connected');
    expect(await attempt(`wss://127.0.0.1:${port}/ocpp`)).toMatch(/self[- ]signed|certificate/i);
    // the control: with the CA trusted the same attempt gets through
    expect(await attempt(`wss://127.0.0.1:${port}/ocpp`, { ca })).toBe('connected');
  });
});
