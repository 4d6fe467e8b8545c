/** How a pile reads at a glance: one state over its connectors, its best power and its tariff. */
import type { ConnectorState } from '../../shared/index.js';
import type { PileInfo } from '../controllers/vehicle-port.js';

export type PileState = ConnectorState | 'unknown';

export function connectorState(pile: PileInfo, connector: number): PileState {
  if (pile.gatewayOnline === false) return 'offline';
  const c = pile.status?.connectors.find((x) => x.id === connector);
  return c ? c.state : 'unknown';
}

/** Whether a cable is in the connector, where its charger reports it (plug first, then authorise). */
export function connectorPlugged(pile: PileInfo, connector: number): boolean | undefined {
  if (pile.gatewayOnline === false) return undefined;
  return pile.status?.connectors.find((x) => x.id === connector)?.plugged;
}

/** available if any connector is free; else charging/occupied; offline when the gateway is gone. */
export function pileState(pile: PileInfo): PileState {
  if (pile.gatewayOnline === false) return 'offline';
  const states = pile.status?.connectors.map((c) => c.state) ?? [];
  if (states.length === 0) return 'unknown';
  for (const s of ['available', 'charging', 'occupied', 'faulted'] as const) {
    if (states.includes(s)) return s;
  }
  return 'offline';
}

export function maxPowerW(pile: PileInfo): number {
  return Math.max(0, ...(pile.directory?.connectors.map((c) => c.maxW) ?? []));
}

export function pileName(pile: PileInfo): string {
  return pile.directory?.name ?? pile.pid;
}
