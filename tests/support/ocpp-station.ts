/**
 * An OCPP charging station for tests, built on ocpp-rpc's client in strict mode (every call and answer checked
 * against the version's schema, as a real station's stack would): boots, reports its connectors, takes remote
 * starts and stops, meters energy while charging (the register rises by `whPerTick` every `tickMs`), and while
 * disconnected queues what it would have sent (2.0.1: offline:true with seqNo), sending it on reconnect.
 */
import { RPCClient } from 'ocpp-rpc';

export type StationProtocol = 'ocpp2.0.1' | 'ocpp1.6';

export interface TestStationOptions {
  /** ws://host:port/ocpp (the station appends its id) */
  endpoint: string;
  stationId: string;
  password: string;
  protocol: StationProtocol;
  connectors?: number;
  /** how the station answers a remote start */
  onStart?: 'accept' | 'reject' | 'silent';
  /** 2.0.1: the transaction starts when the cable is plugged in (TxStartPoint EVConnected) */
  txOnPlug?: boolean;
  tickMs?: number;
  whPerTick?: number;
  /** W reported while charging */
  powerW?: number;
  /** the meter signs its begin and end readings (OCMF text) */
  signed?: boolean;
  /** wss://: the certificate authority the station trusts (security profile 2) */
  ca?: Buffer;
}

export interface Tx {
  id: string;
  connector: number;
  startRegister: number;
  charging: boolean;
  idToken?: string;
}

export class TestStation {
  readonly options: Required<Omit<TestStationOptions, 'signed' | 'txOnPlug' | 'ca'>> & {
    signed: boolean;
    txOnPlug: boolean;
  };
  readonly client: RPCClient;
  /** Wh on each connector's meter */
  readonly register = new Map<number, number>();
  readonly plugged = new Set<number>();
  readonly tx = new Map<number, Tx>();
  /** every remote start the gateway sent */
  readonly starts: Record<string, unknown>[] = [];
  readonly stops: Record<string, unknown>[] = [];
  /** transactions that ended, with the register at their end */
  readonly ended: (Tx & { endRegister: number; reason: string })[] = [];
  /** the answers the gateway gave to the station's calls, by method */
  readonly answers: { method: string; answer: unknown }[] = [];
  private seqNo = 0;
  private online = false;
  private readonly queue: { method: string; params: Record<string, unknown> }[] = [];
  private ticker?: ReturnType<typeof setInterval>;

  constructor(options: TestStationOptions) {
    this.options = {
      connectors: 2,
      onStart: 'accept',
      tickMs: 50,
      whPerTick: 5,
      powerW: 11_000,
      signed: false,
      txOnPlug: false,
      ...options,
    };
    for (let c = 1; c <= this.options.connectors; c++) this.register.set(c, 100_000 + c * 1000);
    this.client = new RPCClient({
      endpoint: options.endpoint,
      identity: options.stationId,
      password: options.password,
      protocols: [options.protocol],
      strictMode: true,
      reconnect: false,
      ...(options.ca ? { wsOpts: { ca: options.ca } } : {}),
    } as ConstructorParameters<typeof RPCClient>[0]);
    this.client.handle(
      this.v16 ? 'RemoteStartTransaction' : 'RequestStartTransaction',
      async ({ params }) => {
        this.starts.push(params ?? {});
        return this.answerStart(params ?? {});
      },
    );
    this.client.handle(this.v16 ? 'RemoteStopTransaction' : 'RequestStopTransaction', async ({ params }) => {
      this.stops.push(params ?? {});
      const id = String((params as { transactionId: string | number }).transactionId);
      const tx = [...this.tx.values()].find((t) => t.id === id);
      if (!tx) return { status: 'Rejected' };
      setTimeout(() => void this.endTx(tx, 'Remote'), 5);
      return { status: 'Accepted' };
    });
  }

  get v16(): boolean {
    return this.options.protocol === 'ocpp1.6';
  }

  /** Connects (rejects when the gateway refuses the upgrade), boots and reports every connector. */
  async connect(): Promise<void> {
    await this.client.connect();
    this.online = true;
    await this.call(
      'BootNotification',
      this.v16
        ? { chargePointVendor: 'evauth-test', chargePointModel: 'sim' }
        : { reason: 'PowerUp', chargingStation: { vendorName: 'evauth-test', model: 'sim' } },
    );
    for (let c = 1; c <= this.options.connectors; c++) await this.status(c);
    this.ticker ??= setInterval(() => void this.tick(), this.options.tickMs);
  }

