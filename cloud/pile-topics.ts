/**
 * What the cloud retains for each pile besides credentials: its signed control body (PROTOCOL §7: key offsets
 * and revoked tickets) and its directory entry (§4).
 */
import {
  buildPileControl,
  CLOCK_SKEW_SECONDS,
  type DirectoryEntry,
  deriveControlKey,
  topics,
} from '../shared/index.js';
import { audit } from './audit.js';
import type { MasterKey } from './secrets.js';
import type { CloudTx } from './store/cloud-store.js';
import type { PileRow } from './store/records.js';

/** PROTOCOL §7 control bodies carry at most 100 revoked tickets; the newest ones win */
const MAX_REVOKED_IN_CONTROL = 100;

/**
 * Makes the pile's retained control body say what it should now: a new signed body (seq + 1) only when the
 * content differs. The caller's unit of work holds the pile's lock (`lockPile`), so no one else signs this seq.
 * Returns whether it changed.
 */
export async function publishControl(
  tx: CloudTx,
  masterKey: MasterKey,
  pile: PileRow,
  now: number,
): Promise<boolean> {
  // a ticket counts until its exp plus the clock skew a pile allows
  const alive = now - CLOCK_SKEW_SECONDS;
  const older = (await tx.offsetsInUse(pile.pid, alive)).filter((off) => off !== pile.key_offset);
  const accept = [pile.key_offset, ...older];
  const revoked = (await tx.revokedTicketsOfPile(pile.pid, alive, MAX_REVOKED_IN_CONTROL)).sort((a, b) =>
    a.tid < b.tid ? -1 : 1,
  );
  const state = JSON.stringify({ current: pile.key_offset, accept, revoked });
  if (state === pile.control_state) return false;
  const seq = pile.control_seq + 1;
  const rootKey = masterKey.openPileRootKey(pile.pid, pile.root_key_sealed);
  const message = buildPileControl(deriveControlKey(rootKey, pile.pid), pile.pid, {
    seq,
    issuedAt: now,
    keyOffset: { current: pile.key_offset, accept },
    revoked,
  });
  rootKey.fill(0);
  await tx.setControl(pile.pid, seq, state);
  pile.control_seq = seq;
  pile.control_state = state;
  await tx.setRetained(topics.pileControl(pile.pid), JSON.stringify(message), now);
  await audit(tx, 'service', 'control.publish', pile.pid, now, { seq, accept, revoked: revoked.length });
  return true;
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
