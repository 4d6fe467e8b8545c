/**
 * The real system under attack: broker, cloud and gateway as in the integration suite (TestSystem), the attacker's
 * own vehicle (a legitimate customer with a credential for one pile of the other site), and, in every run, two
 * fresh genuine vehicles charging at the site the attacker has no right to, while the attacker spends its budget.
 * Each run ends with the invariants checked on what the gateway recorded, logged and holds in memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MemoryCredentialStore, type VehicleClient } from '../../head-unit/vehicle/index.js';
import { SessionStore } from '../../pile-gateway/store.js';
import { DEFAULT_PILE_LIMITS, usernames, type VehicleProvisioning } from '../../shared/index.js';
import { credentialFor, GID, SITE_A, SITE_B, TestSystem } from '../support/system.js';
import { Attacker, type AttackerMode, RecordingVehicleClient } from './attacker.js';
import { checkInvariants, type GenuineAttempt, type Violation } from './invariants.js';
import { Seeded } from './seeded.js';

const VICTIM_PILES = ['ADV-P1', 'ADV-P2'];
const ATTACKER_PILE = 'ADV-P3';
const PILES = [...VICTIM_PILES, ATTACKER_PILE];

export interface RunConfig {
  mode: AttackerMode;
  seed: number;
  /** messages the attacker may publish */
  budget: number;
  /** sessions each genuine vehicle tries: four at the first pile of its site, then four at the second, … */
  sessionsPerVehicle: number;
}

export interface RunReport extends RunConfig {
  attackerSent: number;
  /** the real gateway losing its broker connection (the network-path attacker shares its login, not its client id) */
  gatewayDisconnects: number;
  ops: Record<string, number>;
  attempts: GenuineAttempt[];
  violations: Violation[];
  /** violations other than the documented flaw */
  unexpected: Violation[];
  ms: number;
}

export class AdversaryWorld {
  private attackerVehicle!: RecordingVehicleClient;
  private attackerLogin!: VehicleProvisioning;
  private readonly genuineVids = new Set<string>();
  /** requests that may have passed step 5 so far: genuine attempts and the attacker's own sessions */
  private realRequests = 0;
  private runs = 0;

  private constructor(readonly system: TestSystem) {}

  static async start(): Promise<AdversaryWorld> {
    const system = await new TestSystem({
      piles: { 'ADV-P1': SITE_A, 'ADV-P2': SITE_A, 'ADV-P3': SITE_B },
      meterIntervalMs: 100,
    }).start();
    const world = new AdversaryWorld(system);
    try {
      world.attackerLogin = await system.addVehicle('ADV-ATTACKER', { scope: 'pile', target: ATTACKER_PILE });
      world.attackerVehicle = new RecordingVehicleClient({
        provisioning: world.attackerLogin,
        store: new MemoryCredentialStore(),
        reconnectPeriodMs: 200,
      });
      await world.attackerVehicle.start();
      await world.attackerVehicle.requestCredential(ATTACKER_PILE, { timeoutMs: 10_000 });
    } catch (error) {
      await world.close();
      throw error;
    }
    return world;
  }

  /** One seeded run: two new genuine vehicles charge while the attacker acts; the invariants are checked after. */
  async run(config: RunConfig): Promise<RunReport> {
    const startedAt = Date.now();
    const rng = new Seeded(config.seed);
    const tag = `${config.mode[0]}${config.seed}-${this.runs++}`;
    const victims = await Promise.all(['B', 'C'].map((name) => this.genuineVehicle(`ADV-${tag}-${name}`)));
    const gatewayConfig = JSON.parse(
      fs.readFileSync(path.join(this.system.gatewayDir, 'config.json'), 'utf8'),
    );
    const attacker = await Attacker.connect({
      mode: config.mode,
      rng,
      budget: config.budget,
      mqttUrl: this.system.mqttUrl,
      vehicle: this.attackerLogin,
      ownCredential: this.attackerVehicle.usableCredential(ATTACKER_PILE),
      piles: PILES,
      victims: victims.map((v) => v.vid),
      ...(config.mode === 'network'
        ? { gateway: { gid: GID, username: usernames.gateway(GID), password: gatewayConfig.mqtt.password } }
        : {}),
    });
    attacker.watchOwnVehicle(this.attackerVehicle);
    const attempts: GenuineAttempt[] = [];
    let genuineDone = false;
    try {
      const genuine = Promise.all([
        ...victims.map((v, i) => this.charge(v, i + 1, config.sessionsPerVehicle, attempts)),
        this.attackerOwnSession(),
      ]).finally(() => {
        genuineDone = true;
      });
      await Promise.all([genuine, attacker.attack(() => genuineDone, 30_000)]);
      // Let the last injections reach the gateway before its logs and memory are read.
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await attacker.close();
      for (const v of victims) await v.close();
    }
    const logs = this.system.gateway.logs.filter((l) => typeof l.time === 'number' && l.time >= startedAt);
    const violations = checkInvariants({
      attempts,
      records: this.sessionRecords(),
      logs,
      attackerVid: this.attackerVehicle.vid,
      genuineVids: this.genuineVids,
      targeted: attacker.targeted,
      seesPendingSids: config.mode === 'network',
      ...(await this.memory()),
    });
    return {
      ...config,
      attackerSent: attacker.sent,
      gatewayDisconnects: logs.filter((l) => l.msg === 'disconnected from broker; reconnecting').length,
      ops: Object.fromEntries(attacker.ops),
      attempts,
      violations,
      unexpected: violations.filter((v) => !v.knownFlaw),
      ms: Date.now() - startedAt,
    };
  }

