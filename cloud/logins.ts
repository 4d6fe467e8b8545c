/** MQTT logins in cloud.db: password hashes (scrypt for the cloud's own check, PBKDF2 for a Mosquitto export) and the login check. */
import { createHash } from 'node:crypto';
import { type Principal, parseUsername } from '../shared/index.js';
import type { Db } from './db.js';
import { mosquittoHash, scryptHash, verifyScrypt } from './secrets.js';

export class MqttLogins {
  /** sha256(username, password, stored hash) of logins that verified: a reconnect skips the ~50 ms scrypt */
  private readonly verifiedLogins = new Set<string>();

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

  verifyPassword(username: string, password: string): boolean {
    const row = this.db.prepare('SELECT scrypt_hash FROM mqtt_users WHERE username = ?').get(username) as
      | { scrypt_hash: string }
      | undefined;
    if (!row) return false;
    const key = createHash('sha256')
      .update(`${username}\u0000${password}\u0000${row.scrypt_hash}`)
      .digest('hex');
    if (this.verifiedLogins.has(key)) return true;
    if (!verifyScrypt(row.scrypt_hash, password)) return false;
    this.verifiedLogins.add(key);
    return true;
  }

  /** The MQTT login check (docs/architecture.md): the principal, with a gateway's piles resolved now. */
  authenticate(
    username: string,
    password: string,
    gatewayPiles: (gid: string) => string[],
  ): Principal | undefined {
    const parsed = parseUsername(username);
    if (!parsed || !this.verifyPassword(username, password)) return undefined;
    if (parsed.kind === 'vehicle') {
      const row = this.db.prepare('SELECT revoked_at FROM vehicles WHERE vid = ?').get(parsed.vid) as
        | { revoked_at: number | null }
        | undefined;
      return row && row.revoked_at === null ? parsed : undefined;
    }
    if (parsed.kind === 'gateway') {
      if (!this.db.prepare('SELECT 1 FROM gateways WHERE gid = ?').get(parsed.gid)) return undefined;
      return { kind: 'gateway', gid: parsed.gid, piles: new Set(gatewayPiles(parsed.gid)) };
    }
    return parsed;
  }
}
