/**
 * Issue #12, assurance 1: a seeded Dolev-Yao attacker on the real broker, gateway and cloud, interleaved with two
 * genuine vehicles per run (docs/adversary.md). With a vehicle login it must violate nothing; with a gateway's
 * rights (a hostile network path) the only violations allowed are the documented flaw of PROTOCOL §6 (a wrong
 * proof for a pending sid it saw counts toward the vehicle's lockout), and the harness must find it.
 * Longer runs: `npm run fuzz:adversary -- --minutes N`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdversaryWorld, type RunReport } from './world.js';

const VEHICLE_SEEDS = [1, 2, 3];
const NETWORK_SEEDS = [11, 12, 13];
const BUDGET = 30;

let world: AdversaryWorld;
const networkReports: RunReport[] = [];

beforeAll(async () => {
  world = await AdversaryWorld.start();
}, 90_000);

afterAll(async () => {
  await world?.close();
});

function explain(report: RunReport): string {
  return JSON.stringify(
    { seed: report.seed, mode: report.mode, violations: report.violations, ops: report.ops },
    null,
    1,
  );
}

describe('adversary with a vehicle login', () => {
  for (const seed of VEHICLE_SEEDS) {
    it(`seed ${seed}: no invariant violated`, async () => {
      const report = await world.run({ mode: 'vehicle', seed, budget: BUDGET, sessionsPerVehicle: 2 });
      expect(report.attackerSent, 'the attacker spent its budget').toBe(BUDGET);
      expect(report.attempts.filter((a) => a.receipt).length, explain(report)).toBe(4);
      expect(report.violations, explain(report)).toEqual([]);
    }, 90_000);
  }
});

describe('adversary on the network path (a gateway’s rights)', () => {
  for (const seed of NETWORK_SEEDS) {
    it(`seed ${seed}: nothing but the documented lockout flaw`, async () => {
      const report = await world.run({ mode: 'network', seed, budget: BUDGET, sessionsPerVehicle: 4 });
      networkReports.push(report);
      expect(report.attackerSent).toBe(BUDGET);
      expect(report.gatewayDisconnects, 'the real gateway kept its connection').toBe(0);
      expect(report.unexpected, explain(report)).toEqual([]);
    }, 90_000);
  }

  it('finds the documented flaw: failed proofs charged to a genuine vehicle through a sid it saw', () => {
    const found = networkReports.flatMap((r) => r.violations).filter((v) => v.knownFlaw);
    expect(found.map((v) => v.invariant)).toContain('counted-against-another');
  });
});
