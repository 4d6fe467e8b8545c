/** One connector's entry in the retained pile status (PROTOCOL §4 piles/{pid}/status, docs/protocol.md). */
import type { PileStatus } from '../shared/index.js';
import type { ChargerController } from './charger.js';

export type ConnectorStatus = PileStatus['connectors'][number];

/**
 * offline (gateway or charger unreachable) › faulted › charging › occupied (a handshake or another car holds it)
 * › available. `plugged` is added where the charger can tell: a free connector with `plugged:false` is waiting
 * for a cable (plug first, then authorise); with `plugged:true` a car is plugged in and waiting.
 */
export function connectorStatus(
  id: number,
  at: { online: boolean; charger?: ChargerController; chargingW?: number; occupied: boolean },
): ConnectorStatus {
  const { charger } = at;
  if (!at.online) return { id, state: 'offline' };
  if (charger?.faulted) return { id, state: 'faulted' };
  if (at.chargingW !== undefined) return { id, state: 'charging', w: at.chargingW };
  if (charger?.online === false) return { id, state: 'offline' };
  const plugged = charger?.plugged === undefined ? {} : { plugged: charger.plugged };
  if (at.occupied) return { id, state: 'occupied', ...plugged };
  if (charger?.available) return { id, state: 'available', ...plugged };
  // Free but no cable in it: it can be chosen as soon as one is plugged in.
  if (charger?.plugged === false) return { id, state: 'available', plugged: false };
  return { id, state: 'occupied', ...plugged };
}
