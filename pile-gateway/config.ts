/**
 * The gateway's config file and keystore (docs/architecture.md). Both are validated at load with a clear
 * message naming the bad field; a keystore readable by group or others is refused, because it holds root keys.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as v from 'valibot';
import { receiptSigningKey } from '../node/receipt-signing.js';
import { b64uDecode, ID_PATTERN, OCPP_IDENTITY_PATTERN, parsePileKeystoreEntry } from '../shared/index.js';

const id = v.pipe(v.string(), v.regex(ID_PATTERN, 'must match ^[A-Za-z0-9._-]{1,64}$'));
const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535));
const brokerUrl = v.pipe(v.string(), v.regex(/^(mqtts?|wss?|tcp):\/\//, 'must be an mqtt:// or ws:// URL'));
const ms = (min: number, max: number, fallback: number) =>
  v.optional(v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max)), fallback);

/** The charger behind a pile's connectors: the simulator (default) or an OCPP-J charging station. */
const ChargerSchema = v.variant('kind', [
  v.object({ kind: v.literal('simulator') }),
  v.object({
    kind: v.literal('ocpp'),
    /** the station's OCPP identity: it connects to ws://host:port/ocpp/{stationId} */
    stationId: v.pipe(v.string(), v.regex(OCPP_IDENTITY_PATTERN, 'must be 1-48 OCPP identity characters')),
    /** its HTTP Basic password (security profile 1): 16-40 characters, as OCPP's AuthorizationKey */
    password: v.pipe(v.string(), v.minLength(16), v.maxLength(40)),
  }),
]);

/** The gateway as OCPP-J endpoint (CSMS role) for the stations of its site. */
const OcppSchema = v.object({
  host: v.optional(v.string(), '127.0.0.1'),
  port,
  /** security profile 2: wss:// with this certificate and key (PEM files, relative to the config) */
  tls: v.optional(
    v.object({ cert: v.pipe(v.string(), v.minLength(1)), key: v.pipe(v.string(), v.minLength(1)) }),
  ),
  /** how long a station has to answer RequestStartTransaction / RemoteStartTransaction */
  startTimeoutMs: ms(100, 60_000, 10_000),
  /** the vehicle gives up on a step after 5 s (PROTOCOL §6): it gets its answer within this, TIMEOUT if need be */
  answerWithinMs: ms(100, 4_800, 4_000),
  /** a session whose station stays disconnected this long ends with its last reading (reason charger-offline) */
  offlineGraceMs: ms(100, 86_400_000, 300_000),
  /** how long a stop waits for the station's final reading before the last known one is used */
  stopTimeoutMs: ms(100, 60_000, 10_000),
  /** Heartbeat interval the gateway asks of each station, seconds */
  heartbeatS: v.optional(v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(86_400)), 300),
});

