/**
 * MQTT logins in cloud.db: password hashes (scrypt for our broker, PBKDF2 for a Mosquitto export). The broker
 * does not come here: it reads the `broker_logins` and `broker_gateway_piles` views over its own read-only
 * connection (docs/architecture.md), so it never holds the master key.
 */
import { mosquittoHash, scryptHash, verifyScryptHashSync } from '../node/password-hash.js';
import type { Db } from './db.js';

export class MqttLogins {
  constructor(private readonly db: Db) {}

  setPassword(username: string, password: string, nowMs = Date.now()): void {
    this.db
      .prepare(
        `INSERT INTO mqtt_users(username, scrypt_hash, mosquitto_hash, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(username) DO UPDATE SET scrypt_hash = excluded.scrypt_hash,
           mosquitto_hash = excluded.mosquitto_hash, created_at = excluded.created_at`,
      )
      .run(username, scryptHash(password), mosquittoHash(password), Math.floor(nowMs / 1000));
  }

  /** Whether the password is the login's current one (the CLI keeps a gateway's password on re-export). */
  verifyPassword(username: string, password: string): boolean {
    const row = this.db.prepare('SELECT scrypt_hash FROM mqtt_users WHERE username = ?').get(username) as
      | { scrypt_hash: string }
      | undefined;
    return row !== undefined && verifyScryptHashSync(row.scrypt_hash, password);
  }
}
