/** The load generators play the cloud's part: a day-long ticket and auth key for one vehicle at one pile. */
import type { VehicleCredential } from '../../shared/index.js';
import { secureRandom } from '../../shared/random.js';
import { issueTestCredential } from '../../shared/testing.js';
import type { WorkerPile } from './messages.js';

export function issueBenchCredential(vid: string, pile: WorkerPile, rootKey: Uint8Array): VehicleCredential {
  const nowS = Math.floor(Date.now() / 1000);
  return issueTestCredential(
    rootKey,
    { vid, pid: pile.pid, off: pile.keyOffset, iat: nowS, nbf: nowS, exp: nowS + 86_400 },
    secureRandom,
  );
}
