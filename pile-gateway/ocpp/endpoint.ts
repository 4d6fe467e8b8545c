/**
 * The gateway as OCPP-J endpoint (CSMS role) for the stations of its site: ws://host:port/ocpp/{stationId}
 * (wss:// with TLS: security profile 2), subprotocols ocpp2.0.1 and ocpp1.6, HTTP Basic auth with the station's
 * password (security profile 1). Unknown stations and wrong passwords are refused at the upgrade, before a
 * WebSocket exists. ocpp-rpc's strict mode checks every CALL and CALLRESULT against the version's schema: a call
 * that fails is answered with the OCPP error (FormationViolation, TypeConstraintViolation, …) and never reaches
 * a handler.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { RPCServer } from 'ocpp-rpc';
import type { Logger } from 'pino';
import type { OcppConfig, PileConfig } from '../config.js';
import type { OcppConnection } from './protocol.js';
import { OcppStation } from './station.js';

export const OCPP_PROTOCOLS = ['ocpp2.0.1', 'ocpp1.6'];
/** No OCPP message of ours comes near this; a larger frame closes the connection. */
const MAX_FRAME_BYTES = 256 * 1024;
/** Malformed frames in a row before the station is disconnected. */
const MAX_BAD_MESSAGES = 20;
const ENDPOINT = /^\/ocpp\/([^/]{1,48})$/;

export interface OcppEndpoint {
  port: number;
  stations: ReadonlyMap<string, OcppStation>;
  close(): Promise<void>;
}

/** The stations of the config's OCPP piles, keyed by stationId; their chargers serve the piles' connectors. */
export function createStations(
  config: { ocpp?: OcppConfig; piles: readonly PileConfig[] },
  logger: Logger,
): Map<string, OcppStation> {
  const stations = new Map<string, OcppStation>();
  const ocpp = config.ocpp;
  if (!ocpp) return stations;
  for (const pile of config.piles) {
    if (pile.charger.kind !== 'ocpp') continue;
    stations.set(
      pile.charger.stationId,
      new OcppStation({
        stationId: pile.charger.stationId,
        password: pile.charger.password,
        pid: pile.pid,
        connectors: pile.connectors.map((c) => c.id),
        timings: ocpp,
        logger,
      }),
    );
  }
  return stations;
}

export async function startOcppEndpoint(options: {
  config: OcppConfig;
  /** the config file's folder: TLS paths are relative to it */
  baseDir: string;
  stations: Map<string, OcppStation>;
  logger: Logger;
}): Promise<OcppEndpoint> {
  const { config, stations } = options;
  const log = options.logger.child({ ocpp: true });
  const rpc = new RPCServer({
    protocols: OCPP_PROTOCOLS,
    strictMode: true,
    callTimeoutMs: config.startTimeoutMs,
    pingIntervalMs: 30_000,
    callConcurrency: 4,
    maxBadMessages: MAX_BAD_MESSAGES,
    respondWithDetailedErrors: false,
    wssOptions: { maxPayload: MAX_FRAME_BYTES },
  });
  rpc.auth((accept, reject, handshake) => {
    const match = ENDPOINT.exec(new URL(handshake.request.url ?? '/', 'http://gateway').pathname);
    const station = match ? stations.get(handshake.identity) : undefined;
    if (!station?.passwordMatches(handshake.password)) {
      log.warn(
        { identity: handshake.identity.slice(0, 48), from: handshake.remoteAddress },
        'refused a station',
      );
      reject(401, 'Unauthorized');
      return;
    }
    const protocol = OCPP_PROTOCOLS.find((p) => handshake.protocols.has(p));
    if (!protocol) {
      reject(400, `subprotocol must be one of ${OCPP_PROTOCOLS.join(', ')}`);
      return;
    }
    accept({ stationId: station.stationId }, protocol);
  });
  rpc.on('client', (client: OcppConnection) => {
    const station = stations.get(client.identity ?? '');
    if (!station) {
      void client.close({ code: 1008, force: true });
      return;
    }
    client.on('strictValidationFailure', (event: { method?: string; outbound?: boolean; error?: Error }) => {
      station.log.warn(
        { method: event.method, outbound: event.outbound, err: event.error?.message },
        'OCPP message failed schema validation',
      );
    });
    client.on('badMessage', (event: { error?: Error }) => {
      station.log.warn({ err: event.error?.message }, 'malformed OCPP frame');
    });
    station.attach(client);
  });
  rpc.on('error', (error: Error) => log.warn({ err: error.message }, 'OCPP server error'));

  const server = config.tls
    ? https.createServer({
        cert: fs.readFileSync(path.resolve(options.baseDir, config.tls.cert)),
        key: fs.readFileSync(path.resolve(options.baseDir, config.tls.key)),
        minVersion: 'TLSv1.2',
      })
    : http.createServer();
  server.on('request', (_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('OCPP-J endpoint: ws(s)://host:port/ocpp/{stationId}\n');
  });
  server.on('upgrade', rpc.handleUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, tls: !!config.tls, stations: stations.size }, 'OCPP endpoint listening');
  return {
    port,
    stations,
    async close() {
      await Promise.all([...stations.values()].map((s) => s.close()));
      await rpc.close({ force: true });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