  /** Calls the gateway now, or queues the call while disconnected. */
  async call(method: string, params: Record<string, unknown>): Promise<unknown> {
    if (!this.online) {
      this.queue.push({ method, params });
      return undefined;
    }
    let answer: unknown;
    try {
      answer = await this.client.call(method, params);
    } catch (error) {
      // Cut off by a disconnect or the close: queued like any call made while offline (the timers' calls are
      // not awaited by anyone, so a rejection here would go unhandled).
      if (this.online) throw error;
      this.queue.push({ method, params });
      return undefined;
    }
    this.answers.push({ method, answer });
    return answer;
  }

  private statusOf(connector: number): string {
    const tx = this.tx.get(connector);
    if (this.v16) {
      if (tx) return tx.charging ? 'Charging' : 'Preparing';
      return this.plugged.has(connector) ? 'Preparing' : 'Available';
    }
    return this.plugged.has(connector) ? 'Occupied' : 'Available';
  }

  async status(connector: number): Promise<void> {
    const status = this.statusOf(connector);
    await this.call(
      'StatusNotification',
      this.v16
        ? { connectorId: connector, errorCode: 'NoError', status, timestamp: new Date().toISOString() }
        : { timestamp: new Date().toISOString(), connectorStatus: status, evseId: connector, connectorId: 1 },
    );
  }

  async plug(connector: number): Promise<void> {
    this.plugged.add(connector);
    await this.status(connector);
    if (!this.v16 && this.options.txOnPlug) {
      const tx: Tx = {
        id: `tx-${connector}-${Date.now()}`,
        connector,
        startRegister: this.reg(connector),
        charging: false,
      };
      this.tx.set(connector, tx);
      await this.event('Started', tx, 'CablePluggedIn', { chargingState: 'EVConnected' });
    }
  }

  async unplug(connector: number): Promise<void> {
    this.plugged.delete(connector);
    const tx = this.tx.get(connector);
    if (tx) await this.endTx(tx, 'EVDisconnected');
    await this.status(connector);
  }

  private reg(connector: number): number {
    return this.register.get(connector) ?? 0;
  }

  private answerStart(
    params: Record<string, unknown>,
  ): Promise<Record<string, unknown>> | Record<string, unknown> {
    if (this.options.onStart === 'silent') return new Promise(() => undefined);
    if (this.options.onStart === 'reject') return { status: 'Rejected' };
    const connector = Number(this.v16 ? params.connectorId : params.evseId);
    const existing = this.tx.get(connector);
    const token = this.v16 ? String(params.idTag) : (params.idToken as { idToken: string }).idToken;
    setTimeout(() => void this.beginTx(connector, token, Number(params.remoteStartId)), 5);
    return existing && !this.v16
      ? { status: 'Accepted', transactionId: existing.id }
      : { status: 'Accepted' };
  }

  private async beginTx(connector: number, token: string, remoteStartId: number): Promise<void> {
    if (this.v16) {
      const answer = (await this.call('StartTransaction', {
        connectorId: connector,
        idTag: token,
        meterStart: this.reg(connector),
        timestamp: new Date().toISOString(),
      })) as { transactionId: number; idTagInfo: { status: string } } | undefined;
      if (answer?.idTagInfo.status !== 'Accepted') return;
      this.tx.set(connector, {
        id: String(answer.transactionId),
        connector,
        startRegister: this.reg(connector),
        charging: true,
        idToken: token,
      });
      await this.status(connector);
      return;
    }
    const existing = this.tx.get(connector);
    if (existing) {
      existing.charging = true;
      existing.idToken = token;
      await this.event('Updated', existing, 'RemoteStart', { chargingState: 'Charging', remoteStartId });
      return;
    }
    const tx: Tx = {
      id: `tx-${connector}-${Date.now()}`,
      connector,
      startRegister: this.reg(connector),
      charging: true,
      idToken: token,
    };
    this.tx.set(connector, tx);
    await this.event('Started', tx, 'RemoteStart', { chargingState: 'Charging', remoteStartId });
  }

