/**
 * The credential service: one MQTT client logged in as `cloud`. It mirrors the store's retained rows to the
 * broker (changes as they happen, everything on each (re)connect), answers credential.request, renews tickets
 * before they expire, and notices changes made by the CLI through the store's external version.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { pooledSecureRandom } from '../node/crypto.js';
import { closeMqtt, connectMqtt, currentNode } from '../node/mqtt-client.js';
import { type CredentialDenialCode, type RandomSource, topics, usernames } from '../shared/index.js';
import {
  answerCredentialRequest,
  type CredentialRequestContext,
  type DropReason,
  type Outbound,
  RequestLimiter,
  type RequestOutcome,
} from './credential-requests.js';
import { DYNSEC_COMMAND_TOPIC, disableVehicleCommands } from './dynsec-revocations.js';
import type { InstanceShare } from './instances.js';
import { DEFAULT_TICKET_LIFE_SECONDS, type IssuerOptions } from './issuer.js';
import { reconcileSteps } from './reconcile.js';
import { openRegistry, RegistryError } from './registry.js';

export interface CloudServiceOptions {
  dataDir: string;
  /** postgres://…: the registry in PostgreSQL, shared with other instances (else <dataDir>/cloud.db) */
  databaseUrl?: string;
  /** this instance's share of the vehicles' credential.requests when several instances share the registry */
  instance?: InstanceShare;
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
  /**
   * The broker is Mosquitto with the exported dynamic-security plugin: a revoked vehicle's login is disabled
   * (and its connections closed) there through `$CONTROL/dynamic-security/v1`. Default false (aedes reads the
   * registry's logins itself).
   */
  mosquittoDynamicSecurity?: boolean;
}

/** What the credential.requests received since the start came to. */
export interface CredentialRequestStats {
  /** answered with the credential (issued or resent) */
  answered: number;
  denied: Partial<Record<CredentialDenialCode, number>>;
  /** never answered: not shown to come from the vehicle they name, or more waiting than the service holds */
  dropped: Partial<Record<DropReason | 'OVERLOADED', number>>;
}

export interface CloudService {
  close(): Promise<void>;
  /** resolves once connected and every retained row known now has been published (for tests and start-up) */
  flushed(): Promise<void>;
  requestStats(): CredentialRequestStats;
}

/** credential.requests waiting for the store at most; more are dropped (each holds its payload until answered) */
const MAX_PENDING_REQUESTS = 10_000;
/** dropped requests are logged as counts at most this often, so a flood of them is not a flood of log lines */
const DROP_LOG_INTERVAL_MS = 1000;