  private async genuineVehicle(vid: string): Promise<VehicleClient> {
    const provisioning = await this.system.addVehicle(vid, { scope: 'site', target: SITE_A });
    this.genuineVids.add(vid);
    // A step times out only on a loaded machine (nothing the attacker does can hold a message back): be patient.
    const client = await this.system.vehicle(provisioning, { stepTimeoutMs: 15_000 });
    for (const pid of VICTIM_PILES) {
      if (!client.usableCredential(pid))
        await client.requestCredential(pid, { timeoutMs: 10_000 }).catch(() => {});
      await credentialFor(client, pid);
    }
    return client;
  }

  /** A genuine vehicle's sessions: authenticate, take a few readings, stop, keep the verified receipt. */
  private async charge(
    client: VehicleClient,
    connector: number,
    sessions: number,
    attempts: GenuineAttempt[],
  ): Promise<void> {
    for (let i = 0; i < sessions; i++) {
      // Four in a row at one pile: enough for the lockout (three failed proofs) to show on the fourth.
      const pid = VICTIM_PILES[Math.floor(i / 4) % VICTIM_PILES.length]!;
      this.realRequests++;
      const outcome = await client.authenticate(pid, connector);
      const sid = outcome.steps.find((s) => s.sid)?.sid;
      const attempt: GenuineAttempt = {
        vid: client.vid,
        pid,
        connector,
        ...(sid ? { sid } : {}),
        ok: outcome.ok,
        proved: outcome.steps.some((s) => s.step === 'response-sent'),
        meters: [],
        ...(outcome.ok ? {} : { code: outcome.code }),
      };
      attempts.push(attempt);
      if (!outcome.ok) continue;
      const session = outcome.session;
      const deadline = Date.now() + 2000;
      while (session.meters.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      try {
        attempt.receipt = await session.stop({ timeoutMs: 15_000, retryMs: 1000 });
      } catch (error) {
        attempt.error = (error as Error).message;
      }
      attempt.meters = session.meters.map((m) => ({ seq: m.seq, wh: m.reading.wh }));
    }
  }

  /** The attacker charges at its own pile too: genuine material (its own requests, proofs, stops) to replay. */
  private async attackerOwnSession(): Promise<void> {
    this.realRequests++;
    const outcome = await this.attackerVehicle.authenticate(ATTACKER_PILE, 1);
    if (!outcome.ok) return;
    await new Promise((r) => setTimeout(r, 250));
    await outcome.session.stop({ timeoutMs: 8000 }).catch(() => {});
  }

  private sessionRecords() {
    const store = new SessionStore(path.join(this.system.gatewayDir, 'data'));
    try {
      return store.recent(100_000);
    } finally {
      store.closeDatabase();
    }
  }

  /** The piles' memory gauges, and the most each may hold given only the real vehicles' own requests. */
  private async memory(): Promise<{ memory: Record<string, number>; memoryBounds: Record<string, number> }> {
    const text = await this.system.gatewayMetrics();
    const memory: Record<string, number> = {};
    for (const m of text.matchAll(/^evauth_gateway_pile_memory_entries\{memory="(\w+)"[^}]*\} (\d+)/gm))
      memory[m[1]!] = Number(m[2]);
    if (Object.keys(memory).length === 0) throw new Error('the gateway exposes no pile memory gauges');
    // a genuine vehicle at its site's piles and the attacker at its own: never a vid someone made up
    const vehicles = this.genuineVids.size * VICTIM_PILES.length + 1;
    return {
      memory,
      memoryBounds: {
        pending: DEFAULT_PILE_LIMITS.maxPending * PILES.length,
        // one sid entry and one (tid, r1) entry per request that passed step 5
        replay: 2 * this.realRequests,
        committing: this.realRequests,
        completed: this.realRequests,
        vehicles,
        failedProofs: vehicles,
        lockouts: vehicles,
      },
    };
  }

  async close(): Promise<void> {
    await this.attackerVehicle?.close().catch(() => {});
    await this.system.close();
  }
}
