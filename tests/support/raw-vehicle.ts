/** A vehicle's plain MQTT connection for crafting protocol messages the VehicleClient would never send. */

import type net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import {
  b64uEncode,
  secureRandom,
  type TicketTerms,
  topics,
  type VehicleCredential,
  type VehicleProvisioning,
} from '../../shared/index.js';
import { issueTestCredential } from '../../shared/testing.js';
import { testClientId } from './mqtt.js';

export type Message = Record<string, unknown> & { type?: string; code?: string; sid?: string; mac?: string };

export class RawVehicle {
  private readonly inbox: { topic: string; text: string }[] = [];
  private waiters: (() => void)[] = [];

  private constructor(
    readonly vid: string,
    readonly client: MqttClient,
  ) {
    client.on('message', (topic, payload) => {
      this.inbox.push({ topic, text: payload.toString() });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(provisioning: VehicleProvisioning, mqttUrl: string): Promise<RawVehicle> {
    const client = await mqtt.connectAsync(mqttUrl, {
      clientId: testClientId(provisioning.mqtt.username),
      username: provisioning.mqtt.username,
      password: provisioning.mqtt.password,
      reconnectPeriod: 200,
    });
    (client.stream as net.Socket).setNoDelay?.(true);
    await client.subscribeAsync(topics.vehicleAuth(provisioning.vid), { qos: 1 });
    return new RawVehicle(provisioning.vid, client);
  }

  send(pid: string, payload: string | object): void {
    this.client.publish(
      topics.pileAuth(pid),
      typeof payload === 'string' ? payload : JSON.stringify(payload),
      {
        qos: 1,
      },
    );
  }

  /** The next auth message (raw text) matching the predicate; removes it from the inbox. */
  async nextText(predicate: (m: Message) => boolean = () => true, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex((e) => predicate(JSON.parse(e.text) as Message));
      if (index >= 0) return this.inbox.splice(index, 1)[0]!.text;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message for ${this.vid} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async next(predicate?: (m: Message) => boolean, timeoutMs?: number): Promise<Message> {
    return JSON.parse(await this.nextText(predicate, timeoutMs)) as Message;
  }

  /** Everything received so far and not taken. */
  pending(): Message[] {
    return this.inbox.map((e) => JSON.parse(e.text) as Message);
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

/** A credential made with the pile's real root key but chosen terms (validity window, key offset). */
export function craftedCredential(
  rootKeyB64u: string,
  terms: Omit<TicketTerms, 'iat'> & { iat?: number },
): VehicleCredential {
  return issueTestCredential(
    Buffer.from(rootKeyB64u, 'base64url'),
    { iat: terms.nbf, ...terms },
    secureRandom,
  );
}

export function randomB64u(bytes: number): string {
  return b64uEncode(secureRandom(bytes));
}