  /** A 2.0.1 TransactionEvent with the register (and the power); stops the transaction if told Invalid. */
  async event(
    eventType: 'Started' | 'Updated' | 'Ended',
    tx: Tx,
    triggerReason: string,
    info: Record<string, unknown> = {},
  ): Promise<void> {
    const context =
      eventType === 'Started'
        ? 'Transaction.Begin'
        : eventType === 'Ended'
          ? 'Transaction.End'
          : 'Sample.Periodic';
    const register = {
      value: this.reg(tx.connector),
      measurand: 'Energy.Active.Import.Register',
      context,
      unitOfMeasure: { unit: 'Wh' },
    };
    const sampled: Record<string, unknown>[] = [
      this.options.signed && eventType !== 'Updated'
        ? { ...register, signedMeterValue: this.signedValue(tx.connector, context) }
        : register,
      {
        value: tx.charging && eventType !== 'Ended' ? this.options.powerW : 0,
        measurand: 'Power.Active.Import',
        context,
        unitOfMeasure: { unit: 'W' },
      },
    ];
    const params = {
      eventType,
      timestamp: new Date().toISOString(),
      triggerReason,
      seqNo: this.seqNo++,
      ...(this.online ? {} : { offline: true }),
      transactionInfo: { transactionId: tx.id, ...info },
      ...(eventType === 'Started' || triggerReason === 'RemoteStart'
        ? { evse: { id: tx.connector, connectorId: 1 } }
        : {}),
      ...(tx.idToken && (eventType === 'Started' || triggerReason === 'RemoteStart')
        ? { idToken: { idToken: tx.idToken, type: 'Central' } }
        : {}),
      meterValue: [{ timestamp: new Date().toISOString(), sampledValue: sampled }],
    };
    const answer = (await this.call('TransactionEvent', params)) as
      | { idTokenInfo?: { status: string } }
      | undefined;
    if (answer?.idTokenInfo && answer.idTokenInfo.status !== 'Accepted' && eventType !== 'Ended') {
      await this.endTx(tx, 'DeAuthorized');
    }
  }

  private signedValue(connector: number, context: string) {
    return {
      signedMeterData: `OCMF|{"FV":"1.0","RD":[{"TX":"${context === 'Transaction.Begin' ? 'B' : 'E'}","RV":${this.reg(connector) / 1000},"RU":"kWh"}]}|{"SD":"3045"}`,
      signingMethod: 'ECDSA-secp256r1-SHA256',
      encodingMethod: 'OCMF',
      publicKey: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE',
    };
  }

  async endTx(tx: Tx, reason: string): Promise<void> {
    if (this.tx.get(tx.connector) !== tx) return;
    this.tx.delete(tx.connector);
    tx.charging = false;
    this.ended.push({ ...tx, endRegister: this.reg(tx.connector), reason });
    if (this.v16) {
      await this.call('StopTransaction', {
        transactionId: Number(tx.id),
        meterStop: this.reg(tx.connector),
        timestamp: new Date().toISOString(),
        reason,
        ...(this.options.signed
          ? {
              transactionData: [
                {
                  timestamp: new Date().toISOString(),
                  sampledValue: [
                    {
                      value: this.signedValue(tx.connector, 'Transaction.End').signedMeterData,
                      format: 'SignedData',
                      context: 'Transaction.End',
                    },
                  ],
                },
              ],
            }
          : {}),
      });
      await this.status(tx.connector);
      return;
    }
    await this.event(
      'Ended',
      tx,
      reason === 'Remote' ? 'RemoteStop' : reason === 'EVDisconnected' ? 'EVDeparted' : 'Deauthorized',
      { stoppedReason: reason, chargingState: 'Idle' },
    );
  }

  /** Energy flows on every charging connector; each tick reports it. */
  private async tick(): Promise<void> {
    for (const tx of this.tx.values()) {
      if (!tx.charging) continue;
      this.register.set(tx.connector, this.reg(tx.connector) + this.options.whPerTick);
      if (this.v16) {
        await this.call('MeterValues', {
          connectorId: tx.connector,
          transactionId: Number(tx.id),
          meterValue: [
            {
              timestamp: new Date().toISOString(),
              sampledValue: [
                {
                  value: String(this.reg(tx.connector)),
                  measurand: 'Energy.Active.Import.Register',
                  unit: 'Wh',
                },
                { value: String(this.options.powerW), measurand: 'Power.Active.Import', unit: 'W' },
              ],
            },
          ],
        });
      } else await this.event('Updated', tx, 'MeterValuePeriodic', { chargingState: 'Charging' });
    }
  }

  /** The connection drops; the station keeps charging and queues what it reports. */
  async disconnect(): Promise<void> {
    this.online = false;
    await this.client.close({ force: true });
  }

  /** Reconnects and sends what it queued, in order. */
  async reconnect(): Promise<void> {
    await this.client.connect();
    this.online = true;
    for (let c = 1; c <= this.options.connectors; c++) await this.status(c);
    for (const { method, params } of this.queue.splice(0)) {
      const answer = await this.client.call(method, params);
      this.answers.push({ method, answer });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.ticker);
    this.online = false;
    await this.client.close({ force: true }).catch(() => undefined);
  }
}
