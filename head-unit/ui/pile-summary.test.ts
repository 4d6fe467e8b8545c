import { describe, expect, it } from 'vitest';
import type { PileInfo } from '../controllers/vehicle-port.js';
import { connectorPlugged, connectorState, maxPowerW, pileName, pileState } from './pile-summary.js';

const status = (states: ('available' | 'occupied' | 'charging' | 'faulted' | 'offline')[]) => ({
  v: 1,
  pid: 'P1',
  ts: 1,
  connectors: states.map((state, i) => ({ id: i + 1, state })),
});

describe('pile summary', () => {
  it('reads available when any connector is free, else charging, occupied', () => {
    expect(pileState({ pid: 'P1', status: status(['charging', 'available']) })).toBe('available');
    expect(pileState({ pid: 'P1', status: status(['occupied', 'charging']) })).toBe('charging');
    expect(pileState({ pid: 'P1', status: status(['occupied']) })).toBe('occupied');
    expect(pileState({ pid: 'P1' })).toBe('unknown');
  });

  it('reads offline when the gateway is gone, whatever the last status said', () => {
    const pile: PileInfo = { pid: 'P1', status: status(['available']), gatewayOnline: false };
    expect(pileState(pile)).toBe('offline');
    expect(connectorState(pile, 1)).toBe('offline');
    expect(connectorState({ pid: 'P1', status: status(['occupied']) }, 1)).toBe('occupied');
    expect(connectorState({ pid: 'P1', status: status(['occupied']) }, 9)).toBe('unknown');
  });

  it('tells whether a cable is plugged in where the charger reports it', () => {
    const plugged = {
      v: 1,
      pid: 'P1',
      ts: 1,
      connectors: [
        { id: 1, state: 'available' as const, plugged: true },
        { id: 2, state: 'available' as const, plugged: false },
        { id: 3, state: 'available' as const },
      ],
    };
    expect(connectorPlugged({ pid: 'P1', status: plugged }, 1)).toBe(true);
    expect(connectorPlugged({ pid: 'P1', status: plugged }, 2)).toBe(false);
    expect(connectorPlugged({ pid: 'P1', status: plugged }, 3)).toBeUndefined();
    expect(connectorPlugged({ pid: 'P1', status: plugged, gatewayOnline: false }, 1)).toBeUndefined();
  });

  it('shows the best connector power and the name, or the id', () => {
    const directory = {
      v: 1,
      pid: 'P1',
      name: 'Harbour 1',
      site: 's',
      address: 'a',
      lat: 0,
      lon: 0,
      connectors: [
        { id: 1, maxW: 50000 },
        { id: 2, maxW: 150000 },
      ],
      tariff: { pricePerKWh: '0.39', currency: 'EUR' },
    };
    expect(maxPowerW({ pid: 'P1', directory })).toBe(150000);
    expect(pileName({ pid: 'P1', directory })).toBe('Harbour 1');
    expect(pileName({ pid: 'P1' })).toBe('P1');
  });
});
