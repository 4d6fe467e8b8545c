/** A real broker for tests that need one with simple logins (no registry). Not used in production code. */
import { type RunningBroker, startBroker } from '../../broker/index.js';
import type { Principal } from '../../shared/index.js';

/**
 * A real broker on a free port whose logins all share one password: `cloud`, `gateway:{gid}` serving `piles`
 * (only the named gateway when `gid` is given), and any `vehicle:{vid}`.
 */
export function startTestBroker(options: {
  password: string;
  piles: Iterable<string>;
  gid?: string;
}): Promise<RunningBroker> {
  const piles = new Set(options.piles);
  const principalOf = (username: string): Principal | undefined => {
    if (username === 'cloud') return { kind: 'cloud' };
    if (username.startsWith('gateway:')) {
      const gid = username.slice(8);
      return options.gid === undefined || gid === options.gid ? { kind: 'gateway', gid, piles } : undefined;
    }
    if (username.startsWith('vehicle:')) return { kind: 'vehicle', vid: username.slice(8) };
    return undefined;
  };
  return startBroker({
    mqttPort: 0,
    logins: {
      authenticate: (username, password) =>
        password === options.password ? principalOf(username) : undefined,
    },
  });
}
