/**
 * The keys one issuing pass needs, unsealed and derived once instead of once per credential: TK per
 * (pile, offset) and the seal key per vehicle. Opening a sealed key and deriving from it cost more than issuing
 * the ticket itself. A cache lives for one pass (or one request) only; nothing outlives it.
 */
import { deriveSealKey, deriveTicketKey } from '../shared/index.js';
import type { PileRow, Registry } from './registry.js';

export class IssuingKeys {
  private readonly ticketKeys = new Map<string, Uint8Array>();
  private readonly sealKeys = new Map<string, Uint8Array>();

  constructor(private readonly registry: Registry) {}

  /** TK for the pile's offset `off` (PROTOCOL §3); the root key is wiped as soon as TK is derived. */
  ticketKey(pile: Pick<PileRow, 'pid' | 'root_key_sealed'>, off: number): Uint8Array {
    const id = `${pile.pid}\u0000${off}`;
    let tk = this.ticketKeys.get(id);
    if (!tk) {
      const rootKey = this.registry.pileRootKey(pile);
      tk = deriveTicketKey(rootKey, off, pile.pid);
      rootKey.fill(0);
      this.ticketKeys.set(id, tk);
    }
    return tk;
  }

  /** The vehicle's credential seal key (PROTOCOL §5). */
  sealKey(vid: string): Uint8Array {
    let key = this.sealKeys.get(vid);
    if (!key) {
      const vehicleKey = this.registry.vehicleKey(vid);
      key = deriveSealKey(vehicleKey, vid);
      vehicleKey.fill(0);
      this.sealKeys.set(vid, key);
    }
    return key;
  }

  /** A pass moves pile by pile: the previous pile's ticket keys are not needed again. */
  forgetTicketKeys(): void {
    for (const tk of this.ticketKeys.values()) tk.fill(0);
    this.ticketKeys.clear();
  }

  forget(): void {
    this.forgetTicketKeys();
    for (const key of this.sealKeys.values()) key.fill(0);
    this.sealKeys.clear();
  }
}
