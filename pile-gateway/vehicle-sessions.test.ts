import { describe, expect, it } from 'vitest';
import { VehicleSessions } from './vehicle-sessions.js';

describe('VehicleSessions: open sessions per vehicle, per pile and per site', () => {
  it('refuses a second open session of one vehicle on the pile and on the site (defaults 1)', () => {
    const ledger = new VehicleSessions();
    expect(ledger.refusal('EV-1', 'P1')).toBeUndefined();
    ledger.opened('s1', 'EV-1', 'P1');
    expect(ledger.refusal('EV-1', 'P1')).toMatch(/at this pile/);
    expect(ledger.refusal('EV-1', 'P2')).toMatch(/at this site/);
    // Another vehicle is not held back by it.
    expect(ledger.refusal('EV-2', 'P1')).toBeUndefined();
    ledger.closed('s1');
    expect(ledger.refusal('EV-1', 'P2')).toBeUndefined();
    expect(ledger.size).toBe(0);
  });

  it('counts each pile and the site against their own limits', () => {
    const ledger = new VehicleSessions({ pile: 1, site: 2 });
    ledger.opened('s1', 'EV-1', 'P1');
    expect(ledger.refusal('EV-1', 'P1')).toMatch(/at this pile/);
    expect(ledger.refusal('EV-1', 'P2')).toBeUndefined();
    ledger.opened('s2', 'EV-1', 'P2');
    expect(ledger.refusal('EV-1', 'P3')).toMatch(/at this site/);
    // A sid opened twice or closed twice, or never opened, changes nothing.
    ledger.opened('s2', 'EV-1', 'P2');
    ledger.closed('s2');
    ledger.closed('s2');
    ledger.closed('unknown');
    expect(ledger.size).toBe(1);
    expect(ledger.refusal('EV-1', 'P3')).toBeUndefined();
  });
});
