/**
 * What one login may hold on the broker once its password checked out. Every evauth client uses clean sessions
 * (state lives in retained messages and the parties' own stores), so the broker keeps no session for anyone who
 * left: a `clean=false` CONNECT is refused, and no message is ever queued for an absent client. A client id
 * carries the login it belongs to (`vehicle-{vid}-…`, `gateway-{gid}-…`, `cloud-…`), so no login can take over
 * another's connection by reusing its id; the sessions a login holds at once are bounded; and a vehicle's
 * publishes to piles are rate-limited (a token bucket per connection), so one login cannot flood a pile.
 */
import { clientIdPrefix, type Principal } from '../shared/index.js';

export interface SessionLimits {
  /** connections one login may hold at once, by kind; defaults: vehicle 4, gateway 8, cloud 16 */
  sessionsPerLogin: Record<Principal['kind'], number>;
  /** auth messages a vehicle connection may publish per second on average (token bucket rate); default 10 */
  authPublishesPerSecond: number;
  /** bucket size: the burst it may send at once; default 20 */
  authPublishBurst: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  sessionsPerLogin: { vehicle: 4, gateway: 8, cloud: 16 },
  authPublishesPerSecond: 10,
  authPublishBurst: 20,
};

/** Why a CONNECT was refused after its login verified (MQTT 3.1.1 CONNACK code in brackets). */
export type SessionRefusal =
  | { code: 2; reason: 'client id does not carry the login' }
  | { code: 5; reason: 'persistent sessions are not kept' }
  | { code: 5; reason: 'too many sessions for this login' };

/** The live connections of each login, to bound them (by connection, so a takeover by the same id counts once). */
export class LoginSessions<C extends { id: string }> {
  private readonly byLogin = new Map<string, Set<C>>();

  constructor(private readonly limits: SessionLimits) {}

  /** Whether a client with this id, clean flag and verified principal may connect now. */
  check(
    principal: Principal,
    username: string,
    clientId: string,
    clean: boolean,
  ): SessionRefusal | undefined {
    if (!clientId.startsWith(clientIdPrefix(principal)) || clientId.length > 128)
      return { code: 2, reason: 'client id does not carry the login' };
    if (!clean) return { code: 5, reason: 'persistent sessions are not kept' };
    const held = [...(this.byLogin.get(username) ?? [])];
    // the same id replaces its own earlier connection (a reconnect before the old one timed out)
    const replacing = held.some((c) => c.id === clientId);
    if (!replacing && held.length >= this.limits.sessionsPerLogin[principal.kind])
      return { code: 5, reason: 'too many sessions for this login' };
    return undefined;
  }

  opened(username: string, client: C): void {
    let held = this.byLogin.get(username);
    if (!held) {
      held = new Set();
      this.byLogin.set(username, held);
    }
    held.add(client);
  }

  closed(username: string, client: C): void {
    const held = this.byLogin.get(username);
    if (!held) return;
    held.delete(client);
    if (held.size === 0) this.byLogin.delete(username);
  }

  count(username: string): number {
    return this.byLogin.get(username)?.size ?? 0;
  }
}

/** A token bucket: `take()` is true while the connection stays within its rate. */
export class PublishBucket {
  private tokens: number;
  private lastAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.lastAt = now();
  }

  take(): boolean {
    const at = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((at - this.lastAt) * this.ratePerSecond) / 1000);
    this.lastAt = at;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
