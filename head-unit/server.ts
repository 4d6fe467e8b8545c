/**
 * Serves the built head-unit app (head-unit/dist, built on first use if missing) and, only when the dev picker
 * is asked for, the demo vehicles' provisioning files so the picker can be any of them. Those files hold vehicle
 * keys and MQTT passwords: the picker is served on loopback only, and only to a request whose Host is this
 * server's own loopback name and port (a page reached through DNS rebinding names its own host) and whose
 * Origin, if any, is this server's. Node only; `npm start` calls it.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTENT_TYPES, readStaticFile } from '../node/static-files.js';
import { buildWithVite, newestSourceMtime } from '../node/vite-build.js';
import { parseVehicleProvisioning, type VehicleProvisioning } from '../shared/index.js';

export interface HeadUnitServerOptions {
  host?: string;
  /** 0 = any free port */
  port: number;
  /** the evauth data folder; the dev picker lists <dataDir>/provisioning/vehicles/*.json */
  dataDir: string;
  /** serve GET /dev/vehicles (every demo vehicle's keys) to this server's own origin; loopback hosts only */
  devPicker?: boolean;
  /** defaults to head-unit/dist beside this file */
  distDir?: string;
}

export interface HeadUnitServer {
  url: string;
  close(): Promise<void>;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const DEFAULT_DIST = join(HERE, 'dist');

let building: Promise<void> | undefined;

/** Newest modification time (ms) of the app's sources: head-unit/ (not dist), shared/ and the Vite configs. */
function newestSource(): Promise<number> {
  const root = join(HERE, '..');
  return newestSourceMtime(
    [HERE, join(root, 'shared')],
    [join(root, 'vite.config.ts'), join(root, 'vite.production.ts')],
  );
}

/**
 * The production build of the app into `distDir` (head-unit/dist unless told), with vite.config.ts as
 * `npm run build` uses it, whatever NODE_ENV says, swapped in whole (node/vite-build.ts).
 */
export function buildApp(distDir = DEFAULT_DIST): Promise<void> {
  return buildWithVite(join(HERE, '..', 'vite.config.ts'), distDir);
}

/** Runs `vite build` (once per process at a time) when the app is not built or its sources are newer. */
export async function ensureBuilt(distDir = DEFAULT_DIST): Promise<void> {
  const built = await stat(join(distDir, 'index.html')).catch(() => undefined);
  if (built && (distDir !== DEFAULT_DIST || built.mtimeMs >= (await newestSource()))) return;
  if (distDir !== DEFAULT_DIST) return buildApp(distDir);
  building ??= buildApp(DEFAULT_DIST).finally(() => {
    building = undefined;
  });
  await building;
}

/** Reads every valid vehicle provisioning file; invalid ones are skipped, never served half-read. */
export async function listDemoVehicles(
  dataDir: string,
): Promise<{ vid: string; provisioning: VehicleProvisioning }[]> {
  const folder = join(dataDir, 'provisioning', 'vehicles');
  let names: string[];
  try {
    names = (await readdir(folder)).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const vehicles: { vid: string; provisioning: VehicleProvisioning }[] = [];
  for (const name of names) {
    try {
      const parsed = parseVehicleProvisioning(JSON.parse(await readFile(join(folder, name), 'utf8')));
      if (parsed.ok) vehicles.push({ vid: parsed.value.vid, provisioning: parsed.value });
    } catch {
      // unreadable or not JSON: not a demo vehicle
    }
  }
  return vehicles;
}

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

/** The Host header values under which this server is itself: its loopback names with its port. */
function ownHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

/**
 * Whether a request comes from the head unit's own page: its Host is one of ours, an Origin (browsers send one
 * on cross-origin fetches) names one of ours, and a browser's Sec-Fetch-Site does not say cross-site.
 */
function fromOwnOrigin(req: IncomingMessage, hosts: Set<string>): boolean {
  const host = req.headers.host?.toLowerCase();
  if (!host || !hosts.has(host)) return false;
  const origin = req.headers.origin;
  if (origin !== undefined && !hosts.has(origin.toLowerCase().replace(/^http:\/\//, ''))) return false;
  const site = req.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin' || site === 'none';
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

/** A file of the built app; unknown paths without an extension are app routes: the app itself. */
async function serveStatic(distDir: string, urlPath: string, res: ServerResponse): Promise<void> {
  const file = await readStaticFile(distDir, urlPath, { index: 'index.html' });
  if (file) send(res, 200, file.type, file.body);
  else send(res, 404, 'text/plain', 'not found');
}

export async function startHeadUnitServer(options: HeadUnitServerOptions): Promise<HeadUnitServer> {
  const distDir = options.distDir ?? DEFAULT_DIST;
  const host = options.host ?? '127.0.0.1';
  if (options.devPicker && !LOOPBACK_HOSTS.includes(host)) {
    throw new Error(`the dev picker serves vehicle keys: loopback only, not on ${host}`);
  }
  await ensureBuilt(distDir);
  let hosts = new Set<string>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain', 'method not allowed');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://head-unit').pathname;
    if (path === '/dev/vehicles') {
      if (!options.devPicker) {
        send(res, 404, 'text/plain', 'not found');
        return;
      }
      if (!fromOwnOrigin(req, hosts)) {
        send(res, 403, 'text/plain', 'the dev picker answers its own origin only');
        return;
      }
      send(res, 200, CONTENT_TYPES['.json']!, JSON.stringify(await listDemoVehicles(options.dataDir)));
      return;
    }
    await serveStatic(distDir, path, res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  hosts = ownHosts(port);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
