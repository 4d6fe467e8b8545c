/**
 * `npm start`: the whole evauth system on loopback with demo data — broker (TCP + WebSocket), cloud credential
 * service and the demo pile gateway, each its own process as in production (scripts/system.ts), and the
 * head-unit server. The first run seeds the data folder (two sites, six piles, three vehicles); later runs reuse
 * it. Ports and folder come from the environment so two copies can run side by side: EVAUTH_DATA_DIR (.evauth),
 * EVAUTH_MQTT_PORT (1883), EVAUTH_WS_PORT (8083), EVAUTH_HTTP_PORT (8080), EVAUTH_GATEWAY_HTTP_PORT (0 = any free
 * port). Ctrl-C stops everything cleanly.
 *
 * The head unit serves no vehicle key by default: the driver pairs it by pasting a vehicle's provisioning file in
 * Settings. `--dev-picker` (or EVAUTH_DEV_PICKER=1) adds the demo picker, which hands any demo vehicle's keys to
 * the head unit's own page on loopback (head-unit/server.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { startHeadUnitServer } from '../head-unit/server.js';
import { startDemoSystem } from './system.js';

function port(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`npm start: ${name} must be a port number 0-65535, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

type Closer = { name: string; close(): Promise<void> };

function startOptions(): { devPicker: boolean } {
  const program = new Command('npm start')
    .description('the whole evauth system on loopback with demo data')
    .option(
      '--dev-picker',
      'serve the demo vehicle picker to the head unit (also EVAUTH_DEV_PICKER=1)',
      false,
    )
    .parse(process.argv);
  const flag = program.opts<{ devPicker: boolean }>().devPicker;
  const env = process.env.EVAUTH_DEV_PICKER;
  return { devPicker: flag || env === '1' || env === 'true' };
}

async function main(): Promise<void> {
  const { devPicker } = startOptions();
  const started = Date.now();
  const dataDir = path.resolve(process.env.EVAUTH_DATA_DIR || '.evauth');
  const host = '127.0.0.1';
  const mqttPort = port('EVAUTH_MQTT_PORT', 1883);
  const wsPort = port('EVAUTH_WS_PORT', 8083);
  const httpPort = port('EVAUTH_HTTP_PORT', 8080);
  const gatewayHttpPort = port('EVAUTH_GATEWAY_HTTP_PORT', 0);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const closers: Closer[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    for (const c of closers.reverse()) {
      await c.close().catch((error: unknown) => console.error(`  ${c.name}: ${(error as Error).message}`));
    }
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  process.once('SIGHUP', () => void stop(0));

  try {
    const system = await startDemoSystem({
      dataDir,
      host,
      ports: { mqtt: mqttPort, ws: wsPort, gatewayHttp: gatewayHttpPort },
    });
    closers.push({ name: 'services', close: () => system.close() });
    const { mqttUrl, wsUrl } = system;
    const headUnitUrl = await startHeadUnit(host, httpPort, dataDir, devPicker, closers);

    const vehicles = fs
      .readdirSync(path.join(dataDir, 'provisioning', 'vehicles'))
      .filter((f) => f.endsWith('.json'));
    console.log(`evauth is running (ready in ${Date.now() - started} ms), data folder ${dataDir}`);
    console.log(`  demo data      ${system.created ? 'created' : 'reused'}`);
    console.log(`  head unit      ${headUnitUrl}`);
    console.log(`  MQTT broker    ${mqttUrl}   WebSocket ${wsUrl}`);
    for (const { gid, httpUrl, operatorToken } of system.gateways) {
      console.log(`  gateway ${gid.padEnd(6)} ${httpUrl}/healthz  ${httpUrl}/metrics`);
      // The page takes the token once from the address and keeps it in the tab (docs/gateway.md).
      console.log(`  operator page  ${httpUrl}/operator/?token=${encodeURIComponent(operatorToken)}`);
    }
    console.log(
      `  vehicles       ${vehicles.map((f) => path.join(dataDir, 'provisioning', 'vehicles', f)).join('\n                 ')}`,
    );
    console.log(
      devPicker
        ? '  pair           Settings → Demo vehicles (the dev picker, on this machine only)'
        : '  pair           Settings → paste a vehicle file above (or restart with: npm start -- --dev-picker)',
    );
    console.log('  try: npx tsx head-unit/cli/main.ts -p <vehicle file> --pile <pid> -s 5');
    console.log('Ctrl-C to stop.');
  } catch (error) {
    console.error(`npm start: ${(error as Error).message}`);
    await stop(1);
  }
}

async function startHeadUnit(
  host: string,
  port: number,
  dataDir: string,
  devPicker: boolean,
  closers: Closer[],
) {
  const server = await startHeadUnitServer({ host, port, dataDir, devPicker });
  closers.push({ name: 'head unit', close: () => server.close() });
  return server.url;
}

void main();
