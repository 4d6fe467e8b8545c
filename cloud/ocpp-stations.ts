/**
 * Piles whose charger is an OCPP charging station (docs/gateway.md): the registry knows the station's identity
 * and its HTTP Basic password (security profile 1), sealed under the master key, so every export of the gateway
 * writes the same password (the station is configured with it once) until the operator asks for a new one.
 */
import { generatePassword } from '../node/password-hash.js';
import { OCPP_IDENTITY_PATTERN, unixSeconds } from '../shared/index.js';
import { audit } from './audit.js';
import { requirePile } from './grants.js';
import { RegistryError } from './registry-records.js';
import type { MasterKey } from './secrets.js';
import type { CloudStore, CloudTx } from './store/cloud-store.js';
import type { PileRow } from './store/records.js';

/** A pile's charger as the gateway config names it (pile-gateway/config.ts). */
export interface OcppChargerEntry {
  kind: 'ocpp';
  stationId: string;
  password: string;
}

export function requireStationId(stationId: string): string {
  if (!OCPP_IDENTITY_PATTERN.test(stationId))
    throw new RegistryError(
      'INVALID',
      `station id ${JSON.stringify(stationId)} must be 1-48 of A-Z a-z 0-9 * . _ : + | @ -`,
    );
  return stationId;
}

/**
 * Within one unit of work: makes the pile's charger OCPP station `stationId` (null: the simulator again). The
 * password stays while the station does, unless `newPassword`; a station serves one pile per gateway.
 */
export async function assignCharger(
  tx: CloudTx,
  masterKey: MasterKey,
  pid: string,
  stationId: string | null,
  options: { newPassword?: boolean; nowMs?: number } = {},
): Promise<void> {
  const pile = await requirePile(tx, pid);
  if (stationId === null) {
    await tx.setPileCharger(pid, null);
  } else {
    requireStationId(stationId);
    const taken = (await tx.piles()).find(
      (p) => p.pid !== pid && p.gid === pile.gid && p.ocpp_station === stationId,
    );
    if (taken)
      throw new RegistryError(
        'EXISTS',
        `station ${stationId} already serves pile ${taken.pid} of gateway ${pile.gid ?? '(none)'}`,
      );
    const keep = pile.ocpp_station === stationId && pile.ocpp_password_sealed && !options.newPassword;
    const passwordSealed = keep
      ? pile.ocpp_password_sealed!
      : masterKey.sealStationPassword(pid, generatePassword());
    await tx.setPileCharger(pid, { station: stationId, passwordSealed });
  }
  await audit(tx, 'cli', 'pile.charger', pid, unixSeconds(options.nowMs ?? Date.now()), {
    ocppStation: stationId,
    ...(options.newPassword ? { newPassword: true } : {}),
  });
}

/** The same as one unit of work; returns the charger entry the gateway config gets (undefined: simulator). */
export async function setPileCharger(
  store: CloudStore,
  masterKey: MasterKey,
  pid: string,
  stationId: string | null,
  options: { newPassword?: boolean } = {},
): Promise<OcppChargerEntry | undefined> {
  const pile = await store.transaction(async (tx) => {
    await assignCharger(tx, masterKey, pid, stationId, options);
    return requirePile(tx, pid);
  });
  return ocppChargerOf(masterKey, pile);
}

/** The pile's charger entry with the clear password, if it is an OCPP station. */
export function ocppChargerOf(masterKey: MasterKey, pile: PileRow): OcppChargerEntry | undefined {
  if (pile.ocpp_station === null || pile.ocpp_password_sealed === null) return undefined;
  return {
    kind: 'ocpp',
    stationId: pile.ocpp_station,
    password: masterKey.openStationPassword(pile.pid, pile.ocpp_password_sealed),
  };
}

/** The gateway's OCPP endpoint as the export writes it (TLS paths: PEM files, relative to the config). */
export interface OcppEndpointOptions {
  host?: string;
  port?: number;
  tls?: { cert: string; key: string };
}

export const DEFAULT_OCPP_PORT = 9000;

/** The config's "ocpp" section: written when asked for, or when a pile of the gateway is an OCPP station. */
export function ocppEndpointConfig(
  options: OcppEndpointOptions | undefined,
  hasStations: boolean,
): { ocpp?: { host: string; port: number; tls?: { cert: string; key: string } } } {
  if (!options && !hasStations) return {};
  return {
    ocpp: {
      host: options?.host ?? '127.0.0.1',
      port: options?.port ?? DEFAULT_OCPP_PORT,
      ...(options?.tls ? { tls: options.tls } : {}),
    },
  };
}
