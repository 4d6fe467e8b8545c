/**
 * The records the cloud keeps, as its store hands them out (the columns of cloud.db; a PostgreSQL store has the
 * same). Times are Unix seconds. Sealed keys are sealed under the master key (cloud/secrets.ts): the store never
 * sees a clear key.
 */

export interface VehicleRow {
  vid: string;
  name: string;
  vehicle_key_sealed: Uint8Array;
  created_at: number;
  revoked_at: number | null;
}

export interface GatewayRow {
  gid: string;
  name: string;
  created_at: number;
}

export interface PileRow {
  pid: string;
  gid: string | null;
  site: string;
  name: string;
  address: string;
  lat: number;
  lon: number;
  /** JSON: [{id, maxW, kind?}] */
  connectors: string;
  price_per_kwh: string;
  currency: string;
  root_key_sealed: Uint8Array;
  key_offset: number;
  /** the seq of the last signed pile.control body */
  control_seq: number;
  /** what that body said (offsets and revocations), to sign a new one only when it changes */
  control_state: string | null;
  created_at: number;
  /** PROTOCOL §8a: the pile's public signing key (SEC1 compressed, b64u); null only until the registry opens */
  sign_key: string | null;
  /** its private scalar sealed under the master key, where the cloud made it; null where the operator did */
  signing_key_sealed: Uint8Array | null;
  /** the pile's charger is this OCPP station (its identity at the gateway's endpoint); null: the simulator */
  ocpp_station: string | null;
  /** the station's HTTP Basic password, sealed under the master key */
  ocpp_password_sealed: Uint8Array | null;
}

export type GrantScope = 'pile' | 'site' | 'all';

export interface GrantRow {
  id: number;
  vid: string;
  scope: GrantScope;
  /** pid for scope pile, site for scope site, null for all */
  target: string | null;
  nbf: number;
  exp: number | null;
  max_wh: number | null;
  created_at: number;
  revoked_at: number | null;
}

export interface TicketRow {
  tid: string;
  vid: string;
  pid: string;
  grant_id: number | null;
  off: number;
  iat: number;
  nbf: number;
  exp: number;
  /** the sealed credential (the retained payload of vehicles/{vid}/credentials/{pid}) */
  sealed: string;
  revoked_at: number | null;
  /** the pile's signKey sealed into that credential (null: none, a credential from before §8a) */
  sign_key: string | null;
}

/** A ticket as issued: the row plus the ticket itself (b64u), which is stored but never read back. */
export interface IssuedTicket extends Omit<TicketRow, 'revoked_at'> {
  ticket: string;
}

/** One cloud-owned retained topic; `rev` rises with every change, so a publisher can ask for what it has not sent. */
export interface RetainedRow {
  rev: number;
  topic: string;
  payload: string;
}

export interface LoginRow {
  username: string;
  /** for our broker (node/password-hash.ts) */
  scrypt_hash: string;
  /** PBKDF2-SHA512 in Mosquitto's $7$ form, for export-mosquitto */
  mosquitto_hash: string;
  created_at: number;
}

export type RevocationKind = 'ticket' | 'vehicle' | 'grant';

export interface AuditRow {
  id: number;
  ts: number;
  actor: string;
  action: string;
  subject: string | null;
  /** JSON */
  detail: string | null;
}

export type AuditEntry = Omit<AuditRow, 'id'>;
