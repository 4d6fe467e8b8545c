/**
 * A counterfeit pile for the end-to-end tests: pile P9's id and its gateway's broker login, but not its root key.
 * It cannot check a request's mac (that needs the AK of the real root key), so, as a counterfeit would, it skips
 * that check and answers with a challenge of its own: the vehicle must refuse it (PILE_NOT_AUTHENTIC) and never
 * send it a proof. (The pile software itself, given a wrong root key, refuses the request at step 5 instead:
 * tests/integration/keys.test.ts.) It records the type of every message on P9's auth topic, and publishes P9's
 * retained status, as a gateway would.
 */
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import {
  clientIdPrefixOf,
  PileAuthenticator,
  PileControlState,
  secureRandom,
  topics,
} from '../../shared/index.js';

export interface CounterfeitPile {
  /** the same login, for what any gateway could publish (forged readings) */
  client: MqttClient;
  /** auth messages seen on the pile's topic, by type */
  seen: string[];
  close(): void;
}

export async function startCounterfeitPile(configPath: string, pid: string): Promise<CounterfeitPile> {
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as {
    gid: string;
    mqtt: { url: string; username: string; password: string };
    piles: {
      pid: string;
      connectors: { id: number; maxW: number }[];
      tariff: { pricePerKWh: string; currency: string };
    }[];
  };
  const pile = config.piles.find((p) => p.pid === pid);
  if (!pile) throw new Error(`counterfeit pile: ${pid} is not in ${configPath}`);
  const authenticator = new PileAuthenticator({
    pid,
    rootKey: secureRandom(32),
    connectors: pile.connectors,
    tariff: pile.tariff,
    control: PileControlState.fromKeyOffset(0),
    now: Date.now,
    random: secureRandom,
    // It takes any request once the mac (which it cannot check) is gone.
    acceptRevision1Requests: true,
  });
  const seen: string[] = [];
  const client = mqtt.connect(config.mqtt.url, {
    username: config.mqtt.username,
    password: config.mqtt.password,
    clientId: `${clientIdPrefixOf(config.mqtt.username)}e2e-counterfeit`,
    reconnectPeriod: 200,
  });
  const status = () =>
    JSON.stringify({
      v: 1,
      pid,
      gid: config.gid,
      ts: Math.floor(Date.now() / 1000),
      connectors: pile.connectors.map((c) => ({ id: c.id, state: 'available', plugged: true })),
    });
  client.on('connect', () => {
    (client.stream as net.Socket).setNoDelay?.(true);
    client.subscribe(topics.pileAuth(pid), { qos: 1 });
    client.publish(
      topics.gatewayStatus(config.gid),
      JSON.stringify({ v: 1, gid: config.gid, online: true }),
      {
        qos: 1,
        retain: true,
      },
    );
    client.publish(topics.pileStatus(pid), status(), { qos: 1, retain: true });
  });
  client.on('message', (_topic, payload) => {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(payload.toString()) as Record<string, unknown>;
    } catch {
      seen.push('unparsable');
      return;
    }
    seen.push(String(message.type));
    if (message.type === 'auth.request') delete message.mac;
    for (const out of authenticator.handle(JSON.stringify(message))) {
      if (out.kind === 'send') client.publish(out.topic, out.payload, { qos: 1 });
    }
  });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  return {
    client,
    seen,
    close: () => {
      client.publish(
        topics.gatewayStatus(config.gid),
        JSON.stringify({ v: 1, gid: config.gid, online: false }),
        {
          qos: 1,
          retain: true,
        },
      );
      client.end();
    },
  };
}
