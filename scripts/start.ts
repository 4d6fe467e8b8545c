/**
 * `npm start`: the whole evauth system on loopback with demo data — broker (TCP + WebSocket), cloud credential
 * service, one pile gateway and the head-unit server. The first run seeds the data folder (two sites, six piles,
 * three vehicles); later runs reuse it. Ports and folder come from the environment so two copies can run side by
 * side: EVAUTH_DATA_DIR (.evauth), EVAUTH_MQTT_PORT (1883), EVAUTH_WS_PORT (8083), EVAUTH_HTTP_PORT (8080),
 * EVAUTH_GATEWAY_HTTP_PORT (0 = any free port). Ctrl-C stops everything cleanly.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { LoginView, startBroker } from '../broker/index.js';
import { exportGateway, openRegistry, seedDemo, startCloudService } from '../cloud/index.js';
import { startGateway } from '../pile-gateway/index.js';

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

async function main(): Promise<void> {
  const started = Date.now();
  const dataDir = path.resolve(process.env.EVAUTH_DATA_DIR || '.evauth');
  const host = '127.0.0.1';
  const mqttPort = port('EVAUTH_MQTT_PORT', 1883);
  const wsPort = port('EVAUTH_WS_PORT', 8083);
  const httpPort = port('EVAUTH_HTTP_PORT', 8080);
  const gatewayHttpPort = port('EVAUTH_GATEWAY_HTTP_PORT', 0);
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
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

  try {
    const registry = await openRegistry(dataDir);
    closers.push({ name: 'registry', close: () => registry.close() });
    const broker = await startBroker({
      host,
      mqttPort,
      wsPort,
      logins: new LoginView(path.join(dataDir, 'cloud.db')),
      logger: logger.child({ component: 'broker' }),
    });
    closers.push({ name: 'broker', close: () => broker.close() });
    const mqttUrl = `mqtt://${host}:${broker.mqttPort}`;
    const wsUrl = `ws://${host}:${broker.wsPort}/mqtt`;

    // Idempotent: creates the demo on first run, refreshes broker URLs in the provisioning files afterwards.
    const demo = await seedDemo(dataDir, { mqttUrl, wsUrl, gatewayHttpPort });
    const cloud = await startCloudService({ dataDir, mqttUrl, logger: logger.child({ component: 'cloud' }) });
    closers.push({ name: 'cloud', close: () => cloud.close() });

    const gids = demoGateways(demo, dataDir);
    const gatewayUrls: string[] = [];
    for (const gid of gids) {
      const outDir = path.join(dataDir, 'gateways', gid);
      // A reading every second makes the demo lively; the protocol asks for at least one per 5 s.
      await exportGateway(dataDir, gid, {
        mqttUrl,
        outDir,
        httpPort: gatewayHttpPort,
        meterIntervalMs: 1000,
      });
      const gateway = await startGateway(path.join(outDir, 'config.json'), {
        logger: logger.child({ component: 'gateway' }),
      });
      closers.push({ name: `gateway ${gid}`, close: () => gateway.close() });
      await gateway.ready;
      gatewayUrls.push(`http://${host}:${gateway.httpPort}`);
    }

    const headUnitUrl = await startHeadUnit(host, httpPort, dataDir, closers);

    const vehicles = fs
      .readdirSync(path.join(dataDir, 'provisioning', 'vehicles'))
      .filter((f) => f.endsWith('.json'));
    const created = (demo as { created?: boolean }).created;
    console.log(`evauth is running (ready in ${Date.now() - started} ms), data folder ${dataDir}`);
    console.log(`  demo data      ${created ? 'created' : 'reused'}`);
    console.log(`  head unit      ${headUnitUrl ?? '(head-unit/server.ts not available)'}`);
    console.log(`  MQTT broker    ${mqttUrl}   WebSocket ${wsUrl}`);
    for (const [i, gid] of gids.entries()) {
      console.log(`  gateway ${gid.padEnd(6)} ${gatewayUrls[i]}/healthz  ${gatewayUrls[i]}/metrics`);
    }
    console.log(
      `  vehicles       ${vehicles.map((f) => path.join(dataDir, 'provisioning', 'vehicles', f)).join('\n                 ')}`,
    );
    console.log('  try: npx tsx head-unit/cli/main.ts -p <vehicle file> --pile <pid> -s 5');
    console.log('Ctrl-C to stop.');
  } catch (error) {
    console.error(`npm start: ${(error as Error).message}`);
    await stop(1);
  }
}

/** The gateway ids of the demo: from the summary if it lists them, else the exported gateway folders. */
function demoGateways(demo: unknown, dataDir: string): string[] {
  const listed = (demo as { gateways?: unknown }).gateways;
  if (Array.isArray(listed) && listed.length > 0) {
    return listed.map((g) => (typeof g === 'string' ? g : (g as { gid: string }).gid));
  }
  const dir = path.join(dataDir, 'gateways');
  return fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((d) => fs.statSync(path.join(dir, d)).isDirectory())
    : [];
}

async function startHeadUnit(host: string, port: number, dataDir: string, closers: Closer[]) {
  const serverFile = new URL('../head-unit/server.ts', import.meta.url);
  if (!fs.existsSync(serverFile)) return undefined; // TODO: head-unit/server.ts not present in this checkout
  const { startHeadUnitServer } = (await import(serverFile.href)) as {
    startHeadUnitServer(options: {
      host: string;
      port: number;
      dataDir: string;
      dev: boolean;
    }): Promise<{ url: string; close(): Promise<void> }>;
  };
  const server = await startHeadUnitServer({ host, port, dataDir, dev: true });
  closers.push({ name: 'head unit', close: () => server.close() });
  return server.url;
}

void main();
