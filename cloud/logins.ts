/**
 * MQTT logins: password hashes (scrypt for our broker, PBKDF2 for a Mosquitto export). Hashing is slow on
 * purpose, so it happens before the unit of work that stores the row. The broker does not come here: it reads
 * the `broker_logins` and `broker_gateway_piles` views over its own read-only connection (docs/architecture.md),
 * so it never holds the master key.
 */
import { mosquittoHash, scryptHash, verifyScryptHashSync } from '../node/password-hash.js';
import { unixSeconds } from '../shared/index.js';
import type { LoginRow } from './store/records.js';

export function loginRow(username: string, password: string, nowMs = Date.now()): LoginRow {
  return {
    username,
    scrypt_hash: scryptHash(password),
    mosquitto_hash: mosquittoHash(password),
    created_at: unixSeconds(nowMs),
  };
}

/** Whether the password is the login's current one (the CLI keeps a gateway's password on re-export). */
export function passwordMatches(login: LoginRow | undefined, password: string): boolean {
  return login !== undefined && verifyScryptHashSync(login.scrypt_hash, password);
}
