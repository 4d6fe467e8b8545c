/** The embedded aedes broker: TCP (+ optional TLS) and WebSocket (+ optional WSS) listeners, login, §9 rights. */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import tls from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { createWebSocketStream, WebSocketServer } from 'ws';
import {
  MAX_CONTROL_PAYLOAD_BYTES,
  mayPublish,
  maySubscribe,
  type Principal,
  parseTopic,
} from '../shared/index.js';
import { ClusterLink, type ClusterOptions, redactedRedisUrl } from './cluster.js';
import { GuardedConnection } from './frame-guard.js';
import { LoginGate, type LoginGateOptions } from './login-gate.js';
import {
  DEFAULT_SESSION_LIMITS,
  LoginSessions,
  PublishBucket,
  type SessionLimits,
} from './session-policy.js';

export interface BrokerOptions {
  /** interface to listen on; default 127.0.0.1 */
  host?: string;
  /** MQTT over TCP (or TLS when `tls` is set); 0 = any free port */
  mqttPort: number;
  /** MQTT over WebSocket on path `wsPath` (or WSS when `tls` is set); omitted = no WebSocket listener */
  wsPort?: number;
  wsPath?: string;
  /** who may log in: the registry's login view (LoginView), or any source with the same methods (tests) */
  logins: LoginSource;
  /** default 500 ms */
  loginRecheckMs?: number;
  tls?: { certPath: string; keyPath: string };
  logger?: Logger;
  /** largest MQTT packet accepted, fixed header included; default 64 KiB (protocol payloads are ≤ 8 KiB) */
  maxPacketBytes?: number;
  /** open connections per listener; default 10 000 */
  maxConnections?: number;
  /** largest keep-alive a client may ask for, seconds; 0 (none) is refused too; default 600 */
  keepaliveLimitSeconds?: number;
  /** time a socket gets to send CONNECT, and an HTTP upgrade its headers; default 10 s */
  connectTimeoutMs?: number;
  /** what password checks may cost (login-gate.ts) */
  loginGate?: LoginGateOptions;
  /** what one login may hold (session-policy.ts) */
  sessionLimits?: Partial<SessionLimits>;
  /** a client that has not read what it was sent for this long is dropped; default 5 s */
  drainTimeoutMs?: number;
  /** a node of a cluster sharing this Redis (cluster.ts); omitted = one broker on its own, state in memory */
  cluster?: ClusterOptions;
}

export interface LoginSource {
  authenticate(username: string, password: string): Principal | undefined | Promise<Principal | undefined>;
  /**
   * Where logins can change while clients are connected (the registry's login view): the broker asks `changed()`
   * every `loginRecheckMs` and then re-checks every connected client with `principalOf`. A client whose login is
   * gone (a revoked vehicle) is disconnected at once; a gateway's rights follow its piles.
   */
  changed?(): boolean;
  principalOf?(username: string): Principal | undefined;
  /** the principal of a login that verified before with this password, without a password check (cheap) */
  knownLogin?(username: string, password: string): Principal | undefined;
}

export interface RunningBroker {
  mqttPort: number;
  wsPort?: number;
  close(): Promise<void>;
}

/**
 * The cloud login's packet limit: a pile.control payload (PROTOCOL §7, up to 256 KiB) with its topic and headers.
 * Only the cloud gets it, and only for piles/+/control; every other client and topic keeps `maxPacketBytes`.
 */
export const CONTROL_PACKET_BYTES = MAX_CONTROL_PAYLOAD_BYTES + 1024;

const SERVER_UNAVAILABLE = 3;
const BAD_LOGIN = 4;

