/**
 * The parties of an OCPP test, all real and on loopback: the broker, the pile gateway serving OCPP piles (its
 * OCPP endpoint on a free port), the cloud's part done with the test kit, and vehicle clients.
 */

import mqtt from 'mqtt';
import pino from 'pino';
import type { RunningBroker } from '../../broker/index.js';
import { MemoryCredentialStore, VehicleClient } from '../../head-unit/vehicle/index.js';
import { type RunningGateway, startGateway } from '../../pile-gateway/gateway.js';
import {
  makePile,
  makeVehicle,
  sealedCredentialFor,
  type TestPile,
  tempDir,
  writeGatewayFolder,
} from '../../pile-gateway/testkit.js';
import { testClientId } from './mqtt.js';
import { type StationProtocol, TestStation, type TestStationOptions } from './ocpp-station.js';
import { startTestBroker } from './test-broker.js';

export const PASSWORD = 'test-password';
export const STATION_PASSWORD = 'station-password-0123';
const silent = pino({ level: 'silent' });

/** A pile whose connectors are the EVSEs of OCPP station `stationId`. */
export function ocppPile(pid: string, stationId: string, connectors = 2): TestPile {
  return {
    ...makePile(pid, connectors, 22_000),
    charger: { kind: 'ocpp', stationId, password: STATION_PASSWORD },
  };
}

export class OcppSystem {
  broker!: RunningBroker;
  cloud!: mqtt.MqttClient;
  gateway!: RunningGateway;
  dir = tempDir('ocpp');
  configPath = '';
  private readonly stations: TestStation[] = [];
  private readonly vehicles: VehicleClient[] = [];

  constructor(
    readonly piles: TestPile[],
    private readonly ocpp: Record<string, unknown> = {},
    private readonly meterIntervalMs = 200,
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.broker.mqttPort}`;
  }

  /** ws://, or wss:// when the endpoint has TLS */
  get endpoint(): string {
    return `${this.ocpp.tls ? 'wss' : 'ws'}://127.0.0.1:${this.gateway.ocppPort}/ocpp`;
  }

  async start(): Promise<this> {
    this.broker = await startTestBroker({ password: PASSWORD, piles: this.piles.map((p) => p.pid) });
    this.cloud = await mqtt.connectAsync(this.url, {
      clientId: testClientId('cloud'),
      username: 'cloud',
      password: PASSWORD,
    });
    this.configPath = writeGatewayFolder(this.dir, {
      gid: 'gw-ocpp',
      mqttUrl: this.url,
      password: PASSWORD,
      piles: this.piles,
      meterIntervalMs: this.meterIntervalMs,
      ocpp: { answerWithinMs: 1500, startTimeoutMs: 3000, stopTimeoutMs: 2000, ...this.ocpp },
    });
    await this.startGateway();
    return this;
  }

  async startGateway(): Promise<RunningGateway> {
    this.gateway = await startGateway(this.configPath, { logger: silent });
    await this.gateway.ready;
    return this.gateway;
  }

  /** A connected, booted station of this system's endpoint. */
  async station(
    stationId: string,
    protocol: StationProtocol,
    options: Partial<TestStationOptions> = {},
  ): Promise<TestStation> {
    const station = new TestStation({
      endpoint: this.endpoint,
      stationId,
      password: STATION_PASSWORD,
      protocol,
      ...options,
    });
    this.stations.push(station);
    await station.connect();
    return station;
  }

  /** A vehicle client holding a credential for `pile`. */
  async vehicle(vid: string, pile: TestPile): Promise<VehicleClient> {
    const provisioning = makeVehicle(vid, this.url, PASSWORD);
    const client = new VehicleClient({ provisioning, store: new MemoryCredentialStore() });
    this.vehicles.push(client);
    await client.start();
    const sealed = sealedCredentialFor(provisioning, pile);
    const got = client.once('credential');
    await this.cloud.publishAsync(sealed.topic, sealed.payload, { qos: 1, retain: true });
    await got;
    return client;
  }

  /** Waits until the pile's retained status, as the vehicle sees it, satisfies `check`. */
  async statusOf(
    client: VehicleClient,
    pid: string,
    check: (c: { id: number; state: string; plugged?: boolean }[]) => boolean,
  ): Promise<void> {
    const deadline = Date.now() + 3000;
    while (!check(client.pileStatus.get(pid)?.connectors ?? [])) {
      if (Date.now() > deadline)
        throw new Error(`status of ${pid}: ${JSON.stringify(client.pileStatus.get(pid))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The gateway process dies without ending anything: its store keeps the open records (a crash, SIGKILL). */
  async crashGateway(): Promise<void> {
    for (const pile of this.gateway.piles.values())
      (pile as unknown as { charging: { endAll(): void } }).charging.endAll = () => undefined;
    await this.gateway.close();
  }

  async close(): Promise<void> {
    for (const s of this.stations.splice(0)) await s.close();
    for (const v of this.vehicles.splice(0)) await v.close();
    await this.gateway?.close();
    await this.cloud?.endAsync();
    await this.broker?.close();
  }
}

export { makePile };