const ConfigSchema = v.object({
  v: v.literal(1),
  gid: id,
  mqtt: v.pipe(
    v.object({
      url: brokerUrl,
      /** every broker node of a cluster in order of failover, beginning with `url` (docs/deploy.md) */
      urls: v.optional(v.pipe(v.array(brokerUrl), v.minLength(1), v.maxLength(64))),
      username: v.pipe(v.string(), v.minLength(1)),
      password: v.pipe(v.string(), v.minLength(1)),
    }),
    v.forward(
      v.check((mqtt) => mqtt.urls === undefined || mqtt.urls[0] === mqtt.url, 'must begin with mqtt.url'),
      ['urls'],
    ),
  ),
  keystore: v.pipe(v.string(), v.minLength(1)),
  dataDir: v.pipe(v.string(), v.minLength(1)),
  http: v.optional(
    v.object({
      host: v.optional(v.string(), '127.0.0.1'),
      port,
      /**
       * the bearer token of the operator side (actions, the operator page): written by `evauth-cloud gateway
       * export`; without one that side is off (docs/gateway.md)
       */
      token: v.optional(
        v.pipe(
          v.string(),
          v.regex(
            /^[A-Za-z0-9._~+/=-]{32,256}$/,
            'must be 32-256 token characters (A-Z a-z 0-9 . _ ~ + / = -)',
          ),
        ),
      ),
    }),
  ),
  ocpp: v.optional(OcppSchema),
  meterIntervalMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(5000)), 5000),
  /**
   * Signed intermediate readings (OCMF TX T) in each receipt's record: one at the first signed meter reading this
   * long after the session's start or the previous one, up to MAX_RECEIPT_INTERMEDIATE_READINGS a session
   * (900000 = every 15 minutes). Absent (default): off, the record has only its start and end readings.
   */
  ocmfReadingIntervalMs: v.optional(
    v.pipe(
      v.number(),
      v.integer('must be a whole number of milliseconds'),
      v.minValue(10, 'must be at least 10 ms'),
      v.maxValue(86_400_000, 'must be at most 86400000 ms (a day)'),
    ),
  ),
  /**
   * SQLite sync level of the session store. 'normal' (default) survives process crashes (SIGKILL) with no fsync
   * on the handshake's path, and checkpoints every second so an OS crash or power loss costs at most about a
   * second of records; 'full' fsyncs every record before the message that depends on it (docs/gateway.md).
   */
  sqliteSync: v.optional(v.picklist(['full', 'normal']), 'normal'),
  /**
   * PROTOCOL §6 migration switch: serve auth.requests without mac (revision-1 vehicles) instead of refusing them
   * with BAD_REQUEST_MAC. Off by default; while on, anyone can again make requests in such a vehicle's name
   * (docs/gateway.md), so turn it off once evauth_gateway_revision1_requests_total stops rising.
   */
  acceptRevision1Requests: v.optional(v.boolean(), false),
  /**
   * Open sessions one vehicle may hold at once, on one pile and across this gateway's piles (its site); a
   * request past either is refused with RATE_LIMITED (docs/security.md). One car stands at one connector.
   */
  openSessionsPerVehicle: v.optional(
    v.object({ pile: v.optional(positiveInt, 1), site: v.optional(positiveInt, 1) }),
    { pile: 1, site: 1 },
  ),
  /** how fast the simulated charger ramps to full power (tests shorten it) */
  rampMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 3000),
  piles: v.pipe(
    v.array(
      v.object({
        pid: id,
        connectors: v.pipe(
          v.array(v.object({ id: v.pipe(positiveInt, v.maxValue(255)), maxW: positiveInt })),
          v.minLength(1),
        ),
        tariff: v.object({
          pricePerKWh: v.pipe(v.string(), v.regex(/^\d{1,12}(\.\d{1,6})?$/, 'must be a decimal string')),
          currency: v.pipe(v.string(), v.regex(/^[A-Z]{3}$/, 'must be a 3-letter currency code')),
        }),
        charger: v.optional(ChargerSchema, { kind: 'simulator' }),
      }),
    ),
    v.minLength(1),
  ),
});

export type GatewayConfig = v.InferOutput<typeof ConfigSchema>;
export type PileConfig = GatewayConfig['piles'][number];
export type OcppConfig = NonNullable<GatewayConfig['ocpp']>;

export interface PileKey {
  pid: string;
  rootKey: Uint8Array;
  keyOffset: number;
  /** PROTOCOL §8a: the P-256 private scalar that signs the pile's receipts (absent in an older keystore) */
  signingKey?: Uint8Array;
}

export interface LoadedGatewayConfig {
  config: GatewayConfig;
  /** folder of the config file; relative paths resolve against it */
  baseDir: string;
  keystorePath: string;
  dataDir: string;
  keys: Map<string, PileKey>;
}

/** A config or keystore problem, with the file and field it concerns. */
export class GatewayConfigError extends Error {
  override readonly name = 'GatewayConfigError';
  constructor(
    readonly code: 'CONFIG_UNREADABLE' | 'CONFIG_INVALID' | 'KEYSTORE_INSECURE' | 'KEYSTORE_INVALID',
    message: string,
  ) {
    super(message);
  }
}

function describeIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  if (!first) return 'invalid';
  const field = first.path?.map((p) => String(p.key)).join('.') || '(top level)';
  return `field ${field}: ${first.message}`;
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new GatewayConfigError(
      'CONFIG_UNREADABLE',
      `cannot read ${what} ${file}: ${(error as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayConfigError(
      what === 'keystore' ? 'KEYSTORE_INVALID' : 'CONFIG_INVALID',
      `${what} ${file} is not JSON`,
    );
  }
}

export function parseGatewayConfig(value: unknown, file = 'config'): GatewayConfig {
  const parsed = v.safeParse(ConfigSchema, value);
  if (!parsed.success)
    throw new GatewayConfigError('CONFIG_INVALID', `${file}: ${describeIssue(parsed.issues)}`);
  const config = parsed.output;
  const seen = new Set<string>();
  const stations = new Set<string>();
  config.piles.forEach((pile, i) => {
    if (pile.charger.kind === 'ocpp') {
      if (!config.ocpp) {
        throw new GatewayConfigError(
          'CONFIG_INVALID',
          `${file}: field piles.${i}.charger: an OCPP charger needs the top-level "ocpp" endpoint`,
        );
      }
      if (stations.has(pile.charger.stationId)) {
        throw new GatewayConfigError(
          'CONFIG_INVALID',
          `${file}: field piles.${i}.charger.stationId: station ${pile.charger.stationId} serves another pile`,
        );
      }
      stations.add(pile.charger.stationId);
    }
    if (seen.has(pile.pid)) {
      throw new GatewayConfigError(
        'CONFIG_INVALID',
        `${file}: field piles.${i}.pid: duplicate pile ${pile.pid}`,
      );
    }
    seen.add(pile.pid);
    const ids = new Set(pile.connectors.map((c) => c.id));
    if (ids.size !== pile.connectors.length) {
      throw new GatewayConfigError(
        'CONFIG_INVALID',
        `${file}: field piles.${i}.connectors: duplicate connector id`,
      );
    }
  });
  return config;
}

/** Loads the keystore; refuses one that group or others can read. */
export function loadKeystore(file: string): Map<string, PileKey> {
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
  } catch (error) {
    throw new GatewayConfigError(
      'CONFIG_UNREADABLE',
      `cannot read keystore ${file}: ${(error as Error).message}`,
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new GatewayConfigError(
      'KEYSTORE_INSECURE',
      `keystore ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`,
    );
  }
  const value = readJson(file, 'keystore') as { v?: unknown; piles?: unknown };
  if (typeof value !== 'object' || value === null || value.v !== 1 || !Array.isArray(value.piles)) {
    throw new GatewayConfigError('KEYSTORE_INVALID', `keystore ${file}: expected {"v":1,"piles":[…]}`);
  }
  const keys = new Map<string, PileKey>();
  value.piles.forEach((entry: unknown, i: number) => {
    const parsed = parsePileKeystoreEntry(entry);
    if (!parsed.ok) {
      throw new GatewayConfigError('KEYSTORE_INVALID', `keystore ${file}: piles.${i}: ${parsed.message}`);
    }
    const signingKey =
      parsed.value.signingKey !== undefined ? b64uDecode(parsed.value.signingKey) : undefined;
    if (signingKey) {
      try {
        receiptSigningKey(signingKey);
      } catch {
        throw new GatewayConfigError(
          'KEYSTORE_INVALID',
          `keystore ${file}: piles.${i}.signingKey: is not a P-256 private key (a scalar from 1 to n - 1)`,
        );
      }
    }
    keys.set(parsed.value.pid, {
      pid: parsed.value.pid,
      rootKey: b64uDecode(parsed.value.rootKey),
      keyOffset: parsed.value.keyOffset,
      ...(signingKey ? { signingKey } : {}),
    });
  });
  return keys;
}

export function loadGatewayConfig(configPath: string): LoadedGatewayConfig {
  const file = path.resolve(configPath);
  const config = parseGatewayConfig(readJson(file, 'config'), file);
  const baseDir = path.dirname(file);
  const keystorePath = path.resolve(baseDir, config.keystore);
  const keys = loadKeystore(keystorePath);
  config.piles.forEach((pile, i) => {
    if (!keys.has(pile.pid)) {
      throw new GatewayConfigError(
        'KEYSTORE_INVALID',
        `${file}: field piles.${i}.pid: pile ${pile.pid} has no root key in keystore ${keystorePath}`,
      );
    }
  });
  return { config, baseDir, keystorePath, dataDir: path.resolve(baseDir, config.dataDir), keys };
}
