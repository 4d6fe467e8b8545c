import { describe, expect, it } from 'vitest';
import { SimulatedCharger } from './charger.js';
import { sessionCost } from './cost.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('SimulatedCharger', () => {
  it('ramps to maxW, integrates energy and stops at maxWh', () => {
    const c = clock();
    const charger = new SimulatedCharger({ rampMs: 2000, now: c.now });
    expect(charger.available).toBe(true);
    charger.energize({ maxW: 36_000, maxWh: 30 });
    expect(charger.available).toBe(false);
    c.advance(1000);
    expect(charger.read().w).toBe(18_000);
    c.advance(1000);
    const full = charger.read();
    expect(full.w).toBe(36_000);
    // 0→36 kW over 2 s: 36 kW·1 s average = 10 Wh
    expect(full.wh).toBe(10);
    c.advance(10_000);
    const capped = charger.read();
    expect(capped.wh).toBe(30);
    expect(capped.w).toBe(0);
    expect(capped.state).toBe('finishing');
  });

  it('reports unplug and fault, and stays unavailable until cleared and plugged in again', () => {
    const c = clock();
    const charger = new SimulatedCharger({ rampMs: 0, now: c.now });
    const events: string[] = [];
    charger.onEvent((e) => events.push(e.kind));
    expect(charger.plugged).toBe(true);
    charger.energize({ maxW: 11_000 });
    charger.unplug();
    expect(charger.plugged).toBe(false);
    charger.fault();
    expect(charger.available).toBe(false);
    expect(charger.read().state).toBe('faulted');
    charger.clear();
    // plug first: no cable, no authorisation
    expect(charger.available).toBe(false);
    charger.plug();
    expect(charger.available).toBe(true);
    expect(events).toEqual(['unplugged', 'faulted', 'cleared', 'status']);
  });

  it('can start unplugged, as a connector nobody has plugged into yet', () => {
    const charger = new SimulatedCharger({ rampMs: 0, now: clock().now, plugged: false });
    expect(charger.available).toBe(false);
    charger.plug();
    expect(charger.available).toBe(true);
  });
});

describe('sessionCost', () => {
  it('multiplies exactly and rounds half up to cents', () => {
    expect(sessionCost(0, '0.39')).toBe('0.00');
    expect(sessionCost(1000, '0.39')).toBe('0.39');
    expect(sessionCost(12_345, '0.39')).toBe('4.81'); // 4.81455
    expect(sessionCost(12_820_513, '0.39')).toBe('5000.00'); // 4999.99907
    expect(sessionCost(1, '0.005')).toBe('0.00');
    expect(sessionCost(1000, '0.005')).toBe('0.01'); // 0.005 rounds up
    expect(sessionCost(123, '12')).toBe('1.48'); // 1.476
  });
});
