/**
 * What the cloud retains for each pile besides credentials: its signed control body (PROTOCOL §7: key offsets,
 * revoked tickets and revoked vehicles) and its directory entry (§4).
 */
import {
  buildPileControl,
  CLOCK_SKEW_SECONDS,
  type DirectoryEntry,
  deriveControlKey,
  MAX_CONTROL_PAYLOAD_BYTES,
  topics,
} from '../shared/index.js';
import { audit } from './audit.js';
import { RegistryError } from './registry-records.js';
import type { MasterKey } from './secrets.js';
import type { CloudTx } from './store/cloud-store.js';
import type { PileRow } from './store/records.js';

/**
 * Entries of either list read at most: a ticket entry takes at least 40 bytes of a payload (a vehicle entry with
 * the shortest vid 30), so a pile with more could not be sent anyway; the reads stay bounded all the same.
 */
const MAX_ROWS_READ = Math.ceil(MAX_CONTROL_PAYLOAD_BYTES / 30) + 1;

/** A control body that would not fit in a pile.control payload (PROTOCOL §7): never cut, the operator is told. */
export interface ControlTooLarge {
  pid: string;
  /** what the payload would have been, in bytes (at least; the reads stop past what could fit) */
  bytes: number;
  revokedTickets: number;
  revokedVehicles: number;
  /** for the operator: which pile, why, and what to do */
  message: string;
}

function tooLarge(
  pid: string,
  bytes: number,
  revokedTickets: number,
  revokedVehicles: number,
): ControlTooLarge {
  return {
    pid,
    bytes,
    revokedTickets,
    revokedVehicles,
    message:
      `pile ${pid}: its pile.control would be ${bytes} bytes (${revokedTickets} revoked tickets, ` +
      `${revokedVehicles} revoked vehicles), over the ${MAX_CONTROL_PAYLOAD_BYTES} a pile accepts ` +
      '(PROTOCOL §7), so the pile keeps its previous body and is not told of this change. Revoke whole ' +
      'vehicles (revoke --vehicle: one entry for all their tickets) instead of single tickets, or wait until ' +
      'revoked tickets expire (they leave the body then), and try again.',
  };
}

/**
 * Makes the pile's retained control body say what it should now: a new signed body (seq + 1) only when the
 * content differs. The caller's unit of work holds the pile's lock (`lockPile`), so no one else signs this seq.
 * Returns whether it changed; a body that would not fit changes nothing and is returned as `ControlTooLarge`.
 */
export async function publishControl(
  tx: CloudTx,
  masterKey: MasterKey,
  pile: PileRow,
  now: number,
): Promise<boolean | ControlTooLarge> {
  // a ticket counts until its exp plus the clock skew a pile allows
  const alive = now - CLOCK_SKEW_SECONDS;
  const older = (await tx.offsetsInUse(pile.pid, alive)).filter((off) => off !== pile.key_offset);
  const accept = [pile.key_offset, ...older];
  const revoked = (await tx.revokedTicketsOfPile(pile.pid, alive, MAX_ROWS_READ)).sort((a, b) =>
    a.tid < b.tid ? -1 : 1,
  );
  // one entry per revoked vehicle: refused until its last ticket here has expired, skew included
  const revokedVehicles = (await tx.revokedVehiclesOfPile(pile.pid, alive, MAX_ROWS_READ)).map((r) => ({
    vid: r.vid,
    until: r.exp + CLOCK_SKEW_SECONDS,
  }));
  const state = JSON.stringify({
    current: pile.key_offset,
    accept,
    revoked,
    // left out when empty, so a pile's state (and seq) does not change for a body that says the same
    ...(revokedVehicles.length ? { revokedVehicles } : {}),
  });
  if (state === pile.control_state) return false;
  const seq = pile.control_seq + 1;
  const rootKey = masterKey.openPileRootKey(pile.pid, pile.root_key_sealed);
  const message = buildPileControl(deriveControlKey(rootKey, pile.pid), pile.pid, {
    seq,
    issuedAt: now,
    keyOffset: { current: pile.key_offset, accept },
    revoked,
    revokedVehicles,
  });
  rootKey.fill(0);
  const payload = JSON.stringify(message);
  // ASCII only (ids, base64url, digits), so characters are bytes
  if (payload.length > MAX_CONTROL_PAYLOAD_BYTES)
    return tooLarge(pile.pid, payload.length, revoked.length, revokedVehicles.length);
  await tx.setControl(pile.pid, seq, state);
  pile.control_seq = seq;
  pile.control_state = state;
  await tx.setRetained(topics.pileControl(pile.pid), payload, now);
  await audit(tx, 'service', 'control.publish', pile.pid, now, {
    seq,
    accept,
    revoked: revoked.length,
    revokedVehicles: revokedVehicles.length,
  });
  return true;
}

/**
 * Signs the piles' control bodies now, in the caller's unit of work (a revocation by the CLI), so a revocation
 * and the body that carries it commit together. A body that would not fit throws TOO_LARGE: the revocation is
 * undone and the operator told what to do, never a revocation the pile does not hear of.
 */
export async function signControlsNow(
  tx: CloudTx,
  masterKey: MasterKey,
  pids: readonly string[],
  now: number,
): Promise<void> {
  for (const pid of pids) {
    const pile = await tx.lockPile(pid);
    if (!pile) continue;
    const outcome = await publishControl(tx, masterKey, pile, now);
    if (typeof outcome === 'object') throw new RegistryError('TOO_LARGE', outcome.message);
  }
}

export function directoryEntry(pile: PileRow): DirectoryEntry {
  return {
    v: 1,
    pid: pile.pid,
    name: pile.name,
    site: pile.site,
    address: pile.address,
    lat: pile.lat,
    lon: pile.lon,
    connectors: JSON.parse(pile.connectors),
    tariff: { pricePerKWh: pile.price_per_kwh, currency: pile.currency },
    ...(pile.sign_key !== null ? { signKey: pile.sign_key } : {}),
  };
}

/** Makes the pile's retained directory entry match its registry entry; returns whether it changed. */
export function publishDirectoryEntry(tx: CloudTx, pile: PileRow, now: number): Promise<boolean> {
  return tx.setRetained(topics.directoryPile(pile.pid), JSON.stringify(directoryEntry(pile)), now);
}
