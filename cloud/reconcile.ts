/**
 * The issuer's reconciliation: from grants, tickets, revocations and piles, work out what every cloud-owned
 * retained topic should hold (credentials, pile.control, directory) and store it in the store's retained rows.
 * The service publishes rows as they change and all of them on every (re)connect.
 */
import { CLOCK_SKEW_SECONDS, topics, unixSeconds } from '../shared/index.js';
import { audit } from './audit.js';
import { entitlement } from './grants.js';
import { type IssuerOptions, issueCredential, needsNewTicket } from './issuer.js';
import { IssuingKeys } from './issuing-keys.js';
import { publishControl, publishDirectoryEntry } from './pile-topics.js';
import type { CloudData } from './registry.js';
import type { CloudTx } from './store/cloud-store.js';
import type { GrantRow, PileRow } from './store/records.js';

/** Credentials issued per unit of work of a pass; the service publishes each batch once it is committed. */
export const DEFAULT_ISSUE_BATCH = 256;
/** (vehicle, pile) pairs looked at per unit of work at most, so a pass that issues little still commits often */
const PAIRS_PER_STEP = 4096;

type PairOutcome = 'issued' | 'changed' | 'same';

/** Brings the credential of one (vehicle, pile) pair in line with the vehicle's grants. */
async function reconcilePair(
  tx: CloudTx,
  keys: IssuingKeys,
  vid: string,
  pile: PileRow,
  grants: GrantRow[],
  now: number,
  options: IssuerOptions,
): Promise<PairOutcome> {
  const grant = entitlement(grants, pile);
  const current = await tx.latestTicket(vid, pile.pid);
  const topic = topics.credential(vid, pile.pid);
  if (grant) {
    if (needsNewTicket(current, grant, pile, now, options.ticketLifeSeconds)) {
      await issueCredential(tx, keys, vid, pile, grant, now, options);
      return 'issued';
    }
    const live = current && current.revoked_at === null && current.exp > now;
    return (await tx.setRetained(topic, live ? current.sealed : '', now)) ? 'changed' : 'same';
  }
  // No entitlement: tickets still alive are revoked so the pile refuses them, and the credential goes.
  const revoked = await tx.revokeLiveTicketsOfPair(vid, pile.pid, now, now - CLOCK_SKEW_SECONDS);
  if (revoked > 0)
    await audit(tx, 'service', 'ticket.revoke', `${vid}/${pile.pid}`, now, { reason: 'no grant' });
  return current && (await tx.setRetained(topic, '', now)) ? 'changed' : 'same';
}

/** Where a pass is: the pile being worked on and the next vehicle of that pile. */
interface PassPosition {
  p: number;
  v: number;
}

/** One unit of work of a pass: up to `batch` new credentials or PAIRS_PER_STEP pairs; how many rows changed. */
async function reconcileStep(
  tx: CloudTx,
  data: CloudData,
  keys: IssuingKeys,
  pids: readonly string[],
  vids: readonly string[],
  at: PassPosition,
  now: number,
  options: IssuerOptions,
): Promise<number> {
  const batch = Math.max(1, options.issueBatch ?? DEFAULT_ISSUE_BATCH);
  let changed = 0;
  let issued = 0;
  let pairs = 0;
  const grantsOf = new Map<string, GrantRow[]>();
  while (at.p < pids.length && issued < batch && pairs < PAIRS_PER_STEP) {
    // a pile another cloud instance is working on now is its to finish (or, if that one dies, the next pass's)
    const pile = await tx.lockPile(pids[at.p]!, { skipLocked: true });
    for (; pile && at.v < vids.length && issued < batch && pairs < PAIRS_PER_STEP; at.v++, pairs++) {
      const vid = vids[at.v]!;
      let grants = grantsOf.get(vid);
      if (!grants) {
        grants = await tx.activeGrants(vid, now);
        grantsOf.set(vid, grants);
      }
      const outcome = await reconcilePair(tx, keys, vid, pile, grants, now, options);
      if (outcome === 'issued') issued++;
      if (outcome !== 'same') changed++;
    }
    if (pile && at.v < vids.length) break; // this step is full; the pile goes on in the next one
    if (pile) {
      const control = await publishControl(tx, data.masterKey, pile, now);
      if (control === true) changed++;
      else if (control !== false) options.onControlTooLarge?.(control);
    }
    if (pile && (await publishDirectoryEntry(tx, pile, now))) changed++;
    keys.forgetTicketKeys();
    at.p++;
    at.v = 0;
  }
  if (at.p >= pids.length) await tx.forgetNoncesBefore(now - 2 * CLOCK_SKEW_SECONDS);
  return changed;
}

/**
 * One pass over the registry, pile by pile, as a series of units of work: each step commits (up to
 * `issueBatch` new credentials) and yields how many retained rows it changed, so the caller can publish what is
 * committed and let other work in before the next step. Every step reads piles, grants and tickets afresh, so a
 * change the CLI commits between steps is honoured by the rest of the pass.
 */
export async function* reconcileSteps(
  data: CloudData,
  nowMs: number,
  options: IssuerOptions,
): AsyncGenerator<number, void, undefined> {
  const now = unixSeconds(nowMs);
  const [pids, vids] = await data.store.read(async (tx) => [await tx.pileIds(), await tx.vehicleIds()]);
  const keys = new IssuingKeys(data.masterKey);
  const at: PassPosition = { p: 0, v: 0 };
  try {
    do
      yield await data.store.transaction((tx) => reconcileStep(tx, data, keys, pids, vids, at, now, options));
    while (at.p < pids.length);
  } finally {
    keys.forget();
  }
}

/** One whole pass; returns how many retained rows changed. */
export async function reconcile(data: CloudData, nowMs: number, options: IssuerOptions): Promise<number> {
  let changed = 0;
  for await (const stepChanged of reconcileSteps(data, nowMs, options)) changed += stepChanged;
  return changed;
}
