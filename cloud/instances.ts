/**
 * Several cloud instances on one PostgreSQL registry share the work (docs/deploy.md): issuing passes by pile
 * (each pass skips the piles another instance holds locked), and credential.requests by vehicle, since our broker
 * (aedes) has no MQTT shared subscriptions: every instance receives every request, and instance i of n answers
 * those of the vehicles whose id hashes to i. A dead instance's vehicles wait for it to come back for answers to
 * their requests; their credentials are still issued and renewed by the other instances' passes.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from 'commander';

/** Instance `index` (1-based) of `count`. */
export interface InstanceShare {
  index: number;
  count: number;
}

/** Parses `i/n` (1 <= i <= n <= 64). */
export function parseInstance(value: string): InstanceShare {
  const match = /^(\d{1,2})\/(\d{1,2})$/.exec(value);
  const [index, count] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (!match || index < 1 || count > 64 || index > count)
    throw new InvalidArgumentError('must be i/n with 1 <= i <= n <= 64, e.g. 1/2');
  return { index, count };
}

/** Whether this instance answers the vehicle's credential.requests: the same answer on every instance. */
export function answersVehicle(share: InstanceShare | undefined, vid: string): boolean {
  if (!share || share.count === 1) return true;
  const bucket = createHash('sha256').update(vid).digest().readUInt32BE(0) % share.count;
  return bucket === share.index - 1;
}
