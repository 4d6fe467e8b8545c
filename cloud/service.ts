/**
 * The credential service: one MQTT client logged in as `cloud`. It mirrors the registry's `retained` table to
 * the broker (changes as they happen, everything on each (re)connect), answers credential.request, renews
 * tickets before they expire, and notices changes made by the CLI through SQLite's data_version.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { pooledSecureRandom } from '../node/crypto.js';
import { closeMqtt, connectMqtt, currentNode } from '../node/mqtt-client.js';
import { type RandomSource, topics, usernames } from '../shared/index.js';
import { DEFAULT_TICKET_LIFE_SECONDS, type IssuerOptions, reconcileSteps } from './issuer.js';
import { openRegistry, RegistryError } from './registry.js';
import { handleCredentialRequest, type Outbound, RequestLimiter } from './requests.js';

export interface CloudServiceOptions {
  dataDir: string;
  /** the broker, or every node of a cluster in order of failover */
  mqttUrl: string | readonly string[];
  /** milliseconds since the epoch */
  now?: () => number;
  logger?: Logger;
  /** default 7 days */
  ticketLifeSeconds?: number;
  /** how often the CLI's changes are looked for; default 500 ms */
  pollIntervalMs?: number;
  /** full pass for renewals and expiries; default 5 s */
  reconcileIntervalMs?: number;
  reconnectPeriodMs?: number;
  /** default: the OS CSPRNG, drawn in 4 KiB pools (a pass draws 56 random bytes per credential) */
  random?: RandomSource;
  /** credentials committed and then published together during a pass; default DEFAULT_ISSUE_BATCH */
  issueBatch?: number;
}

export interface CloudService {
  close(): Promise<void>;
  /** resolves once every retained row known now has been published (for tests and start-up) */
  flushed(): Promise<void>;
}

export async function startCloudService(options: CloudServiceOptions): Promise<CloudService> {
  const now = options.now ?? Date.now;
  const log = options.logger;
  const registry = openRegistry(options.dataDir);
  if (!registry.initialised) {
    registry.close();
    throw new RegistryError('NOT_INITIALISED', `${options.dataDir} has no registry; run evauth-cloud init`);
  }
  const issuer: IssuerOptions = {
    ticketLifeSeconds: options.ticketLifeSeconds ?? DEFAULT_TICKET_LIFE_SECONDS,
    random: options.random ?? pooledSecureRandom(),
    ...(options.issueBatch ? { issueBatch: options.issueBatch } : {}),
  };
  const limiter = new RequestLimiter();
  let publishedRev = 0;
  let lastDataVersion = -1;
  let inFlight: Promise<unknown> = Promise.resolve();

  const client: MqttClient = connectMqtt({
    urls: options.mqttUrl,
    username: usernames.cloud,
    password: registry.cloudPassword(),
    clientIdPrefix: 'cloud',
    ...(options.reconnectPeriodMs !== undefined ? { reconnectPeriodMs: options.reconnectPeriodMs } : {}),
  });

  const publish = (m: Outbound) => client.publishAsync(m.topic, m.payload, { qos: 1, retain: m.retain });

  /**
   * Publishes retained rows changed since the last flush; everything after a (re)connect. Only committed rows
   * may reach the broker: a credential the database does not know must never be retained there.
   */
  const flush = () => {
    if (!client.connected || registry.db.inTransaction) return inFlight;
    const rows = registry.db
      .prepare('SELECT rev, topic, payload FROM retained WHERE rev > ? ORDER BY rev')
      .all(publishedRev) as { rev: number; topic: string; payload: string }[];
    if (rows.length === 0) return inFlight;
    publishedRev = rows[rows.length - 1]!.rev;
    const sent = Promise.all(rows.map((r) => publish({ topic: r.topic, payload: r.payload, retain: true })));
    inFlight = Promise.all([inFlight, sent]).catch((err: unknown) => log?.warn({ err }, 'publish failed'));
    log?.debug({ count: rows.length }, 'retained messages published');
    return inFlight;
  };

  let closed = false;
  let passing: Promise<void> | undefined;
  let passWanted: string | undefined;

  /**
   * One reconcile pass, a committed step at a time: each step's rows are published as soon as it commits, and
   * the event loop runs between steps (the socket drains, requests are answered, the CLI gets the database).
   */
  const runPass = async (why: string) => {
    let changed = 0;
    const steps = reconcileSteps(registry, now(), issuer);
    try {
      for (;;) {
        const step = steps.next();
        if (step.done) break;
        changed += step.value;
        if (step.value > 0) void flush();
        await new Promise((resolve) => setImmediate(resolve));
        if (closed) return;
      }
      if (changed > 0) log?.info({ changed, why }, 'registry reconciled');
    } catch (err) {
      log?.error({ err }, 'reconcile failed');
    } finally {
      steps.return();
    }
  };

  /** Passes never overlap: asked for during one, another runs right after it (many asks, one more pass). */
  const pass = (why: string): Promise<unknown> => {
    passWanted = why;
    passing ??= (async () => {
      try {
        while (passWanted !== undefined && !closed) {
          const next = passWanted;
          passWanted = undefined;
          await runPass(next);
          void flush();
        }
      } finally {
        passing = undefined;
      }
    })();
    return passing.then(() => inFlight);
  };

  client.on('connect', () => {
    log?.info({ url: currentNode(client) }, 'cloud connected to broker');
    publishedRev = 0;
    client.subscribe(topics.credentialRequests(), { qos: 1 });
    // A pass under way publishes everything from rev 0 as it goes and when it ends; a second pass right after
    // it would only re-read every pair (and take CPU from the broker delivering the first one).
    if (passing) void passing.then(flush);
    else void pass('connect');
  });
  client.on('error', (err) => log?.warn({ err: err.message }, 'mqtt error'));
  client.on('message', (topic, payload) => {
    if (topic !== topics.credentialRequests()) return;
    try {
      const outcome = handleCredentialRequest(registry, payload, now(), limiter, issuer);
      if (outcome.kind === 'dropped') log?.warn({ reason: outcome.reason }, 'credential.request dropped');
      else
        log?.info(
          {
            outcome: outcome.kind,
            vid: outcome.vid,
            // not `pid`: pino's base fields already hold the process id there, and a second `pid` key makes
            // a JSON line with duplicate keys (one value lost or the line refused, depending on the reader)
            pile: outcome.pid,
            ...('code' in outcome ? { code: outcome.code } : {}),
          },
          'credential.request',
        );
      if (outcome.kind === 'denied' || outcome.kind === 'resent') void publish(outcome.message);
      else if (outcome.kind === 'issued') void flush();
    } catch (err) {
      log?.error({ err }, 'credential.request failed');
    }
  });

  const poll = setInterval(() => {
    const version = registry.db.pragma('data_version', { simple: true }) as number;
    if (version !== lastDataVersion) {
      const first = lastDataVersion === -1;
      lastDataVersion = version;
      if (!first) void pass('registry changed');
    }
  }, options.pollIntervalMs ?? 500);
  const periodic = setInterval(() => void pass('periodic'), options.reconcileIntervalMs ?? 5000);
  void pass('start');

  let closing: Promise<void> | undefined;
  return {
    flushed: async () => {
      await passing;
      await flush();
    },
    close: () => {
      closing ??= (async () => {
        closed = true;
        clearInterval(poll);
        clearInterval(periodic);
        await passing;
        await closeMqtt(client);
        registry.close();
        log?.info('cloud service stopped');
      })();
      return closing;
    },
  };
}
