/**
 * The bare pile: a reference for the gateway in the same run. One process serving the same piles over one MQTT
 * connection with only what the protocol needs on the wire — the shared `PileAuthenticator` (its checks and
 * in-memory limits) and `PileSession` signing: challenge, result, first meter reading, and the receipt for a
 * stop. No session database, status, logs, metrics or charger. The difference between it and the gateway at
 * the same load is what the gateway's durability and observability cost.
 *
 * `node --import tsx bench/loadgen/bare-pile.ts <gateway config.json>`; prints "serving piles" when subscribed.
 */
import type net from 'node:net';
import mqtt from 'mqtt';
import { nodeCryptoBackend, pooledSecureRandom } from '../../node/crypto.js';
import { loadGatewayConfig } from '../../pile-gateway/config.js';
import { subscribeInBatches } from '../../pile-gateway/gateway-connection.js';
import { signedReceipt } from '../../pile-gateway/messages.js';
import {
  installCryptoBackend,
  mqttClientLog,
  PileAuthenticator,
  PileControlState,
  PileSession,
  parseTopic,
  topics,
  unixSeconds,
} from '../../shared/index.js';

interface OpenSession {
  signer: PileSession;
  vid: string;
  connector: number;
  startedAt: number;
  pricePerKWh: string;
  currency: string;
}

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: bare-pile.ts <gateway config.json>');
  process.exit(2);
}
const { config, keys } = loadGatewayConfig(configPath);
installCryptoBackend(nodeCryptoBackend);
const random = pooledSecureRandom();

const client = mqtt.connect(config.mqtt.url, {
  username: config.mqtt.username,
  password: config.mqtt.password,
  clientId: `gateway-${config.gid}-bare-pile`,
  reconnectPeriod: 500,
  log: mqttClientLog(process.env.DEBUG),
  reschedulePings: false,
});
client.on('connect', () => (client.stream as net.Socket).setNoDelay?.(true));
client.on('error', (error) => console.error(`bare pile: ${error.message}`));
const publish = (topic: string, payload: string) => client.publish(topic, payload, { qos: 1 });

interface BarePile {
  authenticator: PileAuthenticator;
  sessions: Map<string, OpenSession>;
}
const piles = new Map<string, BarePile>();
for (const pile of config.piles) {
  const key = keys.get(pile.pid)!;
  piles.set(pile.pid, {
    authenticator: new PileAuthenticator({
      pid: pile.pid,
      rootKey: key.rootKey,
      connectors: pile.connectors,
      tariff: pile.tariff,
      control: PileControlState.fromKeyOffset(key.keyOffset),
      now: Date.now,
      random,
    }),
    sessions: new Map(),
  });
}

function handle(pile: BarePile, payload: Buffer): void {
  for (const out of pile.authenticator.handle(payload)) {
    if (out.kind === 'send') publish(out.topic, out.payload);
    else if (out.kind === 'authorized') {
      const s = out.session;
      const session: OpenSession = {
        signer: new PileSession({ sid: s.sid, sk: s.sk, meterSeq: 0, stopSeq: 0 }),
        vid: s.vid,
        connector: s.connector,
        startedAt: s.authorizedAt,
        pricePerKWh: s.offer.pricePerKWh,
        currency: s.offer.currency,
      };
      pile.sessions.set(s.sid, session);
      // Nothing to store: the session is committed at once and auth.result goes out.
      for (const result of pile.authenticator.commit(s.sid))
        if (result.kind === 'send') publish(result.topic, result.payload);
      // After auth.result, as the gateway sends its first reading.
      queueMicrotask(() => {
        const meter = session.signer.signMeter({
          ts: unixSeconds(Date.now()),
          wh: 0,
          w: 0,
          state: 'charging',
        });
        publish(topics.vehicleSession(session.vid), JSON.stringify(meter));
      });
    } else if (out.kind === 'stop') {
      const session = pile.sessions.get(out.message.sid);
      if (!session?.signer.verifyStop(out.message).ok) continue;
      pile.sessions.delete(out.message.sid);
      pile.authenticator.release(session.connector);
      publish(
        topics.vehicleSession(session.vid),
        signedReceipt(session.signer, session, 'stopped', 0, Date.now()),
      );
    }
  }
}

client.on('message', (topic, payload, packet) => {
  const parsed = parseTopic(topic);
  if (packet.retain || parsed?.kind !== 'pileAuth') return;
  const pile = piles.get(parsed.pid);
  if (pile) handle(pile, payload);
});

// Expired challenges are forgotten as in the gateway, so a lost response does not hold a connector forever.
setInterval(() => {
  for (const pile of piles.values())
    for (const out of pile.authenticator.tick()) if (out.kind === 'send') publish(out.topic, out.payload);
}, 1000).unref();

// In batches, as the gateway subscribes: thousands of topics do not fit one SUBSCRIBE under the packet limit.
client.once('connect', async () => {
  await subscribeInBatches(
    client,
    config.piles.map((p) => topics.pileAuth(p.pid)),
  );
  console.log(JSON.stringify({ msg: 'serving piles', piles: piles.size }));
});

const shutdown = () => client.end(false, {}, () => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