function refusal(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

function loginError(): AuthenticateError {
  return refusal(BAD_LOGIN, 'bad username or password');
}

/** The peer address of a connection (the guard in front of every socket carries it). */
function sourceOf(client: Client): string {
  return (client.conn as Partial<GuardedConnection>).remoteAddress ?? 'unknown';
}

export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const host = options.host ?? '127.0.0.1';
  const maxPacketBytes = options.maxPacketBytes ?? 64 * 1024;
  const maxConnections = options.maxConnections ?? 10_000;
  const log = options.logger;
  const principals = new WeakMap<Client, Principal>();
  const loginOf = new WeakMap<Client, string>();
  const buckets = new WeakMap<Client, PublishBucket>();
  const connected = new Set<Client>();
  const limits: SessionLimits = { ...DEFAULT_SESSION_LIMITS, ...options.sessionLimits };
  const sessions = new LoginSessions<Client>(limits);
  const gate = new LoginGate(options.loginGate);
  const cluster = options.cluster ? new ClusterLink(options.cluster, log) : undefined;
  /** a cluster node without Redis takes nobody (cluster.ts): the CONNACK says "server unavailable" */
  const unavailable = (client: Client, username: string | undefined) => {
    if (!cluster || cluster.reachable) return false;
    log?.debug({ username, clientId: client.id }, 'mqtt connection refused: no redis');
    return true;
  };

  const aedes = await Aedes.createBroker({
    ...(cluster
      ? { mq: cluster.mq, persistence: cluster.persistence, heartbeatInterval: cluster.heartbeatMs }
      : {}),
    keepaliveLimit: options.keepaliveLimitSeconds ?? 600,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    drainTimeout: options.drainTimeoutMs ?? 5000,
    authenticate(client, username, password, done) {
      if (unavailable(client, username)) return done(refusal(SERVER_UNAVAILABLE, 'no redis'), false);
      if (username === undefined || password === undefined) return done(loginError(), false);
      const source = sourceOf(client);
      const secret = password.toString('utf8');
      // a login that verified before costs no password check, so it never waits behind anyone's
      const known = options.logins.knownLogin?.(username, secret);
      (known
        ? Promise.resolve({ result: known })
        : gate.admit(source, username, async () => options.logins.authenticate(username, secret))
      ).then(
        (outcome) => {
          const principal = 'result' in outcome ? outcome.result : undefined;
          if (!principal) {
            const refused = 'refused' in outcome ? outcome.refused : 'password';
            log?.info({ username, clientId: client.id, source, refused }, 'mqtt login refused');
            return done(loginError(), false);
          }
          const policy = sessions.check(principal, username, client.id, client.clean);
          if (policy) {
            log?.warn({ username, clientId: client.id, reason: policy.reason }, 'mqtt session refused');
            return done(refusal(policy.code, policy.reason), false);
          }
          // Redis may have gone while the password was checked
          if (unavailable(client, username)) return done(refusal(SERVER_UNAVAILABLE, 'no redis'), false);
          principals.set(client, principal);
          loginOf.set(client, username);
          if (principal.kind === 'cloud')
            (client.conn as Partial<GuardedConnection>).allowPacketsUpTo?.(CONTROL_PACKET_BYTES);
          if (principal.kind === 'vehicle')
            buckets.set(client, new PublishBucket(limits.authPublishesPerSecond, limits.authPublishBurst));
          done(null, true);
        },
        (err: unknown) => {
          log?.error({ err, username }, 'mqtt login check failed');
          done(loginError(), false);
        },
      );
    },
    authorizePublish(client, packet, callback) {
      if (!client) return callback(null); // the broker's own messages
      const principal = principals.get(client);
      if (!principal || !mayPublish(principal, packet.topic, packet.retain)) {
        log?.warn({ clientId: client.id, topic: packet.topic, retain: packet.retain }, 'publish refused');
        return callback(new Error('publish not authorised'));
      }
      // the cloud's larger packets are for pile.control only
      if (packet.payload.length > maxPacketBytes && parseTopic(packet.topic)?.kind !== 'pileControl') {
        log?.warn(
          { clientId: client.id, topic: packet.topic, bytes: packet.payload.length },
          'publish too large',
        );
        return callback(new Error('publish too large'));
      }
      // MQTT 3.1.1 cannot refuse one PUBLISH: a connection over its rate is closed (and must log in again)
      if (buckets.get(client)?.take() === false) {
        log?.warn({ clientId: client.id, topic: packet.topic }, 'publish rate exceeded; connection closed');
        return callback(new Error('publish rate exceeded'));
      }
      callback(null);
    },
    authorizeSubscribe(client, subscription, callback) {
      const principal = principals.get(client);
      if (principal && maySubscribe(principal, subscription.topic)) return callback(null, subscription);
      log?.warn({ clientId: client.id, filter: subscription.topic }, 'subscribe refused');
      callback(null, null); // SUBACK 0x80 for this filter; the connection stays
    },
  });

  aedes.on('clientReady', (client) => {
    connected.add(client);
    const username = loginOf.get(client);
    if (username !== undefined) sessions.opened(username, client);
  });
  // persistence failures (Redis) surface here; unheard, an EventEmitter 'error' would end the process
  (aedes as NodeJS.EventEmitter).on('error', (err: Error) =>
    log?.error({ err: err.message }, 'broker error'),
  );
  cluster?.onChange((reachable) => {
    const redis = redactedRedisUrl(options.cluster?.redisUrl ?? '');
    if (reachable) {
      log?.info({ redis }, 'redis reachable: accepting connections');
      return;
    }
    log?.error(
      { redis, closing: connected.size },
      "redis unreachable: refusing new connections and closing this node's until it is back",
    );
    for (const client of [...connected]) {
      connected.delete(client);
      // not client.close(): aedes ends the socket only once its unsubscribes reached Redis, which now waits
      client.conn.destroy();
    }
  });
  aedes.on('clientDisconnect', (client) => {
    connected.delete(client);
    const username = loginOf.get(client);
    if (username !== undefined) sessions.closed(username, client);
  });

  /** Re-checks every connected client against the logins as they are now. */
  const recheckLogins = () => {
    const logins = options.logins;
    if (!logins.changed?.() || !logins.principalOf) return;
    for (const client of connected) {
      const username = loginOf.get(client);
      const principal = username === undefined ? undefined : logins.principalOf(username);
      if (principal) {
        principals.set(client, principal);
        continue;
      }
      log?.warn({ username, clientId: client.id }, 'login withdrawn; connection closed');
      principals.delete(client);
      connected.delete(client);
      client.close();
    }
  };
  const loginRecheck = options.logins.changed
    ? setInterval(recheckLogins, options.loginRecheckMs ?? 500)
    : undefined;
  loginRecheck?.unref();

  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const onSocket = (socket: net.Socket | tls.TLSSocket) => {
    track(socket);
    aedes.handle(guard(socket, socket.remoteAddress));
  };
  const guard = (stream: net.Socket | import('node:stream').Duplex, remoteAddress: string | undefined) =>
    new GuardedConnection(
      stream,
      maxPacketBytes,
      () => log?.warn({ maxPacketBytes }, 'packet over the size limit; connection closed'),
      remoteAddress,
    );

  const mqttServer = options.tls
    ? tls.createServer(
        { cert: readFileSync(options.tls.certPath), key: readFileSync(options.tls.keyPath) },
        onSocket,
      )
    : net.createServer(onSocket);
  mqttServer.maxConnections = maxConnections;
  servers.push(mqttServer);
  const mqttPort = await listen(mqttServer, options.mqttPort, host);

  let wsPort: number | undefined;
  let wss: WebSocketServer | undefined;
  if (options.wsPort !== undefined) {
    // An upgrade gets as long for its headers as a TCP client gets for its CONNECT (Node checks every second).
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const httpOptions = {
      headersTimeout: connectTimeoutMs,
      requestTimeout: connectTimeoutMs,
      connectionsCheckingInterval: 1000,
    };
    const httpServer = options.tls
      ? https.createServer({
          ...httpOptions,
          cert: readFileSync(options.tls.certPath),
          key: readFileSync(options.tls.keyPath),
        })
      : http.createServer(httpOptions);
    httpServer.maxConnections = maxConnections;
    httpServer.on('connection', track);
    httpServer.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
    });
    wss = new WebSocketServer({
      server: httpServer,
      path: options.wsPath ?? '/mqtt',
      maxPayload: maxPacketBytes,
    });
    wss.on('connection', (socket, request) => {
      const stream = createWebSocketStream(socket);
      stream.on('error', () => socket.terminate());
      aedes.handle(guard(stream, request.socket.remoteAddress), request);
    });
    servers.push(httpServer);
    wsPort = await listen(httpServer, options.wsPort, host);
  }
  log?.info({ host, mqttPort, wsPort, tls: Boolean(options.tls) }, 'broker listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(loginRecheck);
      const stopped = Promise.all(servers.map((s) => closeServer(s)));
      // aedes's close waits for its emitter to say goodbye to Redis: not forever, when Redis is gone
      await Promise.race([
        new Promise<void>((resolve) => aedes.close(() => resolve())),
        ...(cluster ? [new Promise((resolve) => setTimeout(resolve, 1000))] : []),
      ]);
      await cluster?.close();
      for (const client of wss?.clients ?? []) client.terminate();
      for (const socket of sockets) socket.destroy();
      await stopped;
      log?.info('broker stopped');
    })();
    return closing;
  };
  return { mqttPort, ...(wsPort !== undefined ? { wsPort } : {}), close };
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