export async function startCloudService(options: CloudServiceOptions): Promise<CloudService> {
  const now = options.now ?? Date.now;
  const log = options.logger;
  const registry = await openRegistry(options.dataDir, { databaseUrl: options.databaseUrl });
  if (!(await registry.isInitialised())) {
    await registry.close();
    throw new RegistryError('NOT_INITIALISED', `${options.dataDir} has no registry; run evauth-cloud init`);
  }
  const { store } = registry;
  /** piles whose control body does not fit, by the size last logged: each is logged when it first (or again) grows */
  const oversizedControls = new Map<string, number>();
  const issuer: IssuerOptions = {
    ticketLifeSeconds: options.ticketLifeSeconds ?? DEFAULT_TICKET_LIFE_SECONDS,
    random: options.random ?? pooledSecureRandom(),
    ...(options.issueBatch ? { issueBatch: options.issueBatch } : {}),
    onControlTooLarge: (tooLarge) => {
      if ((oversizedControls.get(tooLarge.pid) ?? 0) >= tooLarge.bytes) return;
      oversizedControls.set(tooLarge.pid, tooLarge.bytes);
      const { message, pid, ...detail } = tooLarge;
      // `pile`, not `pid`: pino's base fields hold the process id there
      log?.error({ pile: pid, ...detail }, message);
    },
  };
  const requests: CredentialRequestContext = {
    data: registry,
    limiter: new RequestLimiter(),
    issuer,
    ...(options.instance ? { share: options.instance } : {}),
  };
  const stats: CredentialRequestStats = { answered: 0, denied: {}, dropped: {} };
  /** the drop log: its pending timer, when it last wrote, and the last request dropped */
  let dropLogTimer: NodeJS.Timeout | undefined;
  let dropLoggedAt = Number.NEGATIVE_INFINITY;
  let lastDrop: { reason: string; detail: string } | undefined;
  let pendingRequests = 0;
  let publishedRev = 0;
  /** raised on every (re)connect: a flush that read rows before it must not move publishedRev */
  let connection = 0;
  let lastExternalVersion = -1;
  let inFlight: Promise<unknown> = Promise.resolve();
  let flushing: Promise<unknown> = Promise.resolve();

  const client: MqttClient = connectMqtt({
    urls: options.mqttUrl,
    username: usernames.cloud,
    password: registry.cloudPassword(),
    clientIdPrefix: 'cloud',
    ...(options.reconnectPeriodMs !== undefined ? { reconnectPeriodMs: options.reconnectPeriodMs } : {}),
  });

  const firstConnection = new Promise<void>((resolve) => client.once('connect', () => resolve()));
  const publish = (m: Outbound) => client.publishAsync(m.topic, m.payload, { qos: 1, retain: m.retain });

  /**
   * Publishes retained rows changed since the last flush; everything after a (re)connect. The store hands out
   * committed rows only: a credential it does not hold must never be retained at the broker.
   */
  const publishCommitted = async () => {
    if (!client.connected) return;
    const since = connection;
    const rows = await store.read((tx) => tx.retainedSince(publishedRev));
    if (rows.length === 0 || since !== connection) return;
    publishedRev = rows[rows.length - 1]!.rev;
    const sent = Promise.all(rows.map((r) => publish({ topic: r.topic, payload: r.payload, retain: true })));
    inFlight = Promise.all([inFlight, sent]).catch((err: unknown) => log?.warn({ err }, 'publish failed'));
    log?.debug({ count: rows.length }, 'retained messages published');
  };
  /** Flushes run one after another, so two never publish the same rows. */
  const flush = (): Promise<unknown> => {
    flushing = flushing.then(publishCommitted).catch((err: unknown) => log?.error({ err }, 'flush failed'));
    return flushing;
  };

  let closed = false;
  let passing: Promise<void> | undefined;
  let passWanted: string | undefined;

  /** vehicles whose Mosquitto login this service has disabled (all revoked ones, once it has told Mosquitto) */
  const disabledLogins = new Set<string>();
  /** Disables on Mosquitto the logins of vehicles revoked since it last looked (every one after a start). */
  const cutOffRevokedVehicles = async () => {
    if (!options.mosquittoDynamicSecurity || !client.connected) return;
    const vehicles = await store.read((tx) => tx.vehicles());
    const vids = vehicles
      .filter((v) => v.revoked_at !== null && !disabledLogins.has(v.vid))
      .map((v) => v.vid);
    if (vids.length === 0) return;
    await Promise.all(
      disableVehicleCommands(vids).map((payload) =>
        client.publishAsync(DYNSEC_COMMAND_TOPIC, payload, { qos: 1 }),
      ),
    );
    for (const vid of vids) disabledLogins.add(vid);
    log?.info({ vehicles: vids.length }, 'revoked vehicles disabled on Mosquitto');
  };

  /**
   * One reconcile pass, a committed step at a time: each step's rows are published as soon as it commits, and
   * the event loop runs between steps (the socket drains, requests are answered, the CLI gets the database).
   */
  const runPass = async (why: string) => {
    let changed = 0;
    const steps = reconcileSteps(registry, now(), issuer);
    try {
      for await (const stepChanged of steps) {
        changed += stepChanged;
        if (stepChanged > 0) void flush();
        await new Promise((resolve) => setImmediate(resolve));
        if (closed) return;
      }
      if (changed > 0) log?.info({ changed, why }, 'registry reconciled');
      // a revocation is a change of the registry: the periodic pass (renewals) has none to look for
      if (why !== 'periodic') await cutOffRevokedVehicles();
    } catch (err) {
      log?.error({ err }, 'reconcile failed');
    } finally {
      await steps.return();
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
    return passing.then(() => flushing).then(() => inFlight);
  };

  const logDrops = () => {
    clearTimeout(dropLogTimer);
    dropLogTimer = undefined;
    dropLoggedAt = performance.now();
    log?.warn({ dropped: stats.dropped, ...lastDrop }, 'credential.requests dropped unanswered');
  };
  /** Counts a request dropped unanswered; the counts are logged soon, at most once per DROP_LOG_INTERVAL_MS. */
  const noteDrop = (reason: DropReason | 'OVERLOADED', detail: string) => {
    stats.dropped[reason] = (stats.dropped[reason] ?? 0) + 1;
    lastDrop = { reason, detail };
    dropLogTimer ??= setTimeout(
      logDrops,
      Math.max(0, dropLoggedAt + DROP_LOG_INTERVAL_MS - performance.now()),
    );
  };

  const record = (outcome: RequestOutcome) => {
    if (outcome.kind === 'elsewhere') return;
    if (outcome.kind === 'dropped') return noteDrop(outcome.reason, outcome.detail);
    if (outcome.kind === 'denied') stats.denied[outcome.code] = (stats.denied[outcome.code] ?? 0) + 1;
    else stats.answered++;
    if (outcome.kind === 'denied' && outcome.error)
      log?.error({ err: outcome.error }, 'credential.request failed');
    log?.info(
      {
        outcome: outcome.kind,
        vid: outcome.vid,
        // not `pid`: pino's base fields already hold the process id there, and a second `pid` key makes
        // a JSON line with duplicate keys (one value lost or the line refused, depending on the reader)
        pile: outcome.pid,
        ...(outcome.kind === 'denied' ? { code: outcome.code } : {}),
      },
      'credential.request',
    );
  };

  const answer = async (payload: Uint8Array) => {
    if (pendingRequests >= MAX_PENDING_REQUESTS)
      return noteDrop('OVERLOADED', `${MAX_PENDING_REQUESTS} requests already waiting`);
    pendingRequests++;
    try {
      const outcome = await answerCredentialRequest(requests, payload, now());
      record(outcome);
      if (outcome.kind === 'denied' || outcome.kind === 'resent') void publish(outcome.message);
      else if (outcome.kind === 'issued') void flush();
    } catch (err) {
      log?.error({ err }, 'credential.request failed');
    } finally {
      pendingRequests--;
    }
  };

  client.on('connect', () => {
    log?.info({ url: currentNode(client) }, 'cloud connected to broker');
    publishedRev = 0;
    connection++;
    client.subscribe(topics.credentialRequests(), { qos: 1 });
    // A pass under way publishes everything from rev 0 as it goes and when it ends; a second pass right after
    // it would only re-read every pair (and take CPU from the broker delivering the first one).
    if (passing) void passing.then(flush);
    else void pass('connect');
  });
  client.on('error', (err) => log?.warn({ err: err.message }, 'mqtt error'));
  client.on('message', (topic, payload) => {
    if (topic === topics.credentialRequests()) void answer(payload);
  });

  const poll = setInterval(() => {
    void store.externalVersion().then((version) => {
      if (version === lastExternalVersion) return;
      const first = lastExternalVersion === -1;
      lastExternalVersion = version;
      if (!first) void pass('registry changed');
    });
  }, options.pollIntervalMs ?? 500);
  const periodic = setInterval(() => void pass('periodic'), options.reconcileIntervalMs ?? 5000);
  void pass('start');

  let closing: Promise<void> | undefined;
  return {
    flushed: async () => {
      await firstConnection;
      await passing;
      await flush();
      await inFlight;
    },
    requestStats: () => structuredClone(stats),
    close: () => {
      closing ??= (async () => {
        closed = true;
        clearInterval(poll);
        clearInterval(periodic);
        if (dropLogTimer) logDrops();
        await passing;
        await closeMqtt(client);
        await flushing;
        await registry.close();
        log?.info('cloud service stopped');
      })();
      return closing;
    },
  };
}
