/**
 * Test helpers for the gateway and the vehicle client: a gateway folder (config + 0600 keystore), and the
 * cloud's two signing acts (sealed credential, pile.control) done directly with shared/, for tests that run
 * before or without the cloud service. Not used in production code.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import {
  b64uEncode,
  buildPileControl,
  type ControlBody,
  deriveAuthKey,
  deriveControlKey,
  deriveSealKey,
  deriveTicketKey,
  issueTicket,
  sealCredential,
  secureRandom,
  signKeyOf,
  VehicleHandshake,
  type VehicleProvisioning,
} from '../shared/index.js';
import { issueTestCredential } from '../shared/testing.js';

export interface TestPile {
  pid: string;
  rootKey: Uint8Array;
  keyOffset: number;
  connectors: { id: number; maxW: number }[];
  /** PROTOCOL §8a: the receipt signing key (a P-256 scalar); undefined for a keystore from before it */
  signingKey?: Uint8Array;
  /** an OCPP station behind the pile instead of the simulator */
  charger?: { kind: 'ocpp'; stationId: string; password: string };
}

export function makePile(pid: string, connectors = 2, maxW = 150_000): TestPile {
  return {
    pid,
    rootKey: secureRandom(32),
    keyOffset: 0,
    connectors: Array.from({ length: connectors }, (_, i) => ({ id: i + 1, maxW })),
    signingKey: p256.utils.randomSecretKey(),
  };
}

const created: string[] = [];

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `evauth-${prefix}-`));
  created.push(dir);
  return dir;
}

/** Removes every folder tempDir() made in this process (call from afterAll). */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes config.json and keystore.json (0600) for a gateway; returns the config path. */
export function writeGatewayFolder(
  dir: string,
  options: {
    gid: string;
    mqttUrl: string;
    username?: string;
    password: string;
    piles: TestPile[];
    meterIntervalMs?: number;
    rampMs?: number;
    httpPort?: number;
    /** the operator side's bearer token (http.token); a random one unless given, see operatorToken() */
    httpToken?: string;
    /** the OCPP endpoint's settings (port 0: any) */
    ocpp?: Record<string, unknown>;
    /** PROTOCOL §6 migration switch: serve requests without mac */
    acceptRevision1Requests?: boolean;
  },
): string {
  fs.mkdirSync(dir, { recursive: true });
  const keystore = path.join(dir, 'keystore.json');
  fs.writeFileSync(
    keystore,
    JSON.stringify({
      v: 1,
      piles: options.piles.map((p) => ({
        v: 1,
        pid: p.pid,
        rootKey: b64uEncode(p.rootKey),
        keyOffset: p.keyOffset,
        ...(p.signingKey ? { signingKey: b64uEncode(p.signingKey) } : {}),
      })),
    }),
    { mode: 0o600 },
  );
  fs.chmodSync(keystore, 0o600);
  const configPath = path.join(dir, 'config.json');
  fs.writeFileSync(
    configPath,
    JSON.stringify(
      {
        v: 1,
        gid: options.gid,
        mqtt: {
          url: options.mqttUrl,
          username: options.username ?? `gateway:${options.gid}`,
          password: options.password,
        },
        keystore: 'keystore.json',
        dataDir: 'data',
        http: {
          host: '127.0.0.1',
          port: options.httpPort ?? 0,
          token: options.httpToken ?? b64uEncode(secureRandom(24)),
        },
        meterIntervalMs: options.meterIntervalMs ?? 100,
        rampMs: options.rampMs ?? 0,
        ...(options.ocpp ? { ocpp: { host: '127.0.0.1', port: 0, ...options.ocpp } } : {}),
        ...(options.acceptRevision1Requests !== undefined
          ? { acceptRevision1Requests: options.acceptRevision1Requests }
          : {}),
        piles: options.piles.map((p) => ({
          pid: p.pid,
          connectors: p.connectors,
          tariff: { pricePerKWh: '0.39', currency: 'EUR' },
          ...(p.charger ? { charger: p.charger } : {}),
        })),
      },
      null,
      2,
    ),
  );
  return configPath;
}

/** The operator token (http.token) of a gateway config, as its operator reads it from the file. */
export function operatorToken(configPath: string): string {
  return (JSON.parse(fs.readFileSync(configPath, 'utf8')) as { http: { token: string } }).http.token;
}

export function makeVehicle(vid: string, mqttUrl: string, password: string): VehicleProvisioning {
  return {
    v: 1,
    vid,
    vehicleKey: b64uEncode(secureRandom(32)),
    mqtt: { url: mqttUrl, wsUrl: 'ws://127.0.0.1:1/mqtt', username: `vehicle:${vid}`, password },
  };
}

/** What the cloud would publish (retained) on vehicles/{vid}/credentials/{pid}. */
export function sealedCredentialFor(
  vehicle: VehicleProvisioning,
  pile: TestPile,
  options: { off?: number; nowS?: number; lifetimeS?: number; maxWh?: number; rootKey?: Uint8Array } = {},
): { topic: string; payload: string; tid: string } {
  const nowS = options.nowS ?? Math.floor(Date.now() / 1000);
  const off = options.off ?? pile.keyOffset;
  const ticket = issueTicket(
    {
      vid: vehicle.vid,
      pid: pile.pid,
      off,
      iat: nowS,
      nbf: nowS,
      exp: nowS + (options.lifetimeS ?? 3600),
      ...(options.maxWh !== undefined ? { maxWh: options.maxWh } : {}),
    },
    secureRandom,
  );
  const ak = deriveAuthKey(deriveTicketKey(options.rootKey ?? pile.rootKey, off, pile.pid), ticket.bytes);
  const sealKey = deriveSealKey(Buffer.from(vehicle.vehicleKey, 'base64url'), vehicle.vid);
  const sealed = sealCredential(
    sealKey,
    vehicle.vid,
    {
      ticket: ticket.b64u,
      ak,
      pid: pile.pid,
      tid: ticket.body.tid,
      exp: ticket.body.exp,
      ...(pile.signingKey ? { signKey: signKeyOf(pile.signingKey) } : {}),
    },
    secureRandom(24),
  );
  return { ...sealed, tid: ticket.body.tid };
}

/** A vehicle's side of the handshake at `pile` (connector 1), with a fresh credential from the pile's root key. */
export function vehicleHandshakeAt(pile: TestPile, vid: string, connector = 1): VehicleHandshake {
  const nowS = Math.floor(Date.now() / 1000);
  const credential = issueTestCredential(
    pile.rootKey,
    { vid, pid: pile.pid, off: pile.keyOffset, iat: nowS, nbf: nowS, exp: nowS + 3600 },
    secureRandom,
  );
  return new VehicleHandshake({ vid, credential, connector, now: Date.now, random: secureRandom });
}

/** A signed pile.control payload. */
export function controlFor(pile: TestPile, body: ControlBody): string {
  return JSON.stringify(buildPileControl(deriveControlKey(pile.rootKey, pile.pid), pile.pid, body));
}
