/**
 * How many sessions each vehicle holds open on this gateway's site, and on each of its piles: one car stands at
 * one connector, so a vehicle that asks for a second session while its first is open is refused (RATE_LIMITED,
 * PROTOCOL §6 step 9: a limit on what one vehicle may hold) instead of holding every connector its tickets name.
 * A session counts from the moment its handshake succeeded (record stored, charger starting) until its receipt.
 * Bounded: entries exist only for open sessions, which the connectors bound.
 */

export interface OpenSessionLimits {
  /** open sessions one vehicle may hold on one pile */
  pile: number;
  /** open sessions one vehicle may hold across the gateway's piles (its site) */
  site: number;
}

export const DEFAULT_OPEN_SESSION_LIMITS: OpenSessionLimits = { pile: 1, site: 1 };

/** The ledger as one pile uses it. */
export interface PileVehicleSessions {
  refusal(vid: string): string | undefined;
  opened(sid: string, vid: string): void;
  closed(sid: string): void;
}

export class VehicleSessions {
  private readonly limits: OpenSessionLimits;
  /** sid → the vehicle and pile it is open for */
  private readonly bySid = new Map<string, { vid: string; pid: string }>();
  /** vid → pid → open sessions there */
  private readonly byVehicle = new Map<string, Map<string, number>>();

  constructor(limits: OpenSessionLimits = DEFAULT_OPEN_SESSION_LIMITS) {
    this.limits = limits;
  }

  /** Why `vid` may not open another session on `pid` now, or undefined when it may. */
  refusal(vid: string, pid: string): string | undefined {
    const piles = this.byVehicle.get(vid);
    if (!piles) return undefined;
    if ((piles.get(pid) ?? 0) >= this.limits.pile) {
      return `this vehicle already has ${this.limits.pile} open session(s) at this pile`;
    }
    let site = 0;
    for (const n of piles.values()) site += n;
    if (site >= this.limits.site)
      return `this vehicle already has ${this.limits.site} open session(s) at this site`;
    return undefined;
  }

  opened(sid: string, vid: string, pid: string): void {
    if (this.bySid.has(sid)) return;
    this.bySid.set(sid, { vid, pid });
    const piles = this.byVehicle.get(vid) ?? new Map<string, number>();
    piles.set(pid, (piles.get(pid) ?? 0) + 1);
    this.byVehicle.set(vid, piles);
  }

  /** The session ended (receipt stored) or never started; unknown sids change nothing. */
  closed(sid: string): void {
    const entry = this.bySid.get(sid);
    if (!entry) return;
    this.bySid.delete(sid);
    const piles = this.byVehicle.get(entry.vid);
    const left = (piles?.get(entry.pid) ?? 1) - 1;
    if (left > 0) piles?.set(entry.pid, left);
    else piles?.delete(entry.pid);
    if (piles?.size === 0) this.byVehicle.delete(entry.vid);
  }

  forPile(pid: string): PileVehicleSessions {
    return {
      refusal: (vid) => this.refusal(vid, pid),
      opened: (sid, vid) => this.opened(sid, vid, pid),
      closed: (sid) => this.closed(sid),
    };
  }

  /** Open sessions held, for bounds checks. */
  get size(): number {
    return this.bySid.size;
  }
}
