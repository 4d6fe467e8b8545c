/**
 * cloud.db's schema: SQLite in WAL mode, versioned with PRAGMA user_version. The broker reads the two views of
 * migration 2 (`broker_logins`, `broker_gateway_piles`) over its own read-only connection: their names and
 * columns are a contract (docs/architecture.md).
 */
import type Database from 'better-sqlite3';

/** Each entry moves the schema from version i to i + 1; never edit a released one, append a new one. */
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE mqtt_users(
    username TEXT PRIMARY KEY,
    scrypt_hash TEXT NOT NULL,
    mosquitto_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE vehicles(
    vid TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    vehicle_key_sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE TABLE gateways(gid TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL);
  CREATE TABLE piles(
    pid TEXT PRIMARY KEY,
    gid TEXT REFERENCES gateways(gid),
    site TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    connectors TEXT NOT NULL,
    price_per_kwh TEXT NOT NULL,
    currency TEXT NOT NULL,
    root_key_sealed BLOB NOT NULL,
    key_offset INTEGER NOT NULL DEFAULT 0,
    control_seq INTEGER NOT NULL DEFAULT 0,
    control_state TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE grants(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    vid TEXT NOT NULL REFERENCES vehicles(vid),
    scope TEXT NOT NULL CHECK (scope IN ('pile', 'site', 'all')),
    target TEXT,
    nbf INTEGER NOT NULL,
    exp INTEGER,
    max_wh INTEGER,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE TABLE tickets(
    tid TEXT PRIMARY KEY,
    vid TEXT NOT NULL REFERENCES vehicles(vid),
    pid TEXT NOT NULL REFERENCES piles(pid),
    grant_id INTEGER,
    off INTEGER NOT NULL,
    iat INTEGER NOT NULL,
    nbf INTEGER NOT NULL,
    exp INTEGER NOT NULL,
    ticket TEXT NOT NULL,
    sealed TEXT NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX tickets_pair ON tickets(vid, pid, iat);
  CREATE INDEX tickets_pile ON tickets(pid, exp);
  CREATE TABLE revocations(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('ticket', 'vehicle', 'grant')),
    target TEXT NOT NULL,
    ts INTEGER NOT NULL
  );
  CREATE TABLE retained(
    rev INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE request_nonces(vid TEXT NOT NULL, nonce TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (vid, nonce));
  CREATE TABLE audit(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT,
    detail TEXT
  );
  `,
  // The broker's read-only login view (docs/architecture.md): who may log in, with which password hash, and a
  // gateway's piles. The broker opens cloud.db read-only and reads nothing else (never the sealed keys' master key).
  `
  CREATE VIEW broker_logins AS
    SELECT u.username AS username, u.scrypt_hash AS password_hash FROM mqtt_users u
    WHERE u.username = 'cloud'
       OR (substr(u.username, 1, 8) = 'vehicle:' AND EXISTS
            (SELECT 1 FROM vehicles v WHERE v.vid = substr(u.username, 9) AND v.revoked_at IS NULL))
       OR (substr(u.username, 1, 8) = 'gateway:' AND EXISTS
            (SELECT 1 FROM gateways g WHERE g.gid = substr(u.username, 9)));
  CREATE VIEW broker_gateway_piles AS SELECT gid, pid FROM piles WHERE gid IS NOT NULL;
  CREATE INDEX piles_gid ON piles(gid);
  `,
  // A vehicle's grants are read for every pile of a pass; old nonces are deleted by time.
  `
  CREATE INDEX grants_vid ON grants(vid);
  CREATE INDEX request_nonces_ts ON request_nonces(ts);
  `,
  // PROTOCOL §8a: each pile's public signing key (SEC1 compressed, b64u) and, where the cloud made the key, its
  // private scalar sealed under the master key (to write it into every keystore export; NULL where the operator
  // made the key on the pile). A pile left without a key here gets one when the registry opens. Each ticket
  // remembers the signKey sealed into its credential, so a pass issues a new one when the pile's key changes.
  `
  ALTER TABLE piles ADD COLUMN sign_key TEXT;
  ALTER TABLE piles ADD COLUMN signing_key_sealed BLOB;
  ALTER TABLE tickets ADD COLUMN sign_key TEXT;
  `,
  // A pile whose charger is an OCPP station (docs/gateway.md): its identity at the gateway's OCPP endpoint and its
  // HTTP Basic password, sealed under the master key (the export writes it in clear into the gateway's config).
  `
  ALTER TABLE piles ADD COLUMN ocpp_station TEXT;
  ALTER TABLE piles ADD COLUMN ocpp_password_sealed BLOB;
  CREATE UNIQUE INDEX piles_ocpp_station ON piles(gid, ocpp_station) WHERE ocpp_station IS NOT NULL;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the schema to SCHEMA_VERSION, one committed migration at a time. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`cloud.db schema version ${current} is newer than this program (${SCHEMA_VERSION})`);
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
